// The one result tree every parser produces and every reporter consumes.

export type TestStatus = 'pass' | 'fail' | 'skip' | 'crashed' | 'todo' | 'xfail';

export type DirectiveKind = 'SKIP' | 'TODO' | 'XFAIL';

export interface TestNode {
  name: string;
  status: TestStatus;
  /** Test number as printed (KTAP/TAP number, test_progs #N). */
  number?: number;
  directive?: { kind: DirectiveKind; reason: string };
  /** Diagnostic and output lines that belong to this test, in order. */
  log: string[];
  children: TestNode[];
  durationMs?: number;
  /** Problems found while parsing this node (bad numbering, missing plan, ...). */
  errors: string[];
  /** Kernel splats attributed to this test. */
  splats: Splat[];
}

/** Every kind a splat can have; allowlist entries name one of these. */
export const SPLAT_KINDS = [
  'panic',
  'bug',
  'oops',
  'warning',
  'gpf',
  'kasan',
  'ubsan',
  'lockdep',
  'rcu_stall',
  'hung_task',
  'soft_lockup',
  'hard_lockup',
  // Inside the kernel's report markers (cut here, end trace, RIP:, Call Trace:) but no title the scanner knows.
  'unknown',
] as const;

export type SplatKind = (typeof SPLAT_KINDS)[number];

export interface Splat {
  kind: SplatKind;
  /** The first line of the report, printk prefix stripped. */
  title: string;
  /** The bug it reports, the same in every run: "WARNING in htab_map_delete_elem" (splat-title.ts). */
  bugTitle?: string;
  /** The whole report, from its first line to its end-trace line. */
  lines: string[];
  /** 1-based line number of the first line in the scanned log. */
  startLine: number;
  /** Name of the test that was running (from vm-test markers), if any. */
  test?: string;
  /**
   * The first test_progs result line printed after it, "#434 sockmap_redir" (console-marks.ts): under a test_progs
   * running one test at a time, the test that was running when the kernel printed it.
   */
  nextResult?: string;
  /** The allowlist entry that accepted this splat, if one did. */
  allowedBy?: string;
  /** Its frames symbolised against the vmlinux built, when it has debug info (splat-symbols.ts). */
  frames?: SplatFrame[];
  /** The first frame in a line the series adds: "in the code this series adds". */
  seriesFrame?: { ref: string; file: string; line: number };
  /** The Code: line disassembled (scripts/decodecode). */
  code?: string[];
  /** Why this dump is not a bug report (a harmless caller asked for it: "fault injection", ...); it decides no verdict. */
  informational?: string;
}

/** Does this splat decide a verdict: neither accepted by the allowlist nor a harmless dump? */
export function isBlocking(splat: Splat): boolean {
  return !splat.allowedBy && !splat.informational;
}

/** One frame of a splat: as printed (func+0xoff/0xlen), and where the vmlinux built says it is. */
export interface SplatFrame {
  ref: string;
  /** The innermost function at that address, when it is inlined into the symbol (its file and line are this one's). */
  inlined?: string;
  file?: string;
  line?: number;
  /** The functions it is inlined into, innermost first, each "func (file:line)". */
  inlinedInto?: string[];
  /** The vmlinux built has the function with another length: the report is about another kernel. */
  mismatch?: boolean;
}

export type TreeStatus = 'pass' | 'fail' | 'crashed' | 'skip' | 'no_tests' | 'parse_error';

export interface Counts {
  passed: number;
  failed: number;
  crashed: number;
  skipped: number;
  errors: number;
}

export interface ResultTree {
  status: TreeStatus;
  counts: Counts;
  tests: TestNode[];
  splats: Splat[];
}

export function newTest(name: string, status: TestStatus = 'crashed'): TestNode {
  return { name, status, log: [], children: [], errors: [], splats: [] };
}

/** Counts are of leaf tests; parse errors are counted wherever they sit. */
export function countLeaves(tests: readonly TestNode[]): Counts {
  const counts: Counts = { passed: 0, failed: 0, crashed: 0, skipped: 0, errors: 0 };
  const visit = (node: TestNode): void => {
    counts.errors += node.errors.length;
    if (node.children.length > 0) {
      node.children.forEach(visit);
      return;
    }
    switch (node.status) {
      case 'pass':
      case 'xfail':
        counts.passed++;
        break;
      case 'fail':
        counts.failed++;
        break;
      case 'crashed':
        counts.crashed++;
        break;
      case 'skip':
      case 'todo':
        counts.skipped++;
        break;
    }
  };
  tests.forEach(visit);
  return counts;
}

/** Overall status: a crash outranks a failure, which outranks a parse error, which outranks a skip. */
export function summarize(tests: TestNode[], splats: Splat[] = []): ResultTree {
  const counts = countLeaves(tests);
  const total = counts.passed + counts.failed + counts.crashed + counts.skipped;
  let status: TreeStatus;
  if (counts.crashed > 0) status = 'crashed';
  else if (counts.failed > 0) status = 'fail';
  else if (counts.errors > 0) status = 'parse_error';
  else if (total === 0) status = 'no_tests';
  else if (counts.passed === 0) status = 'skip';
  else status = 'pass';
  return { status, counts, tests, splats };
}
