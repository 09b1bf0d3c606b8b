// What an older clang cannot build of 7.x's selftests: libarena (left out with its tests, named), and the objects a
// permissive build skips (read from its log).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fullSelftestsRecipe, libarenaTests, permissiveSkips, skipCauses } from '../../orchestrator/build/full-selftests-build.ts';
import { selftestsBuildNode } from '../../orchestrator/run.ts';

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

test('why each skipped part did not build: its source\'s first compiler error, from a real 7.2.6 build log', (t) => {
  const log = readFileSync(new URL('../fixtures/build/selftests-7.2.6-cpumask.log', import.meta.url), 'utf8');
  const skipped = permissiveSkips(log);
  t.deepEqual(skipped, ['cpumask.test.o', 'cpumask_failure.bpf.o', 'cpumask_failure.skel.h', 'cpumask_success.bpf.o', 'cpumask_success.skel.h',
    'verifier_kfunc_prog_types.bpf.o', 'verifier_kfunc_prog_types.skel.h', 'verifier_kfunc_prog_types.test.o']);
  const causes = skipCauses(log, skipped);
  const populate = "progs/cpumask_common.h:64:5: error: conflicting types for 'bpf_cpumask_populate'";
  // The header the object includes is named, not the object's own later errors.
  t.is(causes['cpumask_failure.bpf.o'], populate);
  t.is(causes['cpumask_success.bpf.o'], populate);
  t.is(causes['verifier_kfunc_prog_types.bpf.o'], populate);
  t.is(causes['cpumask_failure.skel.h'], `its object cpumask_failure.bpf.o did not build: ${populate}`);
  // A test object's own error, without the cache's worktree in front.
  t.is(causes['cpumask.test.o'], 'prog_tests/cpumask.c:5:10: fatal error: cpumask_failure.skel.h: No such file or directory');
  t.is(causes['verifier_kfunc_prog_types.test.o'], 'prog_tests/verifier_kfunc_prog_types.c:6:10: fatal error: verifier_kfunc_prog_types.skel.h: No such file or directory');
  // A part whose source printed nothing has no cause, and its leaf says where to look.
  t.deepEqual(skipCauses('  SKIP-BPF     quiet.bpf.o\n', ['quiet.bpf.o']), {});
  const node = selftestsBuildNode(['cpumask_failure.bpf.o', 'quiet.bpf.o'], causes);
  t.regex(node.children[0]!.errors[0]!, /conflicting types for 'bpf_cpumask_populate' \(selftests-build\.log\)$/);
  t.regex(node.children[1]!.errors[0]!, /selftests-build\.log says why/);
});
