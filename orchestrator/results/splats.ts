// Kernel splats (panic, BUG, WARNING, Oops, KASAN, UBSAN, lockdep, RCU stall, hung task, lockups) in a console log,
// each kept whole, found by a small state machine over the console lines.
//
// Idle, a line opens a report when it is
//  - a title a classifier knows (splat-patterns.ts): the report starts there, or at the "=====" banner right above;
//  - "[ cut here ]": the report starts there and takes its kind and title from the first title within ten lines,
//    else it is of kind "unknown";
//  - a bare "RIP:"/"Call Trace:", or an "---[ end trace" with no report open: kind "unknown", starting at the
//    report-looking lines right above it (and the message above those when they begin with dump_stack()'s "CPU:").
// Open, a report ends
//  1. at its end marker ("---[ end trace ... ]---", "---[ end Kernel panic ... ]---", or the closing "=====" of a
//     banner-framed report: KASAN, KFENCE, KCSAN, KMSAN, old UBSAN), provided that comes before anything the report
//     cannot contain: another report's title or cut-here line, test output, a vm-test marker, or, once its stack
//     dump is over, a bare "RIP:"/"Call Trace:";
//  2. otherwise after its stack dump: every line up to its trace header ("Call Trace:", "stack backtrace:",
//     "Stack:", ...) if one comes within 40 lines (400 for lockdep, hung task, RCU stall, hard lockup, KASAN and
//     UBSAN, whose preambles are free text), then the run of report-looking lines after it (frames, register dumps,
//     <TASK>/<IRQ> markers, "rcu:" and "task:" continuations, lock lists; blank lines inside the run are kept).
//     With no trace header it is the title line and the report-looking lines right after it.
// The lines after a report that ended the second way are read again, idle. The register dump x86 repeats after
// "---[ end trace" belongs to no report.
import { messageLines } from './printk-prefix.ts';
import {
  BANNER, BARE_ANCHOR, CUT_HERE, DUMP_HEADER, END_MARKER, END_TRACE, REGISTER_LINE, TRACE_HEADER,
  continuesReport, isBoundary, isReportLine, reportKind,
} from './splat-patterns.ts';
import { splatTitle } from './splat-title.ts';
import type { Splat, SplatKind } from './tree.ts';

export { attributeSplats, consolePlanState } from './splat-attribution.ts';
export { applyAllowlist, loadAllowlist, type Allowlist, type AllowlistEntry } from './splat-allowlist.ts';

const LOOKAHEAD = 3000;
const FREE_TEXT_PREAMBLE = new Set<SplatKind>(['lockdep', 'hung_task', 'rcu_stall', 'hard_lockup', 'kasan', 'ubsan']);
// The Oops line of a "BUG: unable to handle ..." report comes within a few lines (arm64: ~15), before the trace.
const CONTINUATION_WINDOW = 20;
// WARN()'s message sits between "cut here" and the title, usually on one line.
const TITLE_WINDOW = 10;
// How far above a bare "RIP:"/"Call Trace:" its register dump and dump_stack() header may start.
const WALK_BACK = 40;

interface OpenReport {
  start: number;
  /** The title line; while `kind` is undefined, the line that opened the report. */
  anchor: number;
  /** undefined while a report opened by "cut here" has shown no title. */
  kind: SplatKind | undefined;
  /** Opened under a "=====" banner, which closes it again. */
  framed: boolean;
  sawTrace: boolean;
  /** The first trace header within the preamble window, and the report-looking run after it. */
  header: number | undefined;
  headerRun: number;
  headerRunOpen: boolean;
  /** The report-looking run right after the title. */
  titleRun: number;
  titleRunOpen: boolean;
}

function openReport(start: number, anchor: number, kind: SplatKind | undefined, framed: boolean, text: string): OpenReport {
  const header = TRACE_HEADER.test(text) ? anchor : undefined;
  return { start, anchor, kind, framed, sawTrace: header !== undefined, header, headerRun: anchor, headerRunOpen: header !== undefined, titleRun: anchor, titleRunOpen: true };
}

const preamble = (kind: SplatKind | undefined): number => (kind && FREE_TEXT_PREAMBLE.has(kind) ? 400 : 40);

function inferredEnd(r: OpenReport): number {
  return r.header !== undefined ? r.headerRun : r.titleRun;
}

/** The stack dump is over: the inferred end can no longer move. */
function settled(r: OpenReport, at: number): boolean {
  return r.header !== undefined ? !r.headerRunOpen : !r.titleRunOpen && at - r.anchor > preamble(r.kind);
}

function take(r: OpenReport, line: string, text: string, at: number): void {
  if (line.trim() === '') return;
  const report = isReportLine(line);
  if (r.header === undefined && TRACE_HEADER.test(text) && at - r.anchor <= preamble(r.kind)) {
    r.header = at;
    r.headerRun = at;
    r.headerRunOpen = true;
  } else if (r.headerRunOpen) {
    if (report) r.headerRun = at;
    else r.headerRunOpen = false;
  }
  if (r.titleRunOpen) {
    // Untitled, the lines right after "cut here" are its message, whatever they look like.
    if (report || (r.kind === undefined && at - r.anchor <= TITLE_WINDOW)) r.titleRun = at;
    else r.titleRunOpen = false;
  }
  if (TRACE_HEADER.test(text)) r.sawTrace = true;
}

/** Feeds one line to an open report: it ends there, stops before it, or takes it. */
function step(r: OpenReport, line: string, at: number): 'end' | 'stop' | 'take' {
  const text = line.trimStart();
  if (END_MARKER.test(text) || (r.framed && BANNER.test(text))) return 'end';
  if (isBoundary(line) || CUT_HERE.test(text) || at - r.anchor >= LOOKAHEAD) return 'stop';
  const kind = reportKind(line);
  if (kind && r.kind === undefined && !r.sawTrace && at - r.anchor <= TITLE_WINDOW) {
    r.kind = kind;
    r.anchor = at;
    r.titleRun = at;
    r.titleRunOpen = true;
    return 'take';
  }
  if (kind && !(continuesReport(line) && !r.sawTrace && at - r.anchor <= CONTINUATION_WINDOW)) return 'stop';
  if (BARE_ANCHOR.test(text) && settled(r, at)) return 'stop';
  take(r, line, text, at);
  return 'take';
}

/** Where a report that no title opened starts: the report-looking lines above `at`, and dump_stack()'s caller. */
function walkBack(lines: readonly string[], at: number, floor: number): number {
  let k = at;
  while (k - 1 >= floor && at - (k - 1) <= WALK_BACK && lines[k - 1]!.trim() !== '' && isReportLine(lines[k - 1]!)) k--;
  if (k - 1 >= floor && DUMP_HEADER.test(lines[k]!.trimStart()) && lines[k - 1]!.trim() !== '' && !isBoundary(lines[k - 1]!)) k--;
  return k;
}

/** The last line of the register dump x86 repeats after an end-trace line at `at` (or `at` itself). */
function skipSummary(lines: readonly string[], at: number): number {
  let k = at;
  if (END_TRACE.test(lines[at]!.trimStart())) while (k + 1 < lines.length && REGISTER_LINE.test(lines[k + 1]!.trimStart())) k++;
  return k;
}

function splatOf(lines: readonly string[], start: number, end: number, kind: SplatKind | undefined, anchor: number): Splat {
  const body = lines.slice(start, end + 1);
  if (kind !== undefined && kind !== 'unknown') return { kind, title: lines[anchor]!.trim(), lines: body, startLine: start + 1 };
  // No title line: the first line that is not a marker says most about what happened.
  const title = body.find((l) => l.trim() !== '' && !CUT_HERE.test(l.trim()) && !BANNER.test(l.trim())) ?? body[0]!;
  return { kind: 'unknown', title: title.trim(), lines: body, startLine: start + 1 };
}

/** Every kernel report in a console log, in order, printk prefixes stripped; never throws. */
export function scanSplats(consoleLog: string): Splat[] {
  const splats: Splat[] = [];
  try {
    const lines = messageLines(consoleLog);
    let floor = 0;
    let report: OpenReport | undefined;
    for (let i = 0; i <= lines.length; i++) {
      if (report) {
        const next = i < lines.length ? step(report, lines[i]!, i) : 'stop';
        if (next === 'take') continue;
        const end = next === 'end' ? i : inferredEnd(report);
        splats.push(splatOf(lines, report.start, end, report.kind, report.anchor));
        report = undefined;
        // After an end marker, past the repeated registers; otherwise the lines after the report are read again.
        i = next === 'end' ? skipSummary(lines, end) : end;
        floor = i + 1;
        continue;
      }
      if (i === lines.length) break;
      const line = lines[i]!;
      const text = line.trimStart();
      if (isBoundary(line)) continue;
      const kind = reportKind(line);
      if (kind) {
        const banner = i > floor && BANNER.test(lines[i - 1]!.trim());
        report = openReport(banner ? i - 1 : i, i, kind, banner && kind !== 'lockdep', text);
      } else if (CUT_HERE.test(text)) {
        report = openReport(i, i, undefined, false, text);
      } else if (BARE_ANCHOR.test(text)) {
        report = openReport(walkBack(lines, i, floor), i, 'unknown', false, text);
      } else if (END_MARKER.test(text)) {
        splats.push(splatOf(lines, walkBack(lines, i, floor), i, 'unknown', i));
        i = skipSummary(lines, i);
        floor = i + 1;
      }
    }
  } catch {
    // A scanner bug must not hide the splats already found.
  }
  return splats.map((s) => ({ ...s, bugTitle: splatTitle(s.kind, s.lines) }));
}
