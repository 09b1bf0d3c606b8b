// `vm-test mcp`: serve vm-test's tools over the Model Context Protocol on stdin and stdout, until the client goes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { TOOLS, createMcpServer, type CommandLine } from '../mcp/mcp-server.ts';
import { done, repoRoot, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';

/** console.log and friends write to stderr while `run` holds stdout for the protocol; returns the undo. */
function consoleToStderr(stderr: CliContext['stderr']): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toStderr = (...args: unknown[]) => stderr.write(format(...args) + '\n');
  Object.assign(console, { log: toStderr, info: toStderr, debug: toStderr });
  return () => Object.assign(console, saved);
}

/** The mcp command; commandLine is how cli.ts runs a command line (its exit-code mapping included). */
export function mcpCommand(ctx: CliContext, commandLine: CommandLine): ResultCommand<object> {
  return {
    command: 'mcp',
    describe: `serve vm-test over the Model Context Protocol on stdin/stdout (tools: ${TOOLS.map((t) => t.name).join(', ')}); logs on stderr`,
    handler: async (): Promise<CommandEnd> => {
      const restoreConsole = consoleToStderr(ctx.stderr);
      const log = (line: string) => ctx.stderr.write(`vm-test mcp: ${line}\n`);
      const { version } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
      const mcp = createMcpServer({ commandLine, version, log });
      const transport = new StdioServerTransport();
      transport.onerror = (error) => log(`protocol error: ${error.message}`);
      try {
        const closed = new Promise<void>((resolve) => (mcp.server.server.onclose = resolve));
        await mcp.server.connect(transport);
        log(`serving on stdio: ${TOOLS.map((t) => t.name).join(', ')}`);
        // The client closing stdin, or Ctrl-C/SIGTERM, ends the server; calls still running are stopped first.
        const close = () => void mcp.close();
        process.stdin.once('end', close);
        ctx.signal.addEventListener('abort', close, { once: true });
        await closed;
        process.stdin.off('end', close);
        log('closed');
        return ctx.signal.aborted ? { type: 'ended', kind: 'interrupted' } : done();
      } finally {
        restoreConsole();
      }
    },
  };
}
