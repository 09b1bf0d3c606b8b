// A guest suite's binary is reused only when everything it was built from reads the same: the program and the gcc
// arguments, and every header and archive the compile and the link read (a UAPI header other than bpf.h, libc.a),
// and the compiler. Real gcc on a copy of the tree's installed headers; a stale binary shows by its bytes.
import test from 'ava';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecPort, ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { prepareGuestSuites } from '../../orchestrator/guest/guest-suites.ts';
import { fakeResult, realExec, tempDir } from '../helpers.ts';
import { uapiHeaders } from './uapi-headers-fixture.ts';

const SUITE = 'map-in-map';

/** Real gcc; gcc --version (the toolchain's fingerprint) can answer another version, and extra arguments can go first. */
function port(opts: { gccVersion?: string; preArgs?: string[] } = {}): ExecPort & { compiles: ExecRequest[] } {
  const compiles: ExecRequest[] = [];
  return {
    compiles,
    async run(req) {
      if (req.command === 'gcc' && req.args[0] === '--version' && opts.gccVersion) return fakeResult({ stdout: `${opts.gccVersion}\n` });
      if (req.command === 'gcc' && req.args.includes('-static')) {
        compiles.push(req);
        return realExec.run({ ...req, args: [...(opts.preArgs ?? []), ...req.args] });
      }
      return realExec.run(req);
    },
  };
}

async function setup(t: { teardown: (f: () => Promise<void>) => void }) {
  const tmp = await tempDir('vm-test-guest-cache-');
  t.teardown(tmp.cleanup);
  // A copy: the tests edit a header in it.
  const headers = join(tmp.path, 'include');
  await cp(await uapiHeaders('patched'), headers, { recursive: true });
  const outDir = join(tmp.path, 'out');
  const build = async (exec: ExecPort) => {
    const built = await prepareGuestSuites({ exec, headersDir: headers, outDir, select: SUITE, timeoutSec: 60, logFile: join(tmp.path, 'gcc.log') });
    return readFile(built.tests[0]!.argv[0]!);
  };
  return { tmp: tmp.path, headers, build };
}

/** A string the header puts into the binary (inside its include guard), so the binary shows which header it was built with. */
function marked(text: string, mark: string): string {
  const guardEnd = text.lastIndexOf('#endif');
  return `${text.slice(0, guardEnd)}static const char vmt_header_mark[] __attribute__((used)) = "${mark}";\n${text.slice(guardEnd)}`;
}

test('built once, then reused while nothing changed', async (t) => {
  const { build } = await setup(t);
  const exec = port();
  await build(exec);
  t.is(exec.compiles.length, 1);
  await build(exec);
  t.is(exec.compiles.length, 1, 'the second run compiled nothing');
});

test('a UAPI header other than linux/bpf.h changed (linux/types.h): compiled again, and the binary is the new one', async (t) => {
  const { headers, build } = await setup(t);
  const types = join(headers, 'linux/types.h');
  const original = await readFile(types, 'utf8');
  await writeFile(types, marked(original, 'types-h-version-1'));
  const exec = port();
  t.true((await build(exec)).includes('types-h-version-1'));
  await writeFile(types, marked(original, 'types-h-version-2'));
  const after = await build(exec);
  t.is(exec.compiles.length, 2);
  t.true(after.includes('types-h-version-2'), 'not the binary built with the old header');
});

test('the static libc the link read changed: linked again', async (t) => {
  const { tmp, build } = await setup(t);
  // The link takes libc.a from a directory of ours (-L first), so the test can change it.
  const libDir = join(tmp, 'lib');
  const libc = (await realExec.run({ command: 'gcc', args: ['-print-file-name=libc.a'] })).stdout.trim();
  await cp(libc, join(libDir, 'libc.a'));
  const exec = port({ preArgs: ['-L', libDir] });
  await build(exec);
  await build(exec);
  t.is(exec.compiles.length, 1);
  // One member more: another libc.a.
  await writeFile(join(tmp, 'extra.c'), 'int vmt_extra_member;\n');
  const cc = await realExec.run({ command: 'gcc', args: ['-c', 'extra.c', '-o', 'extra.o'], cwd: tmp });
  t.is(cc.exitCode, 0, cc.stderr);
  const ar = await realExec.run({ command: 'ar', args: ['r', join(libDir, 'libc.a'), join(tmp, 'extra.o')] });
  t.is(ar.exitCode, 0, ar.stderr);
  await build(exec);
  t.is(exec.compiles.length, 2);
  t.true((await readFile(join(tmp, 'out', `${SUITE}.stamp`), 'utf8')).includes(join(libDir, 'libc.a')), 'the stamp records the libc.a ld read');
});

test('another compiler version: compiled again', async (t) => {
  const { build } = await setup(t);
  const exec = port({ gccVersion: 'gcc (Debian 12.2.0-14) 12.2.0' });
  await build(exec);
  await build(exec);
  t.is(exec.compiles.length, 1);
  const newer = port({ gccVersion: 'gcc (Debian 14.2.0-19) 14.2.0' });
  await build(newer);
  t.is(newer.compiles.length, 1);
});
