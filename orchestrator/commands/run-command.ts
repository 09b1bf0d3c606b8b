// `vm-test run` (the default command): plan, build, boot, test, report.
import { readdirSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { createExecaPort } from '../exec/exec-port.ts';
import { BASE_FRAGMENTS, SLIM_FRAGMENT, describePlan, planRun, type PlanDeps, type RunOptions } from '../plan/run-plan.ts';
import { annotations, stepSummary } from '../report/github-report.ts';
import { toJson } from '../report/json-report.ts';
import { REPORT_FORMATS, readSavedRun } from '../report/formats.ts';
import { runMeta } from '../report/run-record.ts';
import { toJunit } from '../report/junit-report.ts';
import { createTerminalReporter, renderSummary } from '../report/terminal-report.ts';
import { describeFailure } from '../outcome.ts';
import { runPipeline, type RunOutcome } from '../run.ts';
import { commandEvents, done, repoRoot, type CliContext, type ResultCommand } from './context.ts';

/** The fragments --kconfig can name, as kernel-config/ has them (the base ones and slim are merged already). */
function extraFragments(): string[] {
  const names = readdirSync(join(repoRoot(), 'kernel-config')).filter((f) => f.endsWith('.config')).map((f) => f.replace(/\.config$/, ''));
  return names.filter((n) => !BASE_FRAGMENTS.includes(n) && n !== SLIM_FRAGMENT).sort();
}

export function withRunOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('kernel', { type: 'string', describe: 'kernel tree: a local path, git:<url>#<ref>, or deb:<package>[=<version>][@<suite>] (default: the series manifest\'s base, deb:linux-source-7.2=7.2.6-1~bpo13+1@trixie-backports for v1)' })
    .option('series', { type: 'string', describe: 'series revision under patches/ (bpf-f-compare/v1, bpf-f-compare/v1-6.12), a directory of mbox patches, an mbox file, or lore:<message-id> (fetched with b4 am); --no-series for the pristine tree', default: 'bpf-f-compare/v1' })
    .option('lore-mbox', { type: 'string', describe: 'with --series lore:<message-id>: read the thread from this mbox file (b4 am -m) instead of lore' })
    .option('patches', { type: 'number', describe: 'apply only the first N patches of the series' })
    .option('kconfig', { type: 'string', array: true, describe: `extra config fragment: a name in kernel-config/ (${extraFragments().join(', ')}) or a path` })
    .option('sanitize', { type: 'boolean', describe: 'a kernel with KASAN, UBSAN, lockdep and kmemleak (kernel-config/sanitize.config, as --kconfig sanitize), kmemleak scanned after every test: bugs a test\'s result does not show' })
    .option('full-selftests', { type: 'boolean', describe: 'build the tree\'s full BPF selftests (their config, modules, bpf_testmod, clang-19) and run the selection with that test_progs, next to the targeted one, and compare the two' })
    .option('test-progs', { alias: 't', type: 'string', array: true, describe: 'test_progs -t: tests whose name contains it (comma lists too); default: the series manifest\'s; none for none' })
    .option('allow', { alias: 'a', type: 'string', array: true, describe: 'test_progs -a: tests matching the glob (test or test/subtest)' })
    .option('deny', { alias: 'd', type: 'string', array: true, describe: 'test_progs -d: leave out tests matching the glob' })
    .option('denylist', { type: 'string', describe: 'a file in the selftests\' DENYLIST format, passed to every test_progs as -d @FILE' })
    .option('guest-tests', { type: 'string', describe: 'guest suites to run (glob over suite names, default all; none for none)' })
    .option('cache-dir', { type: 'string', describe: 'cache directory (default $VM_TEST_CACHE_DIR or $XDG_CACHE_HOME/vm-test)' })
    .option('run-dir', { type: 'string', describe: 'run directory (default <cache>/runs/<timestamp>-<series>)' })
    .option('jobs', { alias: 'j', type: 'number', describe: 'make -j (default nproc+1)' })
    .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const, describe: 'QEMU accelerator; auto probes KVM and falls back to TCG' })
    .option('timeout', { type: 'number', describe: 'seconds before the whole VM is stopped', default: 900 })
    .option('test-timeout', { type: 'number', describe: 'seconds before one guest test is killed', default: 300 })
    .option('cpus', { type: 'number', describe: 'guest vCPUs', default: 2 })
    .option('memory', { type: 'number', describe: 'guest memory in MiB', default: 1024 })
    .option('json', { type: 'string', describe: 'write the result tree as JSON to FILE' })
    .option('junit', { type: 'string', describe: 'write JUnit XML to FILE' })
    .option('kcidb', { type: 'string', describe: 'write the run as a KCIDB v5.3 submission to FILE (as vm-test report RUN_DIR --format kcidb)' })
    .option('allowlist', { type: 'string', describe: 'file of kernel splats to accept (kind: regex per line)' })
    .option('ccache', { type: 'boolean', default: true, describe: 'use ccache when installed (--no-ccache to not)' })
    .option('refresh-source', { type: 'boolean', describe: 're-import a non-git local kernel tree' })
    .option('committed', { type: 'boolean', describe: 'with a local git tree: test its HEAD only (default: the working tree as it is, uncommitted changes included)' })
    .option('verbose-console', { type: 'boolean', describe: 'echo the guest console as it arrives' })
    .option('gdb', { type: 'boolean', describe: 'start QEMU\'s gdbstub on a unix socket and print the gdb command line (adds nokaslr; --kconfig debug for debug info)' })
    .option('gdb-wait', { type: 'boolean', describe: 'like --gdb, with the CPUs stopped until gdb continues them' })
    .option('dry-run', { type: 'boolean', describe: 'print the resolved plan and stop' });
}

type RunArgs = Awaited<ReturnType<typeof withRunOptions>['argv']>;

/** --sanitize is the sanitize fragment, merged once, after the --kconfig ones. */
export function withSanitize(kconfig: readonly string[] | undefined, sanitize: boolean): string[] | undefined {
  if (!sanitize || kconfig?.includes('sanitize')) return kconfig ? [...kconfig] : undefined;
  return [...(kconfig ?? []), 'sanitize'];
}

export function runOptionsFrom(argv: RunArgs): RunOptions {
  return {
    kernel: argv.kernel,
    series: typeof argv.series === 'string' ? argv.series : undefined,
    loreMbox: argv['lore-mbox'] as string | undefined,
    noSeries: (argv.series as unknown) === false,
    patches: argv.patches,
    kconfig: withSanitize(argv.kconfig as string[] | undefined, argv.sanitize === true),
    fullSelftests: argv['full-selftests'] as boolean | undefined,
    testProgs: (argv['test-progs'] as string[] | undefined)?.flatMap((t) => t.split(',')).filter(Boolean),
    testProgsAllow: (argv.allow as string[] | undefined)?.flatMap((t) => t.split(',')).filter(Boolean),
    testProgsDeny: (argv.deny as string[] | undefined)?.flatMap((t) => t.split(',')).filter(Boolean),
    denylist: argv.denylist as string | undefined,
    guestTests: argv['guest-tests'],
    cacheDir: argv['cache-dir'],
    runDir: argv['run-dir'],
    jobs: argv.jobs,
    accel: argv.accel,
    timeout: argv.timeout,
    testTimeout: argv['test-timeout'],
    cpus: argv.cpus,
    memory: argv.memory,
    json: argv.json,
    junit: argv.junit,
    kcidb: argv.kcidb,
    allowlist: argv.allowlist,
    noCcache: argv.ccache === false,
    refreshSource: argv['refresh-source'],
    committed: argv.committed,
    gdb: argv.gdb,
    gdbWait: argv['gdb-wait'],
  };
}

/**
 * What planning may use: the exec port, and events for what it says while fetching a lore: series. Those lines go to
 * stderr as they come (the run's reporter is not subscribed yet, and a --dry-run's stdout is the plan alone).
 */
export function planDeps(ctx: Pick<CliContext, 'stderr' | 'signal' | 'observe'>): PlanDeps {
  const events = commandEvents(ctx, (event) => {
    if (event.type === 'info') ctx.stderr.write(`vm-test: [${event.stage}] ${event.message}\n`);
    if (event.type === 'warn') ctx.stderr.write(`vm-test: [${event.stage}] warning: ${event.message}\n`);
  });
  return { exec: createExecaPort(), events, signal: ctx.signal };
}

export function runCommand(ctx: CliContext): ResultCommand<RunArgs> {
  return {
    command: ['run', '$0'],
    describe: 'apply the series, build, boot under QEMU, run the tests, report (the default)',
    builder: (y) => withRunOptions(y) as Argv<RunArgs>,
    handler: async (argv) => {
      const options = runOptionsFrom(argv);
      const plan = await planRun(options, repoRoot(), process.cwd(), process.env, availableParallelism(), planDeps(ctx));
      if (argv['dry-run']) {
        ctx.stdout.write(describePlan(plan) + '\n');
        return done();
      }
      const github = process.env.GITHUB_ACTIONS === 'true';
      const events = commandEvents(ctx, createTerminalReporter(ctx.stdout, { verboseConsole: argv['verbose-console'], github }));
      const outcome = await runPipeline(plan, { exec: createExecaPort(), events, signal: ctx.signal }, (dir) => ctx.setRunDir(dir));
      return { type: 'ended', kind: outcome.kind, report: (exitCode) => reportOutcome(ctx, outcome, { jsonOut: plan.jsonOut, junitOut: plan.junitOut, kcidbOut: plan.kcidbOut, github }, exitCode) };
    },
  };
}

/** Every report of one run, with the exit code the CLI mapped its ending to: results.json and JUnit, --json/--junit/--kcidb, GitHub's summary, the terminal. */
export async function reportOutcome(ctx: Pick<CliContext, 'stdout' | 'stderr'>, outcome: RunOutcome, out: { jsonOut?: string; junitOut?: string; kcidbOut?: string; github: boolean }, exitCode: number): Promise<void> {
  await reportRun(ctx, outcome, out, exitCode);
  // From the run directory as written, so that it is what vm-test report --format kcidb gives for it later.
  if (out.kcidbOut) await writeFile(out.kcidbOut, REPORT_FORMATS.kcidb(await readSavedRun(outcome.runDir)));
}

async function reportRun(ctx: Pick<CliContext, 'stdout' | 'stderr'>, outcome: RunOutcome, out: { jsonOut?: string; junitOut?: string; github: boolean }, exitCode: number): Promise<void> {
  const identity = outcome.tested?.identity ?? outcome.identity;
  const meta = runMeta(outcome, exitCode);
  if (!outcome.tested) {
    // Stopped before the tests: the evidence, on stderr and in error.txt; a JSON file still says how it ended.
    const lines = outcome.kind === 'interrupted'
      ? [`vm-test: interrupted; logs and partial results are in ${outcome.runDir}`]
      : describeFailure(outcome.kind, outcome.headline, outcome.evidence, outcome.runDir, exitCode);
    ctx.stderr.write(lines.join('\n') + '\n');
    await writeFile(join(outcome.runDir, 'error.txt'), lines.join('\n') + '\n').catch(() => {});
    const json = JSON.stringify({ status: 'not_run', run: meta }, null, 2) + '\n';
    await writeFile(join(outcome.runDir, 'results.json'), json).catch(() => {});
    if (out.jsonOut) await writeFile(out.jsonOut, json);
    if (out.github) {
      ctx.stdout.write(`::error title=vm-test: ${outcome.kind}::${outcome.headline.replaceAll('\n', '%0A')}\n`);
      if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, `## vm-test: ${outcome.kind} (exit ${exitCode})\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`);
    }
    return;
  }
  const { verdict } = outcome.tested;
  await writeFile(join(outcome.runDir, 'results.json'), toJson(verdict.tree, meta));
  await writeFile(join(outcome.runDir, 'results.junit.xml'), toJunit(verdict.tree, undefined, identity));
  if (out.jsonOut) await writeFile(out.jsonOut, toJson(verdict.tree, meta));
  if (out.junitOut) await writeFile(out.junitOut, toJunit(verdict.tree, undefined, identity));
  if (out.github) {
    for (const a of annotations(verdict.tree)) ctx.stdout.write(a + '\n');
    if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, stepSummary(verdict.tree, verdict.headline, outcome.runDir, identity));
  }
  ctx.stdout.write(renderSummary(verdict.tree, verdict.headline, exitCode, outcome.runDir, ctx.stdout.isTTY === true, identity));
  if (outcome.source?.changes) ctx.stdout.write(`tested with the working tree's uncommitted changes:\n${outcome.source.changes.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
}
