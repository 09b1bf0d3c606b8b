// The reports a saved run can be written as (`vm-test report RUN_DIR --format F`, and run's --kcidb): one function per format.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFailure } from '../outcome.ts';
import { stepSummary } from './github-report.ts';
import { xmlEscape, toJunit } from './junit-report.ts';
import { toKcidb } from './kcidb-report.ts';
import { isTested, readRunRecord, treeFrom, type RunRecord } from './run-record.ts';
import { renderSummary } from './terminal-report.ts';
import { describeIdentity } from '../identity.ts';
import { symbolizedLines } from '../results/splat-symbols.ts';
import { bugTitleOf, groupByBug } from '../results/splat-title.ts';
import { leaves } from '../results/run-diff.ts';
import { isBlocking } from '../results/tree.ts';

/** A run directory as the reports read it: results.json, which files are beside it, and build.log. */
export interface SavedRun {
  dir: string;
  record: RunRecord;
  files: ReadonlySet<string>;
  buildLog?: string;
  kernelConfig?: string;
  /** reproduce.txt: the command line that makes the run again. */
  reproduce?: string;
}

export async function readSavedRun(dir: string): Promise<SavedRun> {
  const record = await readRunRecord(dir);
  const files = new Set(await readdir(dir));
  const buildLog = files.has('build.log') ? await readFile(join(dir, 'build.log'), 'utf8') : undefined;
  const kernelConfig = files.has('kernel.config') ? await readFile(join(dir, 'kernel.config'), 'utf8') : undefined;
  const reproduce = files.has('reproduce.txt') ? (await readFile(join(dir, 'reproduce.txt'), 'utf8')).trim() : undefined;
  return { dir, record, files, ...(buildLog !== undefined ? { buildLog } : {}), ...(kernelConfig !== undefined ? { kernelConfig } : {}), ...(reproduce ? { reproduce } : {}) };
}

/** How a run that stopped before the tests is told: what stopped it, where, and the exit code it had. */
const stoppedLines = (r: SavedRun) => describeFailure(r.record.run.kind, r.record.run.headline, r.record.run.evidence ?? {}, r.record.run.runDir, r.record.run.exitCode);

/**
 * A reply on the list: what was tested (kernel, series, identity), the verdict, the failing tests with their first
 * error, each kernel report with its title, the test it interrupted, its symbolised stack and the series' line, and the
 * command that makes the run again. Plain text, wrapped as mail is, nothing a list archive would mangle.
 */
export function mailReport(r: SavedRun): string {
  const run = r.record.run;
  const out: string[] = [];
  const series = run.checkout?.series;
  out.push(`vm-test: ${run.kind === 'passed' ? 'PASS' : 'FAIL'}: ${run.headline}`, '');
  out.push(`Kernel:  ${run.kernel ?? run.checkout?.kernel ?? 'unknown'}`);
  if (series) {
    out.push(`Series:  ${series.subject ?? series.name}${series.messageId ? ` <${series.messageId.replace(/^<|>$/g, '')}>` : ''}`);
    for (const p of series.patches) out.push(`         ${p.subject}`);
  } else if (run.identity && !run.identity.series) out.push('Series:  none (the pristine tree)');
  if (run.identity) out.push(`Tested:  ${describeIdentity(run.identity)}`);
  if (run.accel) out.push(`VM:      QEMU, ${run.accel.toUpperCase()}`);
  out.push('');
  if (!isTested(r.record)) {
    out.push(...stoppedLines(r), '');
  } else {
    const tree = treeFrom(r.record);
    const failing = leaves(tree).filter((l) => l.status === 'fail' || l.status === 'crashed').map((l) => `  ${l.path}: ${l.status}${l.error ? `: ${l.error}` : ''}`);
    const c = tree.counts;
    out.push(`Results: ${c.passed} passed, ${c.failed} failed, ${c.crashed} crashed, ${c.skipped} skipped`);
    if (failing.length) out.push('', 'Failing:', ...failing.slice(0, 30), ...(failing.length > 30 ? [`  ... and ${failing.length - 30} more`] : []));
    for (const group of groupByBug(tree.splats.filter(isBlocking))) {
      const s = group[0]!;
      out.push('', `${bugTitleOf(s)}${s.test ? ` (during ${s.test})` : ''}${group.length > 1 ? `, ${group.length} times` : ''}`);
      out.push(...s.lines.slice(0, 40).map((l) => `  ${l}`), ...(s.lines.length > 40 ? [`  ... (${s.lines.length - 40} more lines in console.log)`] : []));
      out.push(...symbolizedLines(s).map((l) => `  ${l}`));
    }
  }
  const reproduce = r.reproduce ?? (run.checkout ? `npm run vm-test -- --kernel ${run.checkout.kernel}${series ? ` --series ${series.name}` : ' --no-series'}` : undefined);
  out.push('', 'Reproduce:', `  ${reproduce ?? 'not recorded (a run made before vm-test kept reproduce.txt); plan.txt in the run directory says what ran'}`);
  out.push('', `(vm-test, run directory ${run.runDir})`);
  return out.join('\n') + '\n';
}

/** Each format: the saved run in, the text out. Another format (mail, say) is one more entry. */
export const REPORT_FORMATS = {
  kcidb: (r: SavedRun) => JSON.stringify(toKcidb({ record: r.record, runDir: r.dir, files: r.files, buildLog: r.buildLog, kernelConfig: r.kernelConfig }), null, 2) + '\n',
  json: (r: SavedRun) => JSON.stringify(r.record, null, 2) + '\n',
  junit: (r: SavedRun) => isTested(r.record)
    ? toJunit(treeFrom(r.record), undefined, r.record.run.identity)
    // No tests ran: one errored case says why, so a CI that reads only JUnit still sees the run fail.
    : ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="vm-test" tests="1" failures="0" errors="1" skipped="0">',
      '  <testsuite name="vm-test" tests="1" failures="0" errors="1" skipped="0">',
      `    <testcase classname="vm-test" name="run"><error type="${xmlEscape(r.record.run.kind)}" message="${xmlEscape(r.record.run.headline)}">${xmlEscape(stoppedLines(r).join('\n'))}</error></testcase>`,
      '  </testsuite>', '</testsuites>', ''].join('\n'),
  /** The terminal's summary, as the run printed it. */
  text: (r: SavedRun, tty = false) => isTested(r.record)
    ? renderSummary(treeFrom(r.record), r.record.run.headline, r.record.run.exitCode, r.record.run.runDir, tty, r.record.run.identity)
    : stoppedLines(r).join('\n') + '\n',
  /** GitHub's step summary (Markdown), as the run appended it under Actions. */
  summary: (r: SavedRun) => isTested(r.record)
    ? stepSummary(treeFrom(r.record), r.record.run.headline, r.record.run.runDir, r.record.run.identity)
    : `## vm-test: ${r.record.run.kind} (exit ${r.record.run.exitCode})\n\n\`\`\`\n${stoppedLines(r).join('\n')}\n\`\`\`\n`,
  /** A reply on the list (mailReport). */
  mail: mailReport,
} satisfies Record<string, (run: SavedRun, tty?: boolean) => string>;

export type ReportFormat = keyof typeof REPORT_FORMATS;
export const REPORT_FORMAT_NAMES = Object.keys(REPORT_FORMATS) as ReportFormat[];
