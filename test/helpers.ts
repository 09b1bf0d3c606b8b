// Test helpers: temporary directories, a fake exec port, and a tiny real git repository.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createExecaPort, type ExecPort, type ExecRequest, type ExecResult } from '../orchestrator/exec/exec-port.ts';
import { main } from '../orchestrator/cli.ts';
import type { CliContext, ResultCommand } from '../orchestrator/commands/context.ts';

export const realExec: ExecPort = createExecaPort();

export async function tempDir(prefix = 'vm-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export function fakeResult(partial: Partial<ExecResult> = {}): ExecResult {
  return { command: 'fake', exitCode: 0, signal: undefined, timedOut: false, aborted: false, durationMs: 1, tail: [], stdout: '', stderr: '', ...partial };
}

/** A fake port that records requests and answers from a handler. */
export function fakeExec(handler: (req: ExecRequest) => Partial<ExecResult> | undefined = () => undefined): ExecPort & { calls: ExecRequest[] } {
  const calls: ExecRequest[] = [];
  return {
    calls,
    async run(req) {
      calls.push(req);
      const partial = handler(req) ?? {};
      for (const line of (partial.stdout ?? '').split('\n').filter(Boolean)) req.onLine?.(line, 'stdout');
      return fakeResult(partial);
    },
  };
}

export async function sh(cwd: string, command: string, args: string[]): Promise<string> {
  const r = await realExec.run({ command, args, cwd, env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  if (r.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/** main() with these commands, and what it wrote. */
export async function runMain(argv: string[], commands: ((ctx: CliContext) => ResultCommand<object>)[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv, commands), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
