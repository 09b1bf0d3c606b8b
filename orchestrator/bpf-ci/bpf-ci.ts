// vm-test bpf-ci: the series and its base through the same runners, and what the series changed. Drives the pipeline;
// never reaches inside it. The base's verdict is kept by the identity of what ran, so the next revision on the same
// base pays only for its own run.
import { existsSync } from 'node:fs';
import { bugTitleOf } from '../results/splat-title.ts';
import type { Splat } from '../results/tree.ts';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import type { OutcomeKind } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { confirmRetry, diffRuns, SYNTHETIC_LEAF, type LeafChange, type RunDiff } from '../results/run-diff.ts';
import { testProgsSelector } from '../guest/guest-plan.ts';
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
  /** The sides whose guests did not finish their plan. */
  unfinished?: Unfinished;
}

export interface BpfCiContext {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  runDir: string;
  /** The pipeline (a fake in unit tests). */
  pipeline?: typeof runPipeline;
  /** Run the base even when a verdict of it is kept (--base-again): a difference in doubt, a flaky report. */
  baseAgain?: boolean;
}

/** Where a base's verdict is kept, by its reuse key (identity.ts): the kernel, its image, init, the runners, the lists, the VM. */
const verdictFile = (plan: RunPlan, key: string) => join(plan.cache.root, 'verdicts', `${key}.json`);

async function loadVerdict(plan: RunPlan, key: string): Promise<TestedRun | undefined> {
  const file = verdictFile(plan, key);
  if (!existsSync(file)) return undefined;
  const kept = JSON.parse(await readFile(file, 'utf8')) as TestedRun & { runDir: string };
  // One kept by an older vm-test that kept any base: a guest that did not finish is no base for another revision.
  if (kept.vm?.end !== 'completed') return undefined;
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
  // test_progs -a takes test or test/subtest (a subtest's name may hold '/'); test_verifier and test_maps run whole. A
  // failure in a test's own body, outside its subtests, runs the whole test again.
  const selector = (path: string) => {
    const [, test, ...sub] = path.split('/');
    const subtest = sub.join('/');
    return testProgsSelector(test!, sub.length && !SYNTHETIC_LEAF.test(subtest) ? subtest : undefined);
  };
  const names = [...new Set(failures.filter((f) => f.path.startsWith('test_progs')).map((f) => selector(f.path)))];
  return Object.freeze({ ...plan, runDir, runners, testProgsSelection: { ...plan.testProgsSelection, test: [], allow: names.length ? names : plan.testProgsSelection.allow } });
}

/** The sides whose guests did not run their whole plan: why, and for the series the ending its own run had. */
export interface Unfinished {
  base?: string;
  series?: { kind: OutcomeKind; why: string };
}

/**
 * The ending the difference decides: a series that breaks nothing new passes, whatever the base does. A series whose
 * guest did not finish never passes: what it did not reach was not compared. A base that did not finish is said: the
 * tests it did not reach are judged on the series alone (one that fails there is a new failure).
 */
export function judgeDiff(diff: { newSplats: readonly Pick<Splat, 'title' | 'bugTitle' | 'kind'>[]; fixed: readonly unknown[]; stillFailing: readonly unknown[] }, confirmed: readonly Pick<LeafChange, 'path' | 'error'>[], unfinished: Unfinished = {}): { kind: OutcomeKind; headline: string } {
  const baseNote = unfinished.base ? `; the base's guest did not finish (${unfinished.base}): the tests it did not reach were judged on the series alone` : '';
  if (diff.newSplats.length) return { kind: 'kernelCrash', headline: `the series brings ${diff.newSplats.length} kernel report(s) the base does not print; first: ${bugTitleOf(diff.newSplats[0]!)}${baseNote}` };
  if (confirmed.length) {
    const first = confirmed[0]!;
    return { kind: 'testsFailed', headline: `${confirmed.length} new failure(s) the base does not have; first: ${first.path}${first.error ? `: ${first.error}` : ''}${baseNote}` };
  }
  if (unfinished.series) {
    const kind = unfinished.series.kind === 'passed' || unfinished.series.kind === 'testsFailed' ? 'kernelCrash' : unfinished.series.kind;
    return { kind, headline: `the series' guest did not finish (${unfinished.series.why}): nothing new among the tests it reached, but the rest were not compared${baseNote}` };
  }
  const still = diff.stillFailing.length ? `; ${diff.stillFailing.length} fail on the base too` : '';
  return { kind: 'passed', headline: `the series breaks nothing the base passes (${diff.fixed.length} fixed${still})${baseNote}` };
}

/** A side's events, told apart in the shared terminal: the base and the series run at the same time. */
export function sideEvents(events: RunEvents, side: 'base' | 'series'): RunEvents {
  const own = new RunEvents();
  const tag = (text: string | undefined) => (text === undefined ? `${side}` : `${side}: ${text}`);
  own.subscribe((e) => {
    switch (e.type) {
      case 'stage-start': return events.emit({ ...e, detail: tag(e.detail) });
      case 'stage-end': return events.emit({ ...e, detail: tag(e.detail) });
      case 'info': case 'warn': return events.emit({ ...e, message: tag(e.message) });
      case 'progress': return events.emit({ ...e, step: tag(e.step) });
      case 'test-start': case 'test-end': return events.emit({ ...e, name: tag(e.name) });
      default: return events.emit(e);
    }
  });
  return own;
}

/** A side whose guest did not run its whole plan (it crashed, hung or was stopped): its verdict covers only what it reached. */
export function unfinished(outcome: RunOutcome): string | undefined {
  const vm = outcome.tested?.vm;
  if (!vm || vm.end === 'completed') return undefined;
  return `${vm.end}${vm.runningTest ? ` during ${vm.runningTest}` : ''}: ${vm.detail}`;
}

/**
 * Both sides at once, each guest on a host thread of its own (under TCG one thread runs all of a guest's vCPUs, see
 * serialTcg); their builds take turns under the cache's build lock. One side that cannot run its tests stops the other.
 */
export async function runBpfCi(plans: { series: RunPlan; base: RunPlan }, ctx: BpfCiContext): Promise<BpfCiResult> {
  const { events } = ctx;
  const run = ctx.pipeline ?? runPipeline;
  await makeDirs(ctx.runDir);
  events.emit({ type: 'info', stage: 'source', message: `the base (the tree without the series) in ${join(ctx.runDir, 'base')} and the series in ${join(ctx.runDir, 'series')}, at the same time` });
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  ctx.signal?.addEventListener('abort', onOuterAbort);
  let baseReusedFrom: string | undefined;
  const untested = (o: RunOutcome) => {
    if (!o.tested) stop.abort();
    return o;
  };
  const [base, series] = await Promise.all([
    run(plans.base, {
      exec: ctx.exec, events: sideEvents(events, 'base'), signal: stop.signal,
      reuse: async (key) => {
        if (ctx.baseAgain) return undefined;
        const kept = await loadVerdict(plans.base, key);
        baseReusedFrom = kept?.reusedFrom;
        return kept;
      },
    }).then(untested),
    run(plans.series, { exec: ctx.exec, events: sideEvents(events, 'series'), signal: stop.signal }).then(untested),
  ]);
  ctx.signal?.removeEventListener('abort', onOuterAbort);
  // Only a base that ran its whole plan is kept: a crash under TCG is not the next revision's base.
  if (base.tested && !baseReusedFrom && !unfinished(base)) await keepVerdict(plans.base, base.tested, base.runDir);
  const firstFailed = [series, base].find((o) => !o.tested && o.kind !== 'interrupted') ?? [series, base].find((o) => !o.tested);
  if (firstFailed) {
    const which = firstFailed === base ? 'the base did not run its tests: ' : '';
    return { kind: firstFailed.kind, headline: `${which}${firstFailed.headline}`, runDir: ctx.runDir, series, base, ...(baseReusedFrom ? { baseReusedFrom } : {}) };
  }
  const diff = diffRuns(base.tested!.verdict.tree, series.tested!.verdict.tree);
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
  const seriesWhy = unfinished(series);
  const baseWhy = unfinished(base);
  const sides: Unfinished = { ...(baseWhy ? { base: baseWhy } : {}), ...(seriesWhy ? { series: { kind: series.kind, why: seriesWhy } } : {}) };
  const judged = judgeDiff(diff, retry?.confirmed ?? [], sides);
  return { ...judged, runDir: ctx.runDir, series, base, diff, unfinished: sides, ...(retry ? { retry } : {}), ...(baseReusedFrom ? { baseReusedFrom } : {}) };
}
