// Environment shared by every compile: ccache outside the repo, reproducible kernel build stamps.
import type { CacheLayout } from '../cache.ts';

export function buildEnv(cache: CacheLayout): Record<string, string> {
  return {
    CCACHE_DIR: cache.ccache,
    // Paths under the cache become relative, so build directories with other names share hits.
    CCACHE_BASEDIR: cache.root,
    CCACHE_NOHASHDIR: '1',
    CCACHE_MAXSIZE: '8G',
    // Fixed stamps: an unchanged tree and config give a byte-identical bzImage.
    KBUILD_BUILD_TIMESTAMP: 'Sat Jan  1 00:00:00 UTC 2000',
    KBUILD_BUILD_USER: 'vm-test',
    KBUILD_BUILD_HOST: 'vm-test',
    KBUILD_BUILD_VERSION: '1',
  };
}

export function compilerFor(ccache: boolean): string {
  return ccache ? 'ccache gcc' : 'gcc';
}
