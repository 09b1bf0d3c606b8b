// What kernel report lines look like (Linux 5.x to 7.x console, x86/arm64/UML), for the splat scanner.
import { hasMarkerPrefix } from '../guest/protocol.ts';
import type { SplatKind } from './tree.ts';

// Lockdep prints "WARNING:"/"BUG:" titles too; they must be tried before the generic ones. Before 4.15 its titles
// said "INFO:" where they now say "WARNING:", and sat in brackets: "[ INFO: possible recursive locking detected ]".
const LOCKDEP = new RegExp('^(?:' + [
  '(?:WARNING|INFO|BUG): (?:possible \\S|inconsistent lock state'
    + '|suspicious RCU usage|bad unlock balance detected|held lock freed|lock held when returning to user space'
    + '|\\S+-safe -> \\S+-unsafe lock order detected|Nested lock was not taken|bad contention detected|lock held by .+ is freed'
    + '|\\S+\\/\\d+ still has locks held)',
  'INFO: trying to register non-static key',
  'BUG: (?:MAX_[A-Z_]+ too low|key \\S+ has not been registered|looking up invalid subclass|Invalid wait context)',
].join('|') + ')');
/** "[ BUG: Invalid wait context ]": lockdep's banner title, which 6.x still prints for wait-context reports. */
const BRACKETED = /^\[ (.+?) \]\s*$/;

// 6.x: "WARNING: CPU: 1 PID: 58 at kernel/x.c:12 f+0x1/0x2"; 7.x: "WARNING: kernel/x.c:12 at f+0x1/0x2, CPU#1: comm/58".
const CPU_DETAIL = /\bCPU(?:: ?|#)(\d+)\b/;
const FILE_LINE = /(?:^|\s)([\w.\/-]+\.[A-Za-z]{1,3}:\d+)\b/;
const FUNCTION_OFFSET = /(?:^|[\s(])([\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+)/;

/** A WARN() title in either layout: "WARNING:" with a CPU number or a code location, in whatever order they come. */
function isWarningTitle(text: string): boolean {
  if (!text.startsWith('WARNING: ')) return false;
  // Boot notices ("WARNING: Spectre v2 mitigation leaves CPU vulnerable to ...") carry neither.
  return text.startsWith('WARNING: at ') || CPU_DETAIL.test(text) || FILE_LINE.test(text) || FUNCTION_OFFSET.test(text)
    || UNWINDER_WARNING.test(text);
}

// The x86 frame-pointer unwinder's complaint about a corrupt stack (arch/x86/kernel/unwind_frame.c), followed by a dump.
const UNWINDER_WARNING = /^WARNING: kernel stack (?:regs|frame pointer) at .+? in \S+ has bad /;

const SLUB_TITLE = /^BUG [\w.:-]+ \((?:Not tainted|Tainted: [^)]*)\): /;
const SLUB_TRACK = /^INFO: (?:Allocated|Freed) in \S+ age=\d+/;

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
  [/^INFO: task .+:\d+ (?:blocked\b.*|can't die) for more than \d+ seconds/, 'hung_task'],
  [/^(?:Oops: )?(?:segment-related )?general protection fault\b/, 'gpf'],
  [/^BUG: /, 'bug'],
  [/^kernel BUG at /, 'bug'],
  // SLUB debug (mm/slub.c slab_bug): "BUG kmalloc-8 (Tainted: G    B   ): Object already free".
  [SLUB_TITLE, 'bug'],
  // SLUB debug before 4.6 named the allocation site first when the console had dropped the BUG line.
  [SLUB_TRACK, 'bug'],
  // x86 (arch/x86/kernel/traps.c exc_double_fault): prints this, then dies and panics.
  [/^PANIC: double fault\b/, 'panic'],
  // arm64 bad_mode()/arm32 bad_mode(): the CPU took an exception it has no handler for; the kernel panics next.
  [/^Bad mode in .+ handler detected\b/, 'panic'],
  [/^Oops(?:: |\[#?\d+\])/, 'oops'],
  // arm/arm64 die(): "Internal error: Oops: 96000004 [#1]", "Internal error: : 1b [#1]", "Internal error: synchronous external abort: ...".
  [/^Internal error: .*\[#\d+\]/, 'oops'],
  [/^Unable to handle kernel \w/, 'oops'],
  // arm32 do_DataAbort/do_PrefetchAbort on a fault with no handler, and do_alignment on a kernel access it cannot fix.
  [/^Unhandled (?:fault|prefetch abort): .+ at 0x[0-9a-f]+/, 'oops'],
  [/^Alignment trap: not handling instruction /, 'oops'],
  // die() headers before 6.1 had no "Oops: " in front: "invalid opcode: 0000 [#1] SMP".
  [/^[a-z][\w ]*: [0-9a-f]{4} \[#\d+\]/, 'oops'],
  [isWarningTitle, 'warning'],
];

/** The kind of report a line is the title of, if it is one. */
export function reportKind(line: string): SplatKind | undefined {
  const text = line.trimStart();
  for (const [test, kind] of CLASSIFIERS) if (typeof test === 'function' ? test(text) : test.test(text)) return kind;
  const bracketed = BRACKETED.exec(text)?.[1];
  return bracketed !== undefined && LOCKDEP.test(bracketed) ? 'lockdep' : undefined;
}

/**
 * Lines that continue the report just begun rather than start another: the Oops after "BUG: unable to handle...",
 * die() after arm's "Unhandled fault:", and the panic that panic_on_warn makes of a WARNING or of "scheduling while atomic".
 */
export function continuesReport(line: string): boolean {
  return /^(?:Oops(?:: |\[)|Internal error: |KASAN: |[a-z][\w ]*: [0-9a-f]{4} \[#\d+\]|Kernel panic - not syncing: (?:\w+: )?(?:panic_on_warn set|scheduling while atomic))/
    .test(line.trimStart());
}

// A title the console glued to the end of another message without a new record's prefix (pr_cont from another CPU).
const GLUED_TITLE = /(?<=\S)(?:(?:segment-related )?general protection fault\b.*: [0-9a-f]{4} \[#\d+\]|BUG: unable to handle |BUG: KASAN: |Kernel panic - not syncing: |kernel BUG at |-+\[ cut here \]-+\s*$)/;

/** The title glued after other text on a line, from where it starts, if the line hides one. */
export function gluedTitle(text: string): string | undefined {
  const m = GLUED_TITLE.exec(text);
  return m && m.index > 0 ? text.slice(m.index) : undefined;
}

/** Sections of an open report that look like titles: SLUB's allocation and free sites inside its own or a KASAN report. */
export function isReportSection(line: string): boolean {
  return SLUB_TRACK.test(line.trimStart());
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

// What harmless callers of dump_stack() print first: lib/fault-inject.c fail_dump, mm/page_alloc.c warn_alloc (and
// its vmalloc twin, and cpuset's line after it), mm/oom_kill.c dump_header, fs/sysfs/dir.c sysfs_warn_dup.
const HARMLESS_MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^FAULT_INJECTION: forcing a failure\b|^name fail\w+, interval \d+, probability \d+/, 'fault injection'],
  [/: page allocation failure: order:\d+|vmalloc(?:: allocation failure:| error: size \d+)|^\S+ cpuset=\S* mems_allowed=/, 'allocation failure'],
  [/ invoked oom-killer: /, 'OOM killer'],
  [/^sysfs: cannot create duplicate filename /, 'sysfs duplicate name'],
];
// The same callers seen in the dump's first frames, when the message itself was lost among other CPUs' lines.
const HARMLESS_FRAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\s*(?:\? )?(?:\[<[0-9a-f]+>\] )?(?:should_fail|fail_dump)\w*[+.]/, 'fault injection'],
  [/^\s*(?:\? )?(?:\[<[0-9a-f]+>\] )?warn_alloc\w*[+.]/, 'allocation failure'],
  [/^\s*(?:\? )?(?:\[<[0-9a-f]+>\] )?sysfs_warn_dup[+.]/, 'sysfs duplicate name'],
];
const FRAMES_LOOKED_AT = 8;

/** Why a dump with no title is harmless (which known caller asked for it), from the lines above it and its own. */
export function harmlessDump(above: readonly string[], body: readonly string[]): string | undefined {
  for (const line of [...above, ...body]) {
    const text = line.trimStart();
    const hit = HARMLESS_MESSAGES.find(([rx]) => rx.test(text));
    if (hit) return hit[1];
  }
  const trace = body.findIndex((l) => TRACE_HEADER.test(l.trimStart()));
  for (const line of trace < 0 ? [] : body.slice(trace + 1, trace + 1 + FRAMES_LOOKED_AT)) {
    const hit = HARMLESS_FRAMES.find(([rx]) => rx.test(line));
    if (hit) return hit[1];
  }
  return undefined;
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

/** One frame of a stack dump: " func+0x1a/0x30", " ? func+...", " [<ffffffff81234567>] func+...". */
export const STACK_FRAME = /^\s+(?:\? )?(?:\[<[0-9a-f]+>\] )?(?:\? )?[\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+/;

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
      // x86 __show_regs() before 4.15: "task: ffff88005b4347c0 task.stack: ffff8800634c0000" (or "ti: ...").
      'task: [0-9a-f]{8,} ',
      // arm64 __show_regs() before 4.16.
      '(?:PC|LR) is at ',
      // ... and its show_data(): "\\nPC: 0xffff...:" (the newline escaped by the console), then words of memory.
      '(?:\\\\x0a)?(?:PC|LR|SP|X\\d+): 0x[0-9a-f]+:\\s*$',
      '[0-9a-f]{4}(?: +[0-9a-f*]{8}){2,}\\s*$',
      // arm/arm64 die() before 5.x: the process line, and the exception frame dumped into the call trace.
      'Process \\S.* \\(pid: \\d+, stack limit = ',
      'Exception stack\\(',
      '[0-9a-f]{4}:(?: [0-9a-f]{8,16}){2,}\\s*$',
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
      '#PF error: ',
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
      // kmemleak (mm/kmemleak.c print_unreferenced), under its "BUG: memory leak" title when syzkaller reads it.
      'unreferenced object(?: \\((?:phys|percpu)\\))? 0x[0-9a-f]+ \\(size \\d+\\):',
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
