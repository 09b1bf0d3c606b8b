// The series inputs through the real CLI, on the tiny tree the fixtures were made on: the series stage
// applies them for real; the build then fails (the tree is not a kernel), which is exit 12 after them.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT } from '../../orchestrator/outcome.ts';
import { runCli } from '../bad-input/cli-runner.ts';
import { sh, tempDir, writeFiles } from '../helpers.ts';

const fixtures = new URL('../fixtures/series/', import.meta.url).pathname;

async function tinyTree(root: string, upstream: Record<string, string> = {}): Promise<string> {
  const user = join(root, 'user-tree');
  await writeFiles(user, {
    Makefile: 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n',
    Kconfig: 'config X\n',
    'kernel/a.c': 'one\ntwo\nthree\n',
    'kernel/b.c': 'alpha\n',
    'kernel/crlf.txt': 'x\r\ny\r\n',
  });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  if (Object.keys(upstream).length) {
    await writeFiles(user, upstream);
    await sh(user, 'git', ['commit', '-q', '-am', 'upstream: the same change, merged another way']);
  }
  return user;
}

const run = (tmp: string, tree: string, series: string) =>
  runCli(['--kernel', tree, '--series', series, '--cache-dir', join(tmp, 'cache'), '--run-dir', join(tmp, 'run'), '--guest-tests', 'compare-contract'], { VM_TEST_NO_INSTALL: '1' });

test('a CRLF patch applies through the CLI; the run goes on to the build', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const r = await run(tmp.path, await tinyTree(tmp.path), join(fixtures, 'crlf'));
  t.regex(r.stdout, /\[series\] ok in [\d.]+ s/, r.stdout + r.stderr);
  t.is(r.exitCode, EXIT.buildFailed, r.stderr);
});

test('a b4 .mbx is one series: its patches applied in order, named by subject', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const mbx = join(fixtures, 'b4-mbx/v2_20260105_author_kernel_a_small_series.mbx');
  const dry = await runCli(['--dry-run', '--kernel', await tinyTree(tmp.path), '--series', mbx, '--cache-dir', join(tmp.path, 'cache')]);
  t.is(dry.exitCode, 0, dry.stderr);
  t.regex(dry.stdout, /series: +\S+\.mbx \(3 patches, [0-9a-f]+\)\n  1\. \[PATCH v2 1\/3\][^\n]*\n  2\. \[PATCH v2 2\/3\][^\n]*\n  3\. \[PATCH v2 3\/3\]/);
  const r = await run(tmp.path, join(tmp.path, 'user-tree'), mbx);
  t.regex(r.stdout, /\[series\] ok in [\d.]+ s/, r.stdout + r.stderr);
  t.is(r.exitCode, EXIT.buildFailed, r.stderr);
  t.regex(await readFile(join(tmp.path, 'run', 'series.log'), 'utf8'), /Applying: [\s\S]*Applying: [\s\S]*Applying: /);
});

test('a patch the tree already has is a warning that names it', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const tree = await tinyTree(tmp.path, { 'kernel/b.c': 'alpha\nbeta\n' });
  const r = await run(tmp.path, tree, join(fixtures, 'already-applied'));
  t.regex(r.stdout, /patch 2\/2 "\[PATCH 2\/2\] kernel: grow b" \(0002-kernel-grow-b\.patch\) changes nothing: git am said "No changes -- Patch already applied\."/, r.stdout + r.stderr);
  t.is(r.exitCode, EXIT.buildFailed, r.stderr);
});
