// The applied-series cache (applied.json) hands back a commit only for the same pristine commit, the same patch
// bytes in the same order, and the same way of applying them (git am's arguments and environment, git's version);
// and git am does not read the user's git config, which no key names. Real git on a tiny tree.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import type { ExecPort, ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { amArgs, APPLY_RECIPE, applyRecipeKey, loadSeries, seriesHash } from '../../orchestrator/series/series.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { describeSeriesBase, prepareTree } from '../../orchestrator/source/workspace.ts';
import { fakeResult, realExec, sh, tempDir, writeFiles } from '../helpers.ts';

/** A tree and, for each change, a one-patch series made from it with git format-patch (the tree stays at its base). */
async function fixture(root: string, changes: Record<string, Record<string, string | Buffer>>) {
  const user = join(root, 'user-tree');
  await writeFiles(user, { Makefile: 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n', Kconfig: 'config X\n', 'drivers/a.c': 'one\n' });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  const dirs: Record<string, string> = {};
  for (const [name, files] of Object.entries(changes)) {
    for (const [path, bytes] of Object.entries(files)) await writeFile(join(user, path), bytes);
    await sh(user, 'git', ['commit', '-q', '-am', `drivers: ${name}`]);
    dirs[name] = join(root, 'series', name);
    await sh(user, 'git', ['format-patch', '-q', '-o', dirs[name]!, 'HEAD~1']);
    await sh(user, 'git', ['reset', '-q', '--hard', 'HEAD~1']);
  }
  const cache = cacheLayout(join(root, 'cache'));
  const spec = parseKernelSpec(user);
  if ('error' in spec) throw new Error(spec.error);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(root, 'source.log') }, spec);
  const prepare = async (dir: string, exec: ExecPort = realExec) => {
    const tree = await prepareTree({ exec, cache, logFile: join(root, 'series.log') }, source, await loadSeries(dir, join(root, 'patches')));
    if ('failure' in tree) throw new Error(`did not apply: ${JSON.stringify(tree.failure)}`);
    return tree;
  };
  return { dirs, prepare, source, cache };
}

test.serial('two patches that differ in one byte that is not UTF-8: two hashes, and each series gets its own applied commit', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // Latin-1 é, and a copy of its patch with è in its place: both bytes read as U+FFFD when decoded as UTF-8.
  const { dirs, prepare } = await fixture(tmp.path, { e_acute: { 'drivers/a.c': Buffer.from('one\ncaf\xe9\n', 'latin1') } });
  const [name] = await readdir(dirs.e_acute!);
  const acuteBytes = await readFile(join(dirs.e_acute!, name!));
  const graveBytes = Buffer.from(acuteBytes.toString('latin1').replace('caf\xe9', 'caf\xe8'), 'latin1');
  t.is(graveBytes.compare(acuteBytes) !== 0 && graveBytes.length, acuteBytes.length, 'one byte differs');
  dirs.e_grave = join(tmp.path, 'series', 'e_grave');
  await mkdir(dirs.e_grave, { recursive: true });
  await writeFile(join(dirs.e_grave, name!), graveBytes);
  const [acute, grave] = [await loadSeries(dirs.e_acute!, tmp.path), await loadSeries(dirs.e_grave, tmp.path)];
  t.not(acute.hash, grave.hash);
  const first = await prepare(dirs.e_acute!);
  t.deepEqual(await readFile(join(first.worktree, 'drivers/a.c')), Buffer.from('one\ncaf\xe9\n', 'latin1'));
  const second = await prepare(dirs.e_grave!);
  t.false(second.reused, 'not the commit applied from the other patch');
  t.deepEqual(await readFile(join(second.worktree, 'drivers/a.c')), Buffer.from('one\ncaf\xe8\n', 'latin1'));
});

test.serial('the series hash covers the order and where one patch ends and the next begins', (t) => {
  const [a, b] = [Buffer.from('patch a\n'), Buffer.from('patch b\n')];
  t.not(seriesHash([a, b]), seriesHash([b, a]));
  t.not(seriesHash([Buffer.concat([a, b])]), seriesHash([a, b]));
  t.not(seriesHash([a, Buffer.from('')]), seriesHash([a]));
  t.is(seriesHash([a, b]), seriesHash([Buffer.from('patch a\n'), Buffer.from('patch b\n')]));
});

test.serial('another git version applies the series again instead of reusing the commit another git made', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { dirs, prepare } = await fixture(tmp.path, { grow: { 'drivers/a.c': 'one\ntwo\n' } });
  const gitAnswering = (version: string): ExecPort => ({
    run: (req: ExecRequest) => req.command === 'git' && req.args[0] === '--version' ? Promise.resolve(fakeResult({ stdout: `${version}\n` })) : realExec.run(req),
  });
  t.false((await prepare(dirs.grow!, gitAnswering('git version 2.39.5'))).reused);
  t.true((await prepare(dirs.grow!, gitAnswering('git version 2.39.5'))).reused);
  t.false((await prepare(dirs.grow!, gitAnswering('git version 2.47.3'))).reused);
});

test.serial('git am runs exactly APPLY_RECIPE, and the recipe key changes with each of its arguments and its environment', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { dirs, prepare } = await fixture(tmp.path, { grow: { 'drivers/a.c': 'one\ntwo\n' } });
  const calls: ExecRequest[] = [];
  const recording: ExecPort = { run: (req) => (calls.push(req), realExec.run(req)) };
  await prepare(dirs.grow!, recording);
  const am = calls.filter((c) => c.command === 'git' && c.args[0] === 'am');
  t.is(am.length, 1);
  t.deepEqual(am[0]!.args, amArgs({ crlf: false }, am[0]!.args.at(-1)!));
  t.like(am[0]!.env, APPLY_RECIPE.env);
  const key = await applyRecipeKey(realExec);
  for (let i = 0; i < APPLY_RECIPE.am.length; i++) {
    t.not(await applyRecipeKey(realExec, { ...APPLY_RECIPE, am: APPLY_RECIPE.am.filter((_, j) => j !== i) }), key, `without ${APPLY_RECIPE.am[i]}`);
  }
  t.not(await applyRecipeKey(realExec, { ...APPLY_RECIPE, cr: { crlf: '--keep-cr', lf: '--keep-cr' } }), key);
  t.not(await applyRecipeKey(realExec, { ...APPLY_RECIPE, env: { ...APPLY_RECIPE.env, GIT_COMMITTER_NAME: 'someone' } }), key);
});

test.serial('the user\'s git config (apply.whitespace=fix, core.autocrlf, commit.gpgSign) does not reach git am or the checkout', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { dirs, prepare } = await fixture(tmp.path, { trailing: { 'drivers/a.c': 'one\ntwo  \n' } });
  const config = join(tmp.path, 'user.gitconfig');
  await writeFile(config, '[apply]\n\twhitespace = fix\n[core]\n\tautocrlf = true\n[commit]\n\tgpgSign = true\n');
  const before = process.env.GIT_CONFIG_GLOBAL;
  process.env.GIT_CONFIG_GLOBAL = config;
  try {
    const tree = await prepare(dirs.trailing!);
    t.is(await readFile(join(tree.worktree, 'drivers/a.c'), 'utf8'), 'one\ntwo  \n', 'the patch\'s bytes, trailing spaces and LF kept');
  } finally {
    if (before === undefined) delete process.env.GIT_CONFIG_GLOBAL;
    else process.env.GIT_CONFIG_GLOBAL = before;
  }
});

test.serial('a series\' base-commit: applied on it when the kernel tree has it, on the kernel\'s commit (and said) when not; the applied commit is keyed on the base', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { dirs, prepare, source, cache } = await fixture(tmp.path, { grow: { 'drivers/a.c': 'one\ntwo\n' } });
  const user = join(tmp.path, 'user-tree');
  const older = (await sh(user, 'git', ['rev-parse', 'HEAD'])).trim();
  // The kernel tree moves on past the commit the series was made on.
  await writeFiles(user, { 'drivers/b.c': 'later\n' });
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'later']);
  const moved = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(tmp.path, 'source.log') }, source.spec);
  t.not(moved.pristineCommit, older);
  const series = await loadSeries(dirs.grow!, join(tmp.path, 'patches'));
  const onBase = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, moved, { ...series, baseCommit: older });
  if ('failure' in onBase) return t.fail('did not apply');
  t.deepEqual(onBase.base, { commit: older, from: 'base-commit' });
  t.is((await sh(onBase.worktree, 'git', ['rev-parse', 'HEAD~1'])).trim(), older);
  t.false(existsSync(join(onBase.worktree, 'drivers/b.c')), 'the later commit is not in the tree tested');
  t.regex(describeSeriesBase(onBase.base), /applied on the series' base-commit [0-9a-f]{12}, which the kernel tree has/);
  const unknown = 'f'.repeat(40);
  const onKernel = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, moved, { ...series, baseCommit: unknown });
  if ('failure' in onKernel) return t.fail('did not apply');
  t.deepEqual(onKernel.base, { commit: moved.pristineCommit, from: 'kernel', missing: unknown });
  t.false(onKernel.reused, 'another base, another applied commit');
  t.is((await sh(onKernel.worktree, 'git', ['rev-parse', 'HEAD~1'])).trim(), moved.pristineCommit);
  t.regex(describeSeriesBase(onKernel.base), /does not have the series' base-commit f{40}: applied on the kernel's own commit/);
  // Without a base-commit the key is the kernel's commit, as before: the same applied commit is reused.
  const plain = await prepareTree({ exec: realExec, cache, logFile: join(tmp.path, 'series.log') }, moved, series);
  if ('failure' in plain) return t.fail('did not apply');
  t.true(plain.reused);
  t.is(plain.head, onKernel.head);
  // The key names the commit applied on, not the source: the old kernel commit gives the commit made on the base-commit.
  const onOlder = await prepare(dirs.grow!);
  t.true(onOlder.reused);
  t.is(onOlder.head, onBase.head);
});
