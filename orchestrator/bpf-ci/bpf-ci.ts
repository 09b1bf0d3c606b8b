// vm-test bpf-ci: the series and its base through the same runners, and what the series changed. Drives the pipeline;
// never reaches inside it. The base's verdict is kept by the identity of what ran, so the next revision on the same
// base pays only for its own run.
import { existsSync } from 'node:fs';
import { bugTitleOf } from '../results/splat-title.ts';
import type { Splat } from '../results/tree.ts';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import type { OutcomeKind } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { confirmRetry, diffRuns, type LeafChange, type RunDiff } from '../results/run-diff.ts';
import { runPipeline, type RunOutcome, type TestedRun } from '../run.ts';
import type { RunnerName } from '../build/selftests-runners.ts';

export interface BpfCiResult {
  kind: OutcomeKind;
  headline: string;
  runDir: string;
  series: RunOutcome;
  base?: RunOutcome;
  /** The base's verdict was an earlier run's, for the same kernel, binaries, lists and VM. */
  baseReusedFrom?: string;
  diff?: RunDiff;
  /** New failures run once more: those that failed again, and those that passed (flaky, not counted). */
  retry?: { runDir: string; confirmed: LeafChange[]; flaky: LeafChange[] };
}

export interface BpfCiContext {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  runDir: string;
  /** The pipeline (a fake in unit tests). */
  pipeline?: typeof runPipeline;
}

/** Where a base's verdict is kept, by its reuse key (identity.ts): the kernel, its image, init, the runners, the lists, the VM. */
const verdictFile = (plan: RunPlan, key: string) => join(plan.cache.root, 'verdicts', `${key}.json`);

async function loadVerdict(plan: RunPlan, key: string): Promise<TestedRun | undefined> {
  const file = verdictFile(plan, key);
  if (!existsSync(file)) return undefined;
  const kept = JSON.parse(await readFile(file, 'utf8')) as TestedRun & { runDir: string };
  return { ...kept, reusedFrom: kept.runDir };
}

async function keepVerdict(plan: RunPlan, tested: TestedRun, runDir: string): Promise<void> {
  const file = verdictFile(plan, tested.bootKey);
  await makeDirs(join(plan.cache.root, 'verdicts'));
  await writeFile(`${file}.tmp`, JSON.stringify({ ...tested, runDir }));
  await rename(`${file}.tmp`, file);
}

/** The plan a retry runs: the new failures' runners, the failing tests allowed by name. */
export function retryPlan(plan: RunPlan, failures: readonly LeafChange[], runDir: string): RunPlan {
  const runners = [...new Set(failures.map((f) => f.path.split('/')[0]!))].filter((r) => plan.runners?.includes(r as RunnerName)) as RunnerName[];
  // test_progs -a takes test or test/subtest; test_verifier and test_maps run whole.
  const names = [...new Set(failures.filter((f) => f.path.startsWith('test_progs')).map((f) => f.path.split('/').slice(1, 3).join('/')))];
  return Object.freeze({ ...plan, runDir, runners, testProgsSelection: { ...plan.testProgsSelection, test: [], allow: names.length ? names : plan.testProgsSelection.allow } });
}

/** The ending the difference decides: a series that breaks nothing new passes, whatever the base does. */
export function judgeDiff(diff: { newSplats: readonly Pick<Splat, 'title' | 'bugTitle' | 'kind'>[]; fixed: readonly unknown[]; stillFailing: readonly unknown[] }, confirmed: readonly Pick<LeafChange, 'path' | 'error'>[]): { kind: OutcomeKind; headline: string } {
  if (diff.newSplats.length) return { kind: 'kernelCrash', headline: `the series brings ${diff.newSplats.length} kernel report(s) the base does not print; first: ${bugTitleOf(diff.newSplats[0]!)}` };
  if (confirmed.length) {
    const first = confirmed[0]!;
    return { kind: 'testsFailed', headline: `${confirmed.length} new failure(s) the base does not have; first: ${first.path}${first.error ? `: ${first.error}` : ''}` };
  }
  const still = diff.stillFailing.length ? `; ${diff.stillFailing.length} fail on the base too` : '';
  return { kind: 'passed', headline: `the series breaks nothing the base passes (${diff.fixed.length} fixed${still})` };
}

export async function runBpfCi(plans: { series: RunPlan; base: RunPlan }, ctx: BpfCiContext): Promise<BpfCiResult> {
  const { events } = ctx;
  const run = ctx.pipeline ?? runPipeline;
  await makeDirs(ctx.runDir);
  events.emit({ type: 'info', stage: 'source', message: `the base first (the tree without the series), in ${join(ctx.runDir, 'base')}` });
  let baseReusedFrom: string | undefined;
  const base = await run(plans.base, {
    exec: ctx.exec, events, ...(ctx.signal ? { signal: ctx.signal } : {}),
    reuse: async (key) => {
      const kept = await loadVerdict(plans.base, key);
      baseReusedFrom = kept?.reusedFrom;
      return kept;
    },
  });
  if (!base.tested) return { kind: base.kind, headline: `the base did not run its tests: ${base.headline}`, runDir: ctx.runDir, series: base, base };
  if (!baseReusedFrom) await keepVerdict(plans.base, base.tested, base.runDir);

  events.emit({ type: 'info', stage: 'source', message: `now the series, in ${join(ctx.runDir, 'series')}` });
  const series = await run(plans.series, { exec: ctx.exec, events, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  if (!series.tested) return { kind: series.kind, headline: series.headline, runDir: ctx.runDir, series, base, ...(baseReusedFrom ? { baseReusedFrom } : {}) };

  const diff = diffRuns(base.tested.verdict.tree, series.tested.verdict.tree);
  let retry: BpfCiResult['retry'];
  // A runner's new failure is run once more; one the host found (a part the selftests build skipped) is not a race.
  const ofRunner = (f: LeafChange) => !!plans.series.runners?.includes(f.path.split('/')[0] as RunnerName);
  const again = diff.newFailures.filter(ofRunner);
  const settled = diff.newFailures.filter((f) => !ofRunner(f));
  if (again.length) {
    const runDir = join(ctx.runDir, 'retry');
    events.emit({ type: 'info', stage: 'results', message: `${again.length} new failure(s): running them once more before calling them new (${runDir})` });
    const rerun = await run(retryPlan(plans.series, again, runDir), { exec: ctx.exec, events, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    const told = rerun.tested ? confirmRetry({ ...diff, newFailures: again }, rerun.tested.verdict.tree) : { confirmed: again, flaky: [] };
    retry = { runDir, confirmed: [...settled, ...told.confirmed], flaky: told.flaky };
  } else if (settled.length) {
    retry = { runDir: '', confirmed: settled, flaky: [] };
  }
  const judged = judgeDiff(diff, retry?.confirmed ?? []);
  return { ...judged, runDir: ctx.runDir, series, base, diff, ...(retry ? { retry } : {}), ...(baseReusedFrom ? { baseReusedFrom } : {}) };
}
