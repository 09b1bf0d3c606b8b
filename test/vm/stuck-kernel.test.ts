// A kernel that is stuck or has oopsed is caught in seconds, not by the whole-VM timeout. Real CLI, real QEMU,
// on kernels built from test/fixtures/series (the posted series with patch 2/3 changed, on 7.2.6).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { runCli } from '../bad-input/cli-runner.ts';

const fixtures = new URL('../fixtures/series/', import.meta.url).pathname;

interface Meta { stages: { stage: string; detail: string; elapsed_ms: number }[] }

const vmSeconds = async (runDir: string) => {
  const meta = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')).run as Meta;
  return meta.stages.filter((s) => s.stage === 'vm').reduce((a, s) => a + s.elapsed_ms, 0) / 1000;
};

test.serial('[qemu] a compare-and-delete that spins under the bucket lock ends the run within test-timeout + 30 s, naming the test and the stall', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, 'run');
  const r = await runCli(['--series', join(fixtures, 'spins-under-lock'), '--test-timeout', '20', '--run-dir', runDir]);
  t.is(r.exitCode, EXIT.timeout, r.stdout.slice(-3000) + r.stderr);
  // test_progs runs first, and its first match spins.
  t.regex(r.stdout, /FAIL: timeout: test_progs was still running \d+ s after it began, past its 20 s timeout and the init's kill: the guest kernel is stuck \(console: (rcu: INFO: rcu_\w+ (self-)?detected stall|watchdog: BUG: soft lockup)/);
  const seconds = await vmSeconds(runDir);
  t.log(`VM stages took ${seconds} s`);
  t.true(seconds < 20 + 30 + 10, `the VM ran ${seconds} s (boot included)`);
});

test.serial('[qemu] an Oops during a test ends the run as a kernel crash once the test falls silent, not at its timeout', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, 'run');
  const r = await runCli(['--series', join(fixtures, 'oops-on-match'), '--run-dir', runDir]);
  t.is(r.exitCode, EXIT.kernelCrash, r.stdout.slice(-3000) + r.stderr);
  t.regex(r.stdout, /FAIL: guest crashed: the kernel reported "Oops: general protection fault[^"]*" during test_progs, which then printed nothing for 20 s; QEMU was stopped \(kernel gpf\)/);
  const seconds = await vmSeconds(runDir);
  t.true(seconds < 60, `the VM ran ${seconds} s`);
});
