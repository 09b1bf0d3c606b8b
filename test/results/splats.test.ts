import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { assembleResults } from '../../orchestrator/results/assemble.ts';
import { messageLines } from '../../orchestrator/results/printk-prefix.ts';
import {
  BARE_ANCHOR, CUT_HERE, END_MARKER, END_TRACE, REGISTER_LINE, classicWarningTitle, isBoundary, reportKind, warningSite,
} from '../../orchestrator/results/splat-patterns.ts';
import { applyAllowlist, attributeSplats, consolePlanState, loadAllowlist, scanSplats } from '../../orchestrator/results/splats.ts';
import { SPLAT_KINDS, type Splat } from '../../orchestrator/results/tree.ts';

const fixtures = new URL('../fixtures/results/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');

interface Expected {
  kind: string;
  title: string;
  startLine: number;
  endLine: number;
  test?: string;
  /** Why a harmless dump decides nothing (Splat.informational). */
  informational?: string;
}

/** splats/<name>.expected.json: where the console excerpt <name>.log comes from, and the splats it holds. */
interface FixtureExpectation {
  capture: 'real' | 'hand-written';
  kernel?: string;
  source: string;
  splats: Expected[];
}

const brief = (s: Splat): Expected => ({
  kind: s.kind,
  title: s.title,
  startLine: s.startLine,
  endLine: s.startLine + s.lines.length - 1,
  ...(s.test ? { test: s.test } : {}),
  ...(s.informational ? { informational: s.informational } : {}),
});

const scan = (text: string): Splat[] => attributeSplats(scanSplats(text), text);

/** The verdict of a run whose every test printed a pass, given the console it left. */
function verdictOf(consoleText: string) {
  const names = [...new Set(messageLines(consoleText).flatMap((l) => /^vm-test: begin (.+)$/.exec(l)?.[1] ?? []))];
  const resultsText = ['# vm-test: init started', ...names.flatMap((n) => [`# vm-test: begin ${n}`, 'TAP version 13', '1..1', 'ok 1 case', `# vm-test: end ${n} exit=0`]), '# vm-test: done'].join('\n');
  return assembleResults({
    resultsText,
    planned: names.map((name) => ({ name, kind: 'ktap' as const, argv: [name], timeoutSec: 300 })),
    splats: scan(consoleText),
    vm: { end: 'completed', detail: 'done' },
  });
}

// Every console excerpt in splats/ with the expected result beside it; a new capture is one .log and one .expected.json.
for (const file of readdirSync(new URL('splats/', fixtures)).filter((f) => f.endsWith('.log'))) {
  const expected = JSON.parse(read(`splats/${file.replace(/\.log$/, '.expected.json')}`)) as FixtureExpectation;
  const text = read(`splats/${file}`);
  test(`fixture splats/${file} (${expected.capture}) scans to its .expected.json`, (t) => {
    t.true(expected.capture === 'real' || expected.capture === 'hand-written', 'capture says real or hand-written');
    t.true(expected.source.length > 0, 'source says where it comes from');
    t.deepEqual(scan(text).map(brief), expected.splats);
  });
  const during = expected.splats.find((s) => s.test);
  if (during) {
    test(`fixture splats/${file}: the ${during.kind} fails a run whose tests passed, exit 3, during ${during.test}`, (t) => {
      const verdict = verdictOf(text);
      t.is(verdict.kind, 'kernelCrash');
      t.true(verdict.headline.startsWith(`kernel ${during.kind} during ${during.test}: `), verdict.headline);
      t.is(verdict.tree.tests.find((n) => n.name === during.test)?.splats[0]?.title, during.title);
    });
  }
}

test('real run consoles (6.12.117, this machine): no splat in a passing or failing run, the sysrq panic in its test', (t) => {
  const run = (name: string): string => readFileSync(new URL(`../fixtures/runs/${name}/console.log`, import.meta.url), 'utf8');
  t.deepEqual(scan(run('pass')), []);
  t.deepEqual(scan(run('broken-flag-check')), []);
  t.deepEqual(scan(run('panic-cloud')).map((s) => [s.kind, s.title, s.test]), [['panic', 'Kernel panic - not syncing: sysrq triggered crash', 'panics']]);
});

test('real UML WARNING in a KUnit boot log (kunit test_data): cut here to end trace, interleaved line kept', (t) => {
  const [warning, ...rest] = scanSplats(read('kunit/test_output_isolated_correctly.log'));
  t.deepEqual(rest, []);
  t.deepEqual(brief(warning!), {
    kind: 'warning',
    title: 'WARNING: CPU: 0 PID: 0 at kernel/time/clockevents.c:458 clockevents_register_device+0x143/0x160',
    startLine: 10,
    endLine: 42,
  });
  t.is(warning!.lines[0], '------------[ cut here ]------------');
  t.true(warning!.lines.includes('random: get_random_bytes called from print_oops_end_marker+0x4c/0x60 with crng_init=0'));
});

test('real UML panics in KUnit logs: from the panic line through the stack words, tab-indented or not', (t) => {
  const cases: Record<string, [number, number]> = {
    'test_kernel_panic_interrupt.log': [21, 26],
    'test_config_printk_time.log': [27, 32],
    'test_multiple_prefixes.log': [27, 32],
    'test_pound_no_prefix.log': [29, 34],
    'test_is_test_passed-no_tests_run_no_header.log': [75, 75],
  };
  for (const [log, [start, end]] of Object.entries(cases)) {
    const splats = scanSplats(read(`kunit/${log}`));
    t.is(splats.length, 1, log);
    t.deepEqual(brief(splats[0]!), {
      kind: 'panic',
      title: 'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(98,0)',
      startLine: start,
      endLine: end,
    }, log);
  }
});

test('printk prefixes are stripped from titles and lines; the GPF keeps its KASAN line', (t) => {
  const gpf = scanSplats(read('splats/vm-console-constructed.log')).find((s) => s.kind === 'gpf')!;
  t.is(gpf.lines[1], 'KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]');
  t.false(gpf.lines.some((l) => l.startsWith('[')));
});

test('BUG: kernel NULL pointer dereference absorbs its Oops line; the panic after it is its own splat', (t) => {
  const log = [
    '<1>[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008',
    '<1>[   12.000002] #PF: supervisor read access in kernel mode',
    '<1>[   12.000003] #PF: error_code(0x0000) - not-present page',
    '<6>[   12.000004] PGD 0 P4D 0',
    '<4>[   12.000005] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI',
    '<4>[   12.000006] CPU: 1 UID: 0 PID: 230 Comm: test_progs Not tainted 6.12.0 #1',
    '<4>[   12.000007] RIP: 0010:htab_map_delete_cmp+0x3e/0x2d0',
    '<4>[   12.000008] Call Trace:',
    '<4>[   12.000009]  <TASK>',
    '<4>[   12.000010]  map_delete_elem+0x1a4/0x1f0',
    '<4>[   12.000011]  </TASK>',
    '<4>[   12.000012] Modules linked in:',
    '<4>[   12.000013] CR2: 0000000000000008',
    '<4>[   12.000014] ---[ end trace 0000000000000000 ]---',
    '<0>[   12.000015] Kernel panic - not syncing: Fatal exception',
    '<0>[   12.000016] Kernel Offset: disabled',
    '<0>[   12.000017] ---[ end Kernel panic - not syncing: Fatal exception ]---',
  ].join('\n');
  t.deepEqual(scanSplats(log).map(brief), [
    { kind: 'bug', title: 'BUG: kernel NULL pointer dereference, address: 0000000000000008', startLine: 1, endLine: 14 },
    { kind: 'panic', title: 'Kernel panic - not syncing: Fatal exception', startLine: 15, endLine: 17 },
  ]);
});

test('"kernel BUG at" takes the "Oops: invalid opcode" after it', (t) => {
  const log = [
    '------------[ cut here ]------------',
    'kernel BUG at mm/slub.c:553!',
    'Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
    'CPU: 0 UID: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.0 #1',
    'RIP: 0010:__slab_free+0x2a1/0x2b0',
    'Call Trace:',
    ' <TASK>',
    ' kfree+0x21c/0x2d0',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ].join('\n');
  t.deepEqual(scanSplats(log).map(brief), [{ kind: 'bug', title: 'kernel BUG at mm/slub.c:553!', startLine: 1, endLine: 10 }]);
});

test('arm64: "Unable to handle kernel NULL pointer dereference" and its "Internal error: Oops" 14 lines on are one oops', (t) => {
  const log = [
    'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
    'Mem abort info:',
    '  ESR = 0x0000000096000006',
    '  EC = 0x25: DABT (current EL), IL = 32 bits',
    '  SET = 0, FnV = 0',
    '  EA = 0, S1PTW = 0',
    '  FSC = 0x06: level 2 translation fault',
    'Data abort info:',
    '  ISV = 0, ISS = 0x00000006, ISS2 = 0x00000000',
    '  CM = 0, WnR = 0, TnD = 0, TagAccess = 0',
    '  GCS = 0, Overlay = 0, DirtyBit = 0, Xs = 0',
    'user pgtable: 4k pages, 48-bit VAs, pgdp=0000000043f2e000',
    '[0000000000000000] pgd=0800000043f2f003, p4d=0800000043f2f003, pud=0800000043f30003, pmd=0000000000000000',
    'Internal error: Oops: 0000000096000006 [#1] PREEMPT SMP',
    'Modules linked in:',
    'CPU: 0 UID: 0 PID: 61 Comm: test_progs Not tainted 6.12.0 #1',
    'pc : htab_map_delete_cmp+0x34/0x1f0',
    'lr : map_delete_elem+0x160/0x1d8',
    'Call trace:',
    ' htab_map_delete_cmp+0x34/0x1f0',
    ' map_delete_elem+0x160/0x1d8',
    'Code: f9400c01 b4000341 f9400822 aa0103e0 (f9400043)',
    '---[ end trace 0000000000000000 ]---',
  ].join('\n');
  const splats = scanSplats(log);
  t.is(splats.length, 1);
  t.deepEqual(brief(splats[0]!), {
    kind: 'oops',
    title: 'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
    startLine: 1,
    endLine: 23,
  });
});

test('panic_on_warn: the panic is the WARNING\'s own, and its stack is the WARNING\'s stack: one report', (t) => {
  const log = [
    '------------[ cut here ]------------',
    'refcount_t: underflow; use-after-free.',
    'WARNING: CPU: 0 PID: 212 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110',
    'Modules linked in:',
    'CPU: 0 UID: 0 PID: 212 Comm: test_progs Not tainted 6.12.0 #1',
    'RIP: 0010:refcount_warn_saturate+0xba/0x110',
    'Kernel panic - not syncing: kernel: panic_on_warn set ...',
    'CPU: 0 UID: 0 PID: 212 Comm: test_progs Not tainted 6.12.0 #1',
    'Call Trace:',
    ' <TASK>',
    ' panic+0x349/0x380',
    ' </TASK>',
    'Kernel Offset: disabled',
    '---[ end Kernel panic - not syncing: kernel: panic_on_warn set ... ]---',
  ].join('\n');
  const splats = scanSplats(log);
  const [warning] = splats;
  t.is(splats.length, 1);
  t.deepEqual(brief(warning!), {
    kind: 'warning',
    title: 'WARNING: CPU: 0 PID: 212 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110',
    startLine: 1,
    endLine: 14,
  });
  t.is(warning!.lines[1], 'refcount_t: underflow; use-after-free.');
  t.true(warning!.lines.includes(' panic+0x349/0x380'));
});

test('a report without an end marker stops at test output, even indented test output', (t) => {
  const log = [
    '    # Subtest: lockdep_case',
    '    1..1',
    '=============================',
    'WARNING: suspicious RCU usage',
    '6.12.0 #1 Not tainted',
    '-----------------------------',
    'kernel/bpf/hashtab.c:1672 suspicious rcu_dereference_check() usage!',
    '',
    'other info that might help us debug this:',
    '',
    'rcu_scheduler_active = 2, debug_locks = 1',
    'no locks held by kunit_try_catch/57.',
    '',
    'stack backtrace:',
    'CPU: 0 UID: 0 PID: 57 Comm: kunit_try_catch Not tainted 6.12.0 #1',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x5d/0x80',
    ' lockdep_rcu_suspicious+0x14e/0x190',
    ' </TASK>',
    '    ok 1 lockdep_case',
    'ok 1 suite',
  ].join('\n');
  t.deepEqual(scanSplats(log).map(brief), [{ kind: 'lockdep', title: 'WARNING: suspicious RCU usage', startLine: 3, endLine: 20 }]);
});

test('a one-line BUG is one line; an unrelated line ends it', (t) => {
  const log = 'BUG: Bad rss-counter state mm:00000000b4e2fd52 type:MM_ANONPAGES val:1\nvirtio_net virtio0 eth0: link up\n';
  t.deepEqual(scanSplats(log).map(brief), [
    { kind: 'bug', title: 'BUG: Bad rss-counter state mm:00000000b4e2fd52 type:MM_ANONPAGES val:1', startLine: 1, endLine: 1 },
  ]);
});

test('kinds: KASAN and lockdep are not bug/warning, soft lockup is not bug, hard lockup is not soft, hung task and RCU stalls', (t) => {
  const kinds = (line: string) => scanSplats(line).map((s) => s.kind);
  t.deepEqual(kinds('BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0xa8/0xbc [kasan_test]'), ['kasan']);
  t.deepEqual(kinds('WARNING: possible circular locking dependency detected'), ['lockdep']);
  t.deepEqual(kinds('WARNING: possible recursive locking detected'), ['lockdep']);
  t.deepEqual(kinds('WARNING: inconsistent lock state'), ['lockdep']);
  t.deepEqual(kinds('WARNING: suspicious RCU usage'), ['lockdep']);
  t.deepEqual(kinds('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]'), ['soft_lockup']);
  t.deepEqual(kinds('BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]'), ['soft_lockup']);
  // A CPU stuck with interrupts off is its own kind: a "soft_lockup:" allowlist entry must not accept it.
  t.deepEqual(kinds('watchdog: Watchdog detected hard LOCKUP on cpu 1'), ['hard_lockup']);
  t.deepEqual(kinds('watchdog: CPU1: Watchdog detected hard LOCKUP on cpu 1'), ['hard_lockup']);
  t.deepEqual(kinds('NMI watchdog: Watchdog detected hard LOCKUP on cpu 0'), ['hard_lockup']);
  t.deepEqual(kinds('Kernel panic - not syncing: Hard LOCKUP'), ['panic']);
  t.deepEqual(kinds('rcu: INFO: rcu_preempt self-detected stall on CPU'), ['rcu_stall']);
  t.deepEqual(kinds('rcu: INFO: rcu_sched detected stalls on CPUs/tasks:'), ['rcu_stall']);
  t.deepEqual(kinds('WARNING: possible irq lock inversion dependency detected'), ['lockdep']);
  t.deepEqual(kinds('invalid opcode: 0000 [#1] SMP PTI'), ['oops']);
  t.deepEqual(kinds('Unable to handle kernel paging request at virtual address ffff800080000000'), ['oops']);
  t.deepEqual(kinds('rcu: INFO: rcu_sched self-detected stall on CPU'), ['rcu_stall']);
  t.deepEqual(kinds('rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'), ['rcu_stall']);
  t.deepEqual(kinds('INFO: rcu_sched detected expedited stalls on CPUs/tasks: { 7-... } 21119 jiffies s: 73 root: 0x2/.'), ['rcu_stall']);
  t.deepEqual(kinds('INFO: task kworker/0:1:12 blocked for more than 122 seconds.'), ['hung_task']);
  t.deepEqual(kinds('general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] SMP KASAN'), ['gpf']);
  t.deepEqual(kinds('Oops: 0002 [#1] PREEMPT SMP'), ['oops']);
  t.deepEqual(kinds('Oops[#1]:'), ['oops']);
  t.deepEqual(kinds('UBSAN: array-index-out-of-bounds in kernel/bpf/verifier.c:123:4'), ['ubsan']);
  t.deepEqual(kinds('WARNING: at kernel/sched/core.c:123 foo+0x1/0x2()'), ['warning']);
  t.deepEqual(kinds('WARNING: Unprivileged eBPF is enabled, data leaks possible via Spectre v2 BHB attacks!'), []);
  t.deepEqual(kinds('WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!'), []);
  t.deepEqual(kinds('    # kasan_test: BUG: KASAN: expected in a KUnit diagnostic'), []);
});

test('WARNING titles in the 6.x and the 7.x layout are warnings, whatever order the CPU and the location come in', (t) => {
  const titles = [
    'WARNING: CPU: 1 PID: 58 at kernel/bpf/hashtab.c:1234 htab_map_delete_elem+0x4a/0x120',
    'WARNING: kernel/bpf/hashtab.c:1234 at htab_map_delete_elem+0x4a/0x120, CPU#1: compare-contrac/58',
    'WARNING: at htab_map_delete_elem+0x4a/0x120, CPU#1: kworker/1:2/58',
    'WARNING: CPU#1 PID 58 kernel/bpf/hashtab.c:1234',
  ];
  for (const title of titles) t.is(reportKind(title), 'warning', title);
  t.deepEqual(warningSite(titles[0]!), { location: 'kernel/bpf/hashtab.c:1234', function: 'htab_map_delete_elem+0x4a/0x120', cpu: '1', pid: '58' });
  t.deepEqual(warningSite(titles[1]!), { location: 'kernel/bpf/hashtab.c:1234', function: 'htab_map_delete_elem+0x4a/0x120', cpu: '1', pid: '58' });
  t.deepEqual(warningSite(titles[2]!), { function: 'htab_map_delete_elem+0x4a/0x120', cpu: '1', pid: '58' });
  t.is(classicWarningTitle(titles[1]!), titles[0]);
  t.is(classicWarningTitle(titles[2]!), 'WARNING: CPU: 1 PID: 58 at htab_map_delete_elem+0x4a/0x120');
  t.is(warningSite('WARNING: Unprivileged eBPF is enabled, data leaks possible via Spectre v2 BHB attacks!'), undefined);
});

test('between cut here and the end marker, a title no classifier knows is a splat of kind "unknown"', (t) => {
  const body = [
    'RIP: 0010:htab_map_delete_elem+0x4a/0x120',
    'Call Trace:',
    ' <TASK>',
    ' map_delete_elem+0x163/0x1f0',
    ' </TASK>',
  ];
  const framed = ['------------[ cut here ]------------', 'frobnicator: state 3 is impossible', ...body, '---[ end trace 0000000000000000 ]---'];
  t.deepEqual(scanSplats(framed.join('\n')).map(brief), [{ kind: 'unknown', title: 'frobnicator: state 3 is impossible', startLine: 1, endLine: 8 }]);
  // No end marker: the message lines right after "cut here" still belong to it.
  const open = ['------------[ cut here ]------------', 'frobnicator: state 3 is impossible', 'frobnicator: giving up', 'vm-test: end x exit=0'];
  t.deepEqual(scanSplats(open.join('\n')).map(brief), [{ kind: 'unknown', title: 'frobnicator: state 3 is impossible', startLine: 1, endLine: 3 }]);
  // A title within ten lines of "cut here" gives it its kind; the message before it stays in the report.
  const late = ['------------[ cut here ]------------', 'list_del corruption. prev->next should be ffff8880, but was 0000', 'kernel BUG at lib/list_debug.c:62!', 'Oops: invalid opcode: 0000 [#1] SMP NOPTI', ...body];
  t.deepEqual(scanSplats(late.join('\n')).map(brief), [{ kind: 'bug', title: 'kernel BUG at lib/list_debug.c:62!', startLine: 1, endLine: 9 }]);
});

test('a bare RIP:, Call Trace: or end marker outside any report opens one of kind "unknown", from the dump above it', (t) => {
  const log = [
    'virtio_net virtio0 eth0: link up',
    'compare-contrac: page allocation failure: order:10, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null)',
    'CPU: 1 UID: 0 PID: 123 Comm: compare-contrac Not tainted 7.2.0 #1',
    'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3-debian-1.16.3-2 04/01/2014',
    'Call Trace:',
    ' <TASK>',
    ' warn_alloc+0x13b/0x1a0',
    ' </TASK>',
    'Mem-Info:', // line 9: not report-looking, ends it
    'random: crng init done',
    'RIP: 0010:htab_map_delete_elem+0x62/0x120', // line 11
    'RSP: 0018:ffffc90000317d70 EFLAGS: 00000202',
    'random: crng reseeded',
    'Modules linked in:', // line 14
    '---[ end trace 0000000000000000 ]---',
  ].join('\n');
  // The allocation failure's dump is harmless: informational, after the reports.
  t.deepEqual(scanSplats(log).map(brief), [
    { kind: 'unknown', title: 'RIP: 0010:htab_map_delete_elem+0x62/0x120', startLine: 11, endLine: 15 },
    { kind: 'unknown', title: 'compare-contrac: page allocation failure: order:10, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null)', startLine: 2, endLine: 8, informational: 'allocation failure' },
  ]);
  t.deepEqual(scanSplats('Modules linked in:\n---[ end trace 0000000000000000 ]---\n').map(brief), [
    { kind: 'unknown', title: 'Modules linked in:', startLine: 1, endLine: 2 },
  ]);
});

test('once a report\'s stack dump is over, a bare Call Trace after an unrelated line is a report of its own', (t) => {
  const log = [
    'INFO: task compare-contrac:124 blocked for more than 122 seconds.',
    'task:compare-contrac state:D stack:0     pid:124   tgid:123   ppid:1      flags:0x00004002',
    'Call Trace:',
    ' <TASK>',
    ' schedule+0x27/0xf0',
    ' </TASK>',
    'clocksource: Long readout interval, skipping watchdog check',
    'CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 7.2.0 #1',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x5d/0x80',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ].join('\n');
  t.deepEqual(scanSplats(log).map((s) => [s.kind, s.startLine, s.startLine + s.lines.length - 1]), [
    ['hung_task', 1, 6],
    ['unknown', 7, 13],
  ]);
});

test('the registers x86 repeats after "---[ end trace" belong to no report; the panic after them is its own', (t) => {
  const log = [
    'Oops: int3: 0000 [#1] SMP NOPTI',
    'RIP: 0010:f+0x1/0x2',
    '---[ end trace 0000000000000000 ]---',
    'RIP: 0010:f+0x1/0x2',
    'Code: cc cc <cc> cc',
    'RSP: 0018:ffffc90000317d70 EFLAGS: 00000202',
    'Kernel panic - not syncing: Fatal exception in interrupt',
  ].join('\n');
  t.deepEqual(scanSplats(log).map((s) => [s.kind, s.startLine, s.startLine + s.lines.length - 1]), [
    ['oops', 1, 3],
    ['panic', 7, 7],
  ]);
});

test('two hung tasks are two splats; the lock dump after them stays with the second', (t) => {
  const task = (name: string) => [
    `INFO: task ${name} blocked for more than 143 seconds.`,
    '      Not tainted 6.12.0 #1',
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    `task:${name.split(':')[0]}      state:D stack:0     pid:${name.split(':')[1]} tgid:1 ppid:0      flags:0x00004000`,
    'Call Trace:',
    ' <TASK>',
    ' __schedule+0x3c8/0xbb0',
    ' schedule+0x27/0xf0',
    ' </TASK>',
  ];
  const log = [
    ...task('test_progs:212'),
    ...task('kworker/0:1:12'),
    '',
    'Showing all locks held in the system:',
    '1 lock held by khungtaskd/31:',
    ' #0: ffffffff82b5a7e0 (rcu_read_lock){....}-{1:3}, at: debug_show_all_locks+0x36/0x1c0',
    '',
    '=============================================',
    '',
    'vm-test: end test_progs exit=137',
  ].join('\n');
  t.deepEqual(scanSplats(log).map((s) => [s.kind, s.startLine, s.startLine + s.lines.length - 1]), [
    ['hung_task', 1, 9],
    ['hung_task', 10, 24],
  ]);
});

test('attribution: the innermost test begun and not ended before the splat; nothing outside tests', (t) => {
  const log = [
    '[    0.500000] WARNING: CPU: 0 PID: 1 at init/main.c:1 f+0x1/0x2', // line 1: before any test
    '---[ end trace 0000000000000000 ]---',
    '[    1.000000] vm-test: begin outer',
    '[    1.000001] vm-test: begin inner',
    'WARNING: CPU: 0 PID: 9 at kernel/bpf/syscall.c:1 g+0x1/0x2', // line 5: inner
    '---[ end trace 0000000000000000 ]---',
    '[    1.100000] vm-test: end inner exit=1',
    'WARNING: CPU: 0 PID: 9 at kernel/bpf/syscall.c:2 h+0x1/0x2', // line 8: outer again
    '---[ end trace 0000000000000000 ]---',
    '# vm-test: end outer exit=0',
    'WARNING: CPU: 0 PID: 9 at kernel/bpf/syscall.c:3 i+0x1/0x2', // line 11: after every test
    '---[ end trace 0000000000000000 ]---',
  ].join('\n');
  t.deepEqual(scan(log).map((s) => [s.startLine, s.test]), [
    [1, undefined],
    [5, 'inner'],
    [8, 'outer'],
    [11, undefined],
  ]);
});

test('attribution keeps the input untouched and its order', (t) => {
  const splat: Splat = { kind: 'bug', title: 'BUG: x', lines: ['BUG: x'], startLine: 2, test: 'stale' };
  const [copy] = attributeSplats([splat], 'vm-test: begin a b c\nBUG: x\n');
  t.is(copy!.test, 'a b c');
  t.is(splat.test, 'stale');
  t.deepEqual(attributeSplats([splat], 'BUG: x\n')[0]!.test, undefined);
});

test('allowlist: comments, kind-qualified and bare entries; bad regexes are errors, not exceptions', (t) => {
  const list = loadAllowlist([
    '# known noise on this board',
    '',
    'warning: at kernel/time/clockevents\\.c:\\d+',
    'lockdep:',
    'soft_lockup : stuck for \\d+s',
    'Kernel panic - not syncing: VFS',
    'bug: ([unclosed',
  ].join('\n'));
  t.deepEqual(list.entries.map((e) => [e.kind, e.text, e.line]), [
    ['warning', 'warning: at kernel/time/clockevents\\.c:\\d+', 3],
    ['lockdep', 'lockdep:', 4],
    ['soft_lockup', 'soft_lockup : stuck for \\d+s', 5],
    [undefined, 'Kernel panic - not syncing: VFS', 6],
  ]);
  t.true(list.entries[0]!.pattern.test('WARNING: CPU: 0 PID: 0 at kernel/time/clockevents.c:458 x'));
  t.true(list.entries[1]!.pattern.test('anything'));
  t.false(list.entries[2]!.pattern.test('soft_lockup : stuck'));
  t.is(list.errors.length, 1);
  t.regex(list.errors[0]!, /^allowlist line 7: Invalid regular expression/);
});

test('allowlist: a kind that is not a splat kind is an error naming the line and the known kinds', (t) => {
  const list = loadAllowlist(['hard_lockup:', 'unknown: frobnicator', 'softlockup: stuck', 'rcu-stall:', 'refcount_t\\: underflow'].join('\n'));
  t.deepEqual(list.entries.map((e) => [e.kind, e.line]), [['hard_lockup', 1], ['unknown', 2], [undefined, 5]]);
  t.deepEqual(list.errors.map((e) => e.split(':')[0]), ['allowlist line 3', 'allowlist line 4']);
  t.regex(list.errors[0]!, /"softlockup" is not a splat kind/);
  t.true(list.errors[0]!.includes(`known: ${SPLAT_KINDS.join(', ')}`));
  t.true(list.entries[2]!.pattern.test('refcount_t: underflow; use-after-free.'));
});

test('allowlist: an entry written against the 6.x WARNING title also accepts the same warning in the 7.x layout', (t) => {
  const text = read('splats/warn-7x-hashtab.log');
  const list = loadAllowlist('warning: at kernel/bpf/hashtab\\.c:\\d+ htab_map_delete_elem\\+');
  t.deepEqual(list.errors, []);
  t.deepEqual(applyAllowlist(scan(text), list).map((s) => s.allowedBy), ['warning: at kernel/bpf/hashtab\\.c:\\d+ htab_map_delete_elem\\+']);
  t.deepEqual(applyAllowlist(scan(text), loadAllowlist('warning: at kernel/bpf/verifier\\.c')).map((s) => s.allowedBy), [undefined]);
});

test('allowlist: matches the title or anywhere in the report, respects the kind, sets allowedBy to the entry', (t) => {
  const splats = scanSplats(read('splats/vm-console-constructed.log'));
  const list = loadAllowlist([
    'warning: ^ kunit_try_run_case\\+', // a frame, not the title
    'panic: Fatal exception',
    'bug: stuck for', // wrong kind for the soft lockup
  ].join('\n'));
  const allowed = applyAllowlist(splats, list);
  t.deepEqual(allowed.map((s) => [s.kind, s.allowedBy]), [
    ['warning', 'warning: ^ kunit_try_run_case\\+'],
    ['ubsan', undefined],
    ['soft_lockup', undefined],
    ['gpf', undefined],
    ['panic', 'panic: Fatal exception'],
  ]);
  t.is(splats[0]!.allowedBy, undefined, 'input untouched');
  t.deepEqual(applyAllowlist(splats, list.entries).map((s) => s.allowedBy), allowed.map((s) => s.allowedBy));
});

test('never throws on garbage (fuzz), and finds nothing in plain text', (t) => {
  let seed = 0x1234567;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const atoms = ['BUG: ', 'WARNING: CPU: 0 PID: 1 at ', 'WARNING: a.c:1 at f+0x1/0x2, CPU#0: x/1', 'Oops: ', 'Kernel panic - not syncing',
    '---[ end trace ]---', 'Call Trace:', 'RIP: 0010:f+0x1/0x2', 'Code: 00', ' <TASK>', '=====================',
    '------------[ cut here ]------------', 'vm-test: begin x', 'vm-test: end x exit=0', 'KASAN: ',
    'INFO: task a:1 blocked for more than 1 seconds', '[    1.0] ', '<4>', '\n', '\n', ' ', 'x', '    ok 1 a'];
  // A line only a kernel report prints always ends up in some report (the registers repeated after an end trace aside).
  const anchor = (l: string): boolean => !isBoundary(l) && (reportKind(l) !== undefined || [CUT_HERE, BARE_ANCHOR, END_MARKER].some((p) => p.test(l.trimStart())));
  const repeated = (lines: string[], i: number): boolean => {
    let k = i;
    while (k > 0 && REGISTER_LINE.test(lines[k]!.trimStart())) k--;
    return k < i && END_TRACE.test(lines[k]!.trimStart());
  };
  for (let round = 0; round < 300; round++) {
    let text = '';
    const length = rand(300);
    for (let i = 0; i < length; i++) text += rand(5) === 0 ? String.fromCharCode(rand(0x3000)) : atoms[rand(atoms.length)];
    const splats = scan(text);
    for (const s of splats) t.true(s.startLine >= 1 && s.lines.length >= 1);
    const covered = new Set(splats.flatMap((s) => s.lines.map((_, k) => s.startLine - 1 + k)));
    const lines = messageLines(text);
    const missed = lines.flatMap((l, i) => (anchor(l) && !covered.has(i) && !repeated(lines, i) ? [`${i + 1}: ${l}`] : []));
    if (missed.length) t.fail(`round ${round}: report lines in no report: ${missed.slice(0, 3).join(' | ')}`);
  }
  t.deepEqual(scanSplats(read('kunit/test_is_test_passed-all_passed.log')), []);
  t.deepEqual(scanSplats(''), []);
});

test('the console\'s markers say which test a guest died in, and whether init reported in (real 7.2.6 captures)', (t) => {
  // A general protection fault inside test_progs: begun, never ended.
  t.deepEqual(consolePlanState(read('splats/oops-7.2.6-real-gpf.log')), { initStarted: false, running: 'test_progs' });
  // A BUG_ON that test_progs outlived until its timeout: it ended (exit=124), so nothing was running.
  t.deepEqual(consolePlanState(read('splats/bug-7.2.6-real-bug-on.log')), { initStarted: false });
  t.deepEqual(consolePlanState('[    1.30] vm-test: init started\n[    1.31] vm-test: begin gc-race\n'), { initStarted: true, running: 'gc-race' });
  t.deepEqual(consolePlanState(''), { initStarted: false });
});

test('a harmless dump (fault injection, allocation failure, sysfs duplicate) is informational: it decides no verdict', (t) => {
  const text = read('splats/harmless-dumps-first.log');
  const harmlessOnly = text.split('\n').slice(0, 32).concat('[   60.500000] vm-test: end fault-suite exit=0').join('\n');
  const splats = scan(harmlessOnly);
  t.deepEqual(splats.map((s) => s.informational), ['fault injection', 'allocation failure', 'sysfs duplicate name']);
  const verdict = verdictOf(harmlessOnly);
  t.is(verdict.kind, 'passed', verdict.headline);
  t.deepEqual(verdict.blockingSplats, []);
  // A dump no known caller asked for still fails the run.
  const unexplained = harmlessOnly.replace("sysfs: cannot create duplicate filename '/devices/virtual/net/veth0'", 'veth0: something odd').replace('sysfs_warn_dup+0x5b/0x70', 'veth_newlink+0x5b/0x70');
  t.is(verdictOf(unexplained).kind, 'kernelCrash');
});
