// What the guest runs: the tests the build stages made, or vm-test exec's command or vm-test shell with those tests on PATH.
import { INIT_PATH, runGuestPath } from './protocol.ts';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FullSelftestsBuild } from '../build/full-selftests-build.ts';
import type { TestProgsBuild } from '../build/selftests-build.ts';
import { TARGETED } from '../build/targeted-build.ts';
import { CI_WATCHDOG_SEC, runnerKind, type RunnerName } from '../build/selftests-runners.ts';
import { VmTestError } from '../outcome.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { fullTestProgsEntry, testProgsEntry, type GuestTest } from './guest-plan.ts';
import type { GuestSuiteBuild } from './guest-suites.ts';
import { BUILD_SHARE, guestView } from './guest-view.ts';

/** What the build stages made for the guest; each is absent when its stage did not run or made nothing. */
export interface GuestBuilds {
  full?: FullSelftestsBuild;
  targeted?: TestProgsBuild;
  suites?: GuestSuiteBuild;
}

type JobPlan = Pick<RunPlan, 'job' | 'testTimeoutSec' | 'testProgsSelection' | 'fullSelftests'> & Partial<Pick<RunPlan, 'runners' | 'watchdogSec' | 'workers' | 'runnerTimeoutsSec'>>;

/**
 * vm-test bpf-ci: each runner the full build made, in its output directory (the BPF objects, no_alu32/, cpuv4/
 * and bpf_testmod.ko are there): the test_progs flavours with the selection, the lists, -w and a JSON file each.
 */
/**
 * The BPF objects a runner loads from its directory at run time (those without a skeleton in the binary): part of
 * what it runs, so part of its boot key. test_progs' flavours keep theirs in no_alu32/ and cpuv4/.
 */
export function runnerObjects(dir: string, runner: string): string[] {
  const flavour = /^test_progs-(.+)$/.exec(runner)?.[1];
  const at = flavour ? join(dir, flavour) : dir;
  return existsSync(at) ? readdirSync(at).filter((f) => f.endsWith('.bpf.o')).sort().map((f) => join(at, f)) : [];
}

export function runnerTests(plan: JobPlan, full: FullSelftestsBuild): GuestTest[] {
  const sel = plan.testProgsSelection;
  // A shard runs its runners only (bpf-ci-shard.ts); the build made them all.
  return full.runners.filter((r) => !plan.runners || plan.runners.includes(r.name as RunnerName)).map(({ name, binary }): GuestTest => {
    const kind = runnerKind(name as RunnerName);
    const timeoutSec = plan.runnerTimeoutsSec?.[name as RunnerName] ?? plan.testTimeoutSec;
    const base = { name, timeoutSec, cwd: full.dir, inputs: [binary, full.testmod, ...runnerObjects(full.dir, name)] };
    if (kind !== 'test_progs') return { ...base, kind, argv: [`./${name}`] };
    const entry = testProgsEntry(`./${name}`, sel, runGuestPath(`${name}.json`), timeoutSec, name);
    return { ...base, kind, argv: [...entry.argv, '-w', String(plan.watchdogSec ?? CI_WATCHDOG_SEC), ...(plan.workers ? [`--workers=${plan.workers}`] : [])], inputs: [...base.inputs, ...(entry.inputs ?? [])] };
  });
}

/** The built tests in the order the guest runs them: the full test_progs (or every runner), the targeted one, the guest suites. */
export function builtTests(plan: JobPlan, builds: GuestBuilds): GuestTest[] {
  const { full, targeted, suites } = builds;
  const sel = plan.testProgsSelection;
  if (full && plan.runners) return [...runnerTests(plan, full), ...(suites?.tests ?? [])];
  return [
    ...(full ? [fullTestProgsEntry(full.dir, sel, runGuestPath('test_progs.json'), plan.testTimeoutSec, [full.binary, full.testmod, ...runnerObjects(full.dir, 'test_progs')])] : []),
    // With --full-selftests the targeted one runs under its own name, and the two are compared.
    ...(targeted ? [plan.fullSelftests
      ? testProgsEntry(targeted.binary, sel, runGuestPath('test_progs-targeted.json'), plan.testTimeoutSec, TARGETED)
      : testProgsEntry(targeted.binary, sel, runGuestPath('test_progs.json'), plan.testTimeoutSec)] : []),
    ...(suites?.tests ?? []),
  ];
}

/**
 * The guest's plan: the built tests, or the exec/shell job with links to them in binDir (the run share's bin/).
 * Nothing to run is a usage error.
 */
export async function guestTestsFor(plan: JobPlan, builds: GuestBuilds, binDir: string, buildDir: string): Promise<GuestTest[]> {
  const built = builtTests(plan, builds);
  const tests = plan.job.kind === 'tests' ? built : [jobTest(plan)];
  if (plan.job.kind !== 'tests') await linkJobBinaries(binDir, built, buildDir);
  // The plan refused an empty selection; this is a test_progs selection the tree lacks (a bisect prefix) with no suites.
  if (tests.length === 0) throw new VmTestError('usage', 'nothing to run: the selected test_progs tests are not in this tree, and no guest suites are selected');
  return tests;
}

/**
 * vm-test exec and shell find the run's test binaries on their PATH (test_progs, compare-contract, ...):
 * links in the run directory's bin/ to their guest paths in the build share.
 */
export async function linkJobBinaries(binDir: string, tests: readonly GuestTest[], buildDir: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  const view = guestView([{ ...BUILD_SHARE, hostPath: buildDir, readonly: true }]);
  for (const t of tests) {
    const binary = t.argv[0];
    if (!binary || !view.maps(binary)) continue;
    await rm(join(binDir, basename(binary)), { force: true });
    await symlink(view.toGuest(binary), join(binDir, basename(binary)));
  }
}

/** The run's test binaries first (its bin/ in the run share), then the host's as the init has them. */
export const JOB_PATH = `${runGuestPath('bin')}:${INIT_PATH}`;

/** The guest side of vm-test exec and shell: the command, or the interactive shell on hvc0. */
export function jobTest(plan: Pick<RunPlan, 'job' | 'testTimeoutSec'>): GuestTest {
  const job = plan.job;
  if (job.kind === 'exec') {
    return { name: 'exec', kind: 'exec', argv: ['/usr/bin/env', `PATH=${JOB_PATH}`, ...job.argv], timeoutSec: plan.testTimeoutSec, ...(job.cwd ? { cwd: job.cwd } : {}), stderrPort: true };
  }
  if (job.kind !== 'shell') throw new Error('jobTest: not a job');
  // The terminal's size, a session with hvc0 as its controlling terminal (so Ctrl-C reaches the foreground job), bash if there is one.
  // The size is set from inside the session: a tty forgets it when its last file is closed.
  const inner = `stty rows ${job.rows} cols ${job.cols} 2>/dev/null; if command -v bash >/dev/null; then PS1="[vm-test \\w]# " exec bash --norc -i; else PS1="[vm-test]# " exec sh -i; fi`;
  const script = [
    'cd /',
    `export PATH=${JOB_PATH}`,
    `exec /bin/busybox setsid -c /bin/sh -c '${inner}' </dev/hvc0 >/dev/hvc0 2>&1`,
  ].join('; ');
  return { name: 'shell', kind: 'shell', argv: ['/bin/sh', '-c', script], timeoutSec: 7 * 24 * 3600 };
}
