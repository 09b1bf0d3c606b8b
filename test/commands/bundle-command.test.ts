import test from 'ava';
import { existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { bundleRunDir } from '../../orchestrator/commands/bundle-command.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { filesIn, runCli } from '../bad-input/cli-runner.ts';
import { tempDir } from '../helpers.ts';

const listArchive = async (file: string): Promise<string[]> => {
  const names: string[] = [];
  await tar.t({ file, onReadEntry: (e) => names.push(e.path) });
  return names.sort();
};

/** A copy of the real pass run (test/fixtures/runs/pass) with the plan.txt every run writes first; that capture lacks it, so it is made up here. */
async function realRunDir(parent: string, name = '20261122-010203-pass'): Promise<string> {
  const run = join(parent, name);
  await cp(new URL('../fixtures/runs/pass', import.meta.url), run, { recursive: true });
  await writeFile(join(run, 'plan.txt'), 'kernel: 6.12.117\nseries: bpf-f-compare/v1-6.12\ntest_progs: map_cmp_delete\n');
  return run;
}

test('bundle packs the whole run directory under its own name', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const run = join(tmp.path, '20261122-010203-x');
  await mkdir(join(run, 'sub'), { recursive: true });
  await writeFile(join(run, 'plan.txt'), 'kernel: 6.12\n');
  await writeFile(join(run, 'console.log'), 'Linux version\n');
  await writeFile(join(run, 'sub/results.log'), '# vm-test: done\n');
  const out = join(tmp.path, 'run.tar.gz');
  await bundleRunDir(run, out);
  t.deepEqual(await listArchive(out), ['20261122-010203-x/', '20261122-010203-x/console.log', '20261122-010203-x/plan.txt', '20261122-010203-x/sub/', '20261122-010203-x/sub/results.log']);
});

test.serial('CLI: a run directory becomes <run dir>.tar.gz beside it, by default', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const run = await realRunDir(tmp.path);
  const r = await runCli(['bundle', `${run}/`]);
  t.is(r.exitCode, EXIT.passed, r.stderr);
  t.is(r.stdout, `${run}.tar.gz`);
  t.deepEqual(filesIn(tmp.path), ['20261122-010203-pass', '20261122-010203-pass.tar.gz']);
  t.deepEqual(await listArchive(`${run}.tar.gz`), ['', 'console.log', 'plan.txt', 'results.log', 'test_progs.json'].map((f) => `20261122-010203-pass/${f}`));
});

test.serial('CLI: --out writes the archive where it names, and nothing beside the run', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const run = await realRunDir(join(tmp.path, 'runs'));
  const out = join(tmp.path, 'artifacts', 'run.tar.gz');
  await mkdir(join(tmp.path, 'artifacts'));
  const r = await runCli(['bundle', run, '--out', out]);
  t.is(r.exitCode, EXIT.passed, r.stderr);
  t.is(r.stdout, out);
  t.true(existsSync(out));
  t.deepEqual(filesIn(join(tmp.path, 'runs')), ['20261122-010203-pass']);
});

test.serial('CLI: a directory that is not a run directory (an /etc) is refused, exit 2, and nothing is written', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const etc = join(tmp.path, 'etc');
  await mkdir(etc);
  await writeFile(join(etc, 'hostname'), 'box\n');
  await writeFile(join(etc, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  const r = await runCli(['bundle', etc]);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, new RegExp(`vm-test: error: ${etc}: not a vm-test run directory: it has no plan\\.txt`));
  t.regex(r.stderr, /exit code 2 \(usage\)/);
  t.is(r.stdout, '');
  t.deepEqual(filesIn(tmp.path), ['etc']);
});

test.serial('CLI: plan.txt alone is not enough: the message names the logs a run writes', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const dir = join(tmp.path, 'half');
  await mkdir(dir);
  await writeFile(join(dir, 'plan.txt'), 'kernel: 6.12\n');
  const r = await runCli(['bundle', dir, '--out', join(tmp.path, 'x.tar.gz')]);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, /half: not a vm-test run directory: it has plan\.txt but none of console\.log, results\.log, error\.txt/);
  t.deepEqual(filesIn(tmp.path), ['half']);
});

test.serial('CLI: a missing directory and a file are refused, exit 2', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const missing = await runCli(['bundle', join(tmp.path, 'nope')]);
  t.is(missing.exitCode, EXIT.usage);
  t.regex(missing.stderr, /nope: no such directory/);
  await writeFile(join(tmp.path, 'file'), 'x\n');
  const file = await runCli(['bundle', join(tmp.path, 'file')]);
  t.is(file.exitCode, EXIT.usage);
  t.regex(file.stderr, /file: not a directory/);
  t.deepEqual(filesIn(tmp.path), ['file']);
});

test.serial('CLI: --out inside the run directory is refused (the archive would pack itself)', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const run = await realRunDir(tmp.path);
  const r = await runCli(['bundle', run, '--out', join(run, 'self.tar.gz')]);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, /--out .*self\.tar\.gz is inside the run directory/);
  t.false(existsSync(join(run, 'self.tar.gz')));
});
