import test from 'ava';
import { chooseMachine } from '../../orchestrator/vm/guest-machine.ts';

const MMIO = 'CONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y\n';

test('a kernel built for virtio-mmio boots on microvm', (t) => {
  t.is(chooseMachine(`CONFIG_SMP=y\n${MMIO}# CONFIG_PCI is not set\n`, 4).machine, 'microvm');
});

test('any other kernel boots on q35, and the reason says why', (t) => {
  t.deepEqual(chooseMachine(undefined, 3), { machine: 'q35', reason: 'no .config beside the kernel' });
  t.deepEqual(chooseMachine('CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_MMIO=m\n', 3), { machine: 'q35', reason: 'the kernel lacks CONFIG_VIRTIO_MMIO and CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES' });
  t.regex(chooseMachine('CONFIG_VIRTIO_MMIO=y\n# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set\n', 3).reason, /lacks CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES$/);
});

test('more virtio devices than microvm has transports: q35', (t) => {
  t.deepEqual(chooseMachine(MMIO, 9), { machine: 'q35', reason: "9 virtio devices, more than microvm's 8 transports" });
  t.is(chooseMachine(MMIO, 8).machine, 'microvm');
});
