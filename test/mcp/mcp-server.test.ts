// vm-test mcp through the SDK's own Client: in-process over a linked in-memory pair, and as `vm-test mcp` over stdio.
// The tools run the real commands (plan, parse); one [qemu] test runs the default target for real.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, LoggingMessageNotification, Progress } from '@modelcontextprotocol/sdk/types.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { runCommandLine } from '../../orchestrator/cli.ts';
import { commandEvents, type CliContext, type ResultCommand } from '../../orchestrator/commands/context.ts';
import { TOOLS, createMcpServer, type McpTool } from '../../orchestrator/mcp/mcp-server.ts';
import { tempDir } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const fixture = (path: string) => join(root, 'test/fixtures/runs', path);

/** A client connected in-process to a server on these tools; what the server logged, and how to close both. */
async function connect(tools: readonly McpTool[] = TOOLS) {
  const logged: string[] = [];
  const mcp = createMcpServer({ commandLine: runCommandLine, version: '0.0.0-test', log: (line) => logged.push(line), tools });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'vm-test-test', version: '0' });
  await client.connect(clientSide);
  return { client, logged, close: async () => (await client.close(), await mcp.close()) };
}

const call = async (client: Client, name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void) =>
  (await client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress, timeout: 20 * 60_000, resetTimeoutOnProgress: true } : undefined)) as CallToolResult;
const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

interface Structured { outcome: { type: string; kind?: string }; exitCode: number; runDir?: string }
const structured = (r: CallToolResult) => r.structuredContent as unknown as Structured;

test('tools/list: plan, run, exec, parse, bisect, mutate, compare, their arguments read from the commands\' options', async (t) => {
  const { client, close } = await connect();
  t.teardown(close);
  const { tools } = await client.listTools();
  t.deepEqual(tools.map((x) => x.name), ['plan', 'run', 'exec', 'parse', 'bisect', 'mutate', 'compare']);
  const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
  const run = byName.run!.inputSchema as { properties: Record<string, { type?: string; enum?: string[]; items?: { type: string }; description?: string; anyOf?: unknown[] }>; additionalProperties?: boolean };
  t.deepEqual(run.properties.accel!.enum, ['auto', 'kvm', 'tcg']);
  t.is(run.properties.cpus!.type, 'number');
  t.is(run.properties['test-progs']!.type, 'array');
  t.regex(run.properties['test-progs']!.description!, /test_progs -t/);
  t.regex(run.properties.timeout!.description!, /default: 900/);
  t.is(run.properties.series!.anyOf!.length, 2, 'a series name, or false for --no-series');
  for (const left of ['dry-run', 'verbose-console', 't', 'j', 'help', 'version']) t.false(left in run.properties, left);
  t.is(run.additionalProperties, false, 'an unknown argument is an error, not ignored');
  t.false('dry-run' in byName.plan!.inputSchema.properties!);
  t.true('dry-run' in byName.mutate!.inputSchema.properties!, 'mutate --dry-run lists the mutants');
  t.deepEqual(byName.parse!.inputSchema.required, ['file']);
  t.deepEqual(byName.exec!.inputSchema.required, ['command']);
  t.true(['good', 'bad', 'by-patch', 'retries'].every((k) => k in byName.bisect!.inputSchema.properties!));
  t.deepEqual(byName.compare!.inputSchema.required, ['a', 'b'], 'compare <a> <b>: its positionals, in order');
  for (const tool of tools) t.deepEqual(tool.outputSchema?.required, ['outcome', 'exitCode'], tool.name);
});

test('plan: the resolved plan as --dry-run prints it, with the options given; nothing is built', async (t) => {
  const { client, logged, close } = await connect();
  t.teardown(close);
  const r = await call(client, 'plan', { 'test-progs': ['map_cmp_delete'], 'guest-tests': 'none', accel: 'tcg', cpus: 3, timeout: 120 });
  t.falsy(r.isError, textOf(r));
  t.deepEqual(structured(r), { outcome: { type: 'done' }, exitCode: 0 });
  const text = textOf(r);
  t.regex(text, /^vm-test plan: done \(exit 0\)\n/);
  t.regex(text, /^series: +bpf-f-compare\/v1 \(3 patches, [0-9a-f]{16}\)$/m);
  t.regex(text, /^kconfig: +.*kernel-config\/vm\.config, .*kernel-config\/bpf\.config, .*kernel-config\/slim\.config \(\d+ options, [0-9a-f]{16}\)$/m);
  t.regex(text, /^test_progs: -t map_cmp_delete$/m);
  t.regex(text, /^guest: +no guest suites$/m);
  t.regex(text, /^vm: +accel=tcg, 3 vCPUs, 1024 MiB, timeout 120 s, per test 300 s$/m);
  // The command's line, options in the order its builder declares them.
  t.is(logged[0], 'plan: vm-test run --dry-run --test-progs=map_cmp_delete --guest-tests=none --accel=tcg --timeout=120 --cpus=3');

  const pristine = await call(client, 'plan', { series: false });
  t.regex(textOf(pristine), /^series: +none \(pristine tree\)$/m);
});

test('parse: a saved log\'s outcome and the CLI\'s exit code for it (passed 0, testsFailed 1), with the summary as text', async (t) => {
  const { client, close } = await connect();
  t.teardown(close);
  const pass = await call(client, 'parse', { file: fixture('pass/results.log') });
  t.deepEqual(structured(pass), { outcome: { type: 'ended', kind: 'passed' }, exitCode: 0 });
  t.regex(textOf(pass), /^vm-test parse: passed \(exit 0\)/);
  t.regex(textOf(pass), /map_cmp_delete/);
  const broken = await call(client, 'parse', { file: fixture('broken-flag-check/results.log'), format: 'json' });
  t.falsy(broken.isError, 'failed tests are a result, not a tool error');
  t.deepEqual(structured(broken), { outcome: { type: 'ended', kind: 'testsFailed' }, exitCode: 1 });
  const json = JSON.parse((broken.content[1] as { text: string }).text) as { run: { kind: string; exitCode: number; headline: string } };
  t.like(json.run, { kind: 'testsFailed', exitCode: 1 });
  t.regex(json.run.headline, /map_cmp_delete\/contract failed/);
});

test('compare: two revisions of the bisect fixture side by side, from an empty cache (the mails\' diffs, no runs yet)', async (t) => {
  const tmp = await tempDir('vm-test-mcp-compare-');
  t.teardown(tmp.cleanup);
  const { client, close } = await connect();
  t.teardown(close);
  const revision = (v: string) => join(root, 'test/fixtures/bisect/bpf-f-compare', v);
  const r = await call(client, 'compare', { a: revision('v1'), b: revision('v2'), 'cache-dir': tmp.path });
  t.deepEqual(structured(r), { outcome: { type: 'done' }, exitCode: 0 }, textOf(r));
  t.regex(textOf(r), /^A: .*bpf-f-compare\/v1 \(3 patches, series [0-9a-f]{16}\)$/m);
  t.regex(textOf(r), /^Range-diff \(the mails' diffs patch by patch/m);
  t.regex(textOf(r), /^  B: no run of .*bpf-f-compare\/v2 .*make one with: vm-test run --series /m);
  const missing = await call(client, 'compare', { a: revision('v1') });
  t.true(missing.isError);
  t.regex(textOf(missing), /at b/);
});

test('bad arguments are tool errors naming the argument', async (t) => {
  const { client, close } = await connect();
  t.teardown(close);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['plan', { accel: 'fast' }, /expected one of "auto"\|"kvm"\|"tcg" at accel/],
    ['plan', { cpus: 'two' }, /expected number, received string at cpus/],
    ['run', { 'no-such-option': true }, /Unrecognized key: "no-such-option"/],
    ['exec', {}, /at command/],
    ['exec', { command: [] }, /command/],
    ['parse', {}, /at file/],
    ['parse', { file: '--help' }, /starts with '-'.* at file/],
    ['plan', { kconfig: 'debug' }, /expected array, received string at kconfig/],
  ];
  for (const [tool, args, message] of cases) {
    const r = await call(client, tool, args);
    t.true(r.isError, `${tool} ${JSON.stringify(args)}`);
    t.regex(textOf(r), message, `${tool} ${JSON.stringify(args)}`);
  }
  // Arguments of the right type that the command refuses: its usage error (exit 2), naming the option.
  const series = await call(client, 'plan', { series: 'no-such/v9' });
  t.true(series.isError);
  t.deepEqual(structured(series), { outcome: { type: 'ended', kind: 'usage' }, exitCode: 2 });
  t.regex(textOf(series), /vm-test: error: --series .*no-such\/v9: no such directory/);
  const file = await call(client, 'parse', { file: '/nonexistent/console.log' });
  t.true(file.isError);
  t.regex(textOf(file), /\/nonexistent\/console\.log: no such file/);
  t.is(structured(file).exitCode, 2);
});

/** A command that emits what a run's engine emits, without a kernel: stages, build progress, a test, a warning. */
const eventsCommand = (ctx: CliContext): ResultCommand<object> => ({
  command: 'events',
  describe: 'emits engine events',
  handler: async () => {
    const events = commandEvents(ctx, () => {});
    events.emit({ type: 'stage-start', stage: 'build', detail: 'bzImage' });
    events.emit({ type: 'progress', stage: 'build', step: 'CC kernel/bpf/hashtab.o', done: 10, total: 1000 });
    events.emit({ type: 'log-line', stage: 'build', line: '  CC      kernel/bpf/hashtab.o' });
    events.emit({ type: 'warn', stage: 'kconfig', message: 'CONFIG_X dropped' });
    events.emit({ type: 'stage-end', stage: 'build', status: 'cached', elapsedMs: 1200, detail: 'up to date' });
    events.emit({ type: 'test-end', name: 'test_progs', exitCode: 0 });
    ctx.setRunDir('/tmp/events-run');
    return { type: 'ended', kind: 'passed' };
  },
});

test('engine events reach the client as progress notifications (with a progressToken) and as logging messages carrying the event', async (t) => {
  const { client, close } = await connect([{ name: 'events', title: 'events', description: 'events', command: eventsCommand, words: ['events'], omit: [] }]);
  t.teardown(close);
  const logs: LoggingMessageNotification['params'][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
  const progress: Progress[] = [];
  const r = await call(client, 'events', {}, (p) => progress.push(p));
  t.deepEqual(structured(r), { outcome: { type: 'ended', kind: 'passed' }, exitCode: 0, runDir: '/tmp/events-run' });
  // The plain reporter's lines (its build progress line comes every 30 s; the first is now).
  t.deepEqual(progress.map((p) => p.message), [
    '[build] bzImage',
    '[build] 10/~1000 1% CC kernel/bpf/hashtab.o',
    '[kconfig] warning: CONFIG_X dropped',
    '[build] cached in 1.2 s - up to date',
    '[test] test_progs exited 0',
  ]);
  t.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4, 5], 'progress increases with each notification');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(logs.map((l) => [l.level, (l.data as { type: string }).type]), [
    ['info', 'stage-start'], ['info', 'progress'], ['warning', 'warn'], ['info', 'stage-end'], ['info', 'test-end'],
  ], 'raw build lines stay in the run directory');
  t.deepEqual(logs[2]!.data, { type: 'warn', stage: 'kconfig', message: 'CONFIG_X dropped' });
});

/** A command that runs until it is stopped, as a run does on Ctrl-C. */
const waitsCommand = (ctx: CliContext): ResultCommand<object> => ({
  command: 'waits',
  describe: 'runs until stopped',
  handler: () => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
});
const waitsTool: McpTool = { name: 'waits', title: 'waits', description: 'waits', command: waitsCommand, words: ['waits'], omit: [] };
const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

test('a call the client cancels, and one running when the server closes, stop their command through its signal: interrupted, exit 130', async (t) => {
  const { client, logged, close } = await connect([waitsTool]);
  const cancel = new AbortController();
  const cancelled = client.callTool({ name: 'waits', arguments: {} }, undefined, { signal: cancel.signal });
  await until(() => logged.length === 1);
  cancel.abort();
  await t.throwsAsync(cancelled);
  await until(() => logged.length === 2);
  t.deepEqual(logged, ['waits: vm-test waits', 'waits: interrupted (exit 130)']);

  const running = client.callTool({ name: 'waits', arguments: {} });
  running.catch(() => {});
  await until(() => logged.length === 3);
  await close();
  t.is(logged[3], 'waits: interrupted (exit 130)', 'close() waits for the call it stopped');
});

test('`vm-test mcp` over stdio: the SDK\'s stdio client lists the tools and runs a plan; stdout holds only protocol messages, the logs go to stderr', async (t) => {
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', join(root, 'orchestrator/cli.ts'), 'mcp'], cwd: root, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const errors: Error[] = [];
  transport.onerror = (error) => void errors.push(error);
  const client = new Client({ name: 'vm-test-test', version: '0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.deepEqual(tools.map((x) => x.name), TOOLS.map((x) => x.name));
  const r = await call(client, 'plan', { 'guest-tests': 'compare-contract' });
  t.is(structured(r).exitCode, 0);
  t.regex(textOf(r), /^guest: +compare-contract \(matching compare-contract\)$/m);
  await client.close();
  t.deepEqual(errors, [], 'a line on stdout that is not a JSON-RPC message is an error in the client\'s transport');
  t.regex(stderr, /^vm-test mcp: serving on stdio: plan, run, exec, parse, bisect, mutate, compare$/m);
  t.regex(stderr, /^vm-test mcp: plan: done \(exit 0\)$/m);
});

test.serial('[qemu] the run tool on the default target (v1 on 7.2.6, warm): passed, exit 0, results.json in the run directory, progress notified', async (t) => {
  const tmp = await tempDir('vm-test-mcp-run-');
  t.teardown(tmp.cleanup);
  const { client, close } = await connect();
  t.teardown(close);
  const runDir = join(tmp.path, 'run');
  const progress: Progress[] = [];
  const r = await call(client, 'run', { 'run-dir': runDir }, (p) => progress.push(p));
  t.deepEqual(structured(r), { outcome: { type: 'ended', kind: 'passed' }, exitCode: 0, runDir }, textOf(r).slice(-3000));
  const results = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as { status: string; run: { kind: string; exitCode: number; runDir: string } };
  t.is(results.status, 'pass');
  t.like(results.run, { kind: 'passed', exitCode: 0, runDir });
  t.regex(textOf(r), /map_cmp_delete/);
  const messages = progress.map((p) => p.message ?? '');
  t.true(messages.some((m) => /^\[build\] /.test(m)), messages.join('\n'));
  t.true(messages.some((m) => /^\[vm\] /.test(m)), messages.join('\n'));
  t.true(messages.some((m) => /^\[test\] test_progs /.test(m)), messages.join('\n'));
});
