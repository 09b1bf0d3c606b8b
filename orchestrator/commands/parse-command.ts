// `vm-test parse FILE`: re-parse a saved console, results or test output log offline, no kernel needed.
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { VmTestError, type OutcomeKind } from '../outcome.ts';
import { toJson } from '../report/json-report.ts';
import { toJunit } from '../report/junit-report.ts';
import { toTap } from '../report/tap-report.ts';
import { renderSummary } from '../report/terminal-report.ts';
import { assembleResults, decideVerdict } from '../results/assemble.ts';
import { parseKtap } from '../results/ktap-parser.ts';
import { applyAllowlist, attributeSplats, scanSplats } from '../results/splats.ts';
import { readAllowlist, type Allowlist } from '../results/splat-allowlist.ts';
import { parseTestProgs, parseTestProgsJson } from '../results/test-progs-parser.ts';
import { summarize, type ResultTree } from '../results/tree.ts';
import { splitResults } from '../results/sections.ts';
import { isResultsStream } from '../guest/protocol.ts';
import type { CliContext, ResultCommand } from './context.ts';

const KINDS = ['results', 'test_progs', 'json', 'ktap'] as const;

/** What a log holds; `json` is the file `test_progs -J` writes. */
export type LogKind = (typeof KINDS)[number];

// `test_progs -J` writes one object whose first key is one of these (a cut-off file still reads as JSON and fails to parse).
const TEST_PROGS_JSON = /^\s*\{\s*"(success|success_subtest|skipped|failed|results)"\s*:/;

export function detectKind(text: string): LogKind {
  if (TEST_PROGS_JSON.test(text)) return 'json';
  if (isResultsStream(text)) return 'results';
  if (/^#\d+(\/\d+)?\s+\S+:(OK|FAIL|SKIP)\b/m.test(text) || /^Summary: \d+\/\d+ PASSED/m.test(text)) return 'test_progs';
  return 'ktap';
}

/** An allowlist file's text, loaded; a line that does not load is a usage error naming file:line. For `run`'s plan too. */
export interface ParseOptions {
  kind?: LogKind;
  /** Applied to the splats before the verdict, so an accepted splat does not decide the exit code. */
  allowlist?: Allowlist;
}

export function parseLog(text: string, options: ParseOptions = {}): { tree: ResultTree; kind: OutcomeKind; headline: string } {
  const kind = options.kind ?? detectKind(text);
  const found = attributeSplats(scanSplats(text), text);
  const splats = options.allowlist ? applyAllowlist(found, options.allowlist) : found;
  if (kind === 'results') {
    const stream = splitResults(text);
    const planned = stream.sections.map((s) => ({ name: s.name, kind: s.name === 'test_progs' ? ('test_progs' as const) : ('ktap' as const), argv: [], timeoutSec: 0 }));
    const v = assembleResults({ resultsText: text, planned, splats, vm: { end: stream.done ? 'completed' : stream.initStarted ? 'crashed' : 'boot-failure', detail: stream.done ? 'complete log' : 'the log stops before the plan ended' } });
    return { tree: v.tree, kind: v.kind, headline: v.headline };
  }
  const parsed = kind === 'test_progs' ? parseTestProgs(text) : kind === 'json' ? parseTestProgsJson(text) : parseKtap(text);
  const tree = summarize(parsed.tests, splats);
  tree.counts.errors += parsed.errors.length;
  // As summarize ranks a node's errors: above a pass, a skip or nothing at all.
  if (parsed.errors.length && ['pass', 'skip', 'no_tests'].includes(tree.status)) tree.status = 'parse_error';
  const v = decideVerdict(tree, splats);
  return { tree: v.tree, kind: v.kind, headline: v.headline };
}

type ParseArgs = { file: string; format: 'summary' | 'json' | 'junit' | 'tap'; kind?: LogKind; allowlist?: string };

export function parseCommand(ctx: CliContext): ResultCommand<ParseArgs> {
  return {
    command: 'parse <file>',
    describe: 'parse a saved console/results/test_progs/KTAP log into the result tree',
    builder: (y: Argv) => y
      .positional('file', { type: 'string', demandOption: true, describe: 'log file' })
      .option('format', { choices: ['summary', 'json', 'junit', 'tap'] as const, default: 'summary' as const })
      .option('kind', { choices: KINDS, describe: 'what the file holds: json is a test_progs -J file (default: detected)' })
      .option('allowlist', { type: 'string', describe: 'file of kernel splats to accept' }) as unknown as Argv<ParseArgs>,
    handler: async (argv) => {
      const text = await readFile(argv.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new VmTestError('usage', `${argv.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { file: argv.file });
      });
      const allowlist = argv.allowlist === undefined ? undefined : await readAllowlist(argv.allowlist);
      const result = parseLog(text, { ...(argv.kind ? { kind: argv.kind } : {}), ...(allowlist ? { allowlist } : {}) });
      // The same ending, and so the same exit code, as a run with these results.
      return {
        type: 'ended',
        kind: result.kind,
        report: (exitCode) => ctx.stdout.write(argv.format === 'json' ? toJson(result.tree, { kind: result.kind, exitCode, headline: result.headline })
          : argv.format === 'junit' ? toJunit(result.tree)
          : argv.format === 'tap' ? toTap(result.tree)
          : renderSummary(result.tree, result.headline, exitCode, undefined, ctx.stdout.isTTY === true)),
      };
    },
  };
}
