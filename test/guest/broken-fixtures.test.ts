// The broken variants of patch 2/3 (test/fixtures/guest/broken-*): well-formed series that apply to the pristine
// tree, differ from v1 (the series as posted) only in patch 2/3's kernel code, and are all documented in the README.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { cacheLayout, resolveCacheRoot } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { git } from '../../orchestrator/source/git.ts';
import { realExec, tempDir } from '../helpers.ts';
import { SERIES_DIR } from './uapi-headers-fixture.ts';

const FIXTURES = new URL('../fixtures/guest/', import.meta.url).pathname;
const PATCHES_ROOT = new URL('../../patches/', import.meta.url).pathname;

async function brokenDirs(): Promise<string[]> {
  return (await readdir(FIXTURES, { withFileTypes: true })).filter((d) => d.isDirectory() && d.name.startsWith('broken-')).map((d) => d.name).sort();
}

/** Apply a series to the pristine commit in a scratch index (no checkout) and return the changed files' blob ids. */
async function applyToIndex(gitDir: string, commit: string, patches: string[], index: string): Promise<Map<string, string>> {
  const env = { GIT_INDEX_FILE: index };
  let r = await git(realExec, ['read-tree', commit], { gitDir, env });
  if (r.exitCode !== 0) throw new Error(`read-tree: ${r.stderr}`);
  for (const p of patches) {
    r = await git(realExec, ['apply', '--cached', p], { gitDir, env });
    if (r.exitCode !== 0) throw new Error(`git apply ${p}: ${r.stderr}`);
  }
  r = await git(realExec, ['diff', '--cached', '--raw', '--abbrev=40', commit], { gitDir, env });
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => {
    const [meta, path] = l.split('\t');
    return [path!, meta!.split(' ')[3]!];
  }));
}

test('the broken variants are documented, and each changes patch 2/3 only', async (t) => {
  const dirs = await brokenDirs();
  t.true(dirs.length >= 6, `only ${dirs.length} variants`);
  const readme = await readFile(join(FIXTURES, 'README'), 'utf8');
  const manifest = JSON.parse(await readFile(join(SERIES_DIR, 'series.json'), 'utf8')) as { patches: string[] };
  for (const dir of dirs) {
    t.true(readme.includes(dir), `${dir} is in the README`);
    const series = await loadSeries(join(FIXTURES, dir), PATCHES_ROOT);
    t.deepEqual(series.patches.map((p) => p.path.split('/').pop()), manifest.patches, dir);
    for (const [i, name] of manifest.patches.entries()) {
      const original = await readFile(join(SERIES_DIR, name), 'utf8');
      const variant = await readFile(join(FIXTURES, dir, name), 'utf8');
      if (i === 1) {
        t.not(variant, original, `${dir}: patch 2/3 differs`);
        t.regex(variant, /TEST FIXTURE, broken on purpose/);
        t.regex(variant, /^Subject: \[RFC bpf-next 2\/3\]/m);
      } else {
        t.is(variant, original, `${dir}: ${name} is a verbatim copy`);
      }
    }
  }
});

test('each broken variant applies to the pristine tree and changes only kernel/bpf code relative to v1', async (t) => {
  const cache = cacheLayout(resolveCacheRoot(undefined, process.env));
  const base = (JSON.parse(await readFile(join(SERIES_DIR, 'series.json'), 'utf8')) as { base: { kernel: string } }).base.kernel;
  const spec = parseKernelSpec(base);
  if ('error' in spec) throw new Error(spec.error);
  const scratch = await tempDir();
  t.teardown(scratch.cleanup);
  const source = await resolveSource({ exec: realExec, cache, events: new RunEvents(), logFile: join(scratch.path, 'source.log') }, spec);
  const manifest = JSON.parse(await readFile(join(SERIES_DIR, 'series.json'), 'utf8')) as { patches: string[] };
  const reference = await applyToIndex(source.gitDir, source.pristineCommit, manifest.patches.map((p) => join(SERIES_DIR, p)), join(scratch.path, 'ref.index'));
  for (const dir of await brokenDirs()) {
    const changed = await applyToIndex(source.gitDir, source.pristineCommit, manifest.patches.map((p) => join(FIXTURES, dir, p)), join(scratch.path, `${dir}.index`));
    t.deepEqual([...changed.keys()].sort(), [...reference.keys()].sort(), `${dir} touches the same files`);
    const differing = [...changed].filter(([path, blob]) => reference.get(path) !== blob).map(([path]) => path);
    t.true(differing.length > 0, `${dir} changes something`);
    t.true(differing.every((p) => p === 'kernel/bpf/hashtab.c' || p === 'kernel/bpf/syscall.c'), `${dir}: ${differing.join(', ')}`);
  }
});
