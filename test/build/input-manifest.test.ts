// The inputs a cached output read: gcc's dependency file, fixdep's .cmd file and ld's trace, from real gcc and ld.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { changedInputs, cmdFileInputs, depfileInputs, linkTraceInputs, recordInputs } from '../../orchestrator/build/input-manifest.ts';
import { realExec, tempDir } from '../helpers.ts';

test('a dependency file from real gcc -MD: every header, a path with a space, continuation lines', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFile(join(tmp.path, 'my header.h'), '#define X 1\n');
  await writeFile(join(tmp.path, 'a.c'), '#include <stdio.h>\n#include "my header.h"\nint main(void) { return X - 1; }\n');
  const r = await realExec.run({ command: 'gcc', args: ['-static', '-MD', '-MF', 'a.d', '-Wl,-t', '-o', 'a', 'a.c'], cwd: tmp.path });
  t.is(r.exitCode, 0, r.stderr);
  const deps = depfileInputs(await readFile(join(tmp.path, 'a.d'), 'utf8'), tmp.path);
  t.true(deps.includes(join(tmp.path, 'a.c')));
  t.true(deps.includes(join(tmp.path, 'my header.h')));
  t.true(deps.includes('/usr/include/stdio.h'));
  t.false(deps.some((d) => d.endsWith('/a') || d.includes('\\')));
  // ld -t: the static libc and the start files, paths made plain.
  const linked = linkTraceInputs(r.stdout, tmp.path);
  t.true(linked.some((p) => /\/libc\.a$/.test(p)), r.stdout);
  t.true(linked.some((p) => /\/crt1\.o$/.test(p)));
  t.false(linked.some((p) => p.includes('/../')));
});

test('make-style escapes: "\\ " is a space, "$$" a dollar; two rules', (t) => {
  t.deepEqual(depfileInputs('out.o: a\\ b.h /x/$$y.h \\\n  c.h\nother: d.h\n', '/w'), ['/w/a b.h', '/x/$y.h', '/w/c.h', '/w/d.h']);
});

test('a tools/build .cmd file: the deps_ list, relative to the source directory, without $(wildcard ...)', (t) => {
  const text = [
    'cmd_/o/staticobjs/libbpf.o := gcc -c -o /o/staticobjs/libbpf.o libbpf.c',
    '',
    'source_/o/staticobjs/libbpf.o := libbpf.c',
    '',
    'deps_/o/staticobjs/libbpf.o := \\',
    '  /usr/include/stdc-predef.h \\',
    '  ../../include/linux/err.h \\',
    '    $(wildcard include/config/FOO) \\',
    '  zip.h \\',
    '',
    '/o/staticobjs/libbpf.o: $(deps_/o/staticobjs/libbpf.o)',
    '',
    '$(deps_/o/staticobjs/libbpf.o):',
  ].join('\n');
  t.deepEqual(cmdFileInputs(text, '/tree/tools/lib/bpf'), ['/usr/include/stdc-predef.h', '/tree/tools/include/linux/err.h', '/tree/tools/lib/bpf/zip.h']);
});

test('ld trace lines: plain paths, an archive member in the older form; the mode line is not a file', (t) => {
  const out = '/usr/bin/ld: mode elf_x86_64\n/usr/lib/x/crt1.o\n(/usr/lib/x/libc.a)printf.o\nobj.o\n';
  t.deepEqual(linkTraceInputs(out, '/w'), ['/usr/lib/x/crt1.o', '/usr/lib/x/libc.a', '/w/obj.o']);
});

test('a recorded input that changes or goes away is named; one that did not exist is not recorded', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const [a, b, gone] = ['a.h', 'b.h', 'tmp.o'].map((f) => join(tmp.path, f));
  await writeFile(a!, 'a');
  await writeFile(b!, 'b');
  const manifest = await recordInputs([a!, b!, gone!]);
  t.deepEqual(Object.keys(manifest.files), [a, b]);
  t.deepEqual(await changedInputs(manifest), []);
  await writeFile(b!, 'B');
  t.deepEqual(await changedInputs(manifest), [b]);
  await (await import('node:fs/promises')).rm(a!);
  t.deepEqual(await changedInputs(manifest), [a, b]);
});
