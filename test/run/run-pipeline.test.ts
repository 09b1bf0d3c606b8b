// runPipeline end to end with a fake exec port: each row scripts the processes, and the RunOutcome is asserted.
import test, { type ExecutionContext } from 'ava';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, copyFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StageName } from '../../orchestrator/events.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import { createExecaPort, describeCommand, type ExecPort, type ExecRequest, type ExecResult } from '../../orchestrator/exec/exec-port.ts';
import { REQUIREMENTS } from '../../orchestrator/host/requirements.ts';
import type { OutcomeKind } from '../../orchestrator/outcome.ts';
import { planRun, type RunOptions, type RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { runPipeline, type RunOutcome } from '../../orchestrator/run.ts';
import { reportOutcome } from '../../orchestrator/commands/run-command.ts';
import type { KcidbSubmission } from '../../orchestrator/report/kcidb-report.ts';
import { fakeResult, tempDir } from '../helpers.ts';
import { haveKcidbSchema, kcidbProblems } from '../kcidb-schema.ts';

const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const fixtures = join(repoRoot, 'test/fixtures');
const SERIES = join(fixtures, 'run/series');
const PATCH_2 = '0002-bpf-implement-compare-and-delete-BPF_F_COMPARE-for-B.patch';

// --- the fake port -------------------------------------------------------------------------------

type Answer = Partial<ExecResult> | ((req: ExecRequest) => Partial<ExecResult> | Promise<Partial<ExecResult>>);

/** One scripted answer: the first rule whose command and args predicate match a request decides it. */
interface Rule {
  command: string | readonly string[];
  args: (args: readonly string[]) => boolean;
  answer: Answer;
}

const on = (command: Rule['command'], args: Rule['args'], answer: Answer): Rule => ({ command, args, answer });
const has = (...words: string[]) => (args: readonly string[]) => words.every((w) => args.includes(w));
const after = (args: readonly string[], flag: string): string => args[args.indexOf(flag) + 1]!;
const valueOf = (args: readonly string[], prefix: string): string => args.find((a) => a.startsWith(prefix))!.slice(prefix.length);
const isProbe = (args: readonly string[]) => args.some((a) => a.includes('root=/dev/nonexistent'));
/** The KVM probe's cache key asks QEMU its version. */
const isVersion = (args: readonly string[]) => args.includes('--version');
const isBoot = (args: readonly string[]) => !isProbe(args) && !isVersion(args);

/**
 * Answers from the rules, else exit 0 with no output. Git that no rule scripts goes to the real git:
 * git am in the worktree, the import commit and git grep need a real repository. Everything else is fake.
 */
function scriptedExec(rules: readonly Rule[]): ExecPort & { calls: ExecRequest[]; abortedAt?: number } {
  const realGit = createExecaPort();
  const calls: ExecRequest[] = [];
  return {
    calls,
    async run(req) {
      calls.push(req);
      const rule = rules.find((r) => [r.command].flat().includes(req.command) && r.args(req.args));
      if (!rule && req.command === 'git') return realGit.run(req);
      const partial = typeof rule?.answer === 'function' ? await rule.answer(req) : rule?.answer ?? {};
      const stdout = partial.stdout ?? '';
      const stderr = partial.stderr ?? '';
      // What the real port does with the output: each line to onLine, all of it to the log file.
      for (const line of stdout.split('\n').filter(Boolean)) req.onLine?.(line, 'stdout');
      for (const line of stderr.split('\n').filter(Boolean)) req.onLine?.(line, 'stderr');
      const lines = [...stdout.split('\n'), ...stderr.split('\n')].filter(Boolean);
      if (req.logFile) await appendFile(req.logFile, [`$ ${describeCommand(req.command, req.args)}`, ...lines].join('\n') + '\n');
      // Aborted while it ran (by the test, or by the caller on a line it saw): the real port kills it.
      const killed = req.signal?.aborted ? { exitCode: undefined, signal: 'SIGTERM', aborted: true } : {};
      return fakeResult({ command: describeCommand(req.command, req.args), tail: lines.slice(-60), ...partial, ...killed });
    },
  };
}

// --- what the fake processes say and leave behind -------------------------------------------------

interface GuestRun {
  console: string;
  results: string;
}

const capture = (dir: string): GuestRun => ({
  console: readFileSync(join(fixtures, 'runs', dir, 'console.log'), 'utf8'),
  results: readFileSync(join(fixtures, 'runs', dir, 'results.log'), 'utf8'),
});
/** Real runs (test/fixtures/runs/README.md): all passed, and map_cmp_delete/contract failing. */
const PASS = capture('pass');
const BROKEN = capture('broken-flag-check');
/** The passing run with a real WARN capture (test/fixtures/results/splats) in place of its test_progs begin/end lines. */
const WARN = readFileSync(join(fixtures, 'results/splats/warn-7.2.6-real-hashtab.log'), 'utf8');
const WARNED: GuestRun = { console: PASS.console.replace(/^.*vm-test: begin test_progs\n.*vm-test: end test_progs exit=0\n/m, WARN), results: PASS.results };

/** A QEMU boot: the guest's results stream goes to the file the virtio-serial chardev names (runVm tails it), the console to stdout. */
/** The marks of runs reading a build directory (build-readers.ts), under a cache's trees/. */
async function readerMarks(cacheRoot: string): Promise<string[]> {
  const marks: string[] = [];
  for (const source of await readdir(join(cacheRoot, 'trees')).catch(() => [] as string[])) {
    for (const build of (await readdir(join(cacheRoot, 'trees', source)).catch(() => [] as string[])).filter((b) => b.startsWith('build-'))) {
      const dir = join(cacheRoot, 'trees', source, build, 'vm-test-readers');
      marks.push(...(await readdir(dir).catch(() => [] as string[])).map((m) => join(dir, m)));
    }
  }
  return marks;
}
/** What readerMarks saw while the last scripted guest ran. */
let marksWhileBooted: string[] = [];

const boot = (run: GuestRun): Answer => async (req) => {
  const results = valueOf(req.args, 'file,id=results,path=');
  marksWhileBooted = await readerMarks(dirname(dirname(dirname(results))));
  await appendFile(results, run.results);
  return { exitCode: 0, stdout: run.console };
};

/** The processes of a run that passes, leaving on disk what the stages check for. */
function pipelineRules(): Rule[] {
  return [
    // allnoconfig: every requested option survives.
    on('make', has('allnoconfig'), async (req) => {
      const build = valueOf(req.args, 'O=');
      await copyFile(join(build, 'vm-test-request.config'), join(build, '.config'));
      return {};
    }),
    on('make', has('bzImage'), async (req) => {
      const build = valueOf(req.args, 'O=');
      await mkdir(join(build, 'arch/x86/boot'), { recursive: true });
      await writeFile(join(build, 'arch/x86/boot/bzImage'), 'fake bzImage\n');
      await mkdir(join(build, 'usr/include/linux'), { recursive: true });
      await copyFile(join(after(req.args, '-C'), 'include/uapi/linux/bpf.h'), join(build, 'usr/include/linux/bpf.h'));
      return { stdout: '  CC      kernel/bpf/hashtab.o\n  LD      vmlinux\n  BUILD   arch/x86/boot/bzImage\nKernel: arch/x86/boot/bzImage is ready  (#1)\n  HDRINST usr/include/linux/bpf.h' };
    }),
    on('make', has('install_headers'), async (req) => {
      await writeFile(join(valueOf(req.args, 'OUTPUT='), 'libbpf.a'), '');
      return {};
    }),
    // The compiler and the linker write their -o.
    on(['ccache', 'gcc'], has('-o'), async (req) => {
      await writeFile(after(req.args, '-o'), '');
      return {};
    }),
    on('qemu-system-x86_64', isVersion, { stdout: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers' }),
    // The KVM probe kernel panics for want of a root and reboots: KVM works.
    on('qemu-system-x86_64', isProbe, { stdout: '[    0.412000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n[    0.413000] Rebooting in 1 seconds..' }),
    on('qemu-system-x86_64', isBoot, boot(PASS)),
  ];
}

/** Stand-ins for the commands checkHost looks for on PATH (the files it checks, libc.a, busybox, ..., are the host's own). */
async function toolsDir(root: string, without: readonly string[] = []): Promise<string> {
  const dir = join(root, without.length ? `bin-without-${without.join('-')}` : 'bin');
  await mkdir(dir, { recursive: true });
  for (const r of REQUIREMENTS) {
    if (!('command' in r.probe) || without.includes(r.probe.command)) continue;
    await writeFile(join(dir, r.probe.command), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, r.probe.command), 0o755);
  }
  return dir;
}

/** PATH directories for the host check: every tool, and every tool but QEMU. */
const tools = { all: '', noQemu: '', cleanup: async () => {} };
test.before(async () => {
  const dir = await tempDir('vm-test-pipeline-tools-');
  Object.assign(tools, { all: await toolsDir(dir.path), noQemu: await toolsDir(dir.path, ['qemu-system-x86_64']), cleanup: dir.cleanup });
});
test.after.always(() => tools.cleanup());

/** probeKvm asks QEMU only when /dev/kvm opens. */
const kvmOpen = (() => {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();

// --- the table -------------------------------------------------------------------------------------

interface RowContext {
  /** Ctrl-C: aborts the run's signal. */
  abort: () => void;
}

interface Row {
  name: string;
  options?: RunOptions;
  /** Checked before the defaults of pipelineRules. */
  rules?: (ctx: RowContext) => Rule[];
  /** The host check's environment; by default every tool is on PATH. */
  env?: () => NodeJS.ProcessEnv;
  needsKvm?: boolean;
  kind: OutcomeKind;
  headline: RegExp;
  /** The one stage recorded as failed; none for a run that ended in a verdict on the tests. */
  failed?: StageName;
  evidence?: { file?: string | RegExp; line?: number; log?: string };
  /** Files the run directory holds. */
  keeps?: string[];
  check?: (t: ExecutionContext, outcome: RunOutcome, exec: ReturnType<typeof scriptedExec>, plan: RunPlan) => void | Promise<void>;
}

const AM_STDOUT = `Applying: bpf: implement compare-and-delete (BPF_F_COMPARE) for BPF_MAP_TYPE_HASH
Using index info to reconstruct a base tree...
Patch failed at 0001 bpf: implement compare-and-delete (BPF_F_COMPARE) for BPF_MAP_TYPE_HASH
hint: Use 'git am --show-current-patch=diff' to see the failed patch
hint: When you have resolved this problem, run "git am --continue".
hint: If you prefer to skip this patch, run "git am --skip" instead.
hint: To restore the original branch and stop patching, run "git am --abort".`;
const AM_STDERR = `error: patch failed: kernel/bpf/hashtab.c:1534
error: kernel/bpf/hashtab.c: patch does not apply
error: sha1 information is lacking or useless (kernel/bpf/hashtab.c).
error: could not build fake ancestor`;
const CHECK_STDERR = `Checking patch kernel/bpf/hashtab.c...
error: while searching for:
	return htab_delete(map, key);
}

error: patch failed: kernel/bpf/hashtab.c:1534
error: kernel/bpf/hashtab.c: patch does not apply`;

const rows: Row[] = [
  {
    name: 'a patch that does not apply',
    rules: () => [
      on('git', (a) => a[0] === 'am' && a.at(-1)!.endsWith(PATCH_2), { exitCode: 128, stdout: AM_STDOUT, stderr: AM_STDERR }),
      on('git', (a) => a[0] === 'apply' && a.includes('--check') && a.at(-1)!.endsWith(PATCH_2), { exitCode: 1, stderr: CHECK_STDERR }),
    ],
    kind: 'patchDidNotApply',
    headline: /^patch 2\/3 "\[PATCH bpf-next 2\/3\] bpf: implement compare-and-delete \(BPF_F_COMPARE\) for BPF_MAP_TYPE_HASH" \(0002-[^)]+\.patch\) does not apply; failed hunks: kernel\/bpf\/hashtab\.c:1534$/,
    failed: 'series',
    evidence: { file: join(SERIES, PATCH_2), log: 'series.log' },
    keeps: ['series-failure.txt', 'series.log', 'source.log', 'plan.txt'],
    async check(t, outcome, exec, plan) {
      t.true(outcome.evidence.excerpt?.includes('error: patch failed: kernel/bpf/hashtab.c:1534'));
      const record = await readFile(join(outcome.runDir, 'series-failure.txt'), 'utf8');
      t.true(record.startsWith(`${outcome.headline}\n\n`));
      t.regex(record, /^error: kernel\/bpf\/hashtab\.c: patch does not apply$/m);
      // Patch 1 applied for real and was rolled back: the worktree is the pristine tree again.
      const worktree = exec.calls.find((c) => c.command === 'git' && c.args[0] === 'am')!.cwd!;
      t.is(dirname(dirname(worktree)), plan.cache.trees);
      t.is(await readFile(join(worktree, 'include/uapi/linux/bpf.h'), 'utf8'), await readFile(join(fixtures, 'run/kernel/include/uapi/linux/bpf.h'), 'utf8'));
      t.false(exec.calls.some((c) => c.command === 'make'));
    },
  },
  {
    name: 'a build error',
    rules: () => [
      on('make', has('bzImage'), (req) => {
        // Kbuild with O= names sources relative to the build directory.
        const source = '../src/kernel/bpf/hashtab.c';
        return {
          exitCode: 2,
          stdout: '  CC      kernel/bpf/syscall.o\n  CC      kernel/bpf/hashtab.o',
          stderr: [
            `${source}: In function 'htab_map_delete_elem_cmp':`,
            `${source}:1570:5: error: expected ';' before 'return'`,
            ' 1570 |     return htab_delete_cmp(map, key, value);',
            '      |     ^~~~~~',
            'make[4]: *** [scripts/Makefile.build:229: kernel/bpf/hashtab.o] Error 1',
            'make[3]: *** [scripts/Makefile.build:478: kernel/bpf] Error 2',
            'make[1]: *** [Makefile:1989: .] Error 2',
            'make: *** [Makefile:224: __sub-make] Error 2',
          ].join('\n'),
        };
      }),
    ],
    kind: 'buildFailed',
    headline: /^kernel build failed at kernel\/bpf\/hashtab\.c:1570: expected ';' before 'return'$/,
    failed: 'build',
    evidence: { file: 'kernel/bpf/hashtab.c', line: 1570, log: 'build.log' },
    keeps: ['build.log', 'series.log'],
    async check(t, outcome, exec) {
      t.deepEqual(outcome.evidence.excerpt, ["kernel/bpf/hashtab.c:1570: error: expected ';' before 'return'"]);
      t.regex(await readFile(join(outcome.runDir, 'build.log'), 'utf8'), /hashtab\.c:1570:5: error: expected ';' before 'return'/);
      t.false(exec.calls.some((c) => c.command === 'qemu-system-x86_64'));
    },
  },
  {
    name: 'a requested option dropped by allnoconfig',
    rules: () => [
      // BPF_JIT's dependencies are not met, so it goes, and the two options that depend on it with it.
      on('make', has('allnoconfig'), async (req) => {
        const build = valueOf(req.args, 'O=');
        const request = await readFile(join(build, 'vm-test-request.config'), 'utf8');
        await writeFile(join(build, '.config'), request.replace(/^CONFIG_(BPF_JIT\w*)=y$/gm, '# CONFIG_$1 is not set'));
        return {};
      }),
    ],
    kind: 'configDropped',
    headline: /^3 requested kernel option\(s\) did not survive allnoconfig:\n {2}\S+kernel-config\/bpf\.config:5: CONFIG_BPF_JIT=y was requested but the resolved \.config has CONFIG_BPF_JIT is not set \(defined at kernel\/bpf\/Kconfig:10; its dependencies are not met: depends on BPF && HAVE_CBPF_JIT \|\| HAVE_EBPF_JIT\)\n/,
    failed: 'build',
    evidence: { file: join(repoRoot, 'kernel-config/bpf.config'), line: 5, log: 'build.log' },
    check(t, outcome, exec) {
      t.is(outcome.evidence.excerpt?.length, 3);
      t.false(exec.calls.some((c) => c.command === 'make' && c.args.includes('bzImage')));
    },
  },
  {
    name: 'KVM internal error on the first boot after a probe that passed: booted again under TCG',
    options: { accel: 'auto' },
    needsKvm: true,
    rules: () => [
      on('qemu-system-x86_64', (a) => isBoot(a) && after(a, '-accel') === 'kvm', {
        stdout: PASS.console.split('\n').slice(0, 3).join('\n'),
        stderr: 'KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000001\nemulation failure\nEAX=00000000 EBX=00000000 ECX=00000000 EDX=00050654',
      }),
    ],
    kind: 'passed',
    headline: /^all tests passed \(1 passed, 0 failed, 0 crashed, 0 skipped\)$/,
    // The KVM boot; the TCG boot after it is ok.
    failed: 'vm',
    keeps: ['console.log', 'results.log', 'qemu-stderr.log', 'qemu-cmdline.txt', 'bzImage', 'kernel.config'],
    async check(t, outcome, exec, plan) {
      t.is(outcome.tested?.accel.accel, 'tcg');
      t.regex(outcome.tested!.accel.reason, /KVM internal error/);
      t.is(outcome.tested?.vm.accel, 'tcg');
      const qemu = exec.calls.filter((c) => c.command === 'qemu-system-x86_64').map((c) => (isProbe(c.args) ? 'probe' : isVersion(c.args) ? 'version' : after(c.args, '-accel')));
      t.deepEqual(qemu, ['version', 'probe', 'kvm', 'tcg,thread=multi']);
      t.deepEqual(outcome.stages.filter((s) => s.stage === 'vm').map((s) => `${s.detail}: ${s.status}`), ['choosing the accelerator: ok', 'booting 2 vCPUs on microvm under KVM: failed', 'booting 2 vCPUs on microvm under TCG: ok']);
      t.regex(outcome.stages.find((s) => s.status === 'failed')!.result!, /^qemu-failed: QEMU reported "KVM internal error"/);
      // Later runs this boot go straight to TCG.
      t.is(JSON.parse(await readFile(join(plan.cache.root, 'kvm-probe.json'), 'utf8')).accel, 'tcg');
    },
  },
  {
    name: 'QEMU cannot start',
    rules: () => [on('qemu-system-x86_64', isBoot, { exitCode: undefined, spawnError: 'spawn qemu-system-x86_64 ENOENT' })],
    kind: 'vmInfra',
    headline: /^qemu-system-x86_64 could not be started: spawn qemu-system-x86_64 ENOENT$/,
    failed: 'vm',
    keeps: ['qemu-cmdline.txt', 'plan.tsv', 'mounts.tsv'],
    check(t, outcome) {
      t.is(outcome.tested?.vm.end, 'qemu-failed');
      t.regex(outcome.stages.find((s) => s.status === 'failed')!.result!, /^qemu-failed: qemu-system-x86_64 could not be started/);
    },
  },
  {
    name: 'the guest completes with a failing test',
    rules: () => [on('qemu-system-x86_64', isBoot, boot(BROKEN))],
    kind: 'testsFailed',
    headline: /^tests failed \(0 passed, 1 failed, 0 crashed, 0 skipped\); first: test_progs\/map_cmp_delete\/contract failed: compare fields without flag -> EINVAL unexpected .*: actual 0 != expected -22$/,
    keeps: ['console.log', 'results.log'],
    async check(t, outcome) {
      t.is(outcome.tested?.accel.accel, 'tcg');
      t.is(await readFile(join(outcome.runDir, 'results.log'), 'utf8'), BROKEN.results);
      // While its guest ran, the run marked the build directory as read (no build rewrites the tests under it).
      t.is(marksWhileBooted.length, 1);
    },
  },
  {
    name: 'the guest completes with a splat on the console',
    rules: () => [on('qemu-system-x86_64', isBoot, boot(WARNED))],
    kind: 'kernelCrash',
    headline: /^kernel warning during test_progs: WARNING in htab_map_delete_elem_cmp$/,
    keeps: ['console.log'],
    async check(t, outcome) {
      t.is(outcome.tested?.verdict.blockingSplats.length, 1);
      t.regex(await readFile(join(outcome.runDir, 'console.log'), 'utf8'), /-{12}\[ cut here \]-{12}/);
    },
  },
  {
    name: 'interrupted while make runs',
    rules: ({ abort }) => [
      on('make', has('bzImage'), () => {
        abort();
        return { stdout: '  CC      kernel/bpf/hashtab.o' };
      }),
    ],
    kind: 'interrupted',
    headline: /^interrupted/,
    failed: 'build',
    keeps: ['build.log'],
    check(t, outcome, exec, plan) {
      t.false(exec.calls.some((c) => c.command === 'qemu-system-x86_64'));
      t.false(existsSync(join(plan.cache.locks, 'build.lock')), 'the build lock is released');
    },
  },
  {
    // Seen for real: SIGTERM as the kernel build ended, and QEMU booted anyway.
    name: 'the stop comes as make ends and make finishes anyway: no later stage starts',
    rules: ({ abort }) => [
      on('make', has('bzImage'), () => {
        setTimeout(abort, 0);
        return { stdout: '  CC      kernel/bpf/hashtab.o' };
      }),
    ],
    kind: 'interrupted',
    headline: /^interrupted/,
    failed: 'build',
    keeps: ['build.log'],
    check(t, outcome, exec) {
      // Once the stop is known, only the build stage's own work (the targeted test_progs compiling beside the kernel,
      // which the real exec port refuses to start) is asked for: no later stage's process.
      t.deepEqual(exec.calls.slice(exec.abortedAt).map((c) => describeCommand(c.command, c.args)).filter((c) => !/^\S*(make|vm-test-cc|gcc) /.test(c)), []);
      t.false(exec.calls.some((c) => c.command === 'qemu-system-x86_64'), 'QEMU is never started');
      t.false(outcome.stages.some((s) => s.stage === 'vm'), JSON.stringify(outcome.stages.map((s) => s.stage)));
    },
  },
  {
    name: 'a missing host tool, automatic installs off',
    env: () => ({ PATH: tools.noQemu, VM_TEST_NO_INSTALL: '1' }),
    kind: 'missingTool',
    headline: /^missing host tools: qemu-system-x86_64 \(qemu-system-x86, for booting the kernel\)\. Install them with:\n {2}sudo apt-get update && sudo apt-get install -y qemu-system-x86$/,
    failed: 'host',
    keeps: ['plan.txt'],
    check(t, outcome, exec) {
      t.deepEqual(outcome.evidence, { excerpt: ['automatic installs are off (VM_TEST_NO_INSTALL)'] });
      t.deepEqual(exec.calls, [], 'nothing ran');
    },
  },
  {
    name: 'a missing host tool that apt-get cannot install',
    env: () => ({ PATH: tools.noQemu }),
    rules: () => [
      on(['apt-get', 'sudo'], has('install'), { exitCode: 100, stdout: 'Reading package lists...\nBuilding dependency tree...', stderr: 'E: Unable to locate package qemu-system-x86' }),
    ],
    kind: 'missingTool',
    headline: /^missing host tools: qemu-system-x86_64 \(qemu-system-x86, for booting the kernel\)\. Install them with:/,
    failed: 'host',
    evidence: { log: 'host.log' },
    keeps: ['host.log'],
    check(t, outcome, exec) {
      t.deepEqual(outcome.evidence.excerpt, ['apt-get install qemu-system-x86 failed (exit 100): Reading package lists... | Building dependency tree... | E: Unable to locate package qemu-system-x86']);
      t.is(exec.calls.filter((c) => c.args.includes('install')).length, 2, 'install, update, install again');
    },
  },
];

for (const row of rows) {
  (row.needsKvm && !kvmOpen ? test.skip : test)(`runPipeline: ${row.name} → ${row.kind}`, async (t) => {
    const tmp = await tempDir('vm-test-pipeline-');
    t.teardown(tmp.cleanup);
    // A non-git local tree: the source stage imports a copy of it into the cache.
    const kernel = join(tmp.path, 'linux');
    await cp(join(fixtures, 'run/kernel'), kernel, { recursive: true });
    const plan = await planRun({
      kernel, series: SERIES, testProgs: ['map_cmp_delete'], guestTests: 'none',
      cacheDir: join(tmp.path, 'cache'), accel: 'tcg', cpus: 2, jobs: 2, ...row.options,
    }, repoRoot, tmp.path, {}, 2);
    const controller = new AbortController();
    const exec: ReturnType<typeof scriptedExec> & { abortedAt?: number } = scriptedExec([...row.rules?.({
      abort: () => {
        controller.abort();
        exec.abortedAt = exec.calls.length;
      },
    }) ?? [], ...pipelineRules()]);
    const outcome = await runPipeline(plan, { exec, events: new RunEvents(), signal: controller.signal, env: row.env?.() ?? { PATH: tools.all } });

    t.is(outcome.kind, row.kind, outcome.headline);
    t.regex(outcome.headline, row.headline);
    // However it ended, the run no longer marks its build directory as read by its guest.
    t.deepEqual(await readerMarks(plan.cache.root), []);
    const { file, line, log } = row.evidence ?? {};
    if (typeof file === 'string') t.is(outcome.evidence.file, file);
    if (file instanceof RegExp) t.regex(outcome.evidence.file ?? '', file);
    if (line !== undefined) t.is(outcome.evidence.line, line);
    if (log) t.is(outcome.evidence.logPath, join(outcome.runDir, log));

    // Stage records: the stage that failed, and only it, says so; every record has its time.
    t.deepEqual(outcome.stages.filter((s) => s.status === 'failed').map((s) => s.stage), row.failed ? [row.failed] : []);
    t.true(outcome.stages.length > 0);
    for (const s of outcome.stages) t.true(Number.isFinite(s.elapsedMs) && s.elapsedMs >= 0, `${s.stage}: ${s.elapsedMs}`);
    t.deepEqual(Object.keys(outcome.timings).sort(), [...new Set(outcome.stages.map((s) => s.stage))].sort());
    for (const [name, ms] of Object.entries(outcome.timings)) {
      t.is(ms, outcome.stages.filter((s) => s.stage === name).reduce((sum, s) => sum + s.elapsedMs, 0));
    }

    // Logs stay in the run directory, in the cache's runs/.
    t.is(dirname(outcome.runDir), plan.cache.runs);
    for (const call of exec.calls) if (call.logFile) t.is(dirname(call.logFile), outcome.runDir, describeCommand(call.command, call.args));
    if (outcome.evidence.logPath) t.true(existsSync(outcome.evidence.logPath));
    for (const name of row.keeps ?? []) t.true(existsSync(join(outcome.runDir, name)), `${name} in the run directory`);

    // What KCIDB's checkout and build are made from, as far as the run got: the series from the start, the base commit once the source stage ran.
    t.deepEqual(outcome.checkout?.series?.patches.map((p) => [p.file, /^[0-9a-f]{64}$/.test(p.sha256)]), plan.series!.patches.map((p) => [p.path, true]));
    const sourced = outcome.stages.some((s) => s.stage === 'source' && s.status !== 'failed');
    t.is(/^[0-9a-f]{40}$/.test(outcome.checkout?.baseCommit ?? ''), sourced);
    if (outcome.stages.some((s) => s.stage === 'build')) t.like(outcome.build, { arch: 'x86_64', config: ['vm', 'bpf', 'slim'] });
    // Every ending's KCIDB file, made as --kcidb makes it, is valid KCIDB v5.3.
    if (haveKcidbSchema) {
      const kcidbOut = join(tmp.path, 'kcidb.json');
      const sink = { write: () => {} };
      await reportOutcome({ stdout: sink, stderr: sink }, outcome, { kcidbOut, github: false }, 0);
      const submission = JSON.parse(await readFile(kcidbOut, 'utf8')) as KcidbSubmission;
      t.is(kcidbProblems(submission), undefined);
      t.is(submission.checkouts[0]!.git_commit_hash, sourced ? outcome.checkout!.baseCommit : undefined);
      t.is(submission.tests.length > 0, outcome.tested !== undefined || outcome.kind === 'vmInfra');
    }

    await row.check?.(t, outcome, exec, plan);
  });
}

test('the real exec port starts nothing once its signal is aborted', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const controller = new AbortController();
  controller.abort();
  const marker = join(tmp.path, 'ran');
  const r = await createExecaPort().run({ command: 'touch', args: [marker], signal: controller.signal });
  t.true(r.aborted);
  t.false(existsSync(marker), 'touch never ran');
});
