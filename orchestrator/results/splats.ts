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
// "---[ end trace" belongs to no report. In a console whose kernel lines carry timestamps, a line without one inside a
// report is another program's output (syzkaller's "executing program", a shell) and neither ends nor extends it.
// A report whose preamble is free text (lockdep, KASAN, ...) cut off before its stack, by the end of the log or the
// next report's title, runs to the line before. A dump with no title that a known harmless caller asked
// for (fault injection, an allocation failure, the OOM killer, sysfs' duplicate name) is informational, listed last.
import { gluedRecords, hasTimestamp, splitLines, stripPrintkPrefix } from './printk-prefix.ts';
import {
  BANNER, BARE_ANCHOR, CUT_HERE, DUMP_HEADER, END_MARKER, END_TRACE, REGISTER_LINE, STACK_FRAME, TRACE_HEADER,
  continuesReport, gluedTitle, harmlessDump, isBoundary, isReportLine, isReportSection, reportKind,
} from './splat-patterns.ts';
import { splatTitle } from './splat-title.ts';
import type { Splat, SplatKind } from './tree.ts';

export { attributeSplats, consolePlanState } from './splat-attribution.ts';
export { applyAllowlist, loadAllowlist, type Allowlist, type AllowlistEntry } from './splat-allowlist.ts';

const LOOKAHEAD = 3000;
const FREE_TEXT_PREAMBLE = new Set<SplatKind>(['lockdep', 'hung_task', 'rcu_stall', 'hard_lockup', 'kasan', 'ubsan']);
// The Oops line of a "BUG: unable to handle ..." report comes within a few lines (arm64: ~15), before the trace.
const CONTINUATION_WINDOW = 20;
// How many lines of other output a stack dump may hold between two frames.
const INTERLEAVED_LINES = 2;
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
  /** Lines since the last report-looking line of that run. */
  headerGap: number;
  /** The report-looking run right after the title. */
  titleRun: number;
  titleRunOpen: boolean;
  /** The line that opened it carries a printk timestamp: lines without one are not the kernel's. */
  stamped: boolean;
  /** Other programs' lines taken so far, which the windows after the title do not count. */
  foreign: number;
}

function openReport(start: number, anchor: number, kind: SplatKind | undefined, framed: boolean, text: string, stamped: boolean): OpenReport {
  const header = TRACE_HEADER.test(text) ? anchor : undefined;
  return { start, anchor, kind, framed, sawTrace: header !== undefined, header, headerRun: anchor, headerRunOpen: header !== undefined, headerGap: 0, titleRun: anchor, titleRunOpen: true, stamped, foreign: 0 };
}

/** How far `at` is from the title, in the kernel's lines only. */
const linesSince = (r: OpenReport, at: number): number => at - r.anchor - r.foreign;

const preamble = (kind: SplatKind | undefined): number => (kind && FREE_TEXT_PREAMBLE.has(kind) ? 400 : 40);

function inferredEnd(r: OpenReport): number {
  return r.header !== undefined ? r.headerRun : r.titleRun;
}

/** The stack dump is over: the inferred end can no longer move. */
function settled(r: OpenReport, at: number): boolean {
  return r.header !== undefined ? !r.headerRunOpen || r.headerGap > 0 : !r.titleRunOpen && linesSince(r, at) > preamble(r.kind);
}

function take(r: OpenReport, line: string, text: string, at: number): void {
  if (line.trim() === '') return;
  const report = isReportLine(line);
  if (r.header === undefined && TRACE_HEADER.test(text) && linesSince(r, at) <= preamble(r.kind)) {
    r.header = at;
    r.headerRun = at;
    r.headerRunOpen = true;
    r.headerGap = 0;
  } else if (r.headerRunOpen) {
    // Another CPU's message may land between two frames; the stack goes on if a frame follows soon.
    if (report && (r.headerGap === 0 || STACK_FRAME.test(line))) {
      r.headerRun = at;
      r.headerGap = 0;
    } else if (!report && r.headerGap < INTERLEAVED_LINES) r.headerGap++;
    else r.headerRunOpen = false;
  }
  if (r.titleRunOpen) {
    // Untitled, the lines right after "cut here" are its message, whatever they look like.
    if (report || (r.kind === undefined && linesSince(r, at) <= TITLE_WINDOW)) r.titleRun = at;
    else r.titleRunOpen = false;
  }
  if (TRACE_HEADER.test(text)) r.sawTrace = true;
}

/** Feeds one line to an open report: it ends there, stops before it, or takes it. */
function step(r: OpenReport, line: string, at: number, stamped: boolean): 'end' | 'stop' | 'take' {
  const text = line.trimStart();
  if (r.stamped && !stamped && !isBoundary(line) && !isReportLine(line) && !END_MARKER.test(text) && !reportKind(line)) {
    r.foreign++;
    return 'take';
  }
  const since = linesSince(r, at);
  if (END_MARKER.test(text) || (r.framed && BANNER.test(text))) return 'end';
  if (isBoundary(line) || CUT_HERE.test(text) || since >= LOOKAHEAD) return 'stop';
  const kind = reportKind(line);
  if (kind && r.kind === undefined && !r.sawTrace && since <= TITLE_WINDOW) {
    r.kind = kind;
    r.anchor = at;
    r.foreign = 0;
    r.titleRun = at;
    r.titleRunOpen = true;
    return 'take';
  }
  if (kind && !(continuesReport(line) && !r.sawTrace && since <= CONTINUATION_WINDOW) && !isReportSection(line)) return 'stop';
  // A banner-framed report (KFENCE, KASAN) dumps registers and stacks inside its frame.
  if (BARE_ANCHOR.test(text) && !r.framed && settled(r, at)) return 'stop';
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

/** The last line of a free-text report cut off before its stack (by the log's end or the next title at `at`). */
function cutOffEnd(lines: readonly string[], r: OpenReport, at: number): number {
  let k = at - 1;
  if (at < lines.length && reportKind(lines[at]!) && k > r.anchor && BANNER.test(lines[k]!.trim())) k--;
  while (k > r.anchor && lines[k]!.trim() === '') k--;
  return k;
}

// How far above a dump with no title the message of the caller that asked for it may sit (other CPUs interleave).
const HARMLESS_ABOVE = 6;

function splatOf(lines: readonly string[], start: number, end: number, kind: SplatKind | undefined, anchor: number): Splat {
  const body = lines.slice(start, end + 1);
  if (kind !== undefined && kind !== 'unknown') return { kind, title: lines[anchor]!.trim(), lines: body, startLine: start + 1 };
  // No title line: the first line that is not a marker says most about what happened.
  const title = body.find((l) => l.trim() !== '' && !CUT_HERE.test(l.trim()) && !BANNER.test(l.trim())) ?? body[0]!;
  const splat: Splat = { kind: 'unknown', title: title.trim(), lines: body, startLine: start + 1 };
  const harmless = harmlessDump(lines.slice(Math.max(0, start - HARMLESS_ABOVE), start), body);
  if (harmless) splat.informational = harmless;
  return splat;
}

/** A console line as the scanner reads it: the record glued after other text when that record opens a report. */
function unglued(message: string): string {
  if (reportKind(message) || CUT_HERE.test(message.trimStart())) return message;
  const opens = (m: string): boolean => reportKind(m) !== undefined || CUT_HERE.test(m.trimStart());
  const glued = gluedRecords(message).find(opens) ?? gluedTitle(message);
  return glued !== undefined && opens(glued) ? glued : message;
}

/**
 * Every kernel report in a console log, printk prefixes stripped; never throws. The reports come first, in log order,
 * then the informational dumps, in log order: the first splat is the first report that can decide a verdict.
 */
export function scanSplats(consoleLog: string): Splat[] {
  const splats: Splat[] = [];
  try {
    const raw = splitLines(consoleLog);
    const stamped = raw.map(hasTimestamp);
    const lines = raw.map((l) => unglued(stripPrintkPrefix(l)));
    let floor = 0;
    let report: OpenReport | undefined;
    for (let i = 0; i <= lines.length; i++) {
      if (report) {
        const next = i < lines.length ? step(report, lines[i]!, i, stamped[i]!) : 'stop';
        if (next === 'take') continue;
        const cutOff = report.header === undefined && preamble(report.kind) > 40 && (i === lines.length || reportKind(lines[i]!) !== undefined);
        const end = next === 'end' ? i : cutOff ? cutOffEnd(lines, report, i) : inferredEnd(report);
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
        report = openReport(banner ? i - 1 : i, i, kind, banner && kind !== 'lockdep', text, stamped[i]!);
      } else if (CUT_HERE.test(text)) {
        report = openReport(i, i, undefined, false, text, stamped[i]!);
      } else if (BARE_ANCHOR.test(text)) {
        report = openReport(walkBack(lines, i, floor), i, 'unknown', false, text, stamped[i]!);
      } else if (END_MARKER.test(text)) {
        splats.push(splatOf(lines, walkBack(lines, i, floor), i, 'unknown', i));
        i = skipSummary(lines, i);
        floor = i + 1;
      }
    }
  } catch {
    // A scanner bug must not hide the splats already found.
  }
  const titled = splats.map((s) => ({ ...s, bugTitle: splatTitle(s.kind, s.lines) }));
  return [...titled.filter((s) => !s.informational), ...titled.filter((s) => s.informational)];
}
