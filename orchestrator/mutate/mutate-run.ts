// Each mutant through the normal pipeline, one after another on one cache: the series plus the mutant
// as one more patch, an incremental build (one object), a boot, the selected tests. Classified by the outcome.
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import type { OutcomeKind } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import { planRun, type RunOptions } from '../plan/run-plan.ts';
import { firstFailure } from '../results/assemble.ts';
import type { TestNode } from '../results/tree.ts';
import { runPipeline, type RunOutcome } from '../run.ts';
import type { Series } from '../series/series.ts';
import { mutantMail, type Mutant } from './mutants.ts';

export type MutantStatus = 'killed' | 'survived' | 'timeout' | 'not-compiled' | 'error';

export interface MutantResult {
  id: string;
  status: MutantStatus;
  /** Killed by the series' own selftest (test_progs) / by anything that ran (selftest, suites, a splat, a hang). */
  killedBySelftest: boolean;
  killedByAll: boolean;
  /** The test and assertion that failed, the splat, or why it did not compile. */
  reason: string;
  /** Top-level tests that ran. */
  tests: string[];
  runDir: string;
  seconds: number;
}

/** What a run's ending says about a mutant; undefined: the run itself could not go on (stop). */
export function classify(outcome: Pick<RunOutcome, 'kind' | 'headline' | 'tested'>): Omit<MutantResult, 'id' | 'runDir' | 'seconds'> | undefined {
  const tests = outcome.tested?.verdict.tree.tests ?? [];
  const names = tests.map((t) => t.name);
  const failed = (t: TestNode) => t.status === 'fail' || t.status === 'crashed';
  const base = { tests: names };
  // The selftest noticed when it failed, or the splat or hang came while it ran (a crash while a guest suite
  // ran, after the selftest passed, is the suites' catch). No selftest node at all: nothing ran, both noticed.
  const selftests = tests.filter((t) => t.name === 'test_progs' || t.name === 'test_progs-targeted');
  const selftestNoticed = selftests.length === 0 || selftests.some((t) => failed(t) || t.splats.length > 0);
  switch (outcome.kind) {
    case 'passed':
      return { ...base, status: 'survived', killedBySelftest: false, killedByAll: false, reason: 'every test passed' };
    case 'buildFailed':
      return { ...base, status: 'not-compiled', killedBySelftest: false, killedByAll: false, reason: outcome.headline.split('\n')[0]! };
    case 'patchDidNotApply':
      return { ...base, status: 'error', killedBySelftest: false, killedByAll: false, reason: outcome.headline.split('\n')[0]! };
    case 'timeout':
      // A hang is the kernel's answer to the mutant: killed, and said so.
      return { ...base, status: 'timeout', killedBySelftest: selftestNoticed, killedByAll: true, reason: outcome.headline.split('\n')[0]! };
    case 'kernelCrash':
      return { ...base, status: 'killed', killedBySelftest: selftestNoticed, killedByAll: true, reason: outcome.headline.split('\n')[0]! };
    case 'bootFailure':
      return { ...base, status: 'killed', killedBySelftest: true, killedByAll: true, reason: outcome.headline.split('\n')[0]! };
    case 'testsFailed':
      return { ...base, status: 'killed', killedBySelftest: selftests.some(failed), killedByAll: true, reason: firstFailure(tests) ?? outcome.headline };
    default:
      return undefined;
  }
}

export interface MutateState {
  series: string;
  /** The mutants chosen for this run (after --max and --shard), in order. */
  planned: string[];
  results: MutantResult[];
}

export interface MutateContext {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  repoRoot: string;
  /** The run's options, as for vm-test run (kernel, tests, cache...); the series is set per mutant. */
  options: RunOptions;
  series: Series;
  /** Where mutants, their runs and state.json live. */
  dir: string;
  /** Stop starting mutants after this many seconds. */
  timeBudgetSec?: number;
  onResult?: (mutant: Mutant, result: MutantResult) => void;
}

/** Why runMutants stopped before the last mutant: Ctrl-C or SIGTERM, the time budget, or a run that could not go on. */
export type MutateStop =
  | { reason: 'interrupted' }
  | { reason: 'budget'; budgetSec: number }
  | { reason: 'failed'; mutant: string; kind: OutcomeKind; headline: string };

export function describeStop(stop: MutateStop): string {
  if (stop.reason === 'interrupted') return 'interrupted';
  if (stop.reason === 'budget') return `the time budget (${stop.budgetSec} s) is spent`;
  return `mutant ${stop.mutant}: ${stop.kind}: ${stop.headline}`;
}

export async function readState(dir: string): Promise<MutateState | undefined> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8').catch(() => 'null')) ?? undefined;
}

async function writeState(dir: string, state: MutateState): Promise<void> {
  await writeFile(join(dir, 'state.json.tmp'), JSON.stringify(state, null, 2) + '\n');
  await rename(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

/** The series directory of one mutant: the series' patches, then the mutant as one more mail. */
async function mutantSeries(ctx: MutateContext, mutant: Mutant): Promise<string> {
  const dir = join(ctx.dir, 'mutants', mutant.id);
  await makeDirs(dir);
  const names: string[] = [];
  for (const [k, p] of ctx.series.patches.entries()) {
    const name = `${String(k + 1).padStart(4, '0')}-${basename(p.path)}`;
    await copyFile(p.path, join(dir, name));
    names.push(name);
  }
  const mutantName = `${String(names.length + 1).padStart(4, '0')}-mutant-${mutant.id}.patch`;
  await writeFile(join(dir, mutantName), mutantMail(mutant));
  await writeFile(join(dir, 'mutant.diff'), mutant.diff);
  // The series' own base and tests, so each mutant runs on the kernel the series names.
  await writeFile(join(dir, 'series.json'), JSON.stringify({ ...ctx.series.manifest, subject: `mutant ${mutant.id} of ${ctx.series.name}`, cover: undefined, patches: [...names, mutantName] }, null, 2) + '\n');
  return dir;
}

/**
 * Runs the mutants not yet in the state (so a second call resumes), saving the state after each.
 * Returns the state; stops early on Ctrl-C, the time budget, or a run that could not go on.
 */
export async function runMutants(ctx: MutateContext, mutants: readonly Mutant[]): Promise<MutateState & { stopped?: MutateStop }> {
  await makeDirs(ctx.dir);
  const state: MutateState = (await readState(ctx.dir)) ?? { series: ctx.series.name, planned: mutants.map((m) => m.id), results: [] };
  state.planned = mutants.map((m) => m.id);
  await writeState(ctx.dir, state);
  const started = Date.now();
  for (const mutant of mutants) {
    if (state.results.some((r) => r.id === mutant.id)) continue;
    if (ctx.signal?.aborted) return { ...state, stopped: { reason: 'interrupted' } };
    if (ctx.timeBudgetSec !== undefined && (Date.now() - started) / 1000 > ctx.timeBudgetSec) return { ...state, stopped: { reason: 'budget', budgetSec: ctx.timeBudgetSec } };
    const t0 = Date.now();
    const seriesDir = await mutantSeries(ctx, mutant);
    const runDir = join(seriesDir, 'run');
    const plan = await planRun({ ...ctx.options, series: seriesDir, runDir, noSeries: false }, ctx.repoRoot, ctx.repoRoot, process.env, availableParallelism());
    const outcome = await runPipeline(plan, { exec: ctx.exec, events: ctx.events, signal: ctx.signal });
    if (outcome.kind === 'interrupted') return { ...state, stopped: { reason: 'interrupted' } };
    const verdict = classify(outcome);
    if (!verdict) return { ...state, stopped: { reason: 'failed', mutant: mutant.id, kind: outcome.kind, headline: outcome.headline.split('\n')[0]! } };
    const result: MutantResult = { id: mutant.id, ...verdict, runDir, seconds: Math.round((Date.now() - t0) / 100) / 10 };
    state.results.push(result);
    await writeState(ctx.dir, state);
    ctx.onResult?.(mutant, result);
  }
  return state;
}
