// A fresh import's files become the first worktree with the import's index: no checkout, and git still sees every edit. Real git.
import test from 'ava';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { git } from '../../orchestrator/source/git.ts';
import { commitDirectory } from '../../orchestrator/source/source.ts';
import { adoptAsWorktree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

test('the unpacked files are the worktree (same inodes), clean at the import, and an edit after is seen', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const unpack = join(tmp.path, 'sources/deb-x/unpack');
  await writeFiles(unpack, { Makefile: 'VERSION = 7\n', '.gitignore': '*\n', 'kernel/bpf/hashtab.c': 'int a;\n', 'kernel/bpf/syscall.c': 'int s;\n' });
  const inodeBefore = (await stat(join(unpack, 'kernel/bpf/hashtab.c'))).ino;
  const gitDir = join(tmp.path, 'sources/deb-x/git');
  const ctx = { exec: realExec, cache: cacheLayout(join(tmp.path, 'cache')), events: new RunEvents(), logFile: join(tmp.path, 'log') };
  const index = join(tmp.path, 'sources/deb-x/unpack.index');
  const commit = await commitDirectory(ctx, gitDir, unpack, 'import', index);
  const worktree = join(tmp.path, 'trees/deb-x/src');
  t.true(await adoptAsWorktree(ctx, gitDir, worktree, unpack, index, commit));
  t.is((await stat(join(worktree, 'kernel/bpf/hashtab.c'))).ino, inodeBefore);
  t.is((await sh(worktree, 'git', ['rev-parse', 'HEAD'])).trim(), commit);
  // .gitignore ignores everything, as Debian's does: the index still tracks every file.
  t.is((await sh(worktree, 'git', ['ls-files'])).trim(), '.gitignore\nMakefile\nkernel/bpf/hashtab.c\nkernel/bpf/syscall.c');
  t.is(await sh(worktree, 'git', ['status', '--porcelain']), '');
  await writeFile(join(worktree, 'kernel/bpf/hashtab.c'), 'int b;\n');
  t.is((await sh(worktree, 'git', ['status', '--porcelain'])).trim(), 'M kernel/bpf/hashtab.c');
  // A worktree that exists already is left alone.
  await mkdir(join(tmp.path, 'again'), { recursive: true });
  t.false(await adoptAsWorktree(ctx, gitDir, worktree, join(tmp.path, 'again'), index, commit));
  // The bare repository lists itself, then its one worktree.
  t.is((await git(realExec, ['worktree', 'list', '--porcelain'], { gitDir })).stdout.match(/^worktree /gm)?.length, 2);
});
