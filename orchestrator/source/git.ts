// Thin git helper over the exec port: argument arrays, fixed identity, errors as values.
import type { Readable } from 'node:stream';
import type { ExecPort, ExecResult } from '../exec/exec-port.ts';

/**
 * No automatic gc or maintenance: a fresh import is ~100 000 loose objects, and the `git gc --auto` that
 * git am starts packs them in a detached background process, which competes with the kernel build for
 * the cores (both cache repositories were found packed after a cold run). The cache's repositories stay
 * loose; nothing needs them packed.
 */
export const NO_AUTO_GC_ENV = {
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'gc.auto',
  GIT_CONFIG_VALUE_0: '0',
  GIT_CONFIG_KEY_1: 'maintenance.auto',
  GIT_CONFIG_VALUE_1: 'false',
};

/** A fixed identity and date so that imports and applied series have stable commit ids. */
export const GIT_IDENTITY_ENV = {
  GIT_COMMITTER_NAME: 'vm-test',
  GIT_COMMITTER_EMAIL: 'vm-test@localhost',
  GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
  GIT_AUTHOR_NAME: 'vm-test',
  GIT_AUTHOR_EMAIL: 'vm-test@localhost',
  GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z',
  GIT_TERMINAL_PROMPT: '0',
};

/**
 * For git working on the cache's own repositories and worktree (git am, checkout, an import's git add): neither the
 * user's ~/.gitconfig nor /etc/gitconfig is read. apply.whitespace=fix, core.autocrlf or commit.gpgSign there would
 * change the tree git am makes or the files a checkout writes, and no cache key names them. Not for fetches, which
 * may need the user's proxy or insteadOf settings, nor for reading the user's own repository.
 */
export const ISOLATED_CONFIG_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export interface GitOptions {
  gitDir?: string;
  /** stdin: text, or a stream (a fast-import stream). */
  input?: string | Readable;
  workTree?: string;
  cwd?: string;
  env?: Record<string, string>;
  logFile?: string;
  signal?: AbortSignal;
}

export function git(exec: ExecPort, args: readonly string[], options: GitOptions = {}): Promise<ExecResult> {
  const prefix: string[] = [];
  if (options.gitDir) prefix.push(`--git-dir=${options.gitDir}`);
  if (options.workTree) prefix.push(`--work-tree=${options.workTree}`);
  return exec.run({
    command: 'git',
    args: [...prefix, ...args],
    cwd: options.cwd,
    env: { ...GIT_IDENTITY_ENV, ...NO_AUTO_GC_ENV, ...options.env },
    logFile: options.logFile,
    signal: options.signal,
    input: options.input,
  });
}

export async function gitOutput(exec: ExecPort, args: readonly string[], options: GitOptions = {}): Promise<string | undefined> {
  const result = await git(exec, args, options);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}
