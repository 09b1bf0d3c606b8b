// One injected port for every external process: unit tests pass a fake, the CLI passes execa.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';

export interface ExecRequest {
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
  /** Called for each line of stdout and stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Append stdout and stderr to this file. */
  logFile?: string;
  /** Aborting kills the process (Ctrl-C, a global timeout). */
  signal?: AbortSignal;
  /** Text for stdin, or a stream piped into it (a generated git fast-import stream). */
  input?: string | Readable;
  /** Pipe stdout here, neither captured nor split into lines (a decompressor feeding a parser). */
  stdoutTo?: NodeJS.WritableStream;
  /**
   * The terminal is the process's own (vm-test shell): stdin, stdout and stderr inherited, and no
   * process group of its own, so it stays in the terminal's foreground. Nothing is captured.
   */
  interactive?: boolean;
}

export interface ExecResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** The last lines of stdout+stderr, for error messages. */
  tail: string[];
  stdout: string;
  stderr: string;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

export interface ExecPort {
  run(request: ExecRequest): Promise<ExecResult>;
}

const TAIL_LINES = 60;

/** Children still running, so that an exit of ours can take their process groups down too. */
const liveGroups = new Set<{ pid?: number }>();

export function killAllChildren(): void {
  for (const child of liveGroups) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
const KEEP_BYTES = 4 * 1024 * 1024;

export function describeCommand(command: string, args: readonly string[]): string {
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  return [command, ...args].map(quote).join(' ');
}

/** The real port, backed by execa with argument arrays (never a shell string). */
export function createExecaPort(): ExecPort {
  return {
    async run(request) {
      // Stopped already (Ctrl-C, SIGTERM): nothing new is started, not even to be killed at once.
      if (request.signal?.aborted) return { command: describeCommand(request.command, request.args), exitCode: undefined, signal: undefined, timedOut: false, aborted: true, durationMs: 0, tail: [], stdout: '', stderr: '' };
      const started = Date.now();
      const tail: string[] = [];
      let log: WriteStream | undefined;
      if (request.logFile) {
        log = createWriteStream(request.logFile, { flags: 'a' });
        log.write(`$ ${describeCommand(request.command, request.args)}\n`);
      }
      const seen = (stream: 'stdout' | 'stderr') => (line: string) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        log?.write(line + '\n');
        request.onLine?.(line, stream);
      };
      const subprocess = execa(request.command, [...request.args], {
        cwd: request.cwd,
        env: request.env,
        extendEnv: true,
        reject: false,
        input: typeof request.input === 'string' ? request.input : undefined,
        ...(request.interactive ? { stdio: 'inherit' as const } : { stdin: request.input === undefined ? 'ignore' as const : 'pipe' as const }),
        lines: false,
        ...(request.stdoutTo ? { buffer: { stdout: false } } : {}),
        stripFinalNewline: true,
        maxBuffer: KEEP_BYTES,
        // Its own process group, so stopping it stops make's compilers and everything else it started.
        detached: !request.interactive,
        cleanup: true,
      });
      let timedOut = false;
      let aborted = false;
      const stopGroup = () => {
        const pid = subprocess.pid;
        if (pid === undefined) return;
        const kill = (sig: NodeJS.Signals) => {
          try {
            process.kill(request.interactive ? pid : -pid, sig);
          } catch {
            // already gone
          }
        };
        kill('SIGTERM');
        setTimeout(() => kill('SIGKILL'), 3000).unref();
      };
      const onAbort = () => {
        aborted = true;
        stopGroup();
      };
      if (request.signal?.aborted) onAbort();
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = request.timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        stopGroup();
      }, request.timeoutMs);
      liveGroups.add(subprocess);
      const splitter = (stream: 'stdout' | 'stderr') => {
        let pending = '';
        const emit = seen(stream);
        return {
          push(chunk: Buffer | string) {
            pending += chunk.toString();
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              emit(pending.slice(0, nl).replace(/\r$/, ''));
              pending = pending.slice(nl + 1);
            }
          },
          flush() {
            if (pending) emit(pending);
            pending = '';
          },
        };
      };
      const out = splitter('stdout');
      const err = splitter('stderr');
      // A stream is piped by hand: execa would wait for it to end even after the process has exited.
      if (request.input !== undefined && typeof request.input !== 'string' && subprocess.stdin) {
        subprocess.stdin.on('error', () => undefined);
        request.input.pipe(subprocess.stdin);
      }
      if (request.stdoutTo) subprocess.stdout?.pipe(request.stdoutTo);
      else subprocess.stdout?.on('data', (c: Buffer) => out.push(c));
      subprocess.stderr?.on('data', (c: Buffer) => err.push(c));
      const result = await subprocess;
      liveGroups.delete(subprocess);
      if (timer) clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
      const spawnError = result.failed && result.exitCode === undefined && !result.signal && !timedOut && !aborted
        ? (result.cause instanceof Error ? result.cause.message : String(result.shortMessage))
        : undefined;
      return {
        command: describeCommand(request.command, request.args),
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut,
        aborted,
        durationMs: Date.now() - started,
        tail,
        stdout: typeof result.stdout === 'string' ? result.stdout : '',
        stderr: typeof result.stderr === 'string' ? result.stderr : '',
        spawnError,
      };
    },
  };
}

export function succeeded(result: ExecResult): boolean {
  return result.exitCode === 0 && !result.timedOut && !result.aborted && !result.spawnError;
}
