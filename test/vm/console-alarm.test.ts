// The VM watchdog's view of console lines comes from the splat scanner's patterns: real lines the old watchdog regexes
// missed (the 6.x hard-lockup title, expedited RCU stalls, the hung-task title with "in I/O wait"), and real captures
// (test/fixtures/results/splats) line by line.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { consoleAlarm } from '../../orchestrator/vm/console-alarm.ts';
import { REAL_STALL_LINES } from './real-console-lines.ts';

test('stall titles the old watchdog regexes missed are stalls', (t) => {
  t.like(consoleAlarm(REAL_STALL_LINES.hardLockup6x), { alarm: 'stall', report: 'hard_lockup', message: 'watchdog: CPU4: Watchdog detected hard LOCKUP on cpu 4' });
  t.like(consoleAlarm(REAL_STALL_LINES.hardLockupBuddy), { alarm: 'stall', report: 'hard_lockup' });
  t.like(consoleAlarm(REAL_STALL_LINES.expeditedRcuStall), {
    alarm: 'stall', report: 'rcu_stall', message: 'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 6 jiffies s: 85 root: 0x1/.',
  });
});

const capture = (name: string) => readFileSync(new URL(`../fixtures/results/splats/${name}.log`, import.meta.url), 'utf8');
const alarmsIn = (text: string) => text.split('\n').flatMap((line) => {
  const alarm = consoleAlarm(line);
  return alarm ? [[alarm.alarm, alarm.message] as const] : [];
});

test('real captures, line by line: the alarms each raises', (t) => {
  // 7.2.6 in vm-test's guest: a GPF and a BUG_ON (its Oops line follows) kill the task; a WARNING does not.
  t.deepEqual(alarmsIn(capture('oops-7.2.6-real-gpf')), [['fatal', 'Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP']]);
  t.deepEqual(alarmsIn(capture('bug-7.2.6-real-bug-on')), [
    ['fatal', 'kernel BUG at ../../worktrees/deb-linux-source-7.2/kernel/bpf/hashtab.c:1570!'],
    ['fatal', 'Oops: invalid opcode: 0000 [#1] SMP'],
  ]);
  t.deepEqual(alarmsIn(capture('warn-7.2.6-real-hashtab')), []);
  // Stalls: RCU (syzbot) and a hung task as 6.x words it ("blocked in I/O wait", which the old regex missed).
  t.deepEqual(alarmsIn(capture('syzbot-rcu-stall')), [['stall', 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:']]);
  t.deepEqual(alarmsIn(capture('syzkaller-hung-task-arm64')), [['stall', 'INFO: task udevd:5612 blocked in I/O wait for more than 143 seconds.']]);
  // KASAN and lockdep report and let the task go on (the old regex took "BUG: KASAN:" for a dead task).
  t.deepEqual(alarmsIn(capture('kasan-ip6-route-info-create')), []);
  t.deepEqual(alarmsIn(capture('syzbot-circular-locking')), []);
  t.deepEqual(alarmsIn(capture('syzkaller-inconsistent-lock-state')), []);
  t.deepEqual(alarmsIn(capture('syzkaller-no-report')), []);
});

test('BUG titles: most kill the task; a workqueue lockup is a stall; scheduling while atomic only complains', (t) => {
  t.like(consoleAlarm('[    5.1] BUG: kernel NULL pointer dereference, address: 0000000000000000'), { alarm: 'fatal', report: 'bug' });
  t.like(consoleAlarm('[   42.0] BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 33s!'), { alarm: 'stall' });
  t.is(consoleAlarm('[    5.1] BUG: scheduling while atomic: test_progs/58/0x00000002'), undefined);
  // --sanitize's reports, after which the task goes on: a real run of leaks-compare-on-mismatch was stopped as
  // crashed 20 s into the test after the leaks were reported.
  t.is(consoleAlarm('[   21.827778] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:323'), undefined);
  t.is(consoleAlarm('[   64.215800] BUG: memory leak'), undefined);
  t.is(consoleAlarm('[    7.0] BUG: using smp_processor_id() in preemptible [00000000] code: test_progs/58'), undefined);
  t.like(consoleAlarm('[    5.2] Kernel panic - not syncing: Fatal exception'), { alarm: 'fatal', report: 'panic' });
  // printk's caller id, and no prefix at all.
  t.like(consoleAlarm('[    3.045206][    T58] Oops: invalid opcode: 0000 [#1] SMP'), { alarm: 'fatal', message: 'Oops: invalid opcode: 0000 [#1] SMP' });
  t.like(consoleAlarm('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [compare-contrac:123]'), { alarm: 'stall', report: 'soft_lockup' });
  t.is(consoleAlarm('[    1.0] vm-test: begin test_progs'), undefined);
});
