// A targeted test_progs: the runner plus only the selected prog_tests, no BPF objects, no bpftool.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from '../cache.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { gitOutput } from '../source/git.ts';
import type { PreparedTree } from '../source/workspace.ts';
import { buildEnv, compilerFor, installCompilerWrapper, toolchainFingerprint, incbinHeaders } from './build-env.ts';
import { changedInputs, cmdFileInputs, depfileInputs, linkTraceInputs, readManifest, recordInputs, writeManifest } from './input-manifest.ts';
import { describeReaders, waitForBuildDirReaders } from './build-readers.ts';
import { buildFailure } from './make-output.ts';
import { describeSelection, type TestProgsSelection } from '../guest/guest-plan.ts';

/**
 * The runner's own C sources, read from the test_progs runner's TRUNNER_EXTRA_SOURCES and
 * TRUNNER_LIB_SOURCES in the tree's selftests Makefile: the list changes between kernels (7.x
 * adds sysctl_helpers.c, io_helpers.c, usdt_1.c, ...). Make variables ($(VERIFY_SIG_HDR)) and
 * headers are not sources; the generated headers the runner needs are made separately.
 */
export function runnerSources(makefile: string): string[] | undefined {
  const runnerAt = makefile.search(/^TRUNNER_EXTRA_SOURCES\s*:=\s*test_progs\.c/m);
  if (runnerAt < 0) return undefined;
  const words = (name: string): string[] => {
    const at = makefile.slice(runnerAt).search(new RegExp(`^${name}\\s*:=`, 'm'));
    if (at < 0) return [];
    const lines: string[] = [];
    for (const line of makefile.slice(runnerAt + at).split('\n')) {
      lines.push(line.replace(/\\$/, ''));
      if (!line.endsWith('\\')) break;
    }
    return lines.join(' ').split(/\s+/).slice(2).filter((w) => w.endsWith('.c') && !w.includes('$'));
  };
  return [...words('TRUNNER_EXTRA_SOURCES'), ...words('TRUNNER_LIB_SOURCES')];
}

/** A C header holding the DER bytes, as the selftests Makefile writes verification_cert.h. */
export function certificateHeader(der: Uint8Array): string {
  const rows: string[] = [];
  for (let i = 0; i < der.length; i += 12) rows.push('  ' + [...der.subarray(i, i + 12)].map((b) => `0x${b.toString(16).padStart(2, '0')},`).join(' '));
  return `unsigned char test_progs_verification_cert[] = {\n${rows.join('\n')}\n};\nunsigned int test_progs_verification_cert_len = ${der.length};\n`;
}

/** Fragments in kernel-config/ the tree's test_progs runner needs in the kernel, with the reason. */
export async function runnerFragments(worktree: string): Promise<{ name: string; why: string }[]> {
  const text = await readFile(join(worktree, 'tools/testing/selftests/bpf/test_progs.c'), 'utf8').catch(() => '');
  return /register_session_key|verification_cert\.h/.test(text)
    ? [{ name: 'test-progs-keys', why: "this tree's test_progs adds a session key at start (add_key \"asymmetric\") and exits when it cannot" }]
    : [];
}

export interface TestProgsBuild {
  binary: string;
  tests: string[];
  cached: boolean;
  elapsedMs: number;
}

export interface SelftestsContext {
  exec: ExecPort;
  events: RunEvents;
  cache: CacheLayout;
  tree: PreparedTree;
  buildDir: string;
  ccache: boolean;
  logFile: string;
  signal?: AbortSignal;
  /** toolchainFingerprint's answer, when the caller has it already (the kernel build asks too). */
  toolchain?: string;
}

/**
 * How the targeted test_progs is made, with paths as {names}: the cache key hashes this value, and the build
 * runs exactly these arguments, so a change to a flag here is a change of key.
 */
export interface TestProgsRecipe {
  /** make's arguments for libbpf.a and its headers. */
  libbpfMake: string[];
  /** gcc's arguments for each runner and test object, before -c <file> -o <object>. */
  cflags: string[];
  /** gcc's arguments for the link; {objects} stands for the objects. */
  link: string[];
}

export interface RecipePaths {
  tree: string;
  src: string;
  tools: string;
  libbpfOut: string;
  libbpfRoot: string;
  runnerDir: string;
  /** CC: gcc, or gcc behind vm-test-cc (ccache gives the objects gcc would; not part of the key). */
  cc: string;
}

/** 7.x's selftests lib.mk builds everything with _GNU_SOURCE (test_loader.c needs strverscmp); 6.12's does not. */
export function gnuSourceIn(libMk: string): boolean {
  return /^CFLAGS \+= -D_GNU_SOURCE=?\s*$/m.test(libMk);
}

export function testProgsRecipe(gnuSource: boolean): TestProgsRecipe {
  return {
    // The static library only: test_progs links libbpf.a, and "all" compiles every object a second time for libbpf.so (15.0 s against 7.4 s here, ccache warm).
    libbpfMake: ['-C', '{tree}/tools/lib/bpf', 'OUTPUT={libbpfOut}/', 'DESTDIR={libbpfRoot}', 'prefix=', 'CC={cc}', '-j2', '{libbpfOut}/libbpf.a', 'install_headers'],
    cflags: [
      '-g', '-O0', '-rdynamic', '-std=gnu11', ...(gnuSource ? ['-D_GNU_SOURCE='] : []), '-Wall', '-Werror', '-fno-omit-frame-pointer',
      // object.d beside each object: the headers it read, for the inputs checked before a reuse.
      '-MD',
      '-I{src}', '-I{libbpfRoot}/include', '-I{tools}/include', '-I{tools}/lib', '-I{tools}/arch/x86/include', '-I{tools}/include/uapi', '-I{runnerDir}',
    ],
    // -t: ld names every file it opens (libelf.so, libc_nonshared.a, crt1.o, ...) on stdout, for the same check.
    link: ['-rdynamic', '-o', '{output}', '{objects}', '{libbpfOut}/libbpf.a', '-lelf', '-lz', '-lrt', '-lpthread', '-Wl,-t'],
  };
}

/** The targeted test_progs' directory key: what is known before the build (the inputs recorded after it are checked apart). */
export function testProgsKey(inputs: { recipe: TestProgsRecipe; toolchain: string; toolsTree: string | undefined; files: readonly string[] }): string {
  return createHash('sha256').update(JSON.stringify({ recipe: inputs.recipe, toolchain: inputs.toolchain, toolsTree: inputs.toolsTree, files: inputs.files })).digest('hex').slice(0, 16);
}

/** A recipe's arguments with the {names} filled in; an argument that is exactly {objects} becomes the objects. */
export function expandRecipe(args: readonly string[], paths: RecipePaths, link: { objects: string[]; output: string } = { objects: [], output: '' }): string[] {
  const values: Record<string, string> = { ...paths, output: link.output };
  return args.flatMap((arg) => arg === '{objects}' ? link.objects : [arg.replace(/\{(\w+)\}/g, (all, name: string) => values[name] ?? all)]);
}

/**
 * What the compiles and the link read: each object's .d, libbpf's .cmd files (fixdep's), the linker's trace.
 * Undefined when an object has no .d: its headers are not known, and the binary must not be reused.
 */
async function inputsRead(objects: readonly string[], libbpfOut: string, libbpfSrc: string, linkStdout: string, runnerDir: string): Promise<string[] | undefined> {
  const out: string[] = [];
  for (const object of objects) {
    const text = await readFile(object.replace(/\.o$/, '.d'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    out.push(...depfileInputs(text, runnerDir));
  }
  const staticObjs = join(libbpfOut, 'staticobjs');
  for (const name of (await readdir(staticObjs).catch(() => [] as string[])).filter((f) => f.endsWith('.o.cmd'))) {
    out.push(...cmdFileInputs(await readFile(join(staticObjs, name), 'utf8'), libbpfSrc));
  }
  out.push(...linkTraceInputs(linkStdout, runnerDir));
  return out;
}

export interface TestDefinition {
  name: string;
  file: string;
  /** Generated headers it includes (skeletons): a targeted build cannot make these. */
  needs: string[];
}

const DEFINE = /^void (?:serial_)?test_([a-zA-Z0-9_]+)\((?:void)?\)/gm;

/** The generated BPF skeleton headers a test file includes (foo.skel.h, foo.lskel.h, foo.subskel.h). */
export function skeletonsIncluded(text: string): string[] {
  return [...text.matchAll(/^#include\s+[<"]([^>"]+\.(?:skel|lskel|subskel)\.h)[>"]/gm)].map((m) => m[1]!);
}

/** The same scan the selftests Makefile does to make prog_tests/tests.h. */
export function findTestDefinitions(file: string, text: string): TestDefinition[] {
  const needs = skeletonsIncluded(text);
  return [...text.matchAll(DEFINE)].map((m) => ({ name: m[1]!, file, needs }));
}

/** A test_progs glob (-a, -d, DENYLIST entries): * matches any run of characters, the rest literally. */
export function globMatch(pattern: string, name: string): boolean {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name);
}

/**
 * The tests a selection can run, as test_progs decides at the test level: -t by substring, -a by
 * glob (the part before a '/'), minus whole tests -d or the denylist names (a test/subtest entry
 * leaves the test in: test_progs drops the subtest when it runs).
 */
export function selectTests(all: readonly TestDefinition[], selection: TestProgsSelection | readonly string[]): TestDefinition[] {
  const sel: TestProgsSelection = Array.isArray(selection) ? { test: selection as readonly string[], allow: [], deny: [] } : (selection as TestProgsSelection);
  const tops = sel.test.map((f) => f.split('/')[0]!);
  const allows = sel.allow.map((f) => f.split('/')[0]!);
  const denies = [...sel.deny, ...(sel.denylist?.entries ?? [])].filter((d) => !d.includes('/'));
  return all.filter((t) => (tops.some((f) => t.name.includes(f)) || allows.some((a) => globMatch(a, t.name))) && !denies.some((d) => globMatch(d, t.name)));
}

/**
 * Undefined instead of an error: with allowMissing, for a selection that matches nothing (a bisect
 * prefix before the test was added); with allowSkeletons, for one that needs BPF skeletons (the
 * full selftests build runs it, and there is nothing to compare with).
 */
export async function buildTestProgs(ctx: SelftestsContext, filters: TestProgsSelection | readonly string[], allowMissing = false, allowSkeletons = false): Promise<TestProgsBuild | undefined> {
  const started = Date.now();
  const src = join(ctx.tree.worktree, 'tools/testing/selftests/bpf');
  const testsDir = join(src, 'prog_tests');
  const all: TestDefinition[] = [];
  for (const file of (await readdir(testsDir)).filter((f) => f.endsWith('.c')).sort()) {
    all.push(...findTestDefinitions(file, await readFile(join(testsDir, file), 'utf8')));
  }
  const selected = selectTests(all, filters);
  if (selected.length === 0) {
    if (allowMissing) return undefined;
    throw new VmTestError('usage', `test_progs ${describeSelection(filters)}: no test in ${testsDir} is selected (a test is a "void test_<name>(void)" function)`, { file: testsDir });
  }
  const needy = selected.filter((t) => t.needs.length > 0);
  if (needy.length > 0) {
    if (allowSkeletons) return undefined;
    throw new VmTestError('usage', `test(s) ${needy.map((t) => `${t.name} (${t.file} needs ${t.needs.join(', ')})`).join('; ')} use BPF skeletons, which the targeted test_progs build does not make`, { file: join(testsDir, needy[0]!.file) });
  }

  // The key names what is known before the build: the recipe, the toolchain, the whole tools tree (the runner's
  // sources, libbpf, the tools headers, the Makefiles the source lists come from) and the selected files. What
  // the compile and the link read besides (host headers, libc, a symlink out of tools/ such as disasm.h) is
  // recorded after the build from the dependency files and the linker's trace, and checked before a reuse.
  const tools = join(ctx.tree.worktree, 'tools');
  const libMk = await readFile(join(src, '../lib.mk'), 'utf8').catch(() => '');
  const recipe = testProgsRecipe(gnuSourceIn(libMk));
  const toolchain = ctx.toolchain ?? await toolchainFingerprint(ctx.exec);
  const toolsTree = await gitOutput(ctx.exec, ['rev-parse', 'HEAD:tools'], { cwd: ctx.tree.worktree });
  const files = [...new Set(selected.map((t) => t.file))];
  const key = testProgsKey({ recipe, toolchain, toolsTree, files });
  const outDir = join(ctx.buildDir, 'vm-test-selftests');
  // libbpf builds incrementally (make) across trees, but never across recipes or toolchains: make would call it up to date.
  const libbpfKey = createHash('sha256').update(JSON.stringify({ make: recipe.libbpfMake, toolchain })).digest('hex').slice(0, 12);
  const libbpfOut = join(outDir, `libbpf-${libbpfKey}`);
  const libbpfRoot = join(outDir, 'libbpf-root');
  const runnerDir = join(outDir, `test_progs-${key}`);
  const binary = join(runnerDir, 'test_progs');
  const manifestPath = join(runnerDir, 'inputs.json');
  const tests = selected.map((t) => t.name);
  const manifest = existsSync(binary) ? await readManifest(manifestPath) : undefined;
  const changed = manifest ? await changedInputs(manifest) : undefined;
  if (changed && changed.length === 0) return { binary, tests, cached: true, elapsedMs: Date.now() - started };
  if (changed) ctx.events.emit({ type: 'info', stage: 'build', message: `test_progs: ${changed.length} input(s) changed since ${binary} was built (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''}); building it again` });
  await waitForBuildDirReaders(ctx.buildDir, runnerDir, (r) => ctx.events.emit({ type: 'info', stage: 'build', message: describeReaders(r, 'its test_progs') }), ctx.signal);
  await rm(manifestPath, { force: true });

  await mkdir(libbpfOut, { recursive: true });
  await mkdir(join(runnerDir, 'prog_tests'), { recursive: true });
  if (ctx.ccache) await installCompilerWrapper(ctx.cache);
  const env = buildEnv(ctx.cache, ctx.ccache ? await incbinHeaders(ctx.exec, ctx.tree.worktree) : []);
  const cc = compilerFor(ctx.ccache, ctx.cache);
  const paths: RecipePaths = { tree: ctx.tree.worktree, src, tools, libbpfOut, libbpfRoot, runnerDir, cc };
  const fail = async (what: string, result: { exitCode?: number; tail: string[] }): Promise<never> => {
    throw await buildFailure(what, result, ctx.logFile, ctx.tree.worktree);
  };

  ctx.events.emit({ type: 'progress', stage: 'build', step: 'libbpf', done: 0 });
  const libbpf = await ctx.exec.run({ command: 'make', args: expandRecipe(recipe.libbpfMake, paths), env, logFile: ctx.logFile, signal: ctx.signal });
  if (libbpf.exitCode !== 0) await fail('libbpf build', libbpf);

  const makefile = await readFile(join(src, 'Makefile'), 'utf8').catch(() => '');
  const runnerFiles = runnerSources(makefile);
  if (!runnerFiles) throw new VmTestError('infra', `${join(src, 'Makefile')}: no "TRUNNER_EXTRA_SOURCES := test_progs.c ..." for the test_progs runner`, { file: join(src, 'Makefile') });
  // TRUNNER_LIB_SOURCES (find_bit.c) live in tools/lib.
  const located = runnerFiles.map((f) => existsSync(join(src, f)) ? join(src, f) : join(tools, 'lib', f));
  if (/#include "verification_cert\.h"/.test(await readFile(join(src, 'test_progs.c'), 'utf8'))) {
    await writeFile(join(runnerDir, 'verification_cert.h'), certificateHeader(await makeVerificationCert(ctx, src, runnerDir)));
  }
  await writeFile(join(runnerDir, 'prog_tests/tests.h'), '/* Generated by vm-test: the selected tests only */\n' + selected.map((t) => `DEFINE_TEST(${t.name})`).join('\n') + '\n');
  const cflags = expandRecipe(recipe.cflags, paths);
  const sources = [...located, ...files.map((f) => join(testsDir, f))];
  const objects: string[] = [];
  let done = 0;
  const compileOne = async (file: string): Promise<void> => {
    const object = join(runnerDir, file.split('/').pop()!.replace(/\.c$/, '.o'));
    objects.push(object);
    const [command, ...pre] = cc.split(' ');
    const result = await ctx.exec.run({ command: command!, args: [...pre, ...cflags, '-c', file, '-o', object], cwd: runnerDir, env, logFile: ctx.logFile, signal: ctx.signal });
    done++;
    ctx.events.emit({ type: 'progress', stage: 'build', step: `CC ${file.split('/').pop()}`, done, total: sources.length });
    if (result.exitCode !== 0) await fail(`compiling ${file}`, result);
  };
  // Two at a time: the machine has two cores.
  const queue = [...sources];
  await Promise.all([0, 1].map(async () => {
    while (queue.length) await compileOne(queue.shift()!);
  }));
  const link = await ctx.exec.run({
    command: 'gcc',
    args: expandRecipe(recipe.link, paths, { objects: objects.sort(), output: `${binary}.tmp` }),
    cwd: runnerDir, env, logFile: ctx.logFile, signal: ctx.signal,
  });
  if (link.exitCode !== 0) await fail('linking test_progs', link);
  await rename(`${binary}.tmp`, binary);
  // Our own outputs (objects, libbpf, its installed headers, tests.h) follow from the key; everything else read is recorded.
  const read = await inputsRead(objects, libbpfOut, join(tools, 'lib/bpf'), link.stdout, runnerDir);
  if (read) await writeManifest(manifestPath, await recordInputs(read.filter((p) => !p.startsWith(outDir + '/'))));
  else ctx.events.emit({ type: 'warn', stage: 'build', message: `test_progs: a compile wrote no dependency file (gcc -MD), so what it read is not known: ${binary} will be built again next time` });
  return { binary, tests: selected.map((t) => t.name), cached: false, elapsedMs: Date.now() - started };
}

/** The signing certificate 7.x's test_progs registers at start, made by the tree's own verify_sig_setup.sh genkey (openssl). */
async function makeVerificationCert(ctx: SelftestsContext, src: string, runnerDir: string): Promise<Uint8Array> {
  const keyDir = join(runnerDir, 'signing-key');
  await mkdir(keyDir, { recursive: true });
  const gen = await ctx.exec.run({ command: 'bash', args: [join(src, 'verify_sig_setup.sh'), 'genkey', keyDir], env: { SELFTESTS_VERBOSE: '1' }, logFile: ctx.logFile, signal: ctx.signal });
  const der = join(keyDir, 'signing_key.der');
  if (gen.exitCode !== 0 || !existsSync(der)) {
    throw new VmTestError('buildFailed', `verify_sig_setup.sh genkey failed (exit ${gen.exitCode}): test_progs needs verification_cert.h`, { file: join(src, 'verify_sig_setup.sh'), logPath: ctx.logFile, excerpt: gen.tail.slice(-5) });
  }
  return readFile(der);
}
