// Test helpers: temporary directories, a fake exec port, and a tiny real git repository.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createExecaPort, type ExecPort, type ExecRequest, type ExecResult } from '../orchestrator/exec/exec-port.ts';

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
