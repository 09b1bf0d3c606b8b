import test from 'ava';
import { cp } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { bisect, decide, naturalCompare, runStep, type StepAttempt, type StepVerdict } from '../../orchestrator/bisect/bisect.ts';
import { planBisect } from '../../orchestrator/bisect/bisect-plan.ts';
import { attemptRun, type StepContext } from '../../orchestrator/bisect/bisect-step.ts';
import { renderBisect } from '../../orchestrator/commands/bisect-command.ts';
import type { RunOptions, RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { fakePipeline, type FakeKernel } from '../fake-pipeline.ts';
import { fakeExec, tempDir, writeFiles } from '../helpers.ts';

const fakeStep = (truth: Record<string, StepVerdict>, log: string[]) => async (c: string) => {
  log.push(c);
  return runStep(c, 0, async () => ({ verdict: truth[c]!, reason: truth[c]! }));
};

test('finds the first bad candidate in log2 steps', async (t) => {
  const names = Array.from({ length: 17 }, (_, i) => `v${i + 1}`);
  const truth = Object.fromEntries(names.map((n, i) => [n, i >= 11 ? 'bad' : 'good'])) as Record<string, StepVerdict>;
  const tested: string[] = [];
  const out = await bisect(names, fakeStep(truth, tested));
  t.is(out.firstBad, 'v12');
  t.is(out.lastGood, 'v11');
  t.deepEqual(out.ambiguousWith, []);
  t.true(tested.length <= 2 + Math.ceil(Math.log2(17)));
});

test('an untestable candidate is stepped around, and named when it could be the culprit', async (t) => {
  const truth: Record<string, StepVerdict> = { v1: 'good', v2: 'good', v3: 'skip', v4: 'bad', v5: 'bad' };
  const out = await bisect(['v1', 'v2', 'v3', 'v4', 'v5'], fakeStep(truth, []));
  t.is(out.firstBad, 'v4');
  t.deepEqual(out.ambiguousWith, ['v3']);
  t.regex(out.message, /or one of the untestable v3/);
  const clean = await bisect(['v1', 'v2', 'v3', 'v4', 'v5'], fakeStep({ ...truth, v3: 'good' }, []));
  t.deepEqual([clean.firstBad, clean.ambiguousWith], ['v4', []]);
});

test('ends that are not good and bad stop the bisect with the reason', async (t) => {
  const out = await bisect(['a', 'b', 'c'], fakeStep({ a: 'bad', b: 'bad', c: 'bad' }, []));
  t.is(out.firstBad, undefined);
  t.regex(out.message, /good end a is not good/);
});

test('flaky rule: bad if any attempt fails, good only if all pass; retries stop at the first failure', async (t) => {
  const a = (v: StepVerdict): StepAttempt => ({ verdict: v, reason: v });
  t.is(decide([a('good'), a('bad')]), 'bad');
  t.is(decide([a('good'), a('good')]), 'good');
  t.is(decide([a('skip')]), 'skip');
  let n = 0;
  const seq: StepVerdict[] = ['good', 'bad', 'good'];
  const r = await runStep('x', 5, async () => a(seq[n++]!));
  t.is(r.verdict, 'bad');
  t.is(r.attempts.length, 2);
});

test('revision names sort naturally', (t) => {
  t.deepEqual(['v10', 'v2', 'v1-6.12', 'v1'].sort(naturalCompare), ['v1', 'v1-6.12', 'v2', 'v10']);
});

test('a step where every test skipped verified nothing: untestable, not bad; other endings map by kind', async (t) => {
  const { stepVerdict } = await import('../../orchestrator/bisect/bisect-step.ts');
  const tested = (status: 'pass' | 'fail' | 'skip' | 'crashed') => ({ verdict: { tree: { status } } } as NonNullable<Parameters<typeof stepVerdict>[0]['tested']>);
  t.is(stepVerdict({ kind: 'testsFailed', tested: tested('skip') }), 'skip');
  t.is(stepVerdict({ kind: 'testsFailed', tested: tested('fail') }), 'bad');
  t.is(stepVerdict({ kind: 'kernelCrash', tested: tested('crashed') }), 'bad');
  t.is(stepVerdict({ kind: 'timeout', tested: tested('crashed') }), 'bad');
  t.is(stepVerdict({ kind: 'passed', tested: tested('pass') }), 'good');
  t.is(stepVerdict({ kind: 'patchDidNotApply' }), 'skip');
  t.is(stepVerdict({ kind: 'buildFailed' }), 'skip');
  t.is(stepVerdict({ kind: 'bootFailure', tested: tested('crashed') }), 'skip');
  t.is(stepVerdict({ kind: 'infra' }), 'abort');
  t.is(stepVerdict({ kind: 'vmInfra' }), 'abort');
  t.is(stepVerdict({ kind: 'interrupted' }), 'abort');
});

// --- One plan, derived per step (bisect-plan.ts), with a fake pipeline (test/fake-pipeline.ts): nothing builds or boots.

const repoRoot = new URL('../../', import.meta.url).pathname;
const revisionsFixture = join(repoRoot, 'test/fixtures/bisect/bpf-f-compare');
const drops = join(repoRoot, 'test/fixtures/series/drops-flag-check');

/** A user's directory with a fragment, an allowlist and a denylist named relative to it. */
async function userDir(t: { teardown(f: () => Promise<void>): void }) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const cwd = join(tmp.path, 'user');
  await writeFiles(cwd, { 'extra.config': 'CONFIG_PRINTK=y\n', 'allow.txt': 'warning: expected_warning\n', 'deny.txt': 'not_this_one\n' });
  const options: RunOptions = { kconfig: ['extra.config'], allowlist: 'allow.txt', denylist: 'deny.txt', cacheDir: join(tmp.path, 'cache') };
  return { tmp: tmp.path, cwd, options };
}

function stepContext(plan: RunPlan, run: StepContext['run']): StepContext {
  return { exec: fakeExec(), signal: new AbortController().signal, onEvent: () => {}, plan, seen: new Map(), run };
}

const without = ({ series: _s, runDir: _r, ...rest }: RunPlan) => rest;

test('bisect across revisions: every step\'s plan is the one plan (relative --kconfig, --allowlist, --denylist from the user\'s directory) with that revision\'s series', async (t) => {
  const { cwd, options } = await userDir(t);
  const b = await planBisect({ ...options, runDir: 'steps' }, { series: revisionsFixture, good: 'v1', bad: 'v4' }, repoRoot, cwd, {}, 2);
  t.deepEqual(b.candidates, ['v1', 'v2', 'v3', 'v4']);
  t.is(b.plan.fragments.at(-1)!.file, join(cwd, 'extra.config'));
  t.is(b.plan.allowlist, join(cwd, 'allow.txt'));
  t.is(b.plan.testProgsSelection.denylist?.file, join(cwd, 'deny.txt'));
  const fake = fakePipeline((p) => ({ built: basename(p.series!.dir), kind: 'passed' }));
  const ctx = stepContext(b.plan, fake.run);
  for (const c of b.candidates) await attemptRun(ctx, b.label(c), b.step(c, 0));
  await attemptRun(ctx, b.label('v2'), b.step('v2', 1));
  for (const p of fake.plans) t.deepEqual(without(p), without(b.plan));
  t.deepEqual(fake.plans.map((p) => p.series!.dir), [...b.candidates, 'v2'].map((c) => join(revisionsFixture, c)));
  // --run-dir (relative: from the user's directory too): a directory per step and attempt inside it.
  t.deepEqual(fake.plans.map((p) => p.runDir), ['v1', 'v2', 'v3', 'v4', 'v2-attempt2'].map((d) => join(cwd, 'steps', d)));
});

test('bisect by patch: every step\'s plan is the revision\'s plan with the first k patches; no --run-dir leaves each run its own', async (t) => {
  const { cwd, options } = await userDir(t);
  const b = await planBisect(options, { series: drops, byPatch: true }, repoRoot, cwd, {}, 2);
  t.deepEqual(b.candidates, ['0/3', '1/3', '2/3', '3/3']);
  t.true(b.assumeGood);
  t.true(b.plan.allowMissingTests);
  t.is(b.label('2/3'), 'patches 1..2');
  t.regex(b.describe('2/3')!, /^patch 2\/3: \[RFC bpf-next 2\/3\]/);
  const fake = fakePipeline((p) => ({ built: `k${p.series?.patches.length ?? 0}`, kind: 'passed' }));
  const ctx = stepContext(b.plan, fake.run);
  for (const c of b.candidates) await attemptRun(ctx, b.label(c), b.step(c, 0));
  for (const p of fake.plans) t.deepEqual(without(p), without(b.plan));
  t.deepEqual(fake.plans.map((p) => p.series?.patches.map((x) => x.subject)), [undefined, ...[1, 2, 3].map((k) => b.plan.series!.patches.slice(0, k).map((x) => x.subject))]);
  t.deepEqual(fake.plans.map((p) => p.runDir), [undefined, undefined, undefined, undefined]);
});

test('a step whose kernel is byte-identical to an earlier step\'s reuses its verdict, and says so with the build ID', async (t) => {
  const { cwd, options } = await userDir(t);
  const b = await planBisect(options, { series: revisionsFixture, good: 'v1', bad: 'v6' }, repoRoot, cwd, {}, 2);
  // v1 and v2 build one kernel; v5 and v6 another, which fails a test.
  const kernels: Record<string, FakeKernel> = {
    v1: { built: 'k-good', kind: 'passed' }, v2: { built: 'k-good', kind: 'passed' }, v3: { built: 'k3', kind: 'patchDidNotApply' },
    v4: { built: 'k4', kind: 'buildFailed' }, v5: { built: 'k-bad', kind: 'testsFailed', failing: 'compare-contract' }, v6: { built: 'k-bad', kind: 'testsFailed', failing: 'compare-contract' },
  };
  const fake = fakePipeline((p) => kernels[basename(p.series!.dir)]!);
  const ctx = stepContext(b.plan, fake.run);
  const out = await bisect(b.candidates, (c) => runStep(c, 0, (cand, n) => attemptRun(ctx, b.label(cand), b.step(cand, n))));
  t.is(out.firstBad, 'v5');
  const attempt = (c: string) => out.steps.find((s) => s.candidate === c)!.attempts[0]!;
  t.like(attempt('v2'), { verdict: 'good', reusedFrom: 'v1', buildId: 'k-good' });
  t.like(attempt('v5'), { verdict: 'bad', reusedFrom: 'v6', buildId: 'k-bad' });
  t.is(attempt('v6').reusedFrom, undefined);
  const text = renderBisect(out);
  t.regex(text, /good v2\n\s+attempt 1: good: fake passed \(reused from v1: byte-identical kernel, build ID k-good\)/);
  t.regex(text, /bad {2}v5\n\s+attempt 1: bad: compare-contract failed.* \(reused from v6: byte-identical kernel, build ID k-bad\)/);
  t.is(fake.booted.length, 2, 'only v1 and v6 booted');
});

test('a revision whose series does not load is untestable; one whose manifest names another kernel is tested on the plan\'s, with a warning', async (t) => {
  const { tmp, cwd, options } = await userDir(t);
  const revs = join(tmp, 'revs');
  await cp(join(revisionsFixture, 'v1'), join(revs, 'v1'), { recursive: true });
  await cp(join(revisionsFixture, 'v2'), join(revs, 'v2'), { recursive: true });
  await cp(join(revisionsFixture, 'v6'), join(revs, 'v3'), { recursive: true });
  await writeFiles(revs, { 'v1/series.json': JSON.stringify({ base: { kernel: 'deb:linux-source-6.12' } }), 'v2/0001-broken.patch': 'not a mail\n', 'v2/series.json': JSON.stringify({ patches: ['0001-broken.patch'] }) });
  const warnings: string[] = [];
  const b = await planBisect(options, { series: revs, good: 'v1', bad: 'v3' }, repoRoot, cwd, {}, 2, (m) => warnings.push(m));
  const fake = fakePipeline((p) => ({ built: basename(p.series!.dir), kind: 'passed' }));
  const ctx = stepContext(b.plan, fake.run);
  t.like(await attemptRun(ctx, 'v2', b.step('v2', 0)), { verdict: 'skip' });
  await attemptRun(ctx, 'v1', b.step('v1', 0));
  t.deepEqual(fake.plans.map((p) => p.kernel), [b.plan.kernel]);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /^v1: its series\.json names the kernel deb:linux-source-6\.12; every step of this bisect is tested on deb:linux-source-7\.2/);
});
