// vm-test bpf-ci's report, as the BPF CI's reads: the first new failure inline at the top, then per runner
// "Success: N/M", then what the series broke, fixed and left failing. The same difference as text, JSON, JUnit, Markdown.
import { bugTitleOf } from '../results/splat-title.ts';
import type { BpfCiResult } from '../bpf-ci/bpf-ci.ts';
import type { LeafChange, LeafResult } from '../results/run-diff.ts';
import { xmlEscape } from './junit-report.ts';

const list = (title: string, items: readonly string[], max = 25): string[] =>
  items.length ? [`${title} (${items.length}):`, ...items.slice(0, max).map((i) => `  ${i}`), ...(items.length > max ? [`  ... and ${items.length - max} more (bpf-ci.json)`] : [])] : [];

const changeLine = (c: LeafChange) => `${c.path}${c.error ? `: ${c.error}` : ''}`;
const leafLine = (l: LeafResult) => `${l.path} (${l.status})`;

export function bpfCiText(result: BpfCiResult, exitCode: number): string {
  const out: string[] = [''];
  const d = result.diff;
  const confirmed = result.retry?.confirmed ?? [];
  if (confirmed.length) {
    const first = confirmed[0]!;
    out.push(`First new failure: ${first.path} (passes on the base)`, ...(first.error ? [`  ${first.error}`] : []), ...first.log.slice(-20).map((l) => `  | ${l}`), '');
  }
  if (d) {
    out.push('Per runner, with the series:');
    for (const r of d.runners) out.push(`  ${r.name.padEnd(22)} Success: ${r.passed}/${r.total} subtests, ${r.skipped} skipped, ${r.failed} failed`);
    out.push('');
    out.push(...list('New failures (fail with the series, pass on the base; each failed again when run once more)', confirmed.map(changeLine)));
    out.push(...list('Flaky (failed with the series, passed when run once more: not counted)', (result.retry?.flaky ?? []).map(changeLine)));
    out.push(...list('New kernel reports', d.newSplats.map((s) => `${s.kind}${s.test ? ` during ${s.test}` : ''}: ${bugTitleOf(s)}`)));
    out.push(...list('Fixed (pass with the series, fail on the base)', d.fixed.map((c) => c.path)));
    out.push(...list('Still failing (on the base too: not the series\' doing)', d.stillFailing.map(changeLine)));
    out.push(...list('Appeared (only with the series)', d.appeared.map(leafLine)));
    out.push(...list('Disappeared (only on the base)', d.disappeared.map(leafLine)));
  }
  if (result.baseReusedFrom) out.push(`base: the verdict of ${result.baseReusedFrom} (the same kernel, runners, lists and VM)`);
  out.push(`${exitCode === 0 ? 'PASS' : 'FAIL'}: ${result.headline} (exit ${exitCode})`, `run directory: ${result.runDir} (base/, series/${result.retry ? ', retry/' : ''})`);
  return out.join('\n') + '\n';
}

export function bpfCiJson(result: BpfCiResult, exitCode: number): string {
  return JSON.stringify({
    kind: result.kind, exitCode, headline: result.headline, runDir: result.runDir,
    base: result.base ? { runDir: result.base.runDir, kind: result.base.kind, identity: result.base.tested?.identity ?? result.base.identity, reusedFrom: result.baseReusedFrom } : undefined,
    series: { runDir: result.series.runDir, kind: result.series.kind, identity: result.series.tested?.identity ?? result.series.identity },
    ...(result.diff ? {
      runners: result.diff.runners,
      new_failures: result.retry?.confirmed ?? [],
      flaky: result.retry?.flaky ?? [],
      new_splats: result.diff.newSplats.map((s) => ({ kind: s.kind, title: s.title, bug_title: s.bugTitle, test: s.test, lines: s.lines })),
      fixed: result.diff.fixed, still_failing: result.diff.stillFailing,
      appeared: result.diff.appeared.map(leafLine), disappeared: result.diff.disappeared.map(leafLine),
    } : {}),
  }, null, 2) + '\n';
}

/** One testsuite: each new failure a failure, each new kernel report an error, the rest one passing case that says it. */
export function bpfCiJunit(result: BpfCiResult): string {
  const confirmed = result.retry?.confirmed ?? [];
  const splats = result.diff?.newSplats ?? [];
  const cases = [
    ...confirmed.map((c) => `    <testcase classname="bpf-ci" name="${xmlEscape(c.path)}"><failure message="${xmlEscape(`new with the series (base: ${c.base}): ${c.error ?? c.series}`)}">${xmlEscape(c.log.join('\n'))}</failure></testcase>`),
    ...splats.map((s, i) => `    <testcase classname="bpf-ci" name="new kernel ${s.kind} #${i + 1}"><error type="kernel-${s.kind}" message="${xmlEscape(bugTitleOf(s))}">${xmlEscape(s.lines.join('\n'))}</error></testcase>`),
    `    <testcase classname="bpf-ci" name="against the base"><system-out>${xmlEscape(result.headline)}</system-out></testcase>`,
  ];
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="vm-test bpf-ci" tests="${cases.length}" failures="${confirmed.length}" errors="${splats.length}">`,
    `  <testsuite name="bpf-ci: the series against its base" tests="${cases.length}" failures="${confirmed.length}" errors="${splats.length}" skipped="0">`, ...cases, '  </testsuite>', '</testsuites>', ''].join('\n');
}

export function bpfCiSummary(result: BpfCiResult, exitCode: number): string {
  const d = result.diff;
  const confirmed = result.retry?.confirmed ?? [];
  const lines = [`## vm-test bpf-ci: ${result.headline} (exit ${exitCode})`, ''];
  if (confirmed[0]) lines.push(`**First new failure:** \`${confirmed[0].path}\`${confirmed[0].error ? ` — ${confirmed[0].error}` : ''}`, '', '```', ...confirmed[0].log.slice(-20), '```', '');
  if (d) {
    lines.push('| runner | success | skipped | failed |', '|---|---|---|---|', ...d.runners.map((r) => `| ${r.name} | ${r.passed}/${r.total} | ${r.skipped} | ${r.failed} |`), '');
    const section = (title: string, items: string[]) => (items.length ? [`<details><summary>${title} (${items.length})</summary>`, '', ...items.map((i) => `- \`${i}\``), '</details>', ''] : []);
    lines.push(...section('New failures', confirmed.map(changeLine)), ...section('New kernel reports', d.newSplats.map((s) => bugTitleOf(s))),
      ...section('Fixed', d.fixed.map((c) => c.path)), ...section('Still failing on the base too', d.stillFailing.map((c) => c.path)),
      ...section('Appeared', d.appeared.map(leafLine)), ...section('Disappeared', d.disappeared.map(leafLine)));
  }
  lines.push(`Run directory: \`${result.runDir}\``);
  return lines.join('\n') + '\n';
}
