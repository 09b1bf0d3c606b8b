// Bug titles: the same bug gives the same title whatever the run's addresses, pids, CPUs, times and offsets; different
// kinds of report give different titles. The captures are written here, modelled on the kernel's printk formats.
import test from 'ava';
import { scanSplats } from '../../orchestrator/results/splats.ts';
import { splatTitle, stableText } from '../../orchestrator/results/splat-title.ts';

/** A WARN() in htab_map_delete_elem_cmp as 6.x prints it, with what changes between runs as parameters. */
function warning(v: { t: string; cpu: number; pid: number; off: string; addr: string }): string {
  return [
    `[${v.t}] ------------[ cut here ]------------`,
    `[${v.t}] WARNING: CPU: ${v.cpu} PID: ${v.pid} at kernel/bpf/hashtab.c:1187 htab_map_delete_elem_cmp+0x${v.off}/0x1c0`,
    `[${v.t}] Modules linked in: bpf_testmod(OE)`,
    `[${v.t}] CPU: ${v.cpu} PID: ${v.pid} Comm: test_progs Tainted: G           OE      6.12.0 #1`,
    `[${v.t}] RIP: 0010:htab_map_delete_elem_cmp+0x${v.off}/0x1c0`,
    `[${v.t}] RSP: 0018:ffffc900${v.addr} EFLAGS: 00010246`,
    `[${v.t}] Call Trace:`,
    `[${v.t}]  <TASK>`,
    `[${v.t}]  ? __warn+0x83/0x130`,
    `[${v.t}]  ? report_bug+0x18e/0x1a0`,
    `[${v.t}]  bpf_map_delete_elem+0x3c/0x60`,
    `[${v.t}]  __sys_bpf+0x${v.off}/0x2f00`,
    `[${v.t}]  </TASK>`,
    `[${v.t}] ---[ end trace 0000000000000000 ]---`,
  ].join('\n');
}

test('the same WARN() in two runs, differing in time, CPU, pid, offset and address, has one title', (t) => {
  const a = scanSplats(warning({ t: '   12.345678', cpu: 0, pid: 58, off: '4a', addr: '00a3fc98' }));
  const b = scanSplats(warning({ t: '  301.000001', cpu: 3, pid: 4127, off: '51', addr: '01b7ee10' }));
  t.is(a.length, 1);
  t.is(a[0]!.bugTitle, 'WARNING in htab_map_delete_elem_cmp');
  t.is(b[0]!.bugTitle, a[0]!.bugTitle);
  // The raw first lines differ: the title is what makes them one bug.
  t.not(a[0]!.title, b[0]!.title);
});

/** A KASAN report whose faulting access goes through memcmp(): the frame named is the caller, not memcmp. */
function kasan(pid: number, addr: string, off: string): string {
  return [
    '==================================================================',
    `BUG: KASAN: slab-use-after-free in memcmp+0x${off}/0x140`,
    `Read of size 8 at addr ffff8881${addr} by task test_progs/${pid}`,
    '',
    `CPU: 1 UID: 0 PID: ${pid} Comm: test_progs Not tainted 6.12.0 #1`,
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x5d/0x80',
    ' print_report+0x171/0x4f0',
    ' kasan_report+0xc4/0x100',
    ` memcmp+0x${off}/0x140`,
    ` htab_map_delete_elem_cmp+0x9f/0x1c0`,
    ' bpf_map_delete_elem+0x3c/0x60',
    ' </TASK>',
    '',
    `Allocated by task ${pid}:`,
    ' kasan_save_stack+0x1c/0x40',
    ' bpf_map_kmalloc_node+0x66/0x190',
    '==================================================================',
  ].join('\n');
}

test('a KASAN report is named by its bug type, access and the first frame past the sanitizer and memcmp', (t) => {
  const [a] = scanSplats(kasan(58, '0a1b2c40', '2d'));
  const [b] = scanSplats(kasan(911, '7fe01880', '31'));
  t.is(a!.bugTitle, 'KASAN: slab-use-after-free Read in htab_map_delete_elem_cmp');
  t.is(b!.bugTitle, a!.bugTitle);
});

test('lockdep names the function taking the lock; the lock address and the task do not matter', (t) => {
  const report = (pid: number, addr: string) => [
    '======================================================',
    'WARNING: possible circular locking dependency detected',
    '6.12.0 #1 Not tainted',
    '------------------------------------------------------',
    `test_progs/${pid} is trying to acquire lock:`,
    `ffff8881${addr} (&htab->buckets[i].raw_lock){-.-.}-{2:2}, at: htab_lock_bucket+0x${pid.toString(16)}/0x1a0`,
    '',
    'but task is already holding lock:',
    `ffff8881${addr} (&rq->__lock){-.-.}-{2:2}, at: raw_spin_rq_lock_nested+0x2b/0x40`,
  ].join('\n');
  t.is(splatTitle('lockdep', report(58, '0a1b2c40').split('\n')), 'possible deadlock in htab_lock_bucket');
  t.is(splatTitle('lockdep', report(2077, 'ffee0010').split('\n')), 'possible deadlock in htab_lock_bucket');
});

test('a stall is named by the frame above its dispatcher, not by wherever the loop was interrupted', (t) => {
  const stall = (top: string) => [
    'rcu: INFO: rcu_preempt self-detected stall on CPU',
    'rcu: \t1-....: (21000 ticks this GP) idle=b7c4/1/0x4000000000000000 softirq=1234/1234 fqs=5250',
    'CPU: 1 PID: 77 Comm: test_progs Not tainted 6.12.0 #1',
    'Call Trace:',
    ' <IRQ>',
    ' rcu_sched_clock_irq+0x40a/0xc30',
    ' </IRQ>',
    ' <TASK>',
    ' asm_sysvec_apic_timer_interrupt+0x1a/0x20',
    `RIP: 0010:${top}+0x12/0x40`,
    `  ${top}+0x12/0x40`,
    ' htab_map_update_elem+0x2f1/0x530',
    ' bpf_map_update_value+0x11c/0x2e0',
    ' __sys_bpf+0x1f7/0x2f00',
    ' __x64_sys_bpf+0x1e/0x30',
    ' do_syscall_64+0x4b/0x110',
    ' </TASK>',
  ];
  const a = splatTitle('rcu_stall', stall('lookup_nulls_elem_raw'));
  t.is(a, 'INFO: rcu detected stall in sys_bpf');
  t.is(splatTitle('rcu_stall', stall('htab_map_hash')), a);
});

test('different kinds of report in the same function have different titles', (t) => {
  const frames = ['Call Trace:', ' <TASK>', ' htab_map_delete_elem_cmp+0x9f/0x1c0', ' bpf_map_delete_elem+0x3c/0x60', ' </TASK>'];
  const rip = 'RIP: 0010:htab_map_delete_elem_cmp+0x9f/0x1c0';
  const titles = [
    splatTitle('warning', ['WARNING: CPU: 0 PID: 1 at kernel/bpf/hashtab.c:1 htab_map_delete_elem_cmp+0x9f/0x1c0', rip, ...frames]),
    splatTitle('gpf', ['Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI', rip, ...frames]),
    splatTitle('bug', ['BUG: kernel NULL pointer dereference, address: 0000000000000008', '#PF: supervisor read access in kernel mode', rip, ...frames]),
    splatTitle('bug', ['kernel BUG at kernel/bpf/hashtab.c:1190!', 'Oops: invalid opcode: 0000 [#1] PREEMPT SMP', rip, ...frames]),
    splatTitle('ubsan', ['UBSAN: array-index-out-of-bounds in kernel/bpf/hashtab.c:1190:12', 'index 9 is out of range for type \'u8 [8]\'', ...frames]),
    splatTitle('soft_lockup', ['watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [test_progs:58]', rip, ...frames]),
    splatTitle('hung_task', ['INFO: task test_progs:58 blocked for more than 122 seconds.', ...frames]),
    splatTitle('bug', ['BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585', ...frames]),
  ];
  t.deepEqual(titles, [
    'WARNING in htab_map_delete_elem_cmp',
    'general protection fault in htab_map_delete_elem_cmp',
    'BUG: unable to handle kernel NULL pointer dereference in htab_map_delete_elem_cmp',
    'kernel BUG in htab_map_delete_elem_cmp',
    'UBSAN: array-index-out-of-bounds in htab_map_delete_elem_cmp',
    'BUG: soft lockup in htab_map_delete_elem_cmp',
    'INFO: task hung in htab_map_delete_elem_cmp',
    'BUG: sleeping function called from invalid context in htab_map_delete_elem_cmp',
  ]);
  t.is(new Set(titles).size, titles.length);
});

test('reporting helpers are never the function named', (t) => {
  const title = splatTitle('warning', [
    'WARNING: CPU: 2 PID: 9 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110',
    'RIP: 0010:refcount_warn_saturate+0xba/0x110',
    'Call Trace:',
    ' <TASK>',
    ' ? __warn+0x83/0x130',
    ' __refcount_sub_and_test.constprop.0+0x2d/0x40',
    ' htab_elem_free_rcu.isra.0+0x18/0x30',
    ' </TASK>',
  ]);
  t.is(title, 'WARNING: refcount bug in htab_elem_free_rcu');
});

test('free text in a title is made stable: addresses, numbers and line numbers go', (t) => {
  t.is(stableText('Kernel stack is corrupted at ffffffff81a2b3c4 pid 4127 in kernel/x.c:12'), 'Kernel stack is corrupted at ADDR pid NUM in kernel/x.c:LINE');
  t.is(splatTitle('panic', ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b']), 'kernel panic: Attempted to kill init! exitcode=ADDR');
});

test('the series against its base: the same bug at other addresses is not new; the report groups repeats', async (t) => {
  const { diffRuns } = await import('../../orchestrator/results/run-diff.ts');
  const { groupByBug } = await import('../../orchestrator/results/splat-title.ts');
  const base = scanSplats(warning({ t: '    5.000000', cpu: 0, pid: 58, off: '4a', addr: '00a3fc98' }));
  const series = scanSplats(warning({ t: '    9.000000', cpu: 1, pid: 77, off: '4a', addr: '0077aa10' }) + '\n' + kasan(77, '0a1b2c40', '2d'));
  const diff = diffRuns({ tests: [], splats: base }, { tests: [], splats: series });
  t.deepEqual(diff.newSplats.map((s) => s.bugTitle), ['KASAN: slab-use-after-free Read in htab_map_delete_elem_cmp']);
  const twice = [...series, ...scanSplats(warning({ t: '   10.000000', cpu: 2, pid: 80, off: '51', addr: '0011aa10' }))];
  t.deepEqual(groupByBug(twice).map((g) => [g[0]!.bugTitle, g.length]), [['WARNING in htab_map_delete_elem_cmp', 2], ['KASAN: slab-use-after-free Read in htab_map_delete_elem_cmp', 1]]);
});

test('the reports of real --sanitize runs (7.2.6, this machine) are titled as syzkaller titles them: the series\' function, not the allocator\'s or memcmp', async (t) => {
  const { readFileSync } = await import('node:fs');
  const titles = (name: string) => scanSplats(readFileSync(new URL(`../fixtures/results/splats/${name}.log`, import.meta.url), 'utf8')).map((s) => s.bugTitle);
  t.deepEqual(titles('kasan-7.2.6-real-compare-uaf'), ['KASAN: slab-use-after-free Read in htab_map_delete_elem_cmp']);
  // Under the bucket lock with interrupts off, inside rcu_read_lock: lockdep's RCU check reports first, then
  // DEBUG_ATOMIC_SLEEP; both name the function, past kmemdup and kmalloc.
  t.deepEqual(titles('sleep-in-atomic-7.2.6-real-bucket-lock'), [
    'WARNING: suspicious RCU usage in htab_map_delete_elem_cmp',
    'BUG: sleeping function called from invalid context in htab_map_delete_elem_cmp',
  ]);
});
