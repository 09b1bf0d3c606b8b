// Series stage: load a revision of a patch series and apply it with git am in the cache's worktree.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { git, gitOutput } from '../source/git.ts';
import { isProblem, parsePatchFile, type PatchFile } from './mbox.ts';

export interface SeriesManifest {
  series?: string;
  revision?: string;
  subject?: string;
  base?: { kernel?: string; version?: string; commit?: string };
  cover?: string;
  patches?: string[];
  tests?: { test_progs?: string[] };
}

export interface Series {
  /** e.g. bpf-f-compare/v1-6.12, or the directory's path. */
  name: string;
  dir: string;
  manifest: SeriesManifest;
  patches: PatchFile[];
  /** Content hash over the patches, in order. */
  hash: string;
}

const PATCH_FILE = /\.(patch|mbox|eml|diff)$/;

/** --series takes a name under patches/ (bpf-f-compare/v1-6.12) or any directory of mbox patches. */
export function resolveSeriesDir(arg: string, patchesRoot: string, cwd: string): string {
  if (isAbsolute(arg) || arg.startsWith('./') || arg.startsWith('../')) return resolve(cwd, arg);
  if (existsSync(join(patchesRoot, arg))) return join(patchesRoot, arg);
  if (existsSync(resolve(cwd, arg))) return resolve(cwd, arg);
  return join(patchesRoot, arg);
}

export async function loadSeries(dir: string, patchesRoot: string, limit?: number): Promise<Series> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    const known = await listRevisions(patchesRoot).catch(() => []);
    throw new VmTestError('usage', `--series ${dir}: no such directory${known.length ? ` (known: ${known.join(', ')})` : ''}`, { file: dir });
  }
  let manifest: SeriesManifest = {};
  const manifestPath = join(dir, 'series.json');
  if (existsSync(manifestPath)) {
    const text = await readFile(manifestPath, 'utf8');
    try {
      manifest = JSON.parse(text) as SeriesManifest;
    } catch (error) {
      throw new VmTestError('usage', `${manifestPath}: not valid JSON: ${(error as Error).message}`, { file: manifestPath });
    }
    if (manifest.patches !== undefined && (!Array.isArray(manifest.patches) || manifest.patches.some((p) => typeof p !== 'string'))) {
      throw new VmTestError('usage', `${manifestPath}: "patches" must be a list of file names`, { file: manifestPath });
    }
  }
  let names = manifest.patches;
  if (!names) {
    names = (await readdir(dir)).filter((f) => PATCH_FILE.test(f)).sort();
    names = names.filter((f) => f !== manifest.cover && !/^0000-cover-letter/.test(f));
  }
  if (names.length === 0) throw new VmTestError('usage', `${dir}: no patch files (*.patch, *.mbox, *.eml) and no "patches" in series.json`, { file: dir });
  if (limit !== undefined) names = names.slice(0, limit);
  const patches: PatchFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) throw new VmTestError('usage', `${manifestPath}: lists ${name}, which does not exist in ${dir}`, { file: manifestPath });
    const parsed = parsePatchFile(path, text);
    if (isProblem(parsed)) throw new VmTestError('usage', `${parsed.path}:${parsed.line}: ${parsed.message}`, { file: parsed.path, line: parsed.line });
    patches.push(parsed);
  }
  const hash = createHash('sha256');
  patches.forEach((p) => hash.update(p.text).update('\0'));
  const rel = relative(patchesRoot, dir);
  const name = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
  return { name, dir, manifest, patches, hash: hash.digest('hex').slice(0, 16) };
}

export async function listRevisions(patchesRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const series of (await readdir(patchesRoot, { withFileTypes: true })).filter((d) => d.isDirectory())) {
    for (const rev of (await readdir(join(patchesRoot, series.name), { withFileTypes: true })).filter((d) => d.isDirectory())) {
      out.push(`${series.name}/${rev.name}`);
    }
  }
  return out.sort();
}

export interface ApplyFailure {
  /** 1-based position of the patch in the series. */
  number: number;
  subject: string;
  patchFile: string;
  /** file:line of each hunk git could not place. */
  failedHunks: string[];
  conflicts: string[];
  output: string[];
}

/** Which hunks of a patch do not apply to a tree: git apply --check names file:line of each. */
export function parseApplyErrors(lines: readonly string[]): { failedHunks: string[]; conflicts: string[] } {
  const failedHunks: string[] = [];
  const conflicts: string[] = [];
  for (const line of lines) {
    const hunk = /^error: patch failed: (\S+:\d+)/.exec(line);
    if (hunk && !failedHunks.includes(hunk[1]!)) failedHunks.push(hunk[1]!);
    const missing = /^error: (\S+): (does not exist in index|No such file or directory)/.exec(line);
    if (missing) failedHunks.push(`${missing[1]} (${missing[2]})`);
    const conflict = /^CONFLICT \([^)]*\): Merge conflict in (\S+)/.exec(line);
    if (conflict) conflicts.push(conflict[1]!);
  }
  return { failedHunks, conflicts };
}

export interface ApplyContext {
  exec: ExecPort;
  worktree: string;
  logFile: string;
  signal?: AbortSignal;
}

/** git am the series onto the worktree's current HEAD; on failure abort and return what failed. */
export async function applySeries(ctx: ApplyContext, series: Series): Promise<{ head: string } | { failure: ApplyFailure }> {
  const opts = { cwd: ctx.worktree, logFile: ctx.logFile, signal: ctx.signal };
  const before = await gitOutput(ctx.exec, ['rev-parse', 'HEAD'], opts);
  for (let i = 0; i < series.patches.length; i++) {
    const patch = series.patches[i]!;
    // One patch per git am call, so the failing patch's number is certain.
    const am = await git(ctx.exec, ['am', '--3way', '--keep-cr', '--committer-date-is-author-date', patch.path], opts);
    if (am.exitCode === 0) continue;
    const output = [...am.stdout.split('\n'), ...am.stderr.split('\n')].filter(Boolean);
    await git(ctx.exec, ['am', '--abort'], opts);
    const check = await git(ctx.exec, ['apply', '--check', '--verbose', patch.path], opts);
    const fromCheck = parseApplyErrors([...check.stdout.split('\n'), ...check.stderr.split('\n')]);
    const fromAm = parseApplyErrors(output);
    if (before) await git(ctx.exec, ['checkout', '-q', '--detach', '-f', before], opts);
    return {
      failure: {
        number: i + 1,
        subject: patch.subject,
        patchFile: patch.path,
        failedHunks: fromCheck.failedHunks.length ? fromCheck.failedHunks : fromAm.failedHunks,
        conflicts: fromAm.conflicts,
        output,
      },
    };
  }
  const head = await gitOutput(ctx.exec, ['rev-parse', 'HEAD'], opts);
  if (!head) throw new VmTestError('infra', `git rev-parse HEAD failed in ${ctx.worktree}`, { logPath: ctx.logFile });
  return { head };
}

export function describeApplyFailure(f: ApplyFailure, total: number): string {
  const where = f.failedHunks.length ? `; failed hunks: ${f.failedHunks.join(', ')}` : '';
  const conflicts = f.conflicts.length ? `; 3-way merge conflicts in: ${f.conflicts.join(', ')}` : '';
  return `patch ${f.number}/${total} "${f.subject}" (${basename(f.patchFile)}) does not apply${where}${conflicts}`;
}
