// The targeted test_progs is reused only when nothing it is built from changed. A tiny tree with the layout the
// build reads (the selftests Makefile's runner sources, a libbpf with its own Makefile, tools headers, a symlink out
// of tools/ as disasm.h is), real git, real make and gcc: each test changes one input and runs the binary, which
// prints what it was built from, so a stale binary shows.
import test from 'ava';
import { symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { toolchainFingerprint } from '../../orchestrator/build/build-env.ts';
import { buildTestProgs, expandRecipe, testProgsKey, testProgsRecipe, type RecipePaths } from '../../orchestrator/build/selftests-build.ts';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import type { ExecPort, ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { fakeResult, realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const SELFTESTS = 'tools/testing/selftests/bpf';

async function fixture(root: string) {
  const tree = join(root, 'src');
  await writeFiles(tree, {
    Makefile: 'VERSION = 7\nPATCHLEVEL = 2\n',
    [`${SELFTESTS}/Makefile`]: 'TRUNNER_EXTRA_SOURCES := test_progs.c\t\\\n\t\t\t helpers.c\nTRUNNER_LIB_SOURCES := find_bit.c\n',
    'tools/testing/selftests/lib.mk': '',
    [`${SELFTESTS}/test_progs.c`]: [
      '#include <stdio.h>',
      '#include <bpf/libbpf.h>',
      '#include <linux/vmt_uapi.h>',
      '#include <asm/vmt_arch.h>',
      '#include "disasm.h"',
      '#define DEFINE_TEST(name) extern void test_##name(void);',
      '#include "prog_tests/tests.h"',
      'int helper(void);',
      'int find_bit(void);',
      'int main(void) { printf("uapi=%d arch=%d disasm=%d helper=%d find_bit=%d libbpf=%d\\n", VMT_UAPI, VMT_ARCH, DISASM, helper(), find_bit(), libbpf_value()); return 0; }',
      '',
    ].join('\n'),
    [`${SELFTESTS}/helpers.c`]: 'int helper(void) { return 1; }\n',
    [`${SELFTESTS}/prog_tests/map_cmp_delete.c`]: 'void test_map_cmp_delete(void) {}\n',
    'tools/lib/find_bit.c': 'int find_bit(void) { return 1; }\n',
    'tools/lib/bpf/Makefile': [
      '$(OUTPUT)libbpf.a: libbpf.c libbpf.h',
      '\t$(CC) -c libbpf.c -o $(OUTPUT)libbpf.o && ar rcs $@ $(OUTPUT)libbpf.o',
      'install_headers:',
      '\tmkdir -p $(DESTDIR)$(prefix)/include/bpf && cp libbpf.h $(DESTDIR)$(prefix)/include/bpf/',
      '',
    ].join('\n'),
    'tools/lib/bpf/libbpf.h': 'int libbpf_value(void);\n',
    'tools/lib/bpf/libbpf.c': 'int libbpf_value(void) { return 1; }\n',
    'tools/include/uapi/linux/vmt_uapi.h': '#define VMT_UAPI 1\n',
    'tools/arch/x86/include/asm/vmt_arch.h': '#define VMT_ARCH 1\n',
    'kernel/bpf/disasm.h': '#define DISASM 1\n',
  });
  await symlink('../../../../kernel/bpf/disasm.h', join(tree, SELFTESTS, 'disasm.h'));
  await sh(tree, 'git', ['init', '-q']);
  await sh(tree, 'git', ['add', '-A']);
  await sh(tree, 'git', ['commit', '-q', '-m', 'base']);
  const commit = async (path: string, text: string) => {
    await writeFile(join(tree, path), text);
    await sh(tree, 'git', ['commit', '-q', '-am', path]);
  };
  return { tree, commit };
}

/** The real tools, except that gcc --version (the toolchain's fingerprint) can be made to answer another version. */
function port(toolchain: { gcc?: string } = {}): ExecPort & { compiles: ExecRequest[] } {
  const compiles: ExecRequest[] = [];
  return {
    compiles,
    async run(req) {
      if (req.command === 'gcc' && req.args[0] === '--version' && toolchain.gcc) return fakeResult({ stdout: `${toolchain.gcc}\n` });
      if (req.command === 'gcc' || req.command === 'make') compiles.push(req);
      return realExec.run(req);
    },
  };
}

async function setup(t: { teardown: (f: () => Promise<void>) => void }) {
  const tmp = await tempDir('vm-test-tp-');
  t.teardown(tmp.cleanup);
  const { tree, commit } = await fixture(tmp.path);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const build = async (exec: ExecPort = port()) => {
    const built = await buildTestProgs({ exec, events: new RunEvents(), cache, tree: { worktree: tree, head: 'HEAD', treeId: 'unused', reused: false }, buildDir: join(tmp.path, 'build'), ccache: false, logFile: join(tmp.path, 'selftests-build.log') }, ['map_cmp_delete']);
    if (!built) throw new Error('nothing built');
    const r = await realExec.run({ command: built.binary, args: [] });
    return { ...built, prints: r.stdout.trim() };
  };
  return { tree, commit, build };
}

const ALL_ONE = 'uapi=1 arch=1 disasm=1 helper=1 find_bit=1 libbpf=1';

test('built once, then reused while nothing changed', async (t) => {
  const { build } = await setup(t);
  const first = await build();
  t.false(first.cached);
  t.is(first.prints, ALL_ONE);
  const again = await build();
  t.true(again.cached);
  t.is(again.binary, first.binary);
});

test('a TRUNNER_LIB_SOURCES file in tools/lib (find_bit.c) changed: built again', async (t) => {
  const { commit, build } = await setup(t);
  t.is((await build()).prints, ALL_ONE);
  await commit('tools/lib/find_bit.c', 'int find_bit(void) { return 2; }\n');
  const after = await build();
  t.false(after.cached);
  t.is(after.prints, 'uapi=1 arch=1 disasm=1 helper=1 find_bit=2 libbpf=1');
});

test('a header in tools/arch/x86/include changed: built again', async (t) => {
  const { commit, build } = await setup(t);
  t.is((await build()).prints, ALL_ONE);
  await commit('tools/arch/x86/include/asm/vmt_arch.h', '#define VMT_ARCH 2\n');
  t.is((await build()).prints, 'uapi=1 arch=2 disasm=1 helper=1 find_bit=1 libbpf=1');
});

test('a header outside tools/ read through a symlink (kernel/bpf/disasm.h) changed: built again, found by the recorded inputs', async (t) => {
  const { commit, build } = await setup(t);
  t.is((await build()).prints, ALL_ONE);
  await commit('kernel/bpf/disasm.h', '#define DISASM 2\n');
  const after = await build();
  t.false(after.cached);
  t.is(after.prints, 'uapi=1 arch=1 disasm=2 helper=1 find_bit=1 libbpf=1');
  t.true((await build()).cached, 'and reused after that');
});

test('a file of libbpf changed: libbpf and test_progs are built again', async (t) => {
  const { commit, build } = await setup(t);
  t.is((await build()).prints, ALL_ONE);
  await commit('tools/lib/bpf/libbpf.c', 'int libbpf_value(void) { return 2; }\n');
  t.is((await build()).prints, 'uapi=1 arch=1 disasm=1 helper=1 find_bit=1 libbpf=2');
});

test('another compiler version: built again, not reused', async (t) => {
  const { build } = await setup(t);
  const toolchain = { gcc: 'gcc (Debian 12.2.0-14) 12.2.0' };
  t.false((await build(port(toolchain))).cached);
  t.true((await build(port(toolchain))).cached);
  toolchain.gcc = 'gcc (Debian 14.2.0-19) 14.2.0';
  const exec = port(toolchain);
  t.false((await build(exec)).cached);
  t.true(exec.compiles.some((r) => r.command === 'make'), 'libbpf too: make would call its objects up to date');
});

test('the build runs exactly the recipe the key hashes, and a change to any of its arguments is another key', async (t) => {
  const { tree, build } = await setup(t);
  const exec = port();
  const built = await build(exec);
  const recipe = testProgsRecipe(false);
  const make = exec.compiles.find((r) => r.command === 'make')!;
  const runnerDir = dirname(built.binary);
  const paths: RecipePaths = { tree, src: join(tree, SELFTESTS), tools: join(tree, 'tools'), libbpfOut: make.args.find((a) => a.startsWith('OUTPUT='))!.slice(7, -1), libbpfRoot: join(runnerDir, '../libbpf-root'), runnerDir, cc: 'gcc' };
  t.deepEqual(make.args, expandRecipe(recipe.libbpfMake, paths));
  const compiles = exec.compiles.filter((r) => r.command === 'gcc' && r.args.includes('-c'));
  t.is(compiles.length, 4);
  for (const c of compiles) t.deepEqual(c.args.slice(0, -4), expandRecipe(recipe.cflags, paths));
  const link = exec.compiles.find((r) => r.command === 'gcc' && r.args.includes('-rdynamic') && !r.args.includes('-c'))!;
  const objects = link.args.filter((a) => a.endsWith('.o'));
  t.deepEqual(link.args, expandRecipe(recipe.link, paths, { objects, output: `${built.binary}.tmp` }));
  // The directory is named by the key of this recipe; with one argument less, or _GNU_SOURCE, it is another directory.
  const inputs = { recipe, toolchain: await toolchainFingerprint(realExec), toolsTree: (await sh(tree, 'git', ['rev-parse', 'HEAD:tools'])).trim(), files: ['map_cmp_delete.c'] };
  t.is(basename(runnerDir), `test_progs-${testProgsKey(inputs)}`);
  for (const part of ['libbpfMake', 'cflags', 'link'] as const) {
    for (let i = 0; i < recipe[part].length; i++) {
      t.not(testProgsKey({ ...inputs, recipe: { ...recipe, [part]: recipe[part].filter((_, j) => j !== i) } }), testProgsKey(inputs), `${part} without ${recipe[part][i]}`);
    }
  }
  t.not(testProgsKey({ ...inputs, recipe: testProgsRecipe(true) }), testProgsKey(inputs), '_GNU_SOURCE from lib.mk');
  t.not(testProgsKey({ ...inputs, toolchain: inputs.toolchain + ' ' }), testProgsKey(inputs));
});

test('a compile that left no dependency file: what it read is not known, so the binary is not reused', async (t) => {
  const { build } = await setup(t);
  const { rm } = await import('node:fs/promises');
  const noDepfiles: ExecPort = {
    async run(req) {
      const r = await realExec.run(req);
      const object = req.args.includes('-c') ? req.args[req.args.indexOf('-o') + 1] : undefined;
      if (object) await rm(object.replace(/\.o$/, '.d'), { force: true });
      return r;
    },
  };
  t.false((await build(noDepfiles)).cached);
  t.false((await build(noDepfiles)).cached);
  t.false((await build()).cached, 'built again, now with its dependency files');
  t.true((await build()).cached);
});
