// The cache's build lock: a live holder is waited for (and a signal ends the wait); a dead or missing owner is not.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../orchestrator/lock.ts';
import { tempDir } from './helpers.ts';

const fast = { pollMs: 20, ownerlessStaleMs: 300 };

test('a lock left without an owner (its run died before writing its pid) is taken after a bounded wait', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await mkdir(join(tmp.path, 'build.lock'));
  const waits: string[] = [];
  const started = Date.now();
  const lock = await acquireLock(tmp.path, 'build', (holder) => waits.push(holder), undefined, fast);
  t.true(Date.now() - started >= fast.ownerlessStaleMs);
  t.deepEqual(waits, ['another run']);
  t.is((await readFile(join(tmp.path, 'build.lock/owner'), 'utf8')).trim(), String(process.pid));
  await lock.release();
  t.false(existsSync(join(tmp.path, 'build.lock')));
});

test('a live holder is waited for until the signal aborts the wait', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await mkdir(join(tmp.path, 'build.lock'));
  await writeFile(join(tmp.path, 'build.lock/owner'), `${process.pid}\n`);
  const controller = new AbortController();
  const waiting = acquireLock(tmp.path, 'build', () => setTimeout(() => controller.abort(), 100), controller.signal, fast);
  await t.throwsAsync(waiting, { message: /interrupted while waiting for the lock/ });
});

test('a dead holder\'s lock is taken at once', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await mkdir(join(tmp.path, 'build.lock'));
  // Above any pid_max: no such process.
  await writeFile(join(tmp.path, 'build.lock/owner'), '99999999\n');
  const waits: string[] = [];
  const lock = await acquireLock(join(tmp.path), 'build', (holder) => waits.push(holder), undefined, fast);
  t.deepEqual(waits, []);
  await lock.release();
});
