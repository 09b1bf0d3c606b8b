// An incremental build configures again only when something configure depends on changed: the request,
// a Kconfig input between the two trees (real git compares them), the compiler, or a hand-edited .config.
// make and gcc are fakes that write what the real ones would; the real builds run it in every series switch.
import test from 'ava';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { affectsKconfig, buildKernel, siblingSteps, type KernelBuildContext } from '../../orchestrator/build/kernel-build.ts';
import { buildDirIn, cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import type { ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { KconfigRequest, parseFragment } from '../../orchestrator/kconfig/kconfig.ts';
import { fakeResult, realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const request = (text: string) => new KconfigRequest([parseFragment('kernel-config/bpf.config', text).fragment]);

async function fixture(root: string) {
  const tree = join(root, 'src');
  await writeFiles(tree, { Makefile: 'VERSION = 7\n', Kconfig: 'config BPF\n\tbool "BPF"\n', 'kernel/bpf/hashtab.c': 'one\n' });
  await sh(tree, 'git', ['init', '-q']);
  await sh(tree, 'git', ['add', '-A']);
  await sh(tree, 'git', ['commit', '-q', '-m', 'base']);
  const treeId = async () => sh(tree, 'git', ['rev-parse', 'HEAD^{tree}']);
  const commit = async (path: string, text: string) => {
    await writeFile(join(tree, path), text);
    await sh(tree, 'git', ['commit', '-q', '-am', path]);
    return treeId();
  };
  return { tree, base: await treeId(), commit };
}

/** make, gcc --version and pahole --version as fakes (what configure writes, what the build leaves); git is the real one. */
function port(compiler: { version: string; pahole?: string }) {
  const configures: string[][] = [];
  const builds: string[][] = [];
  return {
    configures,
    builds,
    async run(req: ExecRequest) {
      if (req.command === 'gcc') return fakeResult({ stdout: `${compiler.version}\nCopyright\n` });
      if (req.command === 'pahole') return compiler.pahole ? fakeResult({ stdout: `${compiler.pahole}\n` }) : fakeResult({ exitCode: 127 });
      if (req.command !== 'make') return realExec.run(req);
      const out = req.args.find((a) => a.startsWith('O='))!.slice(2);
      if (req.args.includes('allnoconfig')) {
        configures.push([...req.args]);
        // Every requested option survives: the request is the .config.
        await copyFile(req.args.find((a) => a.startsWith('KCONFIG_ALLCONFIG='))!.split('=')[1]!, join(out, '.config'));
      } else {
        builds.push([...req.args]);
        for (const f of ['arch/x86/boot/bzImage', 'usr/include/linux/bpf.h']) {
          await mkdir(dirname(join(out, f)), { recursive: true });
          await writeFile(join(out, f), 'built\n');
        }
      }
      return fakeResult();
    },
  };
}

test('configure runs again only when the request, a Kconfig input, the compiler or the .config changed', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { tree, base, commit } = await fixture(tmp.path);
  const compiler = { version: 'gcc (Debian 12.2.0-14) 12.2.0' };
  const exec = port(compiler);
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const build = (treeId: string, text = 'CONFIG_BPF=y\n') => {
    const ctx: KernelBuildContext = { exec, events, cache, sourceId: 'src', tree: { worktree: tree, head: 'HEAD', treeId, reused: false }, request: request(text), jobs: 1, ccache: false, logFile: join(tmp.path, 'build.log') };
    return buildKernel(ctx);
  };

  await build(base);
  t.is(exec.configures.length, 1, 'the first build configures');
  const hashtab = await commit('kernel/bpf/hashtab.c', 'two\n');
  const second = await build(hashtab);
  t.false(second.cached);
  t.is(exec.configures.length, 1, 'hashtab.c is no Kconfig input: the .config stands');
  t.true(seen.some((e) => e.type === 'info' && /kernel config: as resolved for tree [0-9a-f]{12} \(no Kconfig input changed since\)/.test(e.message)));

  const kconfig = await commit('Kconfig', 'config BPF\n\tbool "BPF"\nconfig NEW\n\tdef_bool y\n');
  await build(kconfig);
  t.is(exec.configures.length, 2, 'a Kconfig file changed');
  await build(await commit('kernel/bpf/hashtab.c', 'three\n'));
  t.is(exec.configures.length, 2, 'and the config resolved on that tree stands for the next');

  await build(base);
  t.is(exec.configures.length, 3, 'back to a tree whose Kconfig differs from the one it was resolved on');

  compiler.version = 'gcc (Debian 13.1.0-1) 13.1.0';
  await build(await commit('kernel/bpf/hashtab.c', 'four\n'));
  t.is(exec.configures.length, 4, 'another compiler');

  await build(await commit('kernel/bpf/hashtab.c', 'five\n'), 'CONFIG_BPF=y\nCONFIG_NET=y\n');
  t.is(exec.configures.length, 5, 'another request (its own build directory)');

  await build(await commit('kernel/bpf/hashtab.c', 'six\n'));
  t.is(exec.configures.length, 5, 'back to the first request: its directory was resolved on tree "four", with this Kconfig and compiler');
  await writeFile(join(buildDirIn(cache, 'src', request('CONFIG_BPF=y\n').hash()), '.config'), 'CONFIG_BPF=y\n# edited by hand\n');
  await build(await commit('kernel/bpf/hashtab.c', 'seven\n'));
  t.is(exec.configures.length, 6, 'a .config edited by hand');
});

test('Kconfig inputs: Kconfig files, the scripts Kconfig runs, the top Makefile; not sources or headers', (t) => {
  for (const p of ['Kconfig', 'init/Kconfig', 'arch/x86/Kconfig.cpu', 'scripts/kconfig/conf.c', 'scripts/Kconfig.include', 'Makefile']) t.true(affectsKconfig(p), p);
  for (const p of ['kernel/bpf/hashtab.c', 'include/linux/bpf.h', 'kernel/bpf/Makefile', 'Documentation/kbuild/kconfig.rst']) t.false(affectsKconfig(p), p);
});

test('another pahole (Kconfig reads PAHOLE_VERSION) configures again, and a tree built by another toolchain is built again, not reused', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { tree, base } = await fixture(tmp.path);
  const tools: { version: string; pahole?: string } = { version: 'gcc (Debian 12.2.0-14) 12.2.0', pahole: 'v1.24' };
  const exec = port(tools);
  const cache = cacheLayout(join(tmp.path, 'cache'));
  const build = () => buildKernel({ exec, events: new RunEvents(), cache, sourceId: 'src', tree: { worktree: tree, head: 'HEAD', treeId: base, reused: false }, request: request('CONFIG_BPF=y\n'), jobs: 1, ccache: false, logFile: join(tmp.path, 'build.log') });
  t.false((await build()).cached);
  t.true((await build()).cached, 'same tree, config and tools: up to date');
  t.is(exec.builds.length, 1);
  tools.pahole = 'v1.30';
  const again = await build();
  t.false(again.cached, 'the same tree and config under another pahole is not "up to date"');
  t.is(exec.configures.length, 2, 'and configure runs again: PAHOLE_VERSION is a Kconfig symbol');
  t.is(exec.builds.length, 2);
  tools.pahole = undefined;
  t.false((await build()).cached, 'pahole gone is another toolchain too');
});

test('a first build\'s estimate comes from a sibling build directory of the same kind of config only (a full selftests kernel has five times the steps)', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, {
    'build-full/vm-test-stamp.json': JSON.stringify({ treeId: 't', configHash: 'f', base: 'defaults', work: 5200 }),
    'build-old/vm-test-stamp.json': JSON.stringify({ treeId: 't', configHash: 'o', work: 4800 }),
  });
  t.is(await siblingSteps(tmp.path, 'allno'), undefined, 'neither the full one nor one whose kind is not recorded');
  t.is(await siblingSteps(tmp.path, 'defaults'), 5200);
  await writeFiles(tmp.path, { 'build-slim/vm-test-stamp.json': JSON.stringify({ treeId: 't', configHash: 's', base: 'allno', work: 1042 }) });
  t.is(await siblingSteps(tmp.path, 'allno'), 1042);
});
