// vm-test bpf-ci's driver with a fake pipeline: base then series, the difference decides, a new failure is run once
// more, and the base's verdict is kept by its reuse key so the next revision on the same base does not run it again.
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judgeDiff, retryPlan, runBpfCi } from '../../orchestrator/bpf-ci/bpf-ci.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { planRun, type RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { diffRuns } from '../../orchestrator/results/run-diff.ts';
import { newTest, type Splat, type TestNode, type TestStatus } from '../../orchestrator/results/tree.ts';
import type { BpfCiResult } from '../../orchestrator/bpf-ci/bpf-ci.ts';
import type { RunDeps, RunOutcome } from '../../orchestrator/run.ts';
import type { VmOutcome } from '../../orchestrator/vm/run-vm.ts';
import { tempDir } from '../helpers.ts';
import { runCli } from '../bad-input/cli-runner.ts';

const root = new URL('../../', import.meta.url).pathname;
const leaf = (name: string, status: TestStatus) => ({ ...newTest(name, status) });
const progs = (statuses: Record<string, TestStatus>): TestNode => ({ ...newTest('test_progs', 'pass'), children: Object.entries(statuses).map(([n, s]) => leaf(n, s)) });

/** A pipeline whose runs give the trees the test names, by the plan's series (undefined: the base) and whether it is the retry. */
function fakePipeline(trees: { base: TestNode[]; series: TestNode[]; retry?: TestNode[] }, runs: string[], ends: { base?: VmOutcome['end']; series?: VmOutcome['end'] } = {}) {
  return async (plan: RunPlan, deps: RunDeps): Promise<RunOutcome> => {
    const which = !plan.series ? 'base' : plan.runDir?.endsWith('retry') ? 'retry' : 'series';
    const bootKey = `key-${which}`;
    const earlier = which === 'base' ? await deps.reuse?.(bootKey) : undefined;
    const runDir = plan.runDir!;
    if (earlier) return { kind: earlier.verdict.kind, headline: 'reused', evidence: {}, runDir, stages: [], timings: {}, tested: earlier };
    runs.push(which);
    const tests = trees[which as 'base'] ?? [];
    const identity = { kernel: { built: which, image: 'holds the built vmlinux', bzImageSha256: which }, tree: which, config: 'c', init: 'i', tests: [] };
    const verdict = { tree: { status: 'pass' as const, counts: { passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0 }, tests, splats: [] }, kind: 'passed' as const, headline: which, blockingSplats: [] };
    return { kind: 'passed', headline: which, evidence: {}, runDir, stages: [], timings: {}, tested: { bootKey, identity, verdict, vm: vmEnding(ends[which as 'base'] ?? 'completed'), accel: { accel: 'tcg', reason: '' } } };
  };
}

const vmEnding = (end: VmOutcome['end']): VmOutcome => ({ end, detail: end === 'completed' ? 'init ran the whole plan' : 'the guest stopped before the plan ended', runningTest: 'test_progs', accel: 'tcg', consoleLog: '', resultsLog: '', qemuCommand: '', qemuExitCode: 0, durationMs: 1 });

async function plans(cacheDir: string) {
  const planned = await planRun({ runners: ['test_progs'], cacheDir }, root, root, process.env, 2);
  return { series: { ...planned, runDir: join(cacheDir, 'top/series') }, base: { ...planned, series: undefined, runDir: join(cacheDir, 'top/base'), buildSlot: 'base' } };
}

test('a new failure confirmed by its retry fails the run; one failing on the base too does not; the base\'s verdict is kept and reused', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  const runs: string[] = [];
  const pipeline = fakePipeline({
    base: [progs({ map_cmp_delete: 'pass', varlen: 'fail', lru: 'pass' })],
    series: [progs({ map_cmp_delete: 'fail', varlen: 'fail', lru: 'fail' })],
    // lru passes when run again: flaky, not counted.
    retry: [progs({ map_cmp_delete: 'fail', lru: 'pass' })],
  }, runs);
  const first = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top'), pipeline });
  t.deepEqual(runs.slice(0, 2).sort(), ['base', 'series'], 'the two sides at the same time');
  t.is(runs[2], 'retry');
  t.is(first.kind, 'testsFailed');
  t.regex(first.headline, /^1 new failure\(s\) the base does not have; first: test_progs\/map_cmp_delete/);
  t.deepEqual(first.retry?.flaky.map((c) => c.path), ['test_progs/lru']);
  t.deepEqual(first.diff?.stillFailing.map((c) => c.path), ['test_progs/varlen']);
  t.true(existsSync(join(tmp.path, 'cache/verdicts/key-base.json')), 'the base verdict is kept by its key');

  // The next revision on the same base: the base is not run again.
  runs.length = 0;
  const again = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top2'), pipeline });
  t.deepEqual(runs, ['series', 'retry']);
  t.is(again.baseReusedFrom, join(tmp.path, 'cache/top/base'));

  // --base-again: the base runs although its verdict is kept, and its new verdict is the one kept.
  runs.length = 0;
  const keptFile = join(tmp.path, 'cache/verdicts/key-base.json');
  await writeFile(keptFile, JSON.stringify({ ...JSON.parse(await readFile(keptFile, 'utf8')), mark: 'the old verdict' }));
  const fresh = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top3'), pipeline, baseAgain: true });
  t.deepEqual(runs.slice(0, 2).sort(), ['base', 'series']);
  t.is(fresh.baseReusedFrom, undefined);
  t.is((JSON.parse(await readFile(keptFile, 'utf8')) as { mark?: string }).mark, undefined, 'the new verdict replaced the old');
});

test('a new failure the retry did not reach still fails the run, and the report says it was not run again (text, JSON, step summary)', async (t) => {
  const { bpfCiReport, bpfCiSummary, bpfCiText } = await import('../../orchestrator/report/bpf-ci-report.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  const pipeline = fakePipeline({
    base: [progs({ sockmap_redir: 'pass', lru: 'pass' })],
    series: [progs({ sockmap_redir: 'fail', lru: 'fail' })],
    // sockmap_redir is not in the retry's results at all; lru fails again.
    retry: [progs({ lru: 'fail' })],
  }, []);
  const result = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top'), pipeline });
  t.is(result.kind, 'testsFailed');
  t.deepEqual(result.retry?.confirmed.map((c) => [c.path, c.retry]), [['test_progs/sockmap_redir', 'not run again'], ['test_progs/lru', 'failed again']]);
  const report = bpfCiReport(result);
  t.deepEqual(report.diff!.new_failures.map((c) => c.retry), ['not run again', 'failed again']);
  const text = bpfCiText(report, 1);
  t.regex(text, /First new failure: test_progs\/sockmap_redir \(passes on the base; not run again\)/);
  t.regex(text, /New failures \(fail with the series, pass on the base; each run once more\) \(2\):\n {2}test_progs\/sockmap_redir \[not run again\]\n {2}test_progs\/lru \[failed again\]/);
  t.notRegex(text, /each failed again/);
  t.regex(bpfCiSummary(report, 1), /- `test_progs\/sockmap_redir` — not run again/);
});

test('a new failure names the kernel reports that came while its test ran; a new report without one is shown first, with its lines', async (t) => {
  const { bpfCiReport, bpfCiSummary, bpfCiText } = await import('../../orchestrator/report/bpf-ci-report.ts');
  const warning = { kind: 'warning' as const, title: 'refcount_t: underflow; use-after-free.', bugTitle: 'WARNING: refcount bug in process_one_work', lines: ['------------[ cut here ]------------', 'refcount_t: underflow; use-after-free.', 'Workqueue: events sk_psock_backlog'], startLine: 285, test: 'test_progs-cpuv4' };
  const treeOf = (tests: TestNode[], splats: Splat[]) => ({ status: 'pass' as const, counts: { passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0 }, tests, splats });
  const cpuv4 = (statuses: Record<string, TestStatus>): TestNode => ({ ...progs(statuses), name: 'test_progs-cpuv4' });
  const run = (runDir: string, tests: TestNode[], splats: Splat[]) => ({ kind: 'passed' as const, headline: '', evidence: {}, runDir, stages: [], timings: {},
    tested: { bootKey: runDir, identity: { kernel: { built: 'b', image: 'holds the built vmlinux', bzImageSha256: 'x' }, tree: 't', config: 'c', init: 'i', tests: [] }, verdict: { tree: treeOf(tests, splats), kind: 'passed' as const, headline: '', blockingSplats: splats }, vm: vmEnding('completed'), accel: { accel: 'tcg' as const, reason: '' } } });
  const baseTests = [cpuv4({ sockmap_redir: 'pass', sockmap_strp: 'pass' })];
  const seriesTests = [cpuv4({ sockmap_redir: 'fail', sockmap_strp: 'pass' })];
  const during = (next: string) => [{ ...warning, nextResult: next }];
  const resultFor = (splats: Splat[], tests: TestNode[]): BpfCiResult => {
    const diff = diffRuns({ tests: baseTests, splats: [] }, { tests, splats });
    const confirmed = diff.newFailures.map((c) => ({ ...c, retry: 'failed again' }));
    return { ...judgeDiff(diff, confirmed), runDir: '/r', series: run('/r/series', tests, splats), base: run('/r/base', baseTests, []), diff, retry: { runDir: '/r/retry', confirmed, flaky: [] } };
  };
  const onIt = bpfCiReport(resultFor(during('#434 sockmap_redir'), seriesTests));
  t.deepEqual(onIt.diff!.new_failures.map((c) => [c.path, c.splats]), [['test_progs-cpuv4/sockmap_redir', ['WARNING: refcount bug in process_one_work']]]);
  t.regex(bpfCiText(onIt, 3), /First new failure: test_progs-cpuv4\/sockmap_redir \(passes on the base; failed again\)\n {2}kernel report while it ran: WARNING: refcount bug in process_one_work/);
  t.regex(bpfCiSummary(onIt, 3), /- `test_progs-cpuv4\/sockmap_redir` — failed again; kernel report while it ran: WARNING: refcount bug in process_one_work/);
  // The report came during the next test: not this failure's.
  t.is(bpfCiReport(resultFor(during('#435 sockmap_strp'), seriesTests)).diff!.new_failures[0]!.splats, undefined);
  // No new failure, a new report: it comes first, where it came and its lines.
  const only = bpfCiReport(resultFor(during('#434 sockmap_redir'), baseTests));
  t.regex(bpfCiText(only, 3), /^\nFirst new kernel report during test_progs-cpuv4 \(next result: #434 sockmap_redir\): WARNING: refcount bug in process_one_work \(not on the base\)\n {2}\| -{12}\[ cut here \]-{12}\n/);
  t.is(only.diff!.new_splats[0]!.next_result, '#434 sockmap_redir');
});

test('a series that breaks nothing passes, even where the base itself fails', (t) => {
  const base = { tests: [progs({ a: 'fail', b: 'pass' })], splats: [] };
  const series = { tests: [progs({ a: 'fail', b: 'pass' })], splats: [] };
  const judged = judgeDiff(diffRuns(base, series), []);
  t.is(judged.kind, 'passed');
  t.regex(judged.headline, /breaks nothing the base passes \(0 fixed; 1 fail on the base too\)/);
});

test('the retry runs only the runners with new failures, the failing tests allowed by name', async (t) => {
  const planned = await planRun({ runners: ['test_progs', 'test_progs-no_alu32', 'test_verifier'] }, root, root, process.env, 2);
  const retry = retryPlan(planned, [
    { path: 'test_progs/map_cmp_delete/contract', base: 'pass', series: 'fail', log: [] },
    { path: 'test_verifier/some test /p', base: 'pass', series: 'fail', log: [] },
  ], '/tmp/r/retry');
  t.deepEqual(retry.runners, ['test_progs', 'test_verifier']);
  t.deepEqual(retry.testProgsSelection.allow, ['map_cmp_delete/contract']);
  t.is(retry.runDir, '/tmp/r/retry');
});

/**
 * How test_progs reads an -a entry, as its testing_helpers.c and test_progs.c do (7.2.6): an allowlist line loses the
 * spaces at its ends and what follows '#'; -a splits at ','; an entry splits at its first '/'; globs know only '*'.
 */
function testProgsSelects(entry: string, test: string, subtest: string, fromFile: boolean): boolean {
  const glob = (str: string, pat: string): boolean => new RegExp(`^${pat.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(str);
  const specs = fromFile ? [entry.split('#')[0]!.trim()].filter(Boolean) : entry.split(',').filter(Boolean);
  return specs.some((spec) => {
    const slash = spec.indexOf('/');
    const [t1, s1] = slash < 0 ? [spec, undefined] : [spec.slice(0, slash), spec.slice(slash + 1)];
    return glob(test, t1) && (s1 === undefined || glob(subtest, s1));
  });
}

test('the retry selects a subtest whose name test_progs would cut: spaces at its ends, "#", ",", "/" (sockmap_redir\'s padded names)', async (t) => {
  const planned = await planRun({ runners: ['test_progs-cpuv4'] }, root, root, process.env, 2);
  const names = ['map  sk_skb-to-egress  v_seq \u2192 u_dgr      ', '  lead and trail  ', 'a#b', 'x,y', 'with/slash'];
  const retry = retryPlan(planned, names.map((n) => ({ path: `test_progs-cpuv4/sockmap_redir/${n}`, base: 'pass', series: 'fail', log: [] })), '/tmp/r/retry');
  t.is(retry.testProgsSelection.allow.length, names.length);
  names.forEach((n, i) => {
    const entry = retry.testProgsSelection.allow[i]!;
    t.true(testProgsSelects(entry, 'sockmap_redir', n, true), `allowlist file: ${JSON.stringify(entry)} selects ${JSON.stringify(n)}`);
    t.true(testProgsSelects(entry, 'sockmap_redir', n, false), `-a: ${JSON.stringify(entry)} selects ${JSON.stringify(n)}`);
    // The model itself: the name as it is, unchanged, is what a file entry would have missed (or -a have split).
    if (n !== 'with/slash') t.false(testProgsSelects(`sockmap_redir/${n}`, 'sockmap_redir', n, true) && testProgsSelects(`sockmap_redir/${n}`, 'sockmap_redir', n, false));
  });
  t.false(testProgsSelects(retry.testProgsSelection.allow[0]!, 'sockmap_redir', 'map  sk_skb-to-egress  v_seq \u2192 u_str      ', true), 'another subtest is not selected');
  const body = retryPlan(planned, [{ path: 'test_progs-cpuv4/wq/(outside subtests)', base: 'pass', series: 'fail', log: [] }], '/tmp/r/retry');
  t.deepEqual(body.testProgsSelection.allow, ['wq'], 'a failure in the body runs the whole test again');
});

test('a part the series newly makes unbuildable is a new failure without a retry; one the base lacks too is still failing', async (t) => {
  const { selftestsBuildNode } = await import('../../orchestrator/run.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  const runs: string[] = [];
  const pipeline = fakePipeline({
    base: [progs({ a: 'pass' }), selftestsBuildNode(['cpumask_failure.bpf.o'])],
    series: [progs({ a: 'pass' }), selftestsBuildNode(['cpumask_failure.bpf.o', 'map_cmp_delete.bpf.o'])],
  }, runs);
  const result = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top'), pipeline });
  t.deepEqual(runs.sort(), ['base', 'series'], 'nothing to run again');
  t.is(result.kind, 'testsFailed');
  t.deepEqual(result.retry?.confirmed.map((c) => c.path), ['selftests-build/map_cmp_delete.bpf.o']);
  t.deepEqual(result.diff?.stillFailing.map((c) => c.path), ['selftests-build/cpumask_failure.bpf.o']);
  t.regex(result.retry?.confirmed[0]?.error ?? '', /did not build with clang-19/);
});

test('a base whose guest crashed is compared but not kept; the tests it never reached are judged on the series alone', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  const runs: string[] = [];
  // The base's guest died after a: b and c were never reached there.
  const pipeline = fakePipeline({ base: [progs({ a: 'pass' })], series: [progs({ a: 'pass', b: 'pass', c: 'fail' })] }, runs, { base: 'crashed' });
  const result = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top'), pipeline });
  t.false(existsSync(join(tmp.path, 'cache/verdicts/key-base.json')), 'a crashed base is not the next revision\'s base');
  // Nor one an older vm-test kept: it is run again.
  const { writeFile: write, mkdir: mk } = await import('node:fs/promises');
  await mk(join(tmp.path, 'cache/verdicts'), { recursive: true });
  await write(join(tmp.path, 'cache/verdicts/key-base.json'), JSON.stringify({ bootKey: 'key-base', vm: vmEnding('crashed'), runDir: '/old', verdict: {}, identity: {} }));
  runs.length = 0;
  await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top3'), pipeline });
  t.true(runs.includes('base'), 'the kept crashed base was not reused');
  t.is(result.kind, 'testsFailed', 'c fails with the series and passed nowhere: new');
  t.regex(result.headline, /first: test_progs\/c; the base's guest did not finish \(crashed during test_progs: /);
  t.regex(result.unfinished?.base ?? '', /^crashed during test_progs/);

  const quiet = fakePipeline({ base: [progs({ a: 'pass' })], series: [progs({ a: 'pass', b: 'pass' })] }, [], { base: 'crashed' });
  const passed = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top2'), pipeline: quiet });
  t.is(passed.kind, 'passed');
  t.regex(passed.headline, /breaks nothing the base passes \(0 fixed\); the base's guest did not finish .*judged on the series alone/);
});

test('a series whose guest did not finish never passes, even when the base crashed the same way', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  const pipeline = fakePipeline({ base: [progs({ a: 'pass' })], series: [progs({ a: 'pass' })] }, [], { base: 'crashed', series: 'crashed' });
  const result = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top'), pipeline });
  t.is(result.kind, 'kernelCrash');
  t.regex(result.headline, /^the series' guest did not finish \(crashed during test_progs: .*\): nothing new among the tests it reached, but the rest were not compared/);
  const timedOut = fakePipeline({ base: [progs({ a: 'pass' })], series: [progs({ a: 'pass' })] }, [], { series: 'timeout' });
  const slow = await runBpfCi(p, { exec: undefined as never, events: new RunEvents(), runDir: join(tmp.path, 'cache/top2'), pipeline: timedOut });
  t.is(slow.kind, 'kernelCrash', 'the fake says passed: a guest that did not finish is never that');
});

test('the two sides run at the same time, each with its own events; a side that cannot run its tests stops the other', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const p = await plans(join(tmp.path, 'cache'));
  let seriesStopped = false;
  const pipeline = async (plan: RunPlan, deps: RunDeps): Promise<RunOutcome> => {
    const runDir = plan.runDir!;
    deps.events.emit({ type: 'info', stage: 'build', message: 'building' });
    if (!plan.series) return { kind: 'buildFailed', headline: 'kernel build failed (exit 2)', evidence: {}, runDir, stages: [], timings: {} };
    // The series' guest would run for an hour: it waits for its stop.
    await new Promise<void>((resolve) => deps.signal?.addEventListener('abort', () => resolve()));
    seriesStopped = true;
    return { kind: 'interrupted', headline: 'interrupted', evidence: {}, runDir, stages: [], timings: {} };
  };
  const events = new RunEvents();
  const said: string[] = [];
  events.subscribe((e) => e.type === 'info' && said.push(e.message));
  const result = await runBpfCi(p, { exec: undefined as never, events, runDir: join(tmp.path, 'cache/top'), pipeline });
  t.true(seriesStopped);
  t.is(result.kind, 'buildFailed');
  t.is(result.headline, 'the base did not run its tests: kernel build failed (exit 2)');
  t.true(said.includes('base: building') && said.includes('series: building'), said.join('\n'));
});

test('the runners\' limits: test_maps its own by default, every runner the one --test-timeout gives (the real CLI, --dry-run)', async (t) => {
  const vmLine = (r: { stdout: string }) => r.stdout.split('\n').find((l) => l.startsWith('vm:'));
  const byDefault = await runCli(['bpf-ci', '--dry-run']);
  t.is(byDefault.exitCode, 0, byDefault.stderr);
  t.regex(vmLine(byDefault) ?? '', /per test 5400 s, test_maps 7200 s$/);
  const given = await runCli(['bpf-ci', '--dry-run', '--test-timeout', '100']);
  t.regex(vmLine(given) ?? '', /per test 100 s$/);
});
