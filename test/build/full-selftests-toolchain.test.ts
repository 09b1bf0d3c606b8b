// What an older clang cannot build of 7.x's selftests: libarena (left out with its tests, named), and the objects a
// permissive build skips (read from its log).
import test from 'ava';
import { fullSelftestsRecipe, libarenaTests, permissiveSkips } from '../../orchestrator/build/full-selftests-build.ts';

const tests = [
  { file: 'libarena.c', text: '#include "libarena/libarena.skel.h"\nvoid test_libarena(void) {}\n' },
  { file: 'libarena_asan.c', text: '#include <libarena/libarena_asan.skel.h>\n' },
  { file: 'arena_htab.c', text: '#include "arena_htab.skel.h"\n' },
];

test('with clang 19 the tests that include libarena\'s skeletons are left out, naming why; with 20 and newer nothing is', (t) => {
  t.deepEqual(libarenaTests(tests, 19).map((e) => [e.file, e.skeleton]), [['libarena.c', 'libarena/libarena.skel.h'], ['libarena_asan.c', 'libarena/libarena_asan.skel.h']]);
  t.regex(libarenaTests(tests, 19)[0]!.reason!, /libarena needs LLVM 20 or newer \(BPF cpu v3 by default\); the build's clang is 19/);
  t.deepEqual(libarenaTests(tests, 21), []);
  t.deepEqual(libarenaTests(tests, undefined), []);
  t.true(fullSelftestsRecipe(['test_progs'], true).includes('LIBARENA_SKEL='));
  t.false(fullSelftestsRecipe(['test_progs'], false).includes('LIBARENA_SKEL='));
  t.true(fullSelftestsRecipe().includes('BPF_STRICT_BUILD=0'));
});

test('what a permissive build skipped, from the Makefile\'s own SKIP-BPF, SKIP-SKEL and SKIP-TEST lines', (t) => {
  const log = '  CLNG-BPF [test_progs] arena_atomics.bpf.o\n  SKIP-BPF     arena_atomics.bpf.o\n  SKIP-SKEL    arena_atomics.skel.h\n  SKIP-TEST    arena_atomics.test.o\n  SKIP-BPF     arena_atomics.bpf.o\n';
  t.deepEqual(permissiveSkips(log), ['arena_atomics.bpf.o', 'arena_atomics.skel.h', 'arena_atomics.test.o']);
  t.deepEqual(permissiveSkips('  CLNG-BPF [test_progs] a.bpf.o\n'), []);
});
