// vm-test mutate as a user runs it: a --resume under other inputs is refused (exit 2) before the baseline runs.
// Sandboxed as test/bad-input/output-paths.test.ts is: its own cache and a --kernel that is no tree, so a regression
// that got past the refusal stops at the source stage, before any build.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describeResult } from '../../orchestrator/commands/mutate-command.ts';
import type { MutateState } from '../../orchestrator/mutate/mutate-run.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { planRun, verdictInputs } from '../../orchestrator/plan/run-plan.ts';
import { runCliWithin } from '../bad-input/cli-runner.ts';
import { tempDir } from '../helpers.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const DEADLINE_MS = 60_000;

test.serial('mutate --resume of a directory started with another --kconfig is exit 2 naming it; the baseline does not run', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const kernel = join(tmp.path, 'not-a-tree');
  const cache = join(tmp.path, 'cache');
  const dir = join(tmp.path, 'mutate');
  await mkdir(kernel);
  await mkdir(dir);
  // What an earlier run with --kconfig inet recorded (the CLI plans from the repository's root, as here).
  const earlier = await planRun({ kernel, cacheDir: cache, kconfig: ['inet'] }, repoRoot, repoRoot, {}, availableParallelism());
  const state: MutateState = {
    series: earlier.series!.name, validFor: { series: earlier.series!.hash, plan: verdictInputs(earlier), baseline: { built: 'abc', bootKey: 'k' } },
    planned: ['m1'], results: [{ id: 'm1', status: 'killed', killedBySelftest: true, killedByAll: true, reason: 'x', tests: [], runDir: '/x', seconds: 1 }],
  };
  await writeFile(join(dir, 'state.json'), JSON.stringify(state));
  const r = await runCliWithin(DEADLINE_MS, ['mutate', '--resume', dir, '--kernel', kernel, '--cache-dir', cache, '--max', '1'], { VM_TEST_NO_INSTALL: '1' });
  t.false(r.timedOut);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, new RegExp(`--resume ${dir}: its verdicts do not hold for this run: fragments: [^;]*inet\\.config -> [^;]*slim\\.config; kconfig: `));
  t.regex(r.stderr, /exit code 2 \(usage\)/);
  t.false(existsSync(join(dir, 'baseline')), 'refused before the baseline ran');
});

test('a mutant\'s line names the reused verdict\'s origin, and an equivalent mutant\'s build ID', (t) => {
  const base = { killedBySelftest: false, killedByAll: false, tests: [], runDir: '/r', seconds: 1, id: 'm' };
  t.is(describeResult({ ...base, status: 'equivalent', reason: 'equivalent: its kernel is byte-identical to the baseline\'s (build ID abc)' }), 'equivalent: its kernel is byte-identical to the baseline\'s (build ID abc)');
  t.is(describeResult({ ...base, status: 'killed', killedByAll: true, reason: 'compare-contract: x' }), 'killed (not by the selftest): compare-contract: x');
  t.is(describeResult({ ...base, status: 'survived', reason: 'every test passed (reused from m2: byte-identical kernel, build ID d)', reusedFrom: 'm2' }), 'survived: every test passed (reused from m2: byte-identical kernel, build ID d)');
  t.is(describeResult({ ...base, status: 'survived', reason: 'every test passed' }), 'survived');
});
