// Where vm-test writes: a path it cannot use is named before the run, and making directories never spins (/proc).
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dirProblem, makeDirs, nearestExisting, outputFileProblem } from '../orchestrator/paths.ts';
import { tempDir } from './helpers.ts';

/** Fails instead of hanging: node's recursive mkdir retries forever on /proc, and a regression must not stall the suite. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms).unref())]);
}

test('nearestExisting walks up to the first path that exists', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  t.is((await nearestExisting(join(tmp.path, 'a/b/c'))).path, tmp.path);
  t.is((await nearestExisting(tmp.path)).path, tmp.path);
});

test('dirProblem: an existing or creatable directory is fine, and the probe leaves nothing behind', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  t.is(await dirProblem(tmp.path), undefined);
  t.is(await dirProblem(join(tmp.path, 'new/cache')), undefined);
  t.false(existsSync(join(tmp.path, 'new')), 'checking does not make it');
  t.deepEqual(await readdir(tmp.path), []);
});

test('dirProblem: a file, or a path under a file, is not a directory', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const file = join(tmp.path, 'file');
  await writeFile(file, '');
  t.is(await dirProblem(file), 'not a directory');
  t.is(await dirProblem(join(file, 'sub')), `${file} is not a directory`);
});

test('dirProblem: a directory under /proc cannot be made (root passes access() there), and saying so is quick', async (t) => {
  t.regex((await within(5000, dirProblem('/proc/vm-test-cache'))) ?? '', /^cannot create it: no directory can be made in \/proc \(ENOENT\)$/);
});

test('outputFileProblem: the directory must exist, and the path must not be one', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  t.is(await outputFileProblem(join(tmp.path, 'r.json')), undefined);
  t.is(await outputFileProblem(join(tmp.path, 'out/r.json')), `no such directory: ${join(tmp.path, 'out')} (create it first)`);
  t.is(await outputFileProblem(tmp.path), 'is a directory');
  await writeFile(join(tmp.path, 'file'), '');
  t.is(await outputFileProblem(join(tmp.path, 'file/r.json')), `${join(tmp.path, 'file')} is not a directory`);
  t.regex((await within(5000, outputFileProblem('/proc/r.json'))) ?? '', /^\/proc: cannot write in it/);
});

test('makeDirs makes every missing component, and tolerates one that exists', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await mkdir(join(tmp.path, 'a'));
  await makeDirs(join(tmp.path, 'a/b/c'));
  t.true(existsSync(join(tmp.path, 'a/b/c')));
  await makeDirs(join(tmp.path, 'a/b/c'));
});

test('makeDirs under /proc fails at once with the error, where mkdir -p would spin', async (t) => {
  const error = await t.throwsAsync(within(5000, makeDirs('/proc/vm-test-cache/runs/x')));
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
});
