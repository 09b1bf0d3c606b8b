// results.json as a type: what reportOutcome writes into each run directory, and what `vm-test report` reads back.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunIdentity } from '../identity.ts';
import { VmTestError, type Evidence, type OutcomeKind } from '../outcome.ts';
import type { BuildRecord, CheckoutRecord, RunOutcome } from '../run.ts';
import { SPLAT_KINDS, type Counts, type ResultTree, type Splat, type TestNode, type TestStatus, type TreeStatus } from '../results/tree.ts';

/** results.json's "run": how the run ended and what it was about. */
export interface RunMeta {
  kind: OutcomeKind;
  exitCode: number;
  headline: string;
  runDir: string;
  timingsMs: Record<string, number>;
  /** The kernel tree tested, as the source stage described it. */
  kernel?: string;
  changes?: string;
  stages: { stage: string; status: 'ok' | 'cached' | 'failed'; elapsed_ms: number; detail: string }[];
  accel?: string;
  bootMs?: number;
  vmMs?: number;
  reusedFrom?: string;
  /** Present when the run stopped before the tests. */
  evidence?: Evidence;
  identity?: RunIdentity;
  /** Recorded since KCIDB output: runs made before lack them. */
  checkout?: CheckoutRecord;
  build?: BuildRecord;
}

/** One node of the saved tree (json-report.ts writes it). */
export interface NodeRecord {
  name: string;
  status: TestStatus;
  number?: number;
  directive?: TestNode['directive'];
  duration_ms?: number;
  errors?: string[];
  splats?: { kind: Splat['kind']; title: string; bug_title?: string; test?: string; next_result?: string; allowed_by?: string; informational?: string; lines: string[]; frames?: Splat['frames']; series_frame?: Splat['seriesFrame']; code?: string[] }[];
  log: string[];
  tests: NodeRecord[];
}

/** The whole file: a tree when the tests ran, "not_run" when the run stopped before them. */
export type RunRecord =
  | { status: TreeStatus; counts: Counts; tests: NodeRecord[]; splats: (NonNullable<NodeRecord['splats']>[number] & { start_line: number })[]; run: RunMeta }
  | { status: 'not_run'; run: RunMeta };

export const isTested = (record: RunRecord): record is Extract<RunRecord, { counts: Counts }> => record.status !== 'not_run';

/** results.json's "run" for this outcome and the exit code the CLI mapped it to. */
export function runMeta(outcome: RunOutcome, exitCode: number): RunMeta {
  const identity = outcome.tested?.identity ?? outcome.identity;
  return {
    kind: outcome.kind, exitCode, headline: outcome.headline, runDir: outcome.runDir, timingsMs: outcome.timings,
    ...(outcome.source ? { kernel: outcome.source.description, ...(outcome.source.changes ? { changes: outcome.source.changes } : {}) } : {}),
    stages: outcome.stages.map((s) => ({ stage: s.stage, status: s.status, elapsed_ms: s.elapsedMs, detail: s.result ?? s.detail })),
    ...(outcome.tested ? { accel: outcome.tested.accel.accel, bootMs: outcome.tested.vm.bootMs, vmMs: outcome.tested.vm.durationMs, reusedFrom: outcome.tested.reusedFrom } : { evidence: outcome.evidence }),
    // What the verdict is about: the kernel built and the one the guest booted (equal, or there is no verdict), tree, config, series, binaries.
    ...(identity ? { identity } : {}),
    ...(outcome.checkout ? { checkout: outcome.checkout } : {}),
    ...(outcome.build ? { build: outcome.build } : {}),
  };
}

const TREE_STATUSES: readonly string[] = ['pass', 'fail', 'crashed', 'skip', 'no_tests', 'parse_error', 'not_run'];

/** The saved run of a run directory; a missing directory or file, or one that is not a run's results.json, is a usage error naming it. */
export async function readRunRecord(runDir: string): Promise<RunRecord> {
  const info = await stat(runDir).catch(() => undefined);
  if (!info) throw new VmTestError('usage', `${runDir}: no such run directory`, { file: runDir });
  if (!info.isDirectory()) throw new VmTestError('usage', `${runDir}: not a directory (give the run directory, which holds results.json)`, { file: runDir });
  const file = join(runDir, 'results.json');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new VmTestError('usage', error.code === 'ENOENT'
      ? `${runDir}: no results.json (not a run directory, or a run still going or killed before its report)`
      : `${file}: ${error.message}`, { file });
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new VmTestError('usage', `${file}: not valid JSON: ${(error as Error).message}`, { file });
  }
  const record = parsed as Partial<RunRecord> & { run?: Partial<RunMeta> };
  const problem = typeof parsed !== 'object' || parsed === null ? 'not a JSON object'
    : !TREE_STATUSES.includes(String(record.status)) ? `"status" is ${JSON.stringify(record.status)}, not one of ${TREE_STATUSES.join(', ')}`
    : typeof record.run !== 'object' || record.run === null ? 'no "run" object (written by vm-test parse --format json, not by a run?)'
    : typeof record.run.kind !== 'string' || !Array.isArray(record.run.stages) ? '"run" lacks "kind" or "stages"'
    : record.status !== 'not_run' && !Array.isArray((record as { tests?: unknown }).tests) ? 'no "tests" list'
    : undefined;
  if (problem) throw new VmTestError('usage', `${file}: not a vm-test run's results: ${problem}`, { file });
  return parsed as RunRecord;
}

function nodeFrom(record: NodeRecord): TestNode {
  return {
    name: record.name, status: record.status, ...(record.number !== undefined ? { number: record.number } : {}),
    ...(record.directive ? { directive: record.directive } : {}), ...(record.duration_ms !== undefined ? { durationMs: record.duration_ms } : {}),
    log: record.log ?? [], children: (record.tests ?? []).map(nodeFrom), errors: record.errors ?? [],
    splats: (record.splats ?? []).map((s) => splatFrom(s, 0)),
  };
}

function splatFrom(s: NonNullable<NodeRecord['splats']>[number], startLine: number): Splat {
  const kind = (SPLAT_KINDS as readonly string[]).includes(s.kind) ? s.kind : 'unknown';
  return {
    kind, title: s.title, lines: s.lines ?? [], startLine, ...(s.bug_title ? { bugTitle: s.bug_title } : {}), ...(s.test ? { test: s.test } : {}), ...(s.next_result ? { nextResult: s.next_result } : {}), ...(s.allowed_by ? { allowedBy: s.allowed_by } : {}),
    ...(s.informational ? { informational: s.informational } : {}), ...(s.frames ? { frames: s.frames } : {}), ...(s.series_frame ? { seriesFrame: s.series_frame } : {}), ...(s.code ? { code: s.code } : {}),
  };
}

/** The result tree back from a tested run's record, for the reporters that take one. */
export function treeFrom(record: Extract<RunRecord, { counts: Counts }>): ResultTree {
  return { status: record.status, counts: record.counts, tests: record.tests.map(nodeFrom), splats: record.splats.map((s) => splatFrom(s, s.start_line)) };
}
