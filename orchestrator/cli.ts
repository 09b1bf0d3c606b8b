// vm-test's command line: yargs command modules, and the one place where an error becomes an exit code.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { bisectCommand, bisectRunCommand } from './commands/bisect-command.ts';
import { bundleCommand } from './commands/bundle-command.ts';
import type { CliContext } from './commands/context.ts';
import { doctorCommand } from './commands/doctor-command.ts';
import { execCommand, shellCommand } from './commands/exec-command.ts';
import { mutateCommand } from './commands/mutate-command.ts';
import { genTestsCommand } from './commands/gen-tests-command.ts';
import { matrixCommand } from './commands/matrix-command.ts';
import { parseCommand } from './commands/parse-command.ts';
import { runCommand } from './commands/run-command.ts';
import { killAllChildren } from './exec/exec-port.ts';
import { EXIT, VmTestError, describeFailure, exitCodeFor } from './outcome.ts';

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let exitCode = 0;
  let runDir: string | undefined;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    process.stderr.write(interrupts === 1 ? '\nvm-test: interrupted, stopping child processes (Ctrl-C again to force)\n' : '\nvm-test: forced exit\n');
    controller.abort();
    if (interrupts > 1) {
      killAllChildren();
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  // A closed pipe (vm-test ... | head) ends the output, not the process with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    setExitCode: (code) => (exitCode = code),
    setRunDir: (dir) => (runDir = dir),
  };
  try {
    await yargs(argv)
      .scriptName('vm-test')
      .command(runCommand(ctx))
      .command(parseCommand(ctx))
      .command(doctorCommand(ctx))
      .command(bundleCommand(ctx))
      .command(genTestsCommand(ctx))
      .command(matrixCommand(ctx))
      .command(bisectCommand(ctx))
      .command(bisectRunCommand(ctx))
      .command(execCommand(ctx))
      .command(shellCommand(ctx))
      .command(mutateCommand(ctx))
      // vm-test exec [options] -- CMD ARGS: what follows -- is the guest's command, not ours.
      .parserConfiguration({ 'populate--': true })
      .strict()
      .help()
      .version(false)
      .fail((message, error) => {
        throw error ?? new VmTestError('usage', message);
      })
      .parseAsync();
  } catch (error) {
    if (controller.signal.aborted) {
      exitCode = EXIT.interrupted;
      process.stderr.write(`vm-test: interrupted${runDir ? `; logs and partial results are in ${runDir}` : ''}\n`);
    } else if (error instanceof VmTestError) {
      exitCode = exitCodeFor(error.kind);
      const lines = describeFailure(error.kind, error.message, error.evidence, runDir);
      process.stderr.write(lines.join('\n') + '\n');
      if (runDir) await writeFile(join(runDir, 'error.txt'), lines.join('\n') + '\n').catch(() => {});
    } else {
      exitCode = EXIT.infra;
      process.stderr.write(`vm-test: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (runDir) process.stderr.write(`  run directory: ${runDir}\n`);
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  return exitCode;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  process.exitCode = await main(hideBin(process.argv));
}
