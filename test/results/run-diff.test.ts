// The series against its base: new failures, fixed, still failing, appeared, disappeared, new splats, per-runner counts.
import test from 'ava';
import { confirmRetry, diffRuns, splatKey } from '../../orchestrator/results/run-diff.ts';
import type { Splat, TestNode, TestStatus } from '../../orchestrator/results/tree.ts';
import { newTest } from '../../orchestrator/results/tree.ts';

const node = (name: string, status: TestStatus, children: TestNode[] = [], errors: string[] = []): TestNode => ({ name, status, children, log: [], errors, splats: [] });
const runner = (name: string, tests: TestNode[]) => node(name, 'pass', tests);
const splat = (title: string): Splat => ({ kind: 'warning', title, lines: [title], startLine: 1 });

const base = {
  tests: [
    runner('test_progs', [
      node('map_cmp_delete', 'pass', [node('contract', 'pass')]),
      node('varlen', 'fail', [], ['varlen: broken on the base']),
      node('lru_bug', 'pass'),
      node('timer', 'fail'),
      node('removed_test', 'pass'),
    ]),
    runner('test_verifier', [node('BPF_ATOMIC_AND without fetch /p', 'pass')]),
  ],
  splats: [splat('WARNING: CPU: 1 PID: 120 at kernel/bpf/helpers.c:123 bpf_timer_cb+0x1a/0x60')],
};
const series = {
  tests: [
    runner('test_progs', [
      node('map_cmp_delete', 'fail', [node('contract', 'fail', [], ['mismatch -> EBUSY: actual -95 != expected -16'])]),
      node('varlen', 'fail'),
      node('lru_bug', 'pass'),
      node('timer', 'pass'),
      node('new_test', 'crashed'),
      node('new_ok', 'pass'),
    ]),
    runner('test_verifier', [node('BPF_ATOMIC_AND without fetch /p', 'pass')]),
  ],
  splats: [
    // The same report as the base's, at another pid, CPU and address: not new.
    splat('WARNING: CPU: 0 PID: 977 at kernel/bpf/helpers.c:123 bpf_timer_cb+0x1a/0x60'),
    splat('WARNING: CPU: 1 PID: 201 at kernel/bpf/hashtab.c:1549 htab_map_delete_elem_cmp+0x2b/0x120'),
  ],
};

test('the series against its base: each leaf by its path, the report\'s splats by title without numbers', (t) => {
  const d = diffRuns(base, series);
  t.deepEqual(d.newFailures.map((c) => [c.path, c.base, c.series]), [['test_progs/map_cmp_delete/contract', 'pass', 'fail'], ['test_progs/new_test', 'todo', 'crashed']]);
  t.is(d.newFailures[0]!.error, 'mismatch -> EBUSY: actual -95 != expected -16');
  t.deepEqual(d.fixed.map((c) => c.path), ['test_progs/timer']);
  t.deepEqual(d.stillFailing.map((c) => [c.path, c.error]), [['test_progs/varlen', 'varlen: broken on the base']]);
  t.deepEqual(d.appeared.map((l) => l.path), ['test_progs/new_test', 'test_progs/new_ok']);
  t.deepEqual(d.disappeared.map((l) => l.path), ['test_progs/removed_test']);
  t.deepEqual(d.newSplats.map((s) => s.title), ['WARNING: CPU: 1 PID: 201 at kernel/bpf/hashtab.c:1549 htab_map_delete_elem_cmp+0x2b/0x120']);
  t.deepEqual(d.runners, [
    { name: 'test_progs', total: 6, passed: 3, skipped: 0, failed: 3 },
    { name: 'test_verifier', total: 1, passed: 1, skipped: 0, failed: 0 },
  ]);
});

test('a splat\'s key drops addresses, offsets, pids and CPU numbers, and keeps the kind, file and function', (t) => {
  t.is(splatKey(splat('WARNING: CPU: 3 PID: 42 at kernel/bpf/hashtab.c:1549 htab_map_delete_elem_cmp+0x2b/0x120')), 'warning: WARNING: CPU: N PID: N at kernel/bpf/hashtab.c:N htab_map_delete_elem_cmp');
});

test('a new failure run once more: failing again confirms it, passing calls it flaky', (t) => {
  const d = diffRuns(base, series);
  const retry = { tests: [runner('test_progs', [node('map_cmp_delete', 'fail', [node('contract', 'fail')]), node('new_test', 'pass')])] };
  const { confirmed, flaky } = confirmRetry(d, retry);
  t.deepEqual(confirmed.map((c) => c.path), ['test_progs/map_cmp_delete/contract']);
  t.deepEqual(flaky.map((c) => c.path), ['test_progs/new_test']);
  t.is(confirmed[0]!.retry, 'failed again');
});

test('a new failure the retry did not run stays new, said to be not run again, not "failed again" (sockmap_redir on 7.2.6, shard 2/4, 2026-12-07)', (t) => {
  // The retry's -a entry missed the subtest (its name ends in spaces): test_progs ran the test with no subtest, OK.
  const name = 'map  sk_skb-to-egress  v_seq \u2192 u_dgr      ';
  const onBase = { tests: [runner('test_progs-cpuv4', [node('sockmap_redir', 'pass', [node(name, 'pass')])])], splats: [] };
  const onSeries = { tests: [runner('test_progs-cpuv4', [node('sockmap_redir', 'fail', [node(name, 'fail', [], ['map_update: Device or resource busy'])])])], splats: [] };
  const d = diffRuns(onBase, onSeries);
  t.deepEqual(d.newFailures.map((c) => c.path), [`test_progs-cpuv4/sockmap_redir/${name}`]);
  const { confirmed, flaky } = confirmRetry(d, { tests: [runner('test_progs-cpuv4', [node('sockmap_redir', 'pass')])] });
  t.deepEqual(flaky, []);
  t.deepEqual(confirmed.map((c) => [c.path, c.retry]), [[`test_progs-cpuv4/sockmap_redir/${name}`, 'not run again']]);
});

test('each runner\'s time from the console\'s begin/end markers (the guest\'s clock), in the tree and in the difference', async (t) => {
  const { testDurations } = await import('../../orchestrator/results/splat-attribution.ts');
  const { assembleResults } = await import('../../orchestrator/results/assemble.ts');
  const consoleText = ['[    6.894114] vm-test: begin test_progs', '[    8.299991] bpf_testmod: loading out-of-tree module taints kernel.',
    '[  102.260691] vm-test: end test_progs exit=0', '[  102.301821] vm-test: begin test_maps', 'test_maps output without a timestamp'].join('\n');
  t.deepEqual([...testDurations(consoleText)], [['test_progs', 95367]], 'test_maps never ended: no time');
  const resultsText = ['# vm-test: begin test_progs', '#1 a:OK', 'Summary: 1/0 PASSED, 0 SKIPPED, 0 FAILED', '# vm-test: end test_progs exit=0'].join('\n');
  const planned = [{ name: 'test_progs', kind: 'test_progs' as const, argv: [], timeoutSec: 60 }];
  const verdict = assembleResults({ resultsText, planned, splats: [], vm: { end: 'completed' } as never, cpus: { asked: 1, consoleText } });
  t.is(verdict.tree.tests.find((n) => n.name === 'test_progs')?.durationMs, 95367);
  const diff = diffRuns(verdict.tree, verdict.tree);
  t.like(diff.runners.find((r) => r.name === 'test_progs'), { seconds: 95.4, baseSeconds: 95.4 });
});

test('a failed test_progs leaf without a parser error is told by its first failed assertion', (t) => {
  const leaf = { ...newTest('bloom_filter_map', 'fail'), log: ['test_inner_map:PASS:link 0 nsec', 'test_inner_map:FAIL:Delete inner bloom filter map unexpected error: -22 (errno 22)', 'check_bloom:FAIL:later'] };
  const passing = newTest('bloom_filter_map', 'pass');
  const runner = (child: TestNode) => ({ ...newTest('test_progs', child.status), children: [child] });
  const diff = diffRuns({ tests: [runner(passing)], splats: [] }, { tests: [runner(leaf)], splats: [] });
  t.is(diff.newFailures[0]?.error, 'test_inner_map:FAIL:Delete inner bloom filter map unexpected error: -22 (errno 22)');
});

test('a failure in a test\'s own body ("(outside subtests)") on one side only is fixed or new, not disappeared or appeared (wq on 7.2.6\'s base, 2026-12-07)', (t) => {
  const subs = () => [node('test_call_array_sleepable', 'pass'), node('test_map_no_btf', 'pass')];
  const failedBody = { tests: [runner('test_progs', [node('wq', 'fail', [...subs(), node('(outside subtests)', 'fail')])])], splats: [] };
  const passedWhole = { tests: [runner('test_progs', [node('wq', 'pass', subs())])], splats: [] };
  const fixed = diffRuns(failedBody, passedWhole);
  t.deepEqual(fixed.fixed.map((c) => c.path), ['test_progs/wq/(outside subtests)']);
  t.deepEqual([fixed.disappeared.length, fixed.appeared.length, fixed.newFailures.length], [0, 0, 0]);
  const broke = diffRuns(passedWhole, failedBody);
  t.deepEqual(broke.newFailures.map((c) => [c.path, c.base]), [['test_progs/wq/(outside subtests)', 'pass']]);
  t.deepEqual([broke.appeared.length, broke.disappeared.length], [0, 0]);
  // A test gone from the series with its failing body is still gone.
  const gone = diffRuns(failedBody, { tests: [runner('test_progs', [])], splats: [] });
  t.true(gone.disappeared.some((l) => l.path === 'test_progs/wq/(outside subtests)'));
});
