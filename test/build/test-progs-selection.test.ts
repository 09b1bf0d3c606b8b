// The BPF CI's test_progs selection reaches the guest's test_progs: real CLI, real QEMU, the default kernel.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../bad-input/cli-runner.ts';
import { tempDir, writeFiles } from '../helpers.ts';

test.serial('[qemu] -a and a denylist go to test_progs: the denied subtest does not run, the test does', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { DENYLIST: '# as tools/testing/selftests/bpf/DENYLIST writes it\nmap_cmp_delete/contract   # left out on purpose\n' });
  const runDir = join(tmp.path, 'run');
  const r = await runCli(['-a', 'map_cmp_*', '--denylist', join(tmp.path, 'DENYLIST'), '--guest-tests', 'none', '--run-dir', runDir]);
  t.is(r.exitCode, 0, r.stdout.slice(-2000) + r.stderr);
  t.regex(await readFile(join(runDir, 'plan.tsv'), 'utf8'), /test_progs -a 'map_cmp_\*' -d @\/run\/vm-test\/test_progs-denylist\.txt -J /);
  const results = await readFile(join(runDir, 'results.log'), 'utf8');
  t.regex(results, /^#1 +map_cmp_delete:OK$/m);
  t.notRegex(results, /map_cmp_delete\/contract/);
  t.is(await readFile(join(runDir, 'test_progs-denylist.txt'), 'utf8'), await readFile(join(tmp.path, 'DENYLIST'), 'utf8'));
});
