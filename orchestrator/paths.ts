// The directories and files vm-test writes: checked before a run starts, and made without unbounded retries.
import { constants, type Stats } from 'node:fs';
import { access, mkdir, mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The path itself when it exists, else its nearest existing ancestor; the walk ends at the root. */
export async function nearestExisting(path: string): Promise<{ path: string; stats: Stats }> {
  let at = resolve(path);
  for (;;) {
    const stats = await stat(at).catch(() => undefined);
    if (stats) return { path: at, stats };
    const up = dirname(at);
    // dirname('/') is '/': the root always exists, so the walk takes at most one step per component.
    if (up === at) throw new Error(`${at}: the root does not exist`);
    at = up;
  }
}

const reason = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/**
 * Why vm-test cannot make `dir` and write in it, or undefined when it can. It makes and removes an empty
 * directory where `dir` would start: access() says yes for root on /proc, where mkdir then fails.
 */
export async function dirProblem(dir: string): Promise<string | undefined> {
  const target = resolve(dir);
  const found = await nearestExisting(target);
  if (!found.stats.isDirectory()) return found.path === target ? 'not a directory' : `${found.path} is not a directory`;
  try {
    await rmdir(await mkdtemp(join(found.path, '.vm-test-probe-')));
  } catch (error) {
    return found.path === target ? `cannot write in it (${reason(error)})` : `cannot create it: no directory can be made in ${found.path} (${reason(error)})`;
  }
  return undefined;
}

/** Why vm-test cannot write `file` at the end of a run, or undefined when it can. Its directory must exist already. */
export async function outputFileProblem(file: string): Promise<string | undefined> {
  const target = resolve(file);
  const stats = await stat(target).catch(() => undefined);
  if (stats?.isDirectory()) return 'is a directory';
  if (stats && !(await access(target, constants.W_OK).then(() => true, () => false))) return 'not writable';
  const parent = dirname(target);
  const parentStats = await stat(parent).catch(() => undefined);
  if (!parentStats) return `no such directory: ${parent} (create it first)`;
  if (!parentStats.isDirectory()) return `${parent} is not a directory`;
  const problem = await dirProblem(parent);
  return problem && `${parent}: ${problem}`;
}

/** mkdir -p, one component at a time: node's recursive mkdir retries forever where mkdir says ENOENT under an existing parent (/proc). */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!(await stat(at).then(() => true, () => false))) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const d of missing) {
    await mkdir(d).catch((error: NodeJS.ErrnoException) => {
      // Another run made it meanwhile.
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
