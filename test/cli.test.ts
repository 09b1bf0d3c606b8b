// The CLI: the one place where how a command ended becomes the exit code, and where what stopped it is printed.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext, CommandEnd, ResultCommand } from '../orchestrator/commands/context.ts';
import { VmTestError, type CommandResult, type OutcomeKind } from '../orchestrator/outcome.ts';
import { runMain, tempDir } from './helpers.ts';


/** A command named `try` whose handler does `body`. */
const command = (body: (ctx: CliContext) => Promise<CommandEnd>, stopped?: (kind: OutcomeKind) => CommandResult) =>
  (ctx: CliContext): ResultCommand<object> => ({ command: 'try', describe: 'a test command', handler: () => body(ctx), ...(stopped ? { stopped } : {}) });

test.serial('a bug is one line naming the run directory, with the stack kept in its error.txt (exit 15)', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const r = await runMain(['try'], [command(async (ctx) => {
    ctx.setRunDir(tmp.path);
    throw new TypeError('Cannot read properties of undefined (reading \'tree\')');
  })]);
  t.is(r.code, 15);
  t.regex(r.stderr, /^vm-test: internal error \(a bug in vm-test, not in the kernel or the series\): Cannot read properties of undefined \(reading 'tree'\)\n/);
  t.regex(r.stderr, new RegExp(`run directory: ${tmp.path}\\n  the stack trace is in ${tmp.path}/error.txt`));
  t.notRegex(r.stderr, /^\s+at /m, 'no stack trace on the terminal');
  t.regex(await readFile(join(tmp.path, 'error.txt'), 'utf8'), /TypeError: Cannot read properties[\s\S]*\n\s+at .*cli\.test\.ts/);
});

test.serial('the report a command leaves for after the mapping gets the exit code the CLI returns', async (t) => {
  const seen: number[] = [];
  const r = await runMain(['try'], [command(async () => ({ type: 'exec', kind: 'kernelCrash', guestExit: 0, report: (code) => void seen.push(code) }))]);
  t.is(r.code, 250);
  t.deepEqual(seen, [250]);
});

test.serial('a plan error in exec is read with exec\'s codes, and printed by the CLI with that code', async (t) => {
  const r = await runMain(['try'], [command(async () => {
    throw new VmTestError('usage', '--json out/r.json: no such directory: /w/out (create it first)', { file: '/w/out/r.json' });
  }, (kind) => ({ type: 'exec', kind }))]);
  t.is(r.code, 253);
  t.is(r.stderr, 'vm-test: error: --json out/r.json: no such directory: /w/out (create it first)\n  at /w/out/r.json\n  exit code 253 (usage)\n');
});

test.serial('without a hook, a VmTestError exits with its own kind\'s code', async (t) => {
  const r = await runMain(['try'], [command(async () => {
    throw new VmTestError('missingTool', 'missing host tools: gcc');
  })]);
  t.is(r.code, 13);
  t.regex(r.stderr, /exit code 13 \(missingTool\)/);
});

test.serial('a report that fails is a bug, read with the command\'s own codes', async (t) => {
  const r = await runMain(['try'], [command(async () => ({
    type: 'exec', kind: 'passed', guestExit: 0, report: () => {
      throw new Error('EACCES: permission denied, open \'/w/r.json\'');
    },
  }), (kind) => ({ type: 'exec', kind }))]);
  t.is(r.code, 254);
  t.regex(r.stderr, /^vm-test: internal error .*EACCES/);
});

test.serial('yargs\' own usage errors exit 2; --help exits 0 from main, not from yargs', async (t) => {
  const usage = await runMain(['try', '--no-such-option'], [command(async () => ({ type: 'done' }))]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /Unknown argument/);
  const help = await runMain(['--help'], [command(async () => ({ type: 'done' }))]);
  t.is(help.code, 0);
  t.regex(help.stdout, /a test command/);
});
