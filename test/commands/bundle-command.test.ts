import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { bundleRunDir } from '../../orchestrator/commands/bundle-command.ts';
import { tempDir } from '../helpers.ts';

test('bundle packs the whole run directory under its own name', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const run = join(tmp.path, '20261122-010203-x');
  await mkdir(join(run, 'sub'), { recursive: true });
  await writeFile(join(run, 'console.log'), 'Linux version\n');
  await writeFile(join(run, 'sub/results.log'), '# vm-test: done\n');
  const out = join(tmp.path, 'run.tar.gz');
  await bundleRunDir(run, out);
  const names: string[] = [];
  await tar.t({ file: out, onReadEntry: (e) => names.push(e.path) });
  t.deepEqual(names.sort(), ['20261122-010203-x/', '20261122-010203-x/console.log', '20261122-010203-x/sub/', '20261122-010203-x/sub/results.log']);
});
