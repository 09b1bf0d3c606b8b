// Where vm-test keeps sources, worktrees, builds, ccache and run directories.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface CacheLayout {
  root: string;
  sources: string;
  /** trees/<source>/src is the worktree, trees/<source>/build-<config> its O= build directories. */
  trees: string;
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
    trees: join(root, 'trees'),
    runs: join(root, 'runs'),
    ccache: join(root, 'ccache'),
    locks: join(root, 'locks'),
  };
}

/**
 * A source's worktree. Its build directories sit beside it, so the compiler sees every source as
 * ../src/...: the same file in two sources, or two caches, gives the same command line and a ccache hit.
 */
export function worktreeFor(cache: CacheLayout, sourceId: string): string {
  return join(cache.trees, sourceId, 'src');
}

export function buildDirIn(cache: CacheLayout, sourceId: string, configHash: string): string {
  return join(cache.trees, sourceId, `build-${configHash}`);
}

/** Every build directory in the cache. */
export function buildDirs(cache: CacheLayout, readdir: (dir: string) => string[]): string[] {
  const out: string[] = [];
  for (const id of readdir(cache.trees)) for (const d of readdir(join(cache.trees, id))) if (d.startsWith('build-')) out.push(join(cache.trees, id, d));
  return out;
}
