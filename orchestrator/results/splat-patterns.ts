// What kernel report lines look like (Linux 6.x console, x86/arm64/UML), for the splat scanner.
import type { SplatKind } from './tree.ts';

// Lockdep prints "WARNING:"/"BUG:" titles too; they must be tried before the generic ones.
const LOCKDEP =
  /^(?:WARNING: (?:possible circular locking dependency detected|possible recursive locking detected|inconsistent lock state|suspicious RCU usage|possible irq lock inversion dependency detected|bad unlock balance detected|held lock freed|lock held when returning to user space|\S+-safe -> \S+-unsafe lock order detected|Nested lock was not taken|bad contention detected|lock held by .+ is freed)|INFO: trying to register non-static key|BUG: (?:MAX_LOCKDEP_\w+ too low|key \S+ has not been registered|looking up invalid subclass))/;

/** First line of a report, tried in order; the first match decides the kind. */
const STARTS: ReadonlyArray<readonly [RegExp, SplatKind]> = [
  [/^Kernel panic - not syncing/, 'panic'],
  [/^(?:(?:NMI )?watchdog: )?BUG: soft lockup\b/, 'soft_lockup'],
  // No hard_lockup kind: a hard lockup is the same fault (a CPU stopped scheduling) seen from an NMI.
  [/^(?:(?:NMI )?watchdog: )?Watchdog detected hard LOCKUP/, 'soft_lockup'],
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
  [/^Unable to handle kernel (?:NULL pointer dereference|paging request)/, 'oops'],
  [/^WARNING: CPU: \d+ PID: \d+ at /, 'warning'],
  [/^WARNING: at /, 'warning'],
];

/** The kind of report a line starts, if it starts one. */
export function reportKind(line: string): SplatKind | undefined {
  const text = line.trimStart();
  for (const [pattern, kind] of STARTS) if (pattern.test(text)) return kind;
  return undefined;
}

/** Lines that continue the report just begun rather than start another (the Oops after "BUG: unable to handle..."). */
export function continuesReport(line: string): boolean {
  return /^(?:Oops(?:: |\[)|Internal error: Oops|KASAN: )/.test(line.trimStart());
}

/** Lines after which no report goes on. */
export const END_MARKER = /^---\[ end (?:trace|Kernel panic)\b.*\]---\s*$/;
/** The "=====" line KASAN, KFENCE, KCSAN, KMSAN and old UBSAN put around a report, and lockdep above its title. */
export const BANNER = /^={20,}\s*$/;
export const CUT_HERE = /^-+\[ cut here \]-+\s*$/;

/** A stack dump starts here; before it a report may hold free text (lockdep chains, hung-task preamble). */
export const TRACE_HEADER = /^(?:Call Trace:|Call trace:|stack backtrace:|Backtrace:|Stack:)/;

// Register dumps, dump_stack() headers, frames, lockdep/RCU/hung-task continuations, KASAN sections.
const REPORT_LINE = new RegExp(
  '^(?:' +
    [
      '\\s+\\S',
      '<\\/?(?:TASK|IRQ|NMI|SOFTIRQ|EOE|#DF|#MC|#VC|#DB)>',
      'Call Trace:|Call trace:|stack backtrace:|Backtrace:|Stack:',
      '(?:RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\\d{1,2}|FS|GS|CS|DS|ES|SS|CR\\d|DR\\d|PKRU|EIP|EAX|EBX|ECX|EDX|ESI|EDI|EBP|ESP|EFLAGS|Code|IP):',
      '(?:pc|lr|sp|pstate|x\\d{1,2}|ra|epc|status|badaddr|cause)\\s*:',
      'CPU: \\d+',
      'Hardware name:',
      'Modules linked in:',
      'Workqueue:',
      'Tainted:',
      'Pid: \\d+',
      'task:\\S',
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
const MARKER = /^\s*(?:# )?vm-test: /;

/** Lines that end any report: test output and the init's vm-test markers. */
export function isBoundary(line: string): boolean {
  return MARKER.test(line) || TEST_OUTPUT.test(line);
}

/** Does this line look like part of a kernel report (as opposed to other console output)? */
export function isReportLine(line: string): boolean {
  return REPORT_LINE.test(line) && !isBoundary(line);
}
