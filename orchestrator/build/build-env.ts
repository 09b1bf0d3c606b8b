// Environment shared by every compile: ccache outside the repo (behind vm-test-cc), reproducible kernel build stamps.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CacheLayout } from '../cache.ts';
import type { ExecPort } from '../exec/exec-port.ts';

/** The compiler wrapper in the repository: ccache, except for units that .incbin a file (see the script). */
export const COMPILER_WRAPPER_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'vm-test-cc');

/** Where the wrapper is installed: a fixed path, since kbuild rebuilds every object whose command line (CC included) changed. */
export function compilerWrapperPath(cache: CacheLayout): string {
  return join(cache.root, 'bin', 'vm-test-cc');
}

/** Copies the wrapper into the cache when its bytes differ from the repository's (atomically: a build may be using it). */
export async function installCompilerWrapper(cache: CacheLayout): Promise<string> {
  const path = compilerWrapperPath(cache);
  const text = await readFile(COMPILER_WRAPPER_SOURCE);
  if (existsSync(path) && (await readFile(path)).equals(text)) return path;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp-${process.pid}`, text);
  await chmod(`${path}.tmp-${process.pid}`, 0o755);
  await rename(`${path}.tmp-${process.pid}`, path);
  return path;
}

/**
 * The tree's headers holding .incbin (tree-relative paths), for vm-test-cc: a unit that includes one is compiled
 * again without ccache, since ccache's key never covers the file the header embeds. Every build through vm-test-cc
 * passes them: the kernel's, the targeted test_progs and the full selftests (7.2.6 has none).
 */
export async function incbinHeaders(exec: ExecPort, worktree: string): Promise<string[]> {
  const grep = await exec.run({ command: 'git', args: ['grep', '-l', '-F', 'incbin', '--', '*.h', '*.inc'], cwd: worktree });
  return grep.exitCode === 0 ? grep.stdout.split('\n').filter(Boolean) : [];
}

export function buildEnv(cache: CacheLayout, incbinHeaders: readonly string[] = []): Record<string, string> {
  return {
    CCACHE_DIR: cache.ccache,
    // Paths under the cache become relative, so build directories with other names share hits.
    CCACHE_BASEDIR: cache.root,
    CCACHE_NOHASHDIR: '1',
    CCACHE_MAXSIZE: '8G',
    // Depend mode: on a miss ccache takes the headers from the compiler's -MMD file instead of
    // running the preprocessor a second time. Measured on kernel/bpf/ and kernel/events/ with an
    // empty ccache: plain gcc 31.5 s, ccache's default mode 49.1 s, depend mode 31.4 s; the rerun
    // was 100 of 100 direct hits. Compiles without a dependency file fall back to the default mode.
    CCACHE_DEPEND: '1',
    // The tree's headers that hold .incbin: vm-test-cc compiles a unit that includes one without ccache.
    VM_TEST_INCBIN_HEADERS: incbinHeaders.join('\n'),
    // Fixed stamps: an unchanged tree and config give a byte-identical bzImage.
    KBUILD_BUILD_TIMESTAMP: 'Sat Jan  1 00:00:00 UTC 2000',
    KBUILD_BUILD_USER: 'vm-test',
    KBUILD_BUILD_HOST: 'vm-test',
    KBUILD_BUILD_VERSION: '1',
  };
}

/** CC for make: gcc through vm-test-cc (ccache that never serves an object embedding a file by .incbin), or plain gcc. */
export function compilerFor(ccache: boolean, cache: CacheLayout): string {
  return ccache ? `${compilerWrapperPath(cache)} gcc` : 'gcc';
}

/**
 * The tools a kernel's configure and build ask for their version or features (Kconfig's cc-option, ld-option,
 * PAHOLE_VERSION, openssl's ML-DSA check, ...), each with how to ask. A tool that is absent is part of the answer.
 */
export const TOOLCHAIN: readonly (readonly [string, ...string[]])[] = [
  ['gcc', '--version'], ['ld', '--version'], ['as', '--version'], ['ar', '--version'], ['nm', '--version'], ['objcopy', '--version'],
  ['pahole', '--version'], ['openssl', 'version'], ['python3', '--version'], ['rustc', '--version'], ['bindgen', '--version'],
];

/**
 * Each tool's first version line ("absent" when it does not run): the configure skip and the build stamp key on it.
 * tools: the commands a build is given instead of the names on PATH (PAHOLE= a newer pahole from the cache).
 */
export async function toolchainFingerprint(exec: ExecPort, tools: { pahole?: string } = {}): Promise<string> {
  const lines = await Promise.all(TOOLCHAIN.map(async ([name, ...args]) => {
    const command = name === 'pahole' && tools.pahole ? tools.pahole : name;
    const r = await exec.run({ command, args });
    const first = r.exitCode === 0 ? r.stdout.split('\n')[0]!.trim() : 'absent';
    return `${name}: ${first}${command !== name ? ` (${command})` : ''}`;
  }));
  return lines.join('\n');
}
