// Each mutant through the normal pipeline, one after another on one cache: the series plus the mutant
// as one more patch, an incremental build (one object), a boot, the selected tests. Classified by the outcome.
// Every mutant's plan is the baseline's with the mutant's series; a kernel and tests byte-identical to an earlier
// run's (the same boot key) take that run's verdict, and one identical to the baseline's is an equivalent mutant.
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError, type OutcomeKind } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import { variantPlan, type RunPlan, type VerdictInputs } from '../plan/run-plan.ts';
import { firstFailure } from '../results/assemble.ts';
import type { TestNode } from '../results/tree.ts';
import { runPipeline, type RunDeps, type RunOutcome, type TestedRun } from '../run.ts';
import { loadSeries } from '../series/series.ts';
import { mutantMail, type Mutant } from './mutants.ts';

export type MutantStatus = 'killed' | 'survived' | 'timeout' | 'not-compiled' | 'equivalent' | 'error';

/** What a verdict was judged on, as far as the run got: the kernel built and the one that booted (equal, or no verdict). */
export interface JudgedOn {
  /** GNU build ID of the vmlinux built. */
  built?: string;
  /** The build ID the guest reported; for a reused verdict, the earlier run's guest's (the same kernel). */
  booted?: string;
  bzImageSha256?: string;
  /** git tree id of the source (series and mutant applied), and the .config's sha256. */
  tree?: string;
  config?: string;
  /** The run's reuse key (identity.ts reuseKey): kernel, image, init, test binaries, VM shape. */
  bootKey?: string;
}

/** Which run a mutant's verdict was reused from: the baseline's label, or a mutant's id. */
export const BASELINE = 'baseline';

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
  /** The kernel and tests this verdict is about; absent when the run stopped before a kernel was built. */
  identity?: JudgedOn;
  /** The verdict is this earlier run's (the baseline, or a mutant's id): its kernel and tests were byte-identical. */
  reusedFrom?: string;
  runDir: string;
  seconds: number;
}

export function judgedOn(outcome: Pick<RunOutcome, 'tested' | 'identity'>): JudgedOn | undefined {
  const identity = outcome.tested?.identity ?? outcome.identity;
  if (!identity) return undefined;
  const k = identity.kernel;
  return {
    ...(k.built ? { built: k.built } : {}), ...(k.booted ? { booted: k.booted } : {}), bzImageSha256: k.bzImageSha256,
    tree: identity.tree, config: identity.config, ...(outcome.tested ? { bootKey: outcome.tested.bootKey } : {}),
  };
}

const buildIdOf = (on: JudgedOn | undefined) => (on?.built ? `build ID ${on.built}` : `build ID unknown; bzImage sha256 ${on?.bzImageSha256 ?? 'unknown'}`);

/**
 * What a run's ending says about a mutant; undefined: the run itself could not go on (stop). A kernel and tests
 * byte-identical to the baseline's (its boot key and build ID) are an equivalent mutant: the change did not reach
 * the kernel, so no test could notice it. A verdict reused from another mutant says which.
 */
export function classify(outcome: Pick<RunOutcome, 'kind' | 'headline' | 'tested' | 'identity'>, baseline?: Pick<TestedRun, 'bootKey' | 'identity'> & Partial<Pick<TestedRun, 'verdict'>>): Omit<MutantResult, 'id' | 'runDir' | 'seconds'> | undefined {
  const identity = judgedOn(outcome);
  const judged = noticedBySkips(classifyEnding(outcome), outcome, baseline);
  if (!judged) return undefined;
  const withIdentity = { ...judged, ...(identity ? { identity } : {}) };
  const tested = outcome.tested;
  if (tested && baseline && tested.bootKey === baseline.bootKey && tested.identity.kernel.built === baseline.identity.kernel.built) {
    return {
      ...withIdentity, status: 'equivalent', killedBySelftest: false, killedByAll: false, reusedFrom: BASELINE,
      reason: `equivalent: its kernel is byte-identical to the baseline's (${buildIdOf(identity)})`,
    };
  }
  if (tested?.reusedFrom) return { ...withIdentity, reusedFrom: tested.reusedFrom, reason: `${judged.reason} (reused from ${tested.reusedFrom}: byte-identical kernel, ${buildIdOf(identity)})` };
  return withIdentity;
}

/** Every leaf of a result tree with its path (suite/case, test_progs/test/subtest). */
function leaves(nodes: readonly TestNode[], path: string[] = []): { path: string; node: TestNode; top: string }[] {
  return nodes.flatMap((n) => n.children.length
    ? leaves(n.children, [...path, n.name]).map((l) => ({ ...l, top: path[0] ?? n.name }))
    : [{ path: [...path, n.name].join('/'), node: n, top: path[0] ?? n.name }]);
}

/**
 * A mutant that made a case skip which passed on the baseline was noticed: the case's own feature probe
 * changed its answer (a whole-value compare made EINVAL read as "the kernel lacks BPF_F_COMPARE"). Only
 * a run that otherwise passed is judged again; every such case is named.
 */
function noticedBySkips(judged: ReturnType<typeof classifyEnding>, outcome: Pick<RunOutcome, 'tested'>, baseline?: Partial<Pick<TestedRun, 'verdict'>>): ReturnType<typeof classifyEnding> {
  if (!judged || judged.status !== 'survived' || !baseline?.verdict || !outcome.tested) return judged;
  const ran = new Set(leaves(baseline.verdict.tree.tests).filter((l) => l.node.status === 'pass').map((l) => l.path));
  const skipped = leaves(outcome.tested.verdict.tree.tests).filter((l) => l.node.status === 'skip' && ran.has(l.path));
  if (skipped.length === 0) return judged;
  const first = skipped[0]!;
  const bySelftest = skipped.some((l) => l.top === 'test_progs' || l.top === 'test_progs-targeted');
  return {
    ...judged, status: 'killed', killedBySelftest: bySelftest, killedByAll: true,
    reason: `${first.path} passed on the baseline and skipped here${first.node.directive?.reason ? ` (${first.node.directive.reason})` : ''}${skipped.length > 1 ? `; ${skipped.length - 1} more case(s) the same` : ''}`,
  };
}

function classifyEnding(outcome: Pick<RunOutcome, 'kind' | 'headline' | 'tested'>): Omit<MutantResult, 'id' | 'runDir' | 'seconds'> | undefined {
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

/** What a mutate run's verdicts hold for: a resumed run keeps them only when its own are equal. */
export interface MutateValidity {
  /** The series' content hash (its patches' bytes, in order): mutant ids and diffs are about it. */
  series: string;
  /** The plan's fields a verdict depends on (verdictInputs). */
  plan: VerdictInputs;
  /** The baseline every mutant is judged against: its kernel's build ID and its boot key. Known once it ran. */
  baseline?: { built?: string; bootKey: string };
}

export interface MutateState {
  series: string;
  /** What the results are valid for; absent in a state written before vm-test recorded it. */
  validFor?: MutateValidity;
  /** The mutants chosen for this run (after --max and --shard), in order. */
  planned: string[];
  results: MutantResult[];
}

/** What makes a mutate directory's verdicts not hold for this run, one phrase each; empty: they hold. */
export function resumeConflicts(recorded: MutateValidity | undefined, now: MutateValidity): string[] {
  if (!recorded) return ['its state.json does not say what its verdicts are valid for (written by an earlier vm-test)'];
  const out: string[] = [];
  if (recorded.series !== now.series) out.push(`series: ${recorded.series} -> ${now.series}`);
  const fields = [...new Set([...Object.keys(recorded.plan), ...Object.keys(now.plan)])] as (keyof VerdictInputs)[];
  for (const f of fields) if (recorded.plan[f] !== now.plan[f]) out.push(`${f}: ${recorded.plan[f] ?? '(not recorded)'} -> ${now.plan[f] ?? '(none)'}`);
  const [was, is] = [recorded.baseline, now.baseline];
  if (was && is && (was.bootKey !== is.bootKey || was.built !== is.built)) {
    out.push(`the baseline's kernel and tests: build ID ${was.built ?? 'unknown'} (boot key ${was.bootKey.slice(0, 16)}) -> build ID ${is.built ?? 'unknown'} (boot key ${is.bootKey.slice(0, 16)})`);
  }
  return out;
}

/** The refusal to resume a directory whose verdicts were judged under other inputs (exit 2). */
export function resumeRefusal(dir: string, conflicts: readonly string[]): VmTestError {
  return new VmTestError('usage', `--resume ${dir}: its verdicts do not hold for this run: ${conflicts.join('; ')}. Resume with the series and options it was started with, or start a new run (without --resume)`, { file: join(dir, 'state.json') });
}

export interface MutateContext {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  /** The baseline's plan, planned once from the user's directory; each mutant's is this one with its series and run directory. */
  plan: RunPlan;
  /** The baseline's tested run: a mutant whose kernel and tests are byte-identical to it is equivalent. */
  baseline: TestedRun;
  /** What these verdicts hold for (the baseline included); a state recorded for anything else is refused. */
  validFor: MutateValidity;
  /** Where mutants, their runs and state.json live. */
  dir: string;
  /** Stop starting mutants after this many seconds. */
  timeBudgetSec?: number;
  onResult?: (mutant: Mutant, result: MutantResult) => void;
  /** The pipeline (a fake in unit tests). */
  run?: (plan: RunPlan, deps: RunDeps) => Promise<RunOutcome>;
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
  const series = ctx.plan.series!;
  const dir = join(ctx.dir, 'mutants', mutant.id);
  await makeDirs(dir);
  const names: string[] = [];
  for (const [k, p] of series.patches.entries()) {
    const name = `${String(k + 1).padStart(4, '0')}-${basename(p.path)}`;
    // A mail of a one-file series (an .mbx) is its own bytes, not the whole file.
    if (p.bytes) await writeFile(join(dir, name), p.bytes);
    else await copyFile(p.path, join(dir, name));
    names.push(name);
  }
  const mutantName = `${String(names.length + 1).padStart(4, '0')}-mutant-${mutant.id}.patch`;
  await writeFile(join(dir, mutantName), mutantMail(mutant));
  await writeFile(join(dir, 'mutant.diff'), mutant.diff);
  // For a reader of the directory: the run itself takes the kernel and tests from the baseline's plan.
  await writeFile(join(dir, 'series.json'), JSON.stringify({ ...series.manifest, subject: `mutant ${mutant.id} of ${series.name}`, cover: undefined, patches: [...names, mutantName] }, null, 2) + '\n');
  return dir;
}

/**
 * Runs the mutants not yet in the state (so a second call resumes), saving the state after each.
 * Returns the state; stops early on Ctrl-C, the time budget, or a run that could not go on. A state whose
 * verdicts were judged under another series, plan or baseline is refused (resumeRefusal), never mixed in.
 */
export async function runMutants(ctx: MutateContext, mutants: readonly Mutant[]): Promise<MutateState & { stopped?: MutateStop }> {
  const series = ctx.plan.series;
  if (!series) throw new VmTestError('usage', 'vm-test mutate needs a series (--series REV)');
  await makeDirs(ctx.dir);
  const recorded = await readState(ctx.dir);
  if (recorded) {
    const conflicts = resumeConflicts(recorded.validFor, ctx.validFor);
    if (conflicts.length) throw resumeRefusal(ctx.dir, conflicts);
  }
  const state: MutateState = { series: series.name, validFor: ctx.validFor, planned: mutants.map((m) => m.id), results: recorded?.results ?? [] };
  await writeState(ctx.dir, state);
  const run = ctx.run ?? runPipeline;
  // Verdicts by boot key, the baseline's first: a byte-identical kernel and tests boot no VM.
  const seen = new Map<string, TestedRun & { label: string }>([[ctx.baseline.bootKey, { ...ctx.baseline, label: BASELINE }]]);
  const deps: RunDeps = {
    exec: ctx.exec, events: ctx.events, ...(ctx.signal ? { signal: ctx.signal } : {}),
    reuse: async (key) => {
      const earlier = seen.get(key);
      return earlier && { ...earlier, reusedFrom: earlier.label };
    },
  };
  const started = Date.now();
  for (const mutant of mutants) {
    if (state.results.some((r) => r.id === mutant.id)) continue;
    if (ctx.signal?.aborted) return { ...state, stopped: { reason: 'interrupted' } };
    if (ctx.timeBudgetSec !== undefined && (Date.now() - started) / 1000 > ctx.timeBudgetSec) return { ...state, stopped: { reason: 'budget', budgetSec: ctx.timeBudgetSec } };
    const t0 = Date.now();
    const seriesDir = await mutantSeries(ctx, mutant);
    const mutantPlan = variantPlan(ctx.plan, { series: await loadSeries(seriesDir, join(ctx.plan.repoRoot, 'patches')), runDir: join(seriesDir, 'run') });
    const outcome = await run(mutantPlan, deps);
    if (outcome.kind === 'interrupted') return { ...state, stopped: { reason: 'interrupted' } };
    const tested = outcome.tested;
    if (tested && !tested.reusedFrom && !seen.has(tested.bootKey)) seen.set(tested.bootKey, { ...tested, label: mutant.id });
    const verdict = classify(outcome, ctx.baseline);
    if (!verdict) return { ...state, stopped: { reason: 'failed', mutant: mutant.id, kind: outcome.kind, headline: outcome.headline.split('\n')[0]! } };
    const result: MutantResult = { id: mutant.id, ...verdict, runDir: outcome.runDir, seconds: Math.round((Date.now() - t0) / 100) / 10 };
    state.results.push(result);
    await writeState(ctx.dir, state);
    ctx.onResult?.(mutant, result);
  }
  return state;
}
