// The mutation report: the score per patch and per hunk, for the series' own selftest alone and for
// the selftest with the guest suites, every survivor as its diff; terminal, JSON, GitHub summary.
import type { Mutant } from './mutants.ts';
import type { MutantResult } from './mutate-run.ts';

export interface ReportMutant extends Omit<Mutant, never>, Omit<MutantResult, 'id' | 'runDir' | 'seconds'> {
  /** Position in the generated list: reports merged from shards sort the same as one run. */
  order: number;
}

export interface ScoreRow {
  patch: number;
  hunk?: number;
  file?: string;
  where: string;
  mutants: number;
  notCompiled: number;
  /** Kernel and tests byte-identical to the baseline's: no test can notice them; counted apart. */
  equivalent: number;
  /** Mutants that compiled into another kernel than the baseline's: the denominator. */
  compiled: number;
  killedBySelftest: number;
  killedByAll: number;
  timeouts: number;
}

export interface MutationReport {
  series: string;
  generated: number;
  mutants: ReportMutant[];
  patches: ScoreRow[];
  hunks: ScoreRow[];
  total: ScoreRow;
}

/** Mutants the score counts: they built a kernel of their own, and it was tested. */
const scored = (m: Pick<ReportMutant, 'status'>) => m.status !== 'not-compiled' && m.status !== 'error' && m.status !== 'equivalent';

function row(where: string, patch: number, ms: readonly ReportMutant[], hunk?: number, file?: string): ScoreRow {
  const compiled = ms.filter(scored);
  return {
    patch, ...(hunk !== undefined ? { hunk } : {}), ...(file ? { file } : {}), where,
    mutants: ms.length,
    notCompiled: ms.filter((m) => m.status === 'not-compiled').length,
    equivalent: ms.filter((m) => m.status === 'equivalent').length,
    compiled: compiled.length,
    killedBySelftest: compiled.filter((m) => m.killedBySelftest).length,
    killedByAll: compiled.filter((m) => m.killedByAll).length,
    timeouts: compiled.filter((m) => m.status === 'timeout').length,
  };
}

export function buildReport(series: string, generated: readonly Mutant[], results: readonly MutantResult[]): MutationReport {
  const order = new Map(generated.map((m, k) => [m.id, k]));
  const byId = new Map(generated.map((m) => [m.id, m]));
  const mutants: ReportMutant[] = results
    .filter((r) => byId.has(r.id))
    .map((r) => {
      const { runDir: _r, seconds: _s, ...verdict } = r;
      return { ...byId.get(r.id)!, ...verdict, order: order.get(r.id)! };
    })
    .sort((a, b) => a.order - b.order);
  return assembleReport(series, generated.length, mutants);
}

function assembleReport(series: string, generated: number, mutants: ReportMutant[]): MutationReport {
  const patches = [...new Set(mutants.map((m) => m.patch))].sort((a, b) => a - b).map((p) => row(`patch ${p}`, p, mutants.filter((m) => m.patch === p)));
  const hunkKeys = [...new Set(mutants.map((m) => `${m.patch}/${m.hunk}`))];
  const hunks = hunkKeys.map((k) => {
    const ms = mutants.filter((m) => `${m.patch}/${m.hunk}` === k);
    const first = ms[0]!;
    return row(`patch ${first.patch} hunk ${first.hunk} (${first.file}: ${first.hunkHeader.replace(/^@@[^@]*@@\s*/, '') || first.hunkHeader})`, first.patch, ms, first.hunk, first.file);
  });
  return { series, generated, mutants, patches, hunks, total: row('all', 0, mutants) };
}

/** Reports of shards of one run joined into one, as if it had run whole. */
export function mergeReports(reports: readonly MutationReport[]): MutationReport {
  const series = reports[0]?.series ?? '';
  for (const r of reports) if (r.series !== series) throw new Error(`cannot merge reports of ${series} and ${r.series}`);
  const byId = new Map<string, ReportMutant>();
  for (const r of reports) for (const m of r.mutants) byId.set(m.id, m);
  return assembleReport(series, Math.max(0, ...reports.map((r) => r.generated)), [...byId.values()].sort((a, b) => a.order - b.order));
}

const pct = (k: number, n: number) => (n ? `${Math.round((100 * k) / n)}%` : '-');

export function renderReport(report: MutationReport): string {
  const lines: string[] = [`Mutation score of ${report.series}: ${report.total.mutants} of ${report.generated} generated mutants run`, ''];
  const head = ['where', 'mutants', 'not compiled', 'equivalent', 'selftest only', 'selftest + suites'];
  const cells = (r: ScoreRow) => [r.where, String(r.mutants), String(r.notCompiled), String(r.equivalent), `${r.killedBySelftest}/${r.compiled} ${pct(r.killedBySelftest, r.compiled)}`, `${r.killedByAll}/${r.compiled} ${pct(r.killedByAll, r.compiled)}${r.timeouts ? ` (${r.timeouts} by timeout or hang)` : ''}`];
  const table = [head, ...report.hunks.map(cells), ...report.patches.map(cells), cells(report.total)];
  const widths = head.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const [k, r] of table.entries()) {
    lines.push(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (k === 0 || k === report.hunks.length || k === report.hunks.length + report.patches.length) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const survivors = report.mutants.filter((m) => m.status === 'survived');
  const selftestMisses = report.mutants.filter((m) => scored(m) && !m.killedBySelftest && m.killedByAll);
  lines.push('', `Survivors (${survivors.length}): no test noticed these changes.`);
  for (const m of survivors) lines.push('', `${m.id}  ${m.operator}: ${m.description}  (tests: ${m.tests.join(', ') || 'none'})`, ...m.diff.trimEnd().split('\n').map((l) => `    ${l}`));
  lines.push('', `Caught by the guest suites but not by the selftest (${selftestMisses.length}):`);
  for (const m of selftestMisses) lines.push(`  ${m.id}  ${m.operator}: ${m.description}  -> ${m.reason}`);
  const equivalent = report.mutants.filter((m) => m.status === 'equivalent');
  if (equivalent.length) {
    lines.push('', `Equivalent, counted apart (${equivalent.length}): the change did not reach the kernel.`);
    for (const m of equivalent) lines.push(`  ${m.id}  ${m.operator}: ${m.description}  -> ${m.reason}`);
  }
  const notCompiled = report.mutants.filter((m) => m.status === 'not-compiled');
  if (notCompiled.length) lines.push('', `Not compiled, counted apart (${notCompiled.length}): ${notCompiled.map((m) => m.id).join(', ')}`);
  return lines.join('\n') + '\n';
}

export function reportSummaryMarkdown(report: MutationReport): string {
  const r = (x: ScoreRow) => `| ${x.where} | ${x.mutants} | ${x.notCompiled} | ${x.equivalent} | ${x.killedBySelftest}/${x.compiled} (${pct(x.killedBySelftest, x.compiled)}) | ${x.killedByAll}/${x.compiled} (${pct(x.killedByAll, x.compiled)}) |`;
  const survivors = report.mutants.filter((m) => m.status === 'survived');
  return [
    `## vm-test mutate: ${report.series}`, '',
    '| where | mutants | not compiled | equivalent | selftest only | selftest + suites |', '|---|---|---|---|---|---|',
    ...report.hunks.map(r), ...report.patches.map(r), r(report.total), '',
    `### Survivors (${survivors.length})`,
    ...survivors.flatMap((m) => ['', `<details><summary>${m.id}: ${m.operator}: ${m.description.replaceAll('|', '\\|')}</summary>`, '', '```diff', m.diff.trimEnd(), '```', '</details>']),
    ...equivalentSummary(report.mutants.filter((m) => m.status === 'equivalent')),
  ].join('\n') + '\n';
}

function equivalentSummary(ms: readonly ReportMutant[]): string[] {
  if (!ms.length) return [];
  return ['', `### Equivalent, counted apart (${ms.length})`, '', ...ms.map((m) => `- ${m.id}: ${m.operator}: ${m.description.replaceAll('|', '\\|')}: ${m.reason}`)];
}
