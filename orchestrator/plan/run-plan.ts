// A run is planned before anything touches disk: argv and the repo's files resolve into one validated, immutable plan.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheLayout, resolveCacheRoot, type CacheLayout } from '../cache.ts';
import { describeParseError, parseFragment, KconfigRequest, type KconfigFragment } from '../kconfig/kconfig.ts';
import { SELFTESTS_CONFIGS, SELFTESTS_DIR } from '../build/full-selftests-build.ts';
import { VmTestError } from '../outcome.ts';
import { dirProblem, outputFileProblem } from '../paths.ts';
import { FALLBACK_KERNEL, describeKernelSpec, parseKernelSpec, type KernelSpec } from '../source/kernel-spec.ts';
import { loadLoreSeries, loadSeries, resolveSeriesDir, type Series } from '../series/series.ts';
import { LORE_PREFIX, describeLoreReport, isLoreSpec, parseLoreSpec, type LoreRequest } from '../series/lore.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import type { RunEvents } from '../events.ts';
import { ensureHostTools } from '../host/host-tools.ts';
import { selectSuites } from '../guest/guest-suites.ts';
import { describeSelection, hasTestProgs, shellQuote, type TestProgsSelection } from '../guest/guest-plan.ts';
import { readAllowlist, type Allowlist } from '../results/splat-allowlist.ts';
import { CI_WATCHDOG_SEC, VM_TEST_DENYLIST, parseDenyList, runnerKind, type RunnerName } from '../build/selftests-runners.ts';
import { shardLabel, shardRunners, type ShardSpec } from '../bpf-ci/bpf-ci-shard.ts';

/** What the guest does once the kernel is up: the tests (run), one command (exec), or a shell for the terminal. */
export type GuestJob =
  | { kind: 'tests' }
  | { kind: 'exec'; argv: readonly string[]; /** shared read-write at the same path in the guest, and the command's directory */ cwd: string | undefined }
  | { kind: 'shell'; rows: number; cols: number };

export interface RunOptions {
  job?: GuestJob;
  /** QEMU's gdbstub on a unix socket; gdbWait: the CPUs start stopped. */
  gdb?: boolean;
  gdbWait?: boolean;
  kernel?: string;
  series?: string;
  /** With --series lore:<message-id>: the thread from this mbox file (b4 am -m), not from lore. */
  loreMbox?: string;
  noSeries?: boolean;
  patches?: number;
  kconfig?: string[];
  testProgs?: string[];
  /** test_progs -a globs and -d globs, and a DENYLIST-format file, as the BPF CI passes them. */
  testProgsAllow?: string[];
  testProgsDeny?: string[];
  denylist?: string;
  /** Glob over guest suite names; 'none' runs none. */
  guestTests?: string;
  cacheDir?: string;
  runDir?: string;
  jobs?: number;
  accel?: 'auto' | 'kvm' | 'tcg';
  timeout?: number;
  testTimeout?: number;
  cpus?: number;
  memory?: number;
  json?: string;
  junit?: string;
  /** A KCIDB v5.3 submission of the run, written to this file. */
  kcidb?: string;
  allowlist?: string;
  noCcache?: boolean;
  refreshSource?: boolean;
  /** With a local git tree: test its HEAD only, not its uncommitted changes. */
  committed?: boolean;
  /** Drop test_progs tests this tree does not have yet (bisecting patch prefixes), instead of stopping. */
  allowMissingTests?: boolean;
  /** The tree's own selftests build (config, modules, BPF objects, bpf_testmod) instead of the targeted test_progs. */
  fullSelftests?: boolean;
  /** What the BPF CI runs (vm-test bpf-ci): these runners of the full selftests build, with the tree's and vm-test's lists. */
  runners?: readonly RunnerName[];
  /** test_progs -w: a test running longer is stopped and failed. */
  watchdogSec?: number;
  /** A build directory of its own for this config (vm-test bpf-ci's base), so the series' stays warm. */
  buildSlot?: string;
  /** vm-test bpf-ci --shard i/n: this slice of the runners' tests (bpf-ci-shard.ts). */
  shard?: ShardSpec;
  /** vm-test bpf-ci --workers N: test_progs --workers=N (its -j: N processes in the guest, the serial tests after). */
  workers?: number;
  /** vm-test bpf-ci: a runner's own limit in seconds, in place of testTimeout (test_maps under TCG needs longer). */
  runnerTimeouts?: Readonly<Partial<Record<RunnerName, number>>>;
}

export interface RunPlan {
  readonly job: GuestJob;
  readonly gdb: { wait: boolean } | undefined;
  readonly repoRoot: string;
  readonly kernel: KernelSpec;
  readonly series: Series | undefined;
  readonly fragments: readonly KconfigFragment[];
  readonly kconfig: KconfigRequest;
  /** The -t names (the series manifest's without -t or -a). */
  readonly testProgs: readonly string[];
  /** Everything that selects test_progs tests: -t, -a, -d, --denylist. */
  readonly testProgsSelection: TestProgsSelection;
  readonly guestTests: string | undefined;
  readonly cache: CacheLayout;
  readonly runDir: string | undefined;
  readonly jobs: number;
  readonly accel: 'auto' | 'kvm' | 'tcg';
  readonly timeoutSec: number;
  readonly testTimeoutSec: number;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly jsonOut: string | undefined;
  readonly junitOut: string | undefined;
  readonly kcidbOut: string | undefined;
  readonly allowlist: string | undefined;
  /** The allowlist's entries, checked when planning: a bad entry stops the run before any build. */
  readonly allowlistRules: Allowlist | undefined;
  readonly ccache: boolean;
  readonly refreshSource: boolean;
  readonly committed: boolean;
  readonly allowMissingTests: boolean;
  readonly fullSelftests: boolean;
  /** vm-test bpf-ci: the runners, each a test of its own; undefined for a run (the full test_progs alone). */
  readonly runners: readonly RunnerName[] | undefined;
  /** vm-test bpf-ci --shard i/n: the runners' tests this shard runs; the build is the unsharded run's. */
  readonly shard: ShardSpec | undefined;
  /** test_progs --workers=N for the BPF CI's test_progs runners; undefined: one process. */
  readonly workers: number | undefined;
  /** A runner's own limit where it has one; the others get testTimeoutSec. */
  readonly runnerTimeoutsSec: Readonly<Partial<Record<RunnerName, number>>> | undefined;
  readonly watchdogSec: number | undefined;
  readonly buildSlot: string | undefined;
}

/** The series as posted; its manifest names the kernel it is tested on by default. */
export const DEFAULT_SERIES = 'bpf-f-compare/v1';
/** The fragments every run merges, in order; --kconfig adds more (a name in kernel-config/ or a path). */
export const BASE_FRAGMENTS = ['vm', 'bpf'];
/** After the base fragments, except with --full-selftests: what the default kernel leaves out. */
export const SLIM_FRAGMENT = 'slim';

export function fragmentPath(repoRoot: string, name: string, cwd: string): string {
  if (name.includes('/') || name.endsWith('.config')) return resolve(cwd, name);
  return join(repoRoot, 'kernel-config', `${name}.config`);
}

/** What planning may use beyond files: the exec port and events for fetching a lore: series (b4 am), the one input planning fetches. */
export interface PlanDeps {
  exec?: ExecPort;
  events?: RunEvents;
  signal?: AbortSignal;
}

/** A lore: series asked for, checked before any work: its message id, and the local mbox when one stands in for lore. */
function loreRequest(options: RunOptions, cwd: string): LoreRequest | undefined {
  if (options.loreMbox !== undefined && !isLoreSpec(options.series)) throw new VmTestError('usage', `--lore-mbox ${options.loreMbox}: only with --series lore:<message-id>`);
  if (!isLoreSpec(options.series) || options.noSeries || options.patches === 0) return undefined;
  const messageId = parseLoreSpec(options.series);
  if (options.loreMbox === undefined) return { messageId };
  const localMbox = resolve(cwd, options.loreMbox);
  if (!existsSync(localMbox)) throw new VmTestError('usage', `--lore-mbox ${options.loreMbox}: no such file (${localMbox})`, { file: localMbox });
  return { messageId, localMbox };
}

export async function planRun(options: RunOptions, repoRoot: string, cwd: string, env: NodeJS.ProcessEnv, nproc: number, deps: PlanDeps = {}): Promise<RunPlan> {
  if (options.patches !== undefined && (!Number.isInteger(options.patches) || options.patches < 0)) {
    throw new VmTestError('usage', `--patches ${options.patches}: expected a whole number of patches to apply (0 = none)`);
  }
  const patchesRoot = join(repoRoot, 'patches');
  // A lore: series is checked here, and fetched last, once every other option is known to be good.
  const lore = loreRequest(options, cwd);
  const seriesDir = isLoreSpec(options.series) ? join(patchesRoot, DEFAULT_SERIES) : resolveSeriesDir(options.series ?? DEFAULT_SERIES, patchesRoot, cwd);
  let series = options.noSeries || options.patches === 0 || lore ? undefined : await loadSeries(seriesDir, patchesRoot, options.patches);
  // Without --kernel: the base the series' manifest names; for a series without one (or a pristine
  // run), the default series' base, the newest kernel the posted series is checked on.
  const baseOf = async (dir: string) => (await loadSeries(dir, patchesRoot).catch(() => undefined))?.manifest.base?.kernel;
  const manifestKernel = series ? series.manifest.base?.kernel : await baseOf(seriesDir);
  const kernelText = options.kernel ?? manifestKernel ?? await baseOf(join(patchesRoot, DEFAULT_SERIES)) ?? FALLBACK_KERNEL;
  const kernel = parseKernelSpec(kernelText, cwd);
  if ('error' in kernel) throw new VmTestError('usage', options.kernel || !manifestKernel ? kernel.error : `${join(seriesDir, 'series.json')}: base.kernel: ${kernel.error}`);

  // The runners come from the full selftests build.
  const fullSelftests = options.fullSelftests || !!options.runners?.length;
  const fragments: KconfigFragment[] = [];
  for (const name of [...BASE_FRAGMENTS, ...(fullSelftests ? [] : [SLIM_FRAGMENT]), ...(options.kconfig ?? [])]) {
    const path = fragmentPath(repoRoot, name, cwd);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) throw new VmTestError('usage', `--kconfig ${name}: no such fragment (${path})`, { file: path });
    const { fragment, errors } = parseFragment(path, text);
    if (errors.length > 0) {
      const e = errors[0]!;
      throw new VmTestError('usage', describeParseError(e), { file: e.file, line: e.line });
    }
    fragments.push(fragment);
  }

  // The runners run every test their lists leave in, unless -t or -a narrows them.
  const allow = options.testProgsAllow ?? (options.runners?.length && !options.testProgs ? ['*'] : []);
  const deny = options.testProgsDeny ?? [];
  // The manifest's tests unless the selection names its own (-t or -a).
  const testProgs = (options.testProgs ?? (allow.length ? [] : series?.manifest.tests?.test_progs ?? ['map_cmp_delete'])).filter((t) => t !== 'none');
  for (const [flag, names] of [['--test-progs', testProgs], ['--allow', allow], ['--deny', deny]] as const) {
    for (const t of names) {
      if (!/^[A-Za-z0-9_/*-]+$/.test(t)) throw new VmTestError('usage', `${flag} ${t}: a test_progs test name or glob has only letters, digits, _, -, / and *`);
    }
  }
  const denylist = options.denylist ? await readDenylist(resolve(cwd, options.denylist)) : undefined;
  const testProgsSelection: TestProgsSelection = { test: testProgs, allow, deny, ...(denylist ? { denylist } : {}) };
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0) throw new VmTestError('usage', `--${name} ${value}: expected a positive number`);
    return v;
  };
  const allowlistPath = options.allowlist ? resolve(cwd, options.allowlist) : undefined;
  const allowlistRules = allowlistPath ? await readAllowlist(allowlistPath) : undefined;
  const guestTests = options.guestTests === 'none' ? undefined : options.guestTests ?? '*';
  // Checked here, so that --dry-run shows it and nothing is built for a run that cannot test anything.
  if (guestTests) selectSuites(guestTests);
  const job = options.job ?? { kind: 'tests' };
  if (job.kind === 'tests' && !hasTestProgs(testProgsSelection) && !guestTests) throw new VmTestError('usage', 'nothing to run: --test-progs none and --guest-tests none select no test');
  if (job.kind === 'exec' && job.argv.length === 0) throw new VmTestError('usage', 'vm-test exec needs a command: vm-test exec [options] -- CMD [ARGS...]');
  const paths = await checkOutputPaths(options, cwd, env);
  if (lore) series = await fetchLore(lore, deps, cacheLayout(paths.cacheRoot), patchesRoot, options.patches);
  return Object.freeze({
    job,
    gdb: options.gdb || options.gdbWait ? { wait: options.gdbWait ?? false } : undefined,
    repoRoot,
    kernel,
    series,
    fragments,
    kconfig: new KconfigRequest(fragments),
    testProgs,
    testProgsSelection,
    guestTests,
    cache: cacheLayout(paths.cacheRoot),
    runDir: paths.runDir,
    jobs: positive('jobs', options.jobs, nproc + 1),
    accel: options.accel ?? 'auto',
    timeoutSec: positive('timeout', options.timeout, 900),
    testTimeoutSec: positive('test-timeout', options.testTimeout, 300),
    cpus: positive('cpus', options.cpus, Math.min(2, nproc)),
    memoryMb: positive('memory', options.memory, 1024),
    jsonOut: paths.jsonOut,
    junitOut: paths.junitOut,
    kcidbOut: paths.kcidbOut,
    allowlist: allowlistPath,
    allowlistRules,
    ccache: !options.noCcache,
    refreshSource: options.refreshSource ?? false,
    committed: options.committed ?? false,
    allowMissingTests: options.allowMissingTests ?? false,
    fullSelftests,
    runners: options.runners?.length ? [...options.runners] : undefined,
    watchdogSec: options.runners?.length ? positive('watchdog', options.watchdogSec, CI_WATCHDOG_SEC) : undefined,
    buildSlot: options.buildSlot,
    shard: options.shard && options.runners?.length ? { ...options.shard } : undefined,
    workers: options.workers !== undefined && options.runners?.length ? positive('workers', options.workers, 1) : undefined,
    runnerTimeoutsSec: options.runners?.length && options.runnerTimeouts
      ? Object.freeze(Object.fromEntries(Object.entries(options.runnerTimeouts).map(([name, sec]) => [name, positive(`test-timeout of ${name}`, sec, 1)])))
      : undefined,
  });
}

/**
 * The lore: series, fetched with b4 am into <cache>/lore (b4 installed first when missing, as the host stage installs
 * tools). Planning fetches it because the plan is keyed on the patches' bytes, which only the fetch knows.
 */
async function fetchLore(request: LoreRequest, deps: PlanDeps, cache: CacheLayout, patchesRoot: string, limit: number | undefined): Promise<Series> {
  // A command that plans without them (bisect-run, whose revisions are directories) does not take a lore: series.
  if (!deps.exec || !deps.events) throw new VmTestError('usage', `--series ${LORE_PREFIX}${request.messageId}: this command takes a series from patches/, a directory or an mbox file, not from lore`);
  const { exec, events } = deps;
  events.emit({ type: 'info', stage: 'plan', message: `fetching ${LORE_PREFIX}${request.messageId} with b4 am${request.localMbox ? ` from ${request.localMbox}` : ''}` });
  const series = await loadLoreSeries({
    exec, loreRoot: join(cache.root, 'lore'), ...(deps.signal ? { signal: deps.signal } : {}),
    ensureB4: (logFile) => ensureHostTools({ exec, events }, logFile, { lore: true }),
  }, request, patchesRoot, limit);
  for (const message of describeLoreReport(series.lore!, undefined).warnings) events.emit({ type: 'warn', stage: 'plan', message });
  return series;
}

/**
 * One planned run's plan for another series (a mutant, a bisect step): nothing is resolved again, so a relative
 * --kernel, --kconfig, --allowlist or --denylist names what it named from the user's directory, and the kernel
 * and the tests stay the planned run's.
 */
export function variantPlan(plan: RunPlan, variant: { series: Series | undefined; runDir: string | undefined }): RunPlan {
  return Object.freeze({ ...plan, series: variant.series, runDir: variant.runDir });
}

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * The plan's fields a verdict on a series depends on, each as a readable value: the kernel asked for, its config,
 * the tests, what judges them (allowlist, time limits) and the VM's shape. The series itself is keyed apart, by its
 * hash. A resumed mutate run keeps its verdicts only when these are equal.
 */
const VERDICT_INPUTS = {
  kernel: (p) => describeKernelSpec(p.kernel),
  committed: (p) => String(p.committed),
  fragments: (p) => p.fragments.map((f) => f.file).join(', '),
  kconfig: (p) => `${p.kconfig.base}: ${p.kconfig.entries.size} options, ${p.kconfig.hash()}`,
  fullSelftests: (p) => String(p.fullSelftests),
  testProgs: (p) => p.testProgs.join(', ') || 'none',
  testProgsSelection: (p) => {
    const { denylist, ...globs } = p.testProgsSelection;
    return JSON.stringify({ ...globs, ...(denylist ? { denylist: `${denylist.file} (${denylist.entries.length} entries, ${short(denylist.entries.join('\n'))})` } : {}) });
  },
  allowMissingTests: (p) => String(p.allowMissingTests),
  guestTests: (p) => p.guestTests ?? 'none',
  allowlist: (p) => p.allowlist ?? 'none',
  allowlistRules: (p) => (p.allowlistRules ? `${p.allowlistRules.entries.length} entries, ${short(p.allowlistRules.entries.map((e) => e.text).join('\n'))}` : 'none'),
  cpus: (p) => String(p.cpus),
  memoryMb: (p) => String(p.memoryMb),
  timeoutSec: (p) => String(p.timeoutSec),
  testTimeoutSec: (p) => String(p.testTimeoutSec),
  runners: (p) => p.runners?.join(', ') ?? 'none',
  shard: (p) => (p.shard ? shardLabel(p.shard) : 'none'),
  workers: (p) => String(p.workers ?? 'none'),
  runnerTimeoutsSec: (p) => JSON.stringify(p.runnerTimeoutsSec ?? {}),
  watchdogSec: (p) => String(p.watchdogSec ?? 'none'),
  job: (p) => p.job.kind,
  gdb: (p) => (p.gdb ? 'gdbstub, nokaslr' : 'none'),
} satisfies Partial<Record<keyof RunPlan, (plan: RunPlan) => string>>;

/** The rest of a plan: where things go and how fast they are made, or (series) keyed apart. */
export const NOT_VERDICT_INPUTS = ['series', 'repoRoot', 'cache', 'runDir', 'jobs', 'accel', 'jsonOut', 'junitOut', 'kcidbOut', 'ccache', 'refreshSource', 'buildSlot'] as const satisfies readonly (keyof RunPlan)[];

export type VerdictInputs = Record<keyof typeof VERDICT_INPUTS, string>;

export function verdictInputs(plan: RunPlan): VerdictInputs {
  return Object.fromEntries(Object.entries(VERDICT_INPUTS).map(([field, value]) => [field, value(plan)])) as VerdictInputs;
}

/**
 * Where a run writes, checked when it is planned (and under --dry-run): the cache and the run directory can be
 * made and written, and --json/--junit/--kcidb name a writable file in a directory that exists. A bad path is exit 2
 * naming it, not an ENOENT once the run is over, nor a mkdir retried forever (/proc).
 */
export async function checkOutputPaths(options: Pick<RunOptions, 'cacheDir' | 'runDir' | 'json' | 'junit' | 'kcidb'>, cwd: string, env: NodeJS.ProcessEnv): Promise<{ cacheRoot: string; runDir?: string; jsonOut?: string; junitOut?: string; kcidbOut?: string }> {
  const cacheRoot = resolveCacheRoot(options.cacheDir, env);
  const cacheName = options.cacheDir ? `--cache-dir ${options.cacheDir}` : env.VM_TEST_CACHE_DIR ? `VM_TEST_CACHE_DIR=${env.VM_TEST_CACHE_DIR}` : `the cache directory ${cacheRoot}`;
  const at = (path: string | undefined) => (path ? resolve(cwd, path) : undefined);
  const paths = { cacheRoot, runDir: at(options.runDir), jsonOut: at(options.json), junitOut: at(options.junit), kcidbOut: at(options.kcidb) };
  const checks: [string, string | undefined, (path: string) => Promise<string | undefined>][] = [
    [cacheName, cacheRoot, dirProblem],
    [`--run-dir ${options.runDir}`, paths.runDir, dirProblem],
    [`--json ${options.json}`, paths.jsonOut, outputFileProblem],
    [`--junit ${options.junit}`, paths.junitOut, outputFileProblem],
    [`--kcidb ${options.kcidb}`, paths.kcidbOut, outputFileProblem],
  ];
  for (const [name, path, check] of checks) {
    const problem = path === undefined ? undefined : await check(path);
    if (problem) throw new VmTestError('usage', `${name}: ${problem}`, { file: path });
  }
  return paths;
}

/**
 * The command line that makes this run again (a mail's reproducer): the kernel, the series, the fragments added, the
 * tests and the VM's shape when they are not the defaults. Paths as they were given, resolved.
 */
export function reproducerLine(plan: RunPlan): string {
  const sel = plan.testProgsSelection;
  const series = plan.series?.lore ? plan.series.name.replace(/ \(v\d+\)$/, '') : plan.series?.file ?? plan.series?.dir;
  const extra = plan.fragments.map((f) => f.file).filter((f) => !BASE_FRAGMENTS.concat(SLIM_FRAGMENT).some((b) => f.endsWith(`/kernel-config/${b}.config`)));
  const words = [
    'npm', 'run', 'vm-test', '--', ...(plan.job.kind === 'exec' ? ['exec'] : []),
    '--kernel', describeKernelSpec(plan.kernel),
    ...(series ? ['--series', series] : ['--no-series']),
    ...(plan.series?.lore?.localMbox ? ['--lore-mbox', plan.series.lore.localMbox] : []),
    ...extra.flatMap((f) => ['--kconfig', f]),
    ...(plan.fullSelftests && !plan.runners ? ['--full-selftests'] : []),
    ...(sel.test.length ? ['-t', sel.test.join(',')] : hasTestProgs(sel) ? [] : ['-t', 'none']),
    ...sel.allow.flatMap((a) => ['-a', a]),
    ...sel.deny.flatMap((d) => ['-d', d]),
    ...(sel.denylist ? ['--denylist', sel.denylist.file] : []),
    '--guest-tests', plan.guestTests ?? 'none',
    ...(plan.allowlist ? ['--allowlist', plan.allowlist] : []),
    ...(plan.cpus !== 2 ? ['--cpus', String(plan.cpus)] : []),
    ...(plan.memoryMb !== 1024 ? ['--memory', String(plan.memoryMb)] : []),
    ...(plan.job.kind === 'exec' ? ['--', ...plan.job.argv] : []),
  ];
  return words.map(shellQuote).join(' ');
}

export function describePlan(plan: RunPlan): string {
  const lines = [
    `kernel:     ${describeKernelSpec(plan.kernel)}${plan.kernel.kind === 'local' ? (plan.committed ? ' (its HEAD only: --committed)' : ' (the working tree as it is: HEAD plus uncommitted changes, if any)') : ''}`,
    `series:     ${plan.series ? `${plan.series.name} (${plan.series.patches.length} patches, ${plan.series.hash})` : 'none (pristine tree)'}`,
    ...(plan.series?.patches.map((p, i) => `  ${i + 1}. ${p.subject}`) ?? []),
    ...(plan.series?.lore ? [
      `  fetched ${describeLoreReport(plan.series.lore, undefined).info.join('; ')}`,
      ...describeLoreReport(plan.series.lore, undefined).warnings.map((w) => `  warning: ${w}`),
    ] : []),
    ...(plan.series?.baseCommit ? [`  base-commit ${plan.series.baseCommit} (the cover letter's): applied on it when the kernel tree has it, else on the kernel's own commit`] : []),
    plan.fullSelftests
      ? `kconfig:    the tree's ${SELFTESTS_DIR}/{${SELFTESTS_CONFIGS.join(',')}}, then ${plan.fragments.map((f) => f.file).join(', ')}, on the Kconfig defaults`
      : `kconfig:    ${plan.fragments.map((f) => f.file).join(', ')} (${plan.kconfig.entries.size} options, ${plan.kconfig.hash()})`,
    ...(plan.job.kind === 'tests' && plan.runners ? [
      `runners:    ${plan.runners.join(', ')} (the BPF CI's, from the full selftests build)`,
      ...(plan.shard ? [`shard:      ${shardLabel(plan.shard)}: the test_progs tests whose names hash to it, and the whole runners that do (${shardRunners(plan.runners, plan.shard).filter((r) => runnerKind(r) !== 'test_progs').join(', ') || 'none'})`] : []),
      `test_progs: ${describeSelection(plan.testProgsSelection)} -w ${plan.watchdogSec}${plan.workers ? ` --workers=${plan.workers}` : ''}, minus the tree's DENYLIST, DENYLIST.x86_64 and vm-test's ${VM_TEST_DENYLIST}`,
    ] : plan.job.kind === 'tests' ? [
      `test_progs: ${hasTestProgs(plan.testProgsSelection) ? describeSelection(plan.testProgsSelection) : 'none'}${plan.fullSelftests ? ' (full selftests build; the targeted build alongside, compared)' : ''}`,
      `guest:      ${plan.guestTests ? `${selectSuites(plan.guestTests).map((g) => g.name).join(', ')} (matching ${plan.guestTests})` : 'no guest suites'}`,
    ] : plan.job.kind === 'exec' ? [
      `exec:       ${plan.job.argv.join(' ')}${plan.job.cwd ? ` (in ${plan.job.cwd}, shared read-write)` : ''}`,
    ] : [`shell:      an interactive shell on the terminal (${plan.job.cols}x${plan.job.rows})`]),
    ...(plan.gdb ? [`gdb:        QEMU's gdbstub on a unix socket${plan.gdb.wait ? ', CPUs stopped until gdb continues' : ''}; nokaslr`] : []),
    ...(plan.allowlist ? [`allowlist:  ${plan.allowlist} (${plan.allowlistRules?.entries.length ?? 0} entries)`] : []),
    `cache:      ${plan.cache.root}`,
    `run dir:    ${plan.runDir ?? `${plan.cache.runs}/<timestamp>`}`,
    `build:      -j${plan.jobs}${plan.ccache ? ', ccache' : ''}`,
    `vm:         accel=${plan.accel}, ${plan.cpus} vCPUs, ${plan.memoryMb} MiB, timeout ${plan.timeoutSec} s, per test ${plan.testTimeoutSec} s${Object.entries(plan.runnerTimeoutsSec ?? {}).map(([name, sec]) => `, ${name} ${sec} s`).join('')}`,
  ];
  return lines.join('\n');
}

/** A DENYLIST-format file (tools/testing/selftests/bpf/DENYLIST*): a name or glob per line, "#" starts a comment. */
export async function readDenylist(file: string): Promise<{ file: string; entries: string[] }> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new VmTestError('usage', `--denylist ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { file });
  });
  return { file, entries: parseDenyList(text, file).map((e) => e.pattern) };
}
