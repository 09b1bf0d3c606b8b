// Testing the working tree as it is: a snapshot commit made without touching the user's repository. Real git.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { prepareTree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

async function userTree(root: string): Promise<string> {
  const user = join(root, 'linux');
  await writeFiles(user, {
    Makefile: 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 6\nEXTRAVERSION =\n',
    Kconfig: 'config X\n',
    '.gitignore': '*.o\n',
    'kernel/bpf/hashtab.c': 'int a;\nint b;\n',
    'kernel/bpf/syscall.c': 'int s;\n',
  });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  return user;
}

/** Everything of the user's repository a snapshot must leave alone. */
async function userState(user: string) {
  const git = (...args: string[]) => sh(user, 'git', args);
  const mtimes = await Promise.all(['kernel/bpf/hashtab.c', 'kernel/bpf/syscall.c', 'kernel/bpf/new.c', 'built.o'].map((f) => stat(join(user, f)).then((s) => s.mtimeMs, () => -1)));
  return {
    status: await git('status', '--porcelain'),
    stash: await git('stash', 'list'),
    refs: await git('for-each-ref'),
    head: await git('rev-parse', 'HEAD'),
    // The snapshot's objects go to the cache's repository, not the user's.
    objects: await git('count-objects'),
    index: createHash('sha256').update(await readFile(join(user, '.git/index'))).digest('hex'),
    mtimes,
  };
}

test('uncommitted changes, tracked and untracked, are tested; the user\'s tree is byte-identical afterwards; a second edit is picked up', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const user = await userTree(tmp.path);
  await writeFile(join(user, 'kernel/bpf/hashtab.c'), 'int a;\nint b = 1;\n');
  await writeFile(join(user, 'kernel/bpf/new.c'), 'int n;\n');
  await writeFile(join(user, 'built.o'), 'ignored\n');
  await sh(user, 'git', ['stash', 'list']);
  const before = await userState(user);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const events: RunEvent[] = [];
  const bus = new RunEvents();
  bus.subscribe((e) => events.push(e));
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const ctx = { exec: realExec, cache, events: bus, logFile: join(tmp.path, 'source.log') };

  const source = await resolveSource(ctx, spec);
  t.not(source.pristineCommit, before.head.trim());
  t.regex(source.changes ?? '', /kernel\/bpf\/hashtab\.c \| 2 \+-\n kernel\/bpf\/new\.c +\| 1 \+\n 2 files changed, 2 insertions\(\+\), 1 deletion\(-\)/);
  t.true(events.some((e) => e.type === 'info' && /testing the working tree as it is: HEAD [0-9a-f]{12} plus 2 files changed/.test(e.message)));
  const tree = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, source, undefined);
  if ('failure' in tree) return t.fail();
  t.is(await readFile(join(tree.worktree, 'kernel/bpf/hashtab.c'), 'utf8'), 'int a;\nint b = 1;\n');
  t.is(await readFile(join(tree.worktree, 'kernel/bpf/new.c'), 'utf8'), 'int n;\n');
  await t.throwsAsync(stat(join(tree.worktree, 'built.o')), undefined, '.gitignore is respected');
  t.deepEqual(await userState(user), before, 'status, stash, refs, HEAD, the index file and the files\' mtimes are unchanged');

  // The same contents again: the same commit, so nothing downstream is redone.
  t.is((await resolveSource(ctx, spec)).pristineCommit, source.pristineCommit);

  // A second edit is picked up; the worktree's other files keep their mtimes (the build stays incremental).
  const syscallMtime = (await stat(join(tree.worktree, 'kernel/bpf/syscall.c'))).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(join(user, 'kernel/bpf/hashtab.c'), 'int a;\nint b = 2;\n');
  const second = await resolveSource(ctx, spec);
  t.not(second.pristineCommit, source.pristineCommit);
  const tree2 = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, second, undefined);
  if ('failure' in tree2) return t.fail();
  t.is(await readFile(join(tree2.worktree, 'kernel/bpf/hashtab.c'), 'utf8'), 'int a;\nint b = 2;\n');
  t.is((await stat(join(tree2.worktree, 'kernel/bpf/syscall.c'))).mtimeMs, syscallMtime);
});

test('--committed tests HEAD only, with a warning naming the uncommitted changes', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const user = await userTree(tmp.path);
  await writeFile(join(user, 'kernel/bpf/hashtab.c'), 'changed\n');
  const events: RunEvent[] = [];
  const bus = new RunEvents();
  bus.subscribe((e) => events.push(e));
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const source = await resolveSource({ exec: realExec, cache: cacheLayout(join(tmp.path, 'cache')), events: bus, logFile: join(tmp.path, 'l'), committed: true }, spec);
  t.is(source.pristineCommit, (await sh(user, 'git', ['rev-parse', 'HEAD'])).trim());
  t.is(source.changes, undefined);
  t.true(events.some((e) => e.type === 'warn' && /has uncommitted changes; --committed: testing its HEAD/.test(e.message)));
});

test('a clean tree is its HEAD, no snapshot', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const user = await userTree(tmp.path);
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const source = await resolveSource({ exec: realExec, cache: cacheLayout(join(tmp.path, 'cache')), events: new RunEvents(), logFile: join(tmp.path, 'l') }, spec);
  t.is(source.pristineCommit, (await sh(user, 'git', ['rev-parse', 'HEAD'])).trim());
});

test('git as vm-test runs it never starts an automatic gc, whatever the repository says (real git)', async (t) => {
  const { git } = await import('../../orchestrator/source/git.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await sh(tmp.path, 'git', ['init', '-q', 'repo']);
  const cwd = join(tmp.path, 'repo');
  await sh(cwd, 'git', ['config', 'gc.auto', '1']);
  await sh(cwd, 'git', ['config', 'maintenance.auto', 'true']);
  t.is((await git(realExec, ['config', '--get', 'gc.auto'], { cwd })).stdout.trim(), '0');
  t.is((await git(realExec, ['config', '--get', 'maintenance.auto'], { cwd })).stdout.trim(), 'false');
});
