// denylists/known-failures: why a test fails on a tree, printed beside each still-failing test that matches, by
// kernel release and result path; a malformed line stops the run naming it.
import test from 'ava';
import { judgeDiff, type BpfCiResult } from '../../orchestrator/bpf-ci/bpf-ci.ts';
import { knownReason, parseKnownFailures, readKnownFailures } from '../../orchestrator/bpf-ci/known-failures.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { bpfCiReport, bpfCiSummary, bpfCiText } from '../../orchestrator/report/bpf-ci-report.ts';
import { diffRuns } from '../../orchestrator/results/run-diff.ts';
import { newTest, type TestNode, type TestStatus } from '../../orchestrator/results/tree.ts';
import { selftestsBuildNode } from '../../orchestrator/run.ts';

const list = parseKnownFailures([
  '# a comment',
  '7.2.*  test_progs*/uprobe_syscall/uprobe_legacy  # the kernel optimizes nop10 only',
  '',
  '7.2.*  selftests-build/*cpumask*  # conflicting types # with a second hash',
].join('\n'), 'known');

test('entries: release glob, path glob, reason; each with its file:line', (t) => {
  t.deepEqual(list.map((k) => [k.release, k.path, k.reason, k.source]), [
    ['7.2.*', 'test_progs*/uprobe_syscall/uprobe_legacy', 'the kernel optimizes nop10 only', 'known:2'],
    ['7.2.*', 'selftests-build/*cpumask*', 'conflicting types # with a second hash', 'known:4'],
  ]);
});

test('a line without a reason, or without both globs, is refused naming its line', (t) => {
  for (const [text, line, message] of [['7.2.*  test_progs/x', 1, /known:1: test_progs\/x has no reason/], ['\ntest_progs/x  # why', 2, /known:2: expected "RELEASE-GLOB PATH-GLOB/], ['7.2.* a b # why', 1, /known:1: expected/]] as const) {
    const error = t.throws(() => parseKnownFailures(text, 'known'), { instanceOf: VmTestError, message });
    t.is((error as VmTestError).kind, 'usage');
    t.is((error as VmTestError).evidence.line, line);
  }
});

test('a reason applies to its release and path only, the test_progs flavours alike', (t) => {
  t.is(knownReason(list, '7.2.6+', 'test_progs/uprobe_syscall/uprobe_legacy')?.source, 'known:2');
  t.is(knownReason(list, '7.2.6+', 'test_progs-no_alu32/uprobe_syscall/uprobe_legacy')?.source, 'known:2');
  t.is(knownReason(list, '7.3.4', 'test_progs/uprobe_syscall/uprobe_legacy'), undefined);
  t.is(knownReason(list, '7.2.6+', 'test_progs/uprobe_syscall/uprobe_multi'), undefined);
  t.is(knownReason(list, undefined, 'test_progs/uprobe_syscall/uprobe_legacy'), undefined);
});

test('the repository\'s own list parses, and names 7.2.6\'s still-failing tests by the paths the report gives them', async (t) => {
  const own = await readKnownFailures(new URL('../..', import.meta.url).pathname);
  t.true(own.length > 0);
  for (const path of ['test_progs/uprobe_syscall/uprobe_usdt', 'test_progs/usdt/optimized_attach', 'selftests-build/cpumask_failure.bpf.o', 'selftests-build/verifier_kfunc_prog_types.test.o']) {
    t.truthy(knownReason(own, '7.2.6+', path), path);
  }
  t.is(knownReason(own, '7.2.6+', 'test_progs/map_cmp_delete/contract'), undefined);
});

const runner = (name: string, tests: Record<string, TestStatus>): TestNode => ({ ...newTest(name, 'pass'), children: Object.entries(tests).map(([n, s]) => newTest(n, s)) });

test('the report prints the reason beside each still-failing test it knows, in the text, JSON and step summary', (t) => {
  const tree = () => [runner('test_progs', { uprobe_syscall: 'fail', get_func_ip_test: 'fail', map_cmp_delete: 'pass' }), selftestsBuildNode(['cpumask_failure.bpf.o'])];
  const base = tree();
  base[0]!.children[0]!.children = [newTest('uprobe_legacy', 'fail')];
  const series = tree();
  series[0]!.children[0]!.children = [newTest('uprobe_legacy', 'fail')];
  const diff = diffRuns({ tests: base, splats: [] }, { tests: series, splats: [] });
  const identity = { kernel: { built: 'b', image: 'holds the built vmlinux', bzImageSha256: 'x', release: '7.2.6+' }, tree: 't', config: 'c', init: 'i', tests: [] };
  const run = (runDir: string) => ({ kind: 'passed' as const, headline: '', evidence: {}, runDir, stages: [], timings: {}, identity });
  const result: BpfCiResult = { ...judgeDiff(diff, []), runDir: '/r', series: run('/r/series'), base: run('/r/base'), diff };
  const report = bpfCiReport(result, undefined, list);
  const byPath = Object.fromEntries(report.diff!.still_failing.map((c) => [c.path, c.known]));
  t.deepEqual(Object.keys(byPath).sort(), ['selftests-build/cpumask_failure.bpf.o', 'test_progs/get_func_ip_test', 'test_progs/uprobe_syscall/uprobe_legacy']);
  t.is(byPath['test_progs/uprobe_syscall/uprobe_legacy'], 'the kernel optimizes nop10 only (known:2)');
  t.is(byPath['test_progs/get_func_ip_test'], undefined);
  const text = bpfCiText(report, 0);
  t.regex(text, /Still failing \(on the base too: not the series' doing; 2 of them known on this tree, with the reason\) \(3\):/);
  t.regex(text, /test_progs\/uprobe_syscall\/uprobe_legacy\n {4}known: the kernel optimizes nop10 only \(known:2\)/);
  t.regex(bpfCiSummary(report, 0), /- `selftests-build\/cpumask_failure.bpf.o` — conflicting types # with a second hash \(known:4\)/);
  // Without the list, the same report has no reasons.
  t.true(bpfCiReport(result).diff!.still_failing.every((c) => c.known === undefined));
});
