// SIGTERM stops a run as Ctrl-C does: the run directory kept, its own exit code (143; Ctrl-C 130). The run is
// caught waiting for the cache's build lock, held by this test, so nothing is built; the --kernel is no kernel
// tree, so a run that did not wait stops at the source stage instead of building.
import test from 'ava';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STOP_GRACE_MS } from '../../orchestrator/cli.ts';
import { SIGNAL_EXIT } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { filesIn, startCli, waitForOutput } from './cli-runner.ts';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`${signal} while a run waits for the cache's lock: exit ${SIGNAL_EXIT[signal]}, logs kept`, async (t) => {
    t.timeout(120_000);
    const tmp = await tempDir();
    t.teardown(tmp.cleanup);
    const cache = join(tmp.path, 'cache');
    const runDir = join(tmp.path, 'run');
    await mkdir(join(cache, 'locks/build.lock'), { recursive: true });
    await writeFile(join(cache, 'locks/build.lock/owner'), `${process.pid}\n`);
    await mkdir(join(tmp.path, 'not-a-tree'));
    const child = startCli(['--cache-dir', cache, '--run-dir', runDir, '--kernel', join(tmp.path, 'not-a-tree')], { VM_TEST_NO_INSTALL: '1' });
    t.teardown(() => void child.kill('SIGKILL'));
    t.true(await waitForOutput(child, /waiting for another vm-test run \(pid \d+\)/, 60_000), 'the run waits for the lock');
    const sent = Date.now();
    child.kill(signal);
    const r = await child;
    t.is(r.exitCode, SIGNAL_EXIT[signal], String(r.all));
    t.true(Date.now() - sent < 10_000, `stopped after ${Date.now() - sent} ms`);
    t.regex(String(r.all), /interrupted; logs and partial results are in /);
    t.true(filesIn(runDir).includes('plan.txt'), filesIn(runDir).join(', '));
    t.notRegex(String(r.all), /^\s+at .*\.(?:ts|js):\d+:\d+\)?$/m, 'no stack trace');
  });
}

test.serial('a command that ignores the stop is ended anyway, the grace period after SIGTERM (exit 143)', async (t) => {
  t.timeout(STOP_GRACE_MS + 60_000);
  const child = execa(process.execPath, ['--import', 'tsx', new URL('stuck-cli.ts', import.meta.url).pathname], {
    reject: false, all: true,
    // execa's own SIGKILL 5 s after the SIGTERM would hide what vm-test does.
    forceKillAfterDelay: false,
  });
  t.teardown(() => void child.kill('SIGKILL'));
  t.true(await waitForOutput(child, /stuck: started/, 60_000));
  const sent = Date.now();
  child.kill('SIGTERM');
  const r = await child;
  t.is(r.exitCode, SIGNAL_EXIT.SIGTERM, String(r.all));
  t.true(Date.now() - sent >= STOP_GRACE_MS - 1000 && Date.now() - sent < STOP_GRACE_MS + 10_000, `ended after ${Date.now() - sent} ms`);
  t.regex(String(r.all), new RegExp(`still running ${STOP_GRACE_MS / 1000} s after SIGTERM: forced exit`));
});
