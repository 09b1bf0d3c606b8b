import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import yargs from 'yargs';
import { genTestsCommand } from '../../orchestrator/commands/gen-tests-command.ts';
import type { CliContext } from '../../orchestrator/commands/context.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { realExec, tempDir } from '../helpers.ts';
import { uapiHeaders } from './uapi-headers-fixture.ts';

async function genTests(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: { write: (s) => void (out += s) },
    stderr: { write: (s) => void (err += s) },
    signal: new AbortController().signal,
    setRunDir: () => {},
  };
  const { handler, ...command } = genTestsCommand(ctx, realExec);
  // The module as yargs takes it; its errors are thrown here, not read by the CLI.
  await yargs(['gen-tests', ...args]).command({ ...command, handler: async (argv) => void (await handler(argv)) }).strict().fail((message, error) => {
    throw error ?? new VmTestError('usage', message);
  }).parseAsync();
  return { out, err };
}

test('gen-tests --list names every suite, case and bound', async (t) => {
  const { out } = await genTests(['--list']);
  t.regex(out, /^compare-contract: /m);
  t.regex(out, /^ {2}window-middle \[BPF_F_COMPARE\]: /m);
  t.regex(out, /^ {2}param leakRounds=4 \[1\.\.1000\]/m);
  t.regex(out, /^ {2}param compare-delete-hot-keys\.\{rounds=20000, batch=16, runRepeat=16, maxSeconds=10, contested=20000\}/m);
  t.regex(out, /^ {2}param compare-delete-vs-updates\.\{rounds=1000, batch=16, runRepeat=16, maxSeconds=10\}/m, 'an optional bound left out is not listed');
});

test('gen-tests --out writes the C; with --headers of an unpatched tree the compare cases are SKIP', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.cleanup);
  const { out, err } = await genTests(['--out', dir.path, '--suites', 'compare-contract']);
  const written = out.trim().split('\n');
  t.is(written[0], join(dir.path, 'compare-contract.c'));
  t.is(written.at(-1), join(dir.path, 'README'));
  t.true(written.includes(join(dir.path, 'vmt-steps.c')), 'the fixed C it includes goes beside it');
  t.regex(err, /no --headers/);
  t.regex(await readFile(join(dir.path, 'compare-contract.c'), 'utf8'), /struct vmt_compare_args/);
  await genTests(['--out', dir.path, '--suites', 'compare-contract', '--headers', await uapiHeaders('pristine')]);
  t.notRegex(await readFile(join(dir.path, 'compare-contract.c'), 'utf8'), /struct vmt_compare_args/);
});

test('gen-tests --out DIR builds on its own with the command its README gives', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.cleanup);
  const include = await uapiHeaders('patched');
  await genTests(['--out', dir.path, '--suites', 'gc-race', '--headers', include]);
  const readme = await readFile(join(dir.path, 'README'), 'utf8');
  const command = /^ {2}gcc (.*)$/m.exec(readme)?.[1];
  t.truthy(command, readme);
  // The README says <headers>; run its command from DIR with the real ones.
  const args = command!.split(' ').map((a) => (a === '<headers>' ? include : a));
  const r = await realExec.run({ command: 'gcc', args, cwd: dir.path });
  t.is(r.exitCode, 0, r.stderr);
  t.true(existsSync(join(dir.path, 'gc-race')));
});

test('gen-tests --compile builds static binaries and prints the plan', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.cleanup);
  const { out } = await genTests(['--out', dir.path, '--suites', 'map-in-map', '--headers', await uapiHeaders('patched'), '--compile']);
  t.true(existsSync(join(dir.path, 'map-in-map')));
  t.regex(out, new RegExp(`map-in-map\\t300\\t${join(dir.path, 'map-in-map')}`));
});

test('gen-tests usage errors', async (t) => {
  await t.throwsAsync(genTests([]), { instanceOf: VmTestError, message: /needs --out/ });
  const dir = await tempDir();
  t.teardown(dir.cleanup);
  const e = await t.throwsAsync(genTests(['--out', dir.path, '--headers', dir.path]), { instanceOf: VmTestError });
  t.is(e!.kind, 'usage');
  t.regex(e!.message, /no linux\/bpf\.h/);
  await t.throwsAsync(genTests(['--out', dir.path, '--compile']), { instanceOf: VmTestError, message: /--compile needs --headers/ });
  await t.throwsAsync(genTests(['--out', dir.path, '--suites', 'nope']), { instanceOf: VmTestError, message: /matches no guest suite/ });
});
