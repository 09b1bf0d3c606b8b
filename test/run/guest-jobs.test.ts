// What the guest runs: the built tests in order, or an exec/shell job with links to them on its PATH.
import test from 'ava';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FullSelftestsBuild } from '../../orchestrator/build/full-selftests-build.ts';
import { TARGETED } from '../../orchestrator/build/targeted-build.ts';
import { builtTests, guestTestsFor, jobTest, JOB_PATH, type GuestBuilds } from '../../orchestrator/guest/guest-jobs.ts';
import type { GuestTest, TestProgsSelection } from '../../orchestrator/guest/guest-plan.ts';
import type { RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { tempDir } from '../helpers.ts';
import { vmRunRequest } from '../../orchestrator/vm/guest-boot.ts';
import { RunEvents } from '../../orchestrator/events.ts';

const BUILD = '/cache/build-1';
const selection: TestProgsSelection = { test: ['map_cmp_delete'], allow: [], deny: [] };
const plan = (job: RunPlan['job'], fullSelftests = false) => ({ job, testTimeoutSec: 120, testProgsSelection: selection, fullSelftests });
const targeted = { binary: `${BUILD}/vm-test-selftests/test_progs-k/test_progs`, tests: ['map_cmp_delete'], cached: true, elapsedMs: 0 };
const full = { dir: `${BUILD}/selftests`, binary: `${BUILD}/selftests/test_progs`, testmod: `${BUILD}/selftests/bpf_testmod.ko`, tests: [], excluded: [], runners: [], skipped: [], skipCauses: {}, cached: true, elapsedMs: 0 } satisfies FullSelftestsBuild;
const suite: GuestTest = { name: 'compare-contract', kind: 'ktap', argv: [`${BUILD}/vm-test-guest-tests/h/compare-contract`], timeoutSec: 120 };
const suites = { tests: [suite], sources: [], cSources: [] };

test('the built tests: the full test_progs, the targeted one (under its own name beside the full one), the suites', (t) => {
  const alone = builtTests(plan({ kind: 'tests' }), { targeted, suites });
  t.deepEqual(alone.map((x) => x.name), ['test_progs', 'compare-contract']);
  t.deepEqual(alone[0]!.argv, [targeted.binary, '-t', 'map_cmp_delete', '-J', '/run/vm-test/test_progs.json']);
  const both = builtTests(plan({ kind: 'tests' }, true), { full, targeted, suites });
  t.deepEqual(both.map((x) => x.name), ['test_progs', TARGETED, 'compare-contract']);
  t.is(both[0]!.cwd, full.dir);
  t.deepEqual(both[0]!.inputs, [full.binary, full.testmod]);
  t.is(both[1]!.argv.at(-1), '/run/vm-test/test_progs-targeted.json');
});

test('vm-test exec: the command under env with the job PATH, its directory, and its stderr on a port of its own', (t) => {
  const exec = jobTest(plan({ kind: 'exec', argv: ['test_progs', '-t', 'x'], cwd: '/home/me' }));
  t.deepEqual(exec, { name: 'exec', kind: 'exec', argv: ['/usr/bin/env', `PATH=${JOB_PATH}`, 'test_progs', '-t', 'x'], timeoutSec: 120, cwd: '/home/me', stderrPort: true });
  const shell = jobTest(plan({ kind: 'shell', rows: 40, cols: 120 }));
  t.is(shell.kind, 'shell');
  t.regex(shell.argv[2]!, /stty rows 40 cols 120/);
  t.throws(() => jobTest(plan({ kind: 'tests' })), { message: /not a job/ });
});

test('a job runs alone, with links in bin/ to the built tests\' guest paths; the tests run as planned', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const bin = join(tmp.path, 'bin');
  const tests = await guestTestsFor(plan({ kind: 'exec', argv: ['test_progs'], cwd: undefined }), { targeted, suites }, bin, BUILD);
  t.deepEqual(tests.map((x) => x.name), ['exec']);
  t.is(await readlink(join(bin, 'test_progs')), '/run/vm-test-build/vm-test-selftests/test_progs-k/test_progs');
  t.is(await readlink(join(bin, 'compare-contract')), '/run/vm-test-build/vm-test-guest-tests/h/compare-contract');
  t.deepEqual((await guestTestsFor(plan({ kind: 'tests' }), { targeted }, bin, BUILD)).map((x) => x.name), ['test_progs']);
});

test('nothing to run (a selection this tree lacks, no suites) is a usage error', async (t) => {
  const empty: GuestBuilds = {};
  const error = await t.throwsAsync(guestTestsFor(plan({ kind: 'tests' }), empty, '/nonexistent/bin', BUILD), { instanceOf: VmTestError });
  t.is(error?.kind, 'usage');
});

test('vm-test bpf-ci: each runner the full build made, in its directory; the test_progs flavours with the selection, the merged list, -w and a JSON file each', (t) => {
  const sel: TestProgsSelection = { test: [], allow: ['*'], deny: [], denylist: { file: '/run/x/bpf-ci-denylist.txt', entries: ['get_stack_raw_tp'] } };
  const withRunners = { ...full, runners: ['test_progs', 'test_progs-no_alu32', 'test_verifier', 'test_maps'].map((name) => ({ name, binary: `${full.dir}/${name}` })) };
  const tests = builtTests({ job: { kind: 'tests' }, testTimeoutSec: 5400, testProgsSelection: sel, fullSelftests: true, runners: ['test_progs', 'test_progs-no_alu32', 'test_progs-cpuv4', 'test_verifier', 'test_maps'], watchdogSec: 600 }, { full: withRunners, targeted, suites });
  t.deepEqual(tests.map((x) => [x.name, x.kind]), [['test_progs', 'test_progs'], ['test_progs-no_alu32', 'test_progs'], ['test_verifier', 'test_verifier'], ['test_maps', 'test_maps'], ['compare-contract', 'ktap']]);
  t.deepEqual(tests[1]!.argv, ['./test_progs-no_alu32', '-a', '*', '-d', '@/run/vm-test/test_progs-denylist.txt', '-J', '/run/vm-test/test_progs-no_alu32.json', '-w', '600']);
  t.deepEqual(tests[2]!.argv, ['./test_verifier']);
  t.true(tests.slice(0, 4).every((x) => x.cwd === full.dir && x.timeoutSec === 5400));
  t.deepEqual(tests[0]!.inputs, [`${full.dir}/test_progs`, full.testmod, '/run/x/bpf-ci-denylist.txt']);
});

test('vm-test bpf-ci: a runner with a limit of its own gets it, the others the plan\'s; the VM waits out the longest silence', (t) => {
  const withRunners = { ...full, runners: ['test_progs', 'test_maps'].map((name) => ({ name, binary: `${full.dir}/${name}` })) };
  const sel: TestProgsSelection = { test: [], allow: ['*'], deny: [] };
  const jobPlan = { job: { kind: 'tests' as const }, testTimeoutSec: 5400, testProgsSelection: sel, fullSelftests: true, runners: ['test_progs', 'test_maps'] as const, watchdogSec: 600, runnerTimeoutsSec: { test_maps: 14400 } };
  const tests = builtTests(jobPlan, { full: withRunners });
  t.deepEqual(tests.map((x) => [x.name, x.timeoutSec]), [['test_progs', 5400], ['test_maps', 14400]]);
  const request = vmRunRequest({ ...jobPlan, cpus: 2, memoryMb: 4096, timeoutSec: 21600 }, { bzImage: '/b', initPath: '/i', runDir: '/r', machine: { machine: 'microvm' } as never, tscKhz: undefined, view: { shares: [] }, gdb: undefined, tests }, 'tcg', new RunEvents());
  t.deepEqual([...request.testTimeouts!.entries()], [['test_progs', 5400], ['test_maps', 14400]]);
  t.is(request.silenceTimeoutMs, (14400 + 60) * 1000);
});
