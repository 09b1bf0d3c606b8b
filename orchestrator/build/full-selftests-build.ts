// The full BPF selftests (--full-selftests): the tree's own Makefile builds test_progs with every
// test, its BPF objects (clang) and bpf_testmod.ko, against the kernel just built.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CacheLayout } from '../cache.ts';
import { makeDirs } from '../paths.ts';
import { describeParseError, parseFragment, type KconfigFragment } from '../kconfig/kconfig.ts';
import { VmTestError } from '../outcome.ts';
import { describeReaders, waitForBuildDirReaders } from './build-readers.ts';
import { buildEnv, compilerFor, compilerWrapperPath, incbinHeaders, installCompilerWrapper, toolchainFingerprint } from './build-env.ts';
import type { KernelBuild, KernelBuildContext } from './kernel-build.ts';
import { buildFailure, makeFailures, type CompilerError, type MakeFailure } from './make-output.ts';
import { findTestDefinitions, skeletonsIncluded } from './selftests-build.ts';
import { restoreInTree, saveInTree } from './selftests-intree.ts';

export const SELFTESTS_DIR = 'tools/testing/selftests/bpf';
/** The selftests' own config files, in the order their vmtest.sh merges them. */
export const SELFTESTS_CONFIGS = ['config', 'config.vm', 'config.x86_64'];

/** The tree's selftests config files as fragments, named by their path in the tree. */
export async function selftestsFragments(worktree: string): Promise<KconfigFragment[]> {
  const fragments: KconfigFragment[] = [];
  for (const name of SELFTESTS_CONFIGS) {
    const path = join(worktree, SELFTESTS_DIR, name);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) throw new VmTestError('usage', `--full-selftests: this tree has no ${SELFTESTS_DIR}/${name}`, { file: path });
    const { fragment, errors } = parseFragment(`${SELFTESTS_DIR}/${name}`, text, { advisory: true });
    if (errors.length > 0) {
      const e = errors[0]!;
      throw new VmTestError('usage', describeParseError(e), { file: path, line: e.line });
    }
    fragments.push(fragment);
  }
  return fragments;
}

export interface UnbuildableTest {
  /** prog_tests/<file>. */
  file: string;
  /** The skeleton it includes that cannot be made here. */
  skeleton: string;
  /** Why: nothing in the tree generates it, or the compiler cannot build it. */
  reason?: string;
}

/** The clang the selftests are built with (the recipe's CLANG=), and the major version libarena needs. */
export const SELFTESTS_CLANG = 'clang-19';
/**
 * 7.x's libarena relies on LLVM 20's defaults: BPF cpu v3 (32-bit atomics; clang-19 says "unsupported atomic
 * operation, please use 64 bit version" at bpf_arena_spin_lock.h). The Makefile builds it for test_progs' sake,
 * in no permissive mode, so with an older clang its skeleton is not asked for and the tests that include it are left out.
 */
export const LIBARENA_MIN_CLANG = 20;

/** The tests that include libarena's skeletons, when this clang cannot build libarena. */
export function libarenaTests(tests: ReadonlyArray<{ file: string; text: string }>, clangMajor: number | undefined): UnbuildableTest[] {
  if (clangMajor === undefined || clangMajor >= LIBARENA_MIN_CLANG) return [];
  return tests.flatMap(({ file, text }) => {
    const skeleton = skeletonsIncluded(text).find((h) => /(^|\/)libarena(_asan)?\.skel\.h$/.test(h));
    return skeleton ? [{ file, skeleton, reason: `libarena needs LLVM ${LIBARENA_MIN_CLANG} or newer (BPF cpu v3 by default); the build's clang is ${clangMajor}` }] : [];
  });
}

/** The BPF objects, skeletons and test objects a permissive build (BPF_STRICT_BUILD=0) skipped, from its log. */
export function permissiveSkips(log: string): string[] {
  return [...new Set([...log.matchAll(/^\s*SKIP-(?:BPF|SKEL|TEST)\s+(\S+)/gm)].map((m) => m[1]!))].sort();
}

/** Beside vm-test-skipped.txt: why each part did not build. */
const SKIP_CAUSES = 'vm-test-skip-causes.json';

/** A compiler diagnostic's first line, and the source file (progs/X.c, prog_tests/X.c) it is about. */
const INCLUDED_FROM = /^In file included from (?:\S*\/)?((?:progs|prog_tests)\/[\w-]+\.c):\d+/;
const DIAGNOSTIC = /^(\S+?):(\d+):\d+: (?:fatal )?error: (.*)$/;
/** progs/X.c or prog_tests/X.c, however the compiler was given the path. */
const selftestsSource = (path: string) => /(?:^|\/)((?:progs|prog_tests)\/[\w-]+\.[ch])$/.exec(path)?.[1] ?? path;
/** The selftests directory's own paths, as the tree names them, without the cache's worktree in front. */
const inSelftests = (line: string) => line.trim().replace(/^\S*\/tools\/testing\/selftests\/bpf\//, '');
const basename = (path: string) => path.split('/').pop()!;
/** One compiler error however its path was spelled: the file's name, the line, the message. */
const errorKey = (file: string, line: number, message: string) => `${basename(file)}:${line}: ${message}`;

/** Each compiler error in the log with the source it is about: the file compiled, also when a header it includes erred. */
function sourceErrors(log: string): { about: string; line: string; key: string }[] {
  const out: { about: string; line: string; key: string }[] = [];
  let source: string | undefined;
  for (const line of log.split('\n')) {
    const from = INCLUDED_FROM.exec(line);
    if (from) {
      source ??= from[1]!;
      continue;
    }
    const diagnostic = DIAGNOSTIC.exec(line);
    if (diagnostic) out.push({ about: source ?? selftestsSource(diagnostic[1]!), line: inSelftests(line), key: errorKey(diagnostic[1]!, Number(diagnostic[2]), diagnostic[3]!) });
    // A diagnostic's own lines (the code, the caret, notes) keep the source; the next "In file included" starts anew.
    if (!diagnostic && !/^\s|^[\w./-]+:\d+:\d+: note: /.test(line)) source = undefined;
  }
  return out;
}

const partName = (name: string) => basename(name);
const partStem = (name: string) => partName(name).replace(/\.(?:bpf\.o|skel\.h|lskel\.h|subskel\.h|test\.o)$/, '');
/** The source a skipped part is compiled from: a test object's prog_tests/X.c, a BPF object's or skeleton's progs/X.c. */
const partSource = (part: string) => (partName(part).endsWith('.test.o') ? `prog_tests/${partStem(part)}.c` : `progs/${partStem(part)}.c`);

/**
 * Why each skipped part did not build: the compiler's first error for its source (a BPF object's progs/X.c, a test
 * object's prog_tests/X.c, or a header either includes), and for a skeleton its object's. The skips name no reason,
 * and it is not always the toolchain: on 7.2.6 the tree's kernel and its selftests declared a kfunc differently.
 */
export function skipCauses(log: string, skipped: readonly string[]): Record<string, string> {
  const firstError = new Map<string, string>();
  for (const e of sourceErrors(log)) if (!firstError.has(e.about)) firstError.set(e.about, e.line);
  const causes: Record<string, string> = {};
  for (const part of skipped) {
    const own = firstError.get(partSource(part));
    if (own) causes[part] = partName(part).endsWith('.skel.h') ? `its object ${partStem(part)}.bpf.o did not build: ${own}` : own;
  }
  return causes;
}

/** Whether a compiler error is a skipped part's: the permissive build stepped past those, so they did not fail it. */
export function skippedPartsErrors(log: string, skipped: readonly string[]): (e: CompilerError) => boolean {
  const sources = new Set(skipped.map(partSource));
  const keys = new Set(sourceErrors(log).filter((e) => sources.has(e.about)).map((e) => e.key));
  return (e) => keys.has(errorKey(e.file, e.line, e.message));
}

/**
 * The tree's Makefile races itself: with no extra files (test_maps), `$(TRUNNER_BINARY)-extras` runs `rsync -aq
 * $^ OUTPUT/` with $^ empty, which lists the whole output directory while other jobs write and remove files in it,
 * and rsync exits 24 when one vanishes. Seen on 7.2.6 (Makefile:919); 7.3.4's recipe is the same. The rule that
 * failed so, if that is all that failed.
 */
export function rsyncVanishedRace(lines: readonly string[]): MakeFailure | undefined {
  const failed = makeFailures(lines);
  const vanished = lines.some((l) => l.includes('some files vanished before they could be transferred (code 24)'));
  return vanished && failed.length > 0 && failed.every((f) => f.code === 24 && f.target.endsWith('-extras')) ? failed[0] : undefined;
}

/**
 * Tests whose BPF skeleton cannot be made: no progs/<name>.c, and the Makefile does not name it
 * (linked skeletons are named there). Debian's 6.12.117 has one: prog_tests/bpf_attr_size.c was
 * backported without progs/cgroup_skb_direct_packet_access.c, and would fail the whole build.
 */
export function findUnbuildable(tests: ReadonlyArray<{ file: string; text: string }>, progs: ReadonlySet<string>, makefile: string): UnbuildableTest[] {
  const out: UnbuildableTest[] = [];
  for (const { file, text } of tests) {
    const missing = skeletonsIncluded(text).find((header) => {
      const name = header.replace(/\.(?:skel|lskel|subskel)\.h$/, '');
      return !progs.has(`${name}.c`) && !new RegExp(`\\b${name}\\b`).test(makefile);
    });
    if (missing) out.push({ file, skeleton: missing });
  }
  return out;
}

export interface FullSelftestsBuild {
  /** The directory test_progs must run in: it loads *.bpf.o and bpf_testmod.ko from there. */
  dir: string;
  binary: string;
  /** The runners asked for that the Makefile made (test_progs-cpuv4 only where clang supports -mcpu=v4). */
  runners: { name: string; binary: string }[];
  /** What the permissive build skipped because it failed to build (BPF objects, skeletons, test objects). */
  skipped: string[];
  /** Each skipped part's first compiler error, where the log has one (skipCauses). */
  skipCauses: Record<string, string>;
  testmod: string;
  excluded: UnbuildableTest[];
  /** Every test the binary has (the DEFINE_TEST list). */
  tests: string[];
  cached: boolean;
  elapsedMs: number;
}

/** The kernel build's context, with the kernel it built in place of what it was built from. */
export type FullSelftestsContext = Omit<KernelBuildContext, 'sourceId' | 'request'> & { kernel: KernelBuild; /** The runners to make (make targets); test_progs alone without. */ runners?: readonly string[] };

/**
 * Whether outputs stamped `made` serve a build asking for `wanted`: everything the same but make's targets, of which
 * `made` has every one `wanted` names (bpf-ci made all five runners; exec or a run asks for test_progs alone).
 */
export function stampCovers(made: Stamp | undefined, wanted: Stamp, targets: readonly string[]): boolean {
  if (!made || !Array.isArray(made.recipe)) return false;
  const withoutTargets = (stamp: Stamp, count: number) => JSON.stringify({ ...stamp, recipe: stamp.recipe.slice(0, stamp.recipe.length - count) });
  const madeWith = madeTargets(made);
  return targets.every((t) => madeWith.includes(t)) && withoutTargets(made, madeWith.length) === withoutTargets(wanted, targets.length);
}

/** The targets at the end of a stamped recipe: the arguments after its last option or variable. */
function madeTargets(stamp: Stamp): string[] {
  let i = stamp.recipe.length;
  while (i > 0 && !/^-|=/.test(stamp.recipe[i - 1]!)) i--;
  return stamp.recipe.slice(i);
}

export interface Stamp {
  treeId: string;
  excluded: string[];
  /** make's arguments with paths as {names}: another recipe builds other objects. */
  recipe: string[];
  /** toolchainFingerprint plus the LLVM tools the BPF objects are built with. */
  toolchain: string;
  /** The vmlinux the objects and bpf_testmod.ko were built against (its BTF, its module ABI). */
  kernelBuildId: string | undefined;
  /**
   * How make's writes into the source tree are kept (IN_TREE_STATE): outputs made while they were shared between
   * build directories are made again.
   */
  inTree: string;
}

/** selftests-intree.ts: each build directory's own copy of what make wrote into the source tree. */
const IN_TREE_STATE = 'per-build-directory';

/**
 * The selftests' environment: the build's, but without CCACHE_BASEDIR. Their Makefile compiles a test object from
 * another directory than make's (cd $(@D) && $(CC) ... -MMD), and ccache's relative paths then made its .d files
 * name "../../../src/..." from the wrong place: the next build stopped at "No rule to make target".
 */
export function selftestsEnv(cache: CacheLayout, incbin: readonly string[] = []): Record<string, string> {
  const { CCACHE_BASEDIR: _dropped, ...env } = buildEnv(cache, incbin);
  return env;
}

/** The LLVM tools the selftests' BPF objects are built with (the make arguments name them). */
export const LLVM_TOOLS: readonly (readonly [string, ...string[]])[] = [['clang-19', '--version'], ['llc-19', '--version'], ['llvm-strip-19', '--version'], ['llvm-config-19', '--version']];

/** The make arguments of the full selftests build, paths as {names}; the stamp keys on this value and the build runs it. */
export function fullSelftestsRecipe(targets: readonly string[] = ['test_progs'], withoutLibarena = false): string[] {
  return [
    '-C', '{src}', '-j{jobs}',
    // The compiler's .d files name skeletons by basename, and 6.12's Makefile maps only %.skel.h
    // basenames to OUTPUT: without these, a rebuild stops at "No rule to make target 'atomics.lskel.h'".
    '--eval=vpath %.lskel.h {out}', '--eval=vpath %.subskel.h {out}',
    'OUTPUT={out}', 'O={buildDir}', 'KDIR={buildDir}',
    'VMLINUX_BTF={buildDir}/vmlinux',
    'KHDR_INCLUDES=-isystem {headersDir}',
    'CC={cc}', 'HOSTCC={cc}',
    // The BPF objects through vm-test-cc too (ccache): a kernel rebuild regenerates vmlinux.h, and make then
    // compiles every object again, three times over (v3, no_alu32, cpuv4); an unchanged vmlinux.h gives hits.
    'CLANG={clang}', 'LLC=llc-19', 'LLVM_STRIP=llvm-strip-19', 'LLVM_CONFIG=llvm-config-19',
    // A BPF object this clang cannot build is skipped (SKIP-BPF in the log, "not built" in test_progs' Summary), not
    // the whole build: the tree's own switch for an older toolchain. What it skipped is reported.
    'BPF_STRICT_BUILD=0',
    // libarena's skeleton is a prerequisite of test_progs that permissive mode does not cover (libarenaTests).
    ...(withoutLibarena ? ['LIBARENA_SKEL='] : []),
    // bpf_testmod.ko's BTF, built by the kernel's modpost against vmlinux's: the same pahole as the kernel's.
    'PAHOLE={pahole}',
    ...targets,
  ];
}

async function llvmVersions(ctx: FullSelftestsContext): Promise<string> {
  const lines = await Promise.all(LLVM_TOOLS.map(async ([command, ...args]) => {
    const r = await ctx.exec.run({ command, args });
    return `${command}: ${r.exitCode === 0 ? r.stdout.split('\n')[0]!.trim() : 'absent'}`;
  }));
  return lines.join('\n');
}

export async function buildFullSelftests(ctx: FullSelftestsContext): Promise<FullSelftestsBuild> {
  const started = Date.now();
  const src = join(ctx.tree.worktree, SELFTESTS_DIR);
  const out = join(ctx.kernel.buildDir, 'vm-test-selftests', 'full');
  const binary = join(out, 'test_progs');
  const testmod = join(out, 'bpf_testmod.ko');
  const config = join(ctx.kernel.buildDir, '.config');
  if (!/^CONFIG_DEBUG_INFO_BTF=y$/m.test(await readFile(config, 'utf8'))) {
    throw new VmTestError('usage', `--full-selftests: the kernel in ${ctx.kernel.buildDir} has no CONFIG_DEBUG_INFO_BTF; the selftests' BPF programs need vmlinux BTF`, { file: config });
  }

  const testFiles = (await readdir(join(src, 'prog_tests'))).filter((f) => f.endsWith('.c')).sort();
  const tests = await Promise.all(testFiles.map(async (file) => ({ file, text: await readFile(join(src, 'prog_tests', file), 'utf8') })));
  const progs = new Set((await readdir(join(src, 'progs'))).filter((f) => f.endsWith('.c')));
  const clangMajor = Number(/version (\d+)\./.exec((await ctx.exec.run({ command: SELFTESTS_CLANG, args: ['--version'] })).stdout)?.[1]) || undefined;
  const noArena = libarenaTests(tests, clangMajor);
  const excluded = [...findUnbuildable(tests, progs, await readFile(join(src, 'Makefile'), 'utf8')), ...noArena];
  for (const e of excluded) {
    ctx.events.emit({ type: 'warn', stage: 'build', message: `full selftests: leaving out prog_tests/${e.file}: it includes ${e.skeleton}, ${e.reason ?? 'which nothing in this tree can generate'}` });
  }
  const names = tests.filter((t) => !excluded.some((e) => e.file === t.file)).flatMap((t) => findTestDefinitions(t.file, t.text).map((d) => d.name));

  // A kernel rebuild (new vmlinux) makes the Makefile rebuild bpf_testmod.ko; the stamp only saves running make at all,
  // so it names what make cannot see from here: the recipe, the compilers, the kernel it was built against.
  const stampPath = join(out, 'vm-test-stamp.json');
  const targets = ctx.runners?.length ? [...ctx.runners] : ['test_progs'];
  const recipe = fullSelftestsRecipe(targets, noArena.length > 0);
  const toolchain = `${ctx.toolchain ?? await toolchainFingerprint(ctx.exec, { ...(ctx.pahole ? { pahole: ctx.pahole } : {}) })}\n${await llvmVersions(ctx)}`;
  const stamp: Stamp = { treeId: ctx.tree.treeId, excluded: excluded.map((e) => e.file), recipe, toolchain, kernelBuildId: ctx.kernel.buildId, inTree: IN_TREE_STATE };
  const previous = JSON.parse(await readFile(stampPath, 'utf8').catch(() => 'null')) as Stamp | null;
  const builtRunners = () => targets.filter((t) => existsSync(join(out, t))).map((name) => ({ name, binary: join(out, name) }));
  if (ctx.kernel.cached && stampCovers(previous ?? undefined, stamp, targets) && existsSync(binary) && existsSync(testmod)) {
    const skipped = (await readFile(join(out, 'vm-test-skipped.txt'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const causes = JSON.parse(await readFile(join(out, SKIP_CAUSES), 'utf8').catch(() => '{}')) as Record<string, string>;
    return { dir: out, binary, testmod, excluded, tests: names, runners: builtRunners(), skipped, skipCauses: causes, cached: true, elapsedMs: Date.now() - started };
  }

  await waitForBuildDirReaders(ctx.kernel.buildDir, out, (r) => ctx.events.emit({ type: 'info', stage: 'build', message: describeReaders(r, 'its selftests') }), ctx.signal);
  // Gone while make runs: an interrupted build must not leave an old stamp beside half-rebuilt outputs.
  await rm(stampPath, { force: true });
  // Outputs made by another recipe (its make arguments without the targets, its environment) are not built upon: a
  // .d file of one recipe can name paths another cannot find. Unknown counts as another.
  const env = selftestsEnv(ctx.cache, ctx.ccache ? await incbinHeaders(ctx.exec, ctx.tree.worktree) : []);
  const core = JSON.stringify({ recipe: recipe.filter((a) => !targets.includes(a)), env: Object.entries(env).filter(([k]) => k.startsWith('CCACHE_')) });
  const recipeFile = join(ctx.kernel.buildDir, 'vm-test-selftests', 'full-recipe.json');
  if (existsSync(out) && (await readFile(recipeFile, 'utf8').catch(() => '')) !== core) {
    ctx.events.emit({ type: 'info', stage: 'build', message: `full selftests: ${out} was made by another recipe: building it again from scratch` });
    await rm(out, { recursive: true, force: true });
  }
  await makeDirs(dirname(recipeFile));
  await writeFile(recipeFile, core);
  // The Makefile builds every prog_tests/*.c: the unbuildable ones step aside (in the cache's own
  // worktree, never the user's) and come back whatever happens.
  await mkdir(out, { recursive: true });
  const aside = excluded.map((e) => ({ from: join(src, 'prog_tests', e.file), to: join(src, 'prog_tests', `${e.file}.vm-test-excluded`) }));
  // What make writes into the (shared) source tree is this build directory's: its own comes back first (selftests-intree.ts).
  const inTree = join(out, 'vm-test-intree.tar');
  await restoreInTree(ctx.exec, ctx.tree.worktree, SELFTESTS_DIR, inTree);
  for (const a of aside) await rename(a.from, a.to);
  let result;
  try {
    if (ctx.ccache) await installCompilerWrapper(ctx.cache);
    const cc = compilerFor(ctx.ccache, ctx.cache);
    const clang = ctx.ccache ? `${compilerWrapperPath(ctx.cache)} ${SELFTESTS_CLANG}` : SELFTESTS_CLANG;
    const paths: Record<string, string> = { src, jobs: String(ctx.jobs), out, buildDir: ctx.kernel.buildDir, headersDir: ctx.kernel.headersDir, cc, clang, pahole: ctx.pahole ?? 'pahole' };
    const make = () => ctx.exec.run({
      command: 'make',
      args: recipe.map((a) => a.replace(/\{(\w+)\}/g, (all, name: string) => paths[name] ?? all)),
      env,
      logFile: ctx.logFile,
      signal: ctx.signal,
    });
    result = await make();
    const race = result.exitCode !== 0 && !result.aborted ? rsyncVanishedRace(`${result.stdout}\n${result.stderr}`.split('\n')) : undefined;
    if (race) {
      ctx.events.emit({ type: 'warn', stage: 'build', message: `full selftests: make's rule ${race.target} (${SELFTESTS_DIR}/${race.makefile}:${race.line}) exited 24: its rsync lists the output directory while other jobs change it (a race in the tree's Makefile); running make once more` });
      const first = result;
      result = await make();
      result = { ...result, stdout: `${first.stdout}\n${result.stdout}`, stderr: `${first.stderr}\n${result.stderr}` };
    }
  } finally {
    for (const a of aside) await rename(a.to, a.from);
    await saveInTree(ctx.exec, ctx.tree.worktree, SELFTESTS_DIR, inTree);
  }
  if (result.aborted) throw new VmTestError('interrupted', 'selftests build interrupted', { logPath: ctx.logFile });
  const output = `${result.stdout}\n${result.stderr}`;
  const skipped = permissiveSkips(output);
  if (result.exitCode !== 0 || !existsSync(binary)) {
    // The parts it skipped erred too, and did not stop it: the failure is elsewhere.
    throw await buildFailure('full selftests build', result, ctx.logFile, ctx.tree.worktree, { expected: skippedPartsErrors(output, skipped), makeDir: SELFTESTS_DIR });
  }
  const causes = skipCauses(output, skipped);
  await writeFile(join(out, 'vm-test-skipped.txt'), skipped.join('\n') + '\n');
  await writeFile(join(out, SKIP_CAUSES), JSON.stringify(causes, null, 2) + '\n');
  if (skipped.length) ctx.events.emit({ type: 'warn', stage: 'build', message: `full selftests: ${skipped.length} part(s) did not build and were skipped (their tests count as "not built"): ${skipped.map((p) => (causes[p] ? `${p} (${causes[p]})` : p)).join(', ')}` });
  await writeFile(stampPath, JSON.stringify(stamp));
  return { dir: out, binary, testmod, excluded, tests: names, runners: builtRunners(), skipped, skipCauses: causes, cached: false, elapsedMs: Date.now() - started };
}
