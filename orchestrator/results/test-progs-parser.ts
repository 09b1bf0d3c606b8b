// The BPF selftest runner test_progs (tools/testing/selftests/bpf/test_progs.c, Linux 6.12) to TestNodes.
//
// test_progs buffers a test's output; when the test ends it prints that output (for failed tests, or all with -v),
// then "#N/M test/subtest:RESULT" per subtest and "#N test:RESULT" (dump_test_log, print_subtest_name,
// print_test_result; "#%-7d"/"#%-7s" padding). So the lines since the previous result line belong to the next one.
// Without -v a failing run repeats the failed tests after "All error logs:"; the run ends with
// "Summary: %d/%d PASSED, %d SKIPPED, %d FAILED" (tests/subtests passed; calculate_summary_and_print_errors).
// 7.x may add " (%d not built)" after SKIPPED, and 7.3 counts failures as tests/subtests too: "%d/%d FAILED".
// test_progs prints nothing after its Summary, so a result line after it (or a second Summary) is a second run:
// the runs then become top-level nodes "run 1", "run 2", ..., each judged on its own.
import { splitLines, stripPrintkPrefix } from './printk-prefix.ts';
import { reconcileParents, unfinishedLeaf } from './synthetic-leaf.ts';
import { newTest, type TestNode, type TestStatus } from './tree.ts';

export interface TestProgsSummary {
  /** Tests with no failure (skipped tests included, as test_progs counts them). */
  passed: number;
  passedSubtests: number;
  skipped: number;
  failed: number;
  /** Subtests that failed, where the runner says (7.3's "%d/%d FAILED", -J's "failed_subtest"). */
  failedSubtests?: number;
  /** Selected tests whose BPF objects were not built (7.x's "(%d not built)"). */
  notBuilt?: number;
}

export interface TestProgsResult {
  /** The tests of the run; with several runs in the text, one "run N" node each, holding that run's tests and errors. */
  tests: TestNode[];
  /** The run's Summary line; absent with several runs (each run node's log ends with its own). */
  summary?: TestProgsSummary;
  errors: string[];
}

// print_test_result: "OK (SKIP: n/m)" when only some subtests skipped.
const TEST_LINE = /^#(\d+)\s+(\S.*?):(OK|FAIL|SKIP)(?: \(SKIP: (\d+)\/(\d+)\))?\s*$/;
// Test names are C identifiers; a subtest name may hold "/" and ":" itself.
const SUBTEST_LINE = /^#(\d+)\/(\d+)\s+([^/\s]+)\/(.*):(OK|FAIL|SKIP)\s*$/;
const SUMMARY_LINE = /^Summary: (\d+)\/(\d+) PASSED, (\d+) SKIPPED(?: \((\d+) not built\))?, (\d+)(?:\/(\d+))? FAILED\s*$/;
const ERROR_LOGS_LINE = /^All error logs:\s*$/;

/** A whole test's result line ("#12     name:OK"), as the parser reads it; undefined for a subtest's or any other line. */
export function testResultLine(line: string): { name: string; result: string } | undefined {
  if (SUBTEST_LINE.test(line)) return undefined;
  const m = TEST_LINE.exec(line);
  return m ? { name: m[2]!, result: m[3]! } : undefined;
}
// crash_handler: prints the running test as FAIL, then this on stderr, then a backtrace.
const SIGNAL_LINE = /^(?:\[\d+\]: )?Caught signal #(\d+)!/;

const STATUS: Record<string, TestStatus> = { OK: 'pass', FAIL: 'fail', SKIP: 'skip' };

interface State {
  tests: TestNode[];
  byNumber: Map<number, TestNode>;
  finished: Set<number>;
  pending: string[];
  errors: string[];
  recap: boolean;
  lastFinished?: TestNode;
  signal?: number;
  summary?: TestProgsSummary;
  summaryLine?: string;
}

const newState = (): State => ({ tests: [], byNumber: new Map(), finished: new Set(), pending: [], errors: [], recap: false });

const startsRun = (line: string): boolean => SUBTEST_LINE.test(line) || TEST_LINE.test(line) || SUMMARY_LINE.test(line);

function runStatus(tests: readonly TestNode[]): TestStatus {
  const statuses = tests.map((t) => t.status);
  if (statuses.includes('crashed')) return 'crashed';
  if (statuses.includes('fail')) return 'fail';
  if (statuses.every((x) => x === 'skip')) return 'skip';
  return 'pass';
}

function runNode(s: State, index: number): TestNode {
  const node = newTest(`run ${index + 1}`, runStatus(s.tests));
  node.children = s.tests;
  node.errors = s.errors;
  if (s.summaryLine) node.log = [s.summaryLine];
  if (s.tests.length === 0) node.log.push('no result lines in this run');
  return node;
}

function testNode(s: State, number: number, name: string): TestNode {
  const existing = s.byNumber.get(number);
  if (existing) {
    if (existing.name !== name) existing.errors.push(`#${number} is named both "${existing.name}" and "${name}"`);
    return existing;
  }
  const node = newTest(name);
  node.number = number;
  s.tests.push(node);
  s.byNumber.set(number, node);
  return node;
}

function takePending(s: State): string[] {
  const lines = s.pending;
  s.pending = [];
  return lines;
}

function onSubtest(s: State, m: RegExpExecArray): void {
  const parent = testNode(s, Number(m[1]), m[3]!);
  const number = Number(m[2]);
  const repeated = parent.children.find((c) => c.number === number);
  if (repeated) {
    // The "All error logs:" recap prints failed subtests again.
    if (!s.recap) repeated.errors.push(`second result line for #${m[1]}/${number}`);
    const log = takePending(s);
    if (repeated.log.length === 0) repeated.log = log;
    return;
  }
  const child = newTest(m[4]!, STATUS[m[5]!]);
  child.number = number;
  child.log = takePending(s);
  parent.children.push(child);
}

function onTest(s: State, m: RegExpExecArray): void {
  const number = Number(m[1]);
  const node = testNode(s, number, m[2]!);
  if (s.finished.has(number)) {
    if (!s.recap) node.errors.push(`second result line for #${number}`);
    const log = takePending(s);
    if (node.log.length === 0) node.log = log;
    return;
  }
  node.status = STATUS[m[3]!]!;
  node.log.push(...takePending(s));
  s.finished.add(number);
  s.lastFinished = node;
}

/**
 * A subtest that failed under a test that passed: test_progs adds a subtest's failure to its test's, so only a test
 * that cleared its own state can pass over it. prog_tests_framework does, to check that the failure was counted
 * (its test_fail_subtest FAILs by design, on every kernel). Such a subtest is an expected failure, said as one.
 */
export function expectedSubtestFailures(tests: readonly TestNode[]): void {
  for (const test of tests) {
    if (test.status !== 'pass') continue;
    for (const sub of test.children) {
      if (sub.status !== 'fail') continue;
      sub.status = 'xfail';
      sub.directive = { kind: 'XFAIL', reason: `failed, but ${test.name} passed: the test counted this failure itself` };
    }
  }
}

function finish(s: State): void {
  const trailing = takePending(s);
  const unfinished = s.tests.filter((t) => !s.finished.has(t.number!));
  for (const node of unfinished) node.errors.push(`no "#${node.number} ${node.name}:RESULT" line: test_progs stopped before this test finished`);
  if (s.signal !== undefined && s.lastFinished) {
    s.lastFinished.status = 'crashed';
    s.lastFinished.log.push(...trailing);
    s.lastFinished.errors.push(`test_progs caught signal ${s.signal} during this test`);
  } else if (!s.summary) {
    s.errors.push('output ended before the "Summary:" line');
    const last = unfinished[unfinished.length - 1];
    if (last) last.children.push(unfinishedLeaf(trailing));
    else if (trailing.some((l) => l.trim() !== '')) {
      // Verbose output of a test that never printed its result line.
      const node = newTest('(output ended)', 'crashed');
      node.log = trailing;
      node.errors.push('these lines follow the last result line; the test that printed them never finished');
      s.tests.push(node);
    }
  }
  if (s.summary) {
    const failed = s.tests.filter((t) => t.status === 'fail' || t.status === 'crashed').length;
    const passed = s.tests.filter((t) => t.status === 'pass' || t.status === 'skip').length;
    if (failed !== s.summary.failed) s.errors.push(`Summary says ${s.summary.failed} failed but ${failed} failing tests were read`);
    if (passed !== s.summary.passed) s.errors.push(`Summary says ${s.summary.passed} passed but ${passed} passing tests were read`);
  }
  reconcileParents(s.tests);
  expectedSubtestFailures(s.tests);
}

function feed(s: State, line: string): void {
  let m: RegExpExecArray | null;
  if ((m = SUBTEST_LINE.exec(line))) return onSubtest(s, m);
  if ((m = TEST_LINE.exec(line))) return onTest(s, m);
  if ((m = SUMMARY_LINE.exec(line))) {
    s.summary = {
      passed: Number(m[1]),
      passedSubtests: Number(m[2]),
      skipped: Number(m[3]),
      failed: Number(m[5]),
      ...(m[6] === undefined ? {} : { failedSubtests: Number(m[6]) }),
      ...(m[4] === undefined ? {} : { notBuilt: Number(m[4]) }),
    };
    s.summaryLine = line;
    s.pending = [];
    return;
  }
  if (ERROR_LOGS_LINE.test(line)) {
    s.recap = true;
    s.pending = [];
    return;
  }
  if ((m = SIGNAL_LINE.exec(line))) s.signal = Number(m[1]);
  s.pending.push(line);
}

/** Parses test_progs stdout/stderr (or a console log holding it); never throws. */
export function parseTestProgs(text: string): TestProgsResult {
  const runs: State[] = [newState()];
  const errors: string[] = [];
  try {
    for (const raw of splitLines(text)) {
      const line = stripPrintkPrefix(raw);
      if (runs[runs.length - 1]!.summary && startsRun(line)) runs.push(newState());
      feed(runs[runs.length - 1]!, line);
    }
    for (const s of runs) finish(s);
  } catch (cause) {
    errors.push(`test_progs parser failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (runs.length > 1) return { tests: runs.map(runNode), errors };
  const s = runs[0]!;
  s.errors.push(...errors);
  if (s.tests.length === 0 && !s.summary) s.errors = ['no test_progs result lines found'];
  const result: TestProgsResult = { tests: s.tests, errors: s.errors };
  if (s.summary) result.summary = s.summary;
  return result;
}

// `test_progs -J file` (jsonw_* calls in dump_test_log and calculate_summary_and_print_errors). Its "results" come
// from the "All error logs" recap: only failed tests and their failed subtests, and nothing at all with -v (6.12).
// Older versions could list passing entries too; one with "failed": false is read as passed (skips are not marked).
// The passing tests it does not list become one "(N passed, not listed)" leaf, so a clean run reads as a pass.
interface JsonEntry {
  name?: unknown;
  number?: unknown;
  message?: unknown;
  failed?: unknown;
  subtests?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonNode(entry: JsonEntry, where: string, errors: string[]): TestNode {
  const name = typeof entry.name === 'string' ? entry.name : '';
  if (name === '') errors.push(`${where}: no "name"`);
  const node = newTest(name, entry.failed === true ? 'fail' : 'pass');
  if (typeof entry.failed !== 'boolean') errors.push(`${where}: "failed" is not a boolean`);
  if (typeof entry.number === 'number') node.number = entry.number;
  if (typeof entry.message === 'string' && entry.message !== '') node.log = splitLines(entry.message);
  return node;
}

function unlistedPasses(count: number, summary: TestProgsSummary): TestNode {
  const node = newTest(`(${count} passed, not listed)`, 'pass');
  // "success" counts skipped tests too, and -J does not say which: the log says so rather than guessing.
  node.log = [`test_progs -J lists failed tests only: ${count} more passed (${summary.passedSubtests} subtests passed, ${summary.skipped} skipped in all)`];
  return node;
}

/** Parses the JSON file `test_progs -J` writes; never throws. */
export function parseTestProgsJson(json: string): TestProgsResult {
  const errors: string[] = [];
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (cause) {
    return { tests: [], errors: [`test_progs JSON does not parse: ${cause instanceof Error ? cause.message : String(cause)}`] };
  }
  if (!isObject(data)) return { tests: [], errors: ['test_progs JSON is not an object'] };
  const result: TestProgsResult = { tests: [], errors };
  const counts = [data.success, data.success_subtest, data.skipped, data.failed];
  if (counts.every((n) => typeof n === 'number')) {
    const [passed, passedSubtests, skipped, failed] = counts as number[];
    result.summary = { passed: passed!, passedSubtests: passedSubtests!, skipped: skipped!, failed: failed!, ...(typeof data.failed_subtest === 'number' ? { failedSubtests: data.failed_subtest } : {}) };
  } else errors.push('test_progs JSON lacks the success/success_subtest/skipped/failed counts');
  const entries = Array.isArray(data.results) ? data.results : [];
  if (!Array.isArray(data.results)) errors.push('test_progs JSON has no "results" array');
  entries.forEach((entry: unknown, i: number) => {
    if (!isObject(entry)) return void errors.push(`results[${i}] is not an object`);
    const node = jsonNode(entry, `results[${i}]`, errors);
    const subtests = Array.isArray(entry.subtests) ? entry.subtests : [];
    subtests.forEach((sub: unknown, j: number) => {
      if (isObject(sub)) node.children.push(jsonNode(sub, `results[${i}].subtests[${j}]`, errors));
      else errors.push(`results[${i}].subtests[${j}] is not an object`);
    });
    result.tests.push(node);
  });
  if (result.summary) {
    const failed = result.tests.filter((t) => t.status === 'fail').length;
    if (failed !== 0 && failed !== result.summary.failed) errors.push(`"failed" is ${result.summary.failed} but ${failed} failed tests are listed`);
    const unlisted = result.summary.passed - result.tests.filter((t) => t.status === 'pass').length;
    if (unlisted > 0) result.tests.push(unlistedPasses(unlisted, result.summary));
  }
  reconcileParents(result.tests);
  expectedSubtestFailures(result.tests);
  return result;
}
