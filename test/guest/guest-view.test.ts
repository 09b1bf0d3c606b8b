// The guest reaches test binaries through its own shares at fixed paths, never through host paths the init covers.
import test from 'ava';
import { planLine, planText, testProgsEntry } from '../../orchestrator/guest/guest-plan.ts';
import { BUILD_SHARE, guestView, mountsText } from '../../orchestrator/guest/guest-view.ts';
import { qemuArgs } from '../../orchestrator/vm/qemu-args.ts';

const build = '/var/tmp/cache/trees/deb-linux-source-7.2/build-abc';
const view = guestView([{ ...BUILD_SHARE, hostPath: build, readonly: true }]);

test('host paths inside a share become guest paths; others are left for the root', (t) => {
  t.is(view.toGuest(`${build}/vm-test-selftests/test_progs-1/test_progs`), '/run/vm-test-build/vm-test-selftests/test_progs-1/test_progs');
  t.is(view.toGuest(build), '/run/vm-test-build');
  t.false(view.maps(`${build}-other/x`));
  t.false(view.maps('/bin/sh'));
  t.throws(() => view.toGuest('/tmp/elsewhere/x'), { message: /not inside any directory shared with the guest \(\/var\/tmp\/cache\/trees/ });
});

test('plan lines name guest paths for the binary and the directory; the results path is untouched', (t) => {
  const tp = testProgsEntry(`${build}/vm-test-selftests/t/test_progs`, ['map_cmp_delete'], '/run/vm-test/test_progs.json', 300);
  t.is(planLine(tp, view), 'test_progs\t300\tstdbuf -oL /run/vm-test-build/vm-test-selftests/t/test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json');
  const full = { name: 'full', kind: 'test_progs' as const, argv: ['./test_progs'], timeoutSec: 10, cwd: `${build}/vm-test-selftests/full` };
  t.is(planLine(full, view), 'full\t10\tcd /run/vm-test-build/vm-test-selftests/full && exec ./test_progs');
  // Without a view (a prebuilt kernel's initramfs plan), paths stay as they are.
  t.is(planText([tp]).split('\t')[2], `stdbuf -oL ${build}/vm-test-selftests/t/test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json\n`);
});

test('each share is a read-only 9p device with its tag, and the init gets the mount list', (t) => {
  const args = qemuArgs({ kernel: 'k', initPath: '/i', runDir: '/r', accel: 'tcg', cpus: 2, memoryMb: 512, shares: view.shares }, '/r/results.log');
  t.true(args.includes(`local,id=share0,path=${build},security_model=none,readonly=on,multidevs=remap`));
  t.true(args.includes('virtio-9p-pci,fsdev=share0,mount_tag=vmtest-build'));
  t.true(qemuArgs({ kernel: 'k', initPath: '/i', runDir: '/r', accel: 'tcg', machine: 'microvm', cpus: 2, memoryMb: 512, shares: view.shares }, '/r/results.log')
    .includes('virtio-9p-device,fsdev=share0,mount_tag=vmtest-build'));
  t.is(mountsText(view), 'vmtest-build\t/run/vm-test-build\tro\n');
  t.is(mountsText(guestView([])), '');
});
