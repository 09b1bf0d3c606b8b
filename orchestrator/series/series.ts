// Series stage: load a revision of a patch series and apply it with git am in the cache's worktree.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { GIT_IDENTITY_ENV, git, gitOutput, ISOLATED_CONFIG_ENV } from '../source/git.ts';
import { fetchLoreThread, threadBaseCommit, type LoreFetchContext, type LoreOrigin, type LoreRequest } from './lore.ts';
import { isProblem, mailMessageId, parsePatchFile, type PatchFile } from './mbox.ts';
import { patchNumber, seriesFromMbox } from './series-file.ts';

/** Another kernel the revision is checked on (CI and the matrix run it there too), beside its default. */
export interface CheckedKernel {
  /** A --kernel spec. */
  kernel: string;
  version?: string;
  checked?: string;
}

export interface SeriesManifest {
  series?: string;
  revision?: string;
  subject?: string;
  /** The --kernel this revision is tested on by default, and where it was posted. */
  base?: { kernel?: string; version?: string; checked?: string; postedFor?: { tree: string; commit: string }; alsoChecked?: CheckedKernel[] };
  cover?: string;
  patches?: string[];
  tests?: { test_progs?: string[] };
}

export interface Series {
  /** e.g. bpf-f-compare/v1-6.12, or the directory's or mbox file's path. */
  name: string;
  /** The revision directory, or the directory of file. */
  dir: string;
  /** The one mbox file holding the whole series (b4 am's .mbx), when --series named a file. */
  file?: string;
  manifest: SeriesManifest;
  patches: PatchFile[];
  /** Content hash over the patches, in order. */
  hash: string;
  /** The commit the series says it applies to (the cover letter's base-commit:), applied on when the kernel tree has it. */
  baseCommit?: string;
  /** A lore: series: the thread b4 am fetched, and what it said. */
  lore?: LoreOrigin;
  /** The Message-ID of the mail that introduces the series: its cover letter's, or its first patch's when it has none. */
  messageId?: string;
}

const PATCH_FILE = /\.(patch|mbox|eml|diff)$/;

/** What a run records of its series (results.json's run.series): each patch as git am got it, hashed, and the mails' ids. */
export interface SeriesRecord {
  name: string;
  hash: string;
  subject?: string;
  messageId?: string;
  /** The tree and commit the series was posted for (the manifest's base.postedFor). */
  postedFor?: { tree: string; commit: string };
  patches: { file: string; line?: number; subject: string; sha256: string; messageId?: string }[];
}

export async function seriesRecord(series: Series): Promise<SeriesRecord> {
  const patches: SeriesRecord['patches'] = [];
  for (const p of series.patches) {
    // The bytes git am is given: the file, or the mail's own bytes when the file holds the whole series.
    const bytes = p.bytes ?? await readFile(p.path);
    patches.push({ file: p.path, ...(p.bytes ? { line: p.line } : {}), subject: p.subject, sha256: createHash('sha256').update(bytes).digest('hex'), ...(p.messageId ? { messageId: p.messageId } : {}) });
  }
  const { subject, base } = series.manifest;
  return {
    name: series.name, hash: series.hash, ...(subject ? { subject } : {}), ...(series.messageId ? { messageId: series.messageId } : {}),
    ...(base?.postedFor ? { postedFor: base.postedFor } : {}), patches,
  };
}

/** --series takes a name under patches/ (bpf-f-compare/v1-6.12), any directory of mbox patches, or one mbox file holding the series. */
export function resolveSeriesDir(arg: string, patchesRoot: string, cwd: string): string {
  if (isAbsolute(arg) || arg.startsWith('./') || arg.startsWith('../')) return resolve(cwd, arg);
  if (existsSync(join(patchesRoot, arg))) return join(patchesRoot, arg);
  if (existsSync(resolve(cwd, arg))) return resolve(cwd, arg);
  return join(patchesRoot, arg);
}

export async function loadSeries(dir: string, patchesRoot: string, limit?: number): Promise<Series> {
  const info = await stat(dir).catch(() => undefined);
  if (info?.isFile()) return loadSeriesFile(dir, patchesRoot, limit);
  if (!info?.isDirectory()) {
    const known = await listRevisions(patchesRoot).catch(() => []);
    throw new VmTestError('usage', `--series ${dir}: no such directory${known.length ? ` (known: ${known.join(', ')})` : ''} or mbox file`, { file: dir });
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
    const also = manifest.base?.alsoChecked;
    if (also !== undefined && (!Array.isArray(also) || also.some((k) => typeof k !== 'object' || k === null || typeof k.kernel !== 'string'))) {
      throw new VmTestError('usage', `${manifestPath}: "base.alsoChecked" must be a list of objects with a "kernel" (a --kernel spec)`, { file: manifestPath });
    }
  }
  let names = manifest.patches;
  const listing = names ? [] : await readdir(dir);
  if (!names) {
    names = listing.filter((f) => PATCH_FILE.test(f)).sort();
    names = names.filter((f) => f !== manifest.cover && !/^0000-cover-letter/.test(f));
  }
  if (names.length === 0) {
    const mbx = listing.find((f) => f.endsWith('.mbx'));
    const hint = mbx ? `; for the series in ${mbx}, name the file: --series ${join(dir, mbx)}` : '';
    throw new VmTestError('usage', `${dir}: no patch files (*.patch, *.mbox, *.eml) and no "patches" in series.json${hint}`, { file: dir });
  }
  if (limit !== undefined) names = names.slice(0, limit);
  const patches: PatchFile[] = [];
  const contents: Uint8Array[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes === undefined) throw new VmTestError('usage', `${manifestPath}: lists ${name}, which does not exist in ${dir}`, { file: manifestPath });
    const parsed = parsePatchFile(path, bytes.toString('utf8'));
    if (isProblem(parsed)) throw new VmTestError('usage', `${parsed.path}:${parsed.line}: ${parsed.message}`, { file: parsed.path, line: parsed.line });
    patches.push(parsed);
    // git am reads the file's bytes, not the text decoded from them (a byte that is not UTF-8 decodes to U+FFFD).
    contents.push(bytes);
  }
  const cover = manifest.cover ?? listing.find((f) => /^0000-cover-letter/.test(f));
  const coverText = cover ? await readFile(join(dir, cover), 'utf8').catch(() => undefined) : undefined;
  const messageId = (coverText === undefined ? undefined : mailMessageId(coverText)) ?? patches[0]?.messageId;
  return { name: seriesName(dir, patchesRoot), dir, manifest, patches, hash: seriesHash(contents), ...(messageId ? { messageId } : {}) };
}

/** A b4 am .mbx or git format-patch --stdout file: every mail but the cover letter, in [PATCH k/N] order. */
export async function loadSeriesFile(file: string, patchesRoot: string, limit?: number): Promise<Series> {
  const split = seriesFromMbox(file, await readFile(file));
  if (isProblem(split)) throw new VmTestError('usage', `${split.path}:${split.line}: ${split.message}`, { file: split.path, line: split.line });
  if (split.patches.length === 0) throw new VmTestError('usage', `${file}: no patches, only a cover letter (line ${split.cover?.line ?? 1})`, { file });
  const patches = limit === undefined ? split.patches : split.patches.slice(0, limit);
  const manifest: SeriesManifest = split.cover ? { subject: split.cover.subject } : {};
  const messageId = split.cover ? split.cover.messageId : patches[0]?.messageId;
  return { name: seriesName(file, patchesRoot), dir: dirname(file), file, manifest, patches, hash: seriesHash(patches.map((p) => p.bytes!)), ...(messageId ? { messageId } : {}) };
}

/**
 * --series lore:<message-id>: the thread fetched with b4 am, its .mbx read as a one-file series. Its hash is over the
 * fetched patches' bytes, as any series' is, so a thread that gained a trailer is another series to the caches.
 */
export async function loadLoreSeries(ctx: LoreFetchContext, request: LoreRequest, patchesRoot: string, limit?: number): Promise<Series> {
  const origin = await fetchLoreThread(ctx, request);
  const series = await loadSeriesFile(origin.mbx, patchesRoot, limit);
  const baseCommit = await threadBaseCommit(origin, series.patches[0]?.text);
  const revision = series.patches.map((p) => patchNumber(p.subject)?.version).find((v) => v !== undefined);
  return {
    ...series,
    name: `lore:${request.messageId}${revision ? ` (v${revision})` : ''}`,
    ...(baseCommit ? { baseCommit } : {}),
    lore: origin,
  };
}

function seriesName(path: string, patchesRoot: string): string {
  const rel = relative(patchesRoot, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The bytes git am gets, in order; each with its length first, so no two series give the same stream. */
export function seriesHash(contents: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const bytes of contents) hash.update(`${bytes.byteLength}\n`).update(bytes);
  return hash.digest('hex').slice(0, 16);
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
  /** Where the mail starts in patchFile, when that is the mbox holding the whole series. */
  line?: number;
  /** file:line of each hunk git could not place. */
  failedHunks: string[];
  conflicts: string[];
  output: string[];
}

/** A patch that applied but changed nothing: the tree already has it, or its commit is empty. */
export interface ApplyWarning {
  /** 1-based position of the patch in the series. */
  number: number;
  subject: string;
  patchFile: string;
  /** Where the mail starts in patchFile, when that is the mbox holding the whole series. */
  line?: number;
  message: string;
}

export interface AppliedSeries {
  head: string;
  /** In series order; empty when every patch changed the tree. */
  warnings: ApplyWarning[];
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
  /** git's output goes here; mails split out of a one-file series are written beside it, in series-mails/, for git am and the record. */
  logFile: string;
  signal?: AbortSignal;
}

/** patchFile (and line) for messages: the mbox file:line for a mail of a one-file series. */
function origin(patch: PatchFile): { patchFile: string; line?: number } {
  return patch.bytes ? { patchFile: patch.path, line: patch.line } : { patchFile: patch.path };
}

function where(p: { patchFile: string; line?: number }): string {
  return p.line === undefined ? basename(p.patchFile) : `${basename(p.patchFile)}:${p.line}`;
}

async function writeMail(ctx: ApplyContext, name: string, bytes: Uint8Array): Promise<string> {
  const dir = join(dirname(ctx.logFile), 'series-mails');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), bytes);
  return join(dir, name);
}

/** The file git am reads for a patch: its own, or its mail written out of the series' mbox. */
function mailFile(ctx: ApplyContext, patch: PatchFile, number: number): Promise<string> {
  return patch.bytes ? writeMail(ctx, `${String(number).padStart(4, '0')}.patch`, patch.bytes) : Promise.resolve(patch.path);
}

/** The file git apply --check reads: a CRLF mail with one CR taken off each line end, as git am --no-keep-cr reads it. */
async function checkFile(ctx: ApplyContext, patch: PatchFile, file: string, number: number): Promise<string> {
  if (!patch.crlf) return file;
  const lf = (await readFile(file)).toString('latin1').replaceAll('\r\n', '\n');
  return writeMail(ctx, `${String(number).padStart(4, '0')}-lf.patch`, Buffer.from(lf, 'latin1'));
}

const ALREADY_APPLIED = /^No changes -- Patch already applied\.?$/m;

/**
 * How a series is applied: git am's arguments for each patch ({cr} and {mail} filled in per patch) and the
 * environment it runs in. The applied commit depends on all of it, so the applied-series cache keys on this value
 * (with git's version), and applySeries runs exactly this.
 */
export const APPLY_RECIPE = {
  am: ['am', '--3way', '{cr}', '--committer-date-is-author-date', '{mail}'],
  // A CRLF mail's CRs are line endings (a diff line of CRLF content ends in CR CR LF), so they go; in an LF mail they are content and stay.
  cr: { crlf: '--no-keep-cr', lf: '--keep-cr' },
  env: { ...GIT_IDENTITY_ENV, ...ISOLATED_CONFIG_ENV },
} as const;

/** git am's arguments for one patch, from APPLY_RECIPE. */
export function amArgs(patch: Pick<PatchFile, 'crlf'>, mail: string): string[] {
  const cr = patch.crlf ? APPLY_RECIPE.cr.crlf : APPLY_RECIPE.cr.lf;
  return APPLY_RECIPE.am.map((a) => (a === '{cr}' ? cr : a === '{mail}' ? mail : a));
}

/** The applied-series cache's recipe key: APPLY_RECIPE and the version of the git that runs it (another merge, another tree). */
export async function applyRecipeKey(exec: ExecPort, recipe: unknown = APPLY_RECIPE): Promise<string> {
  const version = (await git(exec, ['--version'], { env: ISOLATED_CONFIG_ENV })).stdout.trim();
  return createHash('sha256').update(JSON.stringify({ recipe, git: version })).digest('hex').slice(0, 16);
}

/** git am the series onto the worktree's current HEAD; on failure abort and return what failed. */
export async function applySeries(ctx: ApplyContext, series: Series): Promise<AppliedSeries | { failure: ApplyFailure }> {
  const opts = { cwd: ctx.worktree, env: APPLY_RECIPE.env, logFile: ctx.logFile, signal: ctx.signal };
  const tipOf = async () => {
    const [commit, tree] = (await gitOutput(ctx.exec, ['rev-parse', 'HEAD', 'HEAD^{tree}'], opts))?.split('\n') ?? [];
    return { commit, tree };
  };
  const before = await tipOf();
  let tip = before;
  const warnings: ApplyWarning[] = [];
  for (let i = 0; i < series.patches.length; i++) {
    const patch = series.patches[i]!;
    const file = await mailFile(ctx, patch, i + 1);
    // One patch per git am call, so the failing patch's number is certain.
    const am = await git(ctx.exec, amArgs(patch, file), opts);
    if (am.exitCode === 0) {
      const after = await tipOf();
      // git am --3way exits 0 and commits nothing for a change the tree already has.
      const said = ALREADY_APPLIED.exec(`${am.stdout}\n${am.stderr}`)?.[0];
      const message = after.commit !== tip.commit
        ? (after.tree === tip.tree ? 'its commit changes no file (an empty commit)' : undefined)
        : said ? `git am said "${said}": the tree already has this change, so the patch made no commit` : 'git am made no commit for it';
      if (message) warnings.push({ number: i + 1, subject: patch.subject, ...origin(patch), message });
      tip = after;
      continue;
    }
    const output = [...am.stdout.split('\n'), ...am.stderr.split('\n')].filter(Boolean);
    await git(ctx.exec, ['am', '--abort'], opts);
    // git apply would read a CRLF mail's CRs as content and fail every hunk.
    const check = await git(ctx.exec, ['apply', '--check', '--verbose', await checkFile(ctx, patch, file, i + 1)], opts);
    const fromCheck = parseApplyErrors([...check.stdout.split('\n'), ...check.stderr.split('\n')]);
    const fromAm = parseApplyErrors(output);
    if (before.commit) await git(ctx.exec, ['checkout', '-q', '--detach', '-f', before.commit], opts);
    return {
      failure: {
        number: i + 1,
        subject: patch.subject,
        ...origin(patch),
        failedHunks: fromCheck.failedHunks.length ? fromCheck.failedHunks : fromAm.failedHunks,
        conflicts: fromAm.conflicts,
        output,
      },
    };
  }
  const head = tip.commit;
  if (!head) throw new VmTestError('infra', `git rev-parse HEAD failed in ${ctx.worktree}`, { logPath: ctx.logFile });
  return { head, warnings };
}

export function describeApplyFailure(f: ApplyFailure, total: number): string {
  const hunks = f.failedHunks.length ? `; failed hunks: ${f.failedHunks.join(', ')}` : '';
  const conflicts = f.conflicts.length ? `; 3-way merge conflicts in: ${f.conflicts.join(', ')}` : '';
  return `patch ${f.number}/${total} "${f.subject}" (${where(f)}) does not apply${hunks}${conflicts}`;
}

export function describeApplyWarning(w: ApplyWarning, total: number): string {
  return `patch ${w.number}/${total} "${w.subject}" (${where(w)}) changes nothing: ${w.message}`;
}
