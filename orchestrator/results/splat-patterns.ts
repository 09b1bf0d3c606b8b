// What kernel report lines look like (Linux 5.x to 7.x console, x86/arm64/UML), for the splat scanner.
import { hasMarkerPrefix } from '../guest/protocol.ts';
import type { SplatKind } from './tree.ts';

// Lockdep prints "WARNING:"/"BUG:" titles too; they must be tried before the generic ones.
const LOCKDEP =
  /^(?:WARNING: (?:possible \S|inconsistent lock state|suspicious RCU usage|bad unlock balance detected|held lock freed|lock held when returning to user space|\S+-safe -> \S+-unsafe lock order detected|Nested lock was not taken|bad contention detected|lock held by .+ is freed)|INFO: trying to register non-static key|BUG: (?:MAX_LOCKDEP_\w+ too low|key \S+ has not been registered|looking up invalid subclass))/;

// 6.x: "WARNING: CPU: 1 PID: 58 at kernel/x.c:12 f+0x1/0x2"; 7.x: "WARNING: kernel/x.c:12 at f+0x1/0x2, CPU#1: comm/58".
const CPU_DETAIL = /\bCPU(?:: ?|#)(\d+)\b/;
const FILE_LINE = /(?:^|\s)([\w.\/-]+\.[A-Za-z]{1,3}:\d+)\b/;
const FUNCTION_OFFSET = /(?:^|[\s(])([\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+)/;

/** A WARN() title in either layout: "WARNING:" with a CPU number or a code location, in whatever order they come. */
function isWarningTitle(text: string): boolean {
  if (!text.startsWith('WARNING: ')) return false;
  // Boot notices ("WARNING: Spectre v2 mitigation leaves CPU vulnerable to ...") carry neither.
  return text.startsWith('WARNING: at ') || CPU_DETAIL.test(text) || FILE_LINE.test(text) || FUNCTION_OFFSET.test(text);
}

/** Title lines, tried in order; the first that matches decides the kind. */
const CLASSIFIERS: ReadonlyArray<readonly [RegExp | ((text: string) => boolean), SplatKind]> = [
  [/^Kernel panic\b/, 'panic'],
  [/^(?:(?:NMI )?watchdog: )?BUG: soft lockup\b/, 'soft_lockup'],
  // 6.x: "watchdog: CPU1: Watchdog detected hard LOCKUP on cpu 1"; up to 6.5: "NMI watchdog: Watchdog detected ...".
  [/^(?:(?:NMI )?watchdog: )?(?:CPU\d+: )?Watchdog detected hard LOCKUP\b/, 'hard_lockup'],
  [/^BUG: KASAN: /, 'kasan'],
  [/^KASAN: /, 'kasan'],
  [/^UBSAN: /, 'ubsan'],
  [LOCKDEP, 'lockdep'],
  [/^(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls?\b/, 'rcu_stall'],
  [/^INFO: task .+:\d+ blocked\b.* for more than \d+ seconds/, 'hung_task'],
  [/^(?:Oops: )?general protection fault\b/, 'gpf'],
  [/^BUG: /, 'bug'],
  [/^kernel BUG at /, 'bug'],
  [/^Oops(?:: |\[#?\d+\])/, 'oops'],
  [/^Internal error: Oops/, 'oops'],
  [/^Unable to handle kernel \w/, 'oops'],
  // die() headers before 6.1 had no "Oops: " in front: "invalid opcode: 0000 [#1] SMP".
  [/^[a-z][\w ]*: [0-9a-f]{4} \[#\d+\]/, 'oops'],
  [isWarningTitle, 'warning'],
];

/** The kind of report a line is the title of, if it is one. */
export function reportKind(line: string): SplatKind | undefined {
  const text = line.trimStart();
  for (const [test, kind] of CLASSIFIERS) if (typeof test === 'function' ? test(text) : test.test(text)) return kind;
  return undefined;
}

/** Lines that continue the report just begun rather than start another (the Oops after "BUG: unable to handle..."). */
export function continuesReport(line: string): boolean {
  return /^(?:Oops(?:: |\[)|Internal error: Oops|KASAN: |[a-z][\w ]*: [0-9a-f]{4} \[#\d+\])/.test(line.trimStart());
}

/** Where a WARNING title says the WARN() fired, from either layout. */
export interface WarningSite {
  /** "kernel/bpf/hashtab.c:1234" */
  location?: string;
  /** "htab_map_delete_elem+0x4a/0x120" */
  function?: string;
  cpu?: string;
  pid?: string;
}

export function warningSite(title: string): WarningSite | undefined {
  const text = title.trim();
  if (!isWarningTitle(text)) return undefined;
  const site: WarningSite = {};
  const location = FILE_LINE.exec(text)?.[1];
  const fn = FUNCTION_OFFSET.exec(text)?.[1];
  const cpu = CPU_DETAIL.exec(text)?.[1];
  // 6.x names the PID; 7.x ends with "comm/pid", and the comm may hold a "/" itself (kworker/0:1).
  const pid = /\bPID: (\d+)\b/.exec(text)?.[1] ?? /\bCPU#\d+: .*\/(\d+)\s*$/.exec(text)?.[1];
  if (location) site.location = location;
  if (fn) site.function = fn;
  if (cpu) site.cpu = cpu;
  if (pid) site.pid = pid;
  return site;
}

/** A WARNING title as 6.x printed it, so allowlist entries written against 6.x titles keep matching 7.x ones. */
export function classicWarningTitle(title: string): string | undefined {
  const site = warningSite(title);
  if (!site || (!site.location && !site.function)) return undefined;
  const who = site.cpu !== undefined && site.pid !== undefined ? `CPU: ${site.cpu} PID: ${site.pid} ` : '';
  return `WARNING: ${who}at ${[site.location, site.function].filter(Boolean).join(' ')}`;
}

/** Lines after which no report goes on. */
export const END_MARKER = /^---\[ end (?:trace|Kernel panic)\b.*\]---\s*$/;
/** The end marker after which x86 prints the registers again ("executive summary in case the oops scrolled away"). */
export const END_TRACE = /^---\[ end trace\b.*\]---\s*$/;
/** The "=====" line KASAN, KFENCE, KCSAN, KMSAN and old UBSAN put around a report, and lockdep above its title. */
export const BANNER = /^={20,}\s*$/;
export const CUT_HERE = /^-+\[ cut here \]-+\s*$/;

/** A stack dump starts here; before it a report may hold free text (lockdep chains, hung-task preamble). */
export const TRACE_HEADER = /^(?:Call Trace:|Call trace:|stack backtrace:|Backtrace:|Stack:)/;

/** Lines only a kernel report prints; one outside any report opens a report of kind "unknown". */
export const BARE_ANCHOR = /^(?:RIP: |EIP: |pc : |epc : |Call Trace:|Call trace:)/;

/** dump_stack()'s first line; the line above it is the message that asked for the dump. */
export const DUMP_HEADER = /^CPU: \d+ .*\bPID: \d+/;

// One register line of an x86 register dump.
const REGISTERS = '(?:RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\\d{1,2}|FS|GS|CS|DS|ES|SS|CR\\d|DR\\d|PKRU|EIP|EAX|EBX|ECX|EDX|ESI|EDI|EBP|ESP|EFLAGS|Code|IP):';
export const REGISTER_LINE = new RegExp(`^${REGISTERS}`);

// Register dumps, dump_stack() headers, frames, lockdep/RCU/hung-task continuations, KASAN sections.
const REPORT_LINE = new RegExp(
  '^(?:' +
    [
      '\\s+\\S',
      '<\\/?(?:TASK|IRQ|NMI|SOFTIRQ|EOE|#DF|#MC|#VC|#DB)>',
      'Call Trace:|Call trace:|stack backtrace:|Backtrace:|Stack:',
      REGISTERS,
      '(?:pc|lr|sp|pstate|x\\d{1,2}|ra|epc|status|badaddr|cause)\\s*:',
      'CPU: \\d+',
      'Hardware name:',
      'Modules linked in:',
      'Workqueue:',
      'Tainted:',
      'Pid: \\d+',
      'task:\\S',
      // The hung-task detector names the lock owner, whose stack follows (6.15+).
      'INFO: task \\S.* is blocked on a ',
      'NMI backtrace for cpu',
      'Sending NMI from CPU',
      'rcu: ',
      'Showing (?:all locks held|busy workqueues|backtraces)',
      '\\d+ locks? held by',
      'locks held by',
      'no locks held by',
      'INFO: lockdep is turned off',
      'irq event stamp:',
      '(?:hardirqs|softirqs) last',
      'Preemption disabled at:',
      'in_atomic\\(\\):',
      'preempt_count:',
      'RCU nest depth:',
      '#PF:',
      '(?:PGD|P4D|PUD|PMD|PTE) ',
      'Mem abort info:',
      'Data abort info:',
      'Internal error:',
      'Oops',
      'Kernel Offset:',
      'Dumping ftrace buffer:',
      'Unloaded tainted modules:',
      '---\\[ ',
      '={5,}\\s*$',
      '-{5,}\\s*$',
      '\\[<[0-9a-f]+>\\]',
      '\\S+\\+0x[0-9a-f]+\\/0x[0-9a-f]+',
      '(?:Allocated|Freed) by task',
      '(?:Last|Second to last) potentially related work creation:',
      'The buggy address',
      'Memory state around the buggy address:',
      '>[0-9a-f]+:',
      'page(?: dumped because)?:',
      'flags: 0x',
      'raw: ',
      'page_type: ',
      'head: ',
    ].join('|') +
    ')',
);

// Test output never belongs to a kernel report, however it is indented.
const TEST_OUTPUT = /^\s*(?:(?:not ok|ok)\b|K?TAP version \d|1\.\.\d+\s*$|# Subtest:|#\d+(?:\/\d+)?\s+\S.*:(?:OK|FAIL|SKIP)|Summary: \d+\/\d+ PASSED)/;

/** Lines that end any report: test output and the init's vm-test markers. */
export function isBoundary(line: string): boolean {
  return hasMarkerPrefix(line) || TEST_OUTPUT.test(line);
}

/** Does this line look like part of a kernel report (as opposed to other console output)? */
export function isReportLine(line: string): boolean {
  return REPORT_LINE.test(line) && !isBoundary(line);
}
