// `vm-test bpf-ci`: what the BPF CI runs, locally: every selftests runner of the full build, with the tree's lists and ours.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { runBpfCi } from '../bpf-ci/bpf-ci.ts';
import { runInShards } from '../bpf-ci/in-shards.ts';
import { readKnownFailures } from '../bpf-ci/known-failures.ts';
import { VmTestError } from '../outcome.ts';
import { bpfCiJson, bpfCiJunit, bpfCiReport, bpfCiSummary, bpfCiText, mergeBpfCi, type BpfCiReport } from '../report/bpf-ci-report.ts';
import { shardLabel } from '../bpf-ci/bpf-ci-shard.ts';
import { parseShard } from '../mutate/mutants.ts';
import { checkOutputPaths } from '../plan/run-plan.ts';
import { CI_WATCHDOG_SEC, RUNNERS, parseRunners, type RunnerName } from '../build/selftests-runners.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { describePlan, planRun } from '../plan/run-plan.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { runDirName, runPipeline } from '../run.ts';
import { commandEvents, done, repoRoot, type CliContext, type ResultCommand } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions, planDeps } from './run-command.ts';

/** Under TCG a whole runner takes tens of minutes: each gets 90 minutes, the VM six hours (each runner is its own test). */
export const BPF_CI_TEST_TIMEOUT_SEC = 5400;
export const BPF_CI_TIMEOUT_SEC = 6 * 3600;
/**
 * Runners that need longer than BPF_CI_TEST_TIMEOUT_SEC here. test_maps forks 100 tasks 36 times (test_map_parallel and
 * test_map_stress, with and without preallocation), each walking and updating maps of 10,000 entries: it took 61.8
 * minutes of the guest's clock under TCG here (7.2.6, 2026-12-07, the other side's guest and for 18 minutes the unit
 * tests beside it), so twice that.
 */
export const BPF_CI_RUNNER_TIMEOUTS_SEC: Readonly<Partial<Record<RunnerName, number>>> = { test_maps: 2 * 3600 };
/**
 * The guest's memory: test_verifier's "junk insn" programs made 7.2.6's verifier allocate the guest's 1 GiB away
 * (the OOM killer ended test_verifier at #435, measured 2026-12-07); with 4 GiB it passed whole (791/791).
 */
export const BPF_CI_MEMORY_MB = 4096;

function withBpfCiOptions<T>(yargs: Argv<T>) {
  return withRunOptions(yargs)
    .option('runners', { type: 'string', default: RUNNERS.join(','), describe: `the selftests runners to build and run, as the BPF CI's matrix does (${RUNNERS.join(', ')})` })
    .option('watchdog', { alias: 'w', type: 'number', default: CI_WATCHDOG_SEC, describe: 'test_progs -w: a test still running after this many seconds is stopped and failed' })
    .option('timeout', { type: 'number', default: BPF_CI_TIMEOUT_SEC, describe: 'seconds before the whole VM is stopped' })
    .option('test-timeout', { type: 'number', default: undefined, describe: `seconds before one runner is killed (default ${BPF_CI_TEST_TIMEOUT_SEC}; ${Object.entries(BPF_CI_RUNNER_TIMEOUTS_SEC).map(([name, sec]) => `${name} ${sec}`).join(', ')}); given, it is every runner's` })
    .option('memory', { type: 'number', default: BPF_CI_MEMORY_MB, describe: 'guest memory in MiB (test_verifier needs more than 1 GiB)' })
    .option('guest-tests', { type: 'string', default: 'none', describe: 'vm-test\'s own guest suites too (a glob; none by default: the BPF CI runs the selftests only)' })
    .option('base', { type: 'boolean', default: true, describe: 'run the same on the series\' base (the tree without it) and report the difference; --no-base runs the series only' })
    .option('base-again', { type: 'boolean', default: false, describe: 'run the base even when its verdict for the same kernel, runners, lists and VM is kept (a difference in doubt: a flaky failure or kernel report); the new verdict is kept' })
    .option('shard', { type: 'string', describe: 'run the deterministic slice i/n: the test_progs tests whose names hash to it and the whole runners that do, on the series and its base (join the parts with --merge)' })
    .option('workers', { type: 'number', describe: 'test_progs --workers=N (its -j): N test processes in the guest, as the BPF CI\'s parallel jobs run; give the guest the vCPUs (--cpus)' })
    .option('merge', { type: 'string', array: true, describe: 'join the bpf-ci.json files of shards 1/n..n/n into the unsharded run\'s report; runs nothing' })
    .option('in-shards', { type: 'number', describe: 'run the whole thing as shards 1/N..N/N one after another in one run directory, each kept as it ends, then merged: the same command with --run-dir DIR resumes an interrupted run from the shards it has not finished' });
}

type BpfCiArgs = Awaited<ReturnType<typeof withBpfCiOptions>['argv']>;

export function bpfCiCommand(ctx: CliContext): ResultCommand<BpfCiArgs> {
  return {
    command: 'bpf-ci',
    describe: 'what the BPF CI runs: test_progs, test_progs-no_alu32, test_progs-cpuv4, test_verifier and test_maps from the tree\'s full selftests build, minus its DENYLIST files and vm-test\'s',
    builder: (y) => withBpfCiOptions(y) as Argv<BpfCiArgs>,
    handler: async (argv) => {
      if (argv.merge?.length) return mergeShards(ctx, argv.merge, argv);
      const shard = argv.shard === undefined ? undefined : parseShard(argv.shard);
      if (shard && 'error' in shard) throw new VmTestError('usage', shard.error);
      const inShards = argv['in-shards'];
      if (inShards !== undefined && (!Number.isInteger(inShards) || inShards < 2)) throw new VmTestError('usage', `--in-shards ${inShards}: expected a whole number of shards, 2 or more`);
      if (inShards !== undefined && shard) throw new VmTestError('usage', '--in-shards runs every shard itself: without --shard');
      if (inShards !== undefined && !argv.base) throw new VmTestError('usage', '--in-shards merges shards of a series against its base: without --no-base');
      if (argv['base-again'] && !argv.base) throw new VmTestError('usage', '--base-again runs the base again: without --no-base');
      // --test-timeout given is every runner's limit; else each runner has its default.
      const limits = argv['test-timeout'] === undefined ? { testTimeout: BPF_CI_TEST_TIMEOUT_SEC, runnerTimeouts: BPF_CI_RUNNER_TIMEOUTS_SEC } : {};
      const options = { ...runOptionsFrom(argv as never), ...limits, runners: parseRunners(argv.runners), watchdogSec: argv.watchdog, fullSelftests: true, ...(shard ? { shard } : {}), ...(argv.workers !== undefined ? { workers: argv.workers } : {}) };
      const planned = await planRun(options, repoRoot(), process.cwd(), process.env, availableParallelism(), planDeps(ctx));
      // Read before any work: a malformed entry stops the run naming its line.
      const known = await readKnownFailures(repoRoot());
      if (argv.base && !planned.series) throw new VmTestError('usage', 'vm-test bpf-ci compares a series with its base: without a series (--no-series, --patches 0) there is nothing to compare; add --no-base to run the runners on the tree as it is');
      const top = planned.runDir ?? join(planned.cache.runs, `${runDirName(new Date(), planned)}-bpf-ci${shard ? `-shard${shard.index}of${shard.count}` : inShards ? `-in${inShards}shards` : ''}`);
      // The series and its base in directories of their own; the base in a build directory of its own, so each stays warm.
      const series = Object.freeze({ ...planned, runDir: argv.base ? join(top, 'series') : top });
      const base = Object.freeze({ ...planned, series: undefined, runDir: join(top, 'base'), buildSlot: 'base' });
      if (argv['dry-run']) {
        ctx.stdout.write(describePlan(series) + (argv.base ? `\nbase:       the same on the tree without the series, in ${base.runDir} ${argv['base-again'] ? '(run again even where a verdict of it is kept: --base-again; the new one is kept)' : ' (its verdict kept by what ran)'}` : '')
          + (inShards ? `\nin shards:  1/${inShards} .. ${inShards}/${inShards} one after another, each in ${join(top, `shard<i>of${inShards}`)}, kept as it ends, then merged into ${join(top, 'bpf-ci.json')}; --run-dir ${top} resumes` : '') + '\n');
        return done();
      }
      const github = process.env.GITHUB_ACTIONS === 'true';
      const events = commandEvents(ctx, createTerminalReporter(ctx.stdout, { verboseConsole: argv['verbose-console'], github }));
      ctx.setRunDir(top);
      if (inShards) {
        const merged = await runInShards(inShards, top, (index) => planRun({ ...options, shard: { index, count: inShards } }, repoRoot(), process.cwd(), process.env, availableParallelism(), planDeps(ctx)), known, { exec: createExecaPort(), events, ...(ctx.signal ? { signal: ctx.signal } : {}), baseAgain: argv['base-again'] });
        return { type: 'ended', kind: merged.kind, report: (exitCode) => writeReports(ctx, merged, exitCode, { dir: top, json: planned.jsonOut, junit: planned.junitOut }) };
      }
      if (!argv.base) {
        const outcome = await runPipeline(series, { exec: createExecaPort(), events, signal: ctx.signal });
        return { type: 'ended', kind: outcome.kind, report: (exitCode) => reportOutcome(ctx, outcome, { jsonOut: series.jsonOut, junitOut: series.junitOut, kcidbOut: series.kcidbOut, github }, exitCode) };
      }
      const result = await runBpfCi({ series: { ...series, jsonOut: undefined, junitOut: undefined }, base }, { exec: createExecaPort(), events, signal: ctx.signal, runDir: top, baseAgain: argv['base-again'] });
      const report = bpfCiReport(result, planned.shard ? shardLabel(planned.shard) : undefined, known);
      return { type: 'ended', kind: report.kind, report: (exitCode) => writeReports(ctx, report, exitCode, { dir: top, json: planned.jsonOut, junit: planned.junitOut }) };
    },
  };
}

/** bpf-ci.json and bpf-ci.junit.xml (in the run directory, and where --json/--junit say), the step summary, the text. */
async function writeReports(ctx: CliContext, report: BpfCiReport, exitCode: number, out: { dir?: string; json?: string | undefined; junit?: string | undefined }): Promise<void> {
  if (out.dir) {
    await writeFile(join(out.dir, 'bpf-ci.json'), bpfCiJson(report, exitCode));
    await writeFile(join(out.dir, 'bpf-ci.junit.xml'), bpfCiJunit(report));
  }
  if (out.json) await writeFile(out.json, bpfCiJson(report, exitCode));
  if (out.junit) await writeFile(out.junit, bpfCiJunit(report));
  if (process.env.GITHUB_ACTIONS === 'true' && process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, bpfCiSummary(report, exitCode));
  ctx.stdout.write(bpfCiText(report, exitCode));
}

/** --merge: the shards' bpf-ci.json files as one report, judged again from the joined difference. */
async function mergeShards(ctx: CliContext, files: readonly string[], argv: { json?: string | undefined; junit?: string | undefined }) {
  const paths = await checkOutputPaths({ json: argv.json, junit: argv.junit }, process.cwd(), process.env);
  const parts: { file: string; report: BpfCiReport }[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new VmTestError('usage', `--merge ${file}: no such file`, { file });
    });
    let report: BpfCiReport;
    try {
      report = JSON.parse(text) as BpfCiReport;
    } catch (error) {
      throw new VmTestError('usage', `--merge ${file}: not a bpf-ci.json (${(error as Error).message})`, { file });
    }
    if (typeof report !== 'object' || report === null || typeof report.kind !== 'string' || !report.series) throw new VmTestError('usage', `--merge ${file}: not a bpf-ci.json (no kind or series)`, { file });
    parts.push({ file, report });
  }
  const merged = mergeBpfCi(parts);
  if ('error' in merged) throw new VmTestError('usage', `--merge: ${merged.error}`, merged.file ? { file: merged.file } : {});
  return { type: 'ended' as const, kind: merged.kind, report: (exitCode: number) => writeReports(ctx, merged, exitCode, { json: paths.jsonOut, junit: paths.junitOut }) };
}
