// --full-selftests skips the tree's Makefile only when its stamp matches: the tree, the recipe, the compilers (gcc's
// and LLVM's) and the kernel it was built against; and a make that fails says which rule failed. make, clang-19
// --version and the kernel are fakes; a failing make prints a real 7.2.6 build log.
import test from 'ava';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFullSelftests, fullSelftestsRecipe, selftestsEnv, stampCovers } from '../../orchestrator/build/full-selftests-build.ts';
import { buildDirReaders, readBuildDir } from '../../orchestrator/build/build-readers.ts';
import type { KernelBuild } from '../../orchestrator/build/kernel-build.ts';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import type { ExecPort, ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { fakeResult, realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const SELFTESTS = 'tools/testing/selftests/bpf';

/** make's answers in turn (exit code and output, written to its log as the real port does); then success. */
function port(tools: { clang: string; gcc: string }, makeAnswers: { exitCode: number; stdout: string }[] = []): ExecPort & { makes: ExecRequest[] } {
  const makes: ExecRequest[] = [];
  return {
    makes,
    async run(req) {
      if (req.command === 'make') {
        makes.push(req);
        const out = req.args.find((a) => a.startsWith('OUTPUT='))!.slice(7);
        await mkdir(out, { recursive: true });
        for (const f of ['test_progs', 'bpf_testmod.ko']) await writeFile(join(out, f), `built with ${tools.clang}\n`);
        const answer = makeAnswers.shift() ?? { exitCode: 0, stdout: '' };
        if (req.logFile) await appendFile(req.logFile, answer.stdout);
        return fakeResult({ ...answer, tail: answer.stdout.split('\n').slice(-15) });
      }
      // The real git: the tree is a real worktree (selftests-intree.ts asks it what make left there).
      if (req.command === 'git') return realExec.run(req);
      if (req.command === 'clang-19') return fakeResult({ stdout: `${tools.clang}\n` });
      if (req.command === 'gcc') return fakeResult({ stdout: `${tools.gcc}\n` });
      return fakeResult({ exitCode: 127 });
    },
  };
}

async function setup(t: { teardown: (f: () => Promise<void>) => void }) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const tree = join(tmp.path, 'src');
  const buildDir = join(tmp.path, 'build');
  await writeFiles(tree, { [`${SELFTESTS}/Makefile`]: 'all:\n', [`${SELFTESTS}/prog_tests/map_cmp_delete.c`]: 'void test_map_cmp_delete(void) {}\n', [`${SELFTESTS}/progs/empty.c`]: '' });
  await sh(tree, 'git', ['init', '-q']);
  await sh(tree, 'git', ['add', '.']);
  await sh(tree, 'git', ['commit', '-qm', 'tree']);
  await writeFiles(buildDir, { '.config': 'CONFIG_DEBUG_INFO_BTF=y\n' });
  const kernel: KernelBuild = { buildDir, bzImage: join(buildDir, 'bzImage'), headersDir: join(buildDir, 'usr/include'), configPath: join(buildDir, '.config'), cached: true, treeId: 't1', buildId: 'aaaa', imageCheck: { holdsBuilt: true } as KernelBuild['imageCheck'], elapsedMs: 0 };
  const events = new RunEvents();
  const build = (exec: ExecPort, k: Partial<KernelBuild> = {}, runners?: string[]) => buildFullSelftests({ exec, events, cache: cacheLayout(join(tmp.path, 'cache')), tree: { worktree: tree, head: 'h', treeId: 't1', reused: false }, kernel: { ...kernel, ...k }, jobs: 2, ccache: false, logFile: join(tmp.path, 'log'), ...(runners ? { runners } : {}) });
  return { build, buildDir, events, tree };
}

test('the same tree, recipe, compilers and kernel: make is not run again', async (t) => {
  const { build } = await setup(t);
  const exec = port({ clang: 'Debian clang version 19.1.4', gcc: 'gcc 12.2.0' });
  t.false((await build(exec)).cached);
  t.true((await build(exec)).cached);
  t.is(exec.makes.length, 1);
});

test('another clang (the BPF objects\' compiler) or gcc: make runs again', async (t) => {
  const { build } = await setup(t);
  const tools = { clang: 'Debian clang version 19.1.4', gcc: 'gcc 12.2.0' };
  const exec = port(tools);
  await build(exec);
  tools.clang = 'Debian clang version 19.1.7';
  t.false((await build(exec)).cached);
  tools.gcc = 'gcc 14.2.0';
  t.false((await build(exec)).cached);
  t.is(exec.makes.length, 3);
});

test('a cached kernel with another build ID than the one the objects were built against: make runs again', async (t) => {
  const { build } = await setup(t);
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' });
  await build(exec, { buildId: 'aaaa' });
  t.false((await build(exec, { buildId: 'bbbb' })).cached);
  t.is(exec.makes.length, 2);
});

test('make runs exactly the recipe the stamp holds', async (t) => {
  const { build, buildDir } = await setup(t);
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' });
  await build(exec);
  const stamp = JSON.parse(await readFile(join(buildDir, 'vm-test-selftests/full/vm-test-stamp.json'), 'utf8'));
  t.deepEqual(stamp.recipe, fullSelftestsRecipe());
  const args = exec.makes[0]!.args;
  t.is(args.length, fullSelftestsRecipe().length);
  fullSelftestsRecipe().forEach((template, i) => t.regex(args[i]!, new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+')}$`)));
});

test('outputs another recipe made are not built upon: an output directory of unknown recipe is emptied before make; the same recipe keeps it', async (t) => {
  const { build, buildDir } = await setup(t);
  const exec = port({ clang: 'Debian clang version 19.1.4', gcc: 'gcc 12.2.0' });
  const out = join(buildDir, 'vm-test-selftests/full');
  // Left by an older vm-test: a .d file naming paths from another directory than make's.
  await writeFiles(out, { 'arena_atomics.test.d': 'arena_atomics.test.o: ../../../src/tools/testing/selftests/bpf/prog_tests/arena_atomics.c\n' });
  await build(exec);
  await t.throwsAsync(readFile(join(out, 'arena_atomics.test.d'), 'utf8'), { code: 'ENOENT' });
  // Built again (another kernel), by the same recipe: what make made stays for it to build upon.
  await writeFile(join(out, 'kept.o'), 'object\n');
  await build(exec, { buildId: 'bbbb', cached: false });
  t.is(await readFile(join(out, 'kept.o'), 'utf8'), 'object\n');
  t.is(exec.makes.length, 2);
});

test('the selftests build does not give ccache a base directory (its test objects compile from another directory than make\'s)', (t) => {
  t.false('CCACHE_BASEDIR' in selftestsEnv(cacheLayout('/c')));
  t.is(selftestsEnv(cacheLayout('/c')).CCACHE_DIR, '/c/ccache');
});

test('with ccache, the selftests\' make gets the tree\'s .incbin headers (vm-test-cc compiles a unit including one uncached), and its BPF objects go through vm-test-cc too', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const tree = join(tmp.path, 'src');
  const buildDir = join(tmp.path, 'build');
  await writeFiles(tree, { [`${SELFTESTS}/Makefile`]: 'all:\n', [`${SELFTESTS}/prog_tests/a.c`]: 'void test_a(void) {}\n', [`${SELFTESTS}/progs/empty.c`]: '' });
  await sh(tree, 'git', ['init', '-q']);
  await sh(tree, 'git', ['add', '.']);
  await sh(tree, 'git', ['commit', '-qm', 'tree']);
  await writeFiles(buildDir, { '.config': 'CONFIG_DEBUG_INFO_BTF=y\n' });
  const inner = port({ clang: 'clang 19', gcc: 'gcc 12' });
  const exec: ExecPort & { makes: ExecRequest[] } = {
    makes: inner.makes,
    run: async (req) => (req.command === 'git' && req.args.includes('grep') ? fakeResult({ stdout: `${SELFTESTS}/embeds_key.h\n` }) : inner.run(req)),
  };
  const kernel: KernelBuild = { buildDir, bzImage: join(buildDir, 'bzImage'), headersDir: join(buildDir, 'usr/include'), configPath: join(buildDir, '.config'), cached: true, treeId: 't1', buildId: 'aaaa', imageCheck: { holdsBuilt: true } as KernelBuild['imageCheck'], elapsedMs: 0 };
  const cache = cacheLayout(join(tmp.path, 'cache'));
  await buildFullSelftests({ exec, events: new RunEvents(), cache, tree: { worktree: tree, head: 'h', treeId: 't1', reused: false }, kernel, jobs: 2, ccache: true, logFile: join(tmp.path, 'log') });
  const make = exec.makes[0]!;
  t.is(make.env?.VM_TEST_INCBIN_HEADERS, `${SELFTESTS}/embeds_key.h`);
  t.true(make.args.includes(`CLANG=${join(cache.root, 'bin/vm-test-cc')} clang-19`), make.args.join(' '));
});

test('outputs made while the source tree\'s generated files were shared between build directories are made again', async (t) => {
  const { build, buildDir } = await setup(t);
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' });
  await build(exec);
  const stampFile = join(buildDir, 'vm-test-selftests/full/vm-test-stamp.json');
  const { inTree, ...older } = JSON.parse(await readFile(stampFile, 'utf8'));
  t.is(inTree, 'per-build-directory');
  await writeFile(stampFile, JSON.stringify(older));
  t.false((await build(exec)).cached);
  t.is(exec.makes.length, 2);
});

const raced = readFileSync(new URL('../fixtures/build/selftests-7.2.6-rsync-vanished.log', import.meta.url), 'utf8');

test('the tree\'s Makefile racing itself (test_maps-extras\' rsync, exit 24) gets make run once more, and says so', async (t) => {
  const { build, events } = await setup(t);
  const warnings: string[] = [];
  events.subscribe((e) => { if (e.type === 'warn') warnings.push(e.message); });
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' }, [{ exitCode: 2, stdout: raced }]);
  const built = await build(exec);
  t.is(exec.makes.length, 2);
  t.false(built.cached);
  // The parts skipped in the first make are still reported.
  t.true(built.skipped.includes('cpumask_failure.bpf.o'));
  t.regex(warnings.join('\n'), /make's rule test_maps-extras \(tools\/testing\/selftests\/bpf\/Makefile:919\) exited 24: .*running make once more/);
});

test('a make that fails so twice names the rule and rsync\'s words, not a skipped part\'s compiler error', async (t) => {
  const { build } = await setup(t);
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' }, [{ exitCode: 2, stdout: raced }, { exitCode: 2, stdout: raced }]);
  const error = await t.throwsAsync(build(exec));
  t.is(exec.makes.length, 2);
  t.is(error?.message, "full selftests build failed: make's rule test_maps-extras (tools/testing/selftests/bpf/Makefile:919) exited 24: rsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]");
});

test('another rule failing is not retried, and a compiler error of a part that was not skipped is named', async (t) => {
  const { build, tree } = await setup(t);
  const own = `${tree}/tools/testing/selftests/bpf/prog_tests/map_cmp_delete.c:12:3: error: use of undeclared identifier 'BPF_F_COMPARE'\n`
    + 'make: *** [Makefile:760: /b/vm-test-selftests/full/map_cmp_delete.test.o] Error 1\n';
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' }, [{ exitCode: 2, stdout: raced.replace(/^make: \*\*\* \[Makefile:919.*$/m, own) }]);
  const error = await t.throwsAsync(build(exec));
  t.is(exec.makes.length, 1);
  t.regex(error?.message ?? '', /^full selftests build failed at tools\/testing\/selftests\/bpf\/prog_tests\/map_cmp_delete\.c:12: use of undeclared identifier 'BPF_F_COMPARE'$/);
});

const FIVE = ['test_progs', 'test_progs-no_alu32', 'test_progs-cpuv4', 'test_verifier', 'test_maps'];

test('outputs made for more runners serve a build asking for fewer (bpf-ci\'s five, then exec\'s test_progs); not the other way round', async (t) => {
  const { build } = await setup(t);
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' });
  t.false((await build(exec, {}, FIVE)).cached);
  t.true((await build(exec, {}, ['test_progs'])).cached);
  t.true((await build(exec, {}, ['test_verifier', 'test_maps'])).cached);
  t.true((await build(exec, {}, FIVE)).cached);
  t.is(exec.makes.length, 1);
  // Another kernel: the covering stamp no longer holds.
  t.false((await build(exec, { buildId: 'bbbb' }, ['test_progs'])).cached);
  // Made for test_progs alone now: the five are made again.
  t.false((await build(exec, { buildId: 'bbbb' }, FIVE)).cached);
  t.is(exec.makes.length, 3);
});

test('stampCovers: the same recipe but the targets, and every target asked for made', (t) => {
  const stamp = (targets: string[], toolchain = 'gcc 12') => ({ treeId: 't', excluded: [], recipe: fullSelftestsRecipe(targets), toolchain, kernelBuildId: 'k', inTree: 'per-build-directory' });
  t.true(stampCovers(stamp(FIVE), stamp(['test_progs']), ['test_progs']));
  t.false(stampCovers(stamp(['test_progs']), stamp(FIVE), FIVE));
  t.false(stampCovers(stamp(FIVE), stamp(['test_progs'], 'gcc 14'), ['test_progs']));
  t.false(stampCovers(undefined, stamp(['test_progs']), ['test_progs']));
});

test('a build that would rewrite the selftests waits while a live run\'s guest reads the build directory; a cached one does not', async (t) => {
  const { build, buildDir, events } = await setup(t);
  const said: string[] = [];
  events.subscribe((e) => { if (e.type === 'info') said.push(e.message); });
  const exec = port({ clang: 'clang 19', gcc: 'gcc 12' });
  await build(exec);
  // A guest reading another directory of the build (a targeted test_progs) does not hold this build.
  const stopOther = await readBuildDir(buildDir, '/runs/other', [join(buildDir, 'vm-test-selftests/test_progs-0123')]);
  t.false((await build(exec, { buildId: 'cccc' })).cached);
  t.is(exec.makes.length, 2);
  await stopOther();
  const stopReading = await readBuildDir(buildDir, '/runs/bpf-ci/series', [join(buildDir, 'vm-test-selftests/full')]);
  // Nothing to rebuild: no wait.
  t.true((await build(exec, { buildId: 'cccc' })).cached);
  // Another kernel: make must run, and waits for the reader.
  const rebuilt = build(exec, { buildId: 'bbbb' });
  await new Promise((r) => setTimeout(r, 300));
  t.is(exec.makes.length, 2);
  t.regex(said.join('\n'), /waiting for the run in \/runs\/bpf-ci\/series \(pid \d+\) to end: its guest reads its selftests from this build directory/);
  await stopReading();
  t.false((await rebuilt).cached);
  t.is(exec.makes.length, 3);
});

test('a reader that died does not hold the build directory', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(join(tmp.path, 'vm-test-readers'), { 'dead': JSON.stringify({ pid: 2 ** 22 + 1, runDir: '/runs/gone' }) });
  t.deepEqual(await buildDirReaders(tmp.path), []);
  const stop = await readBuildDir(tmp.path, '/runs/live', [join(tmp.path, 'full')]);
  t.deepEqual(await buildDirReaders(tmp.path), [{ pid: process.pid, runDir: '/runs/live', reads: [join(tmp.path, 'full')] }]);
  await stop();
  t.deepEqual(await buildDirReaders(tmp.path), []);
});
