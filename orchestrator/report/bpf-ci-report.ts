// vm-test bpf-ci's report, as the BPF CI's reads: the first new failure inline at the top, then per runner
// "Success: N/M", then what the series broke, fixed and left failing. One value (BpfCiReport, what bpf-ci.json
// holds) rendered as text, JSON, JUnit and Markdown; the shards of a run (--shard i/n) merge into one such value.
import type { BpfCiResult } from '../bpf-ci/bpf-ci.ts';
import { judgeDiff, type Unfinished } from '../bpf-ci/bpf-ci.ts';
import type { OutcomeKind } from '../outcome.ts';
import type { RunIdentity } from '../identity.ts';
import type { LeafChange, LeafResult, RunDiff } from '../results/run-diff.ts';
import { isBlocking, type Splat } from '../results/tree.ts';
import { bugTitleOf } from '../results/splat-title.ts';
import { duringText } from '../results/console-marks.ts';
import { xmlEscape } from './junit-report.ts';
import { knownReason, type KnownFailure } from '../bpf-ci/known-failures.ts';

/** A leaf that appeared or disappeared: its path and status. */
export type LeafSeen = Pick<LeafResult, 'path' | 'status'>;

export interface BpfCiReport {
  kind: OutcomeKind;
  headline: string;
  runDir: string;
  /** Which part of the work this is (--shard i/n), or the shards merged into it (--merge). */
  shard?: string;
  merged?: { shard: string; runDir: string; kind: OutcomeKind }[];
  base?: { runDir: string; kind: OutcomeKind; identity?: RunIdentity | Partial<RunIdentity>; reusedFrom?: string };
  series: { runDir: string; kind: OutcomeKind; identity?: RunIdentity | Partial<RunIdentity> };
  /** Absent when the two runs were not both tested (a build error, a crash before the tests): then kind and headline say why. */
  diff?: {
    runners: RunDiff['runners'];
    /** splats: the bug titles of the series' kernel reports that came while its test ran (console-marks.ts). */
    new_failures: (LeafChange & { splats?: string[] })[];
    flaky: LeafChange[];
    /** New failures were run once more before being called new. */
    retried: boolean;
    /** title: the report's first line; bug_title: syzkaller's style, the same in every run (splat-title.ts). */
    new_splats: { kind: Splat['kind']; title: string; bug_title: string; test?: string; next_result?: string; lines: string[] }[];
    fixed: LeafChange[];
    /** known: why it fails on this tree, from denylists/known-failures (file:line), where that is known. */
    still_failing: (LeafChange & { known?: string })[];
    appeared: LeafSeen[];
    disappeared: LeafSeen[];
    /** The sides whose guests did not finish their plan (a crash, a hang): what they did not reach was not compared. */
    unfinished?: Unfinished;
  };
}

const seen = (l: LeafResult): LeafSeen => ({ path: l.path, status: l.status });

export function bpfCiReport(result: BpfCiResult, shard?: string, known: readonly KnownFailure[] = []): BpfCiReport {
  const d = result.diff;
  // A new failure's kernel reports: those of its runner whose next test_progs result is its test's.
  const seriesSplats = (result.series.tested?.verdict.tree.splats ?? []).filter(isBlocking);
  const withSplats = (c: LeafChange) => {
    const [runner, test] = c.path.split('/');
    const during = [...new Set(seriesSplats.filter((s) => s.test === runner && s.nextResult?.replace(/^#\d+ /, '') === test).map(bugTitleOf))];
    return during.length ? { ...c, splats: during } : c;
  };
  const release = (result.series.tested?.identity ?? result.series.identity)?.kernel.release ?? result.base?.tested?.identity.kernel.release;
  const explained = (c: LeafChange) => {
    const k = knownReason(known, release, c.path);
    return k ? { ...c, known: `${k.reason} (${k.source})` } : c;
  };
  return {
    kind: result.kind, headline: result.headline, runDir: result.runDir, ...(shard ? { shard } : {}),
    ...(result.base ? { base: { runDir: result.base.runDir, kind: result.base.kind, ...identityOf(result.base), ...(result.baseReusedFrom ? { reusedFrom: result.baseReusedFrom } : {}) } } : {}),
    series: { runDir: result.series.runDir, kind: result.series.kind, ...identityOf(result.series) },
    ...(d ? {
      diff: {
        runners: d.runners,
        new_failures: (result.retry?.confirmed ?? []).map(withSplats),
        flaky: result.retry?.flaky ?? [],
        retried: !!result.retry?.runDir,
        new_splats: d.newSplats.map((s) => ({ kind: s.kind, title: s.title, bug_title: bugTitleOf(s), ...(s.test ? { test: s.test } : {}), ...(s.nextResult ? { next_result: s.nextResult } : {}), lines: s.lines })),
        fixed: d.fixed, still_failing: d.stillFailing.map(explained),
        appeared: d.appeared.map(seen), disappeared: d.disappeared.map(seen),
        ...(result.unfinished?.base || result.unfinished?.series ? { unfinished: result.unfinished } : {}),
      },
    } : {}),
  };
}

const identityOf = (run: BpfCiResult['series']) => {
  const identity = run.tested?.identity ?? run.identity;
  return identity ? { identity } : {};
};

const byPath = <T extends { path: string }>(items: T[]) => items.sort((a, b) => a.path.localeCompare(b.path));

/**
 * The shards of one run (bpf-ci --shard 1/n ... n/n) as the unsharded run's report: the runners' counts summed, the
 * lists joined, and the ending judged again from the joined difference. Refuses parts that are not one run's shards.
 */
export function mergeBpfCi(parts: readonly { file: string; report: BpfCiReport }[]): BpfCiReport | { error: string; file?: string } {
  if (!parts.length) return { error: 'nothing to merge' };
  const counts = new Set<number>();
  const indexes = new Map<number, string>();
  for (const { file, report } of parts) {
    const m = /^(\d+)\/(\d+)$/.exec(report.shard ?? '');
    if (!m) return { error: `${file}: not the report of a shard (no "shard": "i/n"; run bpf-ci with --shard)`, file };
    counts.add(Number(m[2]));
    if (indexes.has(Number(m[1]))) return { error: `${file}: shard ${report.shard} is also ${indexes.get(Number(m[1]))}`, file };
    indexes.set(Number(m[1]), file);
  }
  const count = [...counts][0]!;
  if (counts.size > 1) return { error: `the parts are shards of different splits (${[...counts].map((n) => `/${n}`).join(', ')})` };
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !indexes.has(i));
  if (missing.length) return { error: `shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing: a merge of part of the shards is not the run` };
  // One run's shards built the same kernel from the same tree and config, on both sides.
  for (const side of ['series', 'base'] as const) {
    const ids = new Set(parts.map((p) => JSON.stringify({ built: p.report[side]?.identity?.kernel?.built, tree: p.report[side]?.identity?.tree, config: p.report[side]?.identity?.config })));
    if (ids.size > 1) return { error: `the parts' ${side} kernels differ (build ID, tree or config): they are not shards of one run` };
  }
  const ordered = [...parts].sort((a, b) => Number(a.report.shard!.split('/')[0]) - Number(b.report.shard!.split('/')[0]));
  const first = ordered[0]!.report;
  const merged = ordered.map(({ report }) => ({ shard: report.shard!, runDir: report.runDir, kind: report.kind }));
  const untested = ordered.find(({ report }) => !report.diff);
  const base: BpfCiReport = { kind: 'passed', headline: '', runDir: first.runDir, merged, series: first.series, ...(first.base ? { base: first.base } : {}) };
  if (untested) return { ...base, kind: untested.report.kind, headline: `shard ${untested.report.shard}: ${untested.report.headline}` };
  const runners = new Map<string, RunDiff['runners'][number]>();
  for (const { report } of ordered) {
    for (const r of report.diff!.runners) {
      const sum = runners.get(r.name) ?? { name: r.name, passed: 0, skipped: 0, failed: 0, total: 0 };
      // Times add up over the shards: the runner's time had it run alone, less its start in each guest.
      const add = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined ? {} : { v: Math.round(((a ?? 0) + (b ?? 0)) * 10) / 10 });
      const seconds = add(sum.seconds, r.seconds).v;
      const baseSeconds = add(sum.baseSeconds, r.baseSeconds).v;
      runners.set(r.name, { name: r.name, passed: sum.passed + r.passed, skipped: sum.skipped + r.skipped, failed: sum.failed + r.failed, total: sum.total + r.total, ...(seconds === undefined ? {} : { seconds }), ...(baseSeconds === undefined ? {} : { baseSeconds }) });
    }
  }
  const join = <K extends 'new_failures' | 'flaky' | 'fixed' | 'still_failing'>(key: K) => byPath(ordered.flatMap(({ report }) => report.diff![key]));
  const diff: NonNullable<BpfCiReport['diff']> = {
    runners: [...runners.values()],
    new_failures: join('new_failures'), flaky: join('flaky'), fixed: join('fixed'), still_failing: join('still_failing'),
    retried: ordered.some(({ report }) => report.diff!.retried),
    new_splats: ordered.flatMap(({ report }) => report.diff!.new_splats),
    appeared: byPath(ordered.flatMap(({ report }) => report.diff!.appeared)),
    disappeared: byPath(ordered.flatMap(({ report }) => report.diff!.disappeared)),
  };
  // A shard whose guest did not finish leaves the joined run unfinished on that side.
  const side = <K extends 'base' | 'series'>(key: K) => ordered.map(({ report }) => report.diff!.unfinished?.[key] && { shard: report.shard!, why: report.diff!.unfinished[key]! }).find((x) => !!x);
  const baseLeft = side('base');
  const seriesLeft = side('series');
  const unfinished: Unfinished = {
    ...(baseLeft ? { base: `shard ${baseLeft.shard}: ${baseLeft.why}` } : {}),
    ...(seriesLeft ? { series: { kind: seriesLeft.why.kind, why: `shard ${seriesLeft.shard}: ${seriesLeft.why.why}` } } : {}),
  };
  if (baseLeft || seriesLeft) diff.unfinished = unfinished;
  const judged = judgeDiff({ newSplats: diff.new_splats.map((s) => ({ kind: s.kind, title: s.title, bugTitle: s.bug_title })), fixed: diff.fixed, stillFailing: diff.still_failing }, diff.new_failures, unfinished);
  return { ...base, ...judged, diff };
}

const list = (title: string, items: readonly string[], max = 25): string[] =>
  items.length ? [`${title} (${items.length}):`, ...items.slice(0, max).map((i) => `  ${i}`), ...(items.length > max ? [`  ... and ${items.length - max} more (bpf-ci.json)`] : [])] : [];

const changeLine = (c: LeafChange) => `${c.path}${c.error ? `: ${c.error}` : ''}`;
const leafLine = (l: LeafSeen) => `${l.path} (${l.status})`;

export function bpfCiText(report: BpfCiReport, exitCode: number): string {
  const out: string[] = [''];
  const d = report.diff;
  if (d?.new_failures.length) {
    const first = d.new_failures[0]!;
    out.push(`First new failure: ${first.path} (passes on the base${first.retry ? `; ${first.retry}` : ''})`, ...(first.error ? [`  ${first.error}`] : []),
      ...(first.splats ?? []).map((t) => `  kernel report while it ran: ${t}`), ...first.log.slice(-20).map((l) => `  | ${l}`), '');
  }
  const report0 = d && !d.new_failures.length ? d.new_splats[0] : undefined;
  if (report0) {
    const where = duringText({ ...(report0.test ? { test: report0.test } : {}), ...(report0.next_result ? { nextResult: report0.next_result } : {}) });
    out.push(`First new kernel report${where}: ${report0.bug_title} (not on the base)`, ...report0.lines.slice(0, 25).map((l) => `  | ${l}`), ...(report0.lines.length > 25 ? [`  | ... (${report0.lines.length - 25} more lines: bpf-ci.json, the series' console.log)`] : []), '');
  }
  if (d) {
    out.push(`Per runner, with the series${report.shard ? ` (shard ${report.shard})` : ''}:`);
    const time = (r: RunDiff['runners'][number]) => (r.seconds === undefined ? '' : `; ${r.seconds} s${r.baseSeconds === undefined ? '' : ` (base ${r.baseSeconds} s)`}`);
    for (const r of d.runners) out.push(`  ${r.name.padEnd(22)} Success: ${r.passed}/${r.total} subtests, ${r.skipped} skipped, ${r.failed} failed${time(r)}`);
    out.push('');
    if (d.unfinished?.series) out.push(`The series' guest did not finish: ${d.unfinished.series.why}`, '');
    if (d.unfinished?.base) out.push(`The base's guest did not finish: ${d.unfinished.base}`, '');
    // Each says what running it once more said of it: failed again, or not run again (the retry did not reach it).
    out.push(...list(`New failures (fail with the series, pass on the base${d.retried ? '; each run once more' : ''})`, d.new_failures.map((c) => `${changeLine(c)}${c.retry ? ` [${c.retry}]` : ''}${c.splats ? ` [kernel report while it ran: ${c.splats.join('; ')}]` : ''}`)));
    out.push(...list('Flaky (failed with the series, passed when run once more: not counted)', d.flaky.map(changeLine)));
    out.push(...list('New kernel reports', d.new_splats.map((s) => `${s.kind}${duringText({ ...(s.test ? { test: s.test } : {}), ...(s.next_result ? { nextResult: s.next_result } : {}) })}: ${s.bug_title}`)));
    out.push(...list('Fixed (pass with the series, fail on the base)', d.fixed.map((c) => c.path)));
    const knownCount = d.still_failing.filter((c) => c.known).length;
    out.push(...list(`Still failing (on the base too: not the series' doing${knownCount ? `; ${knownCount} of them known on this tree, with the reason` : ''})`,
      d.still_failing.map((c) => `${changeLine(c)}${c.known ? `\n    known: ${c.known}` : ''}`), 40));
    out.push(...list('Appeared (only with the series)', d.appeared.map(leafLine)));
    out.push(...list('Disappeared (only on the base)', d.disappeared.map(leafLine)));
  }
  if (report.base?.reusedFrom) out.push(`base: the verdict of ${report.base.reusedFrom} (the same kernel, runners, lists and VM)`);
  if (report.merged) out.push(`merged: ${report.merged.map((m) => `shard ${m.shard} (${m.kind}) ${m.runDir}`).join('; ')}`);
  out.push(`${exitCode === 0 ? 'PASS' : 'FAIL'}: ${report.headline} (exit ${exitCode})`);
  if (!report.merged) out.push(`run directory: ${report.runDir} (base/, series/${d?.retried ? ', retry/' : ''})`);
  return out.join('\n') + '\n';
}

/** bpf-ci.json: the report, and the code the command exited with (none in a shard's file under --in-shards: the command has not ended). */
export function bpfCiJson(report: BpfCiReport, exitCode?: number): string {
  return JSON.stringify(exitCode === undefined ? report : { ...report, exitCode }, null, 2) + '\n';
}

/** One testsuite: each new failure a failure, each new kernel report an error, the rest one passing case that says it. */
export function bpfCiJunit(report: BpfCiReport): string {
  const confirmed = report.diff?.new_failures ?? [];
  const splats = report.diff?.new_splats ?? [];
  const cases = [
    ...confirmed.map((c) => `    <testcase classname="bpf-ci" name="${xmlEscape(c.path)}"><failure message="${xmlEscape(`new with the series (base: ${c.base}): ${c.error ?? c.series}`)}">${xmlEscape(c.log.join('\n'))}</failure></testcase>`),
    ...splats.map((s, i) => `    <testcase classname="bpf-ci" name="new kernel ${s.kind} #${i + 1}"><error type="kernel-${s.kind}" message="${xmlEscape(s.bug_title)}">${xmlEscape(s.lines.join('\n'))}</error></testcase>`),
    `    <testcase classname="bpf-ci" name="against the base"><system-out>${xmlEscape(report.headline)}</system-out></testcase>`,
  ];
  const name = `bpf-ci: the series against its base${report.shard ? ` (shard ${report.shard})` : ''}`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="vm-test bpf-ci" tests="${cases.length}" failures="${confirmed.length}" errors="${splats.length}">`,
    `  <testsuite name="${xmlEscape(name)}" tests="${cases.length}" failures="${confirmed.length}" errors="${splats.length}" skipped="0">`, ...cases, '  </testsuite>', '</testsuites>', ''].join('\n');
}

export function bpfCiSummary(report: BpfCiReport, exitCode: number): string {
  const d = report.diff;
  const lines = [`## vm-test bpf-ci${report.shard ? ` (shard ${report.shard})` : ''}: ${report.headline} (exit ${exitCode})`, ''];
  const first = d?.new_failures[0];
  if (first) lines.push(`**First new failure:** \`${first.path}\`${first.error ? ` — ${first.error}` : ''}`, '', '```', ...first.log.slice(-20), '```', '');
  if (d) {
    lines.push('| runner | success | skipped | failed | time (base) |', '|---|---|---|---|---|', ...d.runners.map((r) => `| ${r.name} | ${r.passed}/${r.total} | ${r.skipped} | ${r.failed} | ${r.seconds ?? '?'} s (${r.baseSeconds ?? '?'} s) |`), '');
    // Each item a test's path in code; after it, what is known of it, as text.
    const section = (title: string, items: (string | [string, string | undefined])[]) => (items.length ? [`<details><summary>${title} (${items.length})</summary>`, '',
      ...items.map((i) => (typeof i === 'string' ? `- \`${i}\`` : `- \`${i[0]}\`${i[1] ? ` — ${i[1]}` : ''}`)), '</details>', ''] : []);
    lines.push(...section('New failures', d.new_failures.map((c): [string, string | undefined] => [c.path, [c.error, c.retry, ...(c.splats ?? []).map((t) => `kernel report while it ran: ${t}`)].filter(Boolean).join('; ') || undefined])), ...section('New kernel reports', d.new_splats.map((s): [string, string | undefined] => [s.bug_title, duringText({ ...(s.test ? { test: s.test } : {}), ...(s.next_result ? { nextResult: s.next_result } : {}) }).trim() || undefined])),
      ...section('Fixed', d.fixed.map((c) => c.path)), ...section('Still failing on the base too', d.still_failing.map((c): [string, string | undefined] => [c.path, c.known])),
      ...section('Appeared', d.appeared.map(leafLine)), ...section('Disappeared', d.disappeared.map(leafLine)));
  }
  lines.push(report.merged ? `Merged from shards: ${report.merged.map((m) => `${m.shard} (\`${m.runDir}\`)`).join(', ')}` : `Run directory: \`${report.runDir}\``);
  return lines.join('\n') + '\n';
}
