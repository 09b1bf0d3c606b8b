// `vm-test exec -- CMD`: the kernel a run would build, booted to run one command, its output streamed live.
// `vm-test shell`: the same boot, with an interactive shell on the terminal.
import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { RunEvents } from '../events.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { VmTestError, type OutcomeKind } from '../outcome.ts';
import { describePlan, planRun, type GuestJob, type RunPlan } from '../plan/run-plan.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { runPipeline, type RunOutcome } from '../run.ts';
import { repoRoot, type CliContext } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions } from './run-command.ts';

/**
 * vm-test exec exits with the command's own code. Its own endings use codes a command rarely does
 * (README): they say so on stderr too, since a command may in principle exit with any of them.
 */
export const EXEC_EXIT = {
  /** A kernel splat (WARNING, BUG, Oops, stall, ...) or a crash while the command ran. */
  kernelCrash: 250,
  /** The guest never reached init. */
  bootFailure: 251,
  /** The command ran past --test-timeout, or the whole VM past --timeout, or the kernel got stuck. */
  timeout: 252,
  /** No kernel to boot: the series did not apply, a config option dropped, the build failed, a tool or an input is missing. */
  notBooted: 253,
  /** QEMU or the tool itself failed. */
  infra: 254,
  interrupted: 130,
} as const;

export function execExitCode(kind: OutcomeKind, guestExit: number | undefined): number {
  switch (kind) {
    case 'passed':
    case 'testsFailed':
      return guestExit ?? EXEC_EXIT.infra;
    case 'kernelCrash':
      return EXEC_EXIT.kernelCrash;
    case 'bootFailure':
      return EXEC_EXIT.bootFailure;
    case 'timeout':
      return EXEC_EXIT.timeout;
    case 'interrupted':
      return EXEC_EXIT.interrupted;
    case 'vmInfra':
    case 'infra':
      return EXEC_EXIT.infra;
    default:
      return EXEC_EXIT.notBooted;
  }
}

type RunArgs = Parameters<typeof runOptionsFrom>[0];
type ExecArgs = RunArgs & { '--'?: (string | number)[] };

/** The current directory is shared read-write with the guest, except the root itself. */
function sharedCwd(): string | undefined {
  const cwd = realpathSync(process.cwd());
  return cwd === '/' ? undefined : cwd;
}

async function boot(ctx: CliContext, argv: ExecArgs, job: GuestJob, quietDuringVm: boolean): Promise<{ plan: RunPlan; outcome?: RunOutcome } | { error: VmTestError }> {
  let plan: RunPlan;
  try {
    plan = await planRun({ ...runOptionsFrom(argv), job }, repoRoot(), process.cwd(), process.env, availableParallelism());
  } catch (error) {
    if (error instanceof VmTestError) return { error };
    throw error;
  }
  if (argv['dry-run']) return { plan };
  const events = new RunEvents();
  // Our own lines go to stderr: the command's stdout stays its own (vm-test exec -- cat x > y).
  const reporter = createTerminalReporter(ctx.stderr);
  let inVm = false;
  events.subscribe((e) => {
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

function finish(ctx: CliContext, what: string, result: Awaited<ReturnType<typeof boot>>): Promise<void> | void {
  if ('error' in result) {
    const code = execExitCode(result.error.kind, undefined);
    ctx.stderr.write(`vm-test ${what}: ${result.error.message}\nvm-test ${what}: nothing was booted (exit ${code})\n`);
    ctx.setExitCode(code);
    return;
  }
  const { outcome } = result;
  if (!outcome) {
    ctx.stdout.write(describePlan(result.plan) + '\n');
    return;
  }
  const guestExit = outcome.tested?.guestExit;
  const code = execExitCode(outcome.kind, guestExit);
  return (async () => {
    // results.json and the error evidence in the run directory, as for a run; nothing on stdout.
    await reportOutcome({ ...ctx, stdout: { write: () => {} } }, outcome, { github: false });
    if (outcome.kind === 'passed') {
      if (what === 'exec') ctx.stderr.write(`vm-test exec: the command exited ${guestExit} (run directory: ${outcome.runDir})\n`);
    } else {
      ctx.stderr.write(`vm-test ${what}: ${outcome.kind}: ${outcome.headline.split('\n')[0]}${guestExit !== undefined ? ` (the command exited ${guestExit})` : ''}\nvm-test ${what}: exit ${code}; run directory: ${outcome.runDir}\n`);
    }
    ctx.setExitCode(code);
  })();
}

export function execCommand(ctx: CliContext): CommandModule<object, ExecArgs> {
  return {
    command: 'exec',
    describe: 'boot the kernel a run would build and run one command in it: vm-test exec [options] -- CMD [ARGS...]',
    builder: (y) => withRunOptions(y) as unknown as Argv<ExecArgs>,
    handler: async (argv) => {
      const command = (argv['--'] ?? []).map(String);
      if (command.length === 0) {
        ctx.stderr.write('vm-test exec: no command: vm-test exec [options] -- CMD [ARGS...]\n');
        ctx.setExitCode(EXEC_EXIT.notBooted);
        return;
      }
      await finish(ctx, 'exec', await boot(ctx, argv, { kind: 'exec', argv: command, cwd: sharedCwd() }, false));
    },
  };
}

export function shellCommand(ctx: CliContext): CommandModule<object, ExecArgs> {
  return {
    command: 'shell',
    describe: 'boot the kernel a run would build, with an interactive shell on this terminal (exit or Ctrl-D powers off)',
    builder: (y) => withRunOptions(y) as unknown as Argv<ExecArgs>,
    handler: async (argv) => {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        ctx.stderr.write('vm-test shell: needs a terminal (stdin and stdout are not a TTY); for one command without a terminal, use vm-test exec -- CMD\n');
        ctx.setExitCode(2);
        return;
      }
      const job: GuestJob = { kind: 'shell', rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 };
      await finish(ctx, 'shell', await boot(ctx, argv, job, true));
    },
  };
}
