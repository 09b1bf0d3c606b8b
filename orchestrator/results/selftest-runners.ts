// The BPF selftests' other runners to TestNodes: test_verifier and test_maps (tools/testing/selftests/bpf, Linux 7.2).
//
// test_verifier (do_test, do_test_single): for each test i, "#%d/u %s " (unprivileged, when the test runs so) and
// "#%d/p %s " (privileged), then its result on the same line: "OK", "%d cases OK", "OK (NOTE: ...)", "SKIP",
// "SKIP (reason)", or "FAIL" with the reason after it or on the next lines (the verifier log, "EXP:"/"RES:").
// It ends with "Summary: %d PASSED, %d SKIPPED, %d FAILED". Test numbers move when a series adds tests, so a
// node is named by its description and mode ("descr /p"), with " #2" for a second test of the same description.
//
// test_maps runs a fixed sequence with no per-test result lines; a failed CHECK prints "func(line):FAIL:..." and
// exits, an assert aborts. It ends with "test_maps: OK, %d SKIPPED". One node, judged on that line.
// Like the other parsers these never throw: a test whose result line never came reads as crashed.
import { splitLines, stripPrintkPrefix } from './printk-prefix.ts';
import { newTest, type TestNode } from './tree.ts';

export interface RunnerResult {
  tests: TestNode[];
  summary?: { passed: number; skipped: number; failed: number };
  errors: string[];
}

const VERIFIER_TEST = /^#(\d+)\/([up]) (.*)$/;
const VERIFIER_SUMMARY = /^Summary: (\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED\s*$/;
/** The result at the end of a test line: what do_test_single printed after "#N/m descr ". */
const VERIFIER_RESULT = /^(.*?) (?:(?:(\d+) cases )?OK(?: \((.*)\))?|SKIP(?: \((.*)\))?|(FAIL)\b:? ?(.*))\s*$/;

/** One finished run of one program ("#123/u descr OK"), as parseTestVerifier reads it; undefined for any other line. */
export function verifierRunLine(line: string): { name: string; result: string } | undefined {
  const test = VERIFIER_TEST.exec(line);
  const r = test && VERIFIER_RESULT.exec(test[3]!);
  return r ? { name: r[1]!, result: test[3]!.slice(r[1]!.length).trim() } : undefined;
}

export function parseTestVerifier(text: string): RunnerResult {
  const result: RunnerResult = { tests: [], errors: [] };
  const seen = new Map<string, number>();
  let current: TestNode | undefined;
  for (const raw of splitLines(text)) {
    const line = stripPrintkPrefix(raw);
    const summary = VERIFIER_SUMMARY.exec(line);
    if (summary) {
      result.summary = { passed: Number(summary[1]), skipped: Number(summary[2]), failed: Number(summary[3]) };
      current = undefined;
      continue;
    }
    const test = VERIFIER_TEST.exec(line);
    if (!test) {
      // The lines after "FAIL" are its reason (the verifier's log); any other stray line belongs to the test before.
      if (current && line.trim()) {
        current.log.push(line);
        if (current.status === 'fail' && current.errors.length === 0) current.errors.push(line.trim());
      }
      continue;
    }
    const [, , mode, rest] = test;
    const r = VERIFIER_RESULT.exec(rest!);
    const descr = (r ? r[1]! : rest!.trim());
    const base = `${descr} /${mode}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const node = newTest(n > 1 ? `${base} #${n}` : base);
    node.number = Number(test[1]);
    node.log.push(line);
    if (!r) {
      // "#N/p descr " and nothing after it: the test did not finish (the runner died in it).
      node.errors.push('no result: the runner stopped in this test');
    } else if (r[5]) {
      node.status = 'fail';
      if (r[6]?.trim()) node.errors.push(r[6].trim());
    } else if (rest!.match(/ SKIP(?: \(.*\))?\s*$/)) {
      node.status = 'skip';
      node.directive = { kind: 'SKIP', reason: r[4] ?? 'skipped by test_verifier' };
    } else {
      node.status = 'pass';
    }
    result.tests.push(node);
    current = node;
  }
  if (!result.summary) result.errors.push('output ended before the "Summary:" line');
  else {
    const counted = { passed: result.tests.filter((t) => t.status === 'pass').length, failed: result.tests.filter((t) => t.status === 'fail').length };
    if (counted.passed !== result.summary.passed || counted.failed !== result.summary.failed) {
      result.errors.push(`Summary says ${result.summary.passed} passed and ${result.summary.failed} failed; the test lines say ${counted.passed} and ${counted.failed}`);
    }
  }
  return result;
}

const MAPS_OK = /^test_maps: OK, (\d+) SKIPPED\s*$/;
/** CHECK() in test_maps.h: "%s(%d):FAIL:%s " then the message. */
const MAPS_FAIL = /^(\w+)\((\d+)\):FAIL:(.*)$/;

export function parseTestMaps(text: string): RunnerResult {
  const node = newTest('test_maps');
  const lines = splitLines(text).map(stripPrintkPrefix);
  node.log = lines;
  const result: RunnerResult = { tests: [node], errors: [] };
  for (const line of lines) {
    const ok = MAPS_OK.exec(line);
    if (ok) {
      node.status = 'pass';
      result.summary = { passed: 1, skipped: Number(ok[1]), failed: 0 };
    }
    const fail = MAPS_FAIL.exec(line);
    if (fail && node.errors.length === 0) {
      node.status = 'fail';
      node.errors.push(`${fail[1]} (test_maps line ${fail[2]}): FAIL: ${fail[3]!.trim()}`);
    }
    const assertion = /Assertion `.*' failed/.exec(line);
    if (assertion && node.errors.length === 0) {
      node.status = 'fail';
      node.errors.push(line.trim());
    }
  }
  if (node.status === 'crashed') node.errors.push('output ended before "test_maps: OK" (it died, or failed in a way that printed no FAIL line)');
  return result;
}
