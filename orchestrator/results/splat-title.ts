// A kernel report's bug title in syzkaller's style ("WARNING in htab_map_delete_elem", "KASAN: slab-use-after-free
// Read in f", "possible deadlock in f"): the kind of report and the function it happened in, nothing that changes
// from run to run (addresses, offsets, pids, CPUs, times), so the same bug reads the same in every run and groups.
//
// The function is the first stack frame that is not reporting machinery (dump_stack, __warn, kasan_report, lockdep,
// the lock and string primitives a bug passes through): the approach of syzkaller's pkg/report, written anew here.
// Where to look depends on the report: the faulting RIP/pc for oopses and WARNINGs, the function KASAN names, the
// "at:" line lockdep prints for the lock being taken, a frame next to a dispatcher (syscall, work item, timer) for
// stalls whose top frame is wherever the loop happened to be.
import type { SplatKind } from './tree.ts';

/** One stack frame: the function's name without compiler suffixes (.isra.0, .cold) or syscall wrappers. */
function baseName(raw: string): string {
  const name = raw.split('.')[0]!;
  // The syscall foo's wrappers, as syzkaller's titles spell them: __do_sys_foo and __se_sys_foo are "foo" (the body),
  // __x64_sys_foo, SyS_foo and SYSC_foo are "sys_foo" (the entry).
  const body = /^__(?:do|se)_sys_(\w+)$/.exec(name);
  if (body) return body[1]!;
  const entry = /^(?:__(?:x64|ia32|arm64|riscv|s390x?)_|compat_)*(?:sys|SyS|SYSC)_(\w+)$/.exec(name);
  return entry ? `sys_${entry[1]}` : name;
}

// A frame line: " foo+0x1a/0x40", " [<ffffffff81234567>] foo+0x1a/0x40", a module's " foo+0x1a/0x40 [mod]", or
// symbolised " foo+0x1a/0x40 kernel/x.c:12" / " __dump_stack lib/dump_stack.c:88 [inline]". "? " frames are
// leftovers the unwinder is not sure of: never the answer.
const FRAME = /^\s+(?:\[<?(?:0x)?[0-9a-f]+>?\]\s*){0,2}(\?\s+)?([A-Za-z_][\w.$]*)(?:\+0x[0-9a-f]+|\s+[\w.\/-]+\.[chS]:\d+)/;
// Where the CPU was: x86 "RIP: 0010:foo+0x1a/0x40" (older "RIP: 0010:[<...>]  [<...>] foo+..", "IP: [<..>] foo+.."),
// i386 "EIP:", arm64 "pc : foo+..", riscv "epc : foo+..", arm "PC is at foo+..". A user-space RIP names no function.
const RIP = /^\s*(?:N?IP|RIP|EIP|pc|epc|PC is at)\s*:?\s*(?:\d{4}:)?(?:\[<?(?:0x)?[0-9a-f]+>?\]\s*)*([A-Za-z_][\w.$]*)\+0x/;
// A stack dump starts; another one starting ends the first (KASAN's allocation and free stacks, a second CPU).
const TRACE_START = /^\s*(?:Call Trace:|Call trace:|Backtrace:|stack backtrace:|backtrace(?: \(crc [0-9a-f]+\))?:)/;
const STACK_END = /^\s*(?:(?:Allocated|Freed) by task|(?:Last|Second to last) potentially related work creation|The buggy address|Memory state around|Showing all locks|NMI backtrace for cpu|Sending NMI|Kernel panic - not syncing|---\[ end)/;

/**
 * Frames no bug is named after (matched against the whole name, or as a part of it where the pattern says so):
 * what reports, what traps into the report, and the generic helpers every caller passes through.
 */
const MACHINERY = [
  // Printing the report, and the trap or sanitizer hook that led to it.
  'dump_stack', 'show_stack', 'show_regs', 'print_report', 'print_address_description', 'printk', '^_*warn', 'report_bug',
  'fixup_bug', '^handle_bug$', '^_*die$', '_trap$', 'do_error', 'invalid_op', '^asm_exc_', '^exc_', 'panic', 'kasan', '__asan', 'kmsan',
  '__msan', '__hwasan', 'kfence', 'kcsan', '__tsan', '__sanitizer', '^_*ubsan', 'check_memory_region', 'read_word_at_a_time',
  'debug_object', '^(?:timer|work)_is_static_object$', '_indirect_thunk_', '^__pfx_', 'should_fail', 'dump_backtrace',
  '^perf_trace', '^_*do_kernel_fault$', '^do_(?:mem_abort|tag_check_fault|bad_area)$', '^el1_abort$', '^_*fortify', '^ref_tracker', '^assertfail$', '^skb_(?:put|push|over_panic|under_panic)$',
  // Lock debugging and the lock primitives themselves: the bug is in whoever took the lock.
  'lockdep', 'lock_acquire', 'lock_release', 'lock_class', 'reacquire_held_locks', 'spin_lock', 'spin_trylock', 'spin_unlock',
  '^_*(?:raw_)?(?:read|write)_(?:try)?(?:un)?lock', 'dec_and_lock', 'mutex_optimistic_spin', '^_*local_bh_enable', 'wait_for_completion',
  '^_*(?:down|up)(?:_read|_write)?(?:_trylock|_killable|_interruptible|_nested)?$', '^_*mutex_(?:lock|trylock|unlock|remove_waiter)',
  '^osq_(?:un)?lock$', '^_*wake_up', '^_*refcount_',
  // String, memory and user-copy helpers.
  '^_*(?:memcpy|memcmp|memset|memchr|memmove|strcmp|strncmp|strcpy|strlcpy|strncpy|strscpy|strlen|strnlen|strchr|strnstr)',
  '^_*(?:raw_)?copy_(?:to|from)_(?:user|iter)', '^_*(?:test_and_)?(?:set|clear|change)_bit$', '^rb_(?:erase|insert|first|next|prev|last)|^__rb_', '^xas_',
  // Freeing and allocating: the caller freed or allocated wrongly.
  '^_*kfree', '^kmem_cache_', '^_*kmalloc', '^kzalloc', '^_*kv?memdup', '^_*kstrn?dup', '^kvfree', 'free_large_kmalloc', '^_*alloc_pages', '^_*slab_', '^_*(?:get|put)_user', 'might_fault', 'might_sleep', 'might_resched',
  '^_*list_(?:add|del|replace|move|splice)', '^(?:string|pointer)$', '^v?s?c?n?printf$', '^kv?asprintf$', '^_*dev_(?:info|notice|warn|err|alert|crit|emerg)$',
  // Waiting on someone else's work: the waiter is the victim.
  '^_*(?:del_timer|flush_work|cancel_work_sync|cancel_work_timer|try_to_grab_pending|flush_workqueue|drain_workqueue|destroy_workqueue|finish_wait|kthread_stop)',
  // Tearing a device down: what warns in there is the driver that unregisters.
  '^kobject_(?:del|put|uevent_env)$', '^add_uevent_var$', '^get_device_parent$', '^device_(?:add|del|unregister|destroy|for_each_child|remove_file)$',
  '^hwrng_unregister$', '^i2c_del_adapter$', '^__unregister_client$', '^rollback_registered', '^unregister_netdev', '^sysfs_remove',
  '^tty_unregister_device$', '^usb_(?:kill_urb|kill_anchored_urbs|control_msg|hcd_submit_urb|submit_urb)$', '^dummy_urb_enqueue$', '^devres_release_all$',
];

function skipper(extra: readonly string[] = []): RegExp {
  return new RegExp([...MACHINERY, ...extra].join('|'));
}

interface Located {
  /** The line the search starts from (the title line). */
  at: number;
  lines: readonly string[];
}

/** The functions of the first stack dump at or after `from`, "? " frames and machinery left out. */
function stackFrames(lines: readonly string[], from: number, skip: RegExp): string[] {
  let k = from;
  while (k < lines.length && !TRACE_START.test(lines[k]!)) k++;
  return framesAfter(lines, k + 1, skip);
}

function framesAfter(lines: readonly string[], from: number, skip: RegExp): string[] {
  const frames: string[] = [];
  let seen = false;
  for (let k = from; k < lines.length; k++) {
    const line = lines[k]!;
    if (STACK_END.test(line) || (TRACE_START.test(line) && seen)) break;
    const m = FRAME.exec(line);
    if (!m || m[1]) continue;
    seen = true;
    const name = baseName(m[2]!);
    if (!skip.test(name)) frames.push(name);
  }
  return frames;
}

/** The faulting function from the first RIP/pc line at or after `from`, unless it is machinery. */
function ripFunction(lines: readonly string[], from: number, skip: RegExp): string | undefined {
  for (let k = from; k < lines.length; k++) {
    if (TRACE_START.test(lines[k]!) && k > from) break;
    const m = RIP.exec(lines[k]!);
    if (m) {
      const name = baseName(m[1]!);
      return skip.test(name) ? undefined : name;
    }
  }
  return undefined;
}

type Locate = (where: Located) => string | undefined;

/** Oopses, WARNINGs: where the CPU was, else the first frame of the stack. */
const ripThenStack = (...extra: string[]): Locate => {
  const skip = skipper(extra);
  return ({ lines, at }) => ripFunction(lines, at, skip) ?? stackFrames(lines, at, skip)[0];
};

const stackOnly = (...extra: string[]): Locate => {
  const skip = skipper(extra);
  return ({ lines, at }) => stackFrames(lines, at, skip)[0];
};

/** KASAN, KFENCE, KMSAN: the function named in the title line ("... in foo+0x1a/0x40"), else the stack's. */
const namedThenStack = (...extra: string[]): Locate => {
  const skip = skipper(extra);
  return ({ lines, at }) => {
    const m = / in ([A-Za-z_][\w.$]*)(?:\+0x|\s+[\w.\/-]+\.[chS]:\d+|\s*$)/.exec(lines[at]!);
    const named = m && baseName(m[1]!);
    return named && !skip.test(named) ? named : stackFrames(lines, at, skip)[0];
  };
};

/** Lockdep names the lock being taken on an "at: foo+0x1a/0x40" line after its `trigger` sentence. */
const lockSite = (trigger: RegExp, ...extra: string[]): Locate => {
  const skip = skipper(extra);
  return ({ lines, at }) => {
    let k = at;
    while (k < lines.length && !trigger.test(lines[k]!)) k++;
    for (let j = k; j < lines.length && j <= k + 12; j++) {
      const m = /(?:\bat: |^\s*)(?:\[<?[0-9a-f]+>?\]\s*)*([A-Za-z_][\w.$]*)(?:\+0x|\s+[\w.\/-]+\.[ch]:\d+)/.exec(lines[j]!);
      if (!m) continue;
      const name = baseName(m[1]!);
      if (!skip.test(name)) return name;
    }
    return stackFrames(lines, at, skip)[0];
  };
};

// Dispatchers: a stall's top frame is wherever the loop was when the timer fired, but the frame just above one of
// these (the syscall, the work item, the timer callback, the file operation) is the same every time.
const DISPATCHERS = new RegExp('(?:' + [
  'do_syscall_\\w+', '__do_fast_syscall_\\w+', 'do_fast_syscall_\\w+', 'invoke_syscall', 'el0_svc_common', 'entry_SYSCALL\\w*',
  'process_one_work', 'worker_thread', 'kthread', 'ret_from_fork\\w*', 'smpboot_thread_fn', 'run_ksoftirqd',
  'handle_softirqs', '__do_softirq', 'do_softirq\\w*', 'call_timer_fn', '_*run_timers?\\w*', 'run_timer_softirq', 'expire_timers',
  'netif_receive_skb\\w*', '__netif_receive_skb\\w*', 'start_secondary', 'cpu_startup_entry', 'do_idle',
  'vfs_(?:read|write|ioctl|iter_read|iter_write|open)', 'do_iter_(?:read|write)', 'do_iter_readv_writev', 'do_dentry_open',
  'call_(?:read|write)_iter', 'call_mmap', 'mmap_region', 'do_mmap', 'sock_(?:sendmsg|recvmsg|release|ioctl|do_ioctl|mmap)',
  '__sys_(?:setsockopt|listen|accept\\w*|connect|sendmsg|recvmsg|sendto|recvfrom|bind)', 'sys_(?:ioctl|connect|socketpair)',
  'handle_mm_fault', '__do_fault', 'do_user_addr_fault', 'do_page_fault', 'task_work_run', '__fput', 'exit_to_user_mode\\w*',
  'blkdev_ioctl', 'blkdev_driver_ioctl', '^rtnetlink_rcv_msg$', '^nfnetlink_rcv_msg$', '^genl_family_rcv_msg',
].join('|') + ')');

/** Stalls and lockups: the frame called by the outermost dispatcher... the innermost one found, counting from the top. */
function anchored(frames: readonly string[]): string | undefined {
  // Waiting for other CPUs to answer an IPI: the stall is theirs, whoever sent it.
  if (frames.some((f) => f.startsWith('smp_call_function'))) return 'smp_call_function';
  let prev = frames[0];
  for (const frame of frames) {
    if (DISPATCHERS.test(frame)) return prev;
    prev = frame;
  }
  return frames[0];
}

/** RCU stall, soft/hard lockup: the interrupted context's stack (after the timer interrupt), anchored. */
const stall = (...extra: string[]): Locate => {
  const skip = skipper(['apic_timer_interrupt', '^_*rcu_', '^rcu', 'watchdog', ...extra]);
  return ({ lines, at }) => {
    // The interrupted code follows the timer interrupt's entry frame; without one, the whole first stack.
    let k = lines.findIndex((l, i) => i >= at && /apic_timer_interrupt|el1_interrupt|el1h_64_irq/.test(l));
    const frames: string[] = [];
    if (k >= 0) {
      const rip = ripFunction(lines, k + 1, skip);
      if (rip) frames.push(rip);
      // The frames after the interrupted RIP, or after the interrupt entry itself.
      const after = lines.findIndex((l, i) => i > k && RIP.test(l));
      if (after >= 0) k = after;
      frames.push(...framesAfter(lines, k + 1, skip));
    }
    if (frames.length === 0) {
      const rip = ripFunction(lines, at, skip);
      if (rip) frames.push(rip);
      frames.push(...stackFrames(lines, at, skip));
    }
    return anchored(frames);
  };
};

/** A hung task waits somewhere generic; RTNL and RCU grace periods are the usual culprits, grouped as such. */
const hung: Locate = ({ lines, at }) => {
  const frames = stackFrames(lines, at, skipper());
  for (const frame of frames) {
    if (frame.startsWith('rtnl_lock')) return 'rtnl_lock';
    if (/^synchronize_(?:rcu|srcu|net|sched)/.test(frame)) return 'synchronize_rcu';
  }
  const waiting = /sched|_lock|_slowlock|down|completion|kthread|wait|synchronize|context_switch|__switch_to|cancel_delayed_work|rwsem|^io_schedule/;
  return frames.find((f) => !waiting.test(f));
};

/** Only what the kernel says, with what changes from run to run replaced (as syzkaller's titles spell it). */
export function stableText(text: string): string {
  return text
    .replace(/\b([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '$1')
    .replace(/\b0x[0-9a-f]+\b/gi, 'ADDR')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/gi, 'ADDR')
    .replace(/(\.[A-Za-z]{1,3})(?::\d+)+\b/g, '$1:LINE')
    .replace(/\b\d+\b/g, 'NUM')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 120);
}

interface Format {
  header: RegExp;
  /** The title before " in <function>". */
  name: (m: RegExpExecArray, where: Located) => string;
  /** The title when no function is found, if not `name`. */
  bare?: (m: RegExpExecArray) => string;
  locate?: Locate;
}

const fixed = (name: string) => () => name;
const lockdepWords = (m: RegExpExecArray) => m[0].replace(/^\[\s*/, '').replace(/^INFO:/, 'WARNING:');

// Tried in order on each line from the top of the report; the first line any format matches is the title line.
const FORMATS: readonly Format[] = [
  // Sanitizers.
  { header: /^(?:BUG: )?KASAN: (?:double-free(?: or invalid-free)?|invalid-free)\b/, name: fixed('KASAN: invalid-free'), locate: namedThenStack('kmem_', 'slab_', 'kfree', 'vunmap', 'vfree') },
  { header: /^(?:BUG: )?KASAN: ([\w-]+)/, name: (m, { lines, at }) => `KASAN: ${m[1]}${accessOf(lines, at)}`, locate: namedThenStack() },
  { header: /^(?:BUG: )?KFENCE: ([\w -]+?) in /, name: (m) => `KFENCE: ${m[1]}`, locate: namedThenStack() },
  { header: /^(?:BUG: )?KMSAN: ([\w-]+)/, name: (m) => `KMSAN: ${m[1]}`, locate: namedThenStack() },
  { header: /^(?:BUG: )?KCSAN: (.+?) in /, name: (m) => `KCSAN: ${m[1]}`, locate: namedThenStack() },
  { header: /^UBSAN: Undefined behaviour in/, name: fixed('UBSAN: undefined-behaviour'), locate: stackOnly('overflow') },
  { header: /^UBSAN: ([\w-]+)/, name: (m) => `UBSAN: ${m[1]}`, locate: stackOnly('overflow') },
  // Lockdep, from the current "WARNING:" titles back to the bracketed ones of old kernels ("[ INFO: ... ]").
  { header: /^\[?\s*(?:WARNING|INFO): possible (?:circular locking dependency|recursive locking) detected/, name: fixed('possible deadlock'), bare: lockdepWords, locate: lockSite(/is trying to acquire lock/) },
  { header: /^\[?\s*(?:WARNING|INFO): possible irq lock inversion dependency detected/, name: fixed('possible deadlock'), bare: lockdepWords, locate: lockSite(/just changed the state of lock/) },
  { header: /^\[?\s*(?:WARNING|INFO): \S+-safe -> \S+-unsafe lock order detected/, name: fixed('possible deadlock'), bare: lockdepWords, locate: lockSite(/is trying to acquire/) },
  { header: /^\[?\s*(?:WARNING|INFO): inconsistent lock state/, name: fixed('inconsistent lock state'), locate: lockSite(/\btakes\b/) },
  { header: /^\[?\s*(WARNING|INFO): suspicious RCU usage/, name: (m) => `${m[1]}: suspicious RCU usage`, locate: stackOnly('rcu', 'kmem', 'slab', 'kmalloc', 'vmalloc', 'kcalloc', 'kzalloc') },
  { header: /^\[?\s*(WARNING|BUG): bad unlock balance detected/, name: (m) => `${m[1]}: bad unlock balance`, locate: lockSite(/is trying to release lock/) },
  { header: /^\[?\s*(WARNING|BUG): held lock freed/, name: (m) => `${m[1]}: held lock freed`, locate: lockSite(/held lock freed|is freeing memory/) },
  { header: /^\[?\s*(WARNING|BUG): lock held when returning to user space/, name: (m) => `${m[1]}: lock held when returning to user space`, locate: lockSite(/locks still held/) },
  { header: /^\[?\s*(WARNING|BUG): .*still has locks held/, name: (m) => `${m[1]}: still has locks held`, locate: lockSite(/still has locks held/) },
  { header: /^\[?\s*(WARNING|BUG): [Nn]ested lock was not taken/, name: (m) => `${m[1]}: nested lock was not taken`, locate: lockSite(/is trying to lock/) },
  { header: /^\[?\s*INFO: trying to register non-static key/, name: fixed('INFO: trying to register non-static key'), locate: stackOnly('stack', 'lock', 'IRQ') },
  { header: /^\[?\s*BUG: (MAX_\w+ too low!?)/, name: (m) => `BUG: ${m[1]}` },
  { header: /^\[?\s*BUG: Invalid wait context/, name: fixed('BUG: Invalid wait context'), locate: lockSite(/is trying to lock/) },
  // Stalls, lockups, hangs.
  { header: /^(?:rcu: )?INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stall/, name: fixed('INFO: rcu detected stall'), locate: stall() },
  { header: /^(?:(?:NMI )?watchdog: )?BUG: soft lockup/, name: fixed('BUG: soft lockup'), locate: stall() },
  { header: /^(?:(?:NMI )?watchdog: )?(?:CPU\d+: )?Watchdog detected hard LOCKUP/, name: fixed('BUG: hard lockup'), locate: stall() },
  { header: /^INFO: task .* blocked\b.* for more than \d+ seconds/, name: fixed('INFO: task hung'), locate: hung },
  { header: /^INFO: task .* can't die for more than \d+ seconds/, name: fixed("INFO: task can't die"), locate: hung },
  // Faults and BUG()s.
  { header: /^(?:Oops: )?(?:segment-related )?general protection fault/, name: fixed('general protection fault'), locate: ripThenStack() },
  { header: /^BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)/, name: fixed('BUG: unable to handle kernel NULL pointer dereference'), locate: ripThenStack() },
  { header: /^BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)/, name: fixed('BUG: unable to handle kernel paging request'), locate: ripThenStack() },
  { header: /^BUG: (?:unable|Unable) to handle kernel/, name: fixed('BUG: unable to handle kernel'), locate: ripThenStack() },
  { header: /^Unable to handle kernel NULL pointer dereference/, name: fixed('BUG: unable to handle kernel NULL pointer dereference'), locate: ripThenStack() },
  { header: /^Unable to handle kernel (?:paging request|access to user memory|execute from non-executable memory|read from unreadable memory|write to read-only memory)/, name: fixed('BUG: unable to handle kernel paging request'), locate: ripThenStack() },
  { header: /^kernel BUG at mm\/usercopy\.c/, name: fixed('BUG: bad usercopy'), locate: stackOnly('usercopy', '__check') },
  { header: /^kernel BUG at lib\/list_debug\.c/, name: fixed('BUG: corrupted list'), locate: ripThenStack('^_*list_', 'list_debug') },
  { header: /^kernel BUG at /, name: fixed('kernel BUG'), locate: ripThenStack() },
  { header: /^BUG: spinlock (lockup suspected|already unlocked|recursion|bad magic|wrong owner|wrong CPU)/, name: (m) => `BUG: spinlock ${m[1]}`, locate: stackOnly('spin_') },
  { header: /^BUG: sleeping function called from invalid context/, name: fixed('BUG: sleeping function called from invalid context'), locate: stackOnly() },
  { header: /^BUG: using (__this_cpu_\w+\(\)|smp_processor_id\(\)) in preemptible/, name: (m) => `BUG: using ${m[1]} in preemptible code`, locate: stackOnly('preempt', 'debug_smp_processor_id', 'check_preemption_disabled') },
  { header: /^BUG: scheduling while atomic/, name: fixed('BUG: scheduling while atomic'), locate: stackOnly('schedule', 'preempt') },
  { header: /^BUG: (?:\w+ )?stack guard page was hit/, name: fixed('BUG: stack guard page was hit'), locate: ripThenStack() },
  { header: /^BUG: memory leak/, name: fixed('memory leak'), locate: stackOnly('kmemleak', 'kmalloc', 'kcalloc', 'kzalloc', 'vmalloc', 'mmap', 'kmem', 'slab', 'alloc', 'create_object', 'idr_get', 'list_lru_init', 'kasprintf', 'kvasprintf', 'pcpu_create', 'strdup', 'strndup', 'memdup') },
  { header: /^BUG: workqueue leaked lock or atomic/, name: fixed('BUG: workqueue leaked lock or atomic'), locate: ({ lines, at }) => lines.slice(at, at + 10).map((l) => /last function: (\w+)/.exec(l)?.[1]).find(Boolean) },
  { header: /^BUG: (Bad page state|Bad page map)/, name: (m) => `BUG: ${m[1]}`, locate: stackOnly('page', 'folio', '^free_', 'pcp', 'pages') },
  { header: /^BUG: (Bad rss-counter state|workqueue lockup|non-zero nr_\w+ on freeing mm)/, name: (m) => `BUG: ${m[1]}` },
  { header: /^BUG \S+ \(.*\): (.+)/, name: (m) => `BUG: ${stableText(m[1]!)}` },
  { header: /^PANIC: double fault/, name: fixed('PANIC: double fault'), locate: ripThenStack() },
  { header: /^(?:Oops: )?(divide[ _]error|invalid opcode|stack segment|int3)(?:: |\b)/, name: (m) => (m[1] === 'stack segment' ? 'stack segment fault' : m[1]!.replace('_', ' ')), locate: ripThenStack() },
  { header: /^Internal error: /, name: fixed('Internal error'), locate: ripThenStack() },
  { header: /^Unhandled fault:/, name: fixed('Unhandled fault'), locate: ripThenStack() },
  // Panics: the reason, unless the reason is the report above it.
  { header: /^Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: /, name: fixed('kernel panic: stack is corrupted'), locate: corruptedIn },
  { header: /^Kernel panic - not syncing: corrupted stack end/, name: fixed('kernel panic: corrupted stack end'), locate: stall('schedule', 'retint_kernel') },
  { header: /^Kernel panic - not syncing: (Fatal exception|panic_on_warn set|hung_task: blocked tasks)/, name: (m) => `kernel panic: ${m[1]}` },
  { header: /^Kernel panic - not syncing: Couldn't open N_TTY ldisc/, name: fixed("kernel panic: Couldn't open N_TTY ldisc") },
  { header: /^Kernel panic - not syncing: (.*)/, name: (m) => `kernel panic: ${stableText(m[1]!)}` },
  // WARN(): a few families are named for what they check; the rest by where the WARN fired.
  { header: /^WARNING: kernel stack regs at .* has bad '(\w+)' value/, name: (m) => `WARNING: kernel stack regs has bad '${m[1]}' value` },
  { header: /^WARNING: kernel stack frame pointer at .* has bad value/, name: fixed('WARNING: kernel stack frame pointer has bad value') },
  { header: /^WARNING: .*lib\/debugobjects\.c/, name: fixed('WARNING: ODEBUG bug'), locate: ripThenStack('debug_', 'rcu', 'hrtimer_', 'timer_', 'work_', 'percpu_', 'kmem_', 'slab_', 'kfree', 'vunmap', 'vfree', '__free_', 'kobject_') },
  { header: /^WARNING: .*lib\/refcount\.c/, name: fixed('WARNING: refcount bug'), locate: ripThenStack('refcount', 'kobject_') },
  { header: /^WARNING: .*lib\/kobject\.c/, name: fixed('WARNING: kobject bug'), locate: ripThenStack('kobject_') },
  { header: /^WARNING: .*mm\/usercopy\.c/, name: fixed('WARNING: bad usercopy'), locate: ripThenStack('usercopy', '__check') },
  { header: /^WARNING: .*kernel\/locking\/lockdep\.c/, name: fixed('WARNING: locking bug'), locate: ripThenStack('lock_sock', 'release_sock') },
  { header: /^WARNING: .*mm\/vmalloc\.c.*__vmalloc_node_range/, name: fixed('WARNING: zero-size vmalloc'), locate: ripThenStack('vmalloc', 'kvmalloc') },
  { header: /^WARNING: .*mm\/.*\.c.* k?.?malloc/, name: fixed('WARNING: kmalloc bug'), locate: ripThenStack('kmalloc', 'kcalloc', 'kzalloc', 'krealloc', 'vmalloc', 'slab', 'kmem') },
  { header: /^WARNING: (?:CPU: ?\d+ PID: \d+ at |at )?\S+\.[A-Za-z]{1,3}:\d+|^WARNING: CPU: ?\d+ PID: \d+ at \S+|^WARNING: at /, name: fixed('WARNING'), locate: warningSite },
  { header: /^(?:Oops(?:: |\[)|[a-z][\w ]*: [0-9a-f]{4} \[#\d+\])/, name: fixed('Oops'), locate: ripThenStack() },
  // Any other titled report: its own words, made stable, and where it happened.
  { header: /^((?:WARNING|BUG|INFO): .+)/, name: (m) => stableText(m[1]!.replace(/ (?:at|in) .*$/, '')), locate: ripThenStack() },
];

/** The stack protector names the function whose canary died, when it can; else the stack says. */
function corruptedIn(where: Located): string | undefined {
  const named = /corrupted in: ([A-Za-z_][\w.$]*)/.exec(where.lines[where.at]!)?.[1];
  return named && !/^[0-9a-f]+$/.test(named) ? baseName(named) : stackOnly('stack_chk')(where);
}

/** "Read"/"Write" from the access line under a KASAN title ("Read of size 8 at addr ..."), when there is one. */
function accessOf(lines: readonly string[], at: number): string {
  for (let k = at + 1; k < lines.length && k <= at + 10; k++) {
    const m = /^\s*(Read|Write) (?:of size|at addr)/.exec(lines[k]!);
    if (m) return ` ${m[1]}`;
  }
  return '';
}

/** A WARN(): the faulting RIP (x86 traps into the report), else the function the title names, else the stack's. */
function warningSite(where: Located): string | undefined {
  const skip = skipper();
  const rip = ripFunction(where.lines, where.at, skip);
  if (rip) return rip;
  // 6.x "WARNING: CPU: 1 PID: 5 at kernel/x.c:12 f+0x1/0x2", 7.x "WARNING: kernel/x.c:12 at f+0x1/0x2, CPU#1: ..".
  const m = /\s([A-Za-z_][\w.$]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(where.lines[where.at]!);
  const named = m && baseName(m[1]!);
  return named && !skip.test(named) ? named : stackFrames(where.lines, where.at, skip)[0];
}

/** The first line of a report that is not a marker or a dump_stack() header: what an untitled report says. */
function untitledMessage(lines: readonly string[]): string | undefined {
  const marker = /^(?:-+\[ cut here \]-+|={5,}|-{5,}|CPU: \d+|Hardware name:|Call Trace:|Call trace:|stack backtrace:|RIP:|Code:|[A-Z][A-Z0-9]{1,3}: |(?:pc|lr|sp) : |<\/?\w+>|Modules linked in:|---\[)/;
  return lines.map((l) => l.trim()).find((l) => l !== '' && !marker.test(l) && !FRAME.test(` ${l}`));
}

/**
 * The report's title: its kind, and the function it is about. Same bug, same title, in any run. Never throws: a
 * report it cannot read is titled by its kind.
 */
export function splatTitle(kind: SplatKind, lines: readonly string[]): string {
  try {
    for (let at = 0; at < lines.length; at++) {
      const text = lines[at]!.trim();
      for (const format of FORMATS) {
        const m = format.header.exec(text);
        if (!m) continue;
        const where = { lines, at };
        const name = format.name(m, where);
        const fn = format.locate?.(where);
        return fn ? `${name} in ${fn}` : format.bare?.(m) ?? name;
      }
    }
    const fn = stackOrRip(lines);
    const message = untitledMessage(lines);
    const name = message ? stableText(message) : kind === 'unknown' ? 'kernel stack dump' : kind;
    return fn ? `${name} in ${fn}` : name;
  } catch {
    return kind;
  }
}

function stackOrRip(lines: readonly string[]): string | undefined {
  return ripThenStack()({ lines, at: 0 });
}

/** What a report shows a splat as: its bug title, or its first line when it has none (a splat made before titles). */
export function bugTitleOf(splat: { bugTitle?: string; title: string }): string {
  return splat.bugTitle ?? splat.title;
}

/** Splats of one bug together (a WARN in a loop prints many), in order of first appearance; accepted and not apart. */
export function groupByBug<S extends { bugTitle?: string; title: string; allowedBy?: string }>(splats: readonly S[]): S[][] {
  const groups = new Map<string, S[]>();
  for (const s of splats) {
    const key = `${s.allowedBy ?? ''}\n${bugTitleOf(s)}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()];
}
