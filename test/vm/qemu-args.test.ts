import test from 'ava';
import { kernelCommandLine, qemuArgs, transportCount, type VmSpec } from '../../orchestrator/vm/qemu-args.ts';
import { judgeKvmProbe } from '../../orchestrator/vm/kvm-probe.ts';

const spec: VmSpec = { kernel: '/k/bzImage', initPath: '/repo/rootfs/init', runDir: '/runs/r1', accel: 'tcg', cpus: 2, memoryMb: 1024 };

const after = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

test('the host root is shared read-only and the run directory read-write', (t) => {
  const fsdevs = after(qemuArgs(spec, '/runs/r1/results.log'), '-fsdev');
  t.deepEqual(fsdevs, [
    'local,id=root,path=/,security_model=none,readonly=on,multidevs=remap',
    'local,id=run,path=/runs/r1,security_model=none,multidevs=remap',
  ]);
});

test('TCG runs multi-threaded with -cpu max; KVM uses the host CPU', (t) => {
  const tcg = qemuArgs(spec, 'r');
  t.deepEqual(after(tcg, '-accel'), ['tcg,thread=multi']);
  t.deepEqual(after(tcg, '-cpu'), ['max']);
  const kvm = qemuArgs({ ...spec, accel: 'kvm' }, 'r');
  t.deepEqual(after(kvm, '-accel'), ['kvm']);
  t.deepEqual(after(kvm, '-cpu'), ['host']);
});

test('guest reboot and panic end QEMU; results go to a named virtio-serial port', (t) => {
  const args = qemuArgs(spec, '/runs/r1/results.log');
  t.true(args.includes('-no-reboot'));
  t.true(args.includes('virtserialport,chardev=results,name=org.vm-test.results'));
  t.true(args.includes('file,id=results,path=/runs/r1/results.log'));
  const cmdline = kernelCommandLine(spec);
  t.regex(cmdline, /(^| )panic=-1( |$)/);
  t.regex(cmdline, /root=\/dev\/root rootfstype=9p rootflags=trans=virtio,version=9p2000\.L/);
  t.regex(cmdline, / ro init=\/repo\/rootfs\/init/);
  t.regex(cmdline, /printk\.devkmsg=on/);
});

test('an initramfs boot uses rdinit and no 9p root', (t) => {
  const args = qemuArgs({ ...spec, initrd: '/x/initrd.cpio' }, 'r');
  t.deepEqual(after(args, '-initrd'), ['/x/initrd.cpio']);
  t.false(args.some((a) => a.includes('mount_tag=/dev/root')));
  t.regex(kernelCommandLine({ ...spec, initrd: '/x' }), /rdinit=\/repo\/rootfs\/init/);
});

test('the KVM probe reads "KVM internal error" as unusable, kernel output as usable', (t) => {
  t.is(judgeKvmProbe('', 'KVM internal error. Suberror: 1\nemulation failure', undefined).accel, 'tcg');
  // A banner is not enough: here KVM prints it on a small machine and then hangs on the real one.
  t.is(judgeKvmProbe('[    0.000000] Linux version 6.12.117', '', undefined, true).accel, 'tcg');
  t.is(judgeKvmProbe('[    0.000000] Linux version 6.12.117\nKernel panic - not syncing: VFS: Unable to mount root fs\n', '', 0).accel, 'kvm');
  t.is(judgeKvmProbe('', 'qemu-system-x86_64: failed to initialize kvm: Permission denied', 1).accel, 'tcg');
  t.regex(judgeKvmProbe('', '', undefined).reason, /printed nothing/);
  // Seen here on microvm: QEMU aborts on an MSR it cannot set.
  t.deepEqual(judgeKvmProbe('', "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n", undefined),
    { accel: 'tcg', reason: "a KVM probe boot failed (exit killed: qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.); using TCG" });
});

test('microvm: no ACPI, no option ROMs, every virtio device on virtio-mmio, and a reboot by triple fault', (t) => {
  const micro: VmSpec = { ...spec, machine: 'microvm', shares: [{ tag: 'vmtest-build', hostPath: '/b', guestPath: '/run/vm-test-build', readonly: true }] };
  const args = qemuArgs(micro, 'r');
  t.deepEqual(after(args, '-machine'), ['microvm,acpi=off,x-option-roms=off,auto-kernel-cmdline=on']);
  const devices = after(args, '-device');
  t.deepEqual(devices.filter((d) => /pci/.test(d)), []);
  t.deepEqual(devices.filter((d) => d.startsWith('virtio-9p-device')).length, 3);
  t.true(devices.includes('virtio-serial-device'));
  t.regex(kernelCommandLine(micro), /(^| )reboot=t( |$)/);
  t.deepEqual(after(qemuArgs(spec, 'r'), '-machine'), ['q35']);
  t.notRegex(kernelCommandLine(spec), /reboot=/);
});

test('microvm refuses more devices than its eight virtio-mmio transports', (t) => {
  const shares = Array.from({ length: 7 }, (_, i) => ({ tag: `s${i}`, hostPath: `/s${i}`, guestPath: `/g${i}`, readonly: true }));
  t.is(transportCount({ shares }), 10);
  t.throws(() => qemuArgs({ ...spec, machine: 'microvm', shares }, 'r'), { message: /microvm has 8 virtio-mmio transports; this guest needs 10/ });
  t.notThrows(() => qemuArgs({ ...spec, shares }, 'r'));
});

test('microvm under TCG is told the host TSC rate; q35 and KVM are not', (t) => {
  t.regex(kernelCommandLine({ ...spec, machine: 'microvm', tscKhz: 2596150 }), / tsc_early_khz=2596150( |$)/);
  t.notRegex(kernelCommandLine({ ...spec, machine: 'microvm' }), /tsc_early_khz/);
  t.notRegex(kernelCommandLine({ ...spec, tscKhz: 2596150 }), /tsc_early_khz/);
  t.notRegex(kernelCommandLine({ ...spec, machine: 'microvm', accel: 'kvm', tscKhz: 2596150 }), /tsc_early_khz/);
});

test('grace periods are expedited: map-in-map waits for one per slot replacement', (t) => {
  t.regex(kernelCommandLine(spec), /(^| )rcupdate\.rcu_expedited=1( |$)/);
});

test('the mitigations are off (faster under TCG) unless the spec keeps them, as bpf-ci\'s runners do', (t) => {
  t.regex(kernelCommandLine(spec), /(^| )mitigations=off( |$)/);
  t.notRegex(kernelCommandLine({ ...spec, mitigations: true }), /mitigations=/);
});

test('bpf-ci\'s plans keep the mitigations, every other plan turns them off', async (t) => {
  const { keepsMitigations } = await import('../../orchestrator/vm/guest-boot.ts');
  t.true(keepsMitigations({ runners: ['test_verifier'] }));
  t.false(keepsMitigations({}));
  t.false(keepsMitigations({ runners: [] }));
});

test('bpf-ci\'s guests run every vCPU on one TCG thread (QEMU 7.2 ran patched-away int3s with a thread each); other guests a thread per vCPU; KVM is KVM', async (t) => {
  const { serialTcg } = await import('../../orchestrator/vm/guest-boot.ts');
  const accel = (s: VmSpec) => { const a = qemuArgs(s, 'r'); return a[a.indexOf('-accel') + 1]; };
  t.is(accel(spec), 'tcg,thread=multi');
  t.is(accel({ ...spec, singleThreadTcg: true }), 'tcg,thread=single');
  t.is(accel({ ...spec, accel: 'kvm', singleThreadTcg: true }), 'kvm');
  t.true(serialTcg({ runners: ['test_progs'] }));
  t.false(serialTcg({}));
});
