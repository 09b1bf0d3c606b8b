// bpf-ci --shard i/n and --merge: every selected test in exactly one shard, the split stable when the series adds a
// test, and the shards' reports merged into the unsharded run's difference.
import test from 'ava';
import { judgeDiff, type BpfCiResult, type Unfinished } from '../../orchestrator/bpf-ci/bpf-ci.ts';
import { shardAllowEntries, shardOf, shardRunners } from '../../orchestrator/bpf-ci/bpf-ci-shard.ts';
import { selectTests } from '../../orchestrator/build/selftests-build.ts';
import { bpfCiReport, bpfCiText, mergeBpfCi, type BpfCiReport } from '../../orchestrator/report/bpf-ci-report.ts';
import { diffRuns } from '../../orchestrator/results/run-diff.ts';
import { SELFTESTS_BUILD, selftestsBuildNode } from '../../orchestrator/run.ts';
import { newTest, type TestNode, type TestStatus } from '../../orchestrator/results/tree.ts';

const names = Array.from({ length: 300 }, (_, i) => `test_${(i * 7919).toString(36)}_${i % 3 ? 'map' : 'prog'}`);

test('each selected test is in exactly one shard, and the shards together are the selection', (t) => {
  for (const selection of [{ test: [], allow: ['*'] }, { test: ['map'], allow: [] }, { test: [], allow: ['test_1*', 'test_a*'] }]) {
    const wanted = selectTests(names.map((name) => ({ name, file: `${name}.c`, needs: [] })), { ...selection, deny: [] }).map((d) => d.name).sort();
    const parts = [1, 2, 3, 4].map((index) => shardAllowEntries(names, selection, { index, count: 4 }));
    const all = parts.flat().sort();
    t.deepEqual(all, wanted, `selection ${JSON.stringify(selection)}`);
    t.is(new Set(all).size, all.length, 'no test in two shards');
    t.true(parts.every((p) => p.length > 0), 'hashing spreads 300 names over 4 shards');
  }
});

test('a subtest filter stays a subtest filter in the shard that has its test', (t) => {
  const entries = [1, 2, 3].flatMap((index) => shardAllowEntries(['map_cmp_delete', 'map_lookup', 'lru_map'], { test: ['map_cmp/contract'], allow: ['lru_map/*percpu*'] }, { index, count: 3 }));
  t.deepEqual(entries.sort(), ['lru_map/*percpu*', 'map_cmp_delete/*contract*']);
});

test('a test the series adds moves no other test to another shard', (t) => {
  const before = [1, 2, 3, 4].map((index) => shardAllowEntries(names, { test: [], allow: ['*'] }, { index, count: 4 }));
  const after = [1, 2, 3, 4].map((index) => shardAllowEntries([...names, 'map_cmp_delete'], { test: [], allow: ['*'] }, { index, count: 4 }));
  const home = shardOf('map_cmp_delete', 4);
  after.forEach((part, i) => t.deepEqual(part.filter((n) => n !== 'map_cmp_delete'), before[i]));
  t.true(after[home - 1]!.includes('map_cmp_delete'));
});

test('whole runners go to one shard each; the test_progs flavours run in every shard', (t) => {
  const runners = ['test_progs', 'test_progs-no_alu32', 'test_verifier', 'test_maps'] as const;
  const parts = [1, 2, 3, 4].map((index) => shardRunners(runners, { index, count: 4 }));
  for (const part of parts) t.true(part.includes('test_progs') && part.includes('test_progs-no_alu32'));
  t.is(parts.filter((p) => p.includes('test_verifier')).length, 1);
  t.is(parts.filter((p) => p.includes('test_maps')).length, 1);
});

// Trees as the runners give them: test_progs with tests and subtests, test_maps whole.
const leaf = (name: string, status: TestStatus): TestNode => newTest(name, status);
const runner = (name: string, tests: Record<string, TestStatus>): TestNode => ({ ...newTest(name, 'pass'), children: Object.entries(tests).map(([n, s]) => leaf(n, s)) });

function fakeResult(base: TestNode[], series: TestNode[]): BpfCiResult {
  const diff = diffRuns({ tests: base, splats: [] }, { tests: series, splats: [] });
  const judged = judgeDiff(diff, diff.newFailures);
  const identity = { kernel: { built: 'b1', image: 'holds the built vmlinux', bzImageSha256: 'x' }, tree: 't', config: 'c', init: 'i', tests: [] };
  const run = (runDir: string) => ({ kind: 'passed' as const, headline: '', evidence: {}, runDir, stages: [], timings: {}, identity });
  return { ...judged, runDir: '/r', series: run('/r/series'), base: run('/r/base'), diff, retry: { runDir: '/r/retry', confirmed: diff.newFailures, flaky: [] } };
}

test('the shards\' reports merge into the unsharded run\'s difference', (t) => {
  const statuses = (flip: boolean) => Object.fromEntries(names.slice(0, 80).map((n, i) => [n, (i % 17 === 0 ? 'fail' : i % 11 === 0 && flip ? 'fail' : i % 5 === 0 ? 'skip' : 'pass') as TestStatus]));
  // What the selftests build skipped is one shard's (run.ts: the one 'selftests-build' hashes to), like a whole runner.
  const baseTrees = [runner('test_progs', statuses(false)), runner('test_maps', { test_maps: 'pass' }), selftestsBuildNode(['a.bpf.o'])];
  const seriesTrees = [runner('test_progs', { ...statuses(true), map_cmp_delete: 'fail' }), runner('test_maps', { test_maps: 'fail' }), selftestsBuildNode(['a.bpf.o', 'b.bpf.o'])];
  const whole = bpfCiReport(fakeResult(baseTrees, seriesTrees));

  // Each shard runs its own tests of test_progs, and test_maps only where it hashes.
  const cut = (trees: TestNode[], index: number) => trees
    .filter((r) => r.name === 'test_progs' || shardOf(r.name === SELFTESTS_BUILD ? SELFTESTS_BUILD : r.name, 4) === index)
    .map((r) => (r.name === 'test_progs' ? { ...r, children: r.children.filter((c) => shardOf(c.name, 4) === index) } : r));
  const parts = [1, 2, 3, 4].map((index) => ({ file: `shard${index}.json`, report: bpfCiReport(fakeResult(cut(baseTrees, index), cut(seriesTrees, index)), `${index}/4`) }));
  const merged = mergeBpfCi([...parts].reverse()) as BpfCiReport;
  t.false('error' in merged);
  const sortRunners = (r: BpfCiReport) => [...r.diff!.runners].sort((a, b) => a.name.localeCompare(b.name));
  t.deepEqual(sortRunners(merged), sortRunners(whole));
  t.true(merged.diff!.new_failures.some((c) => c.path === 'selftests-build/b.bpf.o') && merged.diff!.still_failing.filter((c) => c.path.startsWith('selftests-build/')).length === 1, 'the build\'s parts once');
  for (const key of ['new_failures', 'fixed', 'still_failing', 'appeared', 'disappeared'] as const) {
    t.deepEqual(merged.diff![key].map((c) => c.path), [...whole.diff![key]].map((c) => c.path).sort(), key);
  }
  t.is(merged.kind, whole.kind);
  t.is(merged.kind, 'testsFailed');
  t.regex(bpfCiText(merged, 1), /merged: shard 1\/4/);
});

test('a shard whose guest did not finish leaves the merged run unfinished: the series\' never passes, the base\'s is said', (t) => {
  const part = (shard: string, unfinished?: Unfinished): { file: string; report: BpfCiReport } => ({
    file: `${shard}.json`,
    report: { kind: 'passed', headline: '', runDir: '/r', shard, series: { runDir: '/r/s', kind: 'passed' }, diff: { runners: [], new_failures: [], flaky: [], retried: false, new_splats: [], fixed: [], still_failing: [], appeared: [], disappeared: [], ...(unfinished ? { unfinished } : {}) } },
  });
  const seriesCrashed = mergeBpfCi([part('1/2'), part('2/2', { series: { kind: 'kernelCrash', why: 'crashed during test_progs: int3' } })]) as BpfCiReport;
  t.is(seriesCrashed.kind, 'kernelCrash');
  t.regex(seriesCrashed.headline, /the series' guest did not finish \(shard 2\/2: crashed during test_progs: int3\)/);
  t.regex(bpfCiText(seriesCrashed, 3), /The series' guest did not finish: shard 2\/2: crashed during test_progs: int3/);
  const baseCrashed = mergeBpfCi([part('1/2', { base: 'timeout during test_maps: stuck' }), part('2/2')]) as BpfCiReport;
  t.is(baseCrashed.kind, 'passed');
  t.regex(baseCrashed.headline, /the base's guest did not finish \(shard 1\/2: timeout during test_maps: stuck\)/);
});

test('a merge refuses parts that are not all the shards of one run', (t) => {
  const one = (shard: string | undefined, built = 'b1'): { file: string; report: BpfCiReport } => ({
    file: `${shard}.json`,
    report: { kind: 'passed', headline: '', runDir: '/r', ...(shard ? { shard } : {}), series: { runDir: '/r/s', kind: 'passed', identity: { kernel: { built, image: '', bzImageSha256: '' }, tree: 't', config: 'c' } }, diff: { runners: [], new_failures: [], flaky: [], retried: false, new_splats: [], fixed: [], still_failing: [], appeared: [], disappeared: [] } },
  });
  t.regex((mergeBpfCi([one('1/2')]) as { error: string }).error, /shard\(s\) 2\/2 missing/);
  t.regex((mergeBpfCi([one('1/2'), one('1/2')]) as { error: string }).error, /also/);
  t.regex((mergeBpfCi([one('1/2'), one('2/3')]) as { error: string }).error, /different splits/);
  t.regex((mergeBpfCi([one(undefined)]) as { error: string }).error, /not the report of a shard/);
  t.regex((mergeBpfCi([one('1/2'), one('2/2', 'b2')]) as { error: string }).error, /series kernels differ/);
  t.false('error' in mergeBpfCi([one('1/2'), one('2/2')]));
});

test('a shard\'s guest plan: its runners only, its tests as -a @FILE (the file among the boot key\'s inputs), --workers when asked', async (t) => {
  const { runnerTests } = await import('../../orchestrator/guest/guest-jobs.ts');
  const { planLine } = await import('../../orchestrator/guest/guest-plan.ts');
  const full = {
    dir: '/b/full', binary: '/b/full/test_progs', testmod: '/b/full/bpf_testmod.ko', skipped: [], skipCauses: {}, excluded: [], tests: names, cached: true, elapsedMs: 0,
    runners: ['test_progs', 'test_progs-no_alu32', 'test_verifier', 'test_maps'].map((name) => ({ name, binary: `/b/full/${name}` })),
  };
  const shard = { index: shardOf('test_maps', 2), count: 2 };
  const runners = shardRunners(['test_progs', 'test_progs-no_alu32', 'test_verifier', 'test_maps'], shard);
  const allowlist = { file: '/r/bpf-ci-shard-allow.txt', entries: shardAllowEntries(names, { test: [], allow: ['*'] }, shard) };
  const plan = { job: { kind: 'tests' as const }, testTimeoutSec: 60, fullSelftests: true, runners, workers: 2, watchdogSec: 600, testProgsSelection: { test: [], allow: [], deny: [], allowlist } };
  const tests = runnerTests(plan, full);
  t.deepEqual(tests.map((g) => g.name), full.runners.map((r) => r.name).filter((r) => runners.includes(r as never)));
  t.true(tests.some((g) => g.name === 'test_maps'));
  const progs = tests.find((g) => g.name === 'test_progs')!;
  t.regex(planLine(progs), /-a @\S*test_progs-allowlist\.txt/);
  t.notRegex(planLine(progs), / -t /);
  t.true(progs.argv.includes('--workers=2'));
  t.true(progs.inputs?.includes(allowlist.file));
  t.false(tests.find((g) => g.name === 'test_maps')!.argv.includes('--workers=2'), 'test_maps has no workers option');
});
