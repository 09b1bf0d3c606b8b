import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { parseTestProgs, parseTestProgsJson, type TestProgsResult } from '../../orchestrator/results/test-progs-parser.ts';
import { summarize, type TestNode } from '../../orchestrator/results/tree.ts';

const dir = new URL('../fixtures/results/test-progs/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

interface Shape {
  name: string;
  status: string;
  number?: number;
  children?: Shape[];
}

// The part of a node the .expected.json files pin down.
const shape = (node: TestNode): Shape => ({
  name: node.name,
  ...(node.number === undefined ? {} : { number: node.number }),
  status: node.status,
  ...(node.children.length ? { children: node.children.map(shape) } : {}),
});

const project = (r: TestProgsResult) => ({ tests: r.tests.map(shape), ...(r.summary ? { summary: r.summary } : {}), errors: r.errors });

for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
  test(`fixture ${file} parses to ${file.replace(/\.log$/, '.expected.json')}`, (t) => {
    const expected = JSON.parse(fixture(file.replace(/\.log$/, '.expected.json')));
    t.deepEqual(project(parseTestProgs(fixture(file))), expected);
  });
}

test('fixture map-cmp-delete-fail.json (-J output) parses to its .expected.json', (t) => {
  const expected = JSON.parse(fixture('map-cmp-delete-fail.json.expected.json'));
  t.deepEqual(project(parseTestProgsJson(fixture('map-cmp-delete-fail.json'))), expected);
});

test('7.3.4 (real captures): "%d/%d FAILED" is read as failed tests/subtests, and -J\'s "failed_subtest" too; the pass is a pass', (t) => {
  const pass = parseTestProgs(fixture('map-cmp-delete-pass-7.3.4.log'));
  t.is(summarize(pass.tests).status, 'pass');
  const failJson = parseTestProgsJson(fixture('map-cmp-delete-fail-7.3.4.json'));
  t.deepEqual(failJson.summary, { passed: 0, passedSubtests: 0, skipped: 0, failed: 1, failedSubtests: 1 });
  t.deepEqual(failJson.errors, []);
  t.is(failJson.tests[0]!.children[0]!.status, 'fail');
  t.deepEqual(parseTestProgsJson(fixture('map-cmp-delete-pass-7.3.4.json')).summary, { passed: 1, passedSubtests: 1, skipped: 0, failed: 0, failedSubtests: 0 });
});

test('a Summary with "(N not built)" (7.x, tests whose BPF objects were not built) ends the run like any other', (t) => {
  const text = '#1/1     map_cmp_delete/contract:OK\n#1       map_cmp_delete:OK\n#2       other:SKIP\nSummary: 2/1 PASSED, 1 SKIPPED (3 not built), 0 FAILED\n';
  const result = parseTestProgs(text);
  t.deepEqual(result.summary, { passed: 2, passedSubtests: 1, skipped: 1, failed: 0, notBuilt: 3 });
  t.deepEqual(result.errors, []);
  t.false(result.tests.some((n) => n.status === 'crashed'));
});

test('a failing subtest carries the lines printed before its "#N/M" line, once despite the recap', (t) => {
  const [test0] = parseTestProgs(fixture('map-cmp-delete-fail.log')).tests;
  const contract = test0!.children[0]!;
  t.true(contract.log.includes('test_contract:FAIL:mismatch -> EBUSY unexpected mismatch -> EBUSY: actual -22 != expected -16'));
  t.is(contract.log.filter((l) => l.startsWith('test_contract:FAIL:mismatch')).length, 1);
  t.is(contract.log[0], "Can't find bpf_testmod.ko kernel module: -2");
  t.deepEqual(contract.errors, []);
  t.deepEqual(test0!.log, []);
  t.is(summarize([test0!]).status, 'fail');
});

test('real capture (linux-kselftest, v6.12.36): both mptcp subtests fail with their messages', (t) => {
  const result = parseTestProgs(fixture('mptcp-6.12.36-lkml.log'));
  const [base, mptcpify] = result.tests[0]!.children;
  t.true(base!.log.includes('test_base:FAIL:start_mptcp_server unexpected start_mptcp_server: actual'));
  t.true(mptcpify!.log.includes('test_mptcpify:FAIL:run_mptcpify unexpected error: -5 (errno 92)'));
  t.false(mptcpify!.log.some((l) => l.startsWith('test_base:')));
  t.deepEqual(summarize(result.tests).counts, { passed: 0, failed: 2, crashed: 0, skipped: 0, errors: 0 });
});

test('the JSON subtest message becomes the subtest log', (t) => {
  const result = parseTestProgsJson(fixture('map-cmp-delete-fail.json'));
  const contract = result.tests[0]!.children[0]!;
  t.is(contract.log.length, 13);
  t.is(contract.log[2], 'test_contract:FAIL:mismatch -> EBUSY unexpected mismatch -> EBUSY: actual -22 != expected -16');
  t.deepEqual(result.tests[0]!.log, []);
});

test('verbose output cut off inside a test: the lines after the last result are an "(output ended)" crash', (t) => {
  const result = parseTestProgs(fixture('verbose-cut-off.log'));
  const ended = result.tests[1]!;
  t.deepEqual(ended.log, ['test_contract:PASS:create cmp_hash 0 nsec', 'test_contract:PASS:insert key 1 0 nsec']);
  t.is(summarize(result.tests).status, 'crashed');
  t.deepEqual(result.tests[0]!.children[0]!.log.slice(0, 1), ['bpf_testmod.ko is already unloaded.']);
});

test('cut off between a subtest line and the test line: the parent is crashed with an "(unfinished)" leaf', (t) => {
  const text = '#121/1   htab_update/reenter_update:OK\ntest_concurrent_update:PASS:no mem 0 nsec\n';
  const result = parseTestProgs(text);
  const parent = result.tests[0]!;
  t.is(parent.status, 'crashed');
  t.deepEqual(parent.children.map((c) => `${c.name}:${c.status}`), ['reenter_update:pass', '(unfinished):crashed']);
  t.deepEqual(parent.children[1]!.log, ['test_concurrent_update:PASS:no mem 0 nsec']);
  t.true(parent.errors[0]!.startsWith('no "#121 htab_update:RESULT" line'));
  t.deepEqual(result.errors, ['output ended before the "Summary:" line']);
});

test('a caught signal crashes the test test_progs was running and keeps the backtrace', (t) => {
  const node = parseTestProgs(fixture('caught-signal.log')).tests[0]!;
  t.is(node.status, 'crashed');
  t.deepEqual(node.errors, ['test_progs caught signal 11 during this test']);
  t.deepEqual(node.log.slice(0, 2), ['Caught signal #11!', 'Stack trace:']);
});

test('a test failing outside its subtests gets an "(outside subtests)" leaf', (t) => {
  const text = [
    'test_htab_update:FAIL:cleanup unexpected error: -1 (errno 2)',
    '#121/1   htab_update/reenter_update:OK',
    '#121/2   htab_update/concurrent_update:OK',
    '#121     htab_update:FAIL',
    'Summary: 0/2 PASSED, 0 SKIPPED, 1 FAILED',
  ].join('\n');
  const result = parseTestProgs(text);
  t.deepEqual(result.tests[0]!.children.map((c) => `${c.name}:${c.status}`), [
    'reenter_update:pass',
    'concurrent_update:pass',
    '(outside subtests):fail',
  ]);
  t.is(summarize(result.tests).status, 'fail');
  t.deepEqual(result.errors, []);
});

test('subtest names may hold "/" and ":"; printk prefixes are stripped', (t) => {
  const text = '[   10.000000] #7/3     verifier_basic/invalid: ptr/arith:FAIL\n[   10.000001] #7       verifier_basic:FAIL\n';
  const node = parseTestProgs(text).tests[0]!;
  t.is(node.name, 'verifier_basic');
  t.deepEqual(shape(node.children[0]!), { name: 'invalid: ptr/arith', number: 3, status: 'fail' });
});

test('a single run is not wrapped in a "run 1" node', (t) => {
  const result = parseTestProgs(fixture('map-cmp-delete-pass.log'));
  t.deepEqual(result.tests.map((n) => n.name), ['map_cmp_delete']);
  t.is(result.summary?.passed, 1);
});

test('two real runs: each judged, the failing assertion stays with run 1, the tree fails', (t) => {
  const result = parseTestProgs(fixture('two-runs-fail-then-pass.log'));
  const [run1, run2] = result.tests;
  t.deepEqual(run1!.log, ['Summary: 0/0 PASSED, 0 SKIPPED, 1 FAILED']);
  t.true(run1!.children[0]!.children[0]!.log.some((l) => l.startsWith('test_contract:FAIL:compare fields without flag -> EINVAL')));
  t.false(run2!.children[0]!.children[0]!.log.some((l) => l.includes(':FAIL:')));
  t.deepEqual(summarize(result.tests).counts, { passed: 1, failed: 1, crashed: 0, skipped: 0, errors: 0 });
  t.is(summarize(result.tests).status, 'fail');
});

test('a second Summary with no result lines before it is a run of its own that verified nothing', (t) => {
  const result = parseTestProgs('#1       a:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\nSummary: 0/0 PASSED, 0 SKIPPED, 0 FAILED\n');
  t.deepEqual(result.tests.map((n) => `${n.name}:${n.status}`), ['run 1:pass', 'run 2:skip']);
  t.deepEqual(result.tests[1]!.log, ['Summary: 0/0 PASSED, 0 SKIPPED, 0 FAILED', 'no result lines in this run']);
  t.deepEqual(result.errors, []);
});

test('a second run cut off: its errors sit on its node, the first run still passes', (t) => {
  const result = parseTestProgs('#1/1     a/x:OK\n#1       a:OK\nSummary: 1/1 PASSED, 0 SKIPPED, 0 FAILED\n#1/1     a/x:OK\n');
  const [run1, run2] = result.tests;
  t.is(run1!.status, 'pass');
  t.is(run2!.status, 'crashed');
  t.deepEqual(run2!.errors, ['output ended before the "Summary:" line']);
  t.deepEqual(result.errors, []);
});

test('a -J file that lists no passing test: the passes it counts become one leaf', (t) => {
  const result = parseTestProgsJson(readFileSync(new URL('../fixtures/runs/pass/test_progs.json', import.meta.url), 'utf8'));
  t.deepEqual(result.tests.map(shape), [{ name: '(1 passed, not listed)', status: 'pass' }]);
  t.deepEqual(result.errors, []);
  t.is(summarize(result.tests).status, 'pass');
});

test('a Summary that disagrees with the result lines is an error', (t) => {
  const result = parseTestProgs('#1       a:OK\nSummary: 2/0 PASSED, 0 SKIPPED, 1 FAILED\n');
  t.deepEqual(result.errors, ['Summary says 1 failed but 0 failing tests were read', 'Summary says 2 passed but 1 passing tests were read']);
});

test('a repeated result line outside the recap is an error on the node', (t) => {
  const result = parseTestProgs('#1       a:OK\n#1       a:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\n');
  t.is(result.tests.length, 1);
  t.deepEqual(result.tests[0]!.errors, ['second result line for #1']);
});

test('no result lines at all is one error', (t) => {
  t.deepEqual(parseTestProgs('').errors, ['no test_progs result lines found']);
  t.deepEqual(parseTestProgs('').tests, []);
});

test('bad JSON is an error, never an exception', (t) => {
  t.deepEqual(parseTestProgsJson('{"success":').tests, []);
  t.regex(parseTestProgsJson('{"success":').errors[0]!, /^test_progs JSON does not parse/);
  t.deepEqual(parseTestProgsJson('[]').errors, ['test_progs JSON is not an object']);
  const partial = parseTestProgsJson('{"results":[{"name":"x","failed":true,"subtests":[7]}, 3]}');
  t.deepEqual(partial.tests.map(shape), [{ name: 'x', status: 'fail' }]);
  t.deepEqual(partial.errors, [
    'test_progs JSON lacks the success/success_subtest/skipped/failed counts',
    'results[0].subtests[0] is not an object',
    'results[1] is not an object',
  ]);
});

test('an older -J file that lists passing entries reads them as passed', (t) => {
  const json = JSON.stringify({
    success: 1, success_subtest: 1, skipped: 0, failed: 0,
    results: [{ name: 'map_cmp_delete', number: 181, message: '', failed: false, subtests: [{ name: 'contract', number: 1, message: '', is_subtest: true, failed: false }] }],
  });
  const result = parseTestProgsJson(json);
  t.deepEqual(result.tests.map(shape), [{ name: 'map_cmp_delete', number: 181, status: 'pass', children: [{ name: 'contract', number: 1, status: 'pass' }] }]);
  t.deepEqual(result.errors, []);
});

test('never throws on garbage (fuzz)', (t) => {
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const atoms = ['#', '1', '/', '2', ' ', '   ', ':OK', ':FAIL', ':SKIP', ' (SKIP: 1/2)', 'Summary: ', 'All error logs:', 'Caught signal #11!', '\n', 'a', '{', '"', '[', ']', '}'];
  for (let round = 0; round < 300; round++) {
    let text = '';
    const length = rand(300);
    for (let i = 0; i < length; i++) text += rand(5) === 0 ? String.fromCharCode(rand(0x3000)) : atoms[rand(atoms.length)];
    const a = parseTestProgs(text);
    const b = parseTestProgsJson(text);
    t.false(a.errors.some((e) => e.startsWith('test_progs parser failed')), text);
    t.true(Array.isArray(b.tests));
  }
});

test('a subtest that FAILs under a test that passed is an expected failure (prog_tests_framework, 7.2.6, as its test_progs printed it here); a real failure is still one', (t) => {
  const text = [
    '#308/1   prog_tests_framework/test_good_subtest:OK',
    '#308/2   prog_tests_framework/test_skip_subtest:SKIP',
    '#308/3   prog_tests_framework/test_skip_subtest:SKIP',
    '#308/4   prog_tests_framework/test_fail_subtest:FAIL',
    '#308     prog_tests_framework:OK',
    'test_topo:FAIL:fallback count unexpected fallback count: actual 0 != expected 1',
    '#32/1    bpf_smc/topo:FAIL',
    '#32      bpf_smc:FAIL',
    'Summary: 1/1 PASSED, 2 SKIPPED, 1 FAILED',
  ].join('\n');
  const result = parseTestProgs(text);
  const framework = result.tests.find((n) => n.name === 'prog_tests_framework')!;
  t.is(framework.status, 'pass');
  t.deepEqual(framework.children.map((c) => c.status), ['pass', 'skip', 'skip', 'xfail']);
  t.regex(framework.children[3]!.directive!.reason, /prog_tests_framework passed: the test counted this failure itself/);
  const smc = result.tests.find((n) => n.name === 'bpf_smc')!;
  t.deepEqual([smc.status, smc.children[0]!.status], ['fail', 'fail']);
});
