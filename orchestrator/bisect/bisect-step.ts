// One bisect step = one pipeline run; its outcome says good, bad, untestable, or stop everything.
import { RunEvents, type RunEvent } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError, type OutcomeKind } from '../outcome.ts';
import { variantPlan, type RunPlan } from '../plan/run-plan.ts';
import { firstFailure } from '../results/assemble.ts';
import { runPipeline, type RunDeps, type RunOutcome, type TestedRun } from '../run.ts';
import type { StepAttempt, StepVerdict } from './bisect.ts';
import type { StepSpec } from './bisect-plan.ts';

/** Untestable, not the candidate's fault: it did not apply, did not build, never reached init, or was unusable input. */
const SKIP_KINDS = new Set<OutcomeKind>(['patchDidNotApply', 'buildFailed', 'bootFailure', 'usage']);
const BAD_KINDS = new Set<OutcomeKind>(['testsFailed', 'kernelCrash', 'timeout']);

/** A run's ending as a bisect step; anything else (a missing tool, QEMU failing, Ctrl-C) stops the bisect. */
export function verdictForKind(kind: OutcomeKind): StepVerdict | 'abort' {
  if (kind === 'passed') return 'good';
  if (BAD_KINDS.has(kind)) return 'bad';
  if (SKIP_KINDS.has(kind)) return 'skip';
  return 'abort';
}

/** When every test skipped, nothing was verified: untestable, not bad. */
export function stepVerdict(outcome: Pick<RunOutcome, 'kind' | 'tested'>): StepVerdict | 'abort' {
  return outcome.tested?.verdict.tree.status === 'skip' ? 'skip' : verdictForKind(outcome.kind);
}

/** A run that stops the whole bisect, with its ending's kind (a missing tool, QEMU failing, Ctrl-C, ...). */
export class BisectAbort extends Error {
  readonly kind: OutcomeKind;

  constructor(message: string, kind: OutcomeKind) {
    super(message);
    this.name = 'BisectAbort';
    this.kind = kind;
  }
}

export interface StepContext {
  exec: ExecPort;
  signal: AbortSignal;
  onEvent: (event: RunEvent) => void;
  /** The bisect's one plan (bisect-plan.ts); a step's is this one with the step's series and run directory. */
  plan: RunPlan;
  /** Verdicts by boot key, shared by every step of one bisect. */
  seen: Map<string, TestedRun & { label: string }>;
  /** The pipeline (a fake in unit tests). */
  run?: (plan: RunPlan, deps: RunDeps) => Promise<RunOutcome>;
}

export async function attemptRun(ctx: StepContext, label: string, step: StepSpec): Promise<StepAttempt> {
  const events = new RunEvents();
  events.subscribe(ctx.onEvent);
  let series;
  try {
    series = await step.series();
  } catch (error) {
    // A candidate whose series does not load (a malformed patch in that revision) is untestable, not the bisect's end.
    if (error instanceof VmTestError && verdictForKind(error.kind) === 'skip') return { verdict: 'skip', reason: error.message.split('\n')[0]! };
    throw error instanceof VmTestError ? new BisectAbort(`${label}: ${error.message}`, error.kind) : error;
  }
  const outcome = await (ctx.run ?? runPipeline)(variantPlan(ctx.plan, { series, runDir: step.runDir }), {
    exec: ctx.exec,
    events,
    signal: ctx.signal,
    reuse: async (key) => {
      const earlier = ctx.seen.get(key);
      return earlier && { ...earlier, reusedFrom: earlier.label };
    },
  });
  const verdict = stepVerdict(outcome);
  if (verdict === 'abort') throw new BisectAbort(`${label}: ${outcome.headline} (${outcome.kind})`, outcome.kind);
  const tested = outcome.tested;
  if (tested && !tested.reusedFrom) ctx.seen.set(tested.bootKey, { ...tested, label });
  const decidedBy = tested && firstFailure(tested.verdict.tree.tests);
  const built = (tested?.identity ?? outcome.identity)?.kernel.built;
  return {
    verdict, reason: decidedBy ?? outcome.headline.split('\n')[0]!, runDir: outcome.runDir,
    ...(tested?.reusedFrom ? { reusedFrom: tested.reusedFrom } : {}), ...(built ? { buildId: built } : {}),
  };
}
