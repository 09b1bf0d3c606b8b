// Benchmark: wall-clock numbers for the default run on this machine, printed, never asserted.
// Usage: npm run bench [-- --runs N] [-- --cold]   (--cold adds a run on a fresh cache: ~10 min)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $, argv } from 'zx';

$.verbose = false;
$.cwd = new URL('..', import.meta.url).pathname;
const runs = Number(argv.runs ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface RunMeta { exitCode: number; bootMs?: number; vmMs?: number; timingsMs: Record<string, number> }

async function timedRun(args: string[], env: Record<string, string> = {}): Promise<{ wallMs: number; meta: RunMeta }> {
  const dir = await mkdtemp(join(process.env.HOME ?? '/root', '.vm-test-bench-'));
  const json = join(dir, 'r.json');
  const started = Date.now();
  const p = await $({ env: { ...process.env, ...env }, nothrow: true })`node --import tsx orchestrator/cli.ts ${args} --json ${json}`;
  const wallMs = Date.now() - started;
  if (p.exitCode !== 0) throw new Error(`vm-test exited ${p.exitCode}:\n${p.stdout.slice(-2000)}\n${p.stderr.slice(-2000)}`);
  const meta = (JSON.parse(await readFile(json, 'utf8')) as { run: RunMeta }).run;
  await rm(dir, { recursive: true, force: true });
  return { wallMs, meta };
}

const rows: [string, string][] = [];

if (argv.cold) {
  const cache = await mkdtemp(join(process.env.HOME ?? '/root', '.vm-test-bench-cache-'));
  const cold = await timedRun([], { VM_TEST_CACHE_DIR: cache });
  rows.push(['cold run, fresh cache (no ccache hits) to verdict', fmt(cold.wallMs)]);
  rows.push(['  of which kernel + test_progs build', fmt(cold.meta.timingsMs.build ?? 0)]);
  await rm(cache, { recursive: true, force: true });
}

// Make sure the default run is built, then time warm reruns.
await timedRun([]);
const warm: number[] = [];
const boot: number[] = [];
const vm: number[] = [];
for (let i = 0; i < runs; i++) {
  const r = await timedRun([]);
  warm.push(r.wallMs);
  if (r.meta.bootMs) boot.push(r.meta.bootMs);
  if (r.meta.vmMs) vm.push(r.meta.vmMs);
}
rows.push([`warm rerun, nothing changed (median of ${runs})`, fmt(median(warm))]);
rows.push([`QEMU start to init (median of ${runs})`, fmt(median(boot))]);
rows.push([`QEMU start to verdict: boot + map_cmp_delete + poweroff (median of ${runs})`, fmt(median(vm))]);

const width = Math.max(...rows.map((r) => r[0].length));
console.log(`vm-test bench on ${(await $`nproc`).stdout.trim()} cores, ${new Date().toISOString()}`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
