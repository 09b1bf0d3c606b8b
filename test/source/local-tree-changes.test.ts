// A local kernel tree is tested as it is now: a non-git tree edited since the last run, and a git tree's file edited
// in the same second its index was written, are not served from the earlier import. Real git.
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource, type SourceContext } from '../../orchestrator/source/source.ts';
import { prepareTree } from '../../orchestrator/source/workspace.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const TREE = { Makefile: 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 6\nEXTRAVERSION =\n', Kconfig: 'config X\n', 'kernel/bpf/hashtab.c': 'int a = 1;\n', 'kernel/bpf/syscall.c': 'int s;\n' };

async function setup(root: string, git: boolean) {
  const user = join(root, 'linux');
  await writeFiles(user, TREE);
  if (git) {
    await sh(user, 'git', ['init', '-q']);
    await sh(user, 'git', ['add', '-A']);
    await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  }
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const cache = cacheLayout(join(root, 'cache'));
  const ctx: SourceContext = { exec: realExec, cache, events: new RunEvents(), logFile: join(root, 'source.log') };
  /** The source as a run sees it, and the file a build would compile. */
  const resolve = async (extra: Partial<SourceContext> = {}) => {
    const source = await resolveSource({ ...ctx, ...extra }, spec);
    const tree = await prepareTree({ exec: realExec, cache, logFile: join(root, 'series.log') }, source, undefined);
    if ('failure' in tree) throw new Error('no series here');
    return { commit: source.pristineCommit, hashtab: await readFile(join(tree.worktree, 'kernel/bpf/hashtab.c'), 'utf8') };
  };
  return { user, resolve };
}

test('a non-git tree edited since the last run is tested as edited, without --refresh-source; unchanged, it is the same commit', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { user, resolve } = await setup(tmp.path, false);
  const first = await resolve();
  t.is(first.hashtab, 'int a = 1;\n');
  t.deepEqual(await resolve(), first, 'nothing changed: the same commit');
  // The same size: only the bytes tell.
  await writeFile(join(user, 'kernel/bpf/hashtab.c'), 'int a = 2;\n');
  const edited = await resolve();
  t.not(edited.commit, first.commit);
  t.is(edited.hashtab, 'int a = 2;\n');
  // A file added and one removed.
  await writeFile(join(user, 'kernel/bpf/new.c'), 'int n;\n');
  const added = await resolve();
  t.not(added.commit, edited.commit);
  // Back to the first contents: the first commit again, so the applied series and the build are reused.
  await writeFile(join(user, 'kernel/bpf/hashtab.c'), 'int a = 1;\n');
  await (await import('node:fs/promises')).rm(join(user, 'kernel/bpf/new.c'));
  t.deepEqual(await resolve(), first);
  // --refresh-source reads every file again, and comes to the same commit.
  t.deepEqual(await resolve({ refresh: true }), first);
});

test('a git tree\'s file edited in the same second its index was written (racily clean) is seen by the snapshot', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { user, resolve } = await setup(tmp.path, true);
  const file = join(user, 'kernel/bpf/hashtab.c');
  // git add writes the index; the edit that follows in the same second has the same size, so its stat data matches
  // the entry but for the time, which git compares to the index file's own mtime. Retried until both fall in one second.
  for (let attempt = 0; ; attempt++) {
    await writeFile(file, 'int a = 3;\n');
    await sh(user, 'git', ['add', 'kernel/bpf/hashtab.c']);
    await writeFile(file, 'int a = 4;\n');
    const [edit, index] = await Promise.all([stat(file), stat(join(user, '.git/index'))]);
    if (Math.floor(edit.ctimeMs / 1000) === Math.floor(index.mtimeMs / 1000) && Math.floor(edit.mtimeMs / 1000) === Math.floor(index.mtimeMs / 1000)) break;
    if (attempt > 20) return t.fail('could not edit within the second of the index write');
  }
  // The snapshot copies the index a second later: a copy with a new mtime would hide the edit.
  await new Promise((r) => setTimeout(r, 1100));
  t.is((await resolve()).hashtab, 'int a = 4;\n');
});
