// A test that outlives its timeout and the init's kill is a stuck kernel: the VM is stopped at once, naming the
// test and the console's stall report. QEMU is a fake here; the real case is in test/vm/hang-real.test.ts.
import test from 'ava';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunEvents } from '../../orchestrator/events.ts';
import { runVm, type VmRunRequest } from '../../orchestrator/vm/run-vm.ts';
import { fakeResult, tempDir } from '../helpers.ts';
import type { ExecPort } from '../../orchestrator/exec/exec-port.ts';
import { BUILD_SHARE, RUN_SHARE, consoleLine, resultsLine } from '../../orchestrator/guest/protocol.ts';
import { REAL_STALL_LINES } from './real-console-lines.ts';

/** A run of the fake QEMU in dir: a minute's limits unless the test says otherwise. */
function vmRequest(dir: string, overrides: Partial<VmRunRequest> = {}): VmRunRequest {
  return {
    spec: { kernel: 'k', initPath: '/i', runDir: dir, accel: 'tcg', cpus: 2, memoryMb: 512 },
    consoleLog: join(dir, 'console.log'), resultsLog: join(dir, 'results.log'), qemuStderrLog: join(dir, 'qemu-stderr.log'), commandFile: join(dir, 'cmd'),
    timeoutMs: 60_000, silenceTimeoutMs: 60_000, events: new RunEvents(),
    ...overrides,
  };
}

/** A QEMU that starts a test, then prints a stall report (an RCU stall) every 100 ms until it is stopped. */
function stuckQemu(resultsLog: string, stall = '[   25.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:'): ExecPort {
  return {
    async run(req) {
      await appendFile(resultsLog, '# vm-test: init started kernel=7.2.6\n# vm-test: begin compare-contract\n');
      const timer = setInterval(() => req.onLine?.(stall, 'stdout'), 100);
      await new Promise((resolve) => req.signal?.addEventListener('abort', resolve, { once: true }));
      clearInterval(timer);
      return fakeResult({ exitCode: undefined, aborted: true });
    },
  };
}

test('a test past its timeout plus the grace is judged hung, though the console never goes quiet', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const resultsLog = join(tmp.path, 'results.log');
  const started = Date.now();
  const outcome = await runVm(stuckQemu(resultsLog), vmRequest(tmp.path, {
    testTimeouts: new Map([['compare-contract', 1]]), hangGraceMs: 500,
  }));
  t.true(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
  t.is(outcome.end, 'timeout');
  t.is(outcome.runningTest, 'compare-contract');
  t.is(outcome.stallReport, 'rcu: INFO: rcu_sched detected stalls on CPUs/tasks:');
  t.regex(outcome.detail, /^compare-contract was still running \d+ s after it began, past its 1 s timeout and the init's kill: the guest kernel is stuck \(console: rcu: INFO: rcu_sched detected stalls/);
});

// Real lines the watchdog's own regexes missed before it asked the splat scanner's patterns.
for (const [name, line] of Object.entries(REAL_STALL_LINES)) {
  test(`a hung test names the console's stall report: ${name}`, async (t) => {
    const tmp = await tempDir();
    t.teardown(tmp.cleanup);
    const outcome = await runVm(stuckQemu(join(tmp.path, 'results.log'), line), vmRequest(tmp.path, {
      testTimeouts: new Map([['compare-contract', 1]]), hangGraceMs: 300,
    }));
    const message = line.replace(/^\[[ \d.]+\] /, '');
    t.is(outcome.stallReport, message);
    t.true(outcome.detail.endsWith(`the guest kernel is stuck (console: ${message}); QEMU was stopped`), outcome.detail);
  });
}

test('without a per-test limit only the whole-VM timeout applies', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const resultsLog = join(tmp.path, 'results.log');
  const outcome = await runVm(stuckQemu(resultsLog), vmRequest(tmp.path, {
    timeoutMs: 1500,
  }));
  t.is(outcome.end, 'timeout');
  t.regex(outcome.detail, /ran past the 1.5 s timeout while running compare-contract/);
});

test('after an oops during a test, a quiet results channel ends the VM as crashed, not after the test timeout', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const resultsLog = join(tmp.path, 'results.log');
  const oopsing: ExecPort = {
    async run(req) {
      await appendFile(resultsLog, '# vm-test: init started kernel=7.2.6\n# vm-test: begin test_progs\n');
      req.onLine?.('[    3.05] Oops: invalid opcode: 0000 [#1] SMP NOPTI', 'stdout');
      // The oopsed task's other threads keep the process alive: the kernel goes on, the test never ends.
      const timer = setInterval(() => req.onLine?.('[    9.00] random: crng init done', 'stdout'), 100);
      await new Promise((resolve) => req.signal?.addEventListener('abort', resolve, { once: true }));
      clearInterval(timer);
      return fakeResult({ exitCode: undefined, aborted: true });
    },
  };
  const started = Date.now();
  const outcome = await runVm(oopsing, vmRequest(tmp.path, {
    testTimeouts: new Map([['test_progs', 300]]), crashQuietMs: 800,
  }));
  t.true(Date.now() - started < 5000);
  t.is(outcome.end, 'crashed');
  t.regex(outcome.detail, /^the kernel reported "Oops: invalid opcode: 0000 \[#1\] SMP NOPTI" during test_progs, which then printed nothing for 0.8 s/);
});

test('a panic that takes the results channel\'s lines with it is still a crash during the test the console names', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // The console has every marker; results.log stays empty, as the results channel was once after a panic.
  const panicking: ExecPort = {
    async run(req) {
      for (const line of ['[    1.30] vm-test: init started', '[    1.31] vm-test: begin before', '[    1.32] vm-test: end before exit=0', '[    1.33] vm-test: begin panics', '[    1.40] Kernel panic - not syncing: sysrq triggered crash']) req.onLine?.(line, 'stdout');
      return fakeResult({ exitCode: 0 });
    },
  };
  const outcome = await runVm(panicking, vmRequest(tmp.path));
  t.is(outcome.end, 'crashed');
  t.is(outcome.runningTest, 'panics');
  t.regex(outcome.detail, /while running panics/);
});

test('init that gives up before the plan (a share it cannot mount) is a boot failure that says why, from either channel', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDirFailed: ExecPort = {
    async run(req) {
      req.onLine?.(`[    1.20] ${consoleLine({ type: 'init-failed', reason: `cannot mount the run directory (9p tag ${RUN_SHARE.tag})` })}`, 'stdout');
      return fakeResult({ exitCode: 0 });
    },
  };
  const first = await runVm(runDirFailed, vmRequest(tmp.path));
  t.is(first.end, 'boot-failure');
  t.is(first.detail, `the guest's init failed: cannot mount the run directory (9p tag ${RUN_SHARE.tag})`);
  const resultsLog = join(tmp.path, 'results.log');
  const shareFailed: ExecPort = {
    async run(req) {
      await appendFile(resultsLog, resultsLine({ type: 'init-failed', reason: `cannot mount the 9p tag ${BUILD_SHARE.tag} on ${BUILD_SHARE.guestPath}` }) + '\n');
      req.onLine?.('[    1.30] reboot: Restarting system', 'stdout');
      return fakeResult({ exitCode: 0 });
    },
  };
  const second = await runVm(shareFailed, vmRequest(tmp.path));
  t.is(second.end, 'boot-failure');
  t.is(second.detail, `the guest's init failed: cannot mount the 9p tag ${BUILD_SHARE.tag} on ${BUILD_SHARE.guestPath}`);
});
