// vm-test over the Model Context Protocol: each tool is one of the CLI's commands, run in-process on streams of
// its own; it returns how the command ended, the exit code the CLI maps that to, and the run directory, and
// streams the engine's events as notifications while it runs.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CommandFactory, CommandLineEnd, CommandLineIo } from '../cli.ts';
import { bisectCommand } from '../commands/bisect-command.ts';
import { compareCommand } from '../commands/compare-command.ts';
import type { CliContext } from '../commands/context.ts';
import { execCommand } from '../commands/exec-command.ts';
import { mutateCommand } from '../commands/mutate-command.ts';
import { parseCommand } from '../commands/parse-command.ts';
import { runCommand } from '../commands/run-command.ts';
import type { RunEvent } from '../events.ts';
import { OUTCOME_KINDS } from '../outcome.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { argumentShape, commandLineOf, commandOptions, type ToolOption } from './tool-args.ts';

/** How the server runs a command line: the CLI's runCommandLine (cli.ts), the one place an ending becomes an exit code. */
export type CommandLine = (argv: string[], commands: readonly CommandFactory[], io: CommandLineIo) => Promise<CommandLineEnd>;

export interface McpTool {
  name: string;
  title: string;
  description: string;
  command: CommandFactory;
  /** The line's first words: the command's name, and what the tool fixes (plan is run --dry-run). */
  words: readonly string[];
  /** Options a call cannot give: what the tool fixes, and what only a terminal uses. */
  omit: readonly string[];
  /** Arguments beyond the command's options, and the words they add at the end of the line. */
  extra?: { shape: Record<string, z.ZodType>; tail(args: Record<string, unknown>): string[] };
}

/** What only a terminal uses: the guest console echoed on it. */
const TERMINAL_ONLY = ['verbose-console'];

export const TOOLS: readonly McpTool[] = [
  {
    name: 'plan', title: 'Plan a run', command: runCommand, words: ['run', '--dry-run'], omit: ['dry-run', ...TERMINAL_ONLY],
    description: 'vm-test --dry-run: resolve the kernel, the series, the config fragments, the tests, the cache and the VM into the plan a run would follow, and print it; nothing is built. Arguments are vm-test run\'s options.',
  },
  {
    name: 'run', title: 'Run the series\' tests', command: runCommand, words: ['run'], omit: ['dry-run', ...TERMINAL_ONLY],
    description: 'vm-test run: apply the series, configure and build the kernel (cached), boot it under QEMU, run the tests, report. Returns the outcome kind (passed, testsFailed, kernelCrash, bootFailure, timeout, patchDidNotApply, configDropped, buildFailed, missingTool, vmInfra, infra, interrupted, usage), its exit code and the run directory (results.json, logs). Progress arrives as notifications.',
  },
  {
    name: 'exec', title: 'Run one command in the guest', command: execCommand, words: ['exec'], omit: ['dry-run', ...TERMINAL_ONLY],
    description: 'vm-test exec -- COMMAND: boot the kernel a run would build and run one command in it (the server\'s directory is shared with the guest); its output is the tool\'s text, its exit code the tool\'s exitCode.',
    extra: {
      shape: { command: z.array(z.string()).min(1).describe('the command and its arguments, run in the guest') },
      tail: (args) => ['--', ...(args.command as string[])],
    },
  },
  {
    name: 'parse', title: 'Parse a saved log', command: parseCommand, words: ['parse'], omit: [],
    description: 'vm-test parse FILE: re-parse a saved console, results, test_progs or KTAP log into the result tree, with the outcome a run with these results would have.',
  },
  {
    name: 'bisect', title: 'Bisect revisions or patches', command: bisectCommand, words: ['bisect'], omit: ['dry-run', ...TERMINAL_ONLY],
    description: 'vm-test bisect: the first bad revision between good and bad, or with by-patch the first bad patch of the series; each step is a run.',
  },
  {
    name: 'mutate', title: 'Mutation testing', command: mutateCommand, words: ['mutate'], omit: TERMINAL_ONLY,
    description: 'vm-test mutate: build, boot and test each small change to the C the series adds, and report which tests notice; dry-run lists the mutants.',
  },
  {
    name: 'compare', title: 'Compare two revisions', command: compareCommand, words: ['compare'], omit: [],
    description: 'vm-test compare A B: two revisions of the series side by side from what is on disk (never building or booting): the range-diff, each test\'s verdict on each from their newest runs, splat titles, and with mutate the per-hunk mutation scores.',
  },
];

/** A command's options for the schema only: its builder reads nothing from the context. */
const schemaContext: CliContext = { stdout: { write: () => {} }, stderr: { write: () => {} }, signal: new AbortController().signal, setRunDir: () => {} };

/** A tool's text above this size keeps its start; the whole is in the run directory's logs. */
const MAX_TEXT = 256 * 1024;

function capture(): { writer: { write(text: string): void }; text(): string } {
  let text = '';
  let dropped = 0;
  return {
    writer: {
      write: (chunk) => {
        if (text.length + chunk.length <= MAX_TEXT) text += chunk;
        else dropped += chunk.length;
      },
    },
    text: () => text + (dropped ? `\n... ${dropped} more characters left out\n` : ''),
  };
}

interface CallContext {
  signal: AbortSignal;
  sessionId?: string;
  _meta?: { progressToken?: string | number };
  sendNotification(notification: ServerNotification): Promise<void>;
}

/** Engine events sent no more often than this; the run directory has every one. */
const PROGRESS_EVERY_MS = 1000;

/**
 * The engine's events as notifications: with the call's progressToken, a progress notification for each line the
 * plain terminal reporter would print; and a logging message carrying the typed event itself. The build's and the
 * console's raw lines stay in the run directory's logs.
 */
function notifier(server: McpServer, tool: string, call: CallContext): (event: RunEvent) => void {
  const token = call._meta?.progressToken;
  let sent = 0;
  let lastProgress = 0;
  const lines = createTerminalReporter({
    write: (text) => {
      if (token === undefined) return;
      for (const message of text.split('\n').filter(Boolean)) {
        // A notification the client cannot take (it went away) is not the run's failure.
        call.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++sent, message } }).catch(() => {});
      }
    },
  });
  return (event) => {
    if (event.type === 'log-line' || event.type === 'console-line') return;
    if (event.type === 'progress') {
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
    }
    lines(event);
    server.sendLoggingMessage({ level: event.type === 'warn' ? 'warning' : 'info', logger: `vm-test ${tool}`, data: event }, call.sessionId).catch(() => {});
  };
}

/** The call's result: one line naming the ending, the command's output, what it said on stderr; the same as values. */
export function toolResult(tool: string, ended: CommandLineEnd, stdout: string, stderr: string): CallToolResult {
  const { result, exitCode, runDir } = ended;
  const ending = 'kind' in result ? result.kind : result.type;
  const text = [`vm-test ${tool}: ${ending} (exit ${exitCode})${runDir ? `; run directory ${runDir}` : ''}`, stdout, stderr].filter(Boolean);
  return {
    content: text.map((t) => ({ type: 'text' as const, text: t })),
    structuredContent: { outcome: result, exitCode, ...(runDir ? { runDir } : {}) },
    // Arguments the command refused (a usage error) are the call's error; every other ending is a result.
    ...('kind' in result && result.kind === 'usage' ? { isError: true } : {}),
  };
}

const outputShape = {
  outcome: z.looseObject({
    type: z.enum(['ended', 'exec', 'bisect', 'bisect-run', 'mutate', 'doctor', 'done']).describe('which command\'s kind of ending'),
    kind: z.enum(OUTCOME_KINDS).optional().describe('how the run ended'),
  }).describe('how the command ended, as the CLI maps it to an exit code'),
  exitCode: z.number().int().describe('the exit code vm-test would exit with'),
  runDir: z.string().optional().describe('the run directory: results.json, results.junit.xml, logs'),
};

export interface VmTestMcp {
  server: McpServer;
  /** Stop the calls still running (their runs end as interrupted) and close the connection. */
  close(): Promise<void>;
}

export function createMcpServer(deps: { commandLine: CommandLine; version: string; log?: (line: string) => void; tools?: readonly McpTool[] }): VmTestMcp {
  const server = new McpServer({ name: 'vm-test', version: deps.version }, { capabilities: { logging: {} } });
  const stopAll = new AbortController();
  const running = new Set<Promise<unknown>>();
  for (const tool of deps.tools ?? TOOLS) {
    const options: ToolOption[] = commandOptions(tool.command(schemaContext), tool.omit);
    const inputSchema = z.strictObject({ ...argumentShape(options), ...tool.extra?.shape });
    server.registerTool(tool.name, { title: tool.title, description: tool.description, inputSchema, outputSchema: outputShape }, async (args, call) => {
      const argv = [...commandLineOf(tool.words, options, args), ...(tool.extra?.tail(args) ?? [])];
      const stdout = capture();
      const stderr = capture();
      deps.log?.(`${tool.name}: vm-test ${argv.join(' ')}`);
      const ran = deps.commandLine(argv, [tool.command], {
        stdout: stdout.writer,
        stderr: stderr.writer,
        signal: AbortSignal.any([call.signal, stopAll.signal]),
        observe: notifier(server, tool.name, call),
      });
      running.add(ran);
      try {
        const ended = await ran;
        deps.log?.(`${tool.name}: ${'kind' in ended.result ? ended.result.kind : ended.result.type} (exit ${ended.exitCode})${ended.runDir ? `; run directory ${ended.runDir}` : ''}`);
        return toolResult(tool.name, ended, stdout.text(), stderr.text());
      } finally {
        running.delete(ran);
      }
    });
  }
  return {
    server,
    close: async () => {
      stopAll.abort();
      await Promise.allSettled([...running]);
      await server.close();
    },
  };
}
