// Config resolution on the real default tree (7.2.6): allnoconfig plus our fragments, and the full selftests request.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selftestsFragments } from '../../orchestrator/build/full-selftests-build.ts';
import { configureKernel } from '../../orchestrator/build/kernel-build.ts';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import { KconfigRequest, parseDotConfig, parseFragment, type KconfigFragment } from '../../orchestrator/kconfig/kconfig.ts';
import { realExec, tempDir } from '../helpers.ts';
import { withDefaultTree } from '../kernel-fixture.ts';

const root = new URL('../..', import.meta.url).pathname;
const fragment = async (name: string): Promise<KconfigFragment> =>
  parseFragment(`kernel-config/${name}.config`, await readFile(join(root, 'kernel-config', `${name}.config`), 'utf8')).fragment;

/** Configures request on the default tree; then, when asked, runs olddefconfig over the result as configure once did. */
async function configure(request: KconfigRequest, options: { thenOlddefconfig?: boolean } = {}) {
  const tmp = await tempDir('vm-test-kconfig-');
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => seen.push(e));
  try {
    return await withDefaultTree(async (tree) => {
      const logFile = join(tmp.path, 'build.log');
      const make = (targets: string[]) => realExec.run({ command: 'make', args: ['-C', tree.worktree, `O=${join(tmp.path, 'o')}`, ...targets], logFile });
      await realExec.run({ command: 'mkdir', args: ['-p', join(tmp.path, 'o')] });
      await configureKernel({ request, logFile, events, exec: realExec, tree }, join(tmp.path, 'o'), make);
      const text = await readFile(join(tmp.path, 'o/.config'), 'utf8');
      const resolved = parseDotConfig(text);
      const dropped = await readFile(join(tmp.path, 'kconfig-dropped.txt'), 'utf8').catch(() => '');
      const afterOlddefconfig = options.thenOlddefconfig && (await make(['olddefconfig']), await readFile(join(tmp.path, 'o/.config'), 'utf8'));
      const infos = seen.flatMap((e) => (e.type === 'info' ? [e.message] : []));
      return { resolved, warnings: seen.filter((e) => e.type === 'warn'), infos, dropped, text, afterOlddefconfig };
    });
  } finally {
    await tmp.cleanup();
  }
}

const defaultFragments = async () => [await fragment('vm'), await fragment('bpf'), await fragment('slim')];

test.serial('[kernel] the default request on allnoconfig keeps every option, and nothing nobody asked for (no modules, no IP, no block layer, no BTF)', async (t) => {
  const { resolved, warnings, infos } = await configure(new KconfigRequest(await defaultFragments()));
  t.deepEqual(warnings, []);
  // Our if-defined options are all defined in 7.2.6: a misspelt one would be skipped here, not checked.
  t.deepEqual(infos.filter((m) => m.includes('if-defined')), []);
  t.is(resolved.get('CONFIG_PROC_SYSCTL'), 'y');
  t.is(resolved.get('CONFIG_NET_9P_VIRTIO'), 'y');
  t.is(resolved.get('CONFIG_BPF_SYSCALL'), 'y');
  // Built for microvm: virtio-mmio, no PCI, no ACPI, and the MP table for the vCPUs.
  t.is(resolved.get('CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES'), 'y');
  t.is(resolved.get('CONFIG_X86_MPPARSE'), 'y');
  t.is(resolved.get('CONFIG_PCI') ?? 'n', 'n');
  t.is(resolved.get('CONFIG_ACPI') ?? 'n', 'n');
  t.is(resolved.get('CONFIG_IPV6') ?? 'n', 'n');
  t.is(resolved.get('CONFIG_MODULES') ?? 'n', 'n');
  t.is(resolved.get('CONFIG_DEBUG_INFO_BTF') ?? 'n', 'n');
  // slim.config: EXPERT, and with it no TCP/IP, block layer, VT, input layer or io_uring ...
  for (const off of ['CONFIG_INET', 'CONFIG_BLOCK', 'CONFIG_VT', 'CONFIG_INPUT', 'CONFIG_IO_URING']) t.is(resolved.get(off) ?? 'n', 'n', off);
  // ... while what was on without EXPERT stays on (a sample; the subset check covers the rest).
  for (const on of ['CONFIG_FILE_LOCKING', 'CONFIG_DEBUG_BUGVERBOSE', 'CONFIG_UNIX98_PTYS', 'CONFIG_RSEQ', 'CONFIG_ADVISE_SYSCALLS', 'CONFIG_UNIX']) t.is(resolved.get(on), 'y', on);
});

test.serial('[kernel] an if-defined option this tree does not define is named and not checked; one it defines but cannot set still fails', async (t) => {
  const extra = parseFragment('extra.config', '# vm-test: if-defined\nCONFIG_VM_TEST_NO_SUCH_OPTION=y\n').fragment;
  const { resolved, infos } = await configure(new KconfigRequest([...await defaultFragments(), extra]));
  t.is(resolved.get('CONFIG_VM_TEST_NO_SUCH_OPTION'), undefined);
  t.true(infos.some((m) => m.includes('not checked (if-defined): CONFIG_VM_TEST_NO_SUCH_OPTION (extra.config:2)')), infos.join('\n'));
  // KVM_INTEL is defined (arch/x86/kvm/Kconfig) but needs KVM, which nothing turns on.
  const unmet = parseFragment('unmet.config', '# vm-test: if-defined\nCONFIG_KVM_INTEL=y\n').fragment;
  const error = await t.throwsAsync(configure(new KconfigRequest([...await defaultFragments(), unmet])));
  t.regex(error!.message, /unmet\.config:2: CONFIG_KVM_INTEL=y was requested .*defined at arch\/x86\/kvm\/Kconfig:\d+; its dependencies are not met/);
});

test.serial('[kernel] allnoconfig leaves nothing for olddefconfig to do, so configure runs no olddefconfig after it', async (t) => {
  const { text, afterOlddefconfig } = await configure(new KconfigRequest(await defaultFragments()), { thenOlddefconfig: true });
  t.is(afterOlddefconfig, text);
});

test.serial('[kernel] --kconfig inet after slim puts TCP/IP back (IPv4 and IPv6), keeping every option', async (t) => {
  const { resolved, warnings } = await configure(new KconfigRequest([...await defaultFragments(), await fragment('inet')]));
  t.deepEqual(warnings, []);
  t.is(resolved.get('CONFIG_INET'), 'y');
  t.is(resolved.get('CONFIG_IPV6'), 'y');
});

test.serial('[kernel] --kconfig btf on allnoconfig keeps every option (vmlinux BTF)', async (t) => {
  const { resolved } = await configure(new KconfigRequest([...await defaultFragments(), await fragment('btf')]));
  t.is(resolved.get('CONFIG_DEBUG_INFO_BTF'), 'y');
});

test.serial('[kernel] --kconfig debug on allnoconfig keeps every option (DWARF for gdb, the gdb scripts)', async (t) => {
  const { resolved, warnings } = await configure(new KconfigRequest([...await defaultFragments(), await fragment('debug')]));
  t.deepEqual(warnings, []);
  t.is(resolved.get('CONFIG_DEBUG_INFO'), 'y');
  t.is(resolved.get('CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT'), 'y');
  t.is(resolved.get('CONFIG_GDB_SCRIPTS'), 'y');
});

test.serial('[kernel] the full selftests request: ours all survive; the tree\'s own misses are warnings, listed in kconfig-dropped.txt', async (t) => {
  const selftests = await withDefaultTree(async (tree) => selftestsFragments(tree.worktree));
  const { resolved, warnings, dropped } = await configure(new KconfigRequest([...selftests, await fragment('vm'), await fragment('bpf')], 'defaults'));
  t.is(resolved.get('CONFIG_MODULES'), 'y');
  t.is(resolved.get('CONFIG_DEBUG_INFO_BTF'), 'y');
  t.is(resolved.get('CONFIG_NET_9P_VIRTIO'), 'y');
  // slim.config is not merged here: their tests need TCP/IP and the block layer.
  t.is(resolved.get('CONFIG_INET'), 'y');
  t.is(resolved.get('CONFIG_BLOCK'), 'y');
  // Their config asks for both DWARF4 and the toolchain default: one side of that choice must lose.
  t.regex(dropped, /tools\/testing\/selftests\/bpf\/config(\.x86_64)?:\d+: CONFIG_DEBUG_INFO_DWARF(4|_TOOLCHAIN_DEFAULT)=y was requested/);
  t.is(warnings.length, 1);
  t.log(`${dropped.trim().split('\n').length} of the tree's options did not survive:\n${dropped}`);
});

test.serial('[kernel] --sanitize (kernel-config/sanitize.config) on allnoconfig keeps every option: KASAN, UBSAN, lockdep, sleep-in-atomic checks, kmemleak without its own scan', async (t) => {
  const { resolved, warnings } = await configure(new KconfigRequest([...await defaultFragments(), await fragment('sanitize')]));
  t.deepEqual(warnings, []);
  for (const on of ['CONFIG_KASAN', 'CONFIG_KASAN_GENERIC', 'CONFIG_UBSAN', 'CONFIG_UBSAN_BOUNDS', 'CONFIG_PROVE_LOCKING', 'CONFIG_DEBUG_ATOMIC_SLEEP', 'CONFIG_DEBUG_KMEMLEAK', 'CONFIG_DEBUG_FS']) t.is(resolved.get(on), 'y', on);
  // The init scans after every test; the kernel's own scan would report a leak during whichever test runs then.
  t.is(resolved.get('CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN') ?? 'n', 'n');
});
