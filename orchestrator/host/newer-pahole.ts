// A pahole new enough for the 7.x BPF selftests, without changing the host: Debian's binary packages, unpacked into
// the cache with everything they load, down to the C library, and run through their own dynamic loader.
import { existsSync } from 'node:fs';
import { chmod, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import { aptState, aptUpdate, type DebFetchContext } from '../source/debian-archive.ts';

/** pahole 1.26 emits the kfuncs' declarations (decl_tag_kfuncs), which 7.x's selftests reach through vmlinux.h. */
export const MIN_PAHOLE: readonly [number, number] = [1, 26];

/**
 * The BTF features a 7.x selftests kernel needs of pahole, as it lists them (--supported_btf_features): the kfuncs'
 * declarations, and their arguments' address spaces (attributes; Makefile.btf asks for it from 1.30), without which
 * vmlinux.h declares bpf_arena_alloc_pages() with plain pointers and libarena's own __arena declaration conflicts
 * ("conflicting types for 'bpf_arena_alloc_pages'", seen with trixie's 1.30, which lacks it).
 */
export const PAHOLE_FEATURES = ['decl_tag_kfuncs', 'attributes'] as const;

/** Where the packages come from: Debian testing, whose pahole has them (1.32 on 2026-12-07; bookworm has 1.24, trixie 1.30). */
export const PAHOLE_SUITE = 'forky';

/** A kernel whose config asks for BTF: its link runs pahole. */
export const requestsBtf = (request: { entries: ReadonlyMap<string, { value: string }> }): boolean => request.entries.get('CONFIG_DEBUG_INFO_BTF')?.value === 'y';

/** "v1.24" -> [1, 24]; undefined when the line is not a pahole version. */
export function paholeVersion(line: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(line.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export const newEnough = (v: readonly [number, number] | undefined): boolean => !!v && (v[0] > MIN_PAHOLE[0] || (v[0] === MIN_PAHOLE[0] && v[1] >= MIN_PAHOLE[1]));

/** The features PAHOLE_FEATURES needs that this pahole does not list (all of them for one without --supported_btf_features). */
export function missingFeatures(listed: string | undefined): string[] {
  const have = new Set((listed ?? '').trim().split(/[,\s]+/));
  return PAHOLE_FEATURES.filter((f) => !have.has(f));
}

/** The wrapper that runs the unpacked pahole with the unpacked loader and libraries, never the host's. */
export function paholeWrapper(root: string, loader: string): string {
  const libs = [join(root, 'usr/lib/x86_64-linux-gnu'), join(root, 'lib/x86_64-linux-gnu')].join(':');
  return [
    '#!/bin/sh',
    `# pahole from Debian ${PAHOLE_SUITE}'s packages, unpacked by vm-test: its own loader and libraries, the host's untouched.`,
    `exec '${loader}' --library-path '${libs}' '${join(root, 'usr/bin/pahole')}' "$@"`,
    '',
  ].join('\n');
}

export interface PaholeChoice {
  /** The command kbuild is given as PAHOLE= (the host's "pahole", or the wrapper in the cache). */
  command: string;
  version: string;
  /** Where it came from, for the plan and the log. */
  origin: string;
}

async function versionOf(exec: ExecPort, command: string): Promise<string | undefined> {
  const r = await exec.run({ command, args: ['--version'] });
  return r.exitCode === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

/** A pahole that runs and lists every feature the selftests need; its version, or why not. */
async function suitable(exec: ExecPort, command: string): Promise<{ version: string } | { problem: string }> {
  const version = await versionOf(exec, command);
  if (!version) return { problem: 'missing' };
  if (!newEnough(paholeVersion(version))) return { problem: `${version}, older than ${MIN_PAHOLE.join('.')}` };
  const features = await exec.run({ command, args: ['--supported_btf_features'] });
  const missing = missingFeatures(features.exitCode === 0 ? features.stdout : undefined);
  return missing.length ? { problem: `${version}, without ${missing.join(', ')}` } : { version };
}

/**
 * The host's pahole when it has the features; otherwise Debian testing's, with the packages it depends on (apt's own
 * closure, from an empty status), unpacked once into <cache>/tools/pahole-<suite> and reused (checked by running it).
 * Fetched through a private apt state, like deb: kernels.
 */
export async function choosePahole(ctx: DebFetchContext & { toolsDir: string }): Promise<PaholeChoice> {
  const host = await suitable(ctx.exec, 'pahole');
  if ('version' in host) return { command: 'pahole', version: host.version, origin: 'the host\'s' };
  const dir = join(ctx.toolsDir, `pahole-${PAHOLE_SUITE}`);
  const wrapper = join(dir, 'pahole');
  const cached = existsSync(wrapper) ? await suitable(ctx.exec, wrapper) : undefined;
  if (cached && 'version' in cached) return { command: wrapper, version: cached.version, origin: `Debian ${PAHOLE_SUITE}'s, unpacked in ${dir}` };

  ctx.info?.(`the host's pahole is ${host.problem}; the selftests need ${PAHOLE_FEATURES.join(' and ')}: fetching Debian ${PAHOLE_SUITE}'s into the cache, once`);
  const state = await aptState(ctx, PAHOLE_SUITE);
  await aptUpdate(ctx, state);
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const debs = join(staging, 'debs');
  await makeDirs(join(debs, 'partial'));
  // apt's own dependency closure: with the private state's empty status, every package pahole loads, libc6 included.
  const got = await ctx.exec.run({ command: 'apt-get', args: [...state.options, '-o', `Dir::Cache::Archives=${debs}`, '-q', '-y', '--download-only', '--no-install-recommends', 'install', 'pahole'], logFile: ctx.logFile, signal: ctx.signal, env: { LC_ALL: 'C' } });
  const files = (await readdir(debs)).filter((f) => f.endsWith('.deb'));
  if (got.exitCode !== 0 || !files.some((f) => f.startsWith('pahole_'))) {
    throw new VmTestError('infra', `apt-get --download-only install pahole from Debian ${PAHOLE_SUITE} failed (exit ${got.exitCode}): ${got.tail.slice(-2).join(' | ')}`, { logPath: ctx.logFile, excerpt: got.tail.slice(-8) });
  }
  for (const file of files) {
    const x = await ctx.exec.run({ command: 'dpkg-deb', args: ['-x', join(debs, file), join(staging, 'root')], logFile: ctx.logFile, signal: ctx.signal });
    if (x.exitCode !== 0) throw new VmTestError('infra', `dpkg-deb -x ${file} failed (exit ${x.exitCode})`, { logPath: ctx.logFile, excerpt: x.tail.slice(-5) });
  }
  const root = join(dir, 'root');
  // The loader lives in /usr/lib/x86_64-linux-gnu on a merged-/usr suite, in /lib before.
  const loaderDir = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib64', 'lib64'].find((d) => existsSync(join(staging, 'root', d, 'ld-linux-x86-64.so.2')));
  if (!loaderDir) throw new VmTestError('infra', `Debian ${PAHOLE_SUITE}'s libc6 has no ld-linux-x86-64.so.2 where expected (${(await readdir(join(staging, 'root'))).join(', ')})`, { logPath: ctx.logFile });
  await writeFile(join(staging, 'packages.txt'), files.sort().join('\n') + '\n');
  await rm(debs, { recursive: true, force: true });
  await writeFile(join(staging, 'pahole'), paholeWrapper(root, join(root, loaderDir, 'ld-linux-x86-64.so.2')));
  await chmod(join(staging, 'pahole'), 0o755);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  const fetched = await suitable(ctx.exec, wrapper);
  if (!('version' in fetched)) throw new VmTestError('missingTool', `pahole from Debian ${PAHOLE_SUITE} (${wrapper}) is not usable: ${fetched.problem}`, { logPath: ctx.logFile });
  return { command: wrapper, version: fetched.version, origin: `Debian ${PAHOLE_SUITE}'s, unpacked in ${dir}` };
}
