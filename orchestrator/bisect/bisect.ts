// Bisection over an ordered list of candidates (revisions, or patch-prefix lengths): the search only, no pipeline.

export type StepVerdict = 'good' | 'bad' | 'skip';

export interface StepAttempt {
  verdict: StepVerdict;
  /** Why: the headline of the run, or what made it untestable. */
  reason: string;
  runDir?: string;
  /** The reused verdict of an earlier step with a byte-identical kernel. */
  reusedFrom?: string;
  /** GNU build ID of the kernel this attempt built (and judged, or reused the verdict on). */
  buildId?: string;
}

export interface StepResult {
  candidate: string;
  verdict: StepVerdict;
  attempts: StepAttempt[];
}

export interface BisectOutcome {
  /** The first bad candidate, when the search narrowed to one. */
  firstBad?: string;
  /** Untestable candidates that could also be the first bad one (just before firstBad). */
  ambiguousWith: string[];
  lastGood?: string;
  steps: StepResult[];
  message: string;
}

/**
 * The rule for flaky steps, stated once: a step is bad if any attempt is bad (a failure is evidence, a pass may be
 * luck); good only if every attempt passed; skip if no attempt could test it. Retries stop at the first bad attempt.
 */
export function decide(attempts: readonly StepAttempt[]): StepVerdict {
  if (attempts.some((a) => a.verdict === 'bad')) return 'bad';
  if (attempts.length > 0 && attempts.every((a) => a.verdict === 'good')) return 'good';
  return 'skip';
}

export async function runStep(candidate: string, retries: number, attempt: (candidate: string, n: number) => Promise<StepAttempt>): Promise<StepResult> {
  const attempts: StepAttempt[] = [];
  for (let n = 0; n <= retries; n++) {
    const a = await attempt(candidate, n);
    attempts.push(a);
    if (a.verdict !== 'good') break;
  }
  return { candidate, verdict: decide(attempts), attempts };
}

/**
 * candidates[0] is known good, candidates[last] known bad (both are checked first unless assumed).
 * Classic bisection; a skipped candidate is set aside and its nearest untested neighbour is tried instead.
 */
export async function bisect(
  candidates: readonly string[],
  step: (candidate: string) => Promise<StepResult>,
  options: { verifyEnds?: boolean } = {},
): Promise<BisectOutcome> {
  const steps: StepResult[] = [];
  const record = async (c: string) => {
    const r = await step(c);
    steps.push(r);
    return r.verdict;
  };
  if (candidates.length < 2) return { ambiguousWith: [], steps, message: 'need a good and a bad candidate' };
  let lo = 0;
  let hi = candidates.length - 1;
  if (options.verifyEnds !== false) {
    const first = await record(candidates[lo]!);
    if (first !== 'good') return { ambiguousWith: [], steps, message: `the good end ${candidates[lo]} is not good (${first}): ${steps.at(-1)!.attempts.at(-1)!.reason}` };
    const last = await record(candidates[hi]!);
    if (last !== 'bad') return { ambiguousWith: [], steps, message: `the bad end ${candidates[hi]} is not bad (${last}): ${steps.at(-1)!.attempts.at(-1)!.reason}` };
  }
  const skipped = new Set<number>();
  while (hi - lo > 1) {
    const open = [];
    for (let i = lo + 1; i < hi; i++) if (!skipped.has(i)) open.push(i);
    if (open.length === 0) break;
    // The untested index nearest the middle.
    const mid = (lo + hi) / 2;
    const pick = open.reduce((best, i) => (Math.abs(i - mid) < Math.abs(best - mid) ? i : best), open[0]!);
    const verdict = await record(candidates[pick]!);
    if (verdict === 'good') lo = pick;
    else if (verdict === 'bad') hi = pick;
    else skipped.add(pick);
  }
  const ambiguousWith = [];
  for (let i = lo + 1; i < hi; i++) ambiguousWith.push(candidates[i]!);
  const firstBad = candidates[hi]!;
  const message = ambiguousWith.length
    ? `first bad: ${firstBad}, or one of the untestable ${ambiguousWith.join(', ')} before it (last good: ${candidates[lo]})`
    : `first bad: ${firstBad} (last good: ${candidates[lo]})`;
  return { firstBad, ambiguousWith, lastGood: candidates[lo], steps, message };
}

/** Natural order of revision names: v2 before v10, v1 before v1-6.12 before v2. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
