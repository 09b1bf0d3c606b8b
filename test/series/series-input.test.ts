// Series input that used to be refused or passed silently: a CRLF mail, a b4 .mbx, a patch already applied. Real git am on a tiny tree.
import test from 'ava';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { describeApplyFailure, describeApplyWarning, loadSeries } from '../../orchestrator/series/series.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { GIT_IDENTITY_ENV } from '../../orchestrator/source/git.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { prepareTree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const fixtures = new URL('../fixtures/series/', import.meta.url).pathname;
const MBX = join(fixtures, 'b4-mbx/v2_20260105_author_kernel_a_small_series.mbx');

/** The tree the fixtures were made on (see their READMEs); upstream commits on top of it when asked. */
async function kernelTree(root: string, upstream: Record<string, string> = {}) {
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
  const cache = cacheLayout(join(root, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(root, 'source.log') }, spec);
  const prepare = (series: Awaited<ReturnType<typeof loadSeries>>) => prepareTree({ exec: realExec, cache, logFile: join(root, 'run', 'series.log') }, source, series);
  await writeFiles(join(root, 'run'), { '.keep': '' });
  return { source, prepare, patchesRoot: join(root, 'patches') };
}

const log = (worktree: string, range: string, format = '%s') => sh(worktree, 'git', ['log', `--format=${format}`, range]);

test('a patch saved with CRLF line endings loads and applies, with LF files LF and CRLF files CRLF', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { source, prepare, patchesRoot } = await kernelTree(tmp.path);
  const series = await loadSeries(join(fixtures, 'crlf'), patchesRoot);
  t.deepEqual(series.patches.map((p) => [p.subject, p.crlf]), [['[PATCH] kernel: change a and the CRLF file', true]]);
  const tree = await prepare(series);
  if ('failure' in tree) return t.fail(describeApplyFailure(tree.failure, 1));
  t.is(await readFile(join(tree.worktree, 'kernel/a.c'), 'utf8'), 'one\ntwo and a half\nthree\n');
  t.is(await readFile(join(tree.worktree, 'kernel/crlf.txt'), 'utf8'), 'x\r\ny changed\r\n');
  t.is(await log(tree.worktree, `${source.pristineCommit}..HEAD`, '%B'), 'kernel: change a and the CRLF file\n\ncrlf.txt has CRLF line endings of its own, which must survive the mailer.\n\nSigned-off-by: A U Thor <author@example.com>\n');
  t.deepEqual(tree.warnings, []);
});

test('a CRLF patch that does not apply names the hunk git am could not place, not every hunk', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { prepare, patchesRoot } = await kernelTree(tmp.path, { 'kernel/a.c': 'one\ntwo thirds\nthree\n' });
  const tree = await prepare(await loadSeries(join(fixtures, 'crlf'), patchesRoot));
  if (!('failure' in tree)) return t.fail('expected a failure');
  t.deepEqual(tree.failure.failedHunks, ['kernel/a.c:1']);
  t.deepEqual(tree.failure.conflicts, ['kernel/a.c']);
  t.is(describeApplyFailure(tree.failure, 1),
    'patch 1/1 "[PATCH] kernel: change a and the CRLF file" (0001-kernel-change-a-and-the-CRLF-file.patch) does not apply; failed hunks: kernel/a.c:1; 3-way merge conflicts in: kernel/a.c');
});

test('the CRLF fixture is what the option is for: git am --keep-cr does not apply it', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await kernelTree(tmp.path);
  const am = await realExec.run({ command: 'git', args: ['am', '--3way', '--keep-cr', join(fixtures, 'crlf/0001-kernel-change-a-and-the-CRLF-file.patch')], cwd: join(tmp.path, 'user-tree'), env: GIT_IDENTITY_ENV });
  t.not(am.exitCode, 0);
  t.regex(am.stderr, /error: patch failed: kernel\/a\.c:1/);
});

test('a b4 .mbx is one series: the cover letter left out, three commits in order, each mail kept in the run directory', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { source, prepare, patchesRoot } = await kernelTree(tmp.path);
  const series = await loadSeries(MBX, patchesRoot);
  t.is(series.name, MBX);
  t.is(series.file, MBX);
  t.is(series.dir, dirname(MBX));
  t.is(series.manifest.subject, '[PATCH v2 0/3] kernel: a small series');
  t.deepEqual(series.patches.map((p) => p.subject), ['[PATCH v2 1/3] kernel: change a', '[PATCH v2 2/3] kernel: grow b', '[PATCH v2 3/3] kernel: add c']);
  const tree = await prepare(series);
  if ('failure' in tree) return t.fail(describeApplyFailure(tree.failure, 3));
  t.is(await log(tree.worktree, `${source.pristineCommit}..HEAD`), 'kernel: add c\nkernel: grow b\nkernel: change a');
  t.regex(await log(tree.worktree, 'HEAD~1', '%B'), /^kernel: grow b\n\nFrom the start, b had one line\.\nb needs a second line\.\n/);
  t.is(await readFile(join(tree.worktree, 'kernel/b.c'), 'utf8'), 'alpha\nbeta\n');
  t.is(await readFile(join(tree.worktree, 'kernel/c.c'), 'utf8'), 'gamma\n');
  t.deepEqual(await readdir(join(tmp.path, 'run', 'series-mails')), ['0001.patch', '0002.patch', '0003.patch']);
  const limited = await loadSeries(MBX, patchesRoot, 2);
  t.deepEqual(limited.patches.map((p) => p.subject), series.patches.slice(0, 2).map((p) => p.subject));
  t.not(limited.hash, series.hash);
});

test('a mail of a .mbx that does not apply is named by file:line', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { prepare, patchesRoot } = await kernelTree(tmp.path);
  const mbx = join(tmp.path, 'broken.mbx');
  await writeFile(mbx, (await readFile(MBX, 'utf8')).replace(' alpha\n+beta', ' omega\n+beta'));
  const tree = await prepare(await loadSeries(mbx, patchesRoot));
  if (!('failure' in tree)) return t.fail('expected a failure');
  t.like(tree.failure, { number: 2, subject: '[PATCH v2 2/3] kernel: grow b', patchFile: mbx, line: 62, failedHunks: ['kernel/b.c:1'] });
  t.is(describeApplyFailure(tree.failure, 3), 'patch 2/3 "[PATCH v2 2/3] kernel: grow b" (broken.mbx:62) does not apply; failed hunks: kernel/b.c:1');
});

test('a patch the tree already has is a warning naming it, also when the applied commit is reused', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { source, prepare, patchesRoot } = await kernelTree(tmp.path, { 'kernel/b.c': 'alpha\nbeta\n' });
  const series = await loadSeries(join(fixtures, 'already-applied'), patchesRoot);
  const tree = await prepare(series);
  if ('failure' in tree) return t.fail(describeApplyFailure(tree.failure, 2));
  t.is(await log(tree.worktree, `${source.pristineCommit}..HEAD`), 'kernel: change a');
  t.is(tree.warnings.length, 1);
  const [warning] = tree.warnings;
  t.like(warning, { number: 2, subject: '[PATCH 2/2] kernel: grow b', patchFile: join(fixtures, 'already-applied/0002-kernel-grow-b.patch') });
  t.is(describeApplyWarning(warning!, 2),
    'patch 2/2 "[PATCH 2/2] kernel: grow b" (0002-kernel-grow-b.patch) changes nothing: git am said "No changes -- Patch already applied.": the tree already has this change, so the patch made no commit');
  const again = await prepare(series);
  if ('failure' in again) return t.fail();
  t.true(again.reused);
  t.deepEqual(again.warnings, tree.warnings);
});

test('a missing series names both forms; a file of only a cover letter, or of a broken mail, is a usage error at file:line', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const missing = await t.throwsAsync(loadSeries(join(tmp.path, 'nope.mbx'), join(tmp.path, 'patches')), { instanceOf: VmTestError });
  t.is(missing!.message, `--series ${join(tmp.path, 'nope.mbx')}: no such directory or mbox file`);
  const text = await readFile(MBX, 'utf8');
  const coverOnly = join(tmp.path, 'cover.mbx');
  await writeFile(coverOnly, text.slice(0, text.indexOf('From git@z', 10)));
  const cover = await t.throwsAsync(loadSeries(coverOnly, tmp.path), { instanceOf: VmTestError });
  t.is(cover!.message, `${coverOnly}: no patches, only a cover letter (line 1)`);
  const broken = join(tmp.path, 'broken.mbx');
  await writeFile(broken, text.replace('@@ -1 +1,2 @@', '@@ -1 +1,two @@'));
  const e = await t.throwsAsync(loadSeries(broken, tmp.path), { instanceOf: VmTestError });
  t.is(e!.kind, 'usage');
  t.is(e!.message, `${broken}:86: malformed hunk header: @@ -1 +1,two @@`);
  t.like(e!.evidence, { file: broken, line: 86 });
  const gap = join(tmp.path, 'gap.mbx');
  await writeFile(gap, text.replace('[PATCH v2 2/3]', '[PATCH v2 3/3]'));
  const g = await t.throwsAsync(loadSeries(gap, tmp.path), { instanceOf: VmTestError });
  t.is(g!.message, `${gap}:92: patch v2 3/3 again (also at line 62)`);
  await writeFiles(join(tmp.path, 'b4dir'), { 'x.mbx': text });
  const dir = await t.throwsAsync(loadSeries(join(tmp.path, 'b4dir'), tmp.path), { instanceOf: VmTestError });
  t.regex(dir!.message, /no patch files .*; for the series in x\.mbx, name the file: --series .*b4dir\/x\.mbx$/);
});

test('a manifest whose base.alsoChecked is not a list of kernels is a usage error naming the file', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const dir = join(tmp.path, 'patches', 's', 'v1');
  const patch = await readFile(new URL('../../patches/bpf-f-compare/v1/0001-bpf-add-BPF_F_COMPARE-flag-and-compare-fields-to-map.patch', import.meta.url), 'utf8');
  await writeFiles(dir, { '0001-a.patch': patch, 'series.json': JSON.stringify({ base: { kernel: 'deb:linux-source-7.2', alsoChecked: ['deb:linux-source-7.3'] } }) });
  const error = await t.throwsAsync(loadSeries(dir, join(tmp.path, 'patches')), { instanceOf: VmTestError });
  t.is(error!.kind, 'usage');
  t.regex(error!.message, /series\.json: "base\.alsoChecked" must be a list of objects with a "kernel"/);
  await writeFile(join(dir, 'series.json'), JSON.stringify({ base: { kernel: 'deb:linux-source-7.2', alsoChecked: [{ kernel: 'deb:linux-source-7.3', version: '7.3.4' }] } }));
  t.is((await loadSeries(dir, join(tmp.path, 'patches'))).manifest.base!.alsoChecked![0]!.version, '7.3.4');
});
