// vm-test compare: the range-diff on a real (tiny) kernel in a cache laid out as vm-test lays it out, the fallback when
// no kernel has the revisions, the runs chosen by series hash, and the side-by-side text.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { findMutateReport, findRuns, readRun, renderComparison, splatTitle, type Revision } from '../../orchestrator/compare/compare.ts';
import { rangeDiff } from '../../orchestrator/compare/range-diff.ts';
import { main } from '../../orchestrator/cli.ts';
import { compareCommand } from '../../orchestrator/commands/compare-command.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

/** A kernel tree imported as the cache would hold it (a bare repository), and two revisions of a two-patch series made on it. */
async function kernelAndRevisions(root: string) {
  const user = join(root, 'linux');
  await writeFiles(user, { 'kernel/a.c': 'int a(void)\n{\n\treturn 1;\n}\n', 'kernel/b.c': 'int b(void)\n{\n\treturn 2;\n}\n' });
  await sh(user, 'git', ['init', '-q']);
  await sh(user, 'git', ['add', '-A']);
  await sh(user, 'git', ['commit', '-q', '-m', 'base']);
  const base = (await sh(user, 'git', ['rev-parse', 'HEAD'])).trim();
  const revision = async (name: string, a: string, b: string, subjectB: string) => {
    await sh(user, 'git', ['checkout', '-q', '-B', name, base]);
    await writeFile(join(user, 'kernel/a.c'), a);
    await sh(user, 'git', ['commit', '-q', '-am', 'kernel: a returns more']);
    await writeFile(join(user, 'kernel/b.c'), b);
    await sh(user, 'git', ['commit', '-q', '-am', subjectB]);
    await sh(user, 'git', ['format-patch', '-q', '-o', join(root, 'series', name), `${base}..HEAD`]);
    return loadSeries(join(root, 'series', name), join(root, 'patches'));
  };
  const v1 = await revision('v1', 'int a(void)\n{\n\treturn 10;\n}\n', 'int b(void)\n{\n\treturn 20;\n}\n', 'kernel: b returns more');
  const v2 = await revision('v2', 'int a(void)\n{\n\treturn 10;\n}\n', 'int b(void)\n{\n\treturn 21;\n}\n', 'kernel: b returns even more');
  const cache = cacheLayout(join(root, 'cache'));
  const gitDir = join(cache.sources, 'local-test', 'git');
  await mkdir(join(cache.sources, 'local-test'), { recursive: true });
  await sh(root, 'git', ['clone', '-q', '--bare', user, gitDir]);
  return { cache, base, v1, v2, gitDir };
}

test.serial('range-diff: both revisions applied on the kernel commit the cache applied one on; the cache\'s repository is only read', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { cache, base, v1, v2, gitDir } = await kernelAndRevisions(tmp.path);
  await writeFile(join(cache.sources, 'local-test', 'applied.json'), JSON.stringify({ [`${base}:${v1.hash}:recipe`]: 'f'.repeat(40) }));
  const refsBefore = await sh(gitDir, 'git', ['for-each-ref']);
  const objectsBefore = await sh(gitDir, 'git', ['count-objects', '-v']);
  const diff = await rangeDiff(realExec, cache, v1, v2);
  t.is(diff.method, `git range-diff, both applied on ${base.slice(0, 12)} (from ${gitDir})`);
  t.regex(diff.lines[0]!, /^1: {2}[0-9a-f]+ = 1: {2}[0-9a-f]+ kernel: a returns more$/);
  t.regex(diff.lines.join('\n'), /2: {2}[0-9a-f]+ ! 2: {2}[0-9a-f]+ kernel: b returns more\n/);
  t.regex(diff.lines.join('\n'), /-\s+kernel: b returns more\n\s+\+\s+kernel: b returns even more/);
  t.regex(diff.lines.join('\n'), /-\+\treturn 20;\n\s+\+\+\treturn 21;/);
  t.is(await sh(gitDir, 'git', ['for-each-ref']), refsBefore);
  t.is(await sh(gitDir, 'git', ['count-objects', '-v']), objectsBefore);
});

test.serial('range-diff: without a kernel that had either revision, the mails\' diffs patch by patch, and why', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { cache, v1, v2 } = await kernelAndRevisions(tmp.path);
  const diff = await rangeDiff(realExec, cache, v1, v2);
  t.is(diff.method, 'the mails\' diffs patch by patch (no kernel in the cache has had either revision applied)');
  t.is(diff.lines[0], '1: [PATCH 1/2] kernel: a returns more  (same diff)');
  t.is(diff.lines[1], '2: [PATCH 2/2] kernel: b returns more\n   -> [PATCH 2/2] kernel: b returns even more  (diff changed)');
  t.true(diff.lines.some((l) => l.trim() === '-+\treturn 20;'));
  t.true(diff.lines.some((l) => l.trim() === '++\treturn 21;'));
});

/** A results.json as vm-test run writes it (report/json-report.ts), with what compare reads. */
function results(series: string, kernel: string, statuses: Record<string, string>, extra: { splats?: object[]; tests?: object[] } = {}) {
  const tests = extra.tests ?? Object.entries(statuses).map(([path, status]) => {
    const [suite, name] = path.split('/');
    return { name: suite, status, log: [], tests: [{ name, status, log: [], tests: [] }] };
  });
  return JSON.stringify({ status: Object.values(statuses).includes('fail') ? 'fail' : 'pass', counts: {}, tests, splats: extra.splats ?? [], run: { kind: 'passed', headline: `headline of ${kernel}`, kernel, identity: { series } } });
}

async function run(runs: string, name: string, json: string) {
  await mkdir(join(runs, name), { recursive: true });
  await writeFile(join(runs, name, 'results.json'), json);
}

test('findRuns: the newest pair on one kernel, by series hash; exec/shell jobs and runs stopped before the tests are not verdicts', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runs = tmp.path;
  await run(runs, '20260101-000000-a-on-k1', results('aaaa', 'K1', { 's/x': 'pass' }));
  await run(runs, '20260102-000000-b-on-k1', results('bbbb', 'K1', { 's/x': 'fail' }));
  await run(runs, '20260103-000000-a-on-k2', results('aaaa', 'K2', { 's/x': 'pass' }));
  await run(runs, '20260104-000000-a-shell', results('aaaa', 'K1', {}, { tests: [{ name: 'shell', status: 'pass', tests: [] }] }));
  await run(runs, '20260105-000000-b-not-run', JSON.stringify({ status: 'not_run', run: { kernel: 'K2', identity: { series: 'bbbb' } } }));
  const [a, b] = await findRuns(runs, ['aaaa', 'bbbb']);
  t.is(a?.dir, join(runs, '20260101-000000-a-on-k1'));
  t.is(b?.dir, join(runs, '20260102-000000-b-on-k1'));
  t.deepEqual([...b!.verdicts], [['s/x', 'fail']]);
  const [onlyA, none] = await findRuns(runs, ['aaaa', 'cccc']);
  t.is(onlyA?.dir, join(runs, '20260103-000000-a-on-k2'), 'the newest when the other has no run');
  t.is(none, undefined);
});

test('splatTitle: the title when the report has one, else its kind and first line', (t) => {
  t.is(splatTitle({ kind: 'warning', title: 'WARNING in htab_map_delete_elem', test: 'compare-contract', lines: ['x'] }), 'WARNING in htab_map_delete_elem (in compare-contract)');
  t.is(splatTitle({ kind: 'bug', lines: ['  BUG: unable to handle page fault for address: 0000', 'more'] }), 'bug: BUG: unable to handle page fault for address: 0000');
});

test('renderComparison: verdicts side by side with what changed, splats, the command for a missing run, mutation scores matched by function', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await run(tmp.path, 'ra', results('aaaa', 'K1', { 's/x': 'pass', 's/y': 'pass' }));
  await run(tmp.path, 'rb', results('bbbb', 'K1', { 's/x': 'pass', 's/y': 'fail' }, { splats: [{ kind: 'warning', title: 'WARNING: at kernel/bpf/hashtab.c:1200 htab_map_delete_elem', test: 's', lines: [] }] }));
  for (const [name, hash, hunks] of [['ma', 'aaaa', [['patch 2 hunk 2 (kernel/bpf/hashtab.c: f())', 3, 4]]], ['mb', 'bbbb', [['patch 2 hunk 3 (kernel/bpf/hashtab.c: f())', 4, 4], ['patch 2 hunk 5 (kernel/bpf/syscall.c: g())', 1, 2]]]] as const) {
    await mkdir(join(tmp.path, name));
    await writeFile(join(tmp.path, name, 'state.json'), JSON.stringify({ validFor: { series: hash } }));
    await writeFile(join(tmp.path, name, 'report.json'), JSON.stringify({ hunks: hunks.map(([where, killedByAll, compiled]) => ({ where, killedByAll, compiled })) }));
  }
  const series = (hash: string) => ({ name: hash, dir: '', manifest: {}, patches: [], hash });
  const a: Revision = { arg: 'rev/a', series: series('aaaa'), run: (await readRun(join(tmp.path, 'ra')))!, mutate: (await findMutateReport(tmp.path, 'aaaa'))! };
  const b: Revision = { arg: 'rev/b', series: series('bbbb'), run: (await readRun(join(tmp.path, 'rb')))!, mutate: (await findMutateReport(tmp.path, 'bbbb'))! };
  const text = renderComparison({ a, b, rangeDiff: { method: 'm', lines: ['1:  1 = 1:  1 x'] }, mutate: true, runsDir: tmp.path });
  t.regex(text, /\n {2}s\/x +pass {2}pass\n {2}s\/y +pass {2}fail {2}<- changed\n/);
  t.regex(text, /\n {2}A: none\n {2}B: WARNING: at kernel\/bpf\/hashtab\.c:1200 htab_map_delete_elem \(in s\)\n/);
  t.regex(text, /patch 2 \(kernel\/bpf\/hashtab\.c: f\(\)\) {2}3\/4 {2}4\/4\n/);
  t.regex(text, /patch 2 \(kernel\/bpf\/syscall\.c: g\(\)\) {2}- {4}1\/2\n/);
  const alone = renderComparison({ a: { ...a, run: undefined }, b, rangeDiff: { method: 'm', lines: [] }, mutate: false, runsDir: '/runs' });
  t.regex(alone, /A: no run of rev\/a \(series aaaa\) in \/runs; make one with: vm-test run --series rev\/a\n/);
  t.regex(alone, /s\/y +no run {2}fail\n/);
  t.notRegex(alone, /changed/);
});

test.serial('vm-test compare on the CLI: the fixture\'s revisions side by side; --run-a without a results.json is a usage error', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  const fixtures = new URL('../fixtures/bisect/bpf-f-compare/', import.meta.url).pathname;
  let code: number;
  let bad: number;
  try {
    code = await main(['compare', join(fixtures, 'v5'), join(fixtures, 'v6'), '--cache-dir', join(tmp.path, 'cache')], [compareCommand]);
    bad = await main(['compare', join(fixtures, 'v5'), join(fixtures, 'v6'), '--cache-dir', join(tmp.path, 'cache'), '--run-a', tmp.path], [compareCommand]);
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  t.is(code, 0);
  t.regex(stdout, /Range-diff \(the mails' diffs patch by patch \(no kernel in the cache has had either revision applied\)\):/);
  t.regex(stdout, /A: no run of .*v5 \(series 36e598c8102c6564\) in .*; make one with: vm-test run --series .*v5/);
  t.is(bad, 2);
  t.regex(stderr, /--run-a .*: no results\.json there/);
});
