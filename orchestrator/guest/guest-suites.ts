// The guest suites stage: pick suites, generate their C against the tree's UAPI headers, compile each statically.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { guestSuites } from '../../guest-tests/index.ts';
import { compilerErrors } from '../build/make-output.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { generateSuiteC, SuiteDescriptionError, type GeneratedProgram, type UapiFeatures } from './c-program.ts';
import type { GuestTest } from './guest-plan.ts';
import type { GuestSuite } from './suite-model.ts';

export interface GuestSuiteBuild {
  tests: GuestTest[];
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

/** Write the C of the selected suites (for `vm-test gen-tests`); returns the paths. */
export async function generateSuitesC(outDir: string, headers: { hasCompare: boolean }, select?: string): Promise<string[]> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const program of generate(selectSuites(select), headers)) {
    const path = join(dir, `${program.suite}.c`);
    await writeFile(path, program.text);
    paths.push(path);
  }
  return paths;
}

export function gccArgs(source: string, binary: string, includeDir: string): string[] {
  // -I comes before the system include directories: BPF_F_COMPARE and bpf_attr come from the tree under test.
  return ['-static', '-O2', '-pthread', '-Wall', '-Werror=implicit-function-declaration', '-I', includeDir, '-o', binary, source];
}

/** Which case (or helper block) a generated line belongs to. */
function regionAt(program: GeneratedProgram, line: number): string | undefined {
  return program.regions.find((r) => line >= r.first && line <= r.last)?.name;
}

async function compile(exec: ExecPort, program: GeneratedProgram, source: string, binary: string, uapi: UapiHeaders, logFile: string, signal?: AbortSignal): Promise<void> {
  const args = gccArgs(source, binary, uapi.includeDir);
  const stampFile = `${binary}.stamp`;
  const stamp = createHash('sha256').update(program.text).update('\0').update(await readFile(uapi.bpfHeader)).update('\0').update(args.join('\0')).digest('hex');
  if (existsSync(binary) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return;
  const result = await exec.run({ command: 'gcc', args, logFile, timeoutMs: COMPILE_TIMEOUT_MS, signal });
  if (result.spawnError) throw new VmTestError('missingTool', `gcc could not be started (${result.spawnError}); install gcc and libc6-dev`, { logPath: logFile });
  if (result.aborted) throw new VmTestError('interrupted', `guest suite ${program.suite}: compile interrupted`);
  if (result.exitCode === 0 && !result.timedOut) {
    await writeFile(stampFile, stamp);
    return;
  }
  const lines = [...result.stderr.split('\n'), ...result.stdout.split('\n')];
  const errors = compilerErrors(lines);
  const first = errors[0];
  const sourceLines = program.text.split('\n');
  if (!first) {
    const why = result.timedOut ? `timed out after ${COMPILE_TIMEOUT_MS / 1000} s` : `exit ${result.exitCode ?? result.signal}`;
    throw new VmTestError('buildFailed', `guest suite ${program.suite}: gcc failed (${why}) without a compiler error; see ${logFile}`, { file: source, logPath: logFile, excerpt: result.tail.slice(-10) });
  }
  const inCase = first.file === source ? regionAt(program, first.line) : undefined;
  const where = `${first.file}:${first.line}`;
  const codeLine = first.file === source ? sourceLines[first.line - 1]?.trim() : undefined;
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
}): Promise<GuestSuiteBuild> {
  const suites = selectSuites(opts.select);
  const uapi = await detectUapi(opts.headersDir);
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const tests: GuestTest[] = [];
  const cSources: string[] = [];
  for (const program of generate(suites, uapi)) {
    const source = join(outDir, `${program.suite}.c`);
    const binary = join(outDir, program.suite);
    await writeFile(source, program.text);
    cSources.push(source);
    await compile(opts.exec, program, source, binary, uapi, opts.logFile, opts.signal);
    tests.push({ name: program.suite, kind: 'ktap', argv: [binary], timeoutSec: opts.timeoutSec });
  }
  return { tests, cSources };
}
