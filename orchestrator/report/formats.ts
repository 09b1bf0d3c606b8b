// The reports a saved run can be written as (`vm-test report RUN_DIR --format F`, and run's --kcidb): one function per format.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFailure } from '../outcome.ts';
import { stepSummary } from './github-report.ts';
import { xmlEscape, toJunit } from './junit-report.ts';
import { toKcidb } from './kcidb-report.ts';
import { isTested, readRunRecord, treeFrom, type RunRecord } from './run-record.ts';
import { renderSummary } from './terminal-report.ts';

/** A run directory as the reports read it: results.json, which files are beside it, and build.log. */
export interface SavedRun {
  dir: string;
  record: RunRecord;
  files: ReadonlySet<string>;
  buildLog?: string;
  kernelConfig?: string;
}

export async function readSavedRun(dir: string): Promise<SavedRun> {
  const record = await readRunRecord(dir);
  const files = new Set(await readdir(dir));
  const buildLog = files.has('build.log') ? await readFile(join(dir, 'build.log'), 'utf8') : undefined;
  const kernelConfig = files.has('kernel.config') ? await readFile(join(dir, 'kernel.config'), 'utf8') : undefined;
  return { dir, record, files, ...(buildLog !== undefined ? { buildLog } : {}), ...(kernelConfig !== undefined ? { kernelConfig } : {}) };
}

/** How a run that stopped before the tests is told: what stopped it, where, and the exit code it had. */
const stoppedLines = (r: SavedRun) => describeFailure(r.record.run.kind, r.record.run.headline, r.record.run.evidence ?? {}, r.record.run.runDir, r.record.run.exitCode);

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
} satisfies Record<string, (run: SavedRun, tty?: boolean) => string>;

export type ReportFormat = keyof typeof REPORT_FORMATS;
export const REPORT_FORMAT_NAMES = Object.keys(REPORT_FORMATS) as ReportFormat[];
