// Where a run writes, refused when the run is planned, with --dry-run too: exit 2 naming the option and the path.
// Each case once did worse: --json into a missing directory ran the whole run and lost its PASS to an ENOENT
// stack trace (exit 15); --run-dir on a file was an EEXIST stack trace; --cache-dir under /proc spun forever.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { runCliWithin } from './cli-runner.ts';

/** Long enough for planning on a loaded machine; a run that got past planning stops sooner (see sandboxed). */
const DEADLINE_MS = 60_000;

interface Case {
  name: string;
  args: (tmp: string) => string[];
  env?: (tmp: string) => Record<string, string>;
  message: (tmp: string) => RegExp;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cases: Case[] = [
  {
    name: '--json into a directory that does not exist',
    args: (tmp) => ['--json', join(tmp, 'out/r.json')],
    message: (tmp) => new RegExp(`--json ${escape(join(tmp, 'out/r.json'))}: no such directory: ${escape(join(tmp, 'out'))} \\(create it first\\)`),
  },
  {
    name: '--junit into a directory that does not exist',
    args: (tmp) => ['--junit', join(tmp, 'out/r.xml')],
    message: (tmp) => new RegExp(`--junit ${escape(join(tmp, 'out/r.xml'))}: no such directory: ${escape(join(tmp, 'out'))}`),
  },
  { name: '--json naming a directory', args: (tmp) => ['--json', tmp], message: (tmp) => new RegExp(`--json ${escape(tmp)}: is a directory`) },
  {
    name: '--run-dir naming an existing file',
    args: (tmp) => ['--run-dir', join(tmp, 'file')],
    message: (tmp) => new RegExp(`--run-dir ${escape(join(tmp, 'file'))}: not a directory`),
  },
  {
    name: '--cache-dir under /proc',
    args: () => ['--cache-dir', '/proc/vm-test-cache'],
    message: () => /--cache-dir \/proc\/vm-test-cache: cannot create it: no directory can be made in \/proc \(ENOENT\)/,
  },
  {
    name: 'VM_TEST_CACHE_DIR under /proc',
    args: () => [],
    env: () => ({ VM_TEST_CACHE_DIR: '/proc/vm-test-cache' }),
    message: () => /VM_TEST_CACHE_DIR=\/proc\/vm-test-cache: cannot create it/,
  },
];

/**
 * What keeps a run that got past planning (a regression) small: its own cache (unless the case names one) and a
 * --kernel that is no kernel tree, so it stops at the source stage, before any build.
 */
function sandboxed(tmp: string, args: string[], env: Record<string, string>): string[] {
  const namesCache = args.includes('--cache-dir') || env.VM_TEST_CACHE_DIR !== undefined;
  return [...(namesCache ? [] : ['--cache-dir', join(tmp, 'cache')]), '--kernel', join(tmp, 'not-a-tree'), ...args];
}

for (const c of cases) {
  for (const dryRun of [false, true]) {
    test.serial(`refused when planned${dryRun ? ', with --dry-run' : ''}: ${c.name}`, async (t) => {
      const tmp = await tempDir();
      t.teardown(tmp.cleanup);
      await mkdir(join(tmp.path, 'not-a-tree'));
      await writeFile(join(tmp.path, 'file'), '');
      const args = c.args(tmp.path);
      const runDir = join(tmp.path, 'run');
      const env = c.env?.(tmp.path) ?? {};
      const r = await runCliWithin(DEADLINE_MS, sandboxed(tmp.path, [...(args.includes('--run-dir') ? [] : ['--run-dir', runDir]), ...(dryRun ? ['--dry-run'] : []), ...args], env), env);
      t.false(r.timedOut, `still running after ${DEADLINE_MS / 1000} s`);
      t.is(r.exitCode, EXIT.usage, r.stderr + r.stdout);
      t.regex(r.stderr, c.message(tmp.path));
      t.regex(r.stderr, /exit code 2 \(usage\)/);
      t.notRegex(r.stderr, /^\s+at .*\.(?:ts|js):\d+:\d+\)?$/m, 'no stack trace');
      t.false(existsSync(runDir), 'refused before the run directory was made');
      t.false(existsSync(join(tmp.path, 'cache')), 'and before the cache was');
    });
  }
}

test.serial('gen-tests --out under /proc is refused at once, naming it', async (t) => {
  const r = await runCliWithin(DEADLINE_MS, ['gen-tests', '--out', '/proc/vm-test-gen']);
  t.false(r.timedOut);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, /--out \/proc\/vm-test-gen: cannot create it: no directory can be made in \/proc/);
});

test.serial('exec reads a plan-time refusal with its own code: 253, nothing booted', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const r = await runCliWithin(DEADLINE_MS, ['exec', '--cache-dir', '/proc/vm-test-cache', '--', 'true']);
  t.false(r.timedOut);
  t.is(r.exitCode, 253, r.stderr);
  t.regex(r.stderr, /--cache-dir \/proc\/vm-test-cache: cannot create it[\s\S]*exit code 253 \(usage\)/);
});

test.serial('bisect-run aborts git bisect (128) on an unusable path, rather than skipping every commit', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const r = await runCliWithin(DEADLINE_MS, ['bisect-run', '--kernel', tmp.path, '--json', join(tmp.path, 'out/r.json')]);
  t.false(r.timedOut);
  t.is(r.exitCode, 128, r.stderr);
  t.regex(r.stderr, /--json \S+\/out\/r\.json: no such directory/);
});

test.serial('an unknown option is read as the command named reads a stop: bisect-run 128 (git bisect run aborts, never "bad"), exec 253, run 2', async (t) => {
  const bisectRun = await runCliWithin(DEADLINE_MS, ['bisect-run', '--bogus-option']);
  t.is(bisectRun.exitCode, 128, bisectRun.stderr);
  t.regex(bisectRun.stderr, /bogus-option/);
  const exec = await runCliWithin(DEADLINE_MS, ['exec', '--bogus-option', '--', 'true']);
  t.is(exec.exitCode, 253, exec.stderr);
  const run = await runCliWithin(DEADLINE_MS, ['--bogus-option']);
  t.is(run.exitCode, 2, run.stderr);
});
