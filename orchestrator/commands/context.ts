// What every command gets from the CLI: output streams, the Ctrl-C signal, and how to set the exit code.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CliContext {
  stdout: { write(text: string): void; isTTY?: boolean };
  stderr: { write(text: string): void; isTTY?: boolean };
  signal: AbortSignal;
  setExitCode(code: number): void;
  /** The run directory, once known, so that an error report can point at it. */
  setRunDir(dir: string): void;
}

export function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}
