// `vm-test exec -- CMD`: the kernel a run would build, booted to run one command, its output streamed live.
// `vm-test shell`: the same boot, with an interactive shell on the terminal.
import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import type { Argv } from 'yargs';
import { createExecaPort } from '../exec/exec-port.ts';
import { VmTestError, type CommandResult, type OutcomeKind } from '../outcome.ts';
import { describePlan, planRun, type GuestJob, type RunPlan } from '../plan/run-plan.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { runPipeline, type RunOutcome } from '../run.ts';
import { commandEvents, done, repoRoot, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions, planDeps } from './run-command.ts';

type RunArgs = Parameters<typeof runOptionsFrom>[0];
type ExecArgs = RunArgs & { '--'?: (string | number)[] };

/** The current directory is shared read-write with the guest, except the root itself. */
function sharedCwd(): string | undefined {
  const cwd = realpathSync(process.cwd());
  return cwd === '/' ? undefined : cwd;
}

/** The plan, and (without --dry-run) the run; a plan error is thrown, and the CLI reads it with exec's codes. */
async function boot(ctx: CliContext, argv: ExecArgs, job: GuestJob, quietDuringVm: boolean): Promise<{ plan: RunPlan; outcome?: RunOutcome }> {
  const plan = await planRun({ ...runOptionsFrom(argv), job }, repoRoot(), process.cwd(), process.env, availableParallelism(), planDeps(ctx));
  if (argv['dry-run']) return { plan };
  // Our own lines go to stderr: the command's stdout stays its own (vm-test exec -- cat x > y).
  const reporter = createTerminalReporter(ctx.stderr);
  let inVm = false;
  const events = commandEvents(ctx, (e) => {
    if (e.type === 'guest-output') {
      (e.stream === 'stdout' ? ctx.stdout : ctx.stderr).write(e.line + '\n');
      return;
    }
    if (e.type === 'stage-start' && e.stage === 'vm' && /^booting/.test(e.detail ?? '')) inVm = true;
    if (e.type === 'stage-end' && e.stage === 'vm') inVm = false;
    // A shell owns the terminal while the VM runs; a gdb line must still be seen.
    if (quietDuringVm && inVm && !(e.type === 'info' && e.message.startsWith('gdb:'))) return;
    if (e.type === 'test-start' || e.type === 'test-end') return;
    reporter(e);
  });
  const outcome = await runPipeline(plan, { exec: createExecaPort(), events, signal: ctx.signal }, (dir) => ctx.setRunDir(dir));
  return { plan, outcome };
}

function finish(ctx: CliContext, what: string, { plan, outcome }: Awaited<ReturnType<typeof boot>>): CommandEnd {
  if (!outcome) {
    ctx.stdout.write(describePlan(plan) + '\n');
    return done();
  }
  const guestExit = outcome.tested?.guestExit;
  return {
    type: 'exec',
    kind: outcome.kind,
    ...(guestExit !== undefined ? { guestExit } : {}),
    report: async (code) => {
      // results.json and the error evidence in the run directory, as for a run; nothing on stdout.
      await reportOutcome({ ...ctx, stdout: { write: () => {} } }, outcome, { github: false }, code);
      if (outcome.kind === 'passed') {
        if (what === 'exec') ctx.stderr.write(`vm-test exec: the command exited ${guestExit} (run directory: ${outcome.runDir})\n`);
      } else {
        ctx.stderr.write(`vm-test ${what}: ${outcome.kind}: ${outcome.headline.split('\n')[0]}${guestExit !== undefined ? ` (the command exited ${guestExit})` : ''}\nvm-test ${what}: exit ${code}; run directory: ${outcome.runDir}\n`);
      }
    },
  };
}

/** exec and shell read what stopped them (a plan error, a signal, a bug) with exec's own codes. */
const stoppedExec = (kind: OutcomeKind): CommandResult => ({ type: 'exec', kind });

export function execCommand(ctx: CliContext): ResultCommand<ExecArgs> {
  return {
    command: 'exec',
    describe: 'boot the kernel a run would build and run one command in it: vm-test exec [options] -- CMD [ARGS...]',
    builder: (y) => withRunOptions(y) as unknown as Argv<ExecArgs>,
    handler: async (argv) => {
      const command = (argv['--'] ?? []).map(String);
      if (command.length === 0) throw new VmTestError('usage', 'exec needs a command: vm-test exec [options] -- CMD [ARGS...]');
      return finish(ctx, 'exec', await boot(ctx, argv, { kind: 'exec', argv: command, cwd: sharedCwd() }, false));
    },
    stopped: stoppedExec,
  };
}

export function shellCommand(ctx: CliContext): ResultCommand<ExecArgs> {
  return {
    command: 'shell',
    describe: 'boot the kernel a run would build, with an interactive shell on this terminal (exit or Ctrl-D powers off)',
    builder: (y) => withRunOptions(y) as unknown as Argv<ExecArgs>,
    handler: async (argv) => {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        // Bad usage, before anything is planned: vm-test's own code 2, not exec's (README).
        ctx.stderr.write('vm-test shell: needs a terminal (stdin and stdout are not a TTY); for one command without a terminal, use vm-test exec -- CMD\n');
        return { type: 'ended', kind: 'usage' };
      }
      const job: GuestJob = { kind: 'shell', rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 };
      return finish(ctx, 'shell', await boot(ctx, argv, job, true));
    },
    stopped: stoppedExec,
  };
}
