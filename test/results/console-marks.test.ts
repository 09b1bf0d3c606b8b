// Where a kernel report falls among a runner's result lines: the results log's size as each console line arrived.
import test from 'ava';
import { duringText, nextResultAfter, placeSplats, resultsBytesAt } from '../../orchestrator/results/console-marks.ts';
import type { Splat } from '../../orchestrator/results/tree.ts';

// A test_progs-cpuv4 run of the sockmap tests as the results log has it (7.2.6, 2026-12-08): sockmap_redir's
// subtests are padded with spaces and hold "→", three bytes in UTF-8, so offsets are bytes, not characters.
const lines = [
  '# vm-test: begin test_progs-cpuv4',
  '#433/1   sockmap_listen/sockmap IPv4 TCP test_insert_invalid:OK',
  '#433     sockmap_listen:OK',
  'some log line of the next test',
  '#434/575 sockmap_redir/hash sk_skb-to-ingress v_seq \u2192 u_dgr      :OK',
  '#434     sockmap_redir:OK',
  '#435     sockmap_strp:OK',
  'Summary: 3/1342 PASSED, 0 SKIPPED, 0 FAILED',
  '# vm-test: end test_progs-cpuv4 exit=0',
  '# vm-test: begin test_verifier',
  '#1/u BPF_ATOMIC_AND without fetch OK',
];
const results = lines.join('\n') + '\n';
const at = (n: number) => Buffer.byteLength(lines.slice(0, n).join('\n') + (n ? '\n' : ''));

test('the results size a console line saw is the last mark at or before it', (t) => {
  const marks = [{ consoleLine: 1, resultsBytes: 0 }, { consoleLine: 5, resultsBytes: 100 }, { consoleLine: 9, resultsBytes: 250 }];
  t.is(resultsBytesAt(marks, 3), 0);
  t.is(resultsBytesAt(marks, 5), 100);
  t.is(resultsBytesAt(marks, 8), 100);
  t.is(resultsBytesAt(marks, 400), 250);
  t.is(resultsBytesAt([], 7), 0);
});

test('the first result line after a report names the test that was running; a line begun before it does not count', (t) => {
  t.is(nextResultAfter(results, at(3)), '#434 sockmap_redir', 'after sockmap_listen ended: sockmap_redir was running');
  t.is(nextResultAfter(results, at(2) + 5), '#434 sockmap_redir', 'in the middle of sockmap_listen\'s own line');
  t.is(nextResultAfter(results, at(1)), '#433 sockmap_listen');
  t.is(nextResultAfter(results, at(5) + 10), '#435 sockmap_strp', 'the arrow\'s line is counted in bytes');
  t.is(nextResultAfter(results, at(7)), undefined, 'after the last result, before the end marker: no test');
  t.is(nextResultAfter(results, at(9)), undefined, 'after the end marker the next runner\'s results are not this one\'s');
  t.is(nextResultAfter(results, Buffer.byteLength(results) + 40), undefined);
});

test('a splat during a test gets the next result, and the reports say it; one outside any test, or without marks, does not', (t) => {
  const splat = (startLine: number, test?: string): Splat => ({ kind: 'warning', title: 'refcount_t: underflow; use-after-free.', lines: [], startLine, ...(test ? { test } : {}) });
  const marks = [{ consoleLine: 280, resultsBytes: at(3) }, { consoleLine: 300, resultsBytes: at(6) }];
  const placed = placeSplats([splat(285, 'test_progs-cpuv4'), splat(301, 'test_progs-cpuv4'), splat(290)], marks, results);
  t.deepEqual(placed.map((s) => s.nextResult), ['#434 sockmap_redir', '#435 sockmap_strp', undefined]);
  t.is(duringText(placed[0]!), ' during test_progs-cpuv4 (next result: #434 sockmap_redir)');
  t.is(duringText(placed[2]!), '');
  t.deepEqual(placeSplats([splat(285, 'test_progs')], undefined, results)[0]!.nextResult, undefined);
});
