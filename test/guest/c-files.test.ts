// The fixed C (orchestrator/guest/c/) and every generated program build cleanly with -Wall -Werror against real
// UAPI headers, patched and pristine; and the C agrees with the TypeScript it shares numbers with.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { guestSuites } from '../../guest-tests/index.ts';
import { C_DIR, generateSuiteC } from '../../orchestrator/guest/c-program.ts';
import { gccArgs, generateSuitesC } from '../../orchestrator/guest/guest-suites.ts';
import { GC_CTL } from '../../orchestrator/guest/programs.ts';
import { ERRNOS } from '../../orchestrator/guest/suite-model.ts';
import { realExec, tempDir } from '../helpers.ts';
import { uapiHeaders } from './uapi-headers-fixture.ts';

const WERROR = ['-Werror'];

async function gcc(args: string[]): Promise<string | undefined> {
  const r = await realExec.run({ command: 'gcc', args });
  return r.exitCode === 0 ? undefined : `gcc ${args.join(' ')}\n${r.stderr}${r.stdout}`;
}

for (const variant of ['patched', 'pristine'] as const) {
  const hasCompare = variant === 'patched';

  test(`every generated program builds with -Wall -Werror against the ${variant} headers, from the gen-tests directory alone`, async (t) => {
    const include = await uapiHeaders(variant);
    const out = await tempDir();
    t.teardown(out.cleanup);
    await generateSuitesC(out.path, { hasCompare });
    for (const suite of guestSuites) {
      const source = join(out.path, `${suite.name}.c`);
      t.is(await gcc(gccArgs(source, join(out.path, suite.name), include, WERROR)), undefined, suite.name);
    }
  });

  test(`every file in orchestrator/guest/c/ compiles on its own with -Wall -Werror against the ${variant} headers`, async (t) => {
    const include = await uapiHeaders(variant);
    const files = (await readdir(C_DIR)).filter((f) => /\.[ch]$/.test(f)).sort();
    t.true(files.length >= 10, files.join(', '));
    for (const file of files) {
      // As a generated program sets it; a header is compiled as C to show it includes what it uses.
      const extra = [...WERROR, `-DVMT_HAVE_COMPARE=${hasCompare ? 1 : 0}`, '-c', ...(file.endsWith('.h') ? ['-x', 'c'] : [])];
      t.is(await gcc(gccArgs(join(C_DIR, file), '/dev/null', include, extra)), undefined, file);
    }
  });
}

test('every file in orchestrator/guest/c/ is included by some generated program', async (t) => {
  const used = new Set(guestSuites.flatMap((s) => generateSuiteC(s, { hasCompare: true }).includes));
  const files = (await readdir(C_DIR)).filter((f) => /\.[ch]$/.test(f));
  t.deepEqual(files.filter((f) => !used.has(f)), []);
  t.deepEqual([...used].filter((f) => !files.includes(f)), []);
});

test('the C names every errno a suite may expect', async (t) => {
  const runtime = await readFile(join(C_DIR, 'vmt-runtime.c'), 'utf8');
  const named = [...runtime.matchAll(/^\t\{ (E\w+), "(E\w+)" \},$/gm)].map((m) => [m[1], m[2]]);
  t.deepEqual(named.map(([constant]) => constant), Object.keys(ERRNOS));
  t.true(named.every(([constant, name]) => constant === name));
  // libc has them all but ENOTSUPP, which the runtime defines itself.
  t.regex(await readFile(join(C_DIR, 'vmt-runtime.h'), 'utf8'), new RegExp(`#define ENOTSUPP ${ERRNOS.ENOTSUPP}\\b`));
});

test('the GC race control array has one layout in the BPF program and in the C', async (t) => {
  const header = await readFile(join(C_DIR, 'vmt-gc-race.h'), 'utf8');
  const slot = (name: string) => Number(new RegExp(`^#define VMT_GC_${name}\\s+(\\d+)`, 'm').exec(header)?.[1]);
  t.deepEqual({ cursor: slot('CURSOR'), done: slot('DONE'), confirmed: slot('CONFIRMED'), racing: slot('RACING'), marker: slot('MARKER') }, { ...GC_CTL });
});
