// A pahole new enough for the 7.x BPF selftests (1.26+: kfunc declarations in BTF), without changing the host:
// Debian trixie's binary packages, unpacked into the cache and run through their own dynamic loader.
import { existsSync } from 'node:fs';
import { chmod, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import { aptState, aptUpdate, downloadPackage, type DebFetchContext } from '../source/debian-archive.ts';

/** pahole 1.26 emits the kfuncs' declarations (decl_tag_kfuncs), which 7.x's selftests reach through vmlinux.h. */
export const MIN_PAHOLE: readonly [number, number] = [1, 26];

/** Where the packages come from: a suite whose pahole is new enough (bookworm has 1.24 and no backport). */
export const PAHOLE_SUITE = 'trixie';

/** pahole and what its binary loads, down to the C library and its loader (bookworm's glibc is older than trixie's pahole needs). */
export const PAHOLE_PACKAGES = ['pahole', 'libbpf1', 'libdw1t64', 'libelf1t64', 'zlib1g', 'libzstd1', 'liblzma5', 'libbz2-1.0', 'libc6', 'libgcc-s1'] as const;

/** A kernel whose config asks for BTF: its link runs pahole. */
export const requestsBtf = (request: { entries: ReadonlyMap<string, { value: string }> }): boolean => request.entries.get('CONFIG_DEBUG_INFO_BTF')?.value === 'y';

/** "v1.24" -> [1, 24]; undefined when the line is not a pahole version. */
export function paholeVersion(line: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(line.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export const newEnough = (v: readonly [number, number] | undefined): boolean => !!v && (v[0] > MIN_PAHOLE[0] || (v[0] === MIN_PAHOLE[0] && v[1] >= MIN_PAHOLE[1]));

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

/**
 * The host's pahole when it is new enough; otherwise trixie's, unpacked once into <cache>/tools/pahole and
 * reused (checked by running it). Fetched through the same private apt state as deb: kernels.
 */
export async function choosePahole(ctx: DebFetchContext & { toolsDir: string }): Promise<PaholeChoice> {
  const host = await versionOf(ctx.exec, 'pahole');
  if (host && newEnough(paholeVersion(host))) return { command: 'pahole', version: host, origin: 'the host\'s' };
  const dir = join(ctx.toolsDir, 'pahole');
  const wrapper = join(dir, 'pahole');
  const cached = existsSync(wrapper) ? await versionOf(ctx.exec, wrapper) : undefined;
  if (cached && newEnough(paholeVersion(cached))) return { command: wrapper, version: cached, origin: `Debian ${PAHOLE_SUITE}'s, unpacked in ${dir}` };

  ctx.info?.(`the host's pahole is ${host ?? 'missing'}; the selftests need ${MIN_PAHOLE.join('.')} or newer: fetching Debian ${PAHOLE_SUITE}'s into the cache, once`);
  const state = await aptState(ctx, PAHOLE_SUITE);
  await aptUpdate(ctx, state);
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await makeDirs(join(staging, 'debs'));
  const root = join(dir, 'root');
  for (const pkg of PAHOLE_PACKAGES) {
    const deb = await downloadPackage(ctx, state, pkg, undefined, join(staging, 'debs'));
    const x = await ctx.exec.run({ command: 'dpkg-deb', args: ['-x', deb, join(staging, 'root')], logFile: ctx.logFile, signal: ctx.signal });
    if (x.exitCode !== 0) throw new VmTestError('infra', `dpkg-deb -x ${deb} failed (exit ${x.exitCode})`, { logPath: ctx.logFile, excerpt: x.tail.slice(-5) });
  }
  // The loader lives in /usr/lib/x86_64-linux-gnu on a merged-/usr suite (trixie), in /lib before.
  const loaderDir = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib64', 'lib64'].find((d) => existsSync(join(staging, 'root', d, 'ld-linux-x86-64.so.2')));
  if (!loaderDir) throw new VmTestError('infra', `Debian ${PAHOLE_SUITE}'s libc6 has no ld-linux-x86-64.so.2 where expected (${(await readdir(join(staging, 'root'))).join(', ')})`, { logPath: ctx.logFile });
  await rm(join(staging, 'debs'), { recursive: true, force: true });
  await writeFile(join(staging, 'pahole'), paholeWrapper(root, join(root, loaderDir, 'ld-linux-x86-64.so.2')));
  await chmod(join(staging, 'pahole'), 0o755);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  const version = await versionOf(ctx.exec, wrapper);
  if (!version || !newEnough(paholeVersion(version))) {
    throw new VmTestError('missingTool', `pahole from Debian ${PAHOLE_SUITE} (${wrapper}) does not run or is older than ${MIN_PAHOLE.join('.')}: ${version ?? 'no version'}`, { logPath: ctx.logFile });
  }
  return { command: wrapper, version, origin: `Debian ${PAHOLE_SUITE}'s, unpacked in ${dir}` };
}
