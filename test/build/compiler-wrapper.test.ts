// vm-test-cc with the real ccache and gcc: an object that embeds a file by .incbin never comes back stale.
import test from 'ava';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildEnv, compilerFor, installCompilerWrapper } from '../../orchestrator/build/build-env.ts';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { realExec, tempDir } from '../helpers.ts';

/** The bytes .incbin put into the object: its .rodata section, read back with objcopy. */
async function embedded(dir: string, object: string): Promise<string> {
  const out = join(dir, 'rodata.bin');
  const r = await realExec.run({ command: 'objcopy', args: ['-O', 'binary', '--only-section=.rodata', object, out], cwd: dir });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return readFile(out, 'latin1');
}

/** Compiles a unit twice, the embedded payload changed in between (same length, so the source reads the same). */
async function twice(t: { teardown: (f: () => Promise<void>) => void }, cc: (cache: ReturnType<typeof cacheLayout>) => string[], files: Record<string, string>, unit: string, headers: string[] = []) {
  const tmp = await tempDir('vm-test-cc-');
  t.teardown(tmp.cleanup);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  await installCompilerWrapper(cache);
  for (const [name, text] of Object.entries(files)) await writeFile(join(tmp.path, name), text);
  const env = { ...buildEnv(cache, headers), CCACHE_BASEDIR: tmp.path };
  const compile = async () => {
    const [command, ...pre] = cc(cache);
    const r = await realExec.run({ command: command!, args: [...pre, `-Wp,-MMD,.${unit}.o.d`, '-c', '-o', `${unit}.o`, unit], cwd: tmp.path, env });
    if (r.exitCode !== 0) throw new Error(`${command} failed: ${r.stderr}`);
    return embedded(tmp.path, join(tmp.path, `${unit}.o`));
  };
  await writeFile(join(tmp.path, 'payload.bin'), 'OLD-KERNEL');
  const first = await compile();
  await rm(join(tmp.path, `${unit}.o`));
  await writeFile(join(tmp.path, 'payload.bin'), 'NEW-KERNEL');
  const second = await compile();
  return { first, second };
}

const PIGGY = { 'piggy.S': '.section .rodata\n.globl input_data\ninput_data:\n.incbin "payload.bin"\n' };

test('plain ccache (depend mode) hands back the old object for an .incbin unit: the hole vm-test-cc closes', async (t) => {
  // This is why the wrapper exists; if ccache ever keys on .incbin'd files, this test says so.
  const { first, second } = await twice(t, () => ['ccache', 'gcc'], PIGGY, 'piggy.S');
  t.is(first, 'OLD-KERNEL');
  t.is(second, 'OLD-KERNEL');
});

test('vm-test-cc compiles an .incbin unit without ccache: the new payload is in the object', async (t) => {
  const { first, second } = await twice(t, (cache) => compilerFor(true, cache).split(' '), PIGGY, 'piggy.S');
  t.is(first, 'OLD-KERNEL');
  t.is(second, 'NEW-KERNEL');
});

test('vm-test-cc: .incbin inside a C file\'s asm (kernel/configs.c) is seen too', async (t) => {
  const files = { 'configs.c': 'asm(".section .rodata\\n.incbin \\"payload.bin\\"\\n.previous");\nint x;\n' };
  const { second } = await twice(t, (cache) => compilerFor(true, cache).split(' '), files, 'configs.c');
  t.is(second, 'NEW-KERNEL');
});

const HEADER_UNIT = {
  'embed.h': '#define EMBED asm(".section .rodata\\n.incbin \\"payload.bin\\"\\n.previous");\n',
  'user.c': '#include "embed.h"\nEMBED\nint y;\n',
};

test('vm-test-cc: a unit that includes a header holding .incbin is compiled again uncached when the tree names that header', async (t) => {
  const { second } = await twice(t, (cache) => compilerFor(true, cache).split(' '), HEADER_UNIT, 'user.c', ['embed.h']);
  t.is(second, 'NEW-KERNEL');
});

test('vm-test-cc: without the header list, the header case is the hole again (the list is what closes it)', async (t) => {
  const { second } = await twice(t, (cache) => compilerFor(true, cache).split(' '), HEADER_UNIT, 'user.c', []);
  t.is(second, 'OLD-KERNEL');
});

test('vm-test-cc passes a compile error through with its exit code', async (t) => {
  const tmp = await tempDir('vm-test-cc-');
  t.teardown(tmp.cleanup);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const wrapper = await installCompilerWrapper(cache);
  await writeFile(join(tmp.path, 'bad.c'), 'int x = ;\n');
  const r = await realExec.run({ command: wrapper, args: ['gcc', '-c', '-o', 'bad.o', 'bad.c'], cwd: tmp.path, env: buildEnv(cache, ['embed.h']) });
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /bad\.c:1:9: error/);
});
