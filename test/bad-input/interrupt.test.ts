// Ctrl-C and concurrency through the real CLI on the real kernel build (uses and warms the default cache).
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDirs, cacheLayout, resolveCacheRoot } from '../../orchestrator/cache.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { filesIn, processesMentioning, runCli, startCli, waitForOutput } from './cli-runner.ts';

const root = new URL('../../', import.meta.url).pathname;
const cache = cacheLayout(resolveCacheRoot(undefined, process.env));

/** The build directory configured with the option of forces-build.config (this config is only ever built partly). */
function forcedBuildDir(): string | undefined {
  return buildDirs(cache, (d) => (existsSync(d) ? readdirSync(d) : [])).find((d) => /^CONFIG_PRINTK_CALLER=y$/m.test(readFileOr(join(d, '.config'))));
}

const readFileOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

test.serial('Ctrl-C during the kernel build stops make and every compiler, exits 130, keeps the build log', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const extra = join(root, 'test/fixtures/kconfig/forces-build.config');
  const runDir = join(tmp.path, 'run');
  const child = startCli(['--run-dir', runDir, '--kconfig', extra]);
  // The stamp of a finished build would skip make: this config is only ever built partly, by this test.
  t.true(await waitForOutput(child, /\[build\] \d+\/?/, 300_000), 'the build started');
  const buildDir = forcedBuildDir();
  if (!buildDir) return t.fail('no build directory configured with forces-build.config');
  t.false(existsSync(join(buildDir, 'vm-test-stamp.json')));
  const stopped = Date.now();
  child.kill('SIGINT');
  const r = await child;
  t.is(r.exitCode, EXIT.interrupted, String(r.all));
  t.true(Date.now() - stopped < 20_000);
  t.regex(String(r.all), /interrupted; logs and partial results are in/);
  await new Promise((res) => setTimeout(res, 4000));
  t.deepEqual(processesMentioning(buildDir), []);
  t.true(filesIn(runDir).includes('build.log'));
});

test.serial('Ctrl-C during the boot stops QEMU, exits 130, keeps the console log', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, 'run');
  const child = startCli(['--run-dir', runDir]);
  t.true(await waitForOutput(child, /\[vm\] booting/, 1_800_000), 'the boot started');
  await new Promise((res) => setTimeout(res, 1000));
  child.kill('SIGINT');
  const r = await child;
  t.is(r.exitCode, EXIT.interrupted, String(r.all));
  await new Promise((res) => setTimeout(res, 4000));
  t.deepEqual(processesMentioning(runDir), []);
  t.true(filesIn(runDir).includes('console.log'));
  t.true(filesIn(runDir).includes('qemu-cmdline.txt'));
});

test.serial('two runs at once on the same cache: the second waits with a message, and each gets its own verdict', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // A needs a rebuild (another patch 2/3), so it holds the cache while B arrives wanting the other tree.
  const a = startCli(['--run-dir', join(tmp.path, 'a'), '--series', join(root, 'test/fixtures/series/drops-flag-check')]);
  t.true(await waitForOutput(a, /\[build\] kernel/, 120_000));
  const b = startCli(['--run-dir', join(tmp.path, 'b')]);
  const [ra, rb] = await Promise.all([a, b]);
  t.is(ra.exitCode, EXIT.testsFailed, String(ra.all));
  t.regex(String(ra.all), /contract failed: compare fields without flag -> EINVAL/);
  t.is(rb.exitCode, 0, String(rb.all));
  t.regex(String(rb.all), /waiting for another vm-test run \(pid \d+\) using this cache/);
});

test.serial('the guest cannot write to the host outside its run directory', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, 'run');
  const r = await runCli(['--run-dir', runDir, '--test-progs', 'map_cmp_delete']);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  // The QEMU command line of a real run: the root and the build outputs are shared read-only; the run
  // directory is the only writable share.
  const cmdline = await readFile(join(runDir, 'qemu-cmdline.txt'), 'utf8');
  const shares = [...cmdline.matchAll(/-fsdev (\S+)/g)].map((m) => m[1]!);
  t.regex(cmdline, /local,id=root,path=\/,security_model=none,readonly=on/);
  t.true(shares.some((s) => /^local,id=share\d+,path=\S+\/build-[^,]+,.*readonly=on/.test(s)), shares.join('\n'));
  const writable = shares.filter((s) => !/readonly=on/.test(s));
  t.deepEqual(writable.map((s) => s.match(/path=([^,]+)/)?.[1]), [runDir], shares.join('\n'));
});
