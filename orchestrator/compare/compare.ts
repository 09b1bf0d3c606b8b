// vm-test compare: two revisions of a series side by side: the range-diff, each test's verdict and each splat from
// runs already made (found by the series hash in their results.json), and mutation scores per hunk. Runs nothing.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Series } from '../series/series.ts';
import type { RangeDiff } from './range-diff.ts';

/** What compare reads of a results.json: the tree's statuses and the splats, and what the run was of. */
interface ResultsJson {
  status?: string;
  tests?: ResultNode[];
  splats?: { kind: string; title?: string; test?: string; lines?: string[] }[];
  run?: { kind?: string; headline?: string; kernel?: string; identity?: { series?: string } };
}
interface ResultNode {
  name: string;
  status: string;
  tests?: ResultNode[];
}

export interface RunFound {
  dir: string;
  status: string;
  headline: string;
  kernel: string;
  /** Test path (suite/case/...) -> status, leaves only. */
  verdicts: Map<string, string>;
  splats: string[];
}

/** A splat's line in the comparison: its title when the report has one, else its kind and first line. */
export function splatTitle(s: { kind: string; title?: string; test?: string; lines?: string[] }): string {
  const title = s.title?.trim() || `${s.kind}: ${(s.lines?.[0] ?? '').trim()}`;
  return s.test ? `${title} (in ${s.test})` : title;
}

function leaves(nodes: readonly ResultNode[], prefix: string, out: Map<string, string>): void {
  for (const n of nodes) {
    const path = prefix ? `${prefix}/${n.name}` : n.name;
    if (n.tests?.length) leaves(n.tests, path, out);
    else out.set(path, n.status);
  }
}

/** A run directory's results.json, read; undefined when it has none (a bisect step) or it is not one. */
export async function readRun(dir: string): Promise<(RunFound & { series?: string; job: boolean }) | undefined> {
  const text = await readFile(join(dir, 'results.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let json: ResultsJson;
  try {
    json = JSON.parse(text) as ResultsJson;
  } catch {
    return undefined;
  }
  const verdicts = new Map<string, string>();
  leaves(json.tests ?? [], '', verdicts);
  return {
    dir,
    status: json.status ?? 'unknown',
    headline: json.run?.headline ?? '',
    kernel: json.run?.kernel ?? 'unknown kernel',
    verdicts,
    splats: (json.splats ?? []).map(splatTitle),
    // vm-test exec and shell name their one test after the job (guest-jobs.ts jobTest).
    job: json.tests?.length === 1 && (json.tests[0]!.name === 'exec' || json.tests[0]!.name === 'shell'),
    ...(json.run?.identity?.series ? { series: json.run.identity.series } : {}),
  };
}

/**
 * The newest run of each revision, by the series hash its identity names (run directories start with their time): the
 * newest pair on one kernel when there is one, so that the two verdicts are about the same kernel.
 */
export async function findRuns(runsDir: string, hashes: readonly [string, string]): Promise<[RunFound | undefined, RunFound | undefined]> {
  const names = existsSync(runsDir) ? (await readdir(runsDir)).sort().reverse() : [];
  const found: [RunFound[], RunFound[]] = [[], []];
  for (const name of names) {
    const run = await readRun(join(runsDir, name));
    // A run that stopped before the tests has no verdicts; vm-test exec and shell's are a command's, not the tests'.
    if (!run?.series || run.status === 'not_run' || run.job) continue;
    hashes.forEach((h, i) => run.series === h && found[i]!.push(run));
  }
  for (const a of found[0]) {
    const b = found[1].find((r) => r.kernel === a.kernel);
    if (b) return [a, b];
  }
  return [found[0][0], found[1][0]];
}

/** A mutate run's scores per hunk, keyed by patch, file and the hunk's function (hunk numbers move between revisions). */
export interface HunkScores {
  dir: string;
  rows: Map<string, { killed: number; compiled: number }>;
}

const hunkKey = (where: string) => where.replace(/ hunk \d+ \(/, ' (');

/** The newest mutate run of this series hash that has a report (its state.json names the hash its verdicts hold for). */
export async function findMutateReport(runsDir: string, hash: string): Promise<HunkScores | undefined> {
  const names = existsSync(runsDir) ? (await readdir(runsDir)).sort().reverse() : [];
  for (const name of names) {
    const dir = join(runsDir, name);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8').catch(() => 'null')) as { validFor?: { series?: string } } | null;
    if (state?.validFor?.series !== hash) continue;
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8').catch(() => 'null')) as { hunks?: { where: string; killedByAll: number; compiled: number }[] } | null;
    if (!report?.hunks) continue;
    return { dir, rows: new Map(report.hunks.map((h) => [hunkKey(h.where), { killed: h.killedByAll, compiled: h.compiled }])) };
  }
  return undefined;
}

export interface Revision {
  /** As given on the command line. */
  arg: string;
  series: Series;
  run?: RunFound;
  mutate?: HunkScores;
}

export interface Comparison {
  a: Revision;
  b: Revision;
  rangeDiff: RangeDiff;
  /** --mutate was asked for. */
  mutate: boolean;
  runsDir: string;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : pad(cell, widths[c]!))).join('  ').trimEnd());
}

/** How to make the run a revision lacks (compare never builds or boots). */
const runCommand = (rev: Revision) => `vm-test run --series ${rev.arg}`;

/** The comparison as printed: the revisions, the range-diff, the verdicts, the splats, the mutation scores. */
export function renderComparison(c: Comparison): string {
  const { a, b } = c;
  const out: string[] = [];
  const head = (rev: Revision, label: string) => `${label}: ${rev.arg} (${rev.series.patches.length} patches, series ${rev.series.hash})`;
  out.push(head(a, 'A'), head(b, 'B'), '');
  out.push(`Range-diff (${c.rangeDiff.method}):`, ...c.rangeDiff.lines.filter((l, i, all) => l !== '' || i < all.length - 1).map((l) => `  ${l}`), '');

  out.push('Verdicts:');
  for (const [rev, label] of [[a, 'A'], [b, 'B']] as const) {
    out.push(rev.run
      ? `  ${label}: ${rev.run.dir}\n     ${rev.run.headline} on ${rev.run.kernel}`
      : `  ${label}: no run of ${rev.arg} (series ${rev.series.hash}) in ${c.runsDir}; make one with: ${runCommand(rev)}`);
  }
  if (a.run && b.run && a.run.kernel !== b.run.kernel) out.push('  note: the two runs are on different kernels');
  const names = [...new Set([...(a.run?.verdicts.keys() ?? []), ...(b.run?.verdicts.keys() ?? [])])];
  if (names.length) {
    const cell = (rev: Revision, n: string) => (rev.run ? rev.run.verdicts.get(n) ?? '-' : 'no run');
    const rows = names.map((n) => [n, cell(a, n), cell(b, n), cell(a, n) !== cell(b, n) && a.run && b.run ? '<- changed' : '']);
    out.push('', ...table([['test', 'A', 'B', ''], ...rows]).map((l) => `  ${l}`));
  }
  out.push('', 'Splats:');
  for (const [rev, label] of [[a, 'A'], [b, 'B']] as const) {
    if (!rev.run) out.push(`  ${label}: no run`);
    else if (!rev.run.splats.length) out.push(`  ${label}: none`);
    else out.push(...rev.run.splats.map((s) => `  ${label}: ${s}`));
  }
  if (c.mutate) {
    out.push('', 'Mutation scores per hunk (killed by the selftest and the suites / compiled mutants):');
    for (const [rev, label] of [[a, 'A'], [b, 'B']] as const) {
      out.push(rev.mutate ? `  ${label}: ${rev.mutate.dir}` : `  ${label}: no mutate run of ${rev.series.hash}; make one with: vm-test mutate --series ${rev.arg}`);
    }
    if (a.mutate && b.mutate) {
      const keys = [...new Set([...a.mutate.rows.keys(), ...b.mutate.rows.keys()])];
      const score = (m: HunkScores, k: string) => {
        const r = m.rows.get(k);
        return r ? `${r.killed}/${r.compiled}` : '-';
      };
      out.push('', ...table([['hunk', 'A', 'B'], ...keys.map((k) => [k, score(a.mutate!, k), score(b.mutate!, k)])]).map((l) => `  ${l}`));
    }
  }
  return out.join('\n') + '\n';
}
