// Which QEMU machine boots a built kernel: the one its config was built for, read from its .config.
import { parseDotConfig } from '../kconfig/kconfig.ts';
import { MICROVM_TRANSPORTS, type Machine } from './qemu-args.ts';

export interface MachineChoice {
  machine: Machine;
  reason: string;
}

/**
 * microvm when the kernel finds virtio-mmio devices on its command line (what QEMU's microvm passes it) and the
 * guest's devices fit its transports; q35, with PCI and ACPI, for every other kernel.
 */
export function chooseMachine(dotConfig: string | undefined, transports: number): MachineChoice {
  if (dotConfig === undefined) return { machine: 'q35', reason: 'no .config beside the kernel' };
  const config = parseDotConfig(dotConfig);
  const missing = ['CONFIG_VIRTIO_MMIO', 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES'].filter((o) => config.get(o) !== 'y');
  if (missing.length > 0) return { machine: 'q35', reason: `the kernel lacks ${missing.join(' and ')}` };
  if (transports > MICROVM_TRANSPORTS) return { machine: 'q35', reason: `${transports} virtio devices, more than microvm's ${MICROVM_TRANSPORTS} transports` };
  return { machine: 'microvm', reason: 'the kernel has virtio-mmio devices from the command line' };
}
