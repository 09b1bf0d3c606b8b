// Mutation operators on a small real patch (git format-patch, test/fixtures/mutate/), each mutant's diff
// applied for real with git apply on the patched file; the choice, shards and merged reports.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseMutants, generateMutants, parseShard, shard, type Mutant } from '../../orchestrator/mutate/mutants.ts';
import { buildReport, mergeReports, renderReport } from '../../orchestrator/mutate/mutate-report.ts';
import { classify, type MutantResult } from '../../orchestrator/mutate/mutate-run.ts';
import { OPERATOR_NAMES, type OperatorName } from '../../orchestrator/mutate/operators.ts';
import { loadSeries } from '../../orchestrator/series/series.ts';
import { sh, tempDir, writeFiles } from '../helpers.ts';

const fixtures = new URL('../fixtures/mutate/', import.meta.url).pathname;
const patches = new URL('../../patches/', import.meta.url).pathname;

async function small(): Promise<Mutant[]> {
  return generateMutants(await loadSeries(fixtures, patches));
}

const of = (ms: Mutant[], op: OperatorName) => ms.filter((m) => m.operator === op).map((m) => `${m.line}: ${m.description}`);

test('errno: one errno swapped for another, each occurrence its own mutant', async (t) => {
  t.deepEqual(of(await small(), 'errno'), ['17: -EINVAL -> 0', '23: -ENOENT -> 0', '25: -EBUSY -> -EAGAIN']);
});

test('negate: a one-line condition negated (a leading ! dropped rather than doubled)', async (t) => {
  t.deepEqual(of(await small(), 'negate'), [
    '16: if (size > 8 || off > 8 - size) -> if (!(size > 8 || off > 8 - size))',
    '19: if (ret) -> if (!(ret))',
    '22: if (!e->key) -> if (e->key)',
    '24: if (e->value != expected) -> if (!(e->value != expected))',
    '27: if (!ret) -> if (ret)',
  ]);
});

test('drop-arm: each arm of a || dropped', async (t) => {
  t.deepEqual(of(await small(), 'drop-arm'), ['16: drop "size > 8 ||"', '16: drop "|| off > 8 - size"']);
});

test('bound: > made >=, and an operand of - dropped', async (t) => {
  t.deepEqual(of(await small(), 'bound'), ['16: > -> >=', '16: > -> >=', '16: drop "- size"']);
});

test('delete: one statement removed; the sole body of an if becomes an empty statement', async (t) => {
  const ms = await small();
  t.deepEqual(of(ms, 'delete'), [
    '17: delete "return -EINVAL;"', '18: delete "ret = bucket_lock(e, &flags);"', '20: delete "return ret;"',
    '21: delete "e->key = lookup(e, key);"', '23: delete "ret = -ENOENT;"', '25: delete "ret = -EBUSY;"',
    '26: delete "bucket_unlock(e, flags);"', '28: delete "free_elem(e);"', '29: delete "return ret;"',
  ]);
  const free = ms.find((m) => m.description === 'delete "free_elem(e);"')!;
  t.regex(free.diff, /^-\t\tfree_elem\(e\); \/\* unlinked above \*\/\n\+\t\t;$/m);
});

test('delete keeps every later line where it was (a __LINE__ after it, in a WARN\'s bug table or the debug info, is unchanged)', async (t) => {
  const v1 = await loadSeries(join(patches, 'bpf-f-compare/v1'), patches);
  const deletes = generateMutants(v1, ['delete']);
  t.true(deletes.length > 0);
  for (const m of deletes) {
    const [, oldCount, newCount] = /^@@ -\d+,(\d+) \+\d+,(\d+) @@/m.exec(m.diff)!;
    t.is(oldCount, newCount, m.id);
    // The statement's line becomes an empty one (or ";" as the sole body of an if), right where it was.
    t.regex(m.diff, /^-\t+\S.*\n\+(?:\t+;)?\n/m, m.id);
  }
  const warn = deletes.find((m) => m.description === 'delete "WARN_ON_ONCE(!bpf_rcu_lock_held());"')!;
  t.regex(warn.diff, /^-\tWARN_ON_ONCE\(!bpf_rcu_lock_held\(\)\);\n\+\n \n \tkey_size = map->key_size;$/m);
});

test('unlock-move: a statement of the locked region moved to just after the unlock', async (t) => {
  const ms = await small();
  t.deepEqual(of(ms, 'unlock-move'), ['21: move "e->key = lookup(e, key);" after "bucket_unlock(e, flags);"']);
  t.regex(ms.find((m) => m.operator === 'unlock-move')!.diff, /^-\te->key = lookup\(e, key\);\n(?: .*\n)+ \tbucket_unlock\(e, flags\);\n\+\te->key = lookup\(e, key\);$/m);
});

test('every operator has mutants on the posted series, only in the kernel\'s .c files, with stable ids', async (t) => {
  const v1 = await loadSeries(join(patches, 'bpf-f-compare/v1'), patches);
  const ms = generateMutants(v1);
  for (const op of OPERATOR_NAMES) t.true(ms.some((m) => m.operator === op), op);
  t.true(ms.every((m) => /^kernel\/bpf\/(hashtab|syscall)\.c$/.test(m.file)));
  t.deepEqual(generateMutants(v1).map((m) => m.id), ms.map((m) => m.id));
  t.is(new Set(ms.map((m) => m.id)).size, ms.length);
  // Kinds of the nine hand-made variants in test/fixtures/guest/ the operators generate.
  const has = (re: RegExp) => ms.some((m) => re.test(`${m.operator}: ${m.description}`));
  t.true(has(/^bound: drop "\+ off"$/), 'window-offset-ignored');
  t.true(has(/^delete: delete "ret = -EBUSY;"$/), 'mismatch-deletes-anyway');
  t.true(has(/^bound: drop "\?: map->value_size"$/), 'size0-not-whole-value');
  t.true(has(/^bound: drop "- size"$/), 'window-check-wraps');
  t.true(has(/^delete: delete "free_htab_elem\(htab, l\);"$/), 'leaks-deleted-element');
  t.true(has(/^delete: delete "return -EINVAL;"$/), 'unknown-flags-accepted');
  t.true(has(/^negate: if \(!IS_ERR_OR_NULL\(map->record\)\) -> if \(IS_ERR_OR_NULL\(map->record\)\)$/), 'btf-record-check-removed (negated, not removed)');
});

test('each mutant\'s diff applies with git apply to the patched file', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'kernel/map.c': await readFile(join(fixtures, 'map.c.base'), 'utf8') });
  await sh(tmp.path, 'git', ['init', '-q']);
  await sh(tmp.path, 'git', ['add', '-A']);
  await sh(tmp.path, 'git', ['commit', '-q', '-m', 'base']);
  await sh(tmp.path, 'git', ['apply', join(fixtures, '0001-kernel-add-map_delete_cmp.patch')]);
  for (const m of await small()) {
    await writeFile(join(tmp.path, 'm.diff'), m.diff);
    await t.notThrowsAsync(sh(tmp.path, 'git', ['apply', '--check', 'm.diff']), m.id);
  }
});

test('a budget spreads over the hunks first; shards are deterministic slices that cover the choice once', async (t) => {
  const v1 = await loadSeries(join(patches, 'bpf-f-compare/v1'), patches);
  const all = generateMutants(v1);
  const eight = chooseMutants(all, 8);
  t.deepEqual([...new Set(eight.slice(0, 4).map((m) => `${m.patch}/${m.hunk}`))].length, 4, 'the first round takes one mutant from each hunk');
  const chosen = chooseMutants(all);
  const parts = [shard(chosen, { index: 1, count: 2 }), shard(chosen, { index: 2, count: 2 })];
  t.is(parts[0]!.length + parts[1]!.length, chosen.length);
  t.deepEqual([...parts[0]!, ...parts[1]!].map((m) => m.id).sort(), chosen.map((m) => m.id).sort());
  t.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  t.truthy((parseShard('5/4') as { error?: string }).error);
});

test('two shards merge to the same report as one unsharded run', async (t) => {
  const v1 = await loadSeries(join(patches, 'bpf-f-compare/v1'), patches);
  const all = generateMutants(v1);
  const chosen = chooseMutants(all, 20);
  // A fixed verdict per mutant, as runs would give: the report is about joining them.
  const verdict = (m: Mutant, k: number): MutantResult => ({
    id: m.id, status: k % 5 === 0 ? 'survived' : k % 7 === 0 ? 'not-compiled' : 'killed',
    killedBySelftest: k % 3 === 0 && k % 5 !== 0 && k % 7 !== 0, killedByAll: k % 5 !== 0 && k % 7 !== 0,
    reason: 'x', tests: ['test_progs', 'compare-contract'], runDir: `/runs/${k}`, seconds: k,
  });
  const results = chosen.map(verdict);
  const whole = buildReport(v1.name, all, results);
  const shards = [1, 2].map((i) => {
    const ids = new Set(shard(chosen, { index: i, count: 2 }).map((m) => m.id));
    return JSON.parse(JSON.stringify(buildReport(v1.name, all, results.filter((r) => ids.has(r.id)))));
  });
  t.deepEqual(mergeReports(shards), whole);
  t.regex(renderReport(whole), /selftest only\s+selftest \+ suites/);
  t.is(whole.total.mutants, 20);
});

test('a run\'s ending classifies the mutant: failed selftest or suite, splat, hang, build error', (t) => {
  const tree = (failed: string[], splat?: string) => ({ verdict: { tree: { tests: ['test_progs', 'compare-contract'].map((name) => ({ name, status: failed.includes(name) ? 'fail' : 'pass', children: [], log: [], errors: [], splats: name === splat ? [{ kind: 'warning' }] : [] })) } } });
  const c = (kind: string, failed: string[] = [], splat?: string) => classify({ kind, headline: 'h', tested: tree(failed, splat) } as never);
  t.like(c('testsFailed', ['compare-contract']), { status: 'killed', killedBySelftest: false, killedByAll: true });
  t.like(c('testsFailed', ['test_progs']), { status: 'killed', killedBySelftest: true, killedByAll: true });
  // A splat is the selftest's catch only when it came while the selftest ran.
  t.like(c('kernelCrash', [], 'test_progs'), { status: 'killed', killedBySelftest: true, killedByAll: true });
  t.like(c('kernelCrash', ['compare-contract'], 'compare-contract'), { status: 'killed', killedBySelftest: false, killedByAll: true });
  t.like(c('timeout', ['compare-contract']), { status: 'timeout', killedBySelftest: false, killedByAll: true });
  t.like(c('timeout', ['test_progs']), { status: 'timeout', killedBySelftest: true, killedByAll: true });
  t.like(c('buildFailed'), { status: 'not-compiled', killedByAll: false });
  t.like(c('passed'), { status: 'survived', killedByAll: false });
  t.is(c('vmInfra'), undefined);
});

test('a mutant that makes a case skip which passed on the baseline was noticed (its feature probe changed its answer): killed, naming the case', (t) => {
  const leaf = (name: string, status: string, reason?: string) => ({ name, status, children: [], log: [], errors: [], splats: [], ...(reason ? { directive: { kind: 'skip', reason } } : {}) });
  const run = (contract: ReturnType<typeof leaf>[], progs = 'pass') => ({ tests: [
    { name: 'test_progs', status: progs, children: [leaf('map_cmp_delete', progs)], log: [], errors: [], splats: [] },
    { name: 'compare-contract', status: 'pass', children: contract, log: [], errors: [], splats: [] },
  ] });
  const baseline = { bootKey: 'b', identity: { kernel: { built: 'a'.repeat(40) } }, verdict: { tree: run([leaf('match-deletes', 'pass'), leaf('arr-eopnotsupp', 'skip', 'no ARRAY')]) } };
  const probeFlipped = run([leaf('match-deletes', 'skip', 'the kernel lacks BPF_F_COMPARE (feature probe: EINVAL)'), leaf('arr-eopnotsupp', 'skip', 'no ARRAY')]);
  const c = (tree: unknown) => classify({ kind: 'passed', headline: 'h', tested: { bootKey: 'm', identity: { kernel: { built: 'c'.repeat(40) } }, verdict: { tree } } } as never, baseline as never);
  t.like(c(probeFlipped), { status: 'killed', killedBySelftest: false, killedByAll: true, reason: 'compare-contract/match-deletes passed on the baseline and skipped here (the kernel lacks BPF_F_COMPARE (feature probe: EINVAL))' });
  // A case that skipped on the baseline too says nothing; a run like the baseline's survives.
  t.like(c(run([leaf('match-deletes', 'pass'), leaf('arr-eopnotsupp', 'skip', 'no ARRAY')])), { status: 'survived' });
});
