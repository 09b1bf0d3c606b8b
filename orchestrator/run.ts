// The pipeline: source → series → kconfig+build → guest → vm → results → report, in that order. Each stage's work is in
// its own module; this file orders the stages and records them. Stages emit events; nothing prints.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { machine as hostMachine } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { BUILD_SHARE } from './guest/protocol.ts';
import { readBuildDir } from './build/build-readers.ts';
import { toolchainFingerprint } from './build/build-env.ts';
import { choosePahole, requestsBtf } from './host/newer-pahole.ts';
import { ciDenyList, denyListFile, runnerKind, type RunnerName } from './build/selftests-runners.ts';
import { shardAllowEntries, shardAllowFile, shardLabel, shardOf, shardRunners } from './bpf-ci/bpf-ci-shard.ts';
import { SELFTESTS_CLANG, SELFTESTS_DIR } from './build/full-selftests-build.ts';
import { buildFullSelftests } from './build/full-selftests-build.ts';
import { buildDirFor, buildKernel, type KernelBuild } from './build/kernel-build.ts';
import { TARGETED, startTargetedBuild } from './build/targeted-build.ts';
import type { RunEvents, StageName } from './events.ts';
import type { ExecPort } from './exec/exec-port.ts';
import { guestTestsFor, type GuestBuilds } from './guest/guest-jobs.ts';
import { describeSelection, hasTestProgs, type TestProgsSelection } from './guest/guest-plan.ts';
import { buildGuestSuites, keepSuiteSources } from './guest/guest-suites-build.ts';
import { ensureHostTools, ensureHostToolsLocked } from './host/host-tools.ts';
import { bootedBuildId, checkBooted, reuseKey, sha256File, testHashes, verdictCodeHash, type RunIdentity } from './identity.ts';
import { kernelRequestFor } from './kconfig/kernel-request.ts';
import { acquireLock, holderName } from './lock.ts';
import { VmTestError, type Evidence, type OutcomeKind } from './outcome.ts';
import { describePlan, reproducerLine, type RunPlan } from './plan/run-plan.ts';
import { assembleJob, assembleResults, type Verdict } from './results/assemble.ts';
import { applyAllowlist, attributeSplats, scanSplats } from './results/splats.ts';
import { placeSplats } from './results/console-marks.ts';
import { symbolizeBuilt } from './results/splat-symbols.ts';
import { newTest, type Splat, type TestNode } from './results/tree.ts';
import { describeApplyFailure, describeApplyWarning, seriesRecord, type SeriesRecord } from './series/series.ts';
import { describeKernelSpec } from './source/kernel-spec.ts';
import { resolveSource } from './source/source.ts';
import { describeSeriesBase, prepareTree } from './source/workspace.ts';
import { chooseAccel, gdbStub, installInit, keepBootKernel, kvmProbeFile, machineFor, prepareGuestView } from './vm/boot-inputs.ts';
import { guestUserland } from './host/requirements.ts';
import { bootRecord, fallBackToTcg, keepsMitigations, serialTcg, vmRunRequest, type BootInputs } from './vm/guest-boot.ts';
import { watchTestProgress } from './vm/test-progress.ts';
import { hostTscKhz } from './vm/host-tsc.ts';
import type { KvmProbe } from './vm/kvm-probe.ts';
import type { Accel } from './vm/qemu-args.ts';
import { runVm, type VmOutcome } from './vm/run-vm.ts';

// Moved to their stages' modules; still exported here for importers of run.ts.
export { TARGETED, ensureHostTools, installInit, kernelRequestFor };

export interface RunDeps {
  exec: ExecPort;
  events: RunEvents;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Asked before booting with the reuse key (identity.ts); an earlier result for the same kernel and tests skips the VM. */
  reuse?: (bootKey: string) => Promise<TestedRun | undefined>;
}

/** What a run that reached the VM (or reused an earlier verdict) knows about the tests. */
export interface TestedRun {
  /** reuseKey of the identity: the built kernel, its image, init, the test binaries, the plan and the VM's shape. */
  bootKey: string;
  /** What was tested, with the booted kernel's build ID checked against the built one. */
  identity: RunIdentity;
  verdict: Verdict;
  vm: VmOutcome;
  accel: KvmProbe;
  /** The run directory whose verdict this is, when it was reused. */
  reusedFrom?: string;
  /** vm-test exec: the command's own exit code in the guest. */
  guestExit?: number;
}

export interface StageRecord {
  stage: StageName;
  detail: string;
  status: 'ok' | 'cached' | 'failed';
  elapsedMs: number;
  /** The stage's own summary, or why it failed. */
  result?: string;
}

/** Where the source tested came from (KCIDB's checkout): the --kernel spec, the commit the series went onto, the series. */
export interface CheckoutRecord {
  kernel: string;
  /** The pristine commit: the tree's own, or vm-test's import of a .deb or a non-git tree (then it exists only in the cache). */
  baseCommit?: string;
  /** From the tree's Makefile. */
  version?: string;
  series?: SeriesRecord;
}

/** How the kernel was built (KCIDB's build): the host's architecture (vm-test does not cross-compile), gcc, the fragments. */
export interface BuildRecord {
  arch: string;
  /** gcc --version's first line, as the build's toolchain key has it. */
  compiler?: string;
  /** The config fragments merged, in order (file names without .config). */
  config: string[];
}

/** Every ending of a run, with its evidence. runPipeline returns one for everything but a bug. */
export interface RunOutcome {
  kind: OutcomeKind;
  headline: string;
  evidence: Evidence;
  /** Logs and partial results stay here whatever the ending. */
  runDir: string;
  stages: StageRecord[];
  /** Milliseconds per stage name (a name that ran twice is summed). */
  timings: Record<string, number>;
  /** Present once the guest ran the tests, or a byte-identical earlier run's verdict was reused. */
  tested?: TestedRun;
  /** The kernel tree tested, and the uncommitted changes it held (git diff --stat against HEAD). */
  source?: { description: string; changes?: string };
  /** What was built (and, once the guest reported it, booted), as far as the run got. */
  identity?: RunIdentity;
  checkout?: CheckoutRecord;
  build?: BuildRecord;
}

export function runDirName(now: Date, plan: RunPlan): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
  const what = (plan.series?.name ?? 'pristine').split('/').slice(-2).join('_').replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${stamp}-${what}-${process.pid}`;
}

interface StageLog {
  events: RunEvents;
  /** Once aborted (Ctrl-C, SIGTERM), no stage starts, and one that ends is not taken as done. */
  signal?: AbortSignal;
  timings: Record<string, number>;
  records: StageRecord[];
  /** The kernel tree, once the source stage knows it. */
  source?: RunOutcome['source'];
  identity?: RunIdentity;
  checkout?: CheckoutRecord;
  build?: BuildRecord;
}

async function stage<T>(log: StageLog, name: StageName, detail: string, body: () => Promise<T>, done?: (value: T) => { status?: StageRecord['status']; detail?: string }): Promise<T> {
  const started = Date.now();
  // A stage whose process ignored the signal, or ended just before it, must not let the next one start.
  const stopped = () => {
    if (log.signal?.aborted) throw new VmTestError('interrupted', `${name}: interrupted`);
  };
  stopped();
  log.events.emit({ type: 'stage-start', stage: name, detail });
  const finish = (status: StageRecord['status'], result: string | undefined) => {
    const elapsedMs = Date.now() - started;
    // A stage name can run more than once (build: kernel, then test_progs): its time is the sum.
    log.timings[name] = (log.timings[name] ?? 0) + elapsedMs;
    log.records.push({ stage: name, detail, status, elapsedMs, result });
    log.events.emit({ type: 'stage-end', stage: name, status, elapsedMs, detail: result });
  };
  try {
    const value = await body();
    stopped();
    const end = done?.(value) ?? {};
    finish(end.status ?? 'ok', end.detail);
    return value;
  } catch (error) {
    finish('failed', error instanceof Error ? error.message.split('\n')[0] : String(error));
    throw error;
  }
}

/**
 * The whole run. Every ending is a RunOutcome with its evidence: a stage that cannot go on (a patch
 * that does not apply, a dropped option, a build error, a missing tool, QEMU failing) as well as the
 * verdict on the tests. It throws only on bugs.
 */
export async function runPipeline(plan: RunPlan, deps: RunDeps, prepareRunDir: (dir: string) => void = () => {}): Promise<RunOutcome> {
  const log: StageLog = { events: deps.events, timings: {}, records: [], ...(deps.signal ? { signal: deps.signal } : {}) };
  const runDir = plan.runDir ?? join(plan.cache.runs, runDirName(new Date(), plan));
  const ended = (kind: OutcomeKind, headline: string, evidence: Evidence = {}, tested?: TestedRun): RunOutcome =>
    ({ kind, headline, evidence, runDir, stages: log.records, timings: log.timings, tested, source: log.source, ...(log.identity ? { identity: log.identity } : {}),
      ...(log.checkout ? { checkout: log.checkout } : {}), ...(log.build ? { build: log.build } : {}) });
  try {
    log.checkout = { kernel: describeKernelSpec(plan.kernel), ...(plan.series ? { series: await seriesRecord(plan.series) } : {}) };
    await mkdir(runDir, { recursive: true });
    prepareRunDir(runDir);
    const tested = await runStages(plan, deps, runDir, log);
    return ended(tested.verdict.kind, tested.verdict.headline, {}, tested);
  } catch (error) {
    if (deps.signal?.aborted) return ended('interrupted', 'interrupted; child processes were stopped');
    if (error instanceof VmTestError) return ended(error.kind, error.message, error.evidence);
    throw error;
  }
}

async function runStages(plan: RunPlan, deps: RunDeps, runDir: string, stageLog: StageLog): Promise<TestedRun> {
  const { exec, events, signal } = deps;
  const initPath = await installInit(plan);
  await writeFile(join(runDir, 'plan.txt'), describePlan(plan) + '\n');
  await writeFile(join(runDir, 'reproduce.txt'), reproducerLine(plan) + '\n');
  const log = (name: string) => join(runDir, name);

  await stage(stageLog, 'host', 'checking host tools', () => ensureHostToolsLocked(deps, plan.cache.locks, log('host.log'), { fullSelftests: plan.fullSelftests, lore: !!plan.series?.lore }));
  const locked = await lockedStages(plan, deps, runDir, stageLog, initPath);
  // Marked under the build lock as reading its build directory: no build rewrites the tests under its guest.
  try {
    const { kernel, bzImage, builds } = locked;
    // vm-test bpf-ci: the test_progs runners read the tree's lists and vm-test's, merged after the series stage.
    // With --shard, the runners and the tests of this shard.
    const guestPlan = locked.selection ? { ...plan, testProgsSelection: locked.selection, runners: locked.runners ?? plan.runners } : plan;

    const tests = await guestTestsFor(guestPlan, builds, log('bin'), kernel.buildDir);
    const view = await prepareGuestView(guestPlan, tests, kernel.buildDir, runDir);
    const identity: RunIdentity = { ...stageLog.identity!, tests: await testHashes(tests) };
    stageLog.identity = identity;
    // bpf-ci: what the selftests build skipped is part of the verdict without being part of the boot (selftestsBuildNode).
    const ownsBuild = !plan.shard || shardOf(SELFTESTS_BUILD, plan.shard.count) === plan.shard.index;
    const hostSkips = plan.runners && ownsBuild ? builds.full?.skipped ?? [] : [];
    const bootKey = reuseKey(identity, tests, { cpus: plan.cpus, memoryMb: plan.memoryMb, mitigations: keepsMitigations(plan), ...(serialTcg(plan) ? { singleThreadTcg: true } : {}) }, plan.runners ? await runnerVerdictInputs(exec, hostSkips, builds.full?.skipCauses) : undefined);
    const gdb = await gdbStub(plan.gdb, kernel.buildDir, runDir, events);
    const earlier = plan.job.kind === 'tests' ? await deps.reuse?.(bootKey) : undefined;
    if (earlier) {
      events.emit({ type: 'info', stage: 'vm', message: `kernel (build ID ${identity.kernel.built}) and tests are byte-identical to ${earlier.reusedFrom}'s: reusing its verdict` });
      // This run's identity; the booted build ID is the one the earlier run's guest reported (the same kernel).
      if (earlier.identity.kernel.booted) identity.kernel.booted = earlier.identity.kernel.booted;
      return { ...earlier, identity };
    }

    const machine = await machineFor(runDir, view, events);
    const inputs: BootInputs = { bzImage, initPath, runDir, machine, tscKhz: await hostTscKhz(), view, gdb, tests };
    let accel = await stage(stageLog, 'vm', 'choosing the accelerator', () => chooseAccel(exec, plan, bzImage, machine), (p) => ({ detail: `${p.accel.toUpperCase()}: ${p.reason}` }));
    const boot = (under: Accel) => stage(stageLog, 'vm', `booting ${plan.cpus} vCPUs on ${machine.machine} under ${under.toUpperCase()}`,
      () => runVm(exec, vmRunRequest(plan, inputs, under, events, signal)), bootRecord);
    const unwatch = watchTestProgress(events, tests);
    let vm;
    try {
      vm = await boot(accel.accel).finally(() => gdb && rm(gdb.socket, { force: true }));
      if (vm.kvmFailure && plan.accel === 'auto') {
        accel = await fallBackToTcg(kvmProbeFile(plan), events);
        vm = await boot('tcg');
      }
    } finally {
      unwatch();
    }
    // The guest's init reported the running kernel's build ID: it must be the one built, or there is no verdict.
    const booted = bootedBuildId(await readFile(vm.resultsLog, 'utf8').catch(() => ''));
    if (booted.buildId) identity.kernel.booted = booted.buildId;
    if (booted.release) identity.kernel.release = booted.release;
    if (booted.reported && !booted.buildId) events.emit({ type: 'warn', stage: 'vm', message: `the guest did not report its kernel's build ID (no /sys/kernel/notes); built: ${kernel.buildId}` });
    checkBooted(identity, vm.resultsLog);
    const symbolizer = (splats: Splat[]) => symbolizeBuilt({ exec, events, ...(signal ? { signal } : {}) },
      { vmlinux: join(kernel.buildDir, 'vmlinux'), configPath: kernel.configPath, ran: identity.kernel.built, ...locked.symbols }, splats);

    if (plan.job.kind !== 'tests') {
      const job = tests[0]!.name;
      const verdict = await stage(stageLog, 'results', 'the command\'s exit and the console log', async () => {
        const { resultsText, splats } = await guestOutput(vm, plan, symbolizer);
        return assembleJob({ resultsText, name: job, splats, vm });
      }, (v) => ({ detail: v.headline }));
      return { bootKey, identity, verdict, vm, accel, ...(verdict.guestExit !== undefined ? { guestExit: verdict.guestExit } : {}) };
    }

    const verdict = await stage(stageLog, 'results', 'parsing results and the console log', async () => {
      const { consoleText, resultsText, splats } = await guestOutput(vm, plan, symbolizer);
      const compare = tests.some((t) => t.name === TARGETED) && tests.some((t) => t.name === 'test_progs')
        ? { name: 'targeted-vs-full', reference: 'test_progs', candidate: TARGETED } : undefined;
      // bpf-ci: each part the permissive selftests build skipped is a failed test, so that one the series newly breaks
      // is a new failure against the base, and one the base lacks too is still failing.
      // With --shard, they belong to one shard (by that name's hash, as a whole runner would).
      const hostTests = hostSkips.length ? [selftestsBuildNode(hostSkips, builds.full?.skipCauses)] : [];
      return assembleResults({ resultsText, planned: tests, splats, vm, compare, cpus: { asked: plan.cpus, consoleText }, hostTests });
    }, (v) => ({ detail: v.headline }));

    if (existsSync(log('test_progs.json'))) events.emit({ type: 'info', stage: 'results', message: `test_progs -J output kept in ${log('test_progs.json')}` });
    return { bootKey, identity, verdict, vm, accel };
  } finally {
    await locked.stopReading();
  }
}

/**
 * source → series → kconfig+build → guest suites, under the cache's build lock: what the boot needs, with the
 * run's identity as far as the build knows it.
 */
async function lockedStages(plan: RunPlan, deps: RunDeps, runDir: string, stageLog: StageLog, initPath: string): Promise<{ kernel: KernelBuild; bzImage: string; builds: GuestBuilds; selection?: TestProgsSelection; runners?: RunnerName[]; symbols: SymbolSources; stopReading: () => Promise<void> }> {
  const { exec, events, signal } = deps;
  const log = (name: string) => join(runDir, name);
  const lock = await acquireLock(plan.cache.locks, 'build', (holder) =>
    events.emit({ type: 'info', stage: 'source', message: `waiting for ${holderName(holder)} using this cache to finish its build (one build at a time)` }), signal);
  try {
    const source = await stage(stageLog, 'source', describeKernelSpec(plan.kernel),
      () => resolveSource({ exec, cache: plan.cache, events, logFile: log('source.log'), signal, refresh: plan.refreshSource, committed: plan.committed }, plan.kernel),
      (s) => ({ detail: s.description }));
    stageLog.source = { description: source.description, ...(source.changes ? { changes: source.changes } : {}) };
    stageLog.checkout = { ...stageLog.checkout!, baseCommit: source.pristineCommit, version: source.version };
    if (source.changes) await writeFile(log('changes.txt'), `Uncommitted changes tested (git diff --stat against HEAD):\n${source.changes}\n`);

    const tree = await stage(stageLog, 'series', plan.series ? `${plan.series.name}: git am ${plan.series.patches.length} patches` : 'no series: pristine tree', async () => {
      const prepared = await prepareTree({ exec, cache: plan.cache, logFile: log('series.log'), signal }, source, plan.series);
      if ('failure' in prepared) {
        const f = prepared.failure;
        await writeFile(log('series-failure.txt'), [describeApplyFailure(f, plan.series!.patches.length), '', ...f.output].join('\n') + '\n');
        throw new VmTestError('patchDidNotApply', describeApplyFailure(f, plan.series!.patches.length), {
          file: f.patchFile, line: f.line, logPath: log('series.log'), excerpt: f.output.filter((l) => /error|CONFLICT/.test(l)).slice(0, 10),
        });
      }
      for (const w of prepared.warnings) events.emit({ type: 'warn', stage: 'series', message: describeApplyWarning(w, plan.series!.patches.length) });
      // Said whenever the series names a base: whether it was applied there, or the tree lacks it.
      if (plan.series?.baseCommit) events.emit({ type: prepared.base.missing ? 'warn' : 'info', stage: 'series', message: describeSeriesBase(prepared.base) });
      return prepared;
    }, (t) => ({ status: t.reused ? 'cached' : 'ok', detail: `${t.head.slice(0, 12)} (tree ${t.treeId.slice(0, 12)})` }));

    const request = await kernelRequestFor(plan, tree.worktree, events);
    // A kernel with BTF gets a pahole new enough for the 7.x selftests (the host's, or trixie's in the cache).
    const pahole = requestsBtf(request)
      ? await stage(stageLog, 'host', 'pahole for BTF', () => choosePahole({ exec, aptRoot: join(plan.cache.root, 'apt'), toolsDir: join(plan.cache.root, 'tools'), logFile: log('host.log'), signal, info: (message) => events.emit({ type: 'info', stage: 'host', message }) }),
        (p) => ({ detail: `pahole ${p.version}, ${p.origin}` }))
      : undefined;
    // Asked once: every build's key names the tools' versions.
    const toolchain = await toolchainFingerprint(exec, pahole ? { pahole: pahole.command } : {});
    const gcc = /^gcc: (.*)$/m.exec(toolchain)?.[1];
    stageLog.build = { arch: hostMachine(), ...(gcc && gcc !== 'absent' ? { compiler: gcc } : {}), config: plan.fragments.map((f) => basename(f.file).replace(/\.config$/, '')) };
    // The targeted test_progs is built from the tree alone (tools/include, libbpf), never from the kernel's
    // outputs: it builds while the kernel does, quietly, and reports as its own stage after it.
    // The BPF CI's runners are the full build's; a targeted test_progs has nothing to compare with there.
    const targeted = hasTestProgs(plan.testProgsSelection) && !plan.runners ? startTargetedBuild({
      exec, events, cache: plan.cache, tree, buildDir: buildDirFor(plan.cache, source.id, request, plan.buildSlot), ccache: plan.ccache, toolchain, logFile: log('selftests-build.log'), signal,
      selection: plan.testProgsSelection,
      // exec and shell only put what there is on PATH: a selection this tree lacks is not an error.
      allowMissing: plan.allowMissingTests || plan.fullSelftests || plan.job.kind !== 'tests', allowSkeletons: plan.fullSelftests || plan.job.kind !== 'tests',
      // With --full-selftests it builds after the full build, into the same directory.
      beside: !plan.fullSelftests,
    }) : undefined;
    try {
      const kernel = await stage(stageLog, 'build', `kernel: ${request.entries.size} requested options on ${request.base === 'allno' ? 'allnoconfig' : 'the Kconfig defaults'}, -j${plan.jobs}`,
        () => buildKernel({ exec, events, cache: plan.cache, sourceId: source.id, tree, request, jobs: plan.jobs, ccache: plan.ccache, toolchain, ...(plan.buildSlot ? { slot: plan.buildSlot } : {}), ...(pahole ? { pahole: pahole.command } : {}), version: source.version, logFile: log('build.log'), signal }),
        (k) => ({ status: k.cached ? 'cached' : 'ok', detail: `${k.bzImage}${k.cached ? ' (up to date: nothing rebuilt)' : ''}` }));
      const bzImage = await keepBootKernel(kernel, runDir);
      stageLog.identity = {
        kernel: { ...(kernel.buildId ? { built: kernel.buildId } : {}), image: kernel.imageCheck.holdsBuilt ? 'holds the built vmlinux' : `not checked on the host: ${kernel.imageCheck.problem}`, bzImageSha256: await sha256File(bzImage) },
        tree: tree.treeId, config: await sha256File(kernel.configPath), ...(plan.series ? { series: plan.series.hash } : {}), init: await sha256File(initPath), tests: [],
      };

      const builds: GuestBuilds = {};
      // exec and shell get them too, built as a run builds them: what they find in the build share is this tree's.
      if (plan.fullSelftests) {
        builds.full = await stage(stageLog, 'build', 'full BPF selftests: test_progs, its BPF objects and bpf_testmod.ko (the tree\'s Makefile)',
          () => buildFullSelftests({ exec, events, cache: plan.cache, tree, kernel, jobs: plan.jobs, ccache: plan.ccache, toolchain, ...(pahole ? { pahole: pahole.command } : {}), ...(plan.runners ? { runners: plan.runners } : {}), logFile: log('selftests-build.log'), signal }),
          (b) => ({ status: b.cached ? 'cached' : 'ok', detail: `${plan.runners ? b.runners.map((r) => r.name).join(', ') : b.binary} (${b.tests.length} tests${b.excluded.length ? `; left out: ${b.excluded.map((e) => e.file).join(', ')}` : ''})` }));
        const missing = plan.runners?.filter((r) => !builds.full!.runners.some((b) => b.name === r));
        if (missing?.length) events.emit({ type: 'warn', stage: 'build', message: `the tree's selftests Makefile did not make ${missing.join(', ')} (test_progs-cpuv4 needs a clang with -mcpu=v4): left out` });
        if (plan.job.kind !== 'tests') events.emit({ type: 'info', stage: 'build', message: `the full selftests are in the guest at ${join(BUILD_SHARE.guestPath, relative(kernel.buildDir, builds.full.dir))}: their runners load their BPF objects from there (cd there, then ./test_progs)` });
      }
      const listed = plan.runners ? await ciSelection(plan, tree.worktree, join(runDir, 'bpf-ci-denylist.txt'), events) : undefined;
      const sharded = listed && plan.shard && builds.full ? await shardSelection(plan, listed, builds.full.tests, join(runDir, 'bpf-ci-shard-allow.txt'), events) : undefined;
      const selection = sharded?.selection ?? listed;
      if (targeted) {
        // With --full-selftests the targeted build runs too, when it can make the selection, and the two are compared.
        const leftOut = plan.fullSelftests
          ? 'the targeted test_progs cannot make this selection (not in this tree, or it needs BPF skeletons): no comparison'
          : 'not in this tree yet; left out of this run';
        builds.targeted = await stage(stageLog, 'build', `test_progs with ${describeSelection(plan.testProgsSelection)} only${targeted.beside ? ' (built beside the kernel)' : ''}`,
          () => targeted.result(), (b) => ({ status: b?.cached ? 'cached' : 'ok', detail: b ? `${b.binary} (${b.tests.join(', ')})` : leftOut }));
        if (!builds.targeted) events.emit({ type: 'warn', stage: 'build', message: `test_progs ${describeSelection(plan.testProgsSelection)}: ${leftOut}` });
      }
      if (plan.guestTests) {
        builds.suites = await stage(stageLog, 'guest', `guest suites matching ${plan.guestTests}, against this tree's UAPI headers`,
          () => buildGuestSuites({ exec, toolchain, kernel, select: plan.guestTests, timeoutSec: plan.testTimeoutSec, logFile: log('guest-build.log'), signal }),
          (b) => ({ detail: b.tests.map((t) => t.name).join(', ') }));
        await keepSuiteSources(builds.suites, log('guest-src'));
      }
      const symbols: SymbolSources = { srcRoot: tree.worktree, ...(plan.series ? { range: [source.pristineCommit, tree.head] as const } : {}) };
      const reads = [builds.full?.dir, builds.targeted && dirname(builds.targeted.binary), ...(builds.suites?.tests ?? []).map((t) => t.argv[0] && dirname(t.argv[0]))];
      const stopReading = await readBuildDir(kernel.buildDir, runDir, [...new Set(reads.filter((r): r is string => !!r))]);
      return { kernel, bzImage, builds, ...(selection ? { selection } : {}), ...(sharded ? { runners: sharded.runners } : {}), symbols, stopReading };
    } finally {
      // Nothing keeps running behind a stage that failed (a kernel build error, Ctrl-C).
      await targeted?.cancel();
    }
  } finally {
    await lock.release();
  }
}

/**
 * The selection vm-test bpf-ci's test_progs runners read: the plan's (all tests, or -t/-a), minus the tree's DENYLIST
 * and DENYLIST.x86_64, vm-test's own list and any --denylist, merged into one file; what is denied is said, and why.
 */
async function ciSelection(plan: RunPlan, worktree: string, file: string, events: RunEvents): Promise<TestProgsSelection> {
  const entries = [...await ciDenyList(worktree, plan.repoRoot, SELFTESTS_DIR)];
  const user = plan.testProgsSelection.denylist;
  if (user) entries.push(...user.entries.map((pattern) => ({ pattern, source: user.file, reason: '--denylist' })));
  await writeFile(file, denyListFile(entries));
  events.emit({ type: 'info', stage: 'build', message: `left out of the test_progs runners (${entries.length}): ${entries.map((e) => `${e.pattern} (${e.reason}; ${e.source})`).join(', ') || 'nothing'}` });
  return { ...plan.testProgsSelection, denylist: { file, entries: entries.map((e) => e.pattern) } };
}

/**
 * vm-test bpf-ci --shard i/n: this shard's test_progs tests (by their names' hash, from the tests the tree has) as
 * an allowlist file, and the runners it runs. The lists stay; the build is the unsharded run's.
 */
async function shardSelection(plan: RunPlan, selection: TestProgsSelection, tests: readonly string[], file: string, events: RunEvents): Promise<{ selection: TestProgsSelection; runners: RunnerName[] }> {
  const shard = plan.shard!;
  const entries = shardAllowEntries(tests, selection, shard);
  await writeFile(file, shardAllowFile(entries, shard));
  // An empty allowlist would run every test: without tests of its own, a shard runs no test_progs flavour.
  const runners = shardRunners(plan.runners ?? [], shard).filter((r) => entries.length > 0 || runnerKind(r) !== 'test_progs');
  events.emit({ type: 'info', stage: 'build', message: `shard ${shardLabel(shard)}: ${entries.length} test_progs test(s) of ${tests.length} (${file}); runners: ${runners.join(', ') || 'none'}` });
  if (!runners.length) throw new VmTestError('usage', `--shard ${shardLabel(shard)}: no test of this selection falls in this shard; use fewer shards`);
  return { selection: { ...selection, test: [], allow: [], allowlist: { file, entries } }, runners };
}

/** What the guest left: the console (its splats attributed to tests, less the allowlisted ones) and the results channel. */
async function guestOutput(vm: VmOutcome, plan: Pick<RunPlan, 'allowlistRules'>, symbolizer?: (splats: Splat[]) => Promise<Splat[]>) {
  const consoleText = await readFile(vm.consoleLog, 'utf8').catch(() => '');
  const resultsText = await readFile(vm.resultsLog, 'utf8').catch(() => '');
  let splats = placeSplats(attributeSplats(scanSplats(consoleText), consoleText), vm.consoleMarks, resultsText);
  if (plan.allowlistRules) splats = applyAllowlist(splats, plan.allowlistRules);
  if (splats.length && symbolizer) splats = await symbolizer(splats);
  return { consoleText, resultsText, splats };
}

/**
 * How a bpf-ci runner run's verdict is made beyond what booted (the host's tests, which shard owns them): a kept
 * verdict made another way is not reused. Bump it when that changes.
 */
const RUNNER_VERDICT = 'host-tests-in-one-shard';

/**
 * What a bpf-ci runner verdict depends on besides the boot's inputs: how it is made, the code that reads the boot's
 * output, what the host's build skipped, and the host's programs the guest runs (its root is the host's).
 */
export async function runnerVerdictInputs(exec: ExecPort, hostSkips: readonly string[], causes: Readonly<Record<string, string>> = {}): Promise<Record<string, unknown>> {
  // Each skipped part's leaf carries its compiler error (selftestsBuildNode): another error is another verdict.
  const skipCauses = Object.fromEntries(hostSkips.filter((p) => causes[p]).map((p) => [p, causes[p]]));
  return { verdictOf: RUNNER_VERDICT, code: await verdictCodeHash(), hostSkips, skipCauses, userland: await guestUserland(exec) };
}

/** The test that holds what the selftests build could not make. */
export const SELFTESTS_BUILD = 'selftests-build';

/**
 * The parts the permissive selftests build skipped (SKIP-BPF, SKIP-SKEL, SKIP-TEST), each a failed leaf of
 * "selftests-build" with the compiler's first error for it when the log had one.
 */
export function selftestsBuildNode(skipped: readonly string[], causes: Readonly<Record<string, string>> = {}): TestNode {
  const node = newTest(SELFTESTS_BUILD, 'fail');
  node.children = skipped.map((part) => {
    const leaf = newTest(part, 'fail');
    leaf.errors.push(causes[part]
      ? `did not build with ${SELFTESTS_CLANG}: ${causes[part]} (selftests-build.log)`
      : `did not build with ${SELFTESTS_CLANG} (the permissive build skipped it; selftests-build.log says why)`);
    return leaf;
  });
  return node;
}

/** Where a run's splats are symbolised from: the tree built (addr2line's paths, decodecode) and the series' commits. */
interface SymbolSources {
  srcRoot: string;
  range?: readonly [string, string];
}

