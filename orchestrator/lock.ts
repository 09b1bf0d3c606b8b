// One run at a time per kernel source in a cache: the second waits, saying so, instead of corrupting the worktree.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirs } from './paths.ts';

/** A lock with no owner written for this long was left by a run that died between making it and writing its pid. */
export const OWNERLESS_STALE_MS = 10_000;

export interface Lock {
  release(): Promise<void>;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds a lock, as a waiting run says it: this same process (bpf-ci's other side), or another vm-test run. */
export function holderName(holder: string): string {
  return holder === `pid ${process.pid}` ? 'this run\'s other side' : `another vm-test run (${holder})`;
}

/** Waits while a live run holds the lock (Ctrl-C or SIGTERM ends the wait); a dead or missing owner does not keep it. */
export async function acquireLock(dir: string, name: string, onWait: (holder: string) => void, signal?: AbortSignal, timing = { pollMs: 1000, ownerlessStaleMs: OWNERLESS_STALE_MS }): Promise<Lock> {
  await makeDirs(dir);
  const path = join(dir, `${name}.lock`);
  let told = false;
  let ownerlessSince: number | undefined;
  for (;;) {
    if (signal?.aborted) throw new Error('interrupted while waiting for the lock');
    try {
      await mkdir(path);
      await writeFile(join(path, 'owner'), `${process.pid}\n`);
      return { release: () => rm(path, { recursive: true, force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(join(path, 'owner'), 'utf8').catch(() => '')).trim());
    ownerlessSince = owner ? undefined : ownerlessSince ?? Date.now();
    if ((owner && !alive(owner)) || (ownerlessSince !== undefined && Date.now() - ownerlessSince >= timing.ownerlessStaleMs)) {
      // The holder died without releasing, or before it wrote its pid: the lock is stale.
      await rm(path, { recursive: true, force: true });
      ownerlessSince = undefined;
      continue;
    }
    if (!told) {
      onWait(owner ? `pid ${owner}` : 'another run');
      told = true;
    }
    await new Promise((r) => setTimeout(r, timing.pollMs));
  }
}
