// Where vm-test keeps sources, worktrees, builds, ccache and run directories.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface CacheLayout {
  root: string;
  sources: string;
  worktrees: string;
  builds: string;
  runs: string;
  ccache: string;
  locks: string;
}

export function resolveCacheRoot(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return resolve(flag);
  if (env.VM_TEST_CACHE_DIR) return resolve(env.VM_TEST_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'vm-test');
}

export function cacheLayout(root: string): CacheLayout {
  return {
    root,
    sources: join(root, 'sources'),
    worktrees: join(root, 'worktrees'),
    builds: join(root, 'builds'),
    runs: join(root, 'runs'),
    ccache: join(root, 'ccache'),
    locks: join(root, 'locks'),
  };
}
