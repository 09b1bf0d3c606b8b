// Source stage: turn --kernel into a pristine commit in a cache-owned git repository.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from '../cache.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { aptInstall } from '../host/requirements.ts';
import { VmTestError } from '../outcome.ts';
import { git, gitOutput } from './git.ts';
import { describeKernelSpec, type KernelSpec } from './kernel-spec.ts';

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
}

interface SourceRecord {
  spec: string;
  pristineCommit: string;
  version: string;
  origin: string;
}

export interface SourceContext {
  exec: ExecPort;
  cache: CacheLayout;
  events: RunEvents;
  logFile: string;
  signal?: AbortSignal;
  /** Re-import a non-git local tree even if it was imported before. */
  refresh?: boolean;
}

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

export function sourceId(spec: KernelSpec): string {
  switch (spec.kind) {
    case 'deb':
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

/** Commit a plain directory as one pristine commit, ignoring its .gitignore files (Debian's ignores all of /). */
async function importTree(ctx: SourceContext, dir: string, tree: string, message: string): Promise<string> {
  const gitDir = join(dir, 'git');
  await rm(gitDir, { recursive: true, force: true });
  const opts = { gitDir, workTree: tree, logFile: ctx.logFile, signal: ctx.signal };
  const init = await git(ctx.exec, ['init', '-q', '--bare', gitDir], { logFile: ctx.logFile });
  if (init.exitCode !== 0) throw new VmTestError('infra', `git init ${gitDir} failed`, { logPath: ctx.logFile, excerpt: init.tail.slice(-5) });
  const steps: string[][] = [
    ['add', '-f', '-A', '.'],
    ['commit', '-q', '--no-verify', '-m', message],
  ];
  for (const args of steps) {
    const result = await git(ctx.exec, args, { ...opts, cwd: tree });
    if (result.exitCode !== 0) {
      throw new VmTestError('infra', `git ${args[0]} failed while importing ${tree}`, { logPath: ctx.logFile, excerpt: result.tail.slice(-10) });
    }
  }
  const head = await gitOutput(ctx.exec, ['rev-parse', 'HEAD'], { gitDir });
  if (!head) throw new VmTestError('infra', `could not read the imported commit in ${gitDir}`, { logPath: ctx.logFile });
  return head;
}

async function resolveDeb(ctx: SourceContext, spec: Extract<KernelSpec, { kind: 'deb' }>, dir: string): Promise<SourceRecord> {
  const tarball = `/usr/src/${spec.package}.tar.xz`;
  if (!existsSync(tarball)) {
    ctx.events.emit({ type: 'info', stage: 'source', message: `${tarball} is missing: installing ${spec.package} with apt` });
    const problem = await aptInstall(ctx.exec, [spec.package], ctx.logFile);
    if (problem || !existsSync(tarball)) {
      throw new VmTestError('missingTool', `the kernel source package ${spec.package} is not installed (${problem ?? `${tarball} still missing`})`, { file: tarball });
    }
  }
  const pkgVersion = (await ctx.exec.run({ command: 'dpkg-query', args: ['-W', '-f', '${Version}', spec.package] })).stdout.trim() || 'unknown';
  const origin = `${spec.package} ${pkgVersion}`;
  const existing = await readRecord(dir);
  if (existing && existing.origin === origin && existsSync(join(dir, 'git'))) return existing;

  ctx.events.emit({ type: 'info', stage: 'source', message: `unpacking ${tarball} (${pkgVersion}) into the cache, once` });
  const unpack = join(dir, 'unpack');
  await rm(unpack, { recursive: true, force: true });
  await mkdir(unpack, { recursive: true });
  const untar = await ctx.exec.run({ command: 'tar', args: ['-xJf', tarball, '-C', unpack, '--strip-components=1'], logFile: ctx.logFile, signal: ctx.signal });
  if (untar.exitCode !== 0) throw new VmTestError('infra', `could not unpack ${tarball}`, { file: tarball, logPath: ctx.logFile, excerpt: untar.tail.slice(-5) });
  const commit = await importTree(ctx, dir, unpack, `${spec.package} ${pkgVersion} (pristine import)`);
  await rm(unpack, { recursive: true, force: true });
  const record = { spec: describeKernelSpec(spec), pristineCommit: commit, version: await versionAt(ctx, join(dir, 'git'), commit), origin };
  await writeRecord(dir, record);
  return record;
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
  const isGitTop = userHead !== undefined && (await gitOutput(ctx.exec, ['rev-parse', '--show-toplevel'], { cwd: spec.path })) !== undefined;
  if (userHead && isGitTop) {
    // Read-only use of the user's repository: a shared clone borrows its objects, and we fetch HEAD into our own ref.
    if (!existsSync(gitDir)) {
      const clone = await git(ctx.exec, ['clone', '-q', '--bare', '--shared', spec.path, gitDir], { logFile: ctx.logFile, signal: ctx.signal });
      if (clone.exitCode !== 0) throw new VmTestError('infra', `could not clone ${spec.path} into the cache`, { logPath: ctx.logFile, excerpt: clone.tail.slice(-5) });
    }
    const fetch = await git(ctx.exec, ['fetch', '-q', spec.path, `+${userHead}:refs/vm-test/pristine`], { gitDir, logFile: ctx.logFile, signal: ctx.signal });
    if (fetch.exitCode !== 0) throw new VmTestError('infra', `could not fetch HEAD of ${spec.path}`, { logPath: ctx.logFile, excerpt: fetch.tail.slice(-5) });
    const dirty = await gitOutput(ctx.exec, ['status', '--porcelain', '--untracked-files=no'], { cwd: spec.path });
    if (dirty) ctx.events.emit({ type: 'warn', stage: 'source', message: `${spec.path} has uncommitted changes; vm-test tests its HEAD (${userHead.slice(0, 12)}) only` });
    const record = { spec: describeKernelSpec(spec), pristineCommit: userHead, version: await versionAt(ctx, gitDir, userHead), origin: `git HEAD of ${spec.path}` };
    await writeRecord(dir, record);
    return record;
  }
  const existing = await readRecord(dir);
  if (existing && !ctx.refresh && existsSync(gitDir)) return existing;
  ctx.events.emit({ type: 'info', stage: 'source', message: `importing the non-git tree ${spec.path} into the cache (re-import with --refresh-source)` });
  const commit = await importTree(ctx, dir, spec.path, `import of ${spec.path}`);
  const record = { spec: describeKernelSpec(spec), pristineCommit: commit, version: await versionAt(ctx, gitDir, commit), origin: `copy of ${spec.path}` };
  await writeRecord(dir, record);
  return record;
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
  };
}
