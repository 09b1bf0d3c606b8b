// Real console lines of kernel reports the VM watchdog must know, each with where it was printed.

export const REAL_STALL_LINES = {
  // Linux 6.16.6-arch1-1, bugzilla.kernel.org bug 220069 comment 63 (linux-usb, 2025-09-12): watchdog.c's 6.x pr_emerg("CPU%u: Watchdog detected hard LOCKUP on cpu %u").
  hardLockup6x: '[13882.024157] watchdog: CPU4: Watchdog detected hard LOCKUP on cpu 4',
  // The buddy detector on arm64 when it was new, before "CPU%u: " (Doug Anderson on LKML, 2023-08-25, "Re: [PATCH] kgdb: Flush console before entering kgdb on panic").
  hardLockupBuddy: '[   82.181857] watchdog: Watchdog detected hard LOCKUP on cpu 6',
  // mkosi mainline boot, lkrg-org/lkrg issue 189 (2022-05-25): tree_exp.h's title; every vm-test boot expedites RCU.
  expeditedRcuStall: '[   27.285351] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 6 jiffies s: 85 root: 0x1/.',
} as const;
