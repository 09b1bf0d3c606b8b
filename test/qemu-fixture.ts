// Real QEMU for tests without a kernel build: Debian's prebuilt cloud kernel and a busybox initramfs with our init.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout, resolveCacheRoot } from '../orchestrator/cache.ts';
import { RunEvents, type RunEvent } from '../orchestrator/events.ts';
import { planText, type GuestTest } from '../orchestrator/guest/guest-plan.ts';
import { aptState, aptUpdate, downloadPackage } from '../orchestrator/source/debian-archive.ts';
import { buildBusyboxInitramfs, initramfsPlan } from '../orchestrator/vm/initramfs.ts';
import { runVm, type VmOutcome } from '../orchestrator/vm/run-vm.ts';
import { realExec } from './helpers.ts';

const PACKAGE = 'linux-image-6.12.117+deb12-cloud-amd64-unsigned';
const SUITE = 'bookworm-security';

let kernelOnce: Promise<string> | undefined;

/** The cloud kernel's vmlinuz, downloaded (not installed) into the cache once; concurrent callers share one fetch. */
export function debianCloudKernel(): Promise<string> {
  kernelOnce ??= fetchCloudKernel();
  return kernelOnce;
}

async function fetchCloudKernel(): Promise<string> {
  const cache = cacheLayout(resolveCacheRoot(undefined, process.env));
  const dir = join(cache.root, 'test-assets', 'cloud-kernel');
  const boot = join(dir, 'root', 'boot');
  const found = existsSync(boot) ? (await readdir(boot)).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (found) return join(boot, found);
  await mkdir(dir, { recursive: true });
  let debs = (await readdir(dir)).filter((f) => f.endsWith('.deb'));
  if (debs.length === 0) {
    // Through the tool's private apt state, like deb: kernel sources: the host's apt state is not touched.
    const ctx = { exec: realExec, aptRoot: join(cache.root, 'apt'), logFile: join(dir, 'apt.log') };
    const state = await aptState(ctx, SUITE);
    await aptUpdate(ctx, state);
    await downloadPackage(ctx, state, PACKAGE, undefined, dir);
    debs = (await readdir(dir)).filter((f) => f.endsWith('.deb'));
  }
  // Extract aside and rename into place, so a concurrent test process never sees half a tree.
  const staging = await mkdtemp(join(dir, 'extract-'));
  const untar = await realExec.run({ command: 'sh', args: ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x ./boot', 'sh', join(dir, debs[0]!)], cwd: staging });
  if (untar.exitCode !== 0) throw new Error(`extracting /boot from ${debs[0]} failed: ${untar.stderr}`);
  await rename(staging, join(dir, 'root')).catch(async () => rm(staging, { recursive: true, force: true }));
  const vmlinuz = (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${PACKAGE}`);
  return join(boot, vmlinuz);
}

export interface BootResult {
  outcome: VmOutcome;
  events: RunEvent[];
  console: string;
  results: string;
}

/** Boot the cloud kernel with rootfs/init and the plan baked into the initramfs. */
export async function bootWithPlan(runDir: string, tests: GuestTest[], options: { timeoutMs?: number; silenceMs?: number; signal?: AbortSignal; qemu?: string; abortAfterInit?: AbortController; append?: string[] } = {}): Promise<BootResult> {
  const kernel = await debianCloudKernel();
  const initText = await readFile(new URL('../rootfs/init', import.meta.url), 'utf8');
  const initrd = join(runDir, 'initrd.cpio');
  await buildBusyboxInitramfs(initrd, { path: 'init', text: initText }, [initramfsPlan(planText(tests))]);
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
    if (e.type === 'test-start') options.abortAfterInit?.abort();
  });
  const outcome = await runVm(realExec, {
    spec: { kernel, initPath: '/init', runDir, accel: 'tcg', cpus: 2, memoryMb: 512, initrd, append: options.append },
    qemuBinary: options.qemu,
    consoleLog: join(runDir, 'console.log'),
    resultsLog: join(runDir, 'results.log'),
    qemuStderrLog: join(runDir, 'qemu-stderr.log'),
    commandFile: join(runDir, 'qemu-cmdline.txt'),
    timeoutMs: options.timeoutMs ?? 120_000,
    silenceTimeoutMs: options.silenceMs ?? 60_000,
    events,
    signal: options.signal,
  });
  const read = (f: string) => readFile(join(runDir, f), 'utf8').catch(() => '');
  return { outcome, events: seen, console: await read('console.log'), results: await read('results.log') };
}

export const ktapTest = (name: string, script: string, timeoutSec = 60): GuestTest => ({ name, kind: 'ktap', argv: ['/bin/sh', '-c', script], timeoutSec });

/** What a failed assertion on a boot prints: the run's own account and the console's last lines (the evidence of a flake). */
export const told = (boot: BootResult, lines = 40): string => `${boot.outcome.detail}\n--- console.log, last lines:\n${boot.console.split('\n').slice(-lines).join('\n')}`;
