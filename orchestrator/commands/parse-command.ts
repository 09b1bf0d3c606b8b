// `vm-test parse FILE`: re-parse a saved console, results or test output log offline, no kernel needed.
import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, VmTestError } from '../outcome.ts';
import { toJson } from '../report/json-report.ts';
import { toJunit } from '../report/junit-report.ts';
import { toTap } from '../report/tap-report.ts';
import { renderSummary } from '../report/terminal-report.ts';
import { assembleResults } from '../results/assemble.ts';
import { parseKtap } from '../results/ktap-parser.ts';
import { applyAllowlist, attributeSplats, loadAllowlist, scanSplats } from '../results/splats.ts';
import { parseTestProgs } from '../results/test-progs-parser.ts';
import { summarize, type ResultTree } from '../results/tree.ts';
import { splitResults } from '../results/sections.ts';
import type { CliContext } from './context.ts';

export type LogKind = 'results' | 'test_progs' | 'ktap';

export function detectKind(text: string): LogKind {
  if (/^# vm-test: (begin|init started)/m.test(text)) return 'results';
  if (/^#\d+(\/\d+)?\s+\S+:(OK|FAIL|SKIP)\b/m.test(text) || /^Summary: \d+\/\d+ PASSED/m.test(text)) return 'test_progs';
  return 'ktap';
}

export function parseLog(text: string, kind: LogKind = detectKind(text)): { tree: ResultTree; exitCode: number; headline: string } {
  const splats = attributeSplats(scanSplats(text), text);
  if (kind === 'results') {
    const stream = splitResults(text);
    const planned = stream.sections.map((s) => ({ name: s.name, kind: s.name === 'test_progs' ? ('test_progs' as const) : ('ktap' as const), argv: [], timeoutSec: 0 }));
    const v = assembleResults({ resultsText: text, planned, splats, vm: { end: stream.done ? 'completed' : stream.initStarted ? 'crashed' : 'boot-failure', detail: stream.done ? 'complete log' : 'the log stops before the plan ended' } });
    return { tree: v.tree, exitCode: v.exitCode, headline: v.headline };
  }
  const parsed = kind === 'test_progs' ? parseTestProgs(text) : parseKtap(text);
  const tree = summarize(parsed.tests, splats);
  tree.counts.errors += parsed.errors.length;
  if (parsed.errors.length && tree.status === 'pass') tree.status = 'parse_error';
  const blocking = splats.filter((s) => !s.allowedBy);
  const exitCode = blocking.length ? EXIT.kernelCrash : tree.status === 'pass' ? EXIT.passed : EXIT.testsFailed;
  const headline = blocking.length ? `kernel ${blocking[0]!.kind}: ${blocking[0]!.title}` : tree.status;
  return { tree, exitCode, headline };
}

type ParseArgs = { file: string; format: 'summary' | 'json' | 'junit' | 'tap'; kind?: LogKind; allowlist?: string };

export function parseCommand(ctx: CliContext): CommandModule<object, ParseArgs> {
  return {
    command: 'parse <file>',
    describe: 'parse a saved console/results/test_progs/KTAP log into the result tree',
    builder: (y: Argv) => y
      .positional('file', { type: 'string', demandOption: true, describe: 'log file' })
      .option('format', { choices: ['summary', 'json', 'junit', 'tap'] as const, default: 'summary' as const })
      .option('kind', { choices: ['results', 'test_progs', 'ktap'] as const, describe: 'what the file holds (default: detected)' })
      .option('allowlist', { type: 'string', describe: 'file of kernel splats to accept' }) as unknown as Argv<ParseArgs>,
    handler: async (argv) => {
      const text = await readFile(argv.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new VmTestError('usage', `${argv.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { file: argv.file });
      });
      const result = parseLog(text, argv.kind);
      if (argv.allowlist) {
        const allow = loadAllowlist(await readFile(argv.allowlist, 'utf8'));
        result.tree.splats = applyAllowlist(result.tree.splats, allow);
      }
      const out = argv.format === 'json' ? toJson(result.tree, { exitCode: result.exitCode, headline: result.headline })
        : argv.format === 'junit' ? toJunit(result.tree)
        : argv.format === 'tap' ? toTap(result.tree)
        : renderSummary(result.tree, result.headline, result.exitCode, undefined, ctx.stdout.isTTY === true);
      ctx.stdout.write(out);
      ctx.setExitCode(result.exitCode);
    },
  };
}
