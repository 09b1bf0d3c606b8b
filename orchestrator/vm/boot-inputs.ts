// What a boot needs besides the plan: init and the kernel where QEMU reads them, the guest's shares and plan files,
// the gdb stub, the machine, and the accelerator stage.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { KernelBuild } from '../build/kernel-build.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { ALLOWLIST_GUEST_PATH, DENYLIST_GUEST_PATH, planText, type GuestTest } from '../guest/guest-plan.ts';
import { BUILD_SHARE, guestView, mountsText, type GuestView } from '../guest/guest-view.ts';
import { VmTestError } from '../outcome.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { chooseMachine, type MachineChoice } from './guest-machine.ts';
import { probeKvm, type KvmProbe } from './kvm-probe.ts';
import { CWD_TAG, MOUNTS_FILE, PLAN_FILE } from '../guest/protocol.ts';
import { transportCount } from './qemu-args.ts';

/** The guest reads init through the root 9p mount: a content-addressed copy in the cache, so the checkout may live anywhere (even /tmp). */
export async function installInit(plan: Pick<RunPlan, 'repoRoot' | 'cache'>): Promise<string> {
  const text = await readFile(join(plan.repoRoot, 'rootfs/init'));
  const dir = join(plan.cache.root, 'rootfs');
  const path = join(dir, `init-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`);
  if (!existsSync(path)) {
    await mkdir(dir, { recursive: true });
    await writeFile(`${path}.tmp-${process.pid}`, text, { mode: 0o755 });
    await rename(`${path}.tmp-${process.pid}`, path);
  }
  return path;
}

/** The run's own copies of the bzImage QEMU boots and of its .config (the machine is chosen from it): returns the bzImage's path. */
export async function keepBootKernel(kernel: Pick<KernelBuild, 'bzImage' | 'configPath'>, runDir: string): Promise<string> {
  const bzImage = join(runDir, 'bzImage');
  await copyFile(kernel.bzImage, bzImage);
  await copyFile(kernel.configPath, join(runDir, 'kernel.config'));
  return bzImage;
}

/**
 * The guest runs the build's outputs from their own read-only share, never through the host root; vm-test exec
 * also gets its current directory, read-write, at the same path. Writes what the init reads from the run
 * directory: the lists test_progs reads (-d @FILE, a shard's -a @FILE), plan.tsv and mounts.tsv.
 */
export async function prepareGuestView(plan: Pick<RunPlan, 'job' | 'testProgsSelection'>, tests: readonly GuestTest[], buildDir: string, runDir: string): Promise<GuestView> {
  const view = guestView([
    { ...BUILD_SHARE, hostPath: buildDir, readonly: true },
    ...(plan.job.kind === 'exec' && plan.job.cwd ? [{ tag: CWD_TAG, hostPath: plan.job.cwd, guestPath: plan.job.cwd, readonly: false }] : []),
  ]);
  if (plan.testProgsSelection.denylist) await copyFile(plan.testProgsSelection.denylist.file, join(runDir, basename(DENYLIST_GUEST_PATH)));
  if (plan.testProgsSelection.allowlist) await copyFile(plan.testProgsSelection.allowlist.file, join(runDir, basename(ALLOWLIST_GUEST_PATH)));
  await writeFile(join(runDir, PLAN_FILE), planText(tests, view));
  await writeFile(join(runDir, MOUNTS_FILE), mountsText(view));
  return view;
}

export interface GdbStub {
  socket: string;
  wait: boolean;
}

/** --gdb: QEMU's gdbstub on a socket of this process's, and the gdb command for it in gdb.txt and on the events. */
export async function gdbStub(gdb: RunPlan['gdb'], buildDir: string, runDir: string, events: RunEvents): Promise<GdbStub | undefined> {
  if (!gdb) return undefined;
  const stub = { socket: join(tmpdir(), `vm-test-gdb-${process.pid}.sock`), wait: gdb.wait };
  const command = `gdb -q ${join(buildDir, 'vmlinux')} -ex 'target remote ${stub.socket}'`;
  await writeFile(join(runDir, 'gdb.txt'), `${command}\n`);
  events.emit({ type: 'info', stage: 'vm', message: `gdb: ${command}${stub.wait ? '   (the CPUs are stopped until gdb says continue)' : ''}` });
  return stub;
}

/** The machine the run's kernel.config was built for, with as many transports as the view has shares. */
export async function machineFor(runDir: string, view: Pick<GuestView, 'shares'>, events: RunEvents): Promise<MachineChoice> {
  const machine = chooseMachine(await readFile(join(runDir, 'kernel.config'), 'utf8').catch(() => undefined), transportCount({ shares: view.shares }));
  events.emit({ type: 'info', stage: 'vm', message: `machine ${machine.machine}: ${machine.reason}` });
  return machine;
}

/** The accelerator stage: --accel tcg as asked; otherwise the KVM probe (cached per host boot), which --accel kvm requires to pass. */
export async function chooseAccel(exec: ExecPort, plan: Pick<RunPlan, 'accel' | 'cache' | 'cpus'>, bzImage: string, machine: MachineChoice): Promise<KvmProbe> {
  if (plan.accel === 'tcg') return { accel: 'tcg', reason: '--accel tcg' };
  // The run's machine and vCPU count: KVM's failure here depends on them.
  const probe = await probeKvm(exec, { kernel: bzImage, cacheFile: kvmProbeFile(plan), machine: machine.machine, cpus: plan.cpus });
  if (plan.accel === 'kvm' && probe.accel !== 'kvm') throw new VmTestError('vmInfra', `--accel kvm, but ${probe.reason}`);
  return probe;
}

/** Where the KVM probe's answer is kept for this host boot. */
export const kvmProbeFile = (plan: Pick<RunPlan, 'cache'>): string => join(plan.cache.root, 'kvm-probe.json');
