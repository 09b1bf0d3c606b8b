// A stand-in for runPipeline in unit tests: no process starts. Each run's kernel is whatever the test says its plan
// builds; the reuse port is asked with the boot key, and an earlier verdict is taken, as runPipeline does.
import type { OutcomeKind } from '../orchestrator/outcome.ts';
import type { RunPlan } from '../orchestrator/plan/run-plan.ts';
import type { RunIdentity } from '../orchestrator/identity.ts';
import type { Verdict } from '../orchestrator/results/assemble.ts';
import { newTest } from '../orchestrator/results/tree.ts';
import type { RunDeps, RunOutcome, TestedRun } from '../orchestrator/run.ts';
import type { VmOutcome } from '../orchestrator/vm/run-vm.ts';

export interface FakeKernel {
  /** The build ID of the kernel this plan builds; equal IDs are byte-identical kernels (and tests). */
  built: string;
  kind: OutcomeKind;
  /** With testsFailed: the test that fails. */
  failing?: string;
}

const TESTS = ['test_progs', 'compare-contract'];

function fakeVerdict(k: FakeKernel): Verdict {
  const tests = TESTS.map((name) => {
    const node = newTest(name, k.failing === name ? 'fail' : 'pass');
    if (k.failing === name) node.log.push('# FAIL: fake assertion');
    return node;
  });
  return {
    tree: { status: k.failing ? 'fail' : 'pass', counts: { passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0 }, tests, splats: [] },
    kind: k.kind, headline: `fake ${k.kind}`, blockingSplats: [],
  };
}

function fakeIdentity(built: string, series: string | undefined): RunIdentity {
  return {
    kernel: { built, image: 'holds the built vmlinux', bzImageSha256: `sha-${built}` },
    tree: `tree-${built}`, config: 'config', ...(series ? { series } : {}), init: 'init', tests: TESTS.map((name) => ({ name, sha256: 'same' })),
  };
}

/** The TestedRun a run of this kernel gives (the baseline's, for a start). */
export function fakeTested(built: string, kind: OutcomeKind = 'passed', failing?: string): TestedRun {
  const identity = fakeIdentity(built, undefined);
  identity.kernel.booted = built;
  return { bootKey: `boot-${built}`, identity, verdict: fakeVerdict({ built, kind, ...(failing ? { failing } : {}) }), vm: {} as VmOutcome, accel: { accel: 'tcg', reason: 'fake' } };
}

/** kernelFor says what each plan builds; plans holds every plan run, booted the run directories that booted a VM. */
export function fakePipeline(kernelFor: (plan: RunPlan) => FakeKernel) {
  const plans: RunPlan[] = [];
  const booted: string[] = [];
  const run = async (plan: RunPlan, deps: RunDeps): Promise<RunOutcome> => {
    plans.push(plan);
    const k = kernelFor(plan);
    const base = { runDir: plan.runDir ?? '/runs/fake', evidence: {}, stages: [], timings: {} };
    // Endings before a kernel was tested: nothing to key, nothing reused.
    if (!['passed', 'testsFailed', 'kernelCrash', 'timeout', 'bootFailure'].includes(k.kind)) return { ...base, kind: k.kind, headline: `fake ${k.kind}` };
    const identity = fakeIdentity(k.built, plan.series?.hash);
    const bootKey = `boot-${k.built}`;
    const earlier = await deps.reuse?.(bootKey);
    if (earlier) {
      if (earlier.identity.kernel.booted) identity.kernel.booted = earlier.identity.kernel.booted;
      const tested = { ...earlier, identity };
      return { ...base, kind: tested.verdict.kind, headline: tested.verdict.headline, tested, identity };
    }
    booted.push(base.runDir);
    identity.kernel.booted = k.built;
    const tested: TestedRun = { bootKey, identity, verdict: fakeVerdict(k), vm: {} as VmOutcome, accel: { accel: 'tcg', reason: 'fake' } };
    return { ...base, kind: k.kind, headline: tested.verdict.headline, tested, identity };
  };
  return { run, plans, booted };
}
