// The guest suites for real: compiled against the patched tree's headers, run in QEMU (TCG, 2 vCPUs) on a kernel
// with the series. Every suite must pass there; and "teeth" variants show the checks can fail.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import test from 'ava';
import { guestSuites } from '../../guest-tests/index.ts';
import { resolveCacheRoot } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { C_DIR, generateSuiteC, type GeneratedProgram } from '../../orchestrator/guest/c-program.ts';
import { planText, type GuestTest } from '../../orchestrator/guest/guest-plan.ts';
import { BUILD_SHARE, guestView, mountsText } from '../../orchestrator/guest/guest-view.ts';
import { gccArgs, prepareGuestSuites } from '../../orchestrator/guest/guest-suites.ts';
import type { GuestSuite } from '../../orchestrator/guest/suite-model.ts';
import { assembleResults } from '../../orchestrator/results/assemble.ts';
import { attributeSplats, scanSplats } from '../../orchestrator/results/splats.ts';
import type { TestNode } from '../../orchestrator/results/tree.ts';
import { chooseMachine } from '../../orchestrator/vm/guest-machine.ts';
import { hostTscKhz } from '../../orchestrator/vm/host-tsc.ts';
import { transportCount } from '../../orchestrator/vm/qemu-args.ts';
import { runVm } from '../../orchestrator/vm/run-vm.ts';
import { realExec } from '../helpers.ts';
import { uapiHeaders } from './uapi-headers-fixture.ts';
import { defaultKernel } from '../kernel-fixture.ts';

const cacheRoot = resolveCacheRoot(undefined, process.env);

/** gc-race with compare-and-delete done in userspace (lookup, compare, delete): the race the series closes, reopened. */
function racyGcRace(): GeneratedProgram {
  const program = generateSuiteC(guestSuites.find((s) => s.name === 'gc-race')!, { hasCompare: true });
  const text = program.text;
  const anchor = '/* ---- parameters';
  if (!text.includes(anchor) || !text.includes('.delete_compare = vmt_delete_compare')) throw new Error('gc-race C changed shape: update the teeth variant');
  const racy = String.raw`
/* Teeth: compare-and-delete as separate lookup and delete syscalls, not atomic. */
static int vmt_racy_delete_compare(int fd, const void *key, const void *expected, __u32 off, __u32 size)
{
	unsigned char v[4096];
	union bpf_attr attr;
	int rc;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.value = vmt_ptr(v);
	rc = vmt_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
	if (rc)
		return rc;
	if (memcmp(v + off, expected, size))
		return -EBUSY;
	sched_yield();
	return vmt_delete(fd, key, 0);
}
`;
  return { ...program, suite: 'teeth-gc-race', text: text.replace(anchor, racy + anchor).replaceAll('.delete_compare = vmt_delete_compare', '.delete_compare = vmt_racy_delete_compare') };
}

/** ARRAY updates copy in place: claiming "never mixed" for them must fail. */
const tornArray: GuestSuite = {
  name: 'teeth-torn-array',
  source: 'test/guest/guest-suites-qemu.test.ts',
  summary: 'ARRAY claimed never mixed (must fail)',
  maps: { array: { type: 'ARRAY', keySize: 4, maxEntries: 1, value: [{ name: 'data', type: 'u8[256]' }] } },
  cases: [{ kind: 'torn-read', name: 'array-claimed-never-mixed', claim: 'ARRAY never mixed (false)', map: 'array', dataField: 'data', lock: false, writers: 1, readers: 1, mixedReads: 'none', bounds: { writes: 400_000, maxSeconds: 15 } }],
};

/** Write a program and the fixed C it includes, and build it. */
async function compileProgram(dir: string, program: GeneratedProgram, include: string): Promise<GuestTest> {
  const name = program.suite;
  const source = join(dir, `${name}.c`);
  const binary = join(dir, name);
  for (const file of program.includes) await copyFile(join(C_DIR, file), join(dir, file));
  await writeFile(source, program.text);
  const r = await realExec.run({ command: 'gcc', args: gccArgs(source, binary, include) });
  if (r.exitCode !== 0) throw new Error(`gcc ${name}: ${r.stderr}`);
  return { name, kind: 'ktap', argv: [binary], timeoutSec: 240 };
}

const diagnostics = (node: TestNode): string => [...node.log, ...node.children.flatMap((c) => [`${c.status} ${c.name}`, ...c.log.map((l) => `  ${l}`)])].join('\n');

test('[qemu] every guest suite passes on the patched kernel under TCG, and the teeth variants fail', async (t) => {
  // The binaries reach the guest on the build share, as in a run: the cache may be under /tmp, which the guest's init covers.
  const runDir = join(cacheRoot, 'test-assets', 'guest-suites-qemu', `run-${process.pid}`);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(join(runDir, 'bin'), { recursive: true });
  t.teardown(() => rm(runDir, { recursive: true, force: true }));
  // The patched kernel, built by the tool itself when the cache lacks it (VM_TEST_GUEST_KERNEL overrides).
  // init too: the checkout may be under /tmp, which the guest hides.
  const INIT = join(runDir, 'init');
  await copyFile(new URL('../../rootfs/init', import.meta.url), INIT);
  const kernel = join(runDir, 'bzImage');
  // VM_TEST_GUEST_KERNEL's config may sit beside it as kernel.config; without one, the kernel boots on q35.
  let config: string | undefined;
  if (process.env.VM_TEST_GUEST_KERNEL) {
    await copyFile(process.env.VM_TEST_GUEST_KERNEL, kernel);
    config = await readFile(join(dirname(process.env.VM_TEST_GUEST_KERNEL), 'kernel.config'), 'utf8').catch(() => undefined);
  } else {
    const built = await defaultKernel(join(runDir, 'kernel'));
    await copyFile(built.bzImage, kernel);
    config = await readFile(built.configPath, 'utf8');
  }
  const view = guestView([{ ...BUILD_SHARE, hostPath: join(runDir, 'bin'), readonly: true }, { ...BUILD_SHARE, tag: 'vmtest-bin-unpatched', guestPath: `${BUILD_SHARE.guestPath}-unpatched`, hostPath: join(runDir, 'bin-unpatched'), readonly: true }]);
  const { machine } = chooseMachine(config, transportCount({ shares: view.shares }));

  const patched = await uapiHeaders('patched');
  const build = await prepareGuestSuites({ exec: realExec, headersDir: patched, outDir: join(runDir, 'bin'), timeoutSec: 240, logFile: join(runDir, 'gcc.log') });
  const teeth = [
    await compileProgram(join(runDir, 'bin'), racyGcRace(), patched),
    await compileProgram(join(runDir, 'bin'), generateSuiteC(tornArray, { hasCompare: true }), patched),
  ];
  const unpatched = await prepareGuestSuites({ exec: realExec, headersDir: await uapiHeaders('pristine'), outDir: join(runDir, 'bin-unpatched'), select: 'compare-contract', timeoutSec: 60, logFile: join(runDir, 'gcc.log') });
  const planned = [...build.tests, ...teeth, { ...unpatched.tests[0]!, name: 'compare-contract-unpatched-headers' }];
  await writeFile(join(runDir, 'plan.tsv'), planText(planned, view));
  await writeFile(join(runDir, 'mounts.tsv'), mountsText(view));

  const started = Date.now();
  const outcome = await runVm(realExec, {
    spec: { kernel, initPath: INIT, runDir, accel: 'tcg', machine, tscKhz: await hostTscKhz(), cpus: 2, memoryMb: 1024, shares: view.shares },
    consoleLog: join(runDir, 'console.log'),
    resultsLog: join(runDir, 'results.log'),
    qemuStderrLog: join(runDir, 'qemu-stderr.log'),
    commandFile: join(runDir, 'qemu-cmdline.txt'),
    timeoutMs: 900_000,
    silenceTimeoutMs: 300_000,
    events: new RunEvents(),
  });
  const consoleText = await readFile(join(runDir, 'console.log'), 'utf8');
  const results = await readFile(join(runDir, 'results.log'), 'utf8');
  t.log(`VM ${outcome.end} in ${((Date.now() - started) / 1000).toFixed(1)} s (boot ${((outcome.bootMs ?? 0) / 1000).toFixed(1)} s), kernel ${/init started kernel=(\S+)/.exec(results)?.[1]}`);
  t.is(outcome.end, 'completed', `${outcome.detail}\n${consoleText.slice(-3000)}`);
  const splats = attributeSplats(scanSplats(consoleText), consoleText);
  t.deepEqual(splats.map((s) => `${s.kind}: ${s.title} (in ${s.test})`), [], 'no kernel splat');
  // Every vCPU came up (on microvm, from qboot's MP table): the race suites need both.
  const verdict = assembleResults({ resultsText: results, planned, splats, vm: outcome, cpus: { asked: 2, consoleText } });
  t.falsy(verdict.tree.tests.find((n) => n.name === 'guest-cpus'), `${machine}: ${verdict.headline}`);
  const byName = new Map(verdict.tree.tests.map((n) => [n.name, n]));

  for (const suite of guestSuites) {
    const node = byName.get(suite.name);
    if (!node) {
      t.fail(`no result for ${suite.name}`);
      continue;
    }
    t.log(`--- ${suite.name}: ${node.status}\n${diagnostics(node)}`);
    t.is(node.status, 'pass', `${suite.name}\n${diagnostics(node)}`);
    t.deepEqual(node.children.map((c) => c.name), suite.cases.map((c) => c.name));
    // The kernel has the series: nothing may be skipped.
    t.deepEqual(node.children.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.status} ${c.directive?.reason ?? ''}`), [], suite.name);
  }

  const gc = byName.get('teeth-gc-race')!;
  t.log(`--- teeth-gc-race: ${gc.status}\n${diagnostics(gc)}`);
  const gcStatus = Object.fromEntries(gc.children.map((c) => [c.name, c.status]));
  t.is(gcStatus['plain-delete-characterisation'], 'pass');
  t.is(gcStatus['compare-delete-vs-updates'], 'fail', 'a non-atomic compare-and-delete deletes live entries, and the check sees it');
  t.is(gcStatus['compare-delete-hot-keys'], 'fail');

  const torn = byName.get('teeth-torn-array')!;
  t.log(`--- teeth-torn-array: ${torn.status}\n${diagnostics(torn)}`);
  t.is(torn.status, 'fail', 'ARRAY updates are not atomic for syscall readers, and the check sees it');

  const skipped = byName.get('compare-contract-unpatched-headers')!;
  t.is(skipped.status, 'skip');
  t.true(skipped.children.every((c) => c.status === 'skip' && /UAPI headers/.test(c.directive?.reason ?? '')));
});
