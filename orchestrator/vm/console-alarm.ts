// What the VM's watchdog needs from a console line, decided by the splat scanner's own title patterns
// (results/splat-patterns.ts), so the watchdog and the verdict never disagree on what a kernel report is.
import { stripPrintkPrefix } from '../results/printk-prefix.ts';
import { reportKind } from '../results/splat-patterns.ts';
import type { SplatKind } from '../results/tree.ts';

/**
 * stall: the kernel says it is stuck, and repeats it, so the console never goes quiet (RCU stall, lockups, hung task).
 * fatal: the task that was running is dead, or the kernel is (Oops, GPF, BUG, kernel BUG at, panic).
 * A WARNING, KASAN, UBSAN or lockdep report is neither: the task goes on.
 */
export type AlarmKind = 'stall' | 'fatal';

export interface ConsoleAlarm {
  alarm: AlarmKind;
  report: SplatKind;
  /** The title line without its printk prefix. */
  message: string;
}

const ALARMS: Partial<Record<SplatKind, AlarmKind>> = {
  rcu_stall: 'stall',
  soft_lockup: 'stall',
  hard_lockup: 'stall',
  hung_task: 'stall',
  panic: 'fatal',
  oops: 'fatal',
  gpf: 'fatal',
  bug: 'fatal',
};

// BUG titles after which the task goes on: a workqueue lockup is a stall, and the kernel only complains of the
// others (the debug checks of --sanitize, and kmemleak's reports, which vm-test's init prints after a test).
const WORKQUEUE_LOCKUP = /^BUG: workqueue lockup\b/;
const NOT_FATAL_BUG = /^BUG: (?:scheduling while atomic|sleeping function called from invalid context|memory leak|using (?:smp_processor_id|__this_cpu_\w+)\(\) in preemptible)\b/;

/** The alarm a console line raises, if it is the title of a report the watchdog acts on. */
export function consoleAlarm(line: string): ConsoleAlarm | undefined {
  const message = stripPrintkPrefix(line).trim();
  const report = reportKind(message);
  if (report === undefined) return undefined;
  if (report === 'bug' && NOT_FATAL_BUG.test(message)) return undefined;
  const alarm = report === 'bug' && WORKQUEUE_LOCKUP.test(message) ? 'stall' : ALARMS[report];
  return alarm && { alarm, report, message };
}
