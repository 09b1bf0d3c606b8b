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
 * What a probe's answer depends on: the host's boot (its kernel and KVM module), the machine and the vCPU count (here
 * q35 ran where microvm failed), and QEMU. An answer is reused only for the same key.
 */
export interface KvmProbeKey {
  bootId: string;
  machine: Machine;
  cpus: number;
  /** QEMU's command and the first line of its --version. */
  qemu: string;
}

export interface KvmProbeRequest {
  /** The kernel the probe boots (the run's own: it panics for want of a root). */
  kernel: string;
  cacheFile: string;
  qemu?: string;
  timeoutMs?: number;
  /** The machine and vCPU count the run boots: the failure depends on them. */
  machine?: Machine;
  cpus?: number;
  /** For tests: the device whose access decides whether to probe at all, and the file that names this boot. */
  kvmDevice?: string;
  bootIdFile?: string;
}

interface CachedProbe extends KvmProbe {
  key?: KvmProbeKey;
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

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

const readBootId = async (file = BOOT_ID): Promise<string> => (await readFile(file, 'utf8').catch(() => '')).trim();

/** The key of a probe with these inputs; asking QEMU its version costs ~15 ms once its binary is in the page cache. */
export async function kvmProbeKey(exec: ExecPort, request: Pick<KvmProbeRequest, 'qemu' | 'machine' | 'cpus' | 'bootIdFile'>): Promise<KvmProbeKey> {
  const qemu = request.qemu ?? 'qemu-system-x86_64';
  const version = await exec.run({ command: qemu, args: ['--version'], timeoutMs: 30_000 });
  const said = version.exitCode === 0 ? version.stdout.split('\n')[0]!.trim() : `no version (exit ${version.exitCode ?? version.spawnError ?? 'killed'})`;
  return { bootId: await readBootId(request.bootIdFile), machine: request.machine ?? 'q35', cpus: request.cpus ?? 2, qemu: `${qemu}: ${said}` };
}

const sameKey = (a: KvmProbeKey | undefined, b: KvmProbeKey): boolean =>
  a !== undefined && a.bootId === b.bootId && a.machine === b.machine && a.cpus === b.cpus && a.qemu === b.qemu;

async function readCached(cacheFile: string): Promise<CachedProbe | undefined> {
  try {
    return JSON.parse(await readFile(cacheFile, 'utf8')) as CachedProbe;
  } catch {
    return undefined;
  }
}

async function writeCached(cacheFile: string, probe: CachedProbe): Promise<void> {
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(probe) + '\n');
}

/**
 * Remember that KVM failed a real boot, so later runs with the same key go straight to TCG. Without a key, the key
 * of the probe this run made (or reused) just before, which the cache file holds.
 */
export async function recordKvmFailure(cacheFile: string, reason: string, key?: KvmProbeKey): Promise<void> {
  const probed = key ?? (await readCached(cacheFile))?.key;
  // No key to hold it under: a later run probes again, which is what an unkeyed answer deserves.
  await writeCached(cacheFile, { accel: 'tcg', reason, ...(probed ? { key: probed } : {}) });
}

export function probeKvm(exec: ExecPort, request: KvmProbeRequest): Promise<KvmProbe>;
export function probeKvm(exec: ExecPort, kernel: string, cacheFile: string, qemu?: string, timeoutMs?: number, machine?: Machine, cpus?: number): Promise<KvmProbe>;
export function probeKvm(exec: ExecPort, first: KvmProbeRequest | string, cacheFile?: string, qemu?: string, timeoutMs?: number, machine?: Machine, cpus?: number): Promise<KvmProbe> {
  const request: KvmProbeRequest = typeof first === 'string'
    ? { kernel: first, cacheFile: cacheFile!, ...(qemu ? { qemu } : {}), ...(timeoutMs ? { timeoutMs } : {}), ...(machine ? { machine } : {}), ...(cpus ? { cpus } : {}) }
    : first;
  return probe(exec, request);
}

async function probe(exec: ExecPort, request: KvmProbeRequest): Promise<KvmProbe> {
  try {
    await access(request.kvmDevice ?? '/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible; using TCG' };
  }
  const key = await kvmProbeKey(exec, request);
  const cached = await readCached(request.cacheFile);
  if (cached && key.bootId && sameKey(cached.key, key)) return { accel: cached.accel, reason: `${cached.reason} (probed earlier this boot)` };
  const qemu = request.qemu ?? 'qemu-system-x86_64';
  // The same machine and vCPU count as the real run (SMP): the failure here depends on them.
  const args = machineArgs({ kernel: request.kernel, initPath: '/', runDir: '/', accel: 'kvm', machine: key.machine, cpus: key.cpus, memoryMb: 512 });
  const stop = new AbortController();
  let kvmError = '';
  const result = await exec.run({
    command: qemu,
    args: [...args, ...consoleArgs(), '-kernel', request.kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/nonexistent'],
    timeoutMs: request.timeoutMs ?? 10_000,
    signal: stop.signal,
    onLine: (line, stream) => {
      if (stream === 'stderr' && /KVM internal error/.test(line)) {
        kvmError = line;
        stop.abort();
      }
    },
  });
  const verdict = judgeKvmProbe(result.stdout, result.stderr + kvmError, result.exitCode, result.timedOut);
  await writeCached(request.cacheFile, { ...verdict, key });
  return verdict;
}
