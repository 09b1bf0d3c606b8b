// The guest stage: the selected guest suites compiled against the built kernel's UAPI headers, and their C kept with the run.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KernelBuild } from '../build/kernel-build.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { prepareGuestSuites, type GuestSuiteBuild } from './guest-suites.ts';

export interface GuestSuitesRequest {
  exec: ExecPort;
  toolchain?: string;
  kernel: Pick<KernelBuild, 'headersDir' | 'buildDir'>;
  select?: string;
  timeoutSec: number;
  logFile: string;
  signal?: AbortSignal;
}

export async function buildGuestSuites(request: GuestSuitesRequest): Promise<GuestSuiteBuild> {
  const { kernel, ...rest } = request;
  // Keyed by the installed UAPI header, so a run never replaces binaries another run's guest is executing.
  const headerHash = createHash('sha256').update(await readFile(join(kernel.headersDir, 'linux/bpf.h'))).digest('hex').slice(0, 16);
  return prepareGuestSuites({ ...rest, headersDir: kernel.headersDir, outDir: join(kernel.buildDir, 'vm-test-guest-tests', headerHash) });
}

/** The exact C each suite was compiled from, beside its results (it builds on its own: see its README). */
export async function keepSuiteSources(built: Pick<GuestSuiteBuild, 'cSources'>, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of built.cSources) await copyFile(file, join(dir, basename(file)));
}
