// The cache's worktree for a source: checked out at the pristine commit plus a series, never in the user's tree.
import { existsSync } from 'node:fs';
import { lstat, lutimes, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { worktreeFor, type CacheLayout } from '../cache.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { applyRecipeKey, applySeries, type ApplyFailure, type ApplyWarning, type Series } from '../series/series.ts';
import { git, gitOutput, ISOLATED_CONFIG_ENV } from './git.ts';
import type { KernelSource } from './source.ts';

export interface PreparedTree {
  worktree: string;
  /** Commit with the series applied (or the pristine commit when there is no series). */
  head: string;
  /** Tree id of head: what the build is keyed on. */
  treeId: string;
  /** True when the applied commit was known from an earlier run and just checked out. */
  reused: boolean;
}

/** The commit a series is applied on: the kernel's own, or the series' base-commit when the tree has it. */
export interface SeriesBase {
  commit: string;
  /** 'base-commit': the series' own base, found in the tree; 'kernel': the kernel's pristine commit. */
  from: 'base-commit' | 'kernel';
  /** The series' base-commit the tree does not have (the series went on the kernel's commit instead). */
  missing?: string;
}

/** A prepared tree and what git am warned about on the way (also when the applied commit is reused). */
export interface SeriesTree extends PreparedTree {
  /** Patches that changed nothing, in series order (see describeApplyWarning). */
  warnings: ApplyWarning[];
  base: SeriesBase;
}

/** Where the series goes: its base-commit when the source's repository has that commit, else the kernel's pristine commit. */
export async function seriesBase(ctx: Pick<WorkspaceContext, 'exec'>, source: Pick<KernelSource, 'gitDir' | 'pristineCommit'>, series: Pick<Series, 'baseCommit'> | undefined): Promise<SeriesBase> {
  const kernel: SeriesBase = { commit: source.pristineCommit, from: 'kernel' };
  if (!series?.baseCommit) return kernel;
  const found = await gitOutput(ctx.exec, ['rev-parse', '--verify', '-q', `${series.baseCommit}^{commit}`], { gitDir: source.gitDir, env: ISOLATED_CONFIG_ENV });
  return found && /^[0-9a-f]{40}$/.test(found) ? { commit: found, from: 'base-commit' } : { ...kernel, missing: series.baseCommit };
}

export function describeSeriesBase(base: SeriesBase): string {
  if (base.from === 'base-commit') return `applied on the series' base-commit ${base.commit.slice(0, 12)}, which the kernel tree has`;
  return base.missing
    ? `the kernel tree does not have the series' base-commit ${base.missing}: applied on the kernel's own commit ${base.commit.slice(0, 12)} instead`
    : `applied on the kernel's commit ${base.commit.slice(0, 12)}`;
}

export interface WorkspaceContext {
  exec: ExecPort;
  cache: CacheLayout;
  logFile: string;
  signal?: AbortSignal;
}

/** pristine:series hash:recipe key -> applied commit; with the warnings of that apply, when there were any. */
type AppliedIndex = Record<string, string | { head: string; warnings: ApplyWarning[] }>;

/**
 * One persistent worktree per source, switched between commits with git checkout, so that file
 * mtimes change only where the series changes something and make rebuilds only that.
 */
export async function ensureWorktree(ctx: WorkspaceContext, source: KernelSource): Promise<string> {
  const worktree = worktreeFor(ctx.cache, source.id);
  if (existsSync(join(worktree, '.git'))) return worktree;
  await mkdir(dirname(worktree), { recursive: true });
  await git(ctx.exec, ['worktree', 'prune'], { gitDir: source.gitDir, env: ISOLATED_CONFIG_ENV });
  // A first checkout is ~95 000 files inflated from the import's pack: on every core, not one (10.2 s by hand here).
  const add = await git(ctx.exec, ['-c', 'checkout.workers=0', 'worktree', 'add', '-q', '--detach', worktree, source.pristineCommit], { gitDir: source.gitDir, env: ISOLATED_CONFIG_ENV, logFile: ctx.logFile, signal: ctx.signal });
  if (add.exitCode !== 0) throw new VmTestError('infra', `git worktree add ${worktree} failed`, { logPath: ctx.logFile, excerpt: add.tail.slice(-5) });
  return worktree;
}

/** Paths that differ between two commits (both sides of a rename); undefined if git could not tell. */
async function changedPaths(ctx: WorkspaceContext, worktree: string, from: string, to: string): Promise<string[] | undefined> {
  const out = await gitOutput(ctx.exec, ['diff', '--name-only', '--no-renames', '-z', from, to], { cwd: worktree, env: ISOLATED_CONFIG_ENV });
  return out?.split('\0').filter(Boolean);
}

/** Of these paths, the ones whose worktree file is as HEAD has it (no local edit, staged or not). */
async function cleanPaths(ctx: WorkspaceContext, worktree: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return paths;
  const out = await gitOutput(ctx.exec, ['diff', '--name-only', '--no-renames', '-z', 'HEAD'], { cwd: worktree, env: ISOLATED_CONFIG_ENV });
  if (out === undefined) return []; // not known: keep no old times
  const edited = new Set(out.split('\0').filter(Boolean));
  return paths.filter((p) => !edited.has(p));
}

async function timesOf(worktree: string, paths: string[]): Promise<Map<string, Date>> {
  const times = new Map<string, Date>();
  for (const path of paths) {
    const info = await lstat(join(worktree, path)).catch(() => undefined);
    if (info) times.set(path, info.mtime);
  }
  return times;
}

/**
 * A file that the pristine checkout and git am rewrote with the very bytes it had before gets its old mtime
 * back, so make rebuilds what the switch changed and not everything that includes bpf.h (which every
 * revision of the series patches). Safe for make: any object newer than that mtime was compiled from
 * these bytes, which the file held from then until now (a file with a local edit is left out: its time is
 * that of the edit). Files that did change keep their new time.
 */
export async function keepTimesOfUnchanged(ctx: WorkspaceContext, worktree: string, before: string, after: string, times: Map<string, Date>): Promise<number> {
  if (times.size === 0) return 0;
  const changedList = await changedPaths(ctx, worktree, before, after);
  if (!changedList) return 0; // not known: every file keeps its new time
  const changed = new Set(changedList);
  let kept = 0;
  for (const [path, mtime] of times) {
    if (changed.has(path)) continue;
    await lutimes(join(worktree, path), mtime, mtime).then(() => kept++, () => undefined);
  }
  // The index's stat data for those files is stale now: refresh it, so git status stays cheap and clean.
  if (kept) await git(ctx.exec, ['update-index', '-q', '--refresh'], { cwd: worktree, env: ISOLATED_CONFIG_ENV });
  return kept;
}

async function readIndex(path: string): Promise<AppliedIndex> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as AppliedIndex;
  } catch {
    return {};
  }
}

export async function prepareTree(ctx: WorkspaceContext, source: KernelSource, series: Series | undefined): Promise<SeriesTree | { failure: ApplyFailure }> {
  const worktree = await ensureWorktree(ctx, source);
  const opts = { cwd: worktree, env: ISOLATED_CONFIG_ENV, logFile: ctx.logFile, signal: ctx.signal };
  const indexPath = join(ctx.cache.sources, source.id, 'applied.json');
  const index = await readIndex(indexPath);
  // The applied commit is a function of the commit applied on (the kernel's, or the series' base-commit), the patches'
  // bytes and how they are applied (git am's arguments and environment, git's version): all three are in the key.
  const base = await seriesBase(ctx, source, series);
  const key = series ? `${base.commit}:${series.hash}:${await applyRecipeKey(ctx.exec)}` : source.pristineCommit;
  const entry = series ? index[key] : source.pristineCommit;
  const known = typeof entry === 'string' ? entry : entry?.head;
  const knownWarnings = entry && typeof entry === 'object' ? entry.warnings ?? [] : [];
  const current = await gitOutput(ctx.exec, ['rev-parse', 'HEAD'], opts);
  // An interrupted earlier run may have left git am half done.
  if (existsSync(join(worktree, '.git')) && (await gitOutput(ctx.exec, ['rev-parse', '--git-path', 'rebase-apply'], opts).then((p) => p && existsSync(join(worktree, p))))) {
    await git(ctx.exec, ['am', '--abort'], opts);
  }

  if (known && (await gitOutput(ctx.exec, ['cat-file', '-t', known], opts)) === 'commit') {
    if (current !== known || (await gitOutput(ctx.exec, ['status', '--porcelain', '--untracked-files=no'], opts))) {
      const checkout = await git(ctx.exec, ['checkout', '-q', '--detach', '-f', known], opts);
      if (checkout.exitCode !== 0) throw new VmTestError('infra', `git checkout ${known} failed in ${worktree}`, { logPath: ctx.logFile, excerpt: checkout.tail });
    }
    const treeId = await gitOutput(ctx.exec, ['rev-parse', `${known}^{tree}`], opts);
    return { worktree, head: known, treeId: treeId!, reused: true, warnings: knownWarnings, base };
  }

  // git am starts from the pristine commit: the series' files go back to it and forward again. Their times
  // before, so that the ones that end as they were keep them (keepTimesOfUnchanged).
  // Not a file that differs from HEAD in the worktree: its time is that of bytes the reset throws away.
  const revertedTimes = current && current !== base.commit ? await timesOf(worktree, await cleanPaths(ctx, worktree, (await changedPaths(ctx, worktree, current, base.commit)) ?? [])) : new Map<string, Date>();
  const reset = await git(ctx.exec, ['checkout', '-q', '--detach', '-f', base.commit], opts);
  if (reset.exitCode !== 0) throw new VmTestError('infra', `git checkout ${base.commit} failed in ${worktree}`, { logPath: ctx.logFile, excerpt: reset.tail });
  if (!series) {
    const treeId = await gitOutput(ctx.exec, ['rev-parse', 'HEAD^{tree}'], opts);
    return { worktree, head: source.pristineCommit, treeId: treeId!, reused: false, warnings: [], base };
  }
  const applied = await applySeries({ exec: ctx.exec, worktree, logFile: ctx.logFile, signal: ctx.signal }, series);
  if ('failure' in applied) return applied;
  if (current) await keepTimesOfUnchanged(ctx, worktree, current, applied.head, revertedTimes);
  index[key] = applied.warnings.length ? { head: applied.head, warnings: applied.warnings } : applied.head;
  await writeFile(indexPath, JSON.stringify(index, null, 2) + '\n');
  const treeId = await gitOutput(ctx.exec, ['rev-parse', 'HEAD^{tree}'], opts);
  return { worktree, head: applied.head, treeId: treeId!, reused: false, warnings: applied.warnings, base };
}
