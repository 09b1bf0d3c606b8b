// One run at a time per kernel source in a cache: the second waits, saying so, instead of corrupting the worktree.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(dir: string, name: string, onWait: (holder: string) => void, signal?: AbortSignal): Promise<Lock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  let told = false;
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
    if (owner && !alive(owner)) {
      // The holder died without releasing: the lock is stale.
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!told) {
      onWait(owner ? `pid ${owner}` : 'another run');
      told = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
