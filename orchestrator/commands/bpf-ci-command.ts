// `vm-test bpf-ci`: what the BPF CI runs, locally: every selftests runner of the full build, with the tree's lists and ours.
import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { CI_WATCHDOG_SEC, RUNNERS, parseRunners } from '../build/selftests-runners.ts';
import { RunEvents } from '../events.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { describePlan, planRun } from '../plan/run-plan.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { runPipeline } from '../run.ts';
import { done, repoRoot, type CliContext, type ResultCommand } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions } from './run-command.ts';

/** Under TCG a whole runner takes tens of minutes: each gets 90 minutes, the VM six hours (each runner is its own test). */
export const BPF_CI_TEST_TIMEOUT_SEC = 5400;
export const BPF_CI_TIMEOUT_SEC = 6 * 3600;

function withBpfCiOptions<T>(yargs: Argv<T>) {
  return withRunOptions(yargs)
    .option('runners', { type: 'string', default: RUNNERS.join(','), describe: `the selftests runners to build and run, as the BPF CI's matrix does (${RUNNERS.join(', ')})` })
    .option('watchdog', { alias: 'w', type: 'number', default: CI_WATCHDOG_SEC, describe: 'test_progs -w: a test still running after this many seconds is stopped and failed' })
    .option('timeout', { type: 'number', default: BPF_CI_TIMEOUT_SEC, describe: 'seconds before the whole VM is stopped' })
    .option('test-timeout', { type: 'number', default: BPF_CI_TEST_TIMEOUT_SEC, describe: 'seconds before one runner is killed' })
    .option('guest-tests', { type: 'string', default: 'none', describe: 'vm-test\'s own guest suites too (a glob; none by default: the BPF CI runs the selftests only)' });
}

type BpfCiArgs = Awaited<ReturnType<typeof withBpfCiOptions>['argv']>;

export function bpfCiCommand(ctx: CliContext): ResultCommand<BpfCiArgs> {
  return {
    command: 'bpf-ci',
    describe: 'what the BPF CI runs: test_progs, test_progs-no_alu32, test_progs-cpuv4, test_verifier and test_maps from the tree\'s full selftests build, minus its DENYLIST files and vm-test\'s',
    builder: (y) => withBpfCiOptions(y) as Argv<BpfCiArgs>,
    handler: async (argv) => {
      const options = { ...runOptionsFrom(argv as never), runners: parseRunners(argv.runners), watchdogSec: argv.watchdog, fullSelftests: true };
      const plan = await planRun(options, repoRoot(), process.cwd(), process.env, availableParallelism());
      if (argv['dry-run']) {
        ctx.stdout.write(describePlan(plan) + '\n');
        return done();
      }
      const events = new RunEvents();
      const github = process.env.GITHUB_ACTIONS === 'true';
      events.subscribe(createTerminalReporter(ctx.stdout, { verboseConsole: argv['verbose-console'], github }));
      const outcome = await runPipeline(plan, { exec: createExecaPort(), events, signal: ctx.signal }, (dir) => ctx.setRunDir(dir));
      return { type: 'ended', kind: outcome.kind, report: (exitCode) => reportOutcome(ctx, outcome, { jsonOut: plan.jsonOut, junitOut: plan.junitOut, github }, exitCode) };
    },
  };
}
