// A source tarball straight into one commit of the cache's repository: xz into a tar parser into git fast-import.
// No file touches the disk on the way and git writes one pack, not 90 000 loose objects; the worktree
// checkout that follows writes the files once.
import { PassThrough } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { ExecPort, ExecResult } from '../exec/exec-port.ts';
import { GIT_IDENTITY_ENV, git, gitOutput } from './git.ts';

export interface TarballImport {
  exec: ExecPort;
  /** An existing bare repository. */
  gitDir: string;
  /** A tar.xz whose entries all sit under one top-level directory (Debian's linux-source-*), which is stripped. */
  tarball: string;
  /** The ref the commit lands on (forced). */
  ref: string;
  message: string;
  logFile?: string;
  signal?: AbortSignal;
}

/**
 * What this importer makes of a tarball, named: an import recorded under another name is made again, not reused.
 * Change it whenever the tree made from the same tarball changes (test/source/tarball-import.test.ts pins the tree
 * of its fixture to this name, and fails until both are changed together).
 */
export const TARBALL_IMPORTER = 'fast-import/1: top directory stripped, owner-exec modes, symlinks, hard links as copies, ignore files kept';

export type TarballImportResult = { commit: string; files: number } | { error: string; excerpt: string[] };

/** The fixed identity and date of every commit of ours (fast-import reads them from the stream, not the environment). */
const COMMITTER = `${GIT_IDENTITY_ENV.GIT_COMMITTER_NAME} <${GIT_IDENTITY_ENV.GIT_COMMITTER_EMAIL}> ${Date.parse(GIT_IDENTITY_ENV.GIT_COMMITTER_DATE) / 1000} +0000`;

/** fast-import takes a path as the rest of the line, except one that starts with a quote or holds a newline. */
export function fastImportPath(path: string): string {
  if (!path.startsWith('"') && !path.includes('\n')) return path;
  return `"${path.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

/** The git mode of a tar entry: only the owner's execute bit survives, as with git add. */
const fileMode = (mode: number | undefined): string => ((mode ?? 0) & 0o100 ? '100755' : '100644');

export async function importTarball(request: TarballImport): Promise<TarballImportResult> {
  const stream = new PassThrough({ highWaterMark: 4 << 20 });
  const parser = new Parser({ strict: true });
  const tree: string[] = [];
  const markOf = new Map<string, number>();
  let marks = 0;
  let unsupported: string | undefined;
  let parseError: Error | undefined;

  const blob = (size: number): number => {
    stream.write(`blob\nmark :${++marks}\ndata ${size}\n`);
    return marks;
  };
  parser.on('entry', (entry: ReadEntry) => {
    const path = entry.path.split('/').slice(1).join('/').replace(/\/+$/, '');
    if (!path || entry.type === 'Directory') return entry.resume();
    if (entry.type === 'SymbolicLink') {
      const target = Buffer.from(entry.linkpath ?? '');
      const mark = blob(target.length);
      stream.write(Buffer.concat([target, Buffer.from('\n')]));
      tree.push(`M 120000 :${mark} ${fastImportPath(path)}`);
      return entry.resume();
    }
    if (entry.type === 'Link') {
      const mark = markOf.get((entry.linkpath ?? '').split('/').slice(1).join('/'));
      if (mark === undefined) unsupported ??= `${entry.path}: hard link to ${entry.linkpath}, which comes later or not at all`;
      else tree.push(`M ${fileMode(entry.mode)} :${mark} ${fastImportPath(path)}`);
      return entry.resume();
    }
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      unsupported ??= `${entry.path}: a ${entry.type} entry, which a kernel tree does not hold`;
      return entry.resume();
    }
    const mark = blob(entry.size);
    markOf.set(path, mark);
    tree.push(`M ${fileMode(entry.mode)} :${mark} ${fastImportPath(path)}`);
    // The file's bytes go through as they come; a full pipe to git pauses the entry, and so the parser and xz.
    entry.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) {
        entry.pause();
        stream.once('drain', () => entry.resume());
      }
    });
    entry.on('end', () => stream.write('\n'));
  });
  parser.on('error', (error: Error) => (parseError ??= error));
  const parsed = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', () => resolve());
  });

  // git stopping early (a bad repository, a full disk) must not leave xz blocked on a full pipe.
  const stopXz = new AbortController();
  request.signal?.addEventListener('abort', () => stopXz.abort(), { once: true });
  let ended = false;
  let gitStoppedEarly = false;
  // One pack, even for a small tarball; level-1 compression and no deltas: it is written once and read once, by the checkout.
  const fastImport = git(request.exec, ['-c', 'pack.compression=1', '-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', '--done', '--force', '--depth=0'], {
    gitDir: request.gitDir,
    input: stream,
    logFile: request.logFile,
    signal: request.signal,
  }).then((result) => {
    if (!ended) {
      gitStoppedEarly = true;
      stopXz.abort();
    }
    return result;
  });
  const xz = await request.exec.run({
    command: 'xz',
    args: ['-dc', '-T0', request.tarball],
    stdoutTo: parser,
    logFile: request.logFile,
    signal: stopXz.signal,
  });
  if (xz.exitCode === 0 && !xz.spawnError) await parsed;
  if (gitStoppedEarly) {
    const early = await fastImport;
    return { error: `git fast-import into ${request.gitDir} stopped before the end of ${request.tarball} (exit ${early.spawnError ?? early.exitCode})`, excerpt: early.tail.slice(-10) };
  }
  const failure = xz.exitCode !== 0 || xz.spawnError ? `xz -dc ${request.tarball} exited ${xz.spawnError ?? xz.exitCode}`
    : parseError ? `${request.tarball} is not a valid tar stream: ${parseError.message}`
    : unsupported ? `${request.tarball}: ${unsupported}`
    : tree.length === 0 ? `${request.tarball} holds no files under a top-level directory`
    : undefined;
  if (failure) {
    // Without "done" fast-import stops with an error and updates no ref.
    ended = true;
    stream.end();
    await fastImport;
    return { error: failure, excerpt: xz.tail.slice(-5) };
  }
  const message = Buffer.from(request.message + '\n');
  stream.write(`commit ${request.ref}\ncommitter ${COMMITTER}\ndata ${message.length}\n`);
  stream.write(message);
  stream.write(tree.join('\n') + '\n\ndone\n');
  ended = true;
  stream.end();
  const done: ExecResult = await fastImport;
  if (done.exitCode !== 0) return { error: `git fast-import into ${request.gitDir} exited ${done.spawnError ?? done.exitCode}`, excerpt: done.tail.slice(-10) };
  const commit = await gitOutput(request.exec, ['rev-parse', '--verify', `${request.ref}^{commit}`], { gitDir: request.gitDir });
  if (!commit) return { error: `git fast-import left no ${request.ref} in ${request.gitDir}`, excerpt: done.tail.slice(-5) };
  return { commit, files: tree.length };
}
