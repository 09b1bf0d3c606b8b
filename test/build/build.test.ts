import test from 'ava';
import { join } from 'node:path';
import { compilerErrors, progressStep } from '../../orchestrator/build/make-output.ts';
import { findTestDefinitions, selectTests } from '../../orchestrator/build/selftests-build.ts';

test('progress steps are make\'s quiet-mode lines', (t) => {
  t.is(progressStep('  CC      kernel/bpf/hashtab.o'), 'CC kernel/bpf/hashtab.o');
  t.is(progressStep('  LD      vmlinux.o'), 'LD vmlinux.o');
  t.is(progressStep('make[1]: Entering directory'), undefined);
});

test('compiler errors give the first file:line relative to the tree', (t) => {
  const errors = compilerErrors([
    '  CC      kernel/bpf/syscall.o',
    '/c/worktrees/w/kernel/bpf/syscall.c:1701:21: error: \'union bpf_attr\' has no member named \'compare_size\'',
    '../../worktrees/w/kernel/bpf/hashtab.c:12:1: error: expected \';\'',
    '../src/kernel/bpf/verifier.c:3:1: error: expected \';\'',
  ], '/c/worktrees/w');
  t.deepEqual(errors.map((e) => `${e.file}:${e.line}`), ['kernel/bpf/syscall.c:1701', 'kernel/bpf/hashtab.c:12', 'kernel/bpf/verifier.c:3']);
  t.regex(errors[0]!.message, /compare_size/);
});

test('test definitions are found the way the selftests Makefile finds them; skeleton users are flagged', (t) => {
  const defs = findTestDefinitions('map_cmp_delete.c', '#include <test_progs.h>\nvoid test_map_cmp_delete(void)\n{\n}\n');
  t.deepEqual(defs.map((d) => [d.name, d.needs]), [['map_cmp_delete', []]]);
  const skel = findTestDefinitions('x.c', '#include "test_x.skel.h"\nvoid serial_test_x(void) {}\n');
  t.deepEqual(skel[0]!.needs, ['test_x.skel.h']);
  const all = [...defs, ...skel, { name: 'map_cmp_delete_more', file: 'y.c', needs: [] }];
  t.deepEqual(selectTests(all, ['map_cmp_delete/contract']).map((d) => d.name), ['map_cmp_delete', 'map_cmp_delete_more']);
});

test('a selection that matches nothing is a usage error, or nothing at all when a bisect prefix allows it', async (t) => {
  const { buildTestProgs } = await import('../../orchestrator/build/selftests-build.ts');
  const { tempDir, writeFiles, realExec } = await import('../helpers.ts');
  const { RunEvents } = await import('../../orchestrator/events.ts');
  const { cacheLayout } = await import('../../orchestrator/cache.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'tools/testing/selftests/bpf/prog_tests/other.c': 'void test_other(void) {}\n' });
  const ctx = { exec: realExec, events: new RunEvents(), cache: cacheLayout(join(tmp.path, 'c')), tree: { worktree: tmp.path, head: 'x', treeId: 'y', reused: false }, buildDir: join(tmp.path, 'b'), ccache: false, logFile: join(tmp.path, 'log') };
  await t.throwsAsync(buildTestProgs(ctx, ['map_cmp_delete']), { message: /test_progs -t map_cmp_delete: no test in .* is selected/ });
  t.is(await buildTestProgs(ctx, ['map_cmp_delete'], true), undefined);
});

test('a prog_test whose skeleton nothing can generate is found; real and linked skeletons are not', async (t) => {
  const { findUnbuildable } = await import('../../orchestrator/build/full-selftests-build.ts');
  const tests = [
    { file: 'bpf_attr_size.c', text: '#include <test_progs.h>\n#include "cgroup_skb_direct_packet_access.skel.h"\nvoid test_bpf_attr_size(void) {}\n' },
    { file: 'map_ptr.c', text: '#include "map_ptr_kern.lskel.h"\nvoid test_map_ptr(void) {}\n' },
    { file: 'linked_funcs.c', text: '#include "linked_funcs.skel.h"\nvoid test_linked_funcs(void) {}\n' },
    { file: 'plain.c', text: 'void test_plain(void) {}\n' },
  ];
  const progs = new Set(['map_ptr_kern.c', 'linked_funcs1.c', 'linked_funcs2.c']);
  const makefile = 'LINKED_SKELS := test_static_linked.skel.h linked_funcs.skel.h\nlinked_funcs.skel.h-deps := linked_funcs1.bpf.o linked_funcs2.bpf.o\n';
  t.deepEqual(findUnbuildable(tests, progs, makefile), [{ file: 'bpf_attr_size.c', skeleton: 'cgroup_skb_direct_packet_access.skel.h' }]);
});

test('test_progs selection as the BPF CI spells it: -t by substring, -a and -d by glob, a denylist of whole tests and subtests', async (t) => {
  const { globMatch } = await import('../../orchestrator/build/selftests-build.ts');
  const defs = ['map_cmp_delete', 'map_cmp_delete_more', 'arena_htab', 'arena_list', 'xdp_bonding'].map((name) => ({ name, file: `${name}.c`, needs: [] }));
  const names = (sel: Parameters<typeof selectTests>[1]) => selectTests(defs, sel).map((d) => d.name);
  t.deepEqual(names({ test: [], allow: ['arena_*'], deny: [] }), ['arena_htab', 'arena_list']);
  t.deepEqual(names({ test: ['map_cmp'], allow: ['xdp_bonding'], deny: ['*_more'] }), ['map_cmp_delete', 'xdp_bonding']);
  // A test/subtest entry leaves the test in: test_progs drops only that subtest when it runs.
  t.deepEqual(names({ test: ['map_cmp_delete'], allow: [], deny: [], denylist: { file: 'DENYLIST', entries: ['map_cmp_delete_more', 'map_cmp_delete/contract'] } }), ['map_cmp_delete']);
  t.true(globMatch('arena_*', 'arena_htab'));
  t.false(globMatch('arena', 'arena_htab'));
  t.true(globMatch('a.b*', 'a.bc'));
  t.false(globMatch('a.b', 'axb'));
});

test('the selection reaches test_progs as its own options, the denylist as -d @FILE in the run directory', async (t) => {
  const { testProgsEntry, describeSelection } = await import('../../orchestrator/guest/guest-plan.ts');
  const sel = { test: ['map_cmp_delete'], allow: ['arena_*'], deny: ['x/y'], denylist: { file: '/home/u/DENYLIST', entries: ['a', 'b'] } };
  t.deepEqual(testProgsEntry('/b/test_progs', sel, '/run/vm-test/test_progs.json', 60).argv,
    ['/b/test_progs', '-t', 'map_cmp_delete', '-a', 'arena_*', '-d', 'x/y', '-d', '@/run/vm-test/test_progs-denylist.txt', '-J', '/run/vm-test/test_progs.json']);
  t.is(describeSelection(sel), '-t map_cmp_delete -a arena_* -d x/y -d @/home/u/DENYLIST (2 entries)');
});

test('a denylist is read in the selftests\' format; a line that is not a name is a usage error at file:line', async (t) => {
  const { readDenylist } = await import('../../orchestrator/plan/run-plan.ts');
  const { tempDir, writeFiles } = await import('../helpers.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { DENYLIST: '# TEMPORARY\nget_stack_raw_tp    # spams with kernel warnings\n\ntailcalls/tailcall_bpf2bpf*\t# JIT\n', BAD: 'ok\nnot ok here\n' });
  t.deepEqual((await readDenylist(join(tmp.path, 'DENYLIST'))).entries, ['get_stack_raw_tp', 'tailcalls/tailcall_bpf2bpf*']);
  await t.throwsAsync(readDenylist(join(tmp.path, 'BAD')), { message: /BAD:2: not a test_progs name or glob: "not ok here"/ });
  await t.throwsAsync(readDenylist(join(tmp.path, 'NONE')), { message: /--denylist .*NONE: no such file/ });
});

test('a build\'s progress: an estimate from its last count, a sibling\'s or the table; corrected past it; an ETA from the rate', async (t) => {
  const { initialEstimate, progressAt, isWorkStep, KNOWN_STEPS, KNOWN_FULL_STEPS } = await import('../../orchestrator/build/build-estimate.ts');
  t.true(isWorkStep('CC kernel/bpf/hashtab.o'));
  t.true(isWorkStep('LD vmlinux.o'));
  t.false(isWorkStep('HDRINST usr/include/linux/bpf.h'), 'a header copy is not counted');
  t.false(isWorkStep('AR kernel/bpf/built-in.a'));
  t.is(initialEstimate(true, 900, '7.2.6'), undefined, 'an incremental build shows its count only');
  t.is(initialEstimate(false, 900, '7.2.6'), 900);
  t.is(initialEstimate(false, undefined, '7.2.6'), KNOWN_STEPS['7.2']);
  t.is(initialEstimate(false, undefined, '7.3.4'), KNOWN_STEPS['7.3']);
  t.is(initialEstimate(false, undefined, '7.5.0'), KNOWN_STEPS['7.3'], 'a newer 7.x than the table: the nearest one');
  t.is(initialEstimate(false, undefined, '6.6.60'), KNOWN_STEPS['6.12']);
  t.is(initialEstimate(false, undefined, '5.4.1'), undefined, 'no 5.x in the table: no guess');
  t.is(initialEstimate(false, undefined, undefined), undefined);
  t.is(initialEstimate(false, undefined, '7.2.6', 'defaults'), KNOWN_FULL_STEPS['7.2'], 'the full selftests kernel: its own table (no guess from the default kernel\'s)');
  t.deepEqual(progressAt(100, 1000, 60_000), { total: 1000, percent: 10, etaSec: 540 });
  t.deepEqual(progressAt(5, 1000, 2000), { total: 1000, percent: 0 }, 'no ETA from the first seconds');
  t.is(progressAt(1100, 1000, 600_000).total, 1122, 'past the estimate, the total moves with the count');
  t.deepEqual(progressAt(10, undefined, 60_000), {});
});
