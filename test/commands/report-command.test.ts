// vm-test report: bad input is a usage error (exit 2) naming the path or the option, never a stack trace.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportCommand } from '../../orchestrator/commands/report-command.ts';
import { runMain, tempDir } from '../helpers.ts';

const report = (argv: string[]) => runMain(['report', ...argv], [reportCommand]);

// A stack frame (at fn (file:line:col)), not the evidence line (at FILE).
const noStack = /^\s+at .*:\d+:\d+\)?$/m;

test.serial('no RUN_DIR, a missing one, a file, a directory without results.json: exit 2 naming it', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const missing = await report([]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /Not enough non-option arguments/);
  const gone = await report([join(tmp.path, 'nope')]);
  t.is(gone.code, 2);
  t.is(gone.stderr, `vm-test: error: ${join(tmp.path, 'nope')}: no such run directory\n  at ${join(tmp.path, 'nope')}\n  exit code 2 (usage)\n`);
  await writeFile(join(tmp.path, 'file'), '');
  t.regex((await report([join(tmp.path, 'file')])).stderr, /file: not a directory/);
  await mkdir(join(tmp.path, 'empty'));
  const empty = await report([join(tmp.path, 'empty')]);
  t.is(empty.code, 2);
  t.regex(empty.stderr, /empty: no results\.json/);
  for (const r of [gone, empty]) t.notRegex(r.stderr, noStack);
});

test.serial('a results.json that is not JSON, or not a run\'s, and an unknown format: exit 2 naming the file or the option', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFile(join(tmp.path, 'results.json'), '{"status": "pass", "counts"');
  const broken = await report([tmp.path, '--format', 'kcidb']);
  t.is(broken.code, 2);
  t.regex(broken.stderr, new RegExp(`${join(tmp.path, 'results.json')}: not valid JSON`));
  // What vm-test parse --format json writes has no "run": not a run directory's.
  await writeFile(join(tmp.path, 'results.json'), JSON.stringify({ status: 'pass', counts: {}, tests: [], splats: [] }));
  t.regex((await report([tmp.path])).stderr, /not a vm-test run's results: no "run" object/);
  const format = await report([tmp.path, '--format', 'pdf']);
  t.is(format.code, 2);
  t.regex(format.stderr, /Invalid values:\s+Argument: format, Given: "pdf", Choices: "kcidb", "json", "junit", "text", "summary", "mail"/);
  t.notRegex(broken.stderr + format.stderr, noStack);
});
