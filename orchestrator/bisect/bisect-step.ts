// One bisect step = one pipeline run; its exit code says good, bad, untestable, or stop everything.
import { availableParallelism } from 'node:os';
import { RunEvents, type RunEvent } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { EXIT, VmTestError, exitCodeFor } from '../outcome.ts';
import { planRun, type RunOptions } from '../plan/run-plan.ts';
import { firstFailure, type Verdict } from '../results/assemble.ts';
import { runPipeline, type RunResult } from '../run.ts';
import type { StepAttempt, StepVerdict } from './bisect.ts';

/** Untestable, not the candidate's fault: it did not apply, did not build, or never reached init. */
const SKIP_EXITS = new Set<number>([EXIT.patchDidNotApply, EXIT.buildFailed, EXIT.bootFailure, EXIT.usage]);
const BAD_EXITS = new Set<number>([EXIT.testsFailed, EXIT.kernelCrash, EXIT.timeout]);

export function verdictForExit(code: number): StepVerdict | 'abort' {
  if (code === EXIT.passed) return 'good';
  if (BAD_EXITS.has(code)) return 'bad';
  if (SKIP_EXITS.has(code)) return 'skip';
  return 'abort';
}

/** A run's verdict as a bisect step: when every test skipped, nothing was verified, so it is untestable, not bad. */
export function stepVerdict(verdict: Pick<Verdict, 'exitCode' | 'tree'>): StepVerdict | 'abort' {
  return verdict.tree.status === 'skip' ? 'skip' : verdictForExit(verdict.exitCode);
}

export class BisectAbort extends Error {}

export interface StepContext {
  exec: ExecPort;
  repoRoot: string;
  signal: AbortSignal;
  onEvent: (event: RunEvent) => void;
  /** Verdicts by boot key, shared by every step of one bisect. */
  seen: Map<string, RunResult & { label: string }>;
}

export async function attemptRun(ctx: StepContext, label: string, options: RunOptions): Promise<StepAttempt> {
  const events = new RunEvents();
  events.subscribe(ctx.onEvent);
  try {
    const plan = await planRun(options, ctx.repoRoot, process.cwd(), process.env, availableParallelism());
    let reusedFrom: string | undefined;
    const result = await runPipeline(plan, {
      exec: ctx.exec,
      events,
      signal: ctx.signal,
      reuse: async (key) => {
        const earlier = ctx.seen.get(key);
        if (earlier) reusedFrom = earlier.label;
        return earlier;
      },
    });
    if (!reusedFrom) ctx.seen.set(result.bootKey, { ...result, label });
    const code = result.verdict.exitCode;
    const verdict = stepVerdict(result.verdict);
    if (verdict === 'abort') throw new BisectAbort(`${label}: ${result.verdict.headline} (exit ${code})`);
    const decidedBy = firstFailure(result.verdict.tree.tests);
    return { verdict, reason: decidedBy ?? result.verdict.headline, runDir: result.runDir, reusedFrom };
  } catch (error) {
    if (error instanceof VmTestError) {
      const verdict = verdictForExit(exitCodeFor(error.kind));
      if (verdict === 'skip') return { verdict, reason: error.message.split('\n')[0]! };
      throw new BisectAbort(`${label}: ${error.message}`);
    }
    throw error;
  }
}
