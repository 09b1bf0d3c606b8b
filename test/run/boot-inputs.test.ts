// What a boot is given: init and the kernel in place, the guest's view and plan files, gdb, the accelerator, and the runVm request per job.
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import type { ExecPort } from '../../orchestrator/exec/exec-port.ts';
import type { GuestTest, TestProgsSelection } from '../../orchestrator/guest/guest-plan.ts';
import type { RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { chooseAccel, gdbStub, installInit, keepBootKernel, machineFor, prepareGuestView } from '../../orchestrator/vm/boot-inputs.ts';
import { bootRecord, fallBackToTcg, vmRunRequest, type BootInputs } from '../../orchestrator/vm/guest-boot.ts';
import type { VmOutcome } from '../../orchestrator/vm/run-vm.ts';
import { tempDir, writeFiles } from '../helpers.ts';

const noExec: ExecPort = { run: () => { throw new Error('no process may start'); } };
const test_progs: GuestTest = { name: 'test_progs', kind: 'test_progs', argv: ['/build/vm-test-selftests/t/test_progs', '-t', 'x'], timeoutSec: 90 };

function recorded(): { events: RunEvents; seen: RunEvent[] } {
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => seen.push(e));
  return { events, seen };
}

test('init is copied into the cache under its content hash, once', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'repo/rootfs/init': '#!/bin/sh\necho one\n' });
  const plan = { repoRoot: join(tmp.path, 'repo'), cache: cacheLayout(join(tmp.path, 'cache')) };
  const first = await installInit(plan);
  t.regex(first, /rootfs\/init-[0-9a-f]{16}$/);
  t.is(await readFile(first, 'utf8'), '#!/bin/sh\necho one\n');
  t.is((await stat(first)).mode & 0o777, 0o755);
  t.is(await installInit(plan), first);
  await writeFile(join(tmp.path, 'repo/rootfs/init'), '#!/bin/sh\necho two\n');
  t.not(await installInit(plan), first, 'another init, another file');
});

test('the run keeps the bzImage it boots and its .config; the guest view, denylist, plan.tsv and mounts.tsv are written beside them', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'build/bzImage': 'image', 'build/.config': 'CONFIG_X=y\n', 'deny.txt': 'slow_test\n', 'run/.keep': '' });
  const runDir = join(tmp.path, 'run');
  const bzImage = await keepBootKernel({ bzImage: join(tmp.path, 'build/bzImage'), configPath: join(tmp.path, 'build/.config') }, runDir);
  t.is(bzImage, join(runDir, 'bzImage'));
  t.is(await readFile(join(runDir, 'kernel.config'), 'utf8'), 'CONFIG_X=y\n');

  const selection: TestProgsSelection = { test: ['x'], allow: [], deny: [], denylist: { file: join(tmp.path, 'deny.txt'), entries: ['slow_test'] } };
  const view = await prepareGuestView({ job: { kind: 'exec', argv: ['true'], cwd: '/home/me/src' }, testProgsSelection: selection }, [test_progs], '/build', runDir);
  t.deepEqual(view.shares.map((s) => [s.tag, s.hostPath, s.guestPath, s.readonly]), [
    ['vmtest-build', '/build', '/run/vm-test-build', true],
    ['vmtest-cwd', '/home/me/src', '/home/me/src', false],
  ]);
  t.is(await readFile(join(runDir, 'test_progs-denylist.txt'), 'utf8'), 'slow_test\n');
  t.regex(await readFile(join(runDir, 'plan.tsv'), 'utf8'), /^test_progs\t90\t.*\/run\/vm-test-build\/vm-test-selftests\/t\/test_progs/);
  t.is(await readFile(join(runDir, 'mounts.tsv'), 'utf8'), 'vmtest-build\t/run/vm-test-build\tro\nvmtest-cwd\t/home/me/src\trw\n');

  // kernel.config has no virtio-mmio: q35, said on the events.
  const { events, seen } = recorded();
  t.is((await machineFor(runDir, view, events)).machine, 'q35');
  t.deepEqual(seen.map((e) => e.type), ['info']);
});

test('gdb: nothing without --gdb; with it, a socket of this process, gdb.txt and the command on the events', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { events, seen } = recorded();
  t.is(await gdbStub(undefined, '/build', tmp.path, events), undefined);
  t.false(existsSync(join(tmp.path, 'gdb.txt')));
  const stub = await gdbStub({ wait: true }, '/build', tmp.path, events);
  t.regex(stub!.socket, new RegExp(`vm-test-gdb-${process.pid}\\.sock$`));
  t.true(stub!.wait);
  t.is(await readFile(join(tmp.path, 'gdb.txt'), 'utf8'), `gdb -q /build/vmlinux -ex 'target remote ${stub!.socket}'\n`);
  t.regex((seen[0] as { message: string }).message, /CPUs are stopped until gdb says continue/);
});

test('--accel tcg asks nothing; a KVM failure on a real boot is remembered as TCG', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  t.deepEqual(await chooseAccel(noExec, { accel: 'tcg', cache: cacheLayout(tmp.path), cpus: 2 }, '/nonexistent', { machine: 'q35', reason: '' }), { accel: 'tcg', reason: '--accel tcg' });
  const { events, seen } = recorded();
  const probe = join(tmp.path, 'kvm-probe.json');
  t.deepEqual(await fallBackToTcg(probe, events), { accel: 'tcg', reason: 'KVM failed during the boot ("KVM internal error")' });
  t.is(JSON.parse(await readFile(probe, 'utf8')).accel, 'tcg');
  t.deepEqual(seen.map((e) => e.type), ['warn']);
});

test('the runVm request per job: tests, vm-test exec (stderr apart), vm-test shell (interactive, console to a file, no time limit)', (t) => {
  const inputs: BootInputs = {
    bzImage: '/run/bzImage', initPath: '/cache/rootfs/init-1', runDir: '/run', machine: { machine: 'microvm', reason: '' }, tscKhz: 2_000_000,
    view: { shares: [] }, gdb: undefined, tests: [test_progs],
  };
  const base = { cpus: 2, memoryMb: 2048, timeoutSec: 600, testTimeoutSec: 90 };
  const events = new RunEvents();
  const tests = vmRunRequest({ ...base, job: { kind: 'tests' } }, inputs, 'kvm', events);
  t.deepEqual(tests.spec, { kernel: '/run/bzImage', initPath: '/cache/rootfs/init-1', runDir: '/run', accel: 'kvm', machine: 'microvm', tscKhz: 2_000_000, cpus: 2, memoryMb: 2048, shares: [] });
  t.false(tests.interactive);
  t.is(tests.consoleLog, '/run/console.log');
  t.is(tests.resultsLog, '/run/results.log');
  t.is(tests.timeoutMs, 600_000);
  t.is(tests.silenceTimeoutMs, 150_000);
  t.deepEqual([...tests.testTimeouts!], [['test_progs', 90]]);

  const exec = vmRunRequest({ ...base, job: { kind: 'exec', argv: ['true'], cwd: undefined } }, { ...inputs, gdb: { socket: '/tmp/g.sock', wait: false } }, 'tcg', events);
  t.is(exec.spec.stderrFile, '/run/stderr.log');
  t.deepEqual(exec.spec.gdb, { socket: '/tmp/g.sock', wait: false });

  const shell = vmRunRequest({ ...base, job: { kind: 'shell', rows: 24, cols: 80 } }, inputs, 'tcg', events);
  t.true(shell.interactive);
  t.true(shell.spec.shell);
  t.is(shell.spec.consoleFile, '/run/console.log');
  t.is(shell.timeoutMs, 7 * 24 * 3600_000);
});

test('a boot\'s stage record: QEMU failing is the stage failing; a guest that crashed is not', (t) => {
  const vm = (end: VmOutcome['end'], bootMs?: number) => ({ end, detail: 'said', ...(bootMs ? { bootMs } : {}) }) as VmOutcome;
  t.deepEqual(bootRecord(vm('qemu-failed')), { status: 'failed', detail: 'qemu-failed: said' });
  t.deepEqual(bootRecord(vm('crashed', 1234)), { status: 'ok', detail: 'crashed: said; init after 1.2 s' });
});
