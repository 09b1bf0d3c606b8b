// Build stage for the kernel: configure with a subset check, bzImage, UAPI headers (and modules), incremental.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildDirIn, type CacheLayout } from '../cache.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { checkSubset, describeDropped, parseDotConfig, type DroppedOption, type KconfigRequest } from '../kconfig/kconfig.ts';
import { VmTestError } from '../outcome.ts';
import type { PreparedTree } from '../source/workspace.ts';
import { buildEnv, compilerFor, installCompilerWrapper, toolchainFingerprint, incbinHeaders } from './build-env.ts';
import { checkImageHoldsBuilt, type ImageCheck } from './kernel-identity.ts';
import { buildFailure, progressStep } from './make-output.ts';
import { initialEstimate, isWorkStep, progressAt } from './build-estimate.ts';

export interface KernelBuild {
  buildDir: string;
  bzImage: string;
  /** headers_install output: <buildDir>/usr/include. */
  headersDir: string;
  configPath: string;
  /** Nothing was rebuilt: the stamp matched the tree and config. */
  cached: boolean;
  /** The tree the kernel in buildDir was built from. */
  treeId: string;
  /** The GNU build ID of the vmlinux built: the guest must report the same one. */
  buildId?: string;
  /** Whether the bzImage was seen to carry that vmlinux (its decompressed payload holds the build ID). */
  imageCheck: ImageCheck;
  elapsedMs: number;
}

export interface KernelBuildContext {
  exec: ExecPort;
  events: RunEvents;
  cache: CacheLayout;
  sourceId: string;
  tree: PreparedTree;
  request: KconfigRequest;
  jobs: number;
  ccache: boolean;
  /** toolchainFingerprint's answer, when the caller has it already. */
  toolchain?: string;
  /** PAHOLE= for kbuild: a pahole other than the host's (newer-pahole.ts), for a kernel with BTF. */
  pahole?: string;
  /** A build directory of its own beside the config's (buildDirFor). */
  slot?: string;
  /** The tree's kernel version (6.12.117): picks the first build's size estimate. */
  version?: string;
  logFile: string;
  signal?: AbortSignal;
}

interface Stamp {
  treeId: string;
  configHash: string;
  /** The tools' versions (toolchainFingerprint) and the build's fixed stamps: another toolchain builds another kernel. */
  toolchain?: string;
  recipe?: string;
  /** The work steps (isWorkStep) of this directory's first, cold, build: another config's first estimate. */
  work?: number;
  /** What the config was resolved on (allnoconfig, or the Kconfig defaults of --full-selftests): a count is an estimate only for the same kind. */
  base?: KconfigRequest['base'];
}

/** The step count of another finished build of the same source and the same kind of config, as a first estimate. */
export async function siblingSteps(sourceDir: string, base: KconfigRequest['base']): Promise<number | undefined> {
  const dirs = await readdir(sourceDir).catch(() => [] as string[]);
  for (const d of dirs.filter((x) => x.startsWith('build-'))) {
    const s = await readStamp(join(sourceDir, d, 'vm-test-stamp.json'));
    // A full selftests kernel has five times the steps of the default one: its count says nothing of the other's.
    if (s?.work && s.base === base) return s.work;
  }
  return undefined;
}

/** slot: a build directory of its own for the same config (vm-test bpf-ci's base), so two trees built in turn each stay warm. */
export function buildDirFor(cache: CacheLayout, sourceId: string, request: KconfigRequest, slot?: string): string {
  return buildDirIn(cache, sourceId, slot ? `${request.hash()}-${slot}` : request.hash());
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
const readStamp = (path: string) => readJson<Stamp>(path);

/** Where this tree's Kconfig defines an option (file:line), or undefined when no Kconfig file does. */
async function kconfigDefinition(ctx: Pick<KernelBuildContext, 'exec' | 'tree'>, name: string): Promise<string | undefined> {
  const symbol = name.replace(/^CONFIG_/, '');
  const grep = await ctx.exec.run({
    command: 'git',
    args: ['grep', '-n', '-E', `^\\s*(menu)?config ${symbol}$`, '--', '*Kconfig*'],
    cwd: ctx.tree.worktree,
  });
  if (grep.exitCode !== 0 || !grep.stdout.trim()) return undefined;
  return grep.stdout.trim().split('\n')[0]!.split(':').slice(0, 2).join(':');
}

/** Why an option was dropped: unknown to this tree's Kconfig, or its dependencies are not met. */
async function explainDropped(ctx: Pick<KernelBuildContext, 'exec' | 'tree'>, dropped: DroppedOption): Promise<string> {
  const where = await kconfigDefinition(ctx, dropped.entry.name);
  if (!where) return 'unknown option: no Kconfig file in this tree defines it';
  const text = await readFile(join(ctx.tree.worktree, where.split(':')[0]!), 'utf8').catch(() => '');
  const after = text.split('\n').slice(Number(where.split(':')[1])).join('\n');
  const block = after.split(/\n(?=\S)|\n\s*(?:menu)?config /)[0] ?? '';
  const deps = [...block.matchAll(/^\s*depends on (.*)$/gm)].map((m) => m[1]!.trim());
  return `defined at ${where}; its dependencies are not met${deps.length ? `: depends on ${deps.join(' && ')}` : ''}`;
}

type Make = (targets: string[]) => Promise<{ exitCode?: number; tail: string[] }>;

/**
 * Writes <buildDir>/.config from the request (see KconfigBase): allnoconfig with the request as
 * KCONFIG_ALLCONFIG, or the request filled in by olddefconfig. Then checks that every requested
 * option survived: ours are errors, the tree's are warnings.
 */
export async function configureKernel(ctx: Pick<KernelBuildContext, 'request' | 'logFile' | 'events' | 'exec' | 'tree'>, buildDir: string, make: Make): Promise<{ modules: boolean; advisory: string[]; resolver: string; undefinedHere: string[] }> {
  const request = ctx.request;
  const configPath = join(buildDir, '.config');
  const requestPath = join(buildDir, 'vm-test-request.config');
  await writeFile(requestPath, request.toConfigText());
  // allnoconfig writes every symbol, resolved: an olddefconfig after it said "No change to .config" and cost 3 s.
  const configureSteps = request.base === 'allno'
    ? [['allnoconfig', `KCONFIG_ALLCONFIG=${requestPath}`]]
    : [['olddefconfig']];
  if (request.base === 'defaults') await writeFile(configPath, request.toConfigText());
  for (const targets of configureSteps) {
    const configure = await make(targets);
    if (configure.exitCode !== 0) {
      throw new VmTestError('buildFailed', `make ${targets[0]} failed (exit ${configure.exitCode})`, { logPath: ctx.logFile, excerpt: configure.tail.slice(-10) });
    }
  }
  const resolver = configureSteps.at(-1)![0]!;
  const allDropped = checkSubset(request, parseDotConfig(await readFile(configPath, 'utf8')));
  const advisory = allDropped.filter((d) => d.entry.advisory).map((d) => describeDropped(d));
  await reportAdvisory(ctx, advisory, resolver);
  // An `if-defined` option this tree's Kconfig does not define is not checked here (said so); one it defines is.
  const undefinedHere: string[] = [];
  const dropped: DroppedOption[] = [];
  for (const d of allDropped.filter((d) => !d.entry.advisory)) {
    if (d.entry.ifDefined && !(await kconfigDefinition(ctx, d.entry.name))) undefinedHere.push(`${d.entry.name} (${d.entry.file}:${d.entry.line})`);
    else dropped.push(d);
  }
  reportUndefined(ctx, undefinedHere);
  if (dropped.length > 0) {
    const lines = await Promise.all(dropped.map(async (d) => describeDropped(d, await explainDropped(ctx, d))));
    const first = dropped[0]!.entry;
    throw new VmTestError('configDropped', `${dropped.length} requested kernel option(s) did not survive ${resolver}:\n  ${lines.join('\n  ')}`, {
      file: first.file,
      line: first.line,
      logPath: ctx.logFile,
      excerpt: lines,
    });
  }

  return { modules: parseDotConfig(await readFile(configPath, 'utf8')).get('CONFIG_MODULES') === 'y', advisory, resolver, undefinedHere };
}

/** The `if-defined` options this tree does not define: named, so a reader knows they were not checked. */
function reportUndefined(ctx: Pick<KernelBuildContext, 'events'>, names: string[]): void {
  if (names.length === 0) return;
  ctx.events.emit({ type: 'info', stage: 'build', message: `not in this tree's Kconfig, so not checked (if-defined): ${names.join(', ')}` });
}

/** The tree's own selftests options that the resolver dropped: a warning, and their list in the run directory. */
async function reportAdvisory(ctx: Pick<KernelBuildContext, 'logFile' | 'events'>, lines: string[], resolver: string): Promise<void> {
  if (lines.length === 0) return;
  await writeFile(join(dirname(ctx.logFile), 'kconfig-dropped.txt'), lines.join('\n') + '\n');
  ctx.events.emit({ type: 'warn', stage: 'build', message: `${lines.length} option(s) from the tree's selftests config did not survive ${resolver} (listed in kconfig-dropped.txt), e.g. ${lines[0]}` });
}

/** What a build directory's .config was resolved from, written once configure and its subset check passed. */
interface Configured {
  treeId: string;
  configHash: string;
  /** Every tool's version line (build-env.ts TOOLCHAIN): Kconfig asks the compiler, linker, pahole, openssl what they support. */
  toolchain: string;
  /** sha256 of the .config it wrote: a .config edited by hand since is configured again. */
  dotConfig: string;
  modules: boolean;
  advisory: string[];
  resolver: string;
  /** The if-defined options this tree does not define (reported again when configure is skipped). */
  undefinedHere?: string[];
}

const sha256Of = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** A path whose change can change what Kconfig resolves: a Kconfig file, the kconfig tool and the scripts Kconfig runs, the top Makefile. */
export const affectsKconfig = (path: string): boolean => /(^|\/)Kconfig[^/]*$/.test(path) || path.startsWith('scripts/') || path === 'Makefile';

/**
 * The earlier configure's result still holds when the request and the toolchain are the same and no
 * Kconfig input differs between the tree it ran on and this one (git compares the two trees: tens of ms,
 * where allnoconfig takes 2 s). Undefined when configure must run.
 */
async function stillConfigured(ctx: KernelBuildContext, configuredPath: string, configHash: string, toolchain: string): Promise<Configured | undefined> {
  const configured = await readJson<Configured>(configuredPath);
  if (!configured || configured.configHash !== configHash || configured.toolchain !== toolchain) return undefined;
  if (configured.dotConfig !== (await sha256Of(join(dirname(configuredPath), '.config')).catch(() => ''))) return undefined;
  if (configured.treeId === ctx.tree.treeId) return configured;
  const diff = await ctx.exec.run({ command: 'git', args: ['diff', '--name-only', '--no-renames', '-z', configured.treeId, ctx.tree.treeId], cwd: ctx.tree.worktree });
  if (diff.exitCode !== 0) return undefined;
  return diff.stdout.split('\0').some((p) => p && affectsKconfig(p)) ? undefined : configured;
}

export async function buildKernel(ctx: KernelBuildContext): Promise<KernelBuild> {
  const started = Date.now();
  const buildDir = buildDirFor(ctx.cache, ctx.sourceId, ctx.request, ctx.slot);
  await mkdir(buildDir, { recursive: true });
  await mkdir(ctx.cache.ccache, { recursive: true });
  if (ctx.ccache) await installCompilerWrapper(ctx.cache);
  const env = buildEnv(ctx.cache, ctx.ccache ? await incbinHeaders(ctx.exec, ctx.tree.worktree) : []);
  const cc = compilerFor(ctx.ccache, ctx.cache);
  const make = (targets: string[], extra: { onLine?: (l: string) => void } = {}) =>
    ctx.exec.run({
      command: 'make',
      args: ['-C', ctx.tree.worktree, `O=${buildDir}`, `-j${ctx.jobs}`, `CC=${cc}`, `HOSTCC=${cc}`, ...(ctx.pahole ? [`PAHOLE=${ctx.pahole}`] : []), ...targets],
      env,
      logFile: ctx.logFile,
      signal: ctx.signal,
      onLine: extra.onLine,
    });
  const configPath = join(buildDir, '.config');
  const stampPath = join(buildDir, 'vm-test-stamp.json');
  const bzImage = join(buildDir, 'arch/x86/boot/bzImage');
  const headersDir = join(buildDir, 'usr/include');
  const configHash = ctx.request.hash();
  const stamp = await readStamp(stampPath);
  const toolchain = ctx.toolchain ?? await toolchainFingerprint(ctx.exec, { ...(ctx.pahole ? { pahole: ctx.pahole } : {}) });
  const recipe = buildRecipe(ctx.cache);
  if (stamp && stamp.treeId === ctx.tree.treeId && stamp.configHash === configHash && stamp.toolchain === toolchain && stamp.recipe === recipe && existsSync(bzImage) && existsSync(join(headersDir, 'linux/bpf.h'))) {
    const imageCheck = await checkImageHoldsBuilt(bzImage, join(buildDir, 'vmlinux'));
    if (imageCheck.holdsBuilt !== false) {
      return { buildDir, bzImage, headersDir, configPath, cached: true, elapsedMs: Date.now() - started, treeId: stamp.treeId, buildId: imageCheck.built, imageCheck };
    }
    // A bzImage left stale by an earlier build (before vm-test-cc): its payload is made again.
    ctx.events.emit({ type: 'warn', stage: 'build', message: `${bzImage} holds a kernel with build ID ${describeIds(imageCheck.inImage)}, not the vmlinux beside it (${imageCheck.built}): making its compressed payload again` });
    await discardPayload(buildDir);
  }

  // Configure, unless nothing it depends on changed since it last ran here (a series switch that touches no Kconfig).
  const configuredPath = join(buildDir, 'vm-test-configured.json');
  let modules: boolean;
  const configured = existsSync(configPath) ? await stillConfigured(ctx, configuredPath, configHash, toolchain) : undefined;
  if (configured) {
    modules = configured.modules;
    await reportAdvisory(ctx, configured.advisory, configured.resolver);
    reportUndefined(ctx, configured.undefinedHere ?? []);
    ctx.events.emit({ type: 'info', stage: 'build', message: `kernel config: as resolved for tree ${configured.treeId.slice(0, 12)} (no Kconfig input changed since)` });
  } else {
    await rm(configuredPath, { force: true });
    const result = await configureKernel(ctx, buildDir, make);
    modules = result.modules;
    const next: Configured = { treeId: ctx.tree.treeId, configHash, toolchain, dotConfig: await sha256Of(configPath), modules, advisory: result.advisory, resolver: result.resolver, undefinedHere: result.undefinedHere };
    await writeFile(configuredPath, JSON.stringify(next, null, 2) + '\n');
  }

  // Build: progress is make's work steps, against an estimate (a sibling's count, or the table) on a first build.
  let steps = 0;
  const estimate = initialEstimate(!!stamp && existsSync(bzImage), await siblingSteps(dirname(buildDir), ctx.request.base), ctx.version, ctx.request.base);
  const buildStarted = Date.now();
  // Modules when the config has them: Module.symvers is what out-of-tree modules (bpf_testmod) link against.
  const kernel = await make(['bzImage', 'headers_install', ...(modules ? ['modules'] : [])], {
    onLine: (line) => {
      const step = progressStep(line);
      if (!step || !isWorkStep(step)) return;
      steps++;
      const p = progressAt(steps, estimate, Date.now() - buildStarted);
      ctx.events.emit({ type: 'progress', stage: 'build', step, done: steps, ...(p.total ? { total: p.total } : {}), ...(p.etaSec !== undefined ? { etaSec: p.etaSec } : {}) });
    },
  });
  if (kernel.aborted) throw new VmTestError('interrupted', 'kernel build interrupted', { logPath: ctx.logFile });
  if (kernel.exitCode !== 0) throw await buildFailure('kernel build', kernel, ctx.logFile, ctx.tree.worktree);
  const imageCheck = await verifiedImage(ctx, buildDir, bzImage, () => make(['bzImage']));
  // The count of this directory's first build, the cold one: an incremental build's says nothing of a cold build's size.
  const work = stamp ? stamp.work : steps;
  const newStamp: Stamp = { treeId: ctx.tree.treeId, configHash, toolchain, recipe, base: ctx.request.base, ...(work ? { work } : {}) };
  await writeFile(stampPath + '.tmp', JSON.stringify(newStamp, null, 2) + '\n');
  await rename(stampPath + '.tmp', stampPath);
  return { buildDir, bzImage, headersDir, configPath, cached: false, elapsedMs: Date.now() - started, treeId: ctx.tree.treeId, buildId: imageCheck.built, imageCheck };
}

/** What the build's output depends on besides the tree, the config and the tools: the fixed build stamps (build-env.ts). */
function buildRecipe(cache: CacheLayout): string {
  const env = buildEnv(cache);
  return JSON.stringify(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('KBUILD_'))));
}

const describeIds = (ids: readonly string[] | undefined): string => ids?.length ? ids.join(' or ') : 'none';

/** The files that carry the compressed kernel into the bzImage: removed, make writes them again from vmlinux. */
async function discardPayload(buildDir: string): Promise<void> {
  for (const f of ['arch/x86/boot/compressed/piggy.o', 'arch/x86/boot/compressed/piggy.S', 'arch/x86/boot/compressed/vmlinux', 'arch/x86/boot/vmlinux.bin', 'arch/x86/boot/bzImage', 'vm-test-stamp.json']) {
    await rm(join(buildDir, f), { force: true });
  }
}

/**
 * The bzImage must carry the vmlinux just linked. If it does not (an object that embeds another file came
 * from a cache), its payload is made once more; a second mismatch is an infrastructure error naming both IDs.
 */
async function verifiedImage(ctx: KernelBuildContext, buildDir: string, bzImage: string, remake: () => Promise<{ exitCode?: number; tail: string[] }>): Promise<ImageCheck> {
  const vmlinux = join(buildDir, 'vmlinux');
  let check = await checkImageHoldsBuilt(bzImage, vmlinux);
  if (check.holdsBuilt === false) {
    ctx.events.emit({ type: 'warn', stage: 'build', message: `${bzImage} holds a kernel with build ID ${describeIds(check.inImage)}, not the vmlinux just built (${check.built}): making its compressed payload again` });
    await discardPayload(buildDir);
    const again = await remake();
    if (again.exitCode !== 0) throw await buildFailure('kernel build (bzImage again)', again, ctx.logFile, ctx.tree.worktree);
    check = await checkImageHoldsBuilt(bzImage, vmlinux);
  }
  if (check.holdsBuilt === false) {
    throw new VmTestError('infra', `the bzImage built does not hold the vmlinux built: vmlinux has build ID ${check.built}, the bzImage's kernel ${describeIds(check.inImage)}`, { file: bzImage, logPath: ctx.logFile });
  }
  if (check.problem) ctx.events.emit({ type: 'info', stage: 'build', message: `bzImage not checked against vmlinux on the host: ${check.problem}; the guest's build ID is still checked` });
  return check;
}

