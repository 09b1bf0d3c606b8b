// Is KVM usable? Here /dev/kvm exists but a guest hangs with "KVM internal error", so try a real boot briefly.
import { access, constants, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import type { Accel } from './qemu-args.ts';

export interface KvmProbe {
  accel: Accel;
  reason: string;
}

/** Decide from what a probe boot printed: kernel output means KVM runs guests; its error or silence means it does not. */
export function judgeKvmProbe(stdout: string, stderr: string, exitCode: number | undefined): KvmProbe {
  if (/KVM internal error/i.test(stdout + stderr)) return { accel: 'tcg', reason: 'KVM is present but fails to run a guest ("KVM internal error"); using TCG' };
  if (/Linux version|Booting the kernel|Decompressing Linux/.test(stdout)) return { accel: 'kvm', reason: 'KVM ran a probe boot' };
  if (/failed to initialize kvm|Could not access KVM|Permission denied/i.test(stderr)) return { accel: 'tcg', reason: `KVM cannot be opened (${stderr.trim().split('\n').pop()}); using TCG` };
  return { accel: 'tcg', reason: `KVM probe boot printed nothing in time (exit ${exitCode ?? 'killed'}); using TCG` };
}

export async function probeKvm(exec: ExecPort, kernel: string, cacheFile: string, qemu = 'qemu-system-x86_64', timeoutMs = 8000): Promise<KvmProbe> {
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
  const result = await exec.run({
    command: qemu,
    args: ['-accel', 'kvm', '-cpu', 'host', '-m', '256M', '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-chardev', 'stdio,id=c,signal=off', '-serial', 'chardev:c', '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial panic=-1'],
    timeoutMs,
  });
  const verdict = judgeKvmProbe(result.stdout, result.stderr, result.exitCode);
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ ...verdict, bootId }) + '\n');
  return verdict;
}
