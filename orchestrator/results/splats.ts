// Kernel splats (panic, BUG, WARNING, Oops, KASAN, UBSAN, lockdep, RCU stall, hung task, lockup) in a console log,
// each kept whole.
//
// Where a report ends:
//  1. At its end marker ("---[ end trace ... ]---", "---[ end Kernel panic ... ]---"), or, for a report under a
//     "=====" banner (KASAN, KFENCE, KCSAN, KMSAN, old UBSAN), at the closing banner, provided that comes before
//     anything the report cannot contain: another report's first line, test output, a vm-test marker.
//  2. Otherwise after its stack dump. The report takes every line up to its trace header ("Call Trace:",
//     "stack backtrace:", "Stack:", ...) if one comes within 40 lines (400 for lockdep, hung task, RCU stall, KASAN
//     and UBSAN, whose preambles are free text), then the run of report-looking lines after it: frames, register
//     dumps, <TASK>/<IRQ> markers, "rcu:" and "task:" continuations, lock lists; blank lines inside the run are kept.
//     With no trace header it is the title line and the report-looking lines right after it.
// A report starts at its title line, or at the banner line right above it, or at a "[ cut here ]" line at most
// three lines above it (WARN's message sits in between).
import { messageLines } from './printk-prefix.ts';
import { BANNER, CUT_HERE, END_MARKER, TRACE_HEADER, continuesReport, isBoundary, isReportLine, reportKind } from './splat-patterns.ts';
import type { Splat, SplatKind } from './tree.ts';

export { attributeSplats } from './splat-attribution.ts';
export { applyAllowlist, loadAllowlist, type Allowlist, type AllowlistEntry } from './splat-allowlist.ts';

const LOOKAHEAD = 3000;
const FREE_TEXT_PREAMBLE = new Set<SplatKind>(['lockdep', 'hung_task', 'rcu_stall', 'kasan', 'ubsan']);
// The Oops line of a "BUG: unable to handle ..." report comes within a few lines (arm64: ~15), before the trace.
const CONTINUATION_WINDOW = 20;

/** A line the report starting at `start` cannot run past. */
function stops(line: string, at: number, start: number, sawTrace: boolean): boolean {
  if (isBoundary(line)) return true;
  if (!reportKind(line)) return false;
  return !(continuesReport(line) && !sawTrace && at - start <= CONTINUATION_WINDOW);
}

function markedEnd(lines: readonly string[], start: number, framed: boolean): number | undefined {
  let sawTrace = false;
  const limit = Math.min(lines.length, start + LOOKAHEAD);
  for (let j = start + 1; j < limit; j++) {
    const line = lines[j]!;
    const text = line.trimStart();
    if (END_MARKER.test(text) || (framed && BANNER.test(text))) return j;
    if (stops(line, j, start, sawTrace)) return undefined;
    if (TRACE_HEADER.test(text)) sawTrace = true;
  }
  return undefined;
}

function inferredEnd(lines: readonly string[], start: number, kind: SplatKind): number {
  const window = FREE_TEXT_PREAMBLE.has(kind) ? 400 : 40;
  let header: number | undefined;
  for (let j = start + 1; j < Math.min(lines.length, start + 1 + window); j++) {
    if (stops(lines[j]!, j, start, false)) break;
    if (TRACE_HEADER.test(lines[j]!.trimStart())) {
      header = j;
      break;
    }
  }
  let last = header ?? start;
  const limit = Math.min(lines.length, start + LOOKAHEAD);
  for (let j = last + 1; j < limit; j++) {
    const line = lines[j]!;
    if (line.trim() === '') continue;
    if (stops(line, j, start, header !== undefined) || !isReportLine(line)) break;
    last = j;
  }
  return last;
}

function firstLine(lines: readonly string[], title: number, floor: number): number {
  if (title > floor && BANNER.test(lines[title - 1]!.trim())) return title - 1;
  for (let k = 1; k <= 3 && title - k >= floor; k++) if (CUT_HERE.test(lines[title - k]!.trim())) return title - k;
  return title;
}

/** Every kernel report in a console log, in order, printk prefixes stripped; never throws. */
export function scanSplats(consoleLog: string): Splat[] {
  const splats: Splat[] = [];
  try {
    const lines = messageLines(consoleLog);
    let floor = 0;
    for (let i = 0; i < lines.length; i++) {
      const kind = reportKind(lines[i]!);
      if (!kind) continue;
      const framed = kind !== 'lockdep' && i > floor && BANNER.test(lines[i - 1]!.trim());
      const end = markedEnd(lines, i, framed) ?? inferredEnd(lines, i, kind);
      const first = firstLine(lines, i, floor);
      splats.push({ kind, title: lines[i]!.trim(), lines: lines.slice(first, end + 1), startLine: first + 1 });
      floor = end + 1;
      i = end;
    }
  } catch {
    // A scanner bug must not hide the splats already found.
  }
  return splats;
}
