// A pahole new enough for the 7.x selftests: the host's when it is, else Debian trixie's unpacked into the cache.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { choosePahole, missingFeatures, newEnough, paholeVersion, requestsBtf } from '../../orchestrator/host/newer-pahole.ts';
import { KconfigRequest, parseFragment } from '../../orchestrator/kconfig/kconfig.ts';
import { fakeResult, realExec, tempDir } from '../helpers.ts';

test('pahole versions: 1.26 and newer are enough (decl_tag_kfuncs), 1.24 is not', (t) => {
  t.deepEqual(paholeVersion('v1.24'), [1, 24]);
  t.deepEqual(paholeVersion('v1.30\n'), [1, 30]);
  t.is(paholeVersion('pahole: command not found'), undefined);
  t.false(newEnough([1, 24]));
  t.true(newEnough([1, 26]));
  t.true(newEnough([2, 0]));
  t.false(newEnough(undefined));
});

test('only a kernel that asks for BTF needs pahole', (t) => {
  const request = (text: string) => new KconfigRequest([parseFragment('f.config', text).fragment]);
  t.true(requestsBtf(request('CONFIG_DEBUG_INFO_BTF=y\n')));
  t.false(requestsBtf(request('CONFIG_BPF=y\n')));
});

test('the features the 7.x selftests need: the kfuncs\' declarations and their arguments\' address spaces', (t) => {
  // pahole 1.30 (trixie) and 1.32 (forky), as they list them.
  t.deepEqual(missingFeatures('encode_force,var,float,decl_tag,type_tag,enum64,optimized_func,consistent_func,decl_tag_kfuncs,reproducible_build,distilled_base,global_var'), ['attributes']);
  t.deepEqual(missingFeatures('encode_force,var,float,decl_tag,type_tag,enum64,optimized_func,consistent_func,decl_tag_kfuncs,reproducible_build,distilled_base,global_var,attributes,true_signature,force_cu_merging'), []);
  t.deepEqual(missingFeatures(undefined), ['decl_tag_kfuncs', 'attributes'], 'a pahole without --supported_btf_features (1.24)');
});

test('a host pahole with the features is used as it is; nothing is fetched', async (t) => {
  const calls: string[] = [];
  const exec = { run: async (r: { command: string; args: string[] }) => (calls.push(`${r.command} ${r.args.join(' ')}`), fakeResult({ stdout: r.args[0] === '--version' ? 'v1.32\n' : 'decl_tag_kfuncs,attributes\n' })) };
  const choice = await choosePahole({ exec: exec as never, aptRoot: '/nonexistent', toolsDir: '/nonexistent', logFile: '/dev/null' });
  t.deepEqual(choice, { command: 'pahole', version: 'v1.32', origin: "the host's" });
  t.deepEqual(calls, ['pahole --version', 'pahole --supported_btf_features']);
});

test('[network] bookworm\'s pahole 1.24 is too old: Debian testing\'s is unpacked into the cache once with what it loads, runs with its own loader, and encodes BTF', async (t) => {
  const host = await realExec.run({ command: 'pahole', args: ['--supported_btf_features'] });
  if (host.exitCode === 0 && missingFeatures(host.stdout).length === 0) return t.pass('the host\'s pahole has the features: nothing to fetch here');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const ctx = { exec: realExec, aptRoot: join(tmp.path, 'apt'), toolsDir: join(tmp.path, 'tools'), logFile: join(tmp.path, 'log') };
  const first = await choosePahole(ctx);
  t.true(newEnough(paholeVersion(first.version)), first.version);
  t.is(first.command, join(tmp.path, 'tools/pahole-forky/pahole'));
  const features = await realExec.run({ command: first.command, args: ['--supported_btf_features'] });
  t.deepEqual(missingFeatures(features.stdout), []);
  // It encodes BTF into a real object.
  await writeFile(join(tmp.path, 'x.c'), 'struct s { int a; long b; }; struct s v;\n');
  t.is((await realExec.run({ command: 'gcc', args: ['-g', '-c', 'x.c', '-o', 'x.o'], cwd: tmp.path })).exitCode, 0);
  t.is((await realExec.run({ command: first.command, args: ['-J', 'x.o'], cwd: tmp.path })).exitCode, 0);
  t.regex((await realExec.run({ command: 'readelf', args: ['-S', 'x.o'], cwd: tmp.path })).stdout, /\.BTF/);
  // The second time it is the cache's, without apt.
  const second = await choosePahole({ ...ctx, aptRoot: '/nonexistent' });
  t.deepEqual(second, first);
});
