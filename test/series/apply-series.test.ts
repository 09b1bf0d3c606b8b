import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout, worktreeFor } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { prepareTree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const MAKEFILE = 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n';

/** A tiny "kernel" git repo plus a series of two patches made with git format-patch, and a third that conflicts. */
async function fixture(root: string) {
  const user = join(root, 'user-tree');
  await writeFiles(user, { Makefile: MAKEFILE, Kconfig: 'config X\n', 'kernel/a.c': 'one\ntwo\nthree\n', 'kernel/b.c': 'alpha\n' });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  await writeFile(join(user, 'kernel/a.c'), 'one\ntwo and a half\nthree\n');
  await sh(user, 'git', ['commit', '-q', '-am', 'kernel: change a']);
  await writeFile(join(user, 'kernel/b.c'), 'alpha\nbeta\n');
  await sh(user, 'git', ['commit', '-q', '-am', 'kernel: grow b']);
  const good = join(root, 'series-good');
  await sh(user, 'git', ['format-patch', '-q', '-o', good, 'HEAD~2']);
  // A patch against a line that the base does not have: it cannot apply there.
  await writeFile(join(user, 'kernel/a.c'), 'one\ntwo and a half\nthree and more\n');
  await sh(user, 'git', ['commit', '-q', '-am', 'kernel: extend a']);
  const bad = join(root, 'series-bad');
  await sh(user, 'git', ['format-patch', '-q', '-o', bad, 'HEAD~1']);
  await sh(join(user), 'git', ['reset', '-q', '--hard', 'HEAD~3']);
  return { user, good, bad };
}

test('applies a series in the cache worktree and leaves the user tree byte-identical', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { user, good } = await fixture(tmp.path);
  const headBefore = await sh(user, 'git', ['rev-parse', 'HEAD']);
  const statusBefore = await sh(user, 'git', ['status', '--porcelain', '--ignored']);
  const aBefore = await readFile(join(user, 'kernel/a.c'), 'utf8');
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, spec);
  t.is(source.version, '6.12.0');
  const series = await loadSeries(good, join(tmp.path, 'patches'));
  t.is(series.patches.length, 2);
  const prepared = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, source, series);
  if ('failure' in prepared) return t.fail(JSON.stringify(prepared.failure));
  t.false(prepared.reused);
  t.is(await readFile(join(prepared.worktree, 'kernel/a.c'), 'utf8'), 'one\ntwo and a half\nthree\n');
  t.is(await readFile(join(prepared.worktree, 'kernel/b.c'), 'utf8'), 'alpha\nbeta\n');
  // The same series again: the applied commit is reused, not re-applied.
  const again = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, source, series);
  if ('failure' in again) return t.fail();
  t.true(again.reused);
  t.is(again.treeId, prepared.treeId);
  // The user's tree: same HEAD, same status, same bytes.
  t.is(await sh(user, 'git', ['rev-parse', 'HEAD']), headBefore);
  t.is(await sh(user, 'git', ['status', '--porcelain', '--ignored']), statusBefore);
  t.is(await readFile(join(user, 'kernel/a.c'), 'utf8'), aBefore);
});

test('a patch that does not apply names its number, subject and the failing hunk, and the worktree is left clean', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { user, bad } = await fixture(tmp.path);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, spec);
  const series = await loadSeries(bad, join(tmp.path, 'patches'));
  const result = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, source, series);
  if (!('failure' in result)) return t.fail('expected a failure');
  t.is(result.failure.number, 1);
  t.is(result.failure.subject, '[PATCH] kernel: extend a');
  t.deepEqual(result.failure.failedHunks, ['kernel/a.c:1']);
  const status = await sh(worktreeFor(cache, source.id), 'git', ['status', '--porcelain']);
  t.is(status, '');
});

test('a non-git tree is imported once, ignoring its .gitignore (Debian ignores /*)', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const tree = join(tmp.path, 'plain');
  await writeFiles(tree, { Makefile: MAKEFILE, Kconfig: 'config X\n', '.gitignore': '/*\n!/debian/\n', 'kernel/a.c': 'x\n' });
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(tree);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, spec);
  const files = await sh(tmp.path, 'git', [`--git-dir=${source.gitDir}`, 'ls-tree', '-r', '--name-only', source.pristineCommit]);
  t.deepEqual(files.split('\n').sort(), ['.gitignore', 'Kconfig', 'Makefile', 'kernel/a.c']);
});

test('bad kernel paths are usage errors naming the path', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const ctx = { exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'log') };
  const missing = await t.throwsAsync(resolveSource(ctx, { kind: 'local', path: join(tmp.path, 'nope') }), { instanceOf: VmTestError });
  t.is(missing?.kind, 'usage');
  t.regex(missing!.message, /no such directory/);
  await writeFiles(tmp.path, { 'notkernel/README': 'hi\n' });
  const notKernel = await t.throwsAsync(resolveSource(ctx, { kind: 'local', path: join(tmp.path, 'notkernel') }), { instanceOf: VmTestError });
  t.regex(notKernel!.message, /not a Linux kernel tree/);
});

test('malformed mbox and missing series are usage errors naming the file', async (t) => {
  const fixtures = new URL('../fixtures/series/', import.meta.url).pathname;
  const malformed = await t.throwsAsync(loadSeries(join(fixtures, 'malformed'), fixtures), { instanceOf: VmTestError });
  t.is(malformed?.kind, 'usage');
  t.regex(malformed!.message, /malformed\/0001-broken\.patch:1: not an mbox patch/);
  const missing = await t.throwsAsync(loadSeries(join(fixtures, 'nope'), new URL('../../patches', import.meta.url).pathname), { instanceOf: VmTestError });
  t.regex(missing!.message, /no such directory \(known: bpf-f-compare\/v1, bpf-f-compare\/v1-6\.12/);
});

test('the default series loads from its manifest without the cover letter', async (t) => {
  const root = new URL('../../patches', import.meta.url).pathname;
  const s = await loadSeries(join(root, 'bpf-f-compare/v1-6.12'), root);
  t.is(s.name, 'bpf-f-compare/v1-6.12');
  t.is(s.patches.length, 3);
  t.deepEqual(s.manifest.tests?.test_progs, ['map_cmp_delete']);
  const limited = await loadSeries(join(root, 'bpf-f-compare/v1-6.12'), root, 2);
  t.is(limited.patches.length, 2);
  t.not(limited.hash, s.hash);
});

test('git:<url>#<ref> fetches the ref into the cache', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { user } = await fixture(tmp.path);
  await sh(user, 'git', ['branch', 'topic']);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(`git:file://${user}#topic`);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, spec);
  t.is(source.pristineCommit, (await sh(user, 'git', ['rev-parse', 'topic'])).trim());
  t.is(source.version, '6.12.0');
  const bad = parseKernelSpec(`git:file://${user}#no-such-ref`);
  if ('error' in bad) return t.fail();
  const e = await t.throwsAsync(resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, bad), { instanceOf: VmTestError });
  t.regex(e!.message, /git fetch failed/);
  t.deepEqual(parseKernelSpec('git:https://host/x.git'), { error: '--kernel git:https://host/x.git: expected git:<url>#<ref>, e.g. git:https://host/bpf-next.git#master' });
});

test('the kernel version is read from the Makefile, with an empty EXTRAVERSION', async (t) => {
  const { kernelVersionFromMakefile } = await import('../../orchestrator/source/source.ts');
  t.is(kernelVersionFromMakefile('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n'), '6.12.117');
  t.is(kernelVersionFromMakefile('VERSION = 6\nPATCHLEVEL = 13\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n'), '6.13.0-rc3');
});
