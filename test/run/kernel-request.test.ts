// The kernel a run builds does not depend on which tests it runs: --test-progs none, a suite glob, the default.
import test from 'ava';
import { join } from 'node:path';
import { planRun, type RunOptions } from '../../orchestrator/plan/run-plan.ts';
import { kernelRequestFor } from '../../orchestrator/kconfig/kernel-request.ts';
import { tempDir, writeFiles } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;

test('choosing tests does not change the kernel: --test-progs none, --guest-tests none and the default ask for the same config', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // A 7.x tree: its test_progs adds a session key at start, so the keys fragment is merged.
  await writeFiles(tmp.path, { 'tools/testing/selftests/bpf/test_progs.c': 'static int register_session_key(void) { return 0; }\n' });
  const env = { ...process.env, VM_TEST_CACHE_DIR: join(tmp.path, 'cache') };
  const hash = async (options: RunOptions) => (await kernelRequestFor(await planRun(options, root, root, env, 2), tmp.path)).hash();
  const base = await hash({});
  t.is(await hash({ testProgs: ['none'] }), base);
  t.is(await hash({ guestTests: 'none' }), base);
  t.is(await hash({ testProgs: ['none'], guestTests: 'compare-contract' }), base);
  t.not(await hash({ kconfig: ['inet'] }), base, 'a fragment does change it');
});
