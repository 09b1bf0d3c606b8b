// The guest suites stage: pick suites, generate their C against the tree's UAPI headers, write each program beside
// the fixed C it includes (orchestrator/guest/c/), compile each statically.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { guestSuites } from '../../guest-tests/index.ts';
import { toolchainFingerprint } from '../build/build-env.ts';
import { changedInputs, depfileInputs, linkTraceInputs, recordInputs, type InputManifest } from '../build/input-manifest.ts';
import { compilerErrors } from '../build/make-output.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { C_DIR, C_FILE_ROLES, generateSuiteC, SuiteDescriptionError, type GeneratedProgram, type UapiFeatures } from './c-program.ts';
import type { GuestTest } from './guest-plan.ts';
import type { GuestSuite } from './suite-model.ts';

/** The C one suite was built from, all in one directory. */
export interface GuestSuiteSources {
  suite: string;
  /** The generated program gcc compiled. */
  program: string;
  /** The copies of orchestrator/guest/c/ files it includes. */
  includes: string[];
}

export interface GuestSuiteBuild {
  tests: GuestTest[];
  sources: GuestSuiteSources[];
  /** Every file to keep with a run: the programs, the c/ copies once, and a README with the gcc command; copied into one directory they build again. */
  cSources: string[];
}

export interface UapiHeaders extends UapiFeatures {
  /** The directory that holds linux/bpf.h (what -I gets). */
  includeDir: string;
  bpfHeader: string;
}

const COMPILE_TIMEOUT_MS = 180_000;

/** Glob on suite names: '*' and '?', several patterns separated by commas. */
export function suiteGlob(pattern: string): (name: string) => boolean {
  const parts = pattern.split(',').map((p) => p.trim()).filter(Boolean);
  const res = parts.map((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.') + '$'));
  return (name) => res.some((re) => re.test(name));
}

export function selectSuites(select?: string, all: readonly GuestSuite[] = guestSuites): GuestSuite[] {
  if (select === undefined || select.trim() === '') return [...all];
  const match = suiteGlob(select);
  const chosen = all.filter((s) => match(s.name));
  if (chosen.length === 0) {
    throw new VmTestError('usage', `guest suite selection ${JSON.stringify(select)} matches no guest suite (suites: ${all.map((s) => s.name).join(', ')})`);
  }
  return chosen;
}

/** Find linux/bpf.h under the installed headers and see whether it has the series' UAPI. */
export async function detectUapi(headersDir: string): Promise<UapiHeaders> {
  const candidates = [headersDir, join(headersDir, 'include'), join(headersDir, 'usr', 'include')];
  const includeDir = candidates.find((d) => existsSync(join(d, 'linux', 'bpf.h')));
  if (!includeDir) {
    throw new VmTestError('buildFailed', `no linux/bpf.h under ${headersDir} (expected the output of make headers_install: <dir>/linux/bpf.h or <dir>/include/linux/bpf.h)`, { file: headersDir });
  }
  const bpfHeader = join(includeDir, 'linux', 'bpf.h');
  const text = await readFile(bpfHeader, 'utf8');
  // Either name means the series is there; if a revision renamed the other, the C build says so.
  const hasCompare = /\bBPF_F_COMPARE\b/.test(text) || /\bcompare_offset\b/.test(text);
  return { includeDir: resolve(includeDir), bpfHeader: resolve(bpfHeader), hasCompare };
}

function generate(suites: readonly GuestSuite[], uapi: UapiFeatures): GeneratedProgram[] {
  return suites.map((suite) => {
    try {
      return generateSuiteC(suite, uapi);
    } catch (error) {
      if (error instanceof SuiteDescriptionError) throw new VmTestError('usage', error.message, { file: suite.source, excerpt: error.problems.slice(0, 10) }, { cause: error });
      throw error;
    }
  });
}

/** The gcc command line, the fixed C found beside the source (its #include "..."); extra goes before -o (tests add -Werror). */
export function gccArgs(source: string, binary: string, includeDir: string, extra: readonly string[] = []): string[] {
  // -I comes before the system include directories: BPF_F_COMPARE and bpf_attr come from the tree under test.
  return ['-static', '-O2', '-pthread', '-Wall', '-Werror=implicit-function-declaration', '-I', includeDir, ...extra, '-o', binary, source];
}

/** Write a program and copies of the c/ files it includes into dir. */
async function writeProgram(dir: string, program: GeneratedProgram): Promise<GuestSuiteSources> {
  const includes: string[] = [];
  for (const name of program.includes) {
    const copy = join(dir, name);
    await writeFile(copy, await readFile(join(C_DIR, name)));
    includes.push(copy);
  }
  const source = join(dir, `${program.suite}.c`);
  await writeFile(source, program.text);
  return { suite: program.suite, program: source, includes };
}

/** A README beside the programs: where they come from and the gcc command that builds each. */
async function writeReadme(dir: string, programs: readonly GeneratedProgram[], uapi: UapiFeatures, includeDir?: string): Promise<string> {
  const path = join(dir, 'README');
  const headers = includeDir ?? '<headers>';
  await writeFile(path, [
    'Generated by vm-test from guest-tests/*.ts (`vm-test gen-tests --out DIR` writes the same). The vmt-*.c and vmt-*.h',
    'files are copies of orchestrator/guest/c/: the runtime, main and the scenarios the programs #include.',
    `They were generated for UAPI headers ${uapi.hasCompare ? 'with' : 'without'} BPF_F_COMPARE. Each program builds on its own`,
    includeDir ? `(against ${includeDir}, the headers the run built them with):` : '(<headers>: the output of make headers_install, the directory holding linux/bpf.h):',
    '',
    ...programs.map((p) => `  gcc ${gccArgs(`${p.suite}.c`, p.suite, headers).join(' ')}`),
    '',
    'Each binary prints KTAP version 1 on stdout and exits 1 if a case failed; --help lists its parameters.',
    '',
  ].join('\n'));
  return path;
}

/** Write the C of the selected suites and the c/ files they include (for `vm-test gen-tests`); returns every path written, programs first. */
export async function generateSuitesC(outDir: string, headers: UapiFeatures, select?: string): Promise<string[]> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const programs = generate(selectSuites(select), headers);
  const written: GuestSuiteSources[] = [];
  for (const program of programs) written.push(await writeProgram(dir, program));
  return [...written.map((w) => w.program), ...new Set(written.flatMap((w) => w.includes)), await writeReadme(dir, programs, headers)];
}

/** Which case of the program (or which c/ file) a line of source belongs to. */
function regionAt(program: GeneratedProgram, sources: GuestSuiteSources, file: string, line: number): string | undefined {
  if (file === sources.program) return program.regions.find((r) => line >= r.first && line <= r.last)?.name;
  return sources.includes.includes(file) ? C_FILE_ROLES[basename(file)] : undefined;
}

/** What a binary's stamp holds: the key known before the compile, and every file the compile and the link read. */
interface CompileStamp {
  key: string;
  inputs: InputManifest;
}

async function readStamp(path: string): Promise<CompileStamp | undefined> {
  try {
    const stamp = JSON.parse(await readFile(path, 'utf8')) as CompileStamp;
    return typeof stamp.key === 'string' && stamp.inputs && typeof stamp.inputs.files === 'object' ? stamp : undefined;
  } catch {
    return undefined;
  }
}

interface CompileContext {
  exec: ExecPort;
  uapi: UapiHeaders;
  /** toolchainFingerprint: the compiler, assembler and linker that made a binary. */
  toolchain: string;
  /** Hashes of inputs already read in this check (libc.a and the UAPI headers are shared by every suite). */
  memo: Map<string, Promise<string>>;
  logFile: string;
  signal?: AbortSignal;
}

/**
 * Compile one suite unless its binary is up to date: same program, c/ files, gcc arguments and toolchain (the key),
 * and every header, archive and start file the last compile and link read (gcc -MD and ld -t, re-hashed: the UAPI
 * headers, the host's libc headers, libc.a) reads the same.
 */
async function compile(ctx: CompileContext, program: GeneratedProgram, sources: GuestSuiteSources, binary: string): Promise<void> {
  const { exec, uapi, logFile, signal } = ctx;
  const source = sources.program;
  const depfile = `${binary}.d`;
  // -MD -MF: the headers read; -Wl,-t: ld names every file it opens (crt1.o, libc.a, libgcc.a) on stdout.
  const args = gccArgs(source, binary, uapi.includeDir, ['-MD', '-MF', depfile, '-Wl,-t']);
  const stampFile = `${binary}.stamp`;
  const hash = createHash('sha256').update(program.text);
  for (const file of sources.includes) hash.update('\0').update(basename(file)).update('\0').update(await readFile(file));
  const key = hash.update('\0').update(args.join('\0')).update('\0').update(ctx.toolchain).digest('hex');
  const stamp = existsSync(binary) ? await readStamp(stampFile) : undefined;
  if (stamp?.key === key && (await changedInputs(stamp.inputs, ctx.memo)).length === 0) return;
  await Promise.all([rm(stampFile, { force: true }), rm(depfile, { force: true })]);
  const result = await exec.run({ command: 'gcc', args, logFile, timeoutMs: COMPILE_TIMEOUT_MS, signal });
  if (result.spawnError) throw new VmTestError('missingTool', `gcc could not be started (${result.spawnError}); install gcc and libc6-dev`, { logPath: logFile });
  if (result.aborted) throw new VmTestError('interrupted', `guest suite ${program.suite}: compile interrupted`);
  if (result.exitCode === 0 && !result.timedOut) {
    const deps = await readFile(depfile, 'utf8').catch(() => undefined);
    // Without the dependency file the headers are not known: no stamp, so the next run compiles again.
    if (deps !== undefined) {
      const read = [...depfileInputs(deps, dirname(binary)), ...linkTraceInputs(result.stdout, dirname(binary))];
      await writeFile(stampFile, JSON.stringify({ key, inputs: await recordInputs(read) } satisfies CompileStamp) + '\n');
    }
    return;
  }
  const lines = [...result.stderr.split('\n'), ...result.stdout.split('\n')];
  const errors = compilerErrors(lines);
  const first = errors[0];
  if (!first) {
    const why = result.timedOut ? `timed out after ${COMPILE_TIMEOUT_MS / 1000} s` : `exit ${result.exitCode ?? result.signal}`;
    throw new VmTestError('buildFailed', `guest suite ${program.suite}: gcc failed (${why}) without a compiler error; see ${logFile}`, { file: source, logPath: logFile, excerpt: result.tail.slice(-10) });
  }
  const inCase = regionAt(program, sources, first.file, first.line);
  const where = `${first.file}:${first.line}`;
  const ours = first.file === source || sources.includes.includes(first.file);
  const codeLine = ours ? (await readFile(first.file, 'utf8').catch(() => '')).split('\n')[first.line - 1]?.trim() : undefined;
  const message = `guest suite ${program.suite}${inCase ? ` (${inCase})` : ''}: C build failed at ${where}: ${first.message}` +
    (uapi.hasCompare ? ` (UAPI from ${uapi.includeDir}: has the series renamed or dropped something the suite uses?)` : '');
  throw new VmTestError('buildFailed', message, {
    file: first.file,
    line: first.line,
    logPath: logFile,
    excerpt: [...errors.map((e) => `${e.file}:${e.line}: error: ${e.message}`), ...(codeLine ? [`${first.line} | ${codeLine}`] : [])],
  });
}

/**
 * Generate, compile and plan the selected suites. Binaries go to outDir (absolute paths in argv: the guest sees
 * the host's / read-only, except /tmp, so outDir must not be under /tmp for a real run).
 */
export async function prepareGuestSuites(opts: {
  exec: ExecPort;
  headersDir: string;
  outDir: string;
  select?: string;
  timeoutSec: number;
  logFile: string;
  signal?: AbortSignal;
  /** toolchainFingerprint's answer, when the caller has it already (the kernel build asks too). */
  toolchain?: string;
}): Promise<GuestSuiteBuild> {
  const suites = selectSuites(opts.select);
  const uapi = await detectUapi(opts.headersDir);
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const tests: GuestTest[] = [];
  const sources: GuestSuiteSources[] = [];
  const programs = generate(suites, uapi);
  const compileCtx: CompileContext = { exec: opts.exec, uapi, toolchain: opts.toolchain ?? await toolchainFingerprint(opts.exec), memo: new Map(), logFile: opts.logFile, signal: opts.signal };
  for (const program of programs) {
    const written = await writeProgram(outDir, program);
    const binary = join(outDir, program.suite);
    sources.push(written);
    await compile(compileCtx, program, written, binary);
    tests.push({ name: program.suite, kind: 'ktap', argv: [binary], timeoutSec: opts.timeoutSec });
  }
  const readme = await writeReadme(outDir, programs, uapi, uapi.includeDir);
  const cSources = [...sources.map((w) => w.program), ...new Set(sources.flatMap((w) => w.includes)), readme];
  return { tests, sources, cSources };
}
