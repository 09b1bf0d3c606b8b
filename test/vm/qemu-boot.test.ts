// Real QEMU, real kernel (Debian's cloud kernel), the real rootfs/init: what the VM stage claims, checked.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { assembleResults } from '../../orchestrator/results/assemble.ts';
import { attributeSplats, scanSplats } from '../../orchestrator/results/splats.ts';
import { tempDir } from '../helpers.ts';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { probeKvm } from '../../orchestrator/vm/kvm-probe.ts';
import { realExec } from '../helpers.ts';
import { bootWithPlan, debianCloudKernel, ktapTest, told } from '../qemu-fixture.ts';

const KTAP_OK = 'echo "KTAP version 1"; echo "1..2"; echo "ok 1 first"; echo "# diag"; echo "ok 2 second # SKIP not here"';

function qemuProcessesFor(runDir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(runDir));
  } catch {
    return [];
  }
}

test.serial('[qemu] boots, runs the plan through rootfs/init, streams KTAP on virtio-serial, and exits cleanly', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // The third: the writable places a distribution's boot gives, which the selftests use (d_path: /dev/shm).
  const places = 'echo "KTAP version 1"; echo "1..3"; i=0; for d in /tmp /var/tmp /dev/shm; do i=$((i+1)); if f=$(mktemp "$d/x.XXXXXX"); then echo "ok $i $d"; else echo "not ok $i $d"; fi; done; grep -q " /dev/pts devpts " /proc/mounts';
  const planned = [ktapTest('suite_a', KTAP_OK), ktapTest('suite_b', 'echo "KTAP version 1"; echo "1..1"; echo "not ok 1 broken"; exit 1'), ktapTest('places', places)];
  const boot = await bootWithPlan(tmp.path, planned);
  t.is(boot.outcome.end, 'completed', told(boot));
  t.is(boot.outcome.qemuExitCode, 0);
  t.truthy(boot.outcome.bootMs);
  t.regex(boot.console, /vm-test: begin suite_a/);
  t.notRegex(boot.console, /Attempted to kill init/);
  const verdict = assembleResults({ resultsText: boot.results, planned, splats: attributeSplats(scanSplats(boot.console), boot.console), vm: boot.outcome });
  t.is(verdict.kind, 'testsFailed');
  const [a, b, c] = verdict.tree.tests;
  t.is(a!.status, 'pass');
  t.deepEqual(a!.children.map((c) => c.status), ['pass', 'skip']);
  t.is(b!.status, 'fail');
  t.is(c!.status, 'pass', c!.children.map((l) => `${l.name} ${l.status}`).join(', '));
  t.deepEqual(c!.children.map((l) => l.name), ['/tmp', '/var/tmp', '/dev/shm']);
  t.deepEqual(boot.events.filter((e) => e.type === 'test-end').map((e) => e.type === 'test-end' && e.exitCode), [0, 1, 0]);
});

// The sleep lets "ok 1 fine" leave the virtio-serial port first. Without it, one run of this test (2026-12-03) found
// not even init's line on the results channel after the panic; the outcome then comes from the console's markers,
// which run-vm-hang.test.ts checks.
test.serial('[qemu] a panic mid-test is a crash attributed to the running test, and later tests are reported as never started', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('before', KTAP_OK), ktapTest('panics', 'echo "KTAP version 1"; echo "1..2"; echo "ok 1 fine"; sleep 1; echo c > /proc/sysrq-trigger; sleep 5'), ktapTest('after', KTAP_OK)];
  const boot = await bootWithPlan(tmp.path, planned);
  t.is(boot.outcome.end, 'crashed', told(boot));
  t.is(boot.outcome.runningTest, 'panics');
  const splats = attributeSplats(scanSplats(boot.console), boot.console);
  const panic = splats.find((s) => s.kind === 'panic');
  t.truthy(panic, boot.console.slice(-2000));
  t.is(panic?.test, 'panics');
  const verdict = assembleResults({ resultsText: boot.results, planned, splats, vm: boot.outcome });
  t.is(verdict.kind, 'kernelCrash');
  const names = Object.fromEntries(verdict.tree.tests.map((n) => [n.name, n]));
  t.is(names.before!.status, 'pass');
  t.is(names.panics!.status, 'crashed');
  t.is(names.panics!.children[0]!.status, 'pass');
  t.is(names.panics!.children[1]!.status, 'crashed');
  t.is(names.after!.status, 'crashed');
  t.regex(names.after!.errors.join(), /never started/);
});

test.serial('[qemu] a test past its own timeout is killed and the run goes on', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('sleeper', 'echo "KTAP version 1"; echo "1..1"; sleep 600', 3), ktapTest('next', KTAP_OK)];
  const boot = await bootWithPlan(tmp.path, planned);
  t.is(boot.outcome.end, 'completed', told(boot));
  const verdict = assembleResults({ resultsText: boot.results, planned, splats: [], vm: boot.outcome });
  t.is(verdict.tree.tests[0]!.status, 'crashed');
  t.regex(verdict.tree.tests[0]!.errors.join(), /timed out after 3 s/);
  t.is(verdict.tree.tests[1]!.status, 'pass');
});

test.serial('[qemu] a guest that goes silent is stopped within the silence timeout, naming the running test; no QEMU is left behind', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('hangs', 'echo "KTAP version 1"; echo "1..1"; sleep 600', 600)];
  const started = Date.now();
  const boot = await bootWithPlan(tmp.path, planned, { silenceMs: 15000 });
  t.is(boot.outcome.end, 'timeout', told(boot));
  t.is(boot.outcome.runningTest, 'hangs');
  t.regex(boot.outcome.detail, /printed nothing for 15 s while running hangs/);
  t.true(Date.now() - started < 60_000);
  const verdict = assembleResults({ resultsText: boot.results, planned, splats: [], vm: boot.outcome });
  t.is(verdict.kind, 'timeout');
  t.deepEqual(qemuProcessesFor(tmp.path), []);
});

test.serial('[qemu] garbage on the results channel never breaks parsing', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('noise', 'head -c 4096 /dev/urandom; echo; echo "not KTAP at all"'), ktapTest('fine', KTAP_OK)];
  const boot = await bootWithPlan(tmp.path, planned);
  t.is(boot.outcome.end, 'completed', told(boot));
  const verdict = assembleResults({ resultsText: boot.results, planned, splats: [], vm: boot.outcome });
  t.is(verdict.tree.tests.find((n) => n.name === 'noise')!.status, 'fail');
  t.is(verdict.tree.tests.find((n) => n.name === 'fine')!.status, 'pass');
  t.is(verdict.kind, 'testsFailed');
});

test.serial('[qemu] Ctrl-C during the run stops QEMU and leaves the logs readable', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const controller = new AbortController();
  const boot = await bootWithPlan(tmp.path, [ktapTest('long', 'sleep 600', 600)], { signal: controller.signal, abortAfterInit: controller });
  t.is(boot.outcome.end, 'interrupted', told(boot));
  t.regex(boot.results, /# vm-test: begin long/);
  t.regex(boot.console, /Linux version/);
  t.deepEqual(qemuProcessesFor(tmp.path), []);
});

test.serial('[qemu] a missing QEMU binary is an infrastructure failure, not a test result', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('x', KTAP_OK)];
  const boot = await bootWithPlan(tmp.path, planned, { qemu: 'qemu-system-x86_64-does-not-exist' });
  t.is(boot.outcome.end, 'qemu-failed', told(boot));
  t.regex(boot.outcome.detail, /could not be started/);
  const verdict = assembleResults({ resultsText: boot.results, planned, splats: [], vm: boot.outcome });
  t.is(verdict.kind, 'vmInfra');
});

test.serial('[qemu] the KVM probe returns within its limit with a reason, whether KVM works or hangs', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const kernel = await debianCloudKernel();
  const started = Date.now();
  const probe = await probeKvm(realExec, kernel, join(tmp.path, 'kvm-probe.json'), 'qemu-system-x86_64', 10_000);
  t.true(Date.now() - started < 20_000);
  t.regex(probe.reason, /KVM|kvm/);
  if (probe.accel === 'kvm') t.regex(probe.reason, /ran a probe boot to its end/);
  else t.regex(probe.reason, /using TCG/);
  t.deepEqual(qemuProcessesFor(kernel), []);
});

test.serial('[qemu] a guest that brings up one of its two vCPUs (acpi=off: SeaBIOS lists only the boot CPU) fails the run with guest-cpus; with ACPI both come up', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const planned = [ktapTest('cpus', 'echo "KTAP version 1"; echo "1..1"; echo "# online: $(nproc)"; echo "ok 1 counted"')];
  for (const d of ['one', 'both']) await mkdir(join(tmp.path, d));
  const one = await bootWithPlan(join(tmp.path, 'one'), planned, { append: ['acpi=off'] });
  t.is(one.outcome.end, 'completed', told(one));
  t.regex(one.results, /# online: 1\b/);
  const short = assembleResults({ resultsText: one.results, planned, splats: [], vm: one.outcome, cpus: { asked: 2, consoleText: one.console } });
  t.is(short.kind, 'testsFailed');
  t.is(short.tree.tests.find((n) => n.name === 'guest-cpus')?.status, 'fail');
  const both = await bootWithPlan(join(tmp.path, 'both'), planned);
  // Once (2026-12-04) this boot gave empty results and nothing else: say how it ended, and its console's end.
  t.is(both.outcome.end, 'completed', told(both));
  t.regex(both.results, /# online: 2\b/);
  const fine = assembleResults({ resultsText: both.results, planned, splats: [], vm: both.outcome, cpus: { asked: 2, consoleText: both.console } });
  t.is(fine.kind, 'passed', fine.headline);
  t.falsy(fine.tree.tests.find((n) => n.name === 'guest-cpus'));
});
