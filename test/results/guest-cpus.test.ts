import test from 'ava';

test('a guest that brought up fewer vCPUs than QEMU gave it fails the run with its own test', async (t) => {
  const { cpuShortfall, cpusOnline } = await import('../../orchestrator/results/guest-cpus.ts');
  // Captured from this machine: allnoconfig without ACPI, -smp 2 under TCG (SeaBIOS's MP table lists only the boot CPU).
  const one = '[    0.726447] smp: Brought up 1 node, 1 CPU\n';
  const two = '[    0.752213] smp: Brought up 1 node, 2 CPUs\n';
  t.is(cpusOnline(one), 1);
  t.is(cpusOnline(two), 2);
  t.is(cpuShortfall(2, two), undefined);
  t.is(cpuShortfall(1, one), undefined);
  t.is(cpuShortfall(2, 'no smp line'), undefined);
  const node = cpuShortfall(2, one)!;
  t.is(node.status, 'fail');
  t.regex(node.log[0]!, /brought up 1 of the 2 vCPUs/);
});
