// test_verifier and test_maps output to nodes: lines as their printf formats write them (7.2.6's test_verifier.c, test_maps.c).
import test from 'ava';
import { parseTestMaps, parseTestVerifier } from '../../orchestrator/results/selftest-runners.ts';

const VERIFIER = [
  '#0/u BPF_ATOMIC_AND without fetch OK',
  '#0/p BPF_ATOMIC_AND without fetch OK',
  '#1/p BPF_ATOMIC_AND with fetch 2 cases OK',
  '#2/u unpriv: return pointer SKIP',
  '#2/p unpriv: return pointer OK (NOTE: not executed due to unknown alignment)',
  '#3/p calls: invalid kfunc call: ptr_to_mem to struct with non-scalar FAIL',
  'Unexpected error message!',
  '\tEXP: arg#0 pointer type STRUCT prog_test_fail1 must point to scalar',
  '\tRES: ',
  '#4/p ld_dw: xor semi-random 64 bit imms, test 1 SKIP (requires BPF JIT)',
  '#5/p map access: known scalar FAIL retval 1 != 0 ',
  '#6/p BPF_ATOMIC_AND without fetch OK',
  'Summary: 5 PASSED, 2 SKIPPED, 2 FAILED',
].join('\n');

test('test_verifier: one node per test and mode, named by its description; OK, N cases OK, SKIP (reason), FAIL with its reason', (t) => {
  const r = parseTestVerifier(VERIFIER);
  t.deepEqual(r.tests.map((n) => [n.name, n.status]), [
    ['BPF_ATOMIC_AND without fetch /u', 'pass'],
    ['BPF_ATOMIC_AND without fetch /p', 'pass'],
    ['BPF_ATOMIC_AND with fetch /p', 'pass'],
    ['unpriv: return pointer /u', 'skip'],
    ['unpriv: return pointer /p', 'pass'],
    ['calls: invalid kfunc call: ptr_to_mem to struct with non-scalar /p', 'fail'],
    ['ld_dw: xor semi-random 64 bit imms, test 1 /p', 'skip'],
    ['map access: known scalar /p', 'fail'],
    ['BPF_ATOMIC_AND without fetch /p #2', 'pass'],
  ]);
  t.deepEqual(r.tests[5]!.errors, ['Unexpected error message!']);
  t.true(r.tests[5]!.log.includes('\tEXP: arg#0 pointer type STRUCT prog_test_fail1 must point to scalar'));
  t.deepEqual(r.tests[7]!.errors, ['retval 1 != 0']);
  t.is(r.tests[6]!.directive?.reason, 'requires BPF JIT');
  t.deepEqual(r.summary, { passed: 5, skipped: 2, failed: 2 });
  t.deepEqual(r.errors, []);
});

test('test_verifier cut off mid-test (the runner died): that test has no result, and the Summary is missing', (t) => {
  const r = parseTestVerifier('#0/p BPF_ATOMIC_AND without fetch OK\n#1/p some test ');
  t.is(r.tests[1]!.status, 'crashed');
  t.deepEqual(r.errors, ['output ended before the "Summary:" line']);
});

test('test_maps: "test_maps: OK, N SKIPPED" passes; a CHECK\'s FAIL line fails it, named; output that stops is a crash', (t) => {
  const ok = parseTestMaps('Fork 1024 tasks to \'test_update_delete\'\ntest_maps: OK, 2 SKIPPED\n');
  t.is(ok.tests[0]!.status, 'pass');
  t.deepEqual(ok.summary, { passed: 1, skipped: 2, failed: 0 });
  const failed = parseTestMaps('Fork 1024 tasks to \'test_update_delete\'\ntest_map_in_map(1184):FAIL:Failed to create inner map: -22\n');
  t.is(failed.tests[0]!.status, 'fail');
  t.deepEqual(failed.tests[0]!.errors, ['test_map_in_map (test_maps line 1184): FAIL: Failed to create inner map: -22']);
  const died = parseTestMaps('Fork 1024 tasks to \'test_update_delete\'\n');
  t.is(died.tests[0]!.status, 'crashed');
});
