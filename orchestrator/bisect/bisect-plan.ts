// A bisect's one plan, made from the user's options in the user's directory, and its candidates: each step's
// plan is that plan with the step's series and run directory (variantPlan), never planned again.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VmTestError } from '../outcome.ts';
import { planRun, type RunOptions, type RunPlan } from '../plan/run-plan.ts';
import { describeKernelSpec, parseKernelSpec } from '../source/kernel-spec.ts';
import { loadSeries, resolveSeriesDir, type Series } from '../series/series.ts';
import { naturalCompare } from './bisect.ts';

/** A step's part of its plan: its series (loaded when the step runs; one that does not load is untestable) and its run directory. */
export interface StepSpec {
  series: () => Promise<Series | undefined>;
  runDir: string | undefined;
}

export interface BisectPlan {
  /** Every step's plan is this one with the step's series and run directory. */
  plan: RunPlan;
  candidates: string[];
  /** The first candidate is good by definition (the empty prefix of --by-patch) and is not run. */
  assumeGood: boolean;
  /** How a step is named in the output and in a reused verdict ("reused from v2"). */
  label: (candidate: string) => string;
  /** The patch a --by-patch candidate adds, for the last line. */
  describe: (candidate: string) => string | undefined;
  step: (candidate: string, attempt: number) => StepSpec;
}

export interface BisectRequest {
  /** --series: a directory of revision directories, or with byPatch one revision (a directory or an mbox file). */
  series: string;
  good?: string;
  bad?: string;
  byPatch?: boolean;
}

export async function listRevisionDirs(seriesDir: string): Promise<string[]> {
  const entries = await readdir(seriesDir, { withFileTypes: true }).catch(() => {
    throw new VmTestError('usage', `--series ${seriesDir}: no such directory`, { file: seriesDir });
  });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(naturalCompare);
}

/** With --run-dir, each step and attempt gets a directory of its own inside it; without, runPipeline names one in the cache. */
function stepRunDir(plan: RunPlan, name: string, attempt: number): string | undefined {
  return plan.runDir && join(plan.runDir, `${name}${attempt ? `-attempt${attempt + 1}` : ''}`);
}

/**
 * The plan, planned once from the user's options in their directory: with --by-patch, the revision's (its tests
 * may be missing from a prefix); across revisions, the --bad revision's (its manifest's kernel and tests, unless
 * --kernel or -t name them). A revision whose manifest names another kernel is tested on the plan's, with a warning.
 */
export async function planBisect(base: RunOptions, request: BisectRequest, repoRoot: string, cwd: string, env: NodeJS.ProcessEnv, nproc: number, warn: (message: string) => void = () => {}): Promise<BisectPlan> {
  const patchesRoot = join(repoRoot, 'patches');
  const seriesDir = resolveSeriesDir(request.series, patchesRoot, cwd);
  if (request.byPatch) {
    const plan = await planRun({ ...base, series: seriesDir, noSeries: false, patches: undefined, allowMissingTests: true }, repoRoot, cwd, env, nproc);
    const series = plan.series!;
    // Candidates are "k/n": the first k of the n patches applied.
    const n = series.patches.length;
    const k = (c: string) => parseInt(c, 10);
    return {
      plan,
      candidates: Array.from({ length: n + 1 }, (_, i) => `${i}/${n}`),
      assumeGood: true,
      label: (c) => `patches 1..${k(c)}`,
      describe: (c) => (k(c) > 0 ? `patch ${c}: ${series.patches[k(c) - 1]!.subject}` : undefined),
      step: (c, attempt) => ({
        series: async () => (k(c) === 0 ? undefined : k(c) === n ? series : loadSeries(seriesDir, patchesRoot, k(c))),
        runDir: stepRunDir(plan, `patches-${k(c)}of${n}`, attempt),
      }),
    };
  }
  if (!request.good || !request.bad) throw new VmTestError('usage', 'bisect needs --good and --bad revisions (or --by-patch)');
  const revisions = await listRevisionDirs(seriesDir);
  const from = revisions.indexOf(request.good);
  const to = revisions.indexOf(request.bad);
  if (from < 0 || to < 0) throw new VmTestError('usage', `--good ${request.good} / --bad ${request.bad}: revisions of ${seriesDir} are ${revisions.join(', ')}`, { file: seriesDir });
  if (from >= to) throw new VmTestError('usage', `--good ${request.good} must come before --bad ${request.bad} (order: ${revisions.join(', ')})`);
  const plan = await planRun({ ...base, series: join(seriesDir, request.bad), noSeries: false }, repoRoot, cwd, env, nproc);
  const kernel = describeKernelSpec(plan.kernel);
  return {
    plan,
    candidates: revisions.slice(from, to + 1),
    assumeGood: false,
    label: (c) => c,
    describe: () => undefined,
    step: (c, attempt) => ({
      series: async () => {
        if (base.patches === 0) return undefined;
        const series = await loadSeries(join(seriesDir, c), patchesRoot, base.patches);
        const own = series.manifest.base?.kernel;
        const parsed = own === undefined ? undefined : parseKernelSpec(own, cwd);
        if (base.kernel === undefined && parsed && !('error' in parsed) && describeKernelSpec(parsed) !== kernel) {
          warn(`${c}: its series.json names the kernel ${own}; every step of this bisect is tested on ${kernel} (the --bad revision's; --kernel chooses another)`);
        }
        return series;
      },
      runDir: stepRunDir(plan, c, attempt),
    }),
  };
}
