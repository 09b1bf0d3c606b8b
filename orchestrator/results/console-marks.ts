// Where a kernel report falls among a runner's result lines. The console and the results port are both the guest's,
// written as it prints them; the VM stage notes the results log's size as each console line arrives (VmOutcome's
// consoleMarks). test_progs prints a test's result lines when the test ends, so the first result line after a report
// is the test that was running then, when test_progs runs one test at a time. Pure: marks and text in.
import { parseResultsLine } from '../guest/protocol.ts';
import type { Splat } from './tree.ts';

export interface ConsoleMark {
  /** 1-based line of the console log. */
  consoleLine: number;
  /** The results log's size in bytes when that line arrived. */
  resultsBytes: number;
}

/** The results log's size when the console printed `line`: the last mark at or before it (0 before any). */
export function resultsBytesAt(marks: readonly ConsoleMark[], line: number): number {
  let bytes = 0;
  for (const mark of marks) {
    if (mark.consoleLine > line) break;
    bytes = mark.resultsBytes;
  }
  return bytes;
}

const RESULT = /^#(\d+)(?:\/\d+)?\s+([^/:\s]+)/;

/**
 * The first test_progs result line the results log has from `bytes` on, before the running test's end marker:
 * "#434 sockmap_redir". A line the report came in the middle of had begun before it, and is not counted.
 */
export function nextResultAfter(resultsText: string | Buffer, bytes: number): string | undefined {
  const buf = typeof resultsText === 'string' ? Buffer.from(resultsText) : resultsText;
  let from = Math.min(bytes, buf.length);
  if (from > 0 && buf[from - 1] !== 0x0a) {
    const eol = buf.indexOf(0x0a, from);
    if (eol < 0) return undefined;
    from = eol + 1;
  }
  for (const line of buf.subarray(from).toString('utf8').split('\n')) {
    if (parseResultsLine(line)?.type === 'end') return undefined;
    const m = RESULT.exec(line);
    if (m) return `#${m[1]} ${m[2]}`;
  }
  return undefined;
}

/** "during test_progs-cpuv4 (next result: #434 sockmap_redir)": where a report came, as the reports say it. */
export function duringText(splat: { test?: string; nextResult?: string }): string {
  return splat.test ? ` during ${splat.test}${splat.nextResult ? ` (next result: ${splat.nextResult})` : ''}` : '';
}

/** Each splat during a test with `nextResult` set, where the results log has a test_progs result after it. */
export function placeSplats(splats: readonly Splat[], marks: readonly ConsoleMark[] | undefined, resultsText: string): Splat[] {
  if (!marks?.length) return [...splats];
  const buf = Buffer.from(resultsText);
  return splats.map((splat) => {
    if (!splat.test) return splat;
    const next = nextResultAfter(buf, resultsBytesAt(marks, splat.startLine));
    return next ? { ...splat, nextResult: next } : splat;
  });
}
