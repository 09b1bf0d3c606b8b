// One bisect step = one pipeline run; its outcome says good, bad, untestable, or stop everything.
import { availableParallelism } from 'node:os';
import { RunEvents, type RunEvent } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError, type OutcomeKind } from '../outcome.ts';
import { planRun, type RunOptions } from '../plan/run-plan.ts';
import { firstFailure } from '../results/assemble.ts';
import { runPipeline, type RunOutcome, type TestedRun } from '../run.ts';
import type { StepAttempt, StepVerdict } from './bisect.ts';

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
  repoRoot: string;
  signal: AbortSignal;
  onEvent: (event: RunEvent) => void;
  /** Verdicts by boot key, shared by every step of one bisect. */
  seen: Map<string, TestedRun & { label: string }>;
}

export async function attemptRun(ctx: StepContext, label: string, options: RunOptions): Promise<StepAttempt> {
  const events = new RunEvents();
  events.subscribe(ctx.onEvent);
  let plan;
  try {
    plan = await planRun(options, ctx.repoRoot, process.cwd(), process.env, availableParallelism());
  } catch (error) {
    // A candidate the plan refuses (a malformed patch in that revision) is untestable, not the bisect's end.
    if (error instanceof VmTestError && verdictForKind(error.kind) === 'skip') return { verdict: 'skip', reason: error.message.split('\n')[0]! };
    throw error instanceof VmTestError ? new BisectAbort(`${label}: ${error.message}`, error.kind) : error;
  }
  const outcome = await runPipeline(plan, {
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
  return { verdict, reason: decidedBy ?? outcome.headline.split('\n')[0]!, runDir: outcome.runDir, reusedFrom: tested?.reusedFrom };
}
