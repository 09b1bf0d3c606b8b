// UAPI headers from a real tree, made without a kernel build: a worktree of the cached pristine import (with
// the series applied by git am for 'patched'), then `make headers_install`. Cached; every failure throws.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout, resolveCacheRoot } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { git } from '../../orchestrator/source/git.ts';
import { realExec } from '../helpers.ts';

/** The series as posted; its headers are made on the kernel its manifest names. */
export const SERIES_DIR = new URL('../../patches/bpf-f-compare/v1/', import.meta.url).pathname;

const made = new Map<string, Promise<string>>();

async function fail(what: string, r: { exitCode: number | undefined; stderr: string; stdout: string }): Promise<never> {
  throw new Error(`${what} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).split('\n').slice(-8).join('\n')}`);
}

/** The include directory (holding linux/bpf.h) of the series' tree, patched or pristine. */
export function uapiHeaders(variant: 'patched' | 'pristine', seriesDir = SERIES_DIR): Promise<string> {
  const override = process.env[variant === 'patched' ? 'VM_TEST_GUEST_HEADERS_PATCHED' : 'VM_TEST_GUEST_HEADERS_PRISTINE'];
  if (override) {
    if (!existsSync(join(override, 'linux', 'bpf.h'))) return Promise.reject(new Error(`${override}: no linux/bpf.h`));
    return Promise.resolve(override);
  }
  const key = `${variant}:${seriesDir}`;
  let promise = made.get(key);
  if (!promise) {
    promise = makeHeaders(variant, seriesDir);
    made.set(key, promise);
  }
  return promise;
}

async function makeHeaders(variant: 'patched' | 'pristine', seriesDir: string): Promise<string> {
  const cache = cacheLayout(resolveCacheRoot(undefined, process.env));
  const base = join(cache.root, 'test-assets', 'guest-headers');
  await mkdir(base, { recursive: true });
  const manifestKernel = (JSON.parse(await readFile(join(seriesDir, 'series.json'), 'utf8')) as { base?: { kernel?: string } }).base?.kernel;
  const spec = parseKernelSpec(manifestKernel ?? '');
  if ('error' in spec) throw new Error(`${seriesDir}series.json: base.kernel: ${spec.error}`);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(base, 'source.log') }, spec);
  const manifest = JSON.parse(await readFile(join(seriesDir, 'series.json'), 'utf8')) as { patches: string[] };
  const patches = variant === 'patched' ? manifest.patches.map((p) => join(seriesDir, p)) : [];
  const hash = createHash('sha256').update(source.pristineCommit);
  for (const p of patches) hash.update(await readFile(p));
  const dest = join(base, `${variant}-${hash.digest('hex').slice(0, 12)}`);
  const include = join(dest, 'include');
  if (existsSync(join(include, 'linux', 'bpf.h'))) return include;

  const tree = join(base, `tree-${variant}-${process.pid}`);
  const staging = `${dest}.${process.pid}`;
  await rm(tree, { recursive: true, force: true });
  try {
    let r = await git(realExec, ['worktree', 'add', '--detach', tree, source.pristineCommit], { gitDir: source.gitDir });
    if (r.exitCode !== 0) await fail('git worktree add', r);
    if (patches.length) {
      r = await git(realExec, ['am', '--3way', ...patches], { cwd: tree });
      if (r.exitCode !== 0) await fail(`git am of ${seriesDir}`, r);
    }
    r = await realExec.run({ command: 'make', args: ['-s', '-C', tree, 'headers_install', `INSTALL_HDR_PATH=${staging}`] });
    if (r.exitCode !== 0) await fail('make headers_install', r);
    await rename(staging, dest).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished first: keep theirs.
      if (!existsSync(join(include, 'linux', 'bpf.h'))) throw error;
      await rm(staging, { recursive: true, force: true });
    });
  } finally {
    await git(realExec, ['worktree', 'remove', '--force', tree], { gitDir: source.gitDir });
    await rm(tree, { recursive: true, force: true });
  }
  return include;
}
