// QEMU's command line, built by small pure functions; each flag says why it is there.
import type { GuestShare } from '../guest/guest-view.ts';
import { RESULTS_PORT, RUN_SHARE, STDERR_PORT } from '../guest/protocol.ts';
import { VmTestError } from '../outcome.ts';

export type Accel = 'kvm' | 'tcg';
/** q35: PCI and ACPI, for any kernel. microvm: virtio-mmio only, for a kernel built for it (see guest-machine.ts). */
export type Machine = 'q35' | 'microvm';
/** microvm without ACPI has eight virtio-mmio transports (QEMU's hw/i386/microvm.c). */
export const MICROVM_TRANSPORTS = 8;

export interface VmSpec {
  kernel: string;
  initPath: string;
  runDir: string;
  accel: Accel;
  /** q35 unless said otherwise. */
  machine?: Machine;
  /** The host's TSC rate (host-tsc.ts): a microvm guest under TCG has no HPET or PM timer to measure its own against. */
  tscKhz?: number;
  cpus: number;
  memoryMb: number;
  /**
   * Keep the kernel's speculative-execution mitigations (vm-test bpf-ci): test_verifier runs its unprivileged half
   * only with them on (unpriv_helpers.c get_unpriv_disabled). Otherwise they are off: faster under TCG.
   */
  mitigations?: boolean;
  /**
   * Under TCG, one host thread runs every vCPU in turn (thread=single) instead of one each (vm-test bpf-ci). With a
   * thread each, QEMU 7.2 let a vCPU run a kernel instruction another had already patched back from int3: the
   * kernel's text patching (static keys, tracepoints) then oopsed "int3" in trace_syscall_enter and in __schedule,
   * and panicked, in the whole test_progs on 7.2.6, base and series alike (2026-12-07).
   */
  singleThreadTcg?: boolean;
  /** Extra kernel command-line words. */
  append?: string[];
  /** Boot from an initramfs instead of the 9p root (used for prebuilt kernels without 9p). */
  initrd?: string;
  /** Host directories on their own 9p tags, which the init mounts from the run directory's mounts.tsv. */
  shares?: readonly GuestShare[];
  /** The kernel console into this file instead of QEMU's stdout (vm-test shell: the terminal is the shell's). */
  consoleFile?: string;
  /** An interactive shell on a virtio console (hvc0) on QEMU's stdio. */
  shell?: boolean;
  /** The guest's stderr on a port of its own, into this file (vm-test exec keeps stdout and stderr apart). */
  stderrFile?: string;
  /** QEMU's gdbstub on this unix socket; wait: the CPUs stay stopped until gdb continues them. */
  gdb?: { socket: string; wait: boolean };
}

function isMicrovm(spec: Pick<VmSpec, 'machine'>): boolean {
  return spec.machine === 'microvm';
}

/** A virtio device on the machine's transport: PCI on q35, virtio-mmio on microvm. */
function virtio(spec: Pick<VmSpec, 'machine'>, device: 'virtio-9p' | 'virtio-serial'): string {
  return `${device}-${isMicrovm(spec) ? 'device' : 'pci'}`;
}

export function machineArgs(spec: VmSpec): string[] {
  return [
    '-name', 'vm-test',
    ...(isMicrovm(spec)
      // No ACPI, no PCI, no option ROMs: qboot writes the MP table that lists every vCPU, and QEMU puts each
      // virtio-mmio device on the kernel command line (virtio_mmio.device=...).
      ? ['-machine', 'microvm,acpi=off,x-option-roms=off,auto-kernel-cmdline=on']
      : ['-machine', 'q35']),
    // TCG with one host thread per vCPU: the concurrency tests need real parallelism (not for bpf-ci: singleThreadTcg).
    '-accel', spec.accel === 'kvm' ? 'kvm' : `tcg,thread=${spec.singleThreadTcg ? 'single' : 'multi'}`,
    // All host features under KVM; under TCG, every feature QEMU can emulate.
    '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(spec.cpus),
    '-m', `${spec.memoryMb}M`,
    // No default NIC, VGA, floppy or CD-ROM: less to emulate, a quicker boot.
    '-nodefaults',
    '-display', 'none',
    '-monitor', 'none',
    // The guest's reboot (clean end of init, or panic=-1) ends QEMU instead of rebooting.
    '-no-reboot',
  ];
}

export function consoleArgs(spec?: Pick<VmSpec, 'consoleFile'>): string[] {
  // The terminal belongs to the shell: the kernel console goes to its log file only.
  if (spec?.consoleFile) return ['-serial', `file:${spec.consoleFile}`];
  return [
    // The kernel console on the first serial port, streamed to QEMU's stdout; Ctrl-C is ours, not the guest's.
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
  ];
}

export function rootArgs(spec: VmSpec): string[] {
  if (spec.initrd) return ['-initrd', spec.initrd];
  return [
    // The host's / as the guest's root, read-only: QEMU refuses every write, so the guest cannot touch the host.
    '-fsdev', 'local,id=root,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', `${virtio(spec, 'virtio-9p')},fsdev=root,mount_tag=/dev/root`,
  ];
}

export function runDirArgs(spec: VmSpec): string[] {
  return [
    // The run directory, read-write: the plan in, extra result files (test_progs -J) out.
    '-fsdev', `local,id=run,path=${spec.runDir},security_model=none,multidevs=remap`,
    '-device', `${virtio(spec, 'virtio-9p')},fsdev=run,mount_tag=${RUN_SHARE.tag}`,
  ];
}

export function shareArgs(spec: VmSpec): string[] {
  return (spec.shares ?? []).flatMap((share, i) => [
    // What the tests run (build outputs) on its own tag, so no tmpfs the init mounts can hide it; read-only when it is an input.
    '-fsdev', `local,id=share${i},path=${share.hostPath},security_model=none,${share.readonly ? 'readonly=on,' : ''}multidevs=remap`,
    '-device', `${virtio(spec, 'virtio-9p')},fsdev=share${i},mount_tag=${share.tag}`,
  ]);
}

export function resultsArgs(resultsFile: string, spec?: Pick<VmSpec, 'stderrFile' | 'shell' | 'machine'>): string[] {
  return [
    // Test output travels on its own virtio-serial port, apart from kernel messages on the console.
    '-device', virtio(spec ?? {}, 'virtio-serial'),
    '-chardev', `file,id=results,path=${resultsFile}`,
    '-device', `virtserialport,chardev=results,name=${RESULTS_PORT}`,
    // vm-test exec: the command's stderr apart from its stdout.
    ...(spec?.stderrFile ? ['-chardev', `file,id=stderr,path=${spec.stderrFile}`, '-device', `virtserialport,chardev=stderr,name=${STDERR_PORT}`] : []),
    // vm-test shell: a terminal on hvc0, wired to ours; signal=off, so Ctrl-C goes to the guest.
    ...(spec?.shell ? ['-chardev', 'stdio,id=shell,signal=off', '-device', 'virtconsole,chardev=shell'] : []),
  ];
}

export function gdbArgs(spec: Pick<VmSpec, 'gdb'>): string[] {
  if (!spec.gdb) return [];
  return [
    // The gdbstub on a unix socket only this user can reach, never a TCP port others could.
    '-gdb', `unix:${spec.gdb.socket},server=on,wait=off`,
    // --gdb-wait: the CPUs start stopped, so a breakpoint can be set before the kernel runs.
    ...(spec.gdb.wait ? ['-S'] : []),
  ];
}

export function kernelCommandLine(spec: VmSpec): string {
  const words = [
    'console=ttyS0',
    // Our markers in /dev/kmsg must never be rate-limited away.
    'printk.devkmsg=on',
    // A panic reboots at once, which -no-reboot turns into QEMU exiting.
    'panic=-1',
    // Faster under TCG; these tests are not about speculative-execution mitigations (bpf-ci's are: it keeps them).
    ...(spec.mitigations ? [] : ['mitigations=off']),
    // The emulated TSC is fine; skip the slow calibration and its warnings under TCG.
    'tsc=reliable',
    'no_timer_check',
    // synchronize_rcu() waits out an expedited grace period: still a full one, but not the several ticks a normal one
    // takes under TCG. map-in-map's 40 slot replacements each wait for one (1.9 s on 6.12's PREEMPT_NONE, 0.25 s so).
    'rcupdate.rcu_expedited=1',
    // microvm has no ACPI and no keyboard controller to reset through: a triple fault resets at once, and -no-reboot exits.
    ...(isMicrovm(spec) ? ['reboot=t'] : []),
    // Without it the kernel marks the TSC unstable and keeps time in jiffies: coarse sleeps, slower tests.
    ...(isMicrovm(spec) && spec.accel === 'tcg' && spec.tscKhz ? [`tsc_early_khz=${spec.tscKhz}`] : []),
    ...(spec.initrd
      ? [`rdinit=${spec.initPath}`]
      : ['root=/dev/root', 'rootfstype=9p', 'rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose', 'ro', `init=${spec.initPath}`]),
    // gdb resolves vmlinux's symbols at their link addresses.
    ...(spec.gdb ? ['nokaslr'] : []),
    ...(spec.append ?? []),
  ];
  return words.join(' ');
}

/** Devices that each take a transport: the root, the run directory, the shares, the virtio-serial bus. */
export function transportCount(spec: Pick<VmSpec, 'initrd' | 'shares'>): number {
  return (spec.initrd ? 0 : 1) + 1 + (spec.shares?.length ?? 0) + 1;
}

export function qemuArgs(spec: VmSpec, resultsFile: string): string[] {
  if (isMicrovm(spec) && transportCount(spec) > MICROVM_TRANSPORTS) {
    throw new VmTestError('vmInfra', `microvm has ${MICROVM_TRANSPORTS} virtio-mmio transports; this guest needs ${transportCount(spec)} (shares: ${(spec.shares ?? []).map((s) => s.tag).join(', ')})`);
  }
  return [
    ...machineArgs(spec),
    ...consoleArgs(spec),
    '-kernel', spec.kernel,
    '-append', kernelCommandLine(spec),
    ...rootArgs(spec),
    ...runDirArgs(spec),
    ...shareArgs(spec),
    ...resultsArgs(resultsFile, spec),
    ...gdbArgs(spec),
  ];
}
