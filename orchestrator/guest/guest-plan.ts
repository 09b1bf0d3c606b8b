// The plan the guest init runs: one plan.tsv row per test (guest/protocol.ts), its command quoted for the guest's shell.
import type { GuestView } from './guest-view.ts';
import { planRow, planTsv, runGuestPath, STDERR_TO_PORT, type PlanRow } from './protocol.ts';

export type GuestTestKind = 'test_progs' | 'test_verifier' | 'test_maps' | 'ktap' | 'exec' | 'shell';

export interface GuestTest {
  name: string;
  kind: GuestTestKind;
  /** argv, quoted here for the guest's /bin/sh -c. */
  argv: string[];
  timeoutSec: number;
  /** Directory to run in (the full test_progs loads its BPF objects and bpf_testmod.ko from there). */
  cwd?: string;
  /** Host files whose bytes decide the result besides argv[0] (part of the boot key). */
  inputs?: string[];
  /** Its stderr on the guest's stderr port (STDERR_FD in the init), apart from stdout (vm-test exec). */
  stderrPort?: boolean;
  /**
   * Its stdout line-buffered (coreutils' stdbuf -oL; the guest runs the host's). test_progs writes its results to a
   * fully buffered stdout: with --workers its watchdog's stderr lines landed inside result lines, and a forked
   * child's exit flushed a copy of a half-written one ("#38/171 btf/type_tag test #5, type tag ordWATCHDOG: ..."),
   * so whole subtests went missing on one side of a bpf-ci run and showed as appeared or disappeared (2026-12-07).
   */
  lineBuffered?: boolean;
}

export function shellQuote(arg: string): string {
  // "~" is plain text except at a word's start (Debian versions: 7.2.6-1~bpo13+1).
  return /^[\w@%+=:,./-][\w@%+=:,./~-]*$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A test's plan.tsv row; with a view, host paths in the command and the directory become their guest paths. */
export function planRowFor(test: GuestTest, view?: GuestView): PlanRow {
  const guest = (word: string) => (view?.maps(word) ? view.toGuest(word) : word);
  // Paths outside the shares (/bin/sh) are read through the root, which the init does not cover.
  const command = `${test.lineBuffered ? 'stdbuf -oL ' : ''}${test.argv.map(guest).map(shellQuote).join(' ')}`;
  const cwd = test.cwd && view ? view.toGuest(test.cwd) : test.cwd;
  const redirect = test.stderrPort ? ` ${STDERR_TO_PORT}` : '';
  return { name: test.name, timeoutSec: test.timeoutSec, command: `${cwd ? `cd ${shellQuote(cwd)} && exec ${command}` : command}${redirect}` };
}

/** One plan line. */
export function planLine(test: GuestTest, view?: GuestView): string {
  return planRow(planRowFor(test, view));
}

export function planText(tests: readonly GuestTest[], view?: GuestView): string {
  return planTsv(tests.map((t) => planRowFor(t, view)));
}

/** Which test_progs tests a run starts, as the BPF CI spells it; passed to every test_progs the run starts. */
export interface TestProgsSelection {
  /** -t: a test name (or test/subtest) contains it. */
  test: readonly string[];
  /** -a: a glob over test (or test/subtest) names. */
  allow: readonly string[];
  /** -d: a glob over test (or test/subtest) names that are left out. */
  deny: readonly string[];
  /** --denylist: a file in the selftests' DENYLIST format, copied into the run directory and passed as -d @FILE. */
  denylist?: { file: string; entries: readonly string[] };
  /** vm-test bpf-ci --shard: this shard's tests, in a file passed as -a @FILE in place of -t and -a. */
  allowlist?: { file: string; entries: readonly string[] };
}

/** Where the guest reads the run directory's copy of the denylist. */
export const DENYLIST_GUEST_PATH = runGuestPath('test_progs-denylist.txt');
/** Where the guest reads the run directory's copy of a shard's allowlist. */
export const ALLOWLIST_GUEST_PATH = runGuestPath('test_progs-allowlist.txt');

const asSelection = (sel: TestProgsSelection | readonly string[]): TestProgsSelection =>
  Array.isArray(sel) ? { test: sel as readonly string[], allow: [], deny: [] } : (sel as TestProgsSelection);

/**
 * The -a entry that selects one test, or one of its subtests, by its name as test_progs printed it. test_progs trims
 * the spaces at the ends of an allowlist line and ends it at '#', splits -a at ',' and an entry at its first '/', and
 * its globs know only '*': what of a name those would cut or drop becomes '*' (sockmap_redir pads its subtests' names
 * with spaces). The entry may select a few more subtests than the one; never fewer.
 */
export function testProgsSelector(test: string, subtest?: string): string {
  const glob = (name: string) => name.replace(/^\s+|\s+$/g, '*').replace(/[#,]/g, '*');
  return subtest === undefined ? glob(test) : `${glob(test)}/${glob(subtest)}`;
}

export function hasTestProgs(sel: TestProgsSelection): boolean {
  return sel.test.length > 0 || sel.allow.length > 0 || (sel.allowlist?.entries.length ?? 0) > 0;
}

/** test_progs' own selection options, in the order it reads them. */
export function testProgsArgs(selection: TestProgsSelection | readonly string[]): string[] {
  const sel = asSelection(selection);
  return [
    ...(sel.test.length ? ['-t', sel.test.join(',')] : []),
    ...(sel.allow.length ? ['-a', sel.allow.join(',')] : []),
    ...(sel.allowlist ? ['-a', `@${ALLOWLIST_GUEST_PATH}`] : []),
    ...(sel.deny.length ? ['-d', sel.deny.join(',')] : []),
    ...(sel.denylist ? ['-d', `@${DENYLIST_GUEST_PATH}`] : []),
  ];
}

export function describeSelection(selection: TestProgsSelection | readonly string[]): string {
  const sel = asSelection(selection);
  const args = testProgsArgs(sel).join(' ');
  const named = sel.allowlist ? args.replace(`@${ALLOWLIST_GUEST_PATH}`, `@${sel.allowlist.file} (${sel.allowlist.entries.length} entries)`) : args;
  return sel.denylist ? named.replace(`@${DENYLIST_GUEST_PATH}`, `@${sel.denylist.file} (${sel.denylist.entries.length} entries)`) : named;
}

export function testProgsEntry(binary: string, selection: TestProgsSelection | readonly string[], jsonPath: string, timeoutSec: number, name = 'test_progs'): GuestTest {
  const sel = asSelection(selection);
  return { name, kind: 'test_progs', argv: [binary, ...testProgsArgs(sel), '-J', jsonPath], timeoutSec, lineBuffered: true, ...(sel.denylist || sel.allowlist ? { inputs: [sel.denylist?.file, sel.allowlist?.file].filter((f): f is string => !!f) } : {}) };
}

/** The full build's test_progs runs in its output directory, beside its BPF objects and bpf_testmod.ko. */
export function fullTestProgsEntry(dir: string, selection: TestProgsSelection | readonly string[], jsonPath: string, timeoutSec: number, inputs: string[]): GuestTest {
  const entry = testProgsEntry('./test_progs', selection, jsonPath, timeoutSec);
  return { ...entry, cwd: dir, inputs: [...inputs, ...(entry.inputs ?? [])] };
}
