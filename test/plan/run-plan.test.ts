// The plan's derivation for another series (a mutant, a bisect step), and the fields a verdict depends on.
import test from 'ava';
import { join } from 'node:path';
import { NOT_VERDICT_INPUTS, checkOutputPaths, planRun, variantPlan, verdictInputs, type RunOptions } from '../../orchestrator/plan/run-plan.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { tempDir, writeFiles } from '../helpers.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const patches = join(repoRoot, 'patches');
const fixtureSeries = join(repoRoot, 'test/fixtures/mutate');

/** A user's directory with a fragment, an allowlist and a denylist named relative to it. */
async function userDir(t: { teardown(f: () => Promise<void>): void }, files: Record<string, string> = {}) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'extra.config': 'CONFIG_PRINTK=y\n', 'allow.txt': 'warning: expected_warning\n', 'deny.txt': 'not_this_one\n', ...files });
  const options: RunOptions = { kernel: './linux', series: fixtureSeries, kconfig: ['extra.config'], allowlist: 'allow.txt', denylist: 'deny.txt', cacheDir: join(tmp.path, 'cache') };
  return { cwd: tmp.path, options };
}

test('variantPlan: another series and run directory, every other field the planned run\'s', async (t) => {
  const { cwd, options } = await userDir(t);
  const plan = await planRun(options, repoRoot, cwd, {}, 2);
  const v1 = await loadSeries(join(patches, 'bpf-f-compare/v1'), patches);
  const variant = variantPlan(plan, { series: v1, runDir: join(cwd, 'step') });
  t.is(variant.series, v1);
  t.is(variant.runDir, join(cwd, 'step'));
  t.true(Object.isFrozen(variant));
  const { series: _s, runDir: _r, ...rest } = variant;
  const { series: _s0, runDir: _r0, ...planRest } = plan;
  t.deepEqual(rest, planRest);
  // The relative names resolved from the user's directory, once.
  t.deepEqual(variant.kernel, { kind: 'local', path: join(cwd, 'linux') });
  t.is(variant.fragments.at(-1)!.file, join(cwd, 'extra.config'));
  t.is(variant.allowlist, join(cwd, 'allow.txt'));
  t.is(variant.testProgsSelection.denylist?.file, join(cwd, 'deny.txt'));
  t.is(variantPlan(plan, { series: undefined, runDir: undefined }).series, undefined);
  t.is(plan.series?.dir, fixtureSeries, 'the planned run is left as it was');
});

test('every field of a plan is either a verdict input or named as not one', async (t) => {
  const { cwd, options } = await userDir(t);
  const plan = await planRun(options, repoRoot, cwd, {}, 2);
  const inputs = Object.keys(verdictInputs(plan));
  const others: readonly string[] = NOT_VERDICT_INPUTS;
  t.deepEqual(Object.keys(plan).filter((k) => !inputs.includes(k) && !others.includes(k)), [], 'a new plan field must say whether verdicts depend on it');
  t.deepEqual(inputs.filter((k) => others.includes(k)), []);
});

test('verdict inputs change with what a fragment, allowlist or denylist holds, not only with its name', async (t) => {
  const { cwd, options } = await userDir(t);
  const before = verdictInputs(await planRun(options, repoRoot, cwd, {}, 2));
  t.notRegex(JSON.stringify(before), /undefined/);
  // The same names, edited between two runs.
  await writeFiles(cwd, { 'extra.config': 'CONFIG_PRINTK=n\n', 'allow.txt': 'warning: another\n', 'deny.txt': 'another_one\n' });
  const after = verdictInputs(await planRun(options, repoRoot, cwd, {}, 2));
  const changed = (Object.keys(before) as (keyof typeof before)[]).filter((k) => before[k] !== after[k]);
  t.deepEqual(changed.sort(), ['allowlistRules', 'kconfig', 'testProgsSelection']);
  // Where things go and how fast they are made are not inputs; the VM's shape is.
  t.deepEqual(verdictInputs(await planRun({ ...options, jobs: 7, accel: 'tcg', runDir: join(cwd, 'elsewhere') }, repoRoot, cwd, {}, 2)), after);
  t.is(verdictInputs(await planRun({ ...options, cpus: 1 }, repoRoot, cwd, {}, 2)).cpus, '1');
});

test('--kcidb FILE is checked when the run is planned, as --json and --junit are: exit 2 naming it', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const env = { VM_TEST_CACHE_DIR: join(tmp.path, 'cache') };
  t.is((await checkOutputPaths({ kcidb: 'k.json' }, tmp.path, env)).kcidbOut, join(tmp.path, 'k.json'));
  const error = await t.throwsAsync(checkOutputPaths({ kcidb: 'out/k.json' }, tmp.path, env));
  t.like(error, { kind: 'usage', message: `--kcidb out/k.json: no such directory: ${join(tmp.path, 'out')} (create it first)` });
});

test('the reproducer line plans the same run again: its words through the CLI give the same --dry-run plan', async (t) => {
  const { describePlan, reproducerLine } = await import('../../orchestrator/plan/run-plan.ts');
  const { realExec } = await import('../helpers.ts');
  const root = new URL('../../', import.meta.url).pathname;
  const options: RunOptions = { kconfig: ['debug'], testProgs: ['map_cmp_delete', 'lookup'], testProgsDeny: ['lookup/percpu*'], guestTests: 'compare-*', cpus: 3, memory: 1536 };
  const plan = await planRun(options, root, root, process.env, 2);
  const line = reproducerLine(plan);
  t.regex(line, /^npm run vm-test -- --kernel deb:linux-source-7\.2=7\.2\.6-1~bpo13\+1@trixie-backports --series \S+patches\/bpf-f-compare\/v1 --kconfig \S+kernel-config\/debug\.config -t map_cmp_delete,lookup -d 'lookup\/percpu\*' --guest-tests 'compare-\*' --cpus 3 --memory 1536$/);
  const words = [...line.replace(/^npm run vm-test -- /, '').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  const again = await realExec.run({ command: process.execPath, args: ['--import', 'tsx', 'orchestrator/cli.ts', ...words, '--dry-run'], cwd: root });
  t.is(again.exitCode, 0, again.stderr);
  const strip = (text: string) => text.split('\n').filter((l) => !/^run dir:/.test(l)).join('\n').trim();
  t.is(strip(again.stdout), strip(describePlan(plan)));
});

test('--sanitize plans the sanitize fragment once, after the --kconfig ones, as --kconfig sanitize does', async (t) => {
  const { describePlan } = await import('../../orchestrator/plan/run-plan.ts');
  const { withSanitize } = await import('../../orchestrator/commands/run-command.ts');
  const { realExec } = await import('../helpers.ts');
  t.deepEqual(withSanitize(['debug'], true), ['debug', 'sanitize']);
  t.deepEqual(withSanitize(['sanitize', 'debug'], true), ['sanitize', 'debug']);
  t.deepEqual(withSanitize(undefined, false), undefined);
  const root = new URL('../../', import.meta.url).pathname;
  const cli = await realExec.run({ command: process.execPath, args: ['--import', 'tsx', 'orchestrator/cli.ts', '--sanitize', '--kconfig', 'debug', '--dry-run'], cwd: root });
  t.is(cli.exitCode, 0, cli.stderr);
  const plan = await planRun({ kconfig: ['debug', 'sanitize'] }, root, root, process.env, 2);
  const strip = (text: string) => text.split('\n').filter((l) => !/^run dir:/.test(l)).join('\n').trim();
  t.is(strip(cli.stdout), strip(describePlan(plan)));
  t.regex(cli.stdout, /kernel-config\/debug\.config, \S+kernel-config\/sanitize\.config/);
});
