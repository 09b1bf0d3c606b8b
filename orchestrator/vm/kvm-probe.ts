// Is KVM usable? Here /dev/kvm exists but a guest hangs with "KVM internal error", so try a real boot briefly.
import { access, constants, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { consoleArgs, machineArgs, type Accel, type Machine } from './qemu-args.ts';

export interface KvmProbe {
  accel: Accel;
  reason: string;
}

/**
 * Decide from a probe boot: KVM is usable only if the probe kernel ran to its end (it panics for want of a root and
 * reboots, which -no-reboot turns into QEMU exiting 0). A banner alone is not enough: here KVM prints the banner of a
 * small machine and then fails on the real one.
 */
export function judgeKvmProbe(stdout: string, stderr: string, exitCode: number | undefined, timedOut = false): KvmProbe {
  if (/KVM internal error/i.test(stdout + stderr)) return { accel: 'tcg', reason: 'KVM is present but fails to run a guest ("KVM internal error"); using TCG' };
  if (timedOut) return { accel: 'tcg', reason: `a KVM probe boot did not finish in time (KVM hangs); using TCG` };
  if (exitCode === 0 && /Kernel panic|Rebooting|reboot: /.test(stdout)) return { accel: 'kvm', reason: 'KVM ran a probe boot to its end' };
  if (/failed to initialize kvm|Could not access KVM|Permission denied/i.test(stderr)) return { accel: 'tcg', reason: `KVM cannot be opened (${stderr.trim().split('\n').pop()}); using TCG` };
  // QEMU's own last word, when it gave one (here, on microvm: "failed to set MSR 0x10a", then an abort).
  const said = stderr.trim().split('\n').filter((l) => l.trim()).pop();
  if (said) return { accel: 'tcg', reason: `a KVM probe boot failed (exit ${exitCode ?? 'killed'}: ${said.slice(0, 160)}); using TCG` };
  return { accel: 'tcg', reason: `KVM probe boot printed nothing in time (exit ${exitCode ?? 'killed'}); using TCG` };
}

/** Remember that KVM failed for real, so later runs this boot go straight to TCG. */
export async function recordKvmFailure(cacheFile: string, reason: string): Promise<void> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ accel: 'tcg', reason, bootId }) + '\n');
}

export async function probeKvm(exec: ExecPort, kernel: string, cacheFile: string, qemu = 'qemu-system-x86_64', timeoutMs = 10000, machine: Machine = 'q35'): Promise<KvmProbe> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible; using TCG' };
  }
  // The answer holds until the host reboots.
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as KvmProbe & { bootId: string };
    if (cached.bootId === bootId && bootId) return { accel: cached.accel, reason: `${cached.reason} (probed earlier this boot)` };
  } catch {
    // no earlier probe
  }
  // The same machine as the real run (SMP): the failure here depends on it.
  const args = machineArgs({ kernel, initPath: '/', runDir: '/', accel: 'kvm', machine, cpus: 2, memoryMb: 512 });
  const stop = new AbortController();
  let kvmError = '';
  const result = await exec.run({
    command: qemu,
    args: [...args, ...consoleArgs(), '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/nonexistent'],
    timeoutMs,
    signal: stop.signal,
    onLine: (line, stream) => {
      if (stream === 'stderr' && /KVM internal error/.test(line)) {
        kvmError = line;
        stop.abort();
      }
    },
  });
  const verdict = judgeKvmProbe(result.stdout, result.stderr + kvmError, result.exitCode, result.timedOut);
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ ...verdict, bootId }) + '\n');
  return verdict;
}
