// A guest reads its tests from the build directory live, through the build share, for as long as its VM runs (bpf-ci:
// hours). A build that would rewrite them waits until no live run reads them, so the tests a guest runs stay the ones
// its run was planned and keyed with. Both sides act under the cache's build lock: no race between them.
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alive } from '../lock.ts';
import { makeDirs } from '../paths.ts';

const READERS = 'vm-test-readers';

export interface BuildDirReader {
  pid: number;
  runDir: string;
  /** The directories under the build directory its guest reads (its test_progs', the full selftests'). */
  reads: string[];
}

/** Marks this run as reading those directories of buildDir until the returned release runs (its VM has ended). */
export async function readBuildDir(buildDir: string, runDir: string, reads: readonly string[]): Promise<() => Promise<void>> {
  const dir = join(buildDir, READERS);
  await makeDirs(dir);
  const file = join(dir, `${process.pid}-${randomUUID()}`);
  await writeFile(file, JSON.stringify({ pid: process.pid, runDir, reads: [...reads] } satisfies BuildDirReader));
  return () => rm(file, { force: true });
}

/** Whether one directory holds the other (or they are one). */
const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/** The live runs reading buildDir; a mark left by a run that died is removed. */
export async function buildDirReaders(buildDir: string): Promise<BuildDirReader[]> {
  const dir = join(buildDir, READERS);
  const out: BuildDirReader[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const reader = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '{}')) as Partial<BuildDirReader>;
    if (reader.pid && reader.runDir && alive(reader.pid)) out.push({ pid: reader.pid, runDir: reader.runDir, reads: reader.reads ?? [buildDir] });
    else if (reader.pid && !alive(reader.pid)) await rm(join(dir, name), { force: true });
  }
  return out;
}

/** Waits while a live run's guest reads what a build of `outDir` (in buildDir) would rewrite, saying once who. */
export async function waitForBuildDirReaders(buildDir: string, outDir: string, onWait: (readers: BuildDirReader[]) => void, signal?: AbortSignal, pollMs = 2000): Promise<void> {
  let told = false;
  for (;;) {
    if (signal?.aborted) throw new Error('interrupted while waiting for a run reading the build directory');
    const readers = (await buildDirReaders(buildDir)).filter((r) => r.reads.some((read) => overlaps(read, outDir)));
    if (readers.length === 0) return;
    if (!told) onWait(readers);
    told = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** How a waiting build says whom it waits for. */
export function describeReaders(readers: readonly BuildDirReader[], what: string): string {
  return `waiting for ${readers.map((r) => `the run in ${r.runDir} (pid ${r.pid})`).join(' and ')} to end: its guest reads ${what} from this build directory`;
}
