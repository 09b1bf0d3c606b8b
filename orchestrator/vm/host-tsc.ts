// The host's TSC rate, for a guest that cannot measure it: under TCG the guest's TSC counts at the host's rate.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * The TSC rate in kHz from /proc/cpuinfo, when "cpu MHz" is that rate: the TSC is constant and nothing scales
 * the clock (no cpufreq driver), so the kernel reports the rate it calibrated. Otherwise nothing: a guest told
 * a wrong rate would keep wrong time.
 */
export function tscKhzFromCpuinfo(cpuinfo: string, hasCpufreq: boolean): number | undefined {
  if (hasCpufreq) return undefined;
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  if (!flags.includes('constant_tsc') || !flags.includes('nonstop_tsc')) return undefined;
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)$/m.exec(cpuinfo)?.[1]);
  return Number.isFinite(mhz) && mhz > 100 ? Math.round(mhz * 1000) : undefined;
}

export async function hostTscKhz(): Promise<number | undefined> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return tscKhzFromCpuinfo(cpuinfo, existsSync('/sys/devices/system/cpu/cpu0/cpufreq'));
}
