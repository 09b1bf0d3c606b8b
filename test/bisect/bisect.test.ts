import test from 'ava';
import { bisect, decide, naturalCompare, runStep, type StepAttempt, type StepVerdict } from '../../orchestrator/bisect/bisect.ts';

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
