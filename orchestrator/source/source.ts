// Source stage: turn --kernel into a pristine commit in a cache-owned git repository.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, realpath, rm, stat, utimes, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from '../cache.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { aptState, aptUpdate, availableVersions, downloadSourceTarball, listedSha256, type DebPackageVersion } from './debian-archive.ts';
import { VmTestError } from '../outcome.ts';
import { git, gitOutput, ISOLATED_CONFIG_ENV } from './git.ts';
import { describeKernelSpec, type KernelSpec } from './kernel-spec.ts';
import { importTarball, TARBALL_IMPORTER } from './tarball-import.ts';

export interface KernelSource {
  /** Stable name of this source in the cache. */
  id: string;
  spec: KernelSpec;
  /** Bare repository owned by the cache; the user's tree is only ever read. */
  gitDir: string;
  pristineCommit: string;
  /** Kernel version from the top-level Makefile, e.g. 6.12.117. */
  version: string;
  description: string;
  /** `git diff --stat` of the uncommitted changes a snapshot of the user's tree holds, against its HEAD. */
  changes?: string;
}

interface SourceRecord {
  spec: string;
  pristineCommit: string;
  version: string;
  origin: string;
  changes?: string;
  /** A Debian import: TARBALL_IMPORTER when it was made (absent: made before the name existed, by the first one). */
  importer?: string;
  /** A Debian import: the sha256 of the .deb it was made from. */
  debSha256?: string;
}

/** The importer that made the imports recorded before TARBALL_IMPORTER existed (tar -x and git add -A -f, then this one: the same trees). */
const FIRST_IMPORTER = 'fast-import/1: top directory stripped, owner-exec modes, symlinks, hard links as copies, ignore files kept';

export interface SourceContext {
  exec: ExecPort;
  cache: CacheLayout;
  events: RunEvents;
  logFile: string;
  signal?: AbortSignal;
  /** A non-git local tree is read whole, not only its files whose stat data changed since the last run. */
  refresh?: boolean;
  /** Test a local git tree's HEAD only, not its uncommitted changes. */
  committed?: boolean;
  /** The host's apt configuration (default /etc/apt), read for deb: kernels. */
  etcApt?: string;
}

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

export function sourceId(spec: KernelSpec): string {
  switch (spec.kind) {
    case 'deb':
      // One repository per package: its versions are commits side by side.
      return `deb-${spec.package}`;
    case 'git':
      return `git-${shortHash(spec.url)}`;
    case 'local':
      return `local-${shortHash(spec.path)}`;
  }
}

export function kernelVersionFromMakefile(text: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}[ \\t]*=[ \\t]*(\\S*)`, 'm').exec(text)?.[1];
  const version = field('VERSION');
  const patch = field('PATCHLEVEL');
  if (!version || !patch) return undefined;
  const sub = field('SUBLEVEL');
  return `${version}.${patch}${sub ? `.${sub}` : ''}${field('EXTRAVERSION') ?? ''}`;
}

async function readRecord(dir: string): Promise<SourceRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as SourceRecord;
  } catch {
    return undefined;
  }
}

async function writeRecord(dir: string, record: SourceRecord): Promise<void> {
  await writeFile(join(dir, 'source.json.tmp'), JSON.stringify(record, null, 2) + '\n');
  await rename(join(dir, 'source.json.tmp'), join(dir, 'source.json'));
}

async function versionAt(ctx: SourceContext, gitDir: string, commit: string): Promise<string> {
  const makefile = await gitOutput(ctx.exec, ['show', `${commit}:Makefile`], { gitDir });
  return (makefile && kernelVersionFromMakefile(makefile)) ?? 'unknown';
}

async function ensureBareRepo(ctx: SourceContext, gitDir: string): Promise<void> {
  if (existsSync(join(gitDir, 'HEAD'))) return;
  const init = await git(ctx.exec, ['init', '-q', '--bare', gitDir], { logFile: ctx.logFile });
  if (init.exitCode !== 0) throw new VmTestError('infra', `git init ${gitDir} failed`, { logPath: ctx.logFile, excerpt: init.tail.slice(-5) });
}

/**
 * A copy of a git index that git still reads as the original: the same mtime. git re-reads an entry whose file
 * changed in the same second the index was written ("racily clean") only when it can tell, from the index file's
 * own mtime; a copy with a newer one would pass such an edit as unchanged.
 */
async function copyIndex(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const info = await stat(from);
  await utimes(to, info.atime, info.mtime);
}

/**
 * Commit a plain directory as one parentless commit in the cache's repository, ignoring its .gitignore files
 * (Debian's ignores all of /). Several imports share one repository, so switching between them in the worktree
 * touches only the files that differ. With keptIndex, git's index of the last import is reused, so git reads only
 * the files whose stat data changed since (a warm run of a kernel tree: 0.4 s); it is updated on a copy, replaced
 * at the end, so an interrupted import leaves the last good one.
 */
export async function commitDirectory(ctx: SourceContext, gitDir: string, tree: string, message: string, keptIndex?: string): Promise<string> {
  await ensureBareRepo(ctx, gitDir);
  const index = join(gitDir, `vm-test-import-${process.pid}.index`);
  await rm(index, { force: true });
  if (keptIndex && existsSync(keptIndex)) await copyIndex(keptIndex, index);
  const env = { ...ISOLATED_CONFIG_ENV, GIT_INDEX_FILE: index };
  const opts = { gitDir, workTree: tree, cwd: tree, env, logFile: ctx.logFile, signal: ctx.signal };
  try {
    const add = await git(ctx.exec, ['add', '-f', '-A', '.'], opts);
    if (add.exitCode !== 0) throw new VmTestError('infra', `git add failed while importing ${tree}`, { logPath: ctx.logFile, excerpt: add.tail.slice(-10) });
    const treeId = await gitOutput(ctx.exec, ['write-tree'], opts);
    const commit = treeId && await gitOutput(ctx.exec, ['commit-tree', treeId, '-m', message], opts);
    if (!commit) throw new VmTestError('infra', `could not write the imported commit in ${gitDir}`, { logPath: ctx.logFile });
    if (keptIndex) await rename(index, keptIndex);
    return commit;
  } finally {
    await rm(index, { force: true });
  }
}

/** A Debian version as a ref name component (~ and : are not allowed in refs). */
export const versionRef = (pkgVersion: string): string => `refs/vm-test/deb/${pkgVersion.replace(/[~:^]/g, '_')}`;

type DebImports = Record<string, SourceRecord>;

async function resolveDeb(ctx: SourceContext, spec: Extract<KernelSpec, { kind: 'deb' }>, dir: string): Promise<SourceRecord> {
  const gitDir = join(dir, 'git');
  const importsPath = join(dir, 'imports.json');
  const imports: DebImports = JSON.parse(await readFile(importsPath, 'utf8').catch(() => '{}'));
  // An import is reused only when this importer made it, and, when apt's lists name the .deb's sha256, from that .deb.
  const usable = (r: SourceRecord, listed?: string) => (r.importer ?? FIRST_IMPORTER) === TARBALL_IMPORTER && (!listed || !r.debSha256 || r.debSha256 === listed);
  const have = async (pkgVersion: string | undefined, listed?: string) => {
    const r = pkgVersion ? imports[pkgVersion] : undefined;
    return r && usable(r, listed) && (await gitOutput(ctx.exec, ['cat-file', '-t', r.pristineCommit], { gitDir })) === 'commit' ? r : undefined;
  };
  // A pinned version imported before needs no network at all (Debian's archive never gives a version other bytes).
  const pinned = await have(spec.version);
  if (pinned) return pinned;

  const fetchCtx = { exec: ctx.exec, aptRoot: join(ctx.cache.root, 'apt'), logFile: ctx.logFile, signal: ctx.signal, etcApt: ctx.etcApt, info: (message: string) => ctx.events.emit({ type: 'info', stage: 'source', message }) };
  const state = await aptState(fetchCtx, spec.suite);
  let versions: DebPackageVersion[];
  try {
    if (spec.version || !(await listsFresh(state.dir))) await aptUpdate(fetchCtx, state);
    versions = await availableVersions(fetchCtx, state, spec.package);
  } catch (error) {
    // Offline with an earlier import of this package: use the newest we have, and say so.
    const newest = Object.keys(imports).sort().pop();
    const record = !spec.version ? await have(newest) : undefined;
    if (!record) throw error;
    ctx.events.emit({ type: 'warn', stage: 'source', message: `${(error as Error).message.split('\n')[0]}; using the earlier import ${record.origin}` });
    return record;
  }
  const where = spec.suite ? `${state.mirror} ${spec.suite}` : `the host's Debian suites (${state.mirror})`;
  if (versions.length === 0) throw new VmTestError('usage', `--kernel ${describeKernelSpec(spec)}: ${spec.package} is not in ${where}`);
  const chosen = spec.version ? versions.find((v) => v.version === spec.version) : versions[0];
  if (!chosen) {
    throw new VmTestError('usage', `--kernel ${describeKernelSpec(spec)}: ${spec.package} ${spec.version} is not in ${where}; it has ${versions.map((v) => `${v.version} (${v.from})`).join(', ')}`);
  }
  const listed = await listedSha256(fetchCtx, state, spec.package, chosen.version);
  const known = await have(chosen.version, listed);
  if (known) return known;
  const stale = imports[chosen.version];
  if (stale) {
    const why = (stale.importer ?? FIRST_IMPORTER) !== TARBALL_IMPORTER ? `it was made by another importer (${stale.importer ?? FIRST_IMPORTER})`
      : !usable(stale, listed) ? `it was made from a .deb with sha256 ${stale.debSha256}, and ${chosen.from} lists ${listed}`
      : `its commit ${stale.pristineCommit.slice(0, 12)} is gone from ${gitDir}`;
    ctx.events.emit({ type: 'warn', stage: 'source', message: `not reusing the import of ${spec.package} ${chosen.version}: ${why}` });
  }

  ctx.events.emit({ type: 'info', stage: 'source', message: `fetching ${spec.package} ${chosen.version} from ${chosen.from} and importing it into the cache, once` });
  const { tarball, debSha256, cleanup } = await downloadSourceTarball(fetchCtx, state, spec.package, chosen.version);
  try {
    await ensureBareRepo(ctx, gitDir);
    const imported = await importTarball({ exec: ctx.exec, gitDir, tarball, ref: versionRef(chosen.version), message: `${spec.package} ${chosen.version} (pristine import from ${chosen.from})`, logFile: ctx.logFile, signal: ctx.signal });
    if ('error' in imported) throw new VmTestError('infra', `could not import ${spec.package} ${chosen.version}: ${imported.error}`, { file: tarball, logPath: ctx.logFile, excerpt: imported.excerpt });
    const commit = imported.commit;
    const record: SourceRecord = { spec: describeKernelSpec(spec), pristineCommit: commit, version: await versionAt(ctx, gitDir, commit), origin: `${spec.package} ${chosen.version} from ${chosen.from}`, importer: TARBALL_IMPORTER, debSha256 };
    imports[chosen.version] = record;
    await writeFile(`${importsPath}.tmp`, JSON.stringify(imports, null, 2) + '\n');
    await rename(`${importsPath}.tmp`, importsPath);
    return record;
  } finally {
    await cleanup();
  }
}

/** The private lists were refreshed in the last hour: an unpinned deb: spec does not go to the network on every run. */
async function listsFresh(stateDir: string): Promise<boolean> {
  const info = await stat(join(stateDir, 'lists')).catch(() => undefined);
  const files = await readdir(join(stateDir, 'lists')).catch(() => [] as string[]);
  return !!info && files.some((f) => f.endsWith('Packages') || f.endsWith('Packages.lz4')) && Date.now() - info.mtimeMs < 3600_000;
}

async function resolveLocal(ctx: SourceContext, spec: Extract<KernelSpec, { kind: 'local' }>, dir: string): Promise<SourceRecord> {
  const info = await stat(spec.path).catch(() => undefined);
  if (!info) throw new VmTestError('usage', `--kernel ${spec.path}: no such directory`, { file: spec.path });
  if (!info.isDirectory()) throw new VmTestError('usage', `--kernel ${spec.path}: not a directory`, { file: spec.path });
  const makefile = await readFile(join(spec.path, 'Makefile'), 'utf8').catch(() => '');
  if (!existsSync(join(spec.path, 'Kconfig')) || !kernelVersionFromMakefile(makefile)) {
    throw new VmTestError('usage', `--kernel ${spec.path}: not a Linux kernel tree (no Kconfig, or no VERSION/PATCHLEVEL in its Makefile)`, { file: join(spec.path, 'Makefile') });
  }
  const gitDir = join(dir, 'git');
  const userHead = await gitOutput(ctx.exec, ['rev-parse', '--verify', 'HEAD'], { cwd: spec.path });
  // Only the top of a git tree: a kernel tree that merely sits inside another repository is imported as files.
  const top = userHead === undefined ? undefined : await gitOutput(ctx.exec, ['rev-parse', '--show-toplevel'], { cwd: spec.path });
  const isGitTop = top !== undefined && (await realpath(top).catch(() => top)) === (await realpath(spec.path).catch(() => spec.path));
  if (userHead && isGitTop) {
    // Read-only use of the user's repository: a shared clone borrows its objects, and we fetch HEAD into our own ref.
    if (!existsSync(gitDir)) {
      const clone = await git(ctx.exec, ['clone', '-q', '--bare', '--shared', spec.path, gitDir], { logFile: ctx.logFile, signal: ctx.signal });
      if (clone.exitCode !== 0) throw new VmTestError('infra', `could not clone ${spec.path} into the cache`, { logPath: ctx.logFile, excerpt: clone.tail.slice(-5) });
    }
    const fetch = await git(ctx.exec, ['fetch', '-q', spec.path, `+${userHead}:refs/vm-test/pristine`], { gitDir, logFile: ctx.logFile, signal: ctx.signal });
    if (fetch.exitCode !== 0) throw new VmTestError('infra', `could not fetch HEAD of ${spec.path}`, { logPath: ctx.logFile, excerpt: fetch.tail.slice(-5) });
    const dirty = await gitOutput(ctx.exec, ['--no-optional-locks', 'status', '--porcelain'], { cwd: spec.path });
    if (dirty && ctx.committed) {
      ctx.events.emit({ type: 'warn', stage: 'source', message: `${spec.path} has uncommitted changes; --committed: testing its HEAD (${userHead.slice(0, 12)}) only` });
    }
    if (dirty && !ctx.committed) {
      const snapshot = await snapshotWorkingTree(ctx, spec.path, gitDir, userHead);
      const changes = (await gitOutput(ctx.exec, ['diff', '--stat', userHead, snapshot], { gitDir })) ?? '';
      ctx.events.emit({ type: 'info', stage: 'source', message: `testing the working tree as it is: HEAD ${userHead.slice(0, 12)} plus ${changes.split('\n').pop()?.trim() ?? 'uncommitted changes'} (--committed for HEAD only)` });
      const record = { spec: describeKernelSpec(spec), pristineCommit: snapshot, version: await versionAt(ctx, gitDir, snapshot), origin: `working tree of ${spec.path} (HEAD ${userHead.slice(0, 12)} + uncommitted changes)`, changes };
      await writeRecord(dir, record);
      return record;
    }
    const record = { spec: describeKernelSpec(spec), pristineCommit: userHead, version: await versionAt(ctx, gitDir, userHead), origin: `git HEAD of ${spec.path}` };
    await writeRecord(dir, record);
    return record;
  }
  // Imported on every run, so an edit is never missed: the same files give the same commit (fixed identity, date
  // and message), and so the same applied series and build. --refresh-source drops the kept index: every file is read.
  const keptIndex = join(dir, 'import.index');
  if (ctx.refresh) await rm(keptIndex, { force: true });
  const previous = await readRecord(dir);
  const commit = await commitDirectory(ctx, gitDir, spec.path, `import of ${spec.path}`, keptIndex);
  if (previous?.pristineCommit !== commit) {
    ctx.events.emit({ type: 'info', stage: 'source', message: previous ? `the non-git tree ${spec.path} changed since the last run: testing it as it is now` : `imported the non-git tree ${spec.path} into the cache (each run checks it for changes)` });
  }
  const record = { spec: describeKernelSpec(spec), pristineCommit: commit, version: await versionAt(ctx, gitDir, commit), origin: `copy of ${spec.path}` };
  await writeRecord(dir, record);
  return record;
}

/**
 * The user's working tree as one commit on top of its HEAD, tracked and untracked files alike
 * (.gitignore respected), made without touching the user's repository: a copy of its index (so only
 * changed files are hashed) as GIT_INDEX_FILE, and the new objects written into the cache's
 * repository, which borrows the user's objects. The user's index, HEAD, refs, stash and files stay
 * as they were. Same contents, same commit id (fixed identity and date), so reruns reuse everything.
 */
export async function snapshotWorkingTree(ctx: SourceContext, tree: string, cacheGitDir: string, head: string): Promise<string> {
  const commonDir = await gitOutput(ctx.exec, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: tree });
  const userIndex = await gitOutput(ctx.exec, ['rev-parse', '--path-format=absolute', '--git-path', 'index'], { cwd: tree });
  if (!commonDir || !userIndex) throw new VmTestError('infra', `${tree}: cannot find its git directory`, { logPath: ctx.logFile });
  const index = join(cacheGitDir, `vm-test-snapshot-${process.pid}.index`);
  if (existsSync(userIndex)) await copyIndex(userIndex, index);
  const env = {
    GIT_INDEX_FILE: index,
    GIT_OBJECT_DIRECTORY: join(cacheGitDir, 'objects'),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: join(commonDir, 'objects'),
  };
  const opts = { cwd: tree, env, logFile: ctx.logFile, signal: ctx.signal };
  try {
    // No optional locks: git status and add may otherwise refresh the user's own index.
    const add = await git(ctx.exec, ['--no-optional-locks', 'add', '-A', '.'], opts);
    if (add.exitCode !== 0) throw new VmTestError('infra', `git add of the working tree ${tree} failed`, { logPath: ctx.logFile, excerpt: add.tail.slice(-10) });
    const treeId = await gitOutput(ctx.exec, ['--no-optional-locks', 'write-tree'], opts);
    const commit = treeId && await gitOutput(ctx.exec, ['commit-tree', treeId, '-p', head, '-m', `vm-test snapshot of ${tree}: HEAD ${head.slice(0, 12)} plus its uncommitted changes`], opts);
    if (!commit) throw new VmTestError('infra', `could not write the snapshot commit of ${tree}`, { logPath: ctx.logFile });
    await git(ctx.exec, ['update-ref', 'refs/vm-test/snapshot', commit], { gitDir: cacheGitDir });
    return commit;
  } finally {
    await rm(index, { force: true });
  }
}

async function resolveGitUrl(ctx: SourceContext, spec: Extract<KernelSpec, { kind: 'git' }>, dir: string): Promise<SourceRecord> {
  const gitDir = join(dir, 'git');
  if (!existsSync(gitDir)) {
    const init = await git(ctx.exec, ['init', '-q', '--bare', gitDir], { logFile: ctx.logFile });
    if (init.exitCode !== 0) throw new VmTestError('infra', `git init ${gitDir} failed`, { logPath: ctx.logFile });
  }
  ctx.events.emit({ type: 'info', stage: 'source', message: `fetching ${spec.ref} from ${spec.url}` });
  const fetch = await git(ctx.exec, ['fetch', '-q', '--depth=1', spec.url, `${spec.ref}`], { gitDir, logFile: ctx.logFile, signal: ctx.signal });
  if (fetch.exitCode !== 0) {
    throw new VmTestError('usage', `--kernel git:${spec.url}#${spec.ref}: git fetch failed: ${fetch.tail.slice(-2).join(' ')}`, { logPath: ctx.logFile, excerpt: fetch.tail.slice(-5) });
  }
  const commit = await gitOutput(ctx.exec, ['rev-parse', 'FETCH_HEAD^{commit}'], { gitDir });
  if (!commit) throw new VmTestError('infra', 'could not resolve FETCH_HEAD', { logPath: ctx.logFile });
  await git(ctx.exec, ['update-ref', 'refs/vm-test/pristine', commit], { gitDir });
  const record = { spec: describeKernelSpec(spec), pristineCommit: commit, version: await versionAt(ctx, gitDir, commit), origin: `${spec.url} ${spec.ref}` };
  await writeRecord(dir, record);
  return record;
}

export async function resolveSource(ctx: SourceContext, spec: KernelSpec): Promise<KernelSource> {
  const id = sourceId(spec);
  const dir = join(ctx.cache.sources, id);
  await mkdir(dir, { recursive: true });
  const record = spec.kind === 'deb' ? await resolveDeb(ctx, spec, dir)
    : spec.kind === 'local' ? await resolveLocal(ctx, spec, dir)
    : await resolveGitUrl(ctx, spec, dir);
  return {
    id,
    spec,
    gitDir: join(dir, 'git'),
    pristineCommit: record.pristineCommit,
    version: record.version,
    description: `${describeKernelSpec(spec)} (${record.origin}, Linux ${record.version}, ${record.pristineCommit.slice(0, 12)})`,
    ...(record.changes ? { changes: record.changes } : {}),
  };
}
