import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseKtap } from '../../orchestrator/results/ktap-parser.ts';
import { countLeaves, summarize, type Counts, type TestNode } from '../../orchestrator/results/tree.ts';

const kunitLog = (name: string): string =>
  readFileSync(new URL(`../fixtures/results/kunit/${name}`, import.meta.url), 'utf8');

const counts = (partial: Partial<Counts>): Counts => ({ passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0, ...partial });

const names = (tests: readonly TestNode[]): string[] => tests.map((t) => t.name);

const dedent = (text: string): string => {
  const lines = text.replace(/^\n/, '').split('\n');
  const width = Math.min(...lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length));
  return lines.map((l) => l.slice(width)).join('\n');
};

// Expected outcomes are those kunit_tool_test.py asserts for the same captures (Linux 6.12,
// tools/testing/kunit/kunit_tool_test.py, KUnitParserTest); the kunit test name is in each title.
interface KunitCase {
  log: string;
  status: ReturnType<typeof summarize>['status'];
  counts?: Partial<Counts>;
  /** Errors on the nodes plus document errors, as kunit's counts.errors. */
  errors?: number;
  minErrors?: number;
  first?: string;
}

const kunitCases: Record<string, KunitCase> = {
  test_parse_successful_test_log: { log: 'test_is_test_passed-all_passed.log', status: 'pass', errors: 0 },
  test_parse_successful_nested_tests_log: { log: 'test_is_test_passed-all_passed_nested.log', status: 'pass', errors: 0 },
  test_kselftest_nested: { log: 'test_is_test_passed-kselftest.log', status: 'pass', errors: 0, counts: { passed: 2 } },
  test_parse_failed_test_log: { log: 'test_is_test_passed-failure.log', status: 'fail', errors: 0 },
  test_missing_test_plan: { log: 'test_is_test_passed-missing_plan.log', status: 'pass', counts: { passed: 10 }, errors: 0 },
  test_skipped_test: { log: 'test_skip_tests.log', status: 'pass', counts: { passed: 4, skipped: 1 } },
  test_skipped_all_tests: { log: 'test_skip_all_tests.log', status: 'skip', counts: { skipped: 5 } },
  test_ignores_prefix_printk_time: { log: 'test_config_printk_time.log', status: 'pass', errors: 0, first: 'kunit-resource-test' },
  test_ignores_multiple_prefixes: { log: 'test_multiple_prefixes.log', status: 'pass', errors: 0, first: 'kunit-resource-test' },
  test_prefix_mixed_kernel_output: { log: 'test_interrupted_tap_output.log', status: 'pass', errors: 0, first: 'kunit-resource-test' },
  test_prefix_poundsign: { log: 'test_pound_sign.log', status: 'pass', errors: 0, first: 'kunit-resource-test' },
  test_pound_no_prefix: { log: 'test_pound_no_prefix.log', status: 'pass', errors: 0, first: 'kunit-resource-test' },
  test_kernel_panic_end: { log: 'test_kernel_panic_interrupt.log', status: 'crashed', minErrors: 1, first: 'kunit-resource-test' },
  test_ktap_format: { log: 'test_parse_ktap_output.log', status: 'pass', counts: { passed: 3 }, first: 'suite' },
  test_parse_attributes: { log: 'test_parse_attributes.log', status: 'pass', counts: { passed: 1 }, errors: 0 },
  test_output_isolated_correctly: { log: 'test_output_isolated_correctly.log', status: 'pass', first: 'example' },
  test_output_with_prefix_isolated_correctly: { log: 'test_output_with_prefix_isolated_correctly.log', status: 'pass', errors: 0 },
};

for (const [kunitTest, expected] of Object.entries(kunitCases)) {
  test(`kunit ${kunitTest}: ${expected.log}`, (t) => {
    const result = parseKtap(kunitLog(expected.log));
    const tree = summarize(result.tests);
    const errors = tree.counts.errors + result.errors.length;
    t.is(tree.status, expected.status);
    if (expected.counts) t.deepEqual({ ...tree.counts, errors: 0 }, counts(expected.counts));
    if (expected.errors !== undefined) t.is(errors, expected.errors, JSON.stringify(result.errors));
    if (expected.minErrors !== undefined) t.true(errors >= expected.minErrors);
    if (expected.first) t.is(result.tests[0]?.name, expected.first);
  });
}

test('kunit test_no_header / test_no_kunit_output: no version line is one document error', (t) => {
  for (const log of ['test_is_test_passed-no_tests_run_no_header.log', 'test_insufficient_memory.log']) {
    const result = parseKtap(kunitLog(log));
    t.deepEqual(result.tests, []);
    t.deepEqual(result.errors, ['no KTAP or TAP version line found']);
  }
});

test('kunit test_no_tests: a bare 1..0 plan (KUnit when a filter matches no suite) is no tests, not a parse error', (t) => {
  // kunit_tool counts one error here; vm-test reads "1..0" as what it says, so `parse` reports no_tests, not parse_error.
  const result = parseKtap(kunitLog('test_is_test_passed-no_tests_run_with_header.log'));
  t.deepEqual(result.tests, []);
  t.deepEqual(result.errors, []);
  t.is(summarize(result.tests).status, 'no_tests');
  t.deepEqual(parseKtap('KTAP version 1\n1..0\n').errors, []);
  // A document that promised tests and printed none is still an error.
  t.deepEqual(parseKtap('KTAP version 1\n1..2\n').errors, ['plan promised 2 tests but only 0 reported']);
});

// KUnit's parameterised case as some kernels print it: the case's version and Subtest lines at the suite's
// indentation (4), its results at 8, and its own result back at 4.
const PARAMS_HEADER_LEFT = [
  'KTAP version 1',
  '1..1',
  '    KTAP version 1',
  '    # Subtest: example',
  '    # module: kunit_example_test',
  '    1..2',
  '    ok 1 example_simple_test',
  '    KTAP version 1',
  '    # Subtest: example_params_test',
  '    # example_params_test: initializing',
  '        ok 1 example value 3',
  '        not ok 2 example value 2',
  '    # example_params_test: pass:1 fail:1 skip:0 total:2',
  '    not ok 2 example_params_test',
  '# example: pass:1 fail:1 skip:0 total:2',
  'not ok 1 example',
].join('\n');

test('nesting follows version lines: a subtest whose header is left of its results is one level, and its failure is kept', (t) => {
  const result = parseKtap(PARAMS_HEADER_LEFT);
  t.deepEqual(result.errors, []);
  const shape = (n: TestNode): unknown => [n.name, n.status, n.errors, n.children.map(shape)];
  t.deepEqual(result.tests.map(shape), [
    ['example', 'fail', [], [
      ['example_simple_test', 'pass', [], []],
      ['example_params_test', 'fail', [], [['example value 3', 'pass', [], []], ['example value 2', 'fail', [], []]]],
    ]],
  ]);
  t.deepEqual(countLeaves(result.tests), counts({ passed: 2, failed: 1 }));
  // The same case as the suite's only content: its version line at 4, its results at 8, no plan.
  const alone = parseKtap(['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: example_params_test',
    '        ok 1 example value 3', '        not ok 2 example value 2', '    not ok 1 example_params_test'].join('\n'));
  t.deepEqual(alone.tests.map(shape), [
    ['example_params_test', 'fail', [], [['example value 3', 'pass', [], []], ['example value 2', 'fail', [], []]]],
  ]);
});

test('kunit test_no_tests_no_plan: a subtest header with no subtests is one error', (t) => {
  const result = parseKtap(kunitLog('test_is_test_passed-no_tests_no_plan.log'));
  const suite = result.tests[0]!;
  t.is(suite.name, 'suite');
  t.is(suite.children[0]!.name, 'case');
  t.deepEqual(suite.children[0]!.children, []);
  t.deepEqual(suite.children[0]!.errors, ['0 tests run']);
  t.deepEqual(countLeaves(result.tests), counts({ passed: 1, errors: 1 }));
});

test('kunit test_ignores_hyphen: "ok 1 name" and "ok 1 - name" give the same name', (t) => {
  const result = parseKtap(kunitLog('test_strip_hyphen.log'));
  t.deepEqual(names(result.tests), ['sysctl_test', 'example']);
  t.deepEqual(names(result.tests[1]!.children), ['example_simple_test']);
  t.is(summarize(result.tests).status, 'pass');
});

test('kunit test_parse_subtest_header: "KTAP version 1" then "# Subtest: suite" names the suite', (t) => {
  const result = parseKtap(kunitLog('test_parse_subtest_header.log'));
  t.is(result.tests[0]!.name, 'suite');
  t.is(result.tests[0]!.children.length, 1);
  t.deepEqual(result.errors, []);
});

test('kunit test_parse_attributes: attributes go to the suite before its plan and to the case after it', (t) => {
  const result = parseKtap(kunitLog('test_parse_attributes.log'));
  const suite = result.tests[0]!;
  t.true(suite.log.some((l) => l.includes('# module: example')));
  t.true(suite.children[0]!.log.some((l) => l.includes('# test.speed: slow')));
  t.false(suite.log.some((l) => l.includes('# test.speed: slow')));
});

test('kunit test_kernel_panic_end: output cut by a panic leaves the running suite crashed with placeholders', (t) => {
  const result = parseKtap(kunitLog('test_kernel_panic_interrupt.log'));
  t.deepEqual(names(result.tests), ['kunit-resource-test', 'kunit-try-catch-test', 'string-stream-test']);
  const suite = result.tests[2]!;
  t.is(suite.status, 'crashed');
  t.deepEqual(suite.children.map((c) => [c.number, c.status]), [[1, 'pass'], [2, 'crashed'], [3, 'crashed']]);
  t.true(suite.errors.some((e) => e.includes('plan promised 3 tests but only 1 reported')));
  t.true(suite.errors.some((e) => e.startsWith('no result line')));
  // The panic line printed where test 2 ran is in test 2's log.
  t.true(suite.children[1]!.log.some((l) => l.includes('Kernel panic - not syncing')));
  t.deepEqual(countLeaves(result.tests), counts({ passed: 8, crashed: 2, errors: 4 }));
});

test('kunit test_prefix_mixed_kernel_output: kernel lines at column 0 go to the enclosing suite', (t) => {
  const result = parseKtap(kunitLog('test_interrupted_tap_output.log'));
  const suite = result.tests[0]!;
  t.is(suite.children.length, 5);
  t.true(suite.log.some((l) => l.startsWith('kAFS: Red Hat AFS client')));
  t.true(suite.log.some((l) => l.startsWith('BTRFS: selftest: running btrfs free space cache tests')));
});

test('kunit test_parse_failed_test_log: the failing case keeps its expectation output', (t) => {
  const result = parseKtap(kunitLog('test_is_test_passed-failure.log'));
  const example = result.tests[1]!;
  t.is(example.status, 'fail');
  const failed = example.children[0]!;
  t.is(failed.name, 'example_simple_test');
  t.is(failed.status, 'fail');
  t.true(failed.log.some((l) => l.includes('EXPECTATION FAILED at lib/kunit/example-test.c:30')));
  t.true(example.log.some((l) => l === 'kunit example: one or more tests failed'));
});

test('kunit test_show_test_output_on_failure: indented output before a result is its log', (t) => {
  const text = dedent(`
    KTAP version 1
    1..1
      Test output.
        Indented more.
    not ok 1 test1
  `);
  const result = parseKtap(text);
  t.is(summarize(result.tests).status, 'fail');
  t.deepEqual(result.tests[0]!.log, ['  Test output.', '    Indented more.']);
});

test('kunit test_summarize_failures: suites indented with tabs', (t) => {
  const text = '\t\tKTAP version 1\n\t\t1..2\n\t\t\t# Subtest: all_failed_suite\n\t\t\t1..2\n\t\t\tnot ok 1 - test1\n'
    + '\t\t\tnot ok 2 - test2\n\t\tnot ok 1 - all_failed_suite\n\t\t\t# Subtest: some_failed_suite\n\t\t\t1..2\n'
    + '\t\t\tok 1 - test1\n\t\t\tnot ok 2 - test2\n\t\tnot ok 1 - some_failed_suite\n';
  const result = parseKtap(text);
  t.is(summarize(result.tests).status, 'fail');
  t.deepEqual(names(result.tests), ['all_failed_suite', 'some_failed_suite']);
  t.deepEqual(countLeaves(result.tests), counts({ passed: 1, failed: 3, errors: 1 }));
  t.deepEqual(result.tests[1]!.errors, ['expected test number 2 but found 1']);
});

test('KTAP spec example (Documentation/dev-tools/ktap.rst): three levels, skips, a failing diagnostic', (t) => {
  const text = dedent(`
    KTAP version 1
    1..1
      KTAP version 1
      1..3
        KTAP version 1
        1..1
        # test_1: initializing test_1
        ok 1 test_1
      ok 1 example_test_1
        KTAP version 1
        1..2
        ok 1 test_1 # SKIP test_1 skipped
        ok 2 test_2
      ok 2 example_test_2
        KTAP version 1
        1..3
        ok 1 test_1
        # test_2: FAIL
        not ok 2 test_2
        ok 3 test_3 # SKIP test_3 skipped
      not ok 3 example_test_3
    not ok 1 main_test
  `);
  const result = parseKtap(text);
  t.deepEqual(result.errors, []);
  const main = result.tests[0]!;
  t.is(main.name, 'main_test');
  t.is(main.status, 'fail');
  t.deepEqual(main.children.map((c) => `${c.name}:${c.status}`), ['example_test_1:pass', 'example_test_2:pass', 'example_test_3:fail']);
  t.deepEqual(main.children[0]!.children[0]!.log, ['    # test_1: initializing test_1']);
  t.deepEqual(main.children[1]!.children[0]!.directive, { kind: 'SKIP', reason: 'test_1 skipped' });
  t.deepEqual(main.children[2]!.children[1]!.log, ['    # test_2: FAIL']);
  t.deepEqual(countLeaves(result.tests), counts({ passed: 3, failed: 1, skipped: 2 }));
});

test('directives: SKIP/TODO/XFAIL in any case; other comments fall back to ok/not ok and are kept', (t) => {
  const text = [
    'TAP version 14',
    '1..7',
    'ok 1 - a # SKIP no device',
    'not ok 2 - b # skip: not supported',
    'not ok 3 - c # TODO fix later',
    'ok 4 # XFAIL known kernel bug',
    'not ok 5 - e # TIMEOUT 30 seconds',
    'ok 6 check return code # rcode=0',
    'not ok 7 # error setup failed',
  ].join('\n');
  const [a, b, c, d, e, f, g] = parseKtap(text).tests;
  t.deepEqual([a!.status, a!.directive], ['skip', { kind: 'SKIP', reason: 'no device' }]);
  t.deepEqual([b!.status, b!.directive], ['skip', { kind: 'SKIP', reason: 'not supported' }]);
  t.deepEqual([c!.status, c!.directive], ['todo', { kind: 'TODO', reason: 'fix later' }]);
  t.deepEqual([d!.name, d!.status, d!.directive], ['', 'xfail', { kind: 'XFAIL', reason: 'known kernel bug' }]);
  t.deepEqual([e!.name, e!.status, e!.log], ['e', 'fail', ['# TIMEOUT 30 seconds']]);
  t.deepEqual([f!.name, f!.status, f!.log], ['check return code', 'pass', ['# rcode=0']]);
  t.deepEqual([g!.name, g!.status], ['error setup failed', 'fail']);
});

test('escaped "#" stays in the name', (t) => {
  const [node] = parseKtap('TAP version 14\n1..1\nok 1 - issue \\#42 regression # SKIP later\n').tests;
  t.is(node!.name, 'issue #42 regression');
  t.is(node!.status, 'skip');
});

test('out-of-order and missing numbers are errors on the node, not exceptions', (t) => {
  const result = parseKtap('KTAP version 1\n1..4\nok 1 a\nok 3 b\nok c\nok 4 d\n');
  t.deepEqual(result.tests.map((n) => [n.name, n.number, n.errors]), [
    ['a', 1, []],
    ['b', 3, ['expected test number 2 but found 3']],
    ['c', 4, ['result line has no test number (expected 4)']],
    ['d', 4, ['expected test number 5 but found 4']],
  ]);
  t.deepEqual(result.errors, []);
});

test('a plan after the results (TAP) is accepted and checked', (t) => {
  t.deepEqual(parseKtap('TAP version 13\nok 1 a\nok 2 b\n1..2\n').errors, []);
  const short = parseKtap('TAP version 13\nok 1 a\n1..3\n');
  t.deepEqual(short.tests.map((n) => `${n.name}:${n.status}`), ['a:pass', '(missing test 2):crashed', '(missing test 3):crashed']);
  t.deepEqual(short.errors, ['plan promised 3 tests but only 1 reported']);
  t.deepEqual(parseKtap('TAP version 13\n1..1\nok 1 a\nok 2 b\n').errors, ['plan promised 1 tests but 2 reported']);
});

test('missing plans: fine by default (KTAP makes them optional), errors with requirePlan', (t) => {
  const text = 'KTAP version 1\n  KTAP version 1\n  # Subtest: s\n  ok 1 a\nok 1 s\n';
  t.deepEqual(parseKtap(text).errors, []);
  t.deepEqual(parseKtap(text).tests[0]!.errors, []);
  const strict = parseKtap(text, { requirePlan: true });
  t.deepEqual(strict.errors, ['no plan line (1..N)']);
  t.deepEqual(strict.tests[0]!.errors, ['no plan line (1..N)']);
  t.is(countLeaves(parseKtap(kunitLog('test_is_test_passed-missing_plan.log'), { requirePlan: true }).tests).errors, 1);
});

test('TAP 14 subtests: four-space indent with or without "# Subtest:"', (t) => {
  const text = dedent(`
    TAP version 14
    1..2
        # Subtest: named
        1..1
        ok 1 - inner
    ok 1 - named
        ok 1 - x
        not ok 2 - y
        1..2
    not ok 2 - anonymous
  `);
  const result = parseKtap(text);
  t.deepEqual(result.errors, []);
  t.deepEqual(result.tests.map((n) => [n.name, n.status, names(n.children)]), [
    ['named', 'pass', ['inner']],
    ['anonymous', 'fail', ['x', 'y']],
  ]);
});

test('TAP 13 YAML diagnostic blocks go into the log of the test before them', (t) => {
  const text = dedent(`
    TAP version 13
    1..2
    not ok 1 - first
      ---
      message: 'expected 1, got 2'
      severity: fail
      ...
    ok 2 - second
  `);
  const result = parseKtap(text);
  t.deepEqual(result.tests[0]!.log, ['  ---', "  message: 'expected 1, got 2'", '  severity: fail', '  ...']);
  t.deepEqual(result.tests[1]!.log, []);
  t.deepEqual(result.errors, []);
});

test('an unterminated YAML block ends at the next less-indented line', (t) => {
  const result = parseKtap('TAP version 13\n1..2\nnot ok 1 - a\n  ---\n  k: v\nok 2 - b\n');
  t.deepEqual(names(result.tests), ['a', 'b']);
  t.deepEqual(result.tests[0]!.errors, ['YAML block not closed with "..."']);
});

test('printk prefixes of every shape are stripped, <6> loglevels included', (t) => {
  const text = [
    '<6>[    1.000000] KTAP version 1',
    '<6>[    1.000001] 1..1',
    '<6>[    1.000002][    T1]     KTAP version 1',
    '[    1.000003][    T1]     # Subtest: s',
    '[    1.000004]     1..1',
    '<3>[    1.000005] random: crng init done',
    '<6>    ok 1 case',
    '[    1.000006] ok 1 s',
  ].join('\r\n');
  const result = parseKtap(text);
  t.deepEqual(result.errors, []);
  t.is(result.tests[0]!.name, 's');
  t.deepEqual(result.tests[0]!.log, ['random: crng init done']);
  t.deepEqual(names(result.tests[0]!.children), ['case']);
});

test('a subtest whose result line never arrives is crashed, with an "(unfinished)" leaf when no plan says more', (t) => {
  const result = parseKtap('KTAP version 1\n1..2\n  KTAP version 1\n  # Subtest: s\n  ok 1 a\n  # still running b\n');
  const s = result.tests[0]!;
  t.is(s.status, 'crashed');
  t.deepEqual(s.children.map((c) => `${c.name}:${c.status}`), ['a:pass', '(unfinished):crashed']);
  t.deepEqual(s.children[1]!.log, ['  # still running b']);
  t.deepEqual(result.tests.map((c) => `${c.name}:${c.status}`), ['s:crashed', '(missing test 2):crashed']);
  t.is(summarize(result.tests).status, 'crashed');
});

test('a result line at the outer level closes every deeper subtest; the skipped ones crash', (t) => {
  const result = parseKtap('KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n    KTAP version 1\n    1..1\nok 1 outer\n');
  const outer = result.tests[0]!;
  t.is(outer.name, 'outer');
  t.is(outer.status, 'crashed');
  t.is(outer.children[0]!.status, 'crashed');
  t.true(outer.children[0]!.errors.some((e) => e.startsWith('no result line')));
});

test('a parent that fails with only passing subtests gets an "(outside subtests)" leaf', (t) => {
  const result = parseKtap('KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  ok 1 a\nnot ok 1 suite\n');
  t.deepEqual(result.tests[0]!.children.map((c) => `${c.name}:${c.status}`), ['a:pass', '(outside subtests):fail']);
  t.is(summarize(result.tests).status, 'fail');
});

test('Bail out! ends the document; what was open crashes', (t) => {
  const result = parseKtap('TAP version 13\n1..3\nok 1 a\nBail out! no memory\nok 2 b\n');
  t.deepEqual(result.tests.map((c) => `${c.name}:${c.status}`), ['a:pass', '(missing test 2):crashed', '(missing test 3):crashed']);
  t.true(result.errors.includes('Bail out! no memory'));
});

test('several documents in one log are all parsed', (t) => {
  const result = parseKtap('TAP version 13\n1..1\nok 1 first\nsome shell noise\nTAP version 13\n1..1\nnot ok 1 second\n');
  t.deepEqual(result.tests.map((c) => `${c.name}:${c.status}`), ['first:pass', 'second:fail']);
  t.deepEqual(result.errors, []);
});

test('kselftest nested output ("# "-prefixed) stays in the log of the test that printed it', (t) => {
  const result = parseKtap(kunitLog('test_is_test_passed-kselftest.log'));
  t.deepEqual(result.tests[0]!.log, [
    '# selftests: membarrier: membarrier_test_single_thread',
    '# TAP version 13',
    '# 1..2',
    '# ok 1 sys_membarrier available',
    '# ok 2 sys membarrier invalid command test: command = -1, flags = 0, errno = 22. Failed as expected',
  ]);
});

test('unsupported versions are recorded', (t) => {
  t.deepEqual(parseKtap('KTAP version 2\n1..1\nok 1 a\n').errors, ['KTAP version 2 is not supported']);
});

test('never throws on garbage (fuzz)', (t) => {
  // Deterministic PRNG so a failure reproduces.
  let seed = 0x2545f491;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const atoms = ['KTAP version 1', 'TAP version 14', 'TAP version 13', '1..', 'ok ', 'not ok ', '# Subtest: ', '# SKIP', '# TODO',
    '---', '...', 'Bail out!', '  ', '    ', '\t', '[   1.2] ', '<6>', '#', '-', '\\', '\n', '\r\n', '99999999999999999999', '0', '1', 'x'];
  for (let round = 0; round < 300; round++) {
    let text = '';
    const length = rand(400);
    for (let i = 0; i < length; i++) text += rand(4) === 0 ? String.fromCharCode(rand(0x3000)) : atoms[rand(atoms.length)];
    const result = parseKtap(text);
    t.true(Array.isArray(result.tests) && Array.isArray(result.errors));
    t.false(result.errors.some((e) => e.startsWith('KTAP parser failed')), text);
  }
  const deep = Array.from({ length: 500 }, (_, i) => `${' '.repeat(i * 2)}KTAP version 1`).join('\n');
  t.notThrows(() => parseKtap(deep));
  t.notThrows(() => parseKtap('KTAP version 1\n1..99999999999\n'));
  t.true(parseKtap('KTAP version 1\n1..99999999999\n').tests.length <= 1000);
});
