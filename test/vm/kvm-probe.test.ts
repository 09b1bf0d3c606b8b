// The KVM probe's cached answer is reused only for the same boot, machine, vCPU count and QEMU: a change to each
// probes again. QEMU is a fake whose answer depends on what it is asked to boot, so a stale answer shows.
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { probeKvm, recordKvmFailure, type KvmProbeRequest } from '../../orchestrator/vm/kvm-probe.ts';
import { fakeExec, tempDir } from '../helpers.ts';

const after = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1];

/** A QEMU of `version` on which microvm fails with 4 vCPUs or more (as KVM here fails on a machine of its own). */
function fakeQemu(state: { version: string }) {
  return fakeExec((req: ExecRequest) => {
    if (req.args.includes('--version')) return { stdout: `QEMU emulator version ${state.version}\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n` };
    if (after(req.args, '-machine')!.startsWith('microvm') && Number(after(req.args, '-smp')) >= 4) {
      return { exitCode: 1, stderr: 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0\n' };
    }
    return { stdout: '[    0.412000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n[    0.413000] Rebooting in 1 seconds..' };
  });
}

async function setup() {
  const tmp = await tempDir();
  const bootIdFile = join(tmp.path, 'boot_id');
  await writeFile(bootIdFile, 'a9624ce6-e40f-4c3e-9569-408e281a5c43\n');
  // A file of ours opens read-write, as a usable /dev/kvm does: the probe only asks whether it opens.
  const kvmDevice = join(tmp.path, 'kvm');
  await writeFile(kvmDevice, '');
  const base: KvmProbeRequest = { kernel: '/k/bzImage', cacheFile: join(tmp.path, 'cache/kvm-probe.json'), kvmDevice, bootIdFile, machine: 'microvm', cpus: 2 };
  return { tmp, bootIdFile, base };
}

const probes = (exec: ReturnType<typeof fakeExec>) => exec.calls.filter((c) => !c.args.includes('--version'));

test('the same boot, machine, vCPUs and QEMU reuse the answer; each one changed probes again', async (t) => {
  const { tmp, bootIdFile, base } = await setup();
  t.teardown(tmp.cleanup);
  const state = { version: '7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' };
  const exec = fakeQemu(state);

  t.is((await probeKvm(exec, base)).accel, 'kvm');
  t.is(probes(exec).length, 1);
  const again = await probeKvm(exec, base);
  t.deepEqual(again, { accel: 'kvm', reason: 'KVM ran a probe boot to its end (probed earlier this boot)' });
  t.is(probes(exec).length, 1);

  // More vCPUs: this microvm fails, where two vCPUs ran.
  const four = await probeKvm(exec, { ...base, cpus: 4 });
  t.is(probes(exec).length, 2);
  t.is(after(probes(exec)[1]!.args, '-smp'), '4');
  t.is(four.accel, 'tcg');
  t.regex(four.reason, /failed to set MSR 0x10a/);

  // Another machine with the same vCPUs: q35 runs.
  const q35 = await probeKvm(exec, { ...base, cpus: 4, machine: 'q35' });
  t.is(probes(exec).length, 3);
  t.is(after(probes(exec)[2]!.args, '-machine'), 'q35');
  t.is(q35.accel, 'kvm');

  // Another QEMU: probed again, though everything else is the same.
  state.version = '9.2.0 (Debian 1:9.2.0+ds-5)';
  await probeKvm(exec, { ...base, cpus: 4, machine: 'q35' });
  t.is(probes(exec).length, 4);
  await probeKvm(exec, { ...base, cpus: 4, machine: 'q35' });
  t.is(probes(exec).length, 4);

  // The host rebooted.
  await writeFile(bootIdFile, '0f7c1d55-2b8e-4a8e-9d8c-7f0c2d7f1a11\n');
  await probeKvm(exec, { ...base, cpus: 4, machine: 'q35' });
  t.is(probes(exec).length, 5);

  const cached = JSON.parse(await readFile(base.cacheFile, 'utf8'));
  t.deepEqual(cached.key, { bootId: '0f7c1d55-2b8e-4a8e-9d8c-7f0c2d7f1a11', machine: 'q35', cpus: 4, qemu: 'qemu-system-x86_64: QEMU emulator version 9.2.0 (Debian 1:9.2.0+ds-5)' });
});

test('a KVM failure in a real boot is kept under the key of the probe that passed, and only there', async (t) => {
  const { tmp, base } = await setup();
  t.teardown(tmp.cleanup);
  const exec = fakeQemu({ version: '7.2.22' });
  t.is((await probeKvm(exec, base)).accel, 'kvm');
  await recordKvmFailure(base.cacheFile, 'KVM failed a real boot ("KVM internal error"); using TCG');
  t.deepEqual(await probeKvm(exec, base), { accel: 'tcg', reason: 'KVM failed a real boot ("KVM internal error"); using TCG (probed earlier this boot)' });
  t.is(probes(exec).length, 1);
  // Another machine is probed on its own.
  t.is((await probeKvm(exec, { ...base, machine: 'q35' })).accel, 'kvm');
  t.is(probes(exec).length, 2);
});

test('an answer cached before the key held more than the boot is not reused', async (t) => {
  const { tmp, base } = await setup();
  t.teardown(tmp.cleanup);
  await mkdir(join(tmp.path, 'cache'), { recursive: true });
  await writeFile(base.cacheFile, JSON.stringify({ accel: 'tcg', reason: 'a KVM probe boot did not finish in time (KVM hangs); using TCG', bootId: 'a9624ce6-e40f-4c3e-9569-408e281a5c43' }) + '\n');
  const exec = fakeQemu({ version: '7.2.22' });
  t.is((await probeKvm(exec, base)).accel, 'kvm');
  t.is(probes(exec).length, 1);
});

test('without /dev/kvm nothing is probed or asked', async (t) => {
  const { tmp, base } = await setup();
  t.teardown(tmp.cleanup);
  const exec = fakeQemu({ version: '7.2.22' });
  t.deepEqual(await probeKvm(exec, { ...base, kvmDevice: join(tmp.path, 'missing') }), { accel: 'tcg', reason: '/dev/kvm is missing or not accessible; using TCG' });
  t.deepEqual(exec.calls, []);
});
