// vm-test's command line: yargs command modules, and the one place where how a command ended becomes an exit code.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { bisectCommand, bisectRunCommand } from './commands/bisect-command.ts';
import { bundleCommand } from './commands/bundle-command.ts';
import { compareCommand } from './commands/compare-command.ts';
import { bpfCiCommand } from './commands/bpf-ci-command.ts';
import type { CliContext, CommandEnd, ResultCommand } from './commands/context.ts';
import type { Writer } from './report/terminal-report.ts';
import { doctorCommand } from './commands/doctor-command.ts';
import { execCommand, shellCommand } from './commands/exec-command.ts';
import { mutateCommand } from './commands/mutate-command.ts';
import { genTestsCommand } from './commands/gen-tests-command.ts';
import { matrixCommand } from './commands/matrix-command.ts';
import { mcpCommand } from './commands/mcp-command.ts';
import { parseCommand } from './commands/parse-command.ts';
import { reportCommand } from './commands/report-command.ts';
import { runCommand } from './commands/run-command.ts';
import { killAllChildren } from './exec/exec-port.ts';
import { VmTestError, describeFailure, describeInternalError, exitCodeFor, type CommandResult, type OutcomeKind, type StopSignal } from './outcome.ts';

// Each command has its own argument type.
export type CommandFactory = (ctx: CliContext) => ResultCommand<any>;

/** Every command; each returns how it ended. */
export const COMMANDS: readonly CommandFactory[] = [
  runCommand, parseCommand, reportCommand, doctorCommand, bundleCommand, genTestsCommand, matrixCommand,
  bisectCommand, bisectRunCommand, execCommand, shellCommand, mutateCommand, bpfCiCommand, compareCommand,
  // Its tools are command lines run through runCommandLine, so their exit codes are mapped here too.
  (ctx) => mcpCommand(ctx, runCommandLine),
];

/** After a signal, the run has this long to stop its children and keep its logs; then the CLI exits anyway. */
export const STOP_GRACE_MS = 15_000;

/** How a command ended; error: what stopped it, for the CLI to print. */
export interface Ended {
  end: CommandEnd;
  error?: unknown;
  /** The command's result for an ending it did not return (its report failing). */
  stopped?: (kind: OutcomeKind) => CommandResult;
}

/** What stopped a command: a signal, a VmTestError's own ending, or (anything else) a bug. */
function stopKind(error: unknown, signal: AbortSignal): OutcomeKind {
  if (signal.aborted) return 'interrupted';
  return error instanceof VmTestError ? error.kind : 'infra';
}

/** The yargs module of a command: what its handler returns, or what stopped it, goes to onEnd. */
export function toYargs<A>(command: ResultCommand<A>, signal: AbortSignal, onEnd: (ended: Ended) => void): CommandModule<object, A> {
  const { handler, stopped, ...module } = command;
  const stoppedAs = (kind: OutcomeKind): CommandResult => stopped?.(kind) ?? { type: 'ended', kind };
  return {
    ...module,
    handler: async (argv) => {
      try {
        onEnd({ end: await handler(argv), stopped: stoppedAs });
      } catch (error) {
        onEnd({ end: stoppedAs(stopKind(error, signal)), error, stopped: stoppedAs });
      }
    },
  };
}

/** The lines for what stopped a command: a signal, a VmTestError with its evidence, or a bug (its stack kept, not shown). */
async function reportStop(stderr: Writer, error: unknown, interrupted: boolean, exitCode: number, runDir: string | undefined): Promise<void> {
  if (interrupted) {
    stderr.write(`vm-test: interrupted${runDir ? `; logs and partial results are in ${runDir}` : ''}\n`);
  } else if (error instanceof VmTestError) {
    const lines = describeFailure(error.kind, error.message, error.evidence, runDir, exitCode);
    stderr.write(lines.join('\n') + '\n');
    if (runDir) await writeFile(join(runDir, 'error.txt'), lines.join('\n') + '\n').catch(() => {});
  } else {
    const report = describeInternalError(error, runDir, exitCode, !!process.env.VM_TEST_DEBUG);
    stderr.write(report.stderr.join('\n') + '\n');
    if (runDir) await appendFile(join(runDir, 'error.txt'), report.file.join('\n') + '\n').catch(() => {});
  }
}

/** Where a command line runs: the process's own streams and signals (main), or one MCP tool call's (vm-test mcp). */
export interface CommandLineIo extends Pick<CliContext, 'stdout' | 'stderr' | 'signal' | 'observe'> {
  /** The signal that stopped it, once one did: an interrupted command exits 128 + its number. */
  stoppedBy?: () => StopSignal | undefined;
  setRunDir?: (dir: string) => void;
}

/** How a command line ended: the command's result, the exit code the CLI maps it to, and its run directory if it made one. */
export interface CommandLineEnd {
  result: CommandResult;
  exitCode: number;
  runDir?: string;
}

/** One command line, parsed and run, its ending mapped to the exit code, what stopped it printed, its report written. */
export async function runCommandLine(argv: string[], commands: readonly CommandFactory[], io: CommandLineIo): Promise<CommandLineEnd> {
  let runDir: string | undefined;
  let ended: Ended | undefined;
  const ctx: CliContext = {
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal,
    ...(io.observe ? { observe: io.observe } : {}),
    setRunDir: (dir) => {
      runDir = dir;
      io.setRunDir?.(dir);
    },
  };
  let cli = yargs(argv).scriptName('vm-test');
  const built = commands.map((command) => command(ctx));
  for (const command of built) cli = cli.command(toYargs(command, io.signal, (e) => (ended = e)));
  try {
    await cli
      // vm-test exec [options] -- CMD ARGS: what follows -- is the guest's command, not ours.
      .parserConfiguration({ 'populate--': true })
      .strict()
      .help()
      .version(false)
      // --help returns here like any command; the exit code is decided below, not by yargs.
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new VmTestError('usage', message);
      })
      .parseAsync();
  } catch (error) {
    // Outside any command's handler: yargs' own usage errors, read as the command named reads a stop
    // (bisect-run's is 128, so that git bisect run aborts instead of calling the commit bad).
    const kind = stopKind(error, io.signal);
    const named = built.find((c) => [c.command].flat().some((spec) => spec?.split(' ')[0] === argv[0]));
    ended = { end: named?.stopped?.(kind) ?? { type: 'ended', kind }, error };
  }
  let end: CommandEnd = ended?.end ?? { type: 'done' };
  let code = exitCodeFor(end, io.stoppedBy?.());
  if (ended && 'error' in ended) await reportStop(io.stderr, ended.error, io.signal.aborted, code, runDir);
  try {
    await end.report?.(code);
  } catch (error) {
    // What it printed stays; the code is now that of what stopped it.
    const kind = stopKind(error, io.signal);
    end = ended?.stopped?.(kind) ?? { type: 'ended', kind };
    code = exitCodeFor(end, io.stoppedBy?.());
    await reportStop(io.stderr, error, io.signal.aborted, code, runDir);
  }
  const { report: _report, ...result } = end;
  return { result, exitCode: code, ...(runDir ? { runDir } : {}) };
}

export async function main(argv: string[], commands: readonly CommandFactory[] = COMMANDS): Promise<number> {
  const controller = new AbortController();
  let stoppedBy: StopSignal | undefined;
  let runDir: string | undefined;
  const interruptedCode = () => exitCodeFor({ type: 'ended', kind: 'interrupted' }, stoppedBy);
  const forceExit = (why: string) => {
    process.stderr.write(`\nvm-test: ${why}${runDir ? `; logs are in ${runDir}` : ''}\n`);
    killAllChildren();
    process.exit(interruptedCode());
  };
  // SIGTERM stops a run as Ctrl-C does: children stopped, logs kept; a second signal, or the grace period, forces it.
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy) forceExit('forced exit');
    stoppedBy = signal;
    process.stderr.write(signal === 'SIGINT'
      ? '\nvm-test: interrupted, stopping child processes (Ctrl-C again to force)\n'
      : '\nvm-test: SIGTERM, stopping child processes (a second signal forces)\n');
    controller.abort();
    setTimeout(() => forceExit(`still running ${STOP_GRACE_MS / 1000} s after ${signal}: forced exit`), STOP_GRACE_MS).unref();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  // A closed pipe (vm-test ... | head) ends the output, not the process with a stack trace.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.stderr.write(`vm-test: cannot write to stdout: ${error.message}\n`);
  };
  process.stdout.on('error', onStdoutError);
  try {
    const ended = await runCommandLine(argv, commands, {
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
      stoppedBy: () => stoppedBy,
      setRunDir: (dir) => (runDir = dir),
    });
    return ended.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.stdout.off('error', onStdoutError);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  // A throw outside any command's await (a stray callback, a promise nobody awaited) is a bug too: one line, exit 15.
  const onBug = (error: unknown) => {
    const code = exitCodeFor({ type: 'ended', kind: 'infra' });
    process.stderr.write(describeInternalError(error, undefined, code, !!process.env.VM_TEST_DEBUG).stderr.join('\n') + '\n');
    killAllChildren();
    process.exit(code);
  };
  process.on('uncaughtException', onBug);
  process.on('unhandledRejection', onBug);
  process.exitCode = await main(hideBin(process.argv));
}
