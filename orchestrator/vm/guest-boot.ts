// One boot of the run's kernel: the runVm request a plan gives, its stage record, and the fall back to TCG when KVM fails for real.
import { join } from 'node:path';
import type { RunEvents } from '../events.ts';
import type { GuestTest } from '../guest/guest-plan.ts';
import type { GuestView } from '../guest/guest-view.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import type { GdbStub } from './boot-inputs.ts';
import type { MachineChoice } from './guest-machine.ts';
import { recordKvmFailure, type KvmProbe } from './kvm-probe.ts';
import type { Accel } from './qemu-args.ts';
import type { VmOutcome, VmRunRequest } from './run-vm.ts';

export interface BootInputs {
  bzImage: string;
  initPath: string;
  runDir: string;
  machine: MachineChoice;
  tscKhz: number | undefined;
  view: Pick<GuestView, 'shares'>;
  gdb: GdbStub | undefined;
  tests: readonly GuestTest[];
}

type BootPlan = Pick<RunPlan, 'job' | 'cpus' | 'memoryMb' | 'timeoutSec' | 'testTimeoutSec'> & Partial<Pick<RunPlan, 'runners'>>;

/** The BPF CI's runners run with the kernel's mitigations on: test_verifier's unprivileged half needs them. */
export const keepsMitigations = (plan: Partial<Pick<RunPlan, 'runners'>>): boolean => !!plan.runners?.length;

/**
 * The BPF CI's runners under TCG: every vCPU on one host thread (qemu-args.ts singleThreadTcg says why). bpf-ci runs
 * the base's guest and the series' at the same time, so the host's cores are still used.
 */
export const serialTcg = (plan: Partial<Pick<RunPlan, 'runners'>>): boolean => !!plan.runners?.length;

/** The runVm request for one boot under accel; logs go to the run directory. */
export function vmRunRequest(plan: BootPlan, inputs: BootInputs, accel: Accel, events: RunEvents, signal?: AbortSignal): VmRunRequest {
  const { bzImage, initPath, runDir, machine, tscKhz, view, gdb, tests } = inputs;
  const log = (name: string) => join(runDir, name);
  return {
    spec: {
      kernel: bzImage, initPath, runDir, accel, machine: machine.machine, tscKhz, cpus: plan.cpus, memoryMb: plan.memoryMb, shares: view.shares,
      ...(keepsMitigations(plan) ? { mitigations: true } : {}),
      ...(serialTcg(plan) ? { singleThreadTcg: true } : {}),
      ...(plan.job.kind === 'shell' ? { shell: true, consoleFile: log('console.log') } : {}),
      ...(plan.job.kind === 'exec' ? { stderrFile: log('stderr.log') } : {}),
      ...(gdb ? { gdb } : {}),
    },
    interactive: plan.job.kind === 'shell',
    consoleLog: log('console.log'),
    resultsLog: log('results.log'),
    qemuStderrLog: log('qemu-stderr.log'),
    commandFile: log('qemu-cmdline.txt'),
    // A shell lasts as long as its user wants.
    timeoutMs: plan.job.kind === 'shell' ? 7 * 24 * 3600_000 : plan.timeoutSec * 1000,
    // A test may print nothing for as long as it may run (a runner's own limit can be the longer).
    silenceTimeoutMs: (Math.max(plan.testTimeoutSec, ...tests.map((t) => t.timeoutSec)) + 60) * 1000,
    testTimeouts: new Map(tests.map((t) => [t.name, t.timeoutSec])),
    events,
    signal,
  };
}

/** The vm stage's record of a boot: QEMU that could not run the guest is the stage failing; a guest that crashed or failed its tests is the verdict's. */
export function bootRecord(vm: VmOutcome): { status: 'ok' | 'failed'; detail: string } {
  return { status: vm.end === 'qemu-failed' ? 'failed' : 'ok', detail: `${vm.end}: ${vm.detail}${vm.bootMs ? `; init after ${(vm.bootMs / 1000).toFixed(1)} s` : ''}` };
}

/** The probe passed but the real boot did not: remember it for later runs, and say that this one boots again under TCG. */
export async function fallBackToTcg(kvmProbeFile: string, events: RunEvents): Promise<KvmProbe> {
  await recordKvmFailure(kvmProbeFile, 'KVM failed a real boot ("KVM internal error"); using TCG');
  events.emit({ type: 'warn', stage: 'vm', message: 'KVM failed during the boot ("KVM internal error"); booting again under TCG' });
  return { accel: 'tcg', reason: 'KVM failed during the boot ("KVM internal error")' };
}
