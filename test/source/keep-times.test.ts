// A switch between two revisions of a series rewrites only what differs between them, as make sees it:
// a header both revisions patch alike keeps its mtime, a file they patch differently gets a new one. Real git.
import test from 'ava';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { prepareTree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const MAKEFILE = 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 6\nEXTRAVERSION =\n';

/** A base tree and two revisions of a two-patch series: the same header change, different changes to hashtab.c. */
async function fixture(root: string) {
  const user = join(root, 'user-tree');
  await writeFiles(user, { Makefile: MAKEFILE, Kconfig: 'config X\n', 'include/linux/bpf.h': 'int f(int a);\n', 'kernel/bpf/hashtab.c': 'one\ntwo\n', 'kernel/bpf/syscall.c': 's\n' });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  const revision = async (name: string, hashtab: string) => {
    await writeFile(join(user, 'include/linux/bpf.h'), 'int f(int a);\nint g(const void *compare);\n');
    await sh(user, 'git', ['commit', '-q', '-am', 'bpf: add g']);
    await writeFile(join(user, 'kernel/bpf/hashtab.c'), hashtab);
    await sh(user, 'git', ['commit', '-q', '-am', 'bpf: use g']);
    await sh(user, 'git', ['format-patch', '-q', '-o', join(root, name), 'HEAD~2']);
    await sh(user, 'git', ['reset', '-q', '--hard', 'HEAD~2']);
  };
  await revision('v1', 'one\ntwo\ng();\n');
  await revision('v2', 'one\ntwo\ng(); /* again */\n');
  return user;
}

test('switching revisions keeps the mtime of a file both patch alike, and renews the one they patch differently', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const user = await fixture(tmp.path);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'log') }, spec);
  const ctx = { exec: realExec, cache, logFile: join(tmp.path, 'log') };
  const v1 = await prepareTree(ctx, source, await loadSeries(join(tmp.path, 'v1'), join(tmp.path, 'patches')));
  if ('failure' in v1) return t.fail(JSON.stringify(v1.failure));

  // As if v1 was built long ago: every file older than its objects would be.
  const long = new Date('2020-01-01T00:00:00Z');
  for (const f of ['include/linux/bpf.h', 'kernel/bpf/hashtab.c', 'kernel/bpf/syscall.c']) await utimes(join(v1.worktree, f), long, long);
  await sh(v1.worktree, 'git', ['update-index', '-q', '--refresh']);

  const v2 = await prepareTree(ctx, source, await loadSeries(join(tmp.path, 'v2'), join(tmp.path, 'patches')));
  if ('failure' in v2) return t.fail(JSON.stringify(v2.failure));
  const mtime = async (f: string) => (await stat(join(v2.worktree, f))).mtimeMs;
  t.is(await readFile(join(v2.worktree, 'include/linux/bpf.h'), 'utf8'), 'int f(int a);\nint g(const void *compare);\n');
  t.is(await mtime('include/linux/bpf.h'), long.getTime(), 'bpf.h went back to pristine and forward to the same bytes: its old time');
  t.true(await mtime('kernel/bpf/hashtab.c') > long.getTime(), 'hashtab.c changed: a new time, so make rebuilds it');
  t.is(await readFile(join(v2.worktree, 'kernel/bpf/hashtab.c'), 'utf8'), 'one\ntwo\ng(); /* again */\n');
  t.is(await mtime('kernel/bpf/syscall.c'), long.getTime(), 'untouched by either');
  t.is(await sh(v2.worktree, 'git', ['status', '--porcelain']), '', 'the index agrees with the files');

  // Back to the pristine tree: bpf.h changes there, so it gets a new time too.
  const pristine = await prepareTree(ctx, source, undefined);
  if ('failure' in pristine) return t.fail();
  t.true((await stat(join(pristine.worktree, 'include/linux/bpf.h'))).mtimeMs > long.getTime());
  t.is(await readFile(join(pristine.worktree, 'include/linux/bpf.h'), 'utf8'), 'int f(int a);\n');
});

test('a file edited in the worktree by hand gets a new time on a switch, not the time of its edit', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const user = await fixture(tmp.path);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) return t.fail(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'log') }, spec);
  const ctx = { exec: realExec, cache, logFile: join(tmp.path, 'log') };
  const v1 = await prepareTree(ctx, source, await loadSeries(join(tmp.path, 'v1'), join(tmp.path, 'patches')));
  if ('failure' in v1) return t.fail(JSON.stringify(v1.failure));

  // An edit objects may have been built from; the switch throws it away, so bpf.h's bytes change under make.
  const long = new Date('2020-01-01T00:00:00Z');
  await writeFile(join(v1.worktree, 'include/linux/bpf.h'), 'int f(int a); /* edited */\n');
  await utimes(join(v1.worktree, 'include/linux/bpf.h'), long, long);

  const v2 = await prepareTree(ctx, source, await loadSeries(join(tmp.path, 'v2'), join(tmp.path, 'patches')));
  if ('failure' in v2) return t.fail(JSON.stringify(v2.failure));
  t.is(await readFile(join(v2.worktree, 'include/linux/bpf.h'), 'utf8'), 'int f(int a);\nint g(const void *compare);\n');
  t.true((await stat(join(v2.worktree, 'include/linux/bpf.h'))).mtimeMs > long.getTime(), 'the edit\'s time would hide the change from make');
});
