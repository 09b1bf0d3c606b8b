// A git:<url>#<ref> source is fetched on every run: a ref that moved gives its new commit, never the one fetched before. Real git.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

test('a branch that moved on the remote is fetched again', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const remote = join(tmp.path, 'remote');
  await writeFiles(remote, { Makefile: 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 6\nEXTRAVERSION =\n', Kconfig: 'config X\n', 'kernel/bpf/hashtab.c': 'int a;\n' });
  await sh(remote, 'git', ['init', '-q', '-b', 'main']);
  await sh(remote, 'git', ['add', '-A']);
  await sh(remote, 'git', ['commit', '-q', '-m', 'base']);
  const spec = parseKernelSpec(`git:file://${remote}#main`);
  if ('error' in spec) return t.fail(spec.error);
  const resolve = () => resolveSource({ exec: realExec, cache: cacheLayout(join(tmp.path, 'cache')), events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, spec);
  t.is((await resolve()).pristineCommit, (await sh(remote, 'git', ['rev-parse', 'main'])).trim());
  await writeFile(join(remote, 'kernel/bpf/hashtab.c'), 'int b;\n');
  await sh(remote, 'git', ['commit', '-q', '-am', 'moved']);
  t.is((await resolve()).pristineCommit, (await sh(remote, 'git', ['rev-parse', 'main'])).trim());
});
