// Identity: the booted build ID from init's line, the reuse key over everything a verdict depends on.
import test from 'ava';
import { bootedBuildId, checkBooted, reuseKey, type RunIdentity } from '../orchestrator/identity.ts';
import type { GuestTest } from '../orchestrator/guest/guest-plan.ts';
import { VmTestError } from '../orchestrator/outcome.ts';
import { tempDir, writeFiles } from './helpers.ts';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';

const ID = '21fe04e09ff7c1515bb467e78d856beee5df49d9';
/** /sys/kernel/notes of a 7.2.6 guest as init sends it: a Xen note, then the GNU build ID, then Linux's. */
const NOTES = '040000000400000006000000' + Buffer.from('Xen\0').toString('hex') + '322e3600' +
  '040000001400000003000000474e5500' + ID + '060000000400000001000000' + Buffer.from('Linux\0\0\0').toString('hex') + '01020304';

const identity = (over: Partial<RunIdentity> = {}): RunIdentity => ({
  kernel: { built: ID, image: 'holds the built vmlinux', bzImageSha256: 'b'.repeat(64) },
  tree: 't'.repeat(40), config: 'c'.repeat(64), series: 's'.repeat(16), init: 'i'.repeat(64), tests: [{ name: 'test_progs', sha256: 'p'.repeat(64) }], ...over,
});
const tests: GuestTest[] = [{ name: 'test_progs', kind: 'test_progs', argv: ['/x/test_progs', '-t', 'map_cmp_delete'], timeoutSec: 300 }];
const vm = { cpus: 2, memoryMb: 1024 };

test('bootedBuildId reads the build ID from init\'s line; none when the guest could not read its notes; not reported before init', (t) => {
  t.deepEqual(bootedBuildId(`# vm-test: init started kernel=7.2.6 notes=${NOTES}\n# vm-test: done\n`), { reported: true, buildId: ID, release: '7.2.6' });
  t.deepEqual(bootedBuildId('# vm-test: init started kernel=7.2.6 notes=none\n'), { reported: true, release: '7.2.6' });
  // An older init's line: no notes at all.
  t.deepEqual(bootedBuildId('# vm-test: init started kernel=6.12.117\n'), { reported: true, release: '6.12.117' });
  t.deepEqual(bootedBuildId(''), { reported: false });
});

test('checkBooted: another booted build ID is an infrastructure error naming both; equal or unreported is not', (t) => {
  const e = t.throws(() => checkBooted(identity({ kernel: { ...identity().kernel, booted: 'f102bc94' + '0'.repeat(32) } }), 'results.log'), { instanceOf: VmTestError }) as VmTestError;
  t.is(e.kind, 'infra');
  t.regex(e.message, new RegExp(`guest reports build ID f102bc94.*vmlinux built has ${ID}`));
  t.notThrows(() => checkBooted(identity({ kernel: { ...identity().kernel, booted: ID } }), 'results.log'));
  t.notThrows(() => checkBooted(identity(), 'results.log'));
});

test('reuseKey changes with the built kernel, its image, init, a test binary, the plan and the VM; not with the tree, config or series alone', (t) => {
  const base = reuseKey(identity(), tests, vm);
  t.not(reuseKey(identity({ kernel: { ...identity().kernel, built: 'f'.repeat(40) } }), tests, vm), base);
  t.not(reuseKey(identity({ kernel: { ...identity().kernel, bzImageSha256: 'x'.repeat(64) } }), tests, vm), base);
  t.not(reuseKey(identity({ init: 'j'.repeat(64) }), tests, vm), base);
  t.not(reuseKey(identity({ tests: [{ name: 'test_progs', sha256: 'q'.repeat(64) }] }), tests, vm), base);
  t.not(reuseKey(identity(), [{ ...tests[0]!, timeoutSec: 60 }], vm), base);
  t.not(reuseKey(identity(), tests, { cpus: 1, memoryMb: 1024 }), base);
  // bpf-ci boots with the mitigations on: test_verifier then runs its unprivileged half too.
  t.not(reuseKey(identity(), tests, { ...vm, mitigations: true }), base);
  // bpf-ci's guests run on one TCG thread: another schedule, another verdict.
  t.not(reuseKey(identity(), tests, { ...vm, singleThreadTcg: true }), base);
  // Two revisions that build the same kernel and tests give the same verdict: that is what bisect reuses.
  t.is(reuseKey(identity({ tree: 'u'.repeat(40), series: 'v'.repeat(16) }), tests, vm), base);
});

test('a test\'s hash: an input by its name and bytes (the same list copied into another run\'s directory is the same), a BPF object the runner loads by file is part of it', async (t) => {
  const { testHashes } = await import('../orchestrator/identity.ts');
  const { runnerTests } = await import('../orchestrator/guest/guest-jobs.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'full/test_maps': 'ELF', 'full/bpf_testmod.ko': 'KO', 'full/test_map_in_map.bpf.o': 'v1', 'runA/list.txt': 'varlen\n', 'runB/list.txt': 'varlen\n', 'runC/list.txt': 'lru\n' });
  const full = { dir: join(tmp.path, 'full'), binary: join(tmp.path, 'full/test_progs'), testmod: join(tmp.path, 'full/bpf_testmod.ko'), runners: [{ name: 'test_maps', binary: join(tmp.path, 'full/test_maps') }], skipped: [], skipCauses: {}, excluded: [], tests: [], cached: true, elapsedMs: 0 };
  const plan = { job: { kind: 'tests' as const }, testTimeoutSec: 60, fullSelftests: true, runners: ['test_maps' as const], testProgsSelection: { test: [], allow: [], deny: [] } };
  const withList = (dir: string) => runnerTests(plan, full).map((g) => ({ ...g, inputs: [...(g.inputs ?? []), join(tmp.path, dir, 'list.txt')] }));
  const [a] = await testHashes(withList('runA'));
  const [b] = await testHashes(withList('runB'));
  const [c] = await testHashes(withList('runC'));
  t.is(a!.sha256, b!.sha256, 'the same bytes in another run directory');
  t.not(a!.sha256, c!.sha256, 'other bytes');
  await writeFile(join(tmp.path, 'full/test_map_in_map.bpf.o'), 'v2');
  const [d] = await testHashes(withList('runA'));
  t.not(a!.sha256, d!.sha256, 'a BPF object loaded by file changed');
});

test('the reuse key covers what a bpf-ci verdict holds besides the boot (the parts the selftests build skipped), and nothing more for other runs', (t) => {
  const identity: RunIdentity = { kernel: { built: 'b', image: 'holds the built vmlinux', bzImageSha256: 'i' }, tree: 't', config: 'c', init: 'n', tests: [] };
  const vm = { cpus: 2, memoryMb: 1024 };
  const plain = reuseKey(identity, [], vm);
  t.is(reuseKey(identity, [], vm, undefined), plain, 'bisect and mutate keep their keys');
  const one = reuseKey(identity, [], vm, { verdictOf: 'v', hostSkips: ['a.bpf.o'] });
  t.not(one, plain);
  t.not(reuseKey(identity, [], vm, { verdictOf: 'v', hostSkips: ['a.bpf.o', 'b.bpf.o'] }), one, 'another skipped part');
  t.not(reuseKey(identity, [], vm, { verdictOf: 'w', hostSkips: ['a.bpf.o'] }), one, 'a verdict made another way');
});

test('a kept bpf-ci verdict is keyed on the code that read the boot\'s output: a change to the parsers or the scanner is another key', async (t) => {
  const { verdictCodeHash, VERDICT_CODE_DIR } = await import('../orchestrator/identity.ts');
  const { cp } = await import('node:fs/promises');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const copy = join(tmp.path, 'results');
  await cp(VERDICT_CODE_DIR, copy, { recursive: true });
  const before = await verdictCodeHash(copy);
  t.is(before, await verdictCodeHash(), 'the same files, the same hash');
  await writeFile(join(copy, 'splat-patterns.ts'), '// another scanner\n', { flag: 'a' });
  t.not(await verdictCodeHash(copy), before);
});

test('a kept bpf-ci verdict is keyed on the host programs the guest runs: installing ping is another key', async (t) => {
  const { runnerVerdictInputs } = await import('../orchestrator/run.ts');
  const { fakeExec } = await import('./helpers.ts');
  const host = (ping: string) => fakeExec((req) => (req.command === 'dpkg-query' ? { exitCode: ping ? 0 : 1, stdout: `busybox-static=1:1.35.0-4\n${ping}` } : undefined));
  const tests: GuestTest[] = [{ name: 'test_progs', kind: 'test_progs', argv: ['./test_progs'], timeoutSec: 60 }];
  const vm = { cpus: 2, memoryMb: 4096, mitigations: true };
  const without = reuseKey(identity(), tests, vm, await runnerVerdictInputs(host(''), []));
  t.is(without, reuseKey(identity(), tests, vm, await runnerVerdictInputs(host(''), [])));
  // cgroup_storage's pings exited 127 without it: the base kept then is not this host's base.
  t.not(reuseKey(identity(), tests, vm, await runnerVerdictInputs(host('iputils-ping=3:20221126-1+deb12u1\n'), [])), without);
  t.not(reuseKey(identity(), tests, vm, await runnerVerdictInputs(host(''), ['cpumask_failure.bpf.o'])), without);
  // The skipped part's leaf holds its compiler error: a base kept with another error (or none) is not this one.
  const skipped = ['cpumask_failure.bpf.o'];
  const conflict = await runnerVerdictInputs(host(''), skipped, { 'cpumask_failure.bpf.o': "progs/cpumask_common.h:64:5: error: conflicting types for 'bpf_cpumask_populate'" });
  t.not(reuseKey(identity(), tests, vm, conflict), reuseKey(identity(), tests, vm, await runnerVerdictInputs(host(''), skipped)));
  t.not(reuseKey(identity(), tests, vm, conflict), reuseKey(identity(), tests, vm, await runnerVerdictInputs(host(''), skipped, { 'cpumask_failure.bpf.o': 'progs/cpumask_failure.c:1:1: error: other' })));
  // A cause of a part this run does not own (another shard's) is not in its key.
  t.deepEqual(await runnerVerdictInputs(host(''), [], { 'cpumask_failure.bpf.o': 'x' }), await runnerVerdictInputs(host(''), []));
});
