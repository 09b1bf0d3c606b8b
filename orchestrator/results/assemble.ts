// Results stage: the results stream, the console log and the VM's end become one tree and one verdict.
import { bugTitleOf } from './splat-title.ts';
import { duringText } from './console-marks.ts';
import type { OutcomeKind } from '../outcome.ts';
import type { VmOutcome } from '../vm/run-vm.ts';
import type { GuestTest } from '../guest/guest-plan.ts';
import { compareRunners } from './compare-runners.ts';
import { cpuShortfall } from './guest-cpus.ts';
import { testDurations } from './splat-attribution.ts';
import { parseKtap } from './ktap-parser.ts';
import { parseTestProgs } from './test-progs-parser.ts';
import { parseTestMaps, parseTestVerifier } from './selftest-runners.ts';
import { splitResults, type Section } from './sections.ts';
import { isBlocking, newTest, summarize, type ResultTree, type Splat, type TestNode, type TestStatus } from './tree.ts';

export interface Verdict {
  tree: ResultTree;
  /** How the run ended; the CLI maps it to the exit code. */
  kind: OutcomeKind;
  headline: string;
  /** Splats no allowlist entry accepted. */
  blockingSplats: Splat[];
}

function rollUp(children: readonly TestNode[]): TestStatus {
  const statuses = children.map((c) => c.status);
  if (statuses.includes('crashed')) return 'crashed';
  if (statuses.includes('fail')) return 'fail';
  if (statuses.length > 0 && statuses.every((s) => s === 'skip' || s === 'todo')) return 'skip';
  return 'pass';
}

export function sectionNode(section: Section, test: GuestTest | undefined): TestNode {
  const node = newTest(section.name);
  const text = section.lines.join('\n');
  const parsed = test?.kind === 'test_progs' ? parseTestProgs(text)
    : test?.kind === 'test_verifier' ? parseTestVerifier(text)
    : test?.kind === 'test_maps' ? parseTestMaps(text)
    : parseKtap(text);
  node.children = parsed.tests;
  node.errors.push(...parsed.errors);
  node.log = section.lines;
  if (section.exitCode === undefined) {
    node.status = 'crashed';
    node.errors.push('output stopped before the test ended (the guest died or was stopped)');
    return node;
  }
  if (section.timedOut) {
    node.status = 'crashed';
    node.errors.push(`timed out after ${test?.timeoutSec ?? '?'} s and was killed (exit ${section.exitCode})`);
    for (const child of node.children) if (child.status === 'crashed') child.errors.push('timed out');
    return node;
  }
  if (node.children.length === 0) {
    // A test program that printed no result is not a pass, whatever its exit code.
    node.status = 'fail';
    node.errors.push(section.exitCode === 0 ? 'exited 0 but printed no test results' : `exited ${section.exitCode} and printed no test results`);
    return node;
  }
  node.status = rollUp(node.children);
  if (node.status === 'crashed') {
    // The suites announce each case ("# <case>: <claim>") before running it: name the one that never finished.
    const started = [...section.lines].reverse().find((l) => /^# [a-z0-9][a-z0-9_-]*: /.test(l))?.match(/^# ([a-z0-9][a-z0-9_-]*):/)?.[1];
    if (started && !node.children.some((c) => c.name === started && c.status !== 'crashed')) node.errors.push(`stopped during case ${started} (exit ${section.exitCode})`);
  }
  if (section.exitCode !== 0 && node.status !== 'fail' && node.status !== 'crashed') {
    node.status = 'fail';
    node.errors.push(`exited ${section.exitCode} although no test reported a failure`);
  }
  return node;
}

/** The first failing leaf, as path plus the assertion that failed (test_progs ":FAIL:" lines, KTAP "not ok"). */
export function firstFailure(tests: readonly TestNode[], path: string[] = []): string | undefined {
  for (const node of tests) {
    const here = [...path, node.name];
    if (node.status !== 'fail' && node.status !== 'crashed') continue;
    if (node.children.length > 0) {
      const inner = firstFailure(node.children, here);
      if (inner) return inner;
    }
    // test_progs prints "<fn>:FAIL:<what>"; the guest suites print "# FAIL: <what>".
    const assertion = node.log.find((l) => /:FAIL:/.test(l))?.replace(/^\S+:FAIL:/, '')
      ?? node.log.find((l) => /^#\s*FAIL:/.test(l))?.replace(/^#\s*FAIL:\s*/, '')
      ?? node.errors[0];
    return `${here.join('/')} ${node.status === 'crashed' ? 'crashed' : 'failed'}${assertion ? `: ${assertion.trim()}` : ''}`;
  }
  return undefined;
}

export interface AssembleInput {
  resultsText: string;
  planned: readonly GuestTest[];
  splats: Splat[];
  vm: Pick<VmOutcome, 'end' | 'detail' | 'runningTest'>;
  /** Two test_progs runs of one selection to compare; the comparison becomes a test of its own. */
  compare?: { name: string; reference: string; candidate: string };
  /** Results the host knows without the guest (bpf-ci: what the selftests build could not make), as tests of their own. */
  hostTests?: TestNode[];
  /** vCPUs QEMU was given, and the console to see how many the kernel brought up. */
  cpus?: { asked: number; consoleText: string };
}

export function assembleResults(input: AssembleInput): Verdict {
  const stream = splitResults(input.resultsText);
  const byName = new Map(input.planned.map((t) => [t.name, t]));
  const tests = stream.sections.map((s) => sectionNode(s, byName.get(s.name)));
  for (const planned of input.planned) {
    if (!stream.sections.some((s) => s.name === planned.name)) {
      const node = newTest(planned.name, 'crashed');
      node.errors.push(stream.initStarted ? 'never started: the guest stopped before reaching it' : 'never started: the guest did not reach init');
      tests.push(node);
    }
  }
  const reference = tests.find((t) => t.name === input.compare?.reference);
  const candidate = tests.find((t) => t.name === input.compare?.candidate);
  if (input.compare && reference && candidate) tests.push(compareRunners(input.compare.name, reference, candidate));
  // Each test's time from the console's markers, where the node has none of its own.
  if (input.cpus) {
    const times = testDurations(input.cpus.consoleText);
    for (const t of tests) if (t.durationMs === undefined && times.has(t.name)) t.durationMs = times.get(t.name)!;
  }
  const shortfall = input.cpus && cpuShortfall(input.cpus.asked, input.cpus.consoleText);
  if (shortfall) tests.push(shortfall);
  tests.push(...(input.hostTests ?? []));
  for (const splat of input.splats) {
    const owner = tests.find((t) => t.name === splat.test);
    owner?.splats.push(splat);
  }
  const tree = summarize(tests, input.splats);
  const blockingSplats = input.splats.filter(isBlocking);
  const splatText = describeSplat(blockingSplats[0]);

  switch (input.vm.end) {
    case 'interrupted':
      return { tree, kind: 'interrupted', headline: 'interrupted', blockingSplats };
    case 'qemu-failed':
      return { tree, kind: 'vmInfra', headline: input.vm.detail, blockingSplats };
    case 'boot-failure':
      return { tree, kind: 'bootFailure', headline: `boot failure: ${input.vm.detail}${splatText ? ` (${splatText})` : ''}`, blockingSplats };
    case 'timeout':
      return { tree, kind: 'timeout', headline: `timeout: ${input.vm.detail}${splatText ? ` (${splatText})` : ''}`, blockingSplats };
    case 'crashed':
      // The VM's detail may quote the report already (an oops it stopped on): then the splat adds only its kind.
      return { tree, kind: 'kernelCrash', headline: `guest crashed: ${input.vm.detail}${splatText ? (input.vm.detail.includes(blockingSplats[0]!.title) ? ` (kernel ${blockingSplats[0]!.kind})` : ` (${splatText})`) : ''}`, blockingSplats };
    case 'completed':
      return decideVerdict(tree, input.splats);
  }
}

function describeSplat(splat: Splat | undefined): string {
  return splat ? `kernel ${splat.kind}${duringText(splat)}: ${bugTitleOf(splat)}` : '';
}

/** The verdict once the tests ran to the end: a splat no allowlist entry accepted, else the tree's status. `vm-test parse` decides with it too. */
export function decideVerdict(tree: ResultTree, splats: readonly Splat[]): Verdict {
  const blockingSplats = splats.filter(isBlocking);
  const firstSplat = blockingSplats[0];
  const splatText = describeSplat(firstSplat);
  if (firstSplat) return { tree, kind: 'kernelCrash', headline: `${splatText}${blockingSplats.length > 1 ? ` (+${blockingSplats.length - 1} more)` : ''}`, blockingSplats };
  const c = tree.counts;
  const counts = `${c.passed} passed, ${c.failed} failed, ${c.crashed} crashed, ${c.skipped} skipped`;
  switch (tree.status) {
    case 'pass':
      return { tree, kind: 'passed', headline: `all tests passed (${counts})`, blockingSplats };
    case 'skip':
      return { tree, kind: 'testsFailed', headline: `nothing was verified: every test was skipped (${counts})`, blockingSplats };
    case 'no_tests':
      return { tree, kind: 'testsFailed', headline: 'no test results arrived', blockingSplats };
    case 'parse_error':
      return { tree, kind: 'testsFailed', headline: `test output could not be parsed cleanly (${c.errors} errors; ${counts})`, blockingSplats };
    default: {
      const first = firstFailure(tree.tests);
      return { tree, kind: 'testsFailed', headline: `tests failed (${counts})${first ? `; first: ${first}` : ''}`, blockingSplats };
    }
  }
}

/**
 * vm-test exec and shell: one command, not a test suite. The VM's ending and the splats decide the
 * kind as for a run; the command's own exit code is beside it (guestExit), for the CLI to pass on.
 */
export function assembleJob(input: { resultsText: string; name: string; splats: Splat[]; vm: Pick<VmOutcome, 'end' | 'detail' | 'runningTest'> }): Verdict & { guestExit?: number } {
  const section = splitResults(input.resultsText).sections.find((s) => s.name === input.name);
  const node = newTest(input.name, section?.exitCode === 0 ? 'pass' : section?.exitCode === undefined ? 'crashed' : 'fail');
  node.log = section?.lines ?? [];
  if (section?.exitCode !== undefined && section.exitCode !== 0) node.errors.push(`exited ${section.exitCode}`);
  if (section?.timedOut) node.errors.push('timed out and was killed');
  for (const splat of input.splats) node.splats.push(splat);
  const tree = summarize([node], input.splats);
  const blockingSplats = input.splats.filter(isBlocking);
  const splatText = describeSplat(blockingSplats[0]);
  const guestExit = section?.exitCode;
  const base = { tree, blockingSplats, ...(guestExit !== undefined ? { guestExit } : {}) };
  switch (input.vm.end) {
    case 'interrupted':
      return { ...base, kind: 'interrupted', headline: 'interrupted' };
    case 'qemu-failed':
      return { ...base, kind: 'vmInfra', headline: input.vm.detail };
    case 'boot-failure':
      return { ...base, kind: 'bootFailure', headline: `boot failure: ${input.vm.detail}${splatText ? ` (${splatText})` : ''}` };
    case 'timeout':
      return { ...base, kind: 'timeout', headline: `timeout: ${input.vm.detail}${splatText ? ` (${splatText})` : ''}` };
    case 'crashed':
      return { ...base, kind: 'kernelCrash', headline: `guest crashed: ${input.vm.detail}${splatText ? ` (${splatText})` : ''}` };
    case 'completed':
      break;
  }
  if (blockingSplats[0]) return { ...base, kind: 'kernelCrash', headline: `${splatText} (${input.name} exited ${guestExit ?? '?'})` };
  if (section?.timedOut) return { ...base, kind: 'timeout', headline: `${input.name} ran past its timeout and was killed` };
  return { ...base, kind: 'passed', headline: `${input.name} exited ${guestExit ?? '?'}` };
}
