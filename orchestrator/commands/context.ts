// What every command gets from the CLI (output streams, the stop signal), and what it gives back: how it ended.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { RunEvents, type RunEvent } from '../events.ts';
import type { CommandResult, OutcomeKind } from '../outcome.ts';

export interface CliContext {
  stdout: { write(text: string): void; isTTY?: boolean };
  stderr: { write(text: string): void; isTTY?: boolean };
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  /** The run directory, once known, so that an error report can point at it. */
  setRunDir(dir: string): void;
  /** Another subscriber to the engine's events, beside the command's own reporter (vm-test mcp's notifications). */
  observe?: (event: RunEvent) => void;
}

/** The engine's events for one command: its own reporter, and whoever else the CLI asked to observe them. */
export function commandEvents(ctx: Pick<CliContext, 'observe'>, reporter: (event: RunEvent) => void): RunEvents {
  const events = new RunEvents();
  events.subscribe(reporter);
  if (ctx.observe) events.subscribe(ctx.observe);
  return events;
}

/** How a command ended, and what it prints once the CLI has mapped that to the exit code (a summary that names it, results.json). */
export type CommandEnd = CommandResult & { report?: (exitCode: number) => Promise<void> | void };

/** A yargs command module whose handler returns how the command ended, instead of setting an exit code. */
export interface ResultCommand<A> extends Omit<CommandModule<object, A>, 'handler'> {
  handler(argv: ArgumentsCamelCase<A>): Promise<CommandEnd>;
  /** This command's result when a VmTestError, a signal or a bug stopped it; without it, that ending's own code. */
  stopped?(kind: OutcomeKind): CommandResult;
}

export const done = (): CommandEnd => ({ type: 'done' });

export function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}
