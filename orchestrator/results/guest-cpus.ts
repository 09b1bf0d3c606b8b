// Did the guest get the vCPUs it was given? The race suites mean little on one CPU.
import { newTest, type TestNode } from './tree.ts';

/** CPUs the kernel brought up, from its "smp: Brought up N node(s), M CPU(s)" line; undefined without SMP or before it. */
export function cpusOnline(consoleText: string): number | undefined {
  const m = /smp: Brought up \d+ nodes?, (\d+) CPUs?/.exec(consoleText);
  return m ? Number(m[1]) : undefined;
}

/** A failing test when fewer CPUs came up than QEMU was given; undefined when all did (or the line is absent). */
export function cpuShortfall(asked: number, consoleText: string): TestNode | undefined {
  const online = cpusOnline(consoleText);
  if (online === undefined || online >= asked) return undefined;
  const node = newTest('guest-cpus', 'fail');
  node.log = [`# FAIL: the guest brought up ${online} of the ${asked} vCPUs QEMU gave it: the race and atomicity suites need them all (q35 lists them in ACPI's MADT, microvm in qboot's MP table: does the kernel config read the one its machine has?)`];
  node.errors.push(`the guest brought up ${online} of ${asked} vCPUs`);
  return node;
}
