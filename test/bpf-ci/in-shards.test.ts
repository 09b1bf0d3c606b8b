// vm-test bpf-ci --in-shards: the shards one after another in one run directory, each kept as it ends, merged at the
// end; the same command again takes up from the first shard without a difference. The pipeline is a fake.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInShards } from '../../orchestrator/bpf-ci/in-shards.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { describePlan, planRun, type RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { newTest, type TestNode } from '../../orchestrator/results/tree.ts';
import type { RunOutcome } from '../../orchestrator/run.ts';
import { tempDir } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;

/** Each shard's sides pass their tests (a: on the base fails too); shard fail.shard cannot build, fail.times times. */
function fakePipeline(ran: string[], fail: { shard?: string; times: number; splat?: string }) {
  return async (plan: RunPlan): Promise<RunOutcome> => {
    const runDir = plan.runDir!;
    const side = plan.series ? 'series' : 'base';
    const shard = `${plan.shard!.index}/${plan.shard!.count}`;
    // What runStages writes first: the plan, by which a kept shard is known as this plan's.
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'plan.txt'), describePlan(plan) + '\n');
    ran.push(`${shard} ${side}`);
    if (fail.shard === shard && fail.times > 0) {
      if (side === 'series') fail.times--;
      return { kind: 'buildFailed', headline: 'full selftests build failed', evidence: {}, runDir, stages: [], timings: {} };
    }
    const tests: TestNode[] = [{ ...newTest('test_progs', 'pass'), children: [newTest(`t${plan.shard!.index}`, 'pass'), newTest('a', 'fail')] }];
    const identity = { kernel: { built: side, image: 'holds the built vmlinux', bzImageSha256: side }, tree: side, config: 'c', init: 'i', tests: [] };
    // fail.splat: that shard's series prints a kernel report, its guest running to the end.
    const splats = fail.splat === shard && side === 'series' ? [{ kind: 'warning' as const, title: 'refcount_t: underflow; use-after-free.', bugTitle: 'WARNING: refcount bug in process_one_work', lines: [], startLine: 1 }] : [];
    const verdict = { tree: { status: 'pass' as const, counts: { passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0 }, tests, splats }, kind: 'passed' as const, headline: side, blockingSplats: splats };
    const vm = { end: 'completed' as const, detail: 'init ran the whole plan', runningTest: undefined, accel: 'tcg' as const, consoleLog: '', resultsLog: '', qemuCommand: '', qemuExitCode: 0, durationMs: 1 };
    return { kind: 'passed', headline: side, evidence: {}, runDir, stages: [], timings: {}, tested: { bootKey: `${plan.shard!.index}of${plan.shard!.count}-${side}`, identity, verdict, vm, accel: { accel: 'tcg', reason: '' } } };
  };
}

async function setup(t: { teardown: (f: () => Promise<void>) => void }, testProgs?: string[]) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const cacheDir = join(tmp.path, 'cache');
  const planShard = (index: number) => planRun({ runners: ['test_progs'], cacheDir, shard: { index, count: 3 }, ...(testProgs ? { testProgs } : {}) }, root, root, process.env, 2);
  return { top: join(tmp.path, 'top'), planShard };
}

test('the shards run one after another, each kept in its directory, and are merged', async (t) => {
  const { top, planShard } = await setup(t);
  const ran: string[] = [];
  const merged = await runInShards(3, top, planShard, [], { exec: undefined as never, events: new RunEvents(), pipeline: fakePipeline(ran, { times: 0 }) });
  t.is(merged.kind, 'passed');
  t.deepEqual(merged.merged?.map((m) => m.shard), ['1/3', '2/3', '3/3']);
  t.deepEqual(ran.map((r) => r.split(' ')[0]), ['1/3', '1/3', '2/3', '2/3', '3/3', '3/3']);
  for (const i of [1, 2, 3]) t.true(existsSync(join(top, `shard${i}of3`, 'bpf-ci.json')));
  // Each shard's still-failing a, once per shard; every shard's own test.
  t.deepEqual(merged.diff?.runners.map((r) => [r.name, r.passed, r.failed]), [['test_progs', 3, 3]]);
});

test('a shard that ends without a difference stops the run; the same command resumes from it, the finished shards kept', async (t) => {
  const { top, planShard } = await setup(t);
  const ran: string[] = [];
  const fail = { shard: '2/3', times: 1 };
  const events = new RunEvents();
  const said: string[] = [];
  events.subscribe((e) => { if (e.type === 'info') said.push(e.message); });
  const first = await runInShards(3, top, planShard, [], { exec: undefined as never, events, pipeline: fakePipeline(ran, fail) });
  t.is(first.kind, 'buildFailed');
  t.regex(first.headline, new RegExp(`^shard 2/3: .*full selftests build failed; the shards before it are kept: the same command with --run-dir ${top} resumes$`));
  t.false(ran.some((r) => r.startsWith('3/3')), 'the shards after it are not run');
  ran.length = 0;
  const again = await runInShards(3, top, planShard, [], { exec: undefined as never, events, pipeline: fakePipeline(ran, fail) });
  t.is(again.kind, 'passed');
  t.deepEqual([...new Set(ran.map((r) => r.split(' ')[0]))], ['2/3', '3/3'], 'shard 1 is kept, not run again');
  t.regex(said.join('\n'), /shard 1\/3: kept from .*shard1of3\/bpf-ci\.json/);
  // The failed attempt's logs stay beside the new one.
  t.true((await readdir(top)).some((d) => /^shard2of3\.unfinished-\d+$/.test(d)));
});

test('a kept shard run with other options (another selection) is run again, not merged into this run', async (t) => {
  const { top, planShard } = await setup(t);
  const ran: string[] = [];
  await runInShards(3, top, planShard, [], { exec: undefined as never, events: new RunEvents(), pipeline: fakePipeline(ran, { times: 0 }) });
  const other = await setup(t, ['map']);
  ran.length = 0;
  const merged = await runInShards(3, top, other.planShard, [], { exec: undefined as never, events: new RunEvents(), pipeline: fakePipeline(ran, { times: 0 }) });
  t.is(merged.kind, 'passed');
  t.deepEqual([...new Set(ran.map((r) => r.split(' ')[0]))], ['1/3', '2/3', '3/3']);
  t.true((await readdir(top)).some((d) => /^shard1of3\.other-plan-\d+$/.test(d)));
  t.regex(await readFile(join(top, 'shard1of3/series/plan.txt'), 'utf8'), /map/);
});

test('--in-shards on the real CLI: the plan says where each shard goes and how to resume; a wrong count or --shard beside it is a usage error', async (t) => {
  const { runCli } = await import('../bad-input/cli-runner.ts');
  const planned = await runCli(['bpf-ci', '--in-shards', '4', '--run-dir', '/tmp/vm-test-in-shards-plan', '--dry-run']);
  t.is(planned.exitCode, 0, planned.stderr);
  t.regex(planned.stdout, /^in shards: {2}1\/4 \.\. 4\/4 one after another, each in \/tmp\/vm-test-in-shards-plan\/shard<i>of4, kept as it ends, then merged into \/tmp\/vm-test-in-shards-plan\/bpf-ci\.json; --run-dir \/tmp\/vm-test-in-shards-plan resumes$/m);
  const one = await runCli(['bpf-ci', '--in-shards', '1', '--dry-run']);
  t.is(one.exitCode, 2);
  t.regex(one.stderr, /--in-shards 1: expected a whole number of shards, 2 or more/);
  const both = await runCli(['bpf-ci', '--in-shards', '4', '--shard', '1/4', '--dry-run']);
  t.is(both.exitCode, 2);
  t.regex(both.stderr, /--in-shards runs every shard itself: without --shard/);
});

test('--base-again on the real CLI: the plan says the base runs again; beside --no-base it is a usage error', async (t) => {
  const { runCli } = await import('../bad-input/cli-runner.ts');
  const planned = await runCli(['bpf-ci', '--base-again', '--run-dir', '/tmp/vm-test-base-again-plan', '--dry-run']);
  t.is(planned.exitCode, 0, planned.stderr);
  t.regex(planned.stdout, /^base: {7}the same on the tree without the series, in \/tmp\/vm-test-base-again-plan\/base \(run again even where a verdict of it is kept: --base-again; the new one is kept\)$/m);
  const without = await runCli(['bpf-ci', '--base-again', '--no-base', '--dry-run']);
  t.is(without.exitCode, 2);
  t.regex(without.stderr, /--base-again runs the base again: without --no-base/);
});

test('a shard whose two guests ran to the end is kept, even when the series brought a kernel report: the run goes on, and the merge carries the report (shard 2/4 of v1, 2026-12-07)', async (t) => {
  const { top, planShard } = await setup(t);
  const ran: string[] = [];
  const merged = await runInShards(3, top, planShard, [], { exec: undefined as never, events: new RunEvents(), pipeline: fakePipeline(ran, { times: 0, splat: '2/3' }) });
  t.deepEqual([...new Set(ran.map((r) => r.split(' ')[0]))], ['1/3', '2/3', '3/3'], 'shard 3 ran after shard 2\'s report');
  t.is(merged.kind, 'kernelCrash');
  t.regex(merged.headline, /the series brings 1 kernel report\(s\) the base does not print; first: WARNING: refcount bug in process_one_work/);
  ran.length = 0;
  const again = await runInShards(3, top, planShard, [], { exec: undefined as never, events: new RunEvents(), pipeline: fakePipeline(ran, { times: 0, splat: '2/3' }) });
  t.deepEqual(ran, [], 'every shard kept: nothing runs again');
  t.is(again.kind, 'kernelCrash');
});
