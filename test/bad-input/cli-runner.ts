// Run the real CLI as a child process, the way a user does, and watch it.
import { execa, type ResultPromise } from 'execa';
import { availableParallelism } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const root = new URL('../../', import.meta.url).pathname;

export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
  return execa(process.execPath, ['--import', 'tsx', 'orchestrator/cli.ts', ...args], { cwd: root, env: { ...env, FORCE_COLOR: '0' }, reject: false, all: true });
}

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const r = await startCli(args, env);
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The CLI with a deadline: a regression that hangs fails the test (timedOut) instead of stalling the suite. */
export async function runCliWithin(timeoutMs: number, args: string[], env: Record<string, string> = {}): Promise<CliRun & { timedOut: boolean }> {
  const r = await execa(process.execPath, ['--import', 'tsx', 'orchestrator/cli.ts', ...args], {
    cwd: root, env: { ...env, FORCE_COLOR: '0' }, reject: false, timeout: timeoutMs, forceKillAfterDelay: 2000,
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), timedOut: r.timedOut };
}

/** Resolves once the child's output contains the pattern. */
export function waitForOutput(child: ResultPromise<{ reject: false; all: true }>, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = '';
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.all?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
}

/** Processes whose command line mentions text (other than pgrep itself). */
export function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return [];
  }
}

export const jobs = String(availableParallelism() + 1);
export const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
