// The guest never needs a host path its init covers with tmpfs (/tmp, /run, /var/tmp): a cache there works.
// Real CLI and QEMU on the default run's kernel. The cache is reached through a symlink under /tmp and
// under /var/tmp, so every path the tool uses is there (nothing is rebuilt: the builds are the default
// cache's), while the guest, which covers those directories, must get its binaries from its own shares.
import test from 'ava';
import { readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout, resolveCacheRoot } from '../../orchestrator/cache.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { runCli } from '../bad-input/cli-runner.ts';

const cache = cacheLayout(resolveCacheRoot(undefined, process.env));

for (const hidden of ['/tmp', '/var/tmp']) {
  test.serial(`[qemu] a cache under ${hidden} runs the default tests`, async (t) => {
    const link = join(hidden, `vm-test-cache-${process.pid}`);
    await rm(link, { force: true });
    await symlink(cache.root, link);
    const tmp = await tempDir();
    t.teardown(async () => {
      await rm(link, { force: true });
      await tmp.cleanup();
    });
    const runDir = join(tmp.path, 'run');
    const r = await runCli(['--cache-dir', link, '--run-dir', runDir]);
    t.is(r.exitCode, EXIT.passed, r.stdout.slice(-3000) + r.stderr);
    t.regex(r.stdout, /PASS: all tests passed \(\d+ passed, 0 failed, 0 crashed, 0 skipped\)/);
    // What the guest ran: binaries from its build share, results into its run share.
    const plan = await readFile(join(runDir, 'plan.tsv'), 'utf8');
    // (test_progs under stdbuf -oL, from the root: the guest's /usr/bin is the host's.)
    for (const line of plan.trim().split('\n')) t.regex(line.split('\t')[2]!, /^(stdbuf -oL )?\/run\/vm-test-build\//);
    t.is(await readFile(join(runDir, 'mounts.tsv'), 'utf8'), 'vmtest-build\t/run/vm-test-build\tro\n');
    t.regex(await readFile(join(runDir, 'qemu-cmdline.txt'), 'utf8'), new RegExp(`path=${link}/trees/[^/]+/build-[^,]+,security_model=none,readonly=on`));
  });
}
