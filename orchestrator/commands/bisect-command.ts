// `vm-test bisect`: the first bad revision of a series, or the first bad patch of a revision.
// `vm-test bisect-run`: a command for `git bisect run` on a kernel tree.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { bisect, naturalCompare, runStep, type BisectOutcome, type StepVerdict } from '../bisect/bisect.ts';
import { availableParallelism } from 'node:os';
import { RunEvents } from '../events.ts';
import { checkOutputPaths, planRun, type RunPlan } from '../plan/run-plan.ts';
import { runPipeline } from '../run.ts';
import { attemptRun, BisectAbort, stepVerdict, type StepContext } from '../bisect/bisect-step.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { VmTestError, type CommandResult, type OutcomeKind } from '../outcome.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { loadSeries, resolveSeriesDir } from '../series/series.ts';
import { repoRoot, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions } from './run-command.ts';

type RunArgs = Parameters<typeof runOptionsFrom>[0];
type BisectArgs = RunArgs & { good?: string; bad?: string; patches?: number | boolean; 'by-patch'?: boolean; retries: number };

export async function listRevisionDirs(seriesDir: string): Promise<string[]> {
  const entries = await readdir(seriesDir, { withFileTypes: true }).catch(() => {
    throw new VmTestError('usage', `--series ${seriesDir}: no such directory`, { file: seriesDir });
  });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(naturalCompare);
}

export function renderBisect(out: BisectOutcome): string {
  const lines = ['', 'Bisect steps:'];
  for (const s of out.steps) {
    lines.push(`  ${s.verdict.padEnd(4)} ${s.candidate}`);
    s.attempts.forEach((a, i) => lines.push(`         attempt ${i + 1}: ${a.verdict}: ${a.reason}${a.reusedFrom ? ` (reused from ${a.reusedFrom}: byte-identical kernel)` : ''}${a.runDir ? `\n           ${a.runDir}` : ''}`));
  }
  lines.push('', out.message);
  const decisive = out.steps.find((s) => s.candidate === out.firstBad);
  const attempt = decisive?.attempts.find((a) => a.verdict === 'bad');
  if (attempt) lines.push(`decided by: ${attempt.reason}`, `evidence:   ${attempt.runDir ?? '(reused)'}`);
  return lines.join('\n') + '\n';
}

export function bisectCommand(ctx: CliContext): ResultCommand<BisectArgs> {
  return {
    command: 'bisect',
    describe: 'find the first bad revision (--good/--bad) or the first bad patch of a revision (--by-patch)',
    builder: (y) => (withRunOptions(y) as Argv<RunArgs>)
      .option('good', { type: 'string', describe: 'a revision directory known good (e.g. v1)' })
      .option('bad', { type: 'string', describe: 'a revision directory known bad (e.g. v3)' })
      .option('by-patch', { type: 'boolean', describe: 'bisect the patches of the --series revision (prefixes 1..k applied)' })
      .option('retries', { type: 'number', default: 0, describe: 'extra attempts per step; a step is bad if any attempt is bad, good only if all pass' }) as unknown as Argv<BisectArgs>,
    handler: async (argv): Promise<CommandEnd> => {
      const base = runOptionsFrom(argv);
      const root = repoRoot();
      const seriesArg = typeof argv.series === 'string' ? argv.series : undefined;
      if (!seriesArg) throw new VmTestError('usage', 'bisect needs --series');
      // Every step writes where these say: a bad one is the user's input (exit 2), not every candidate untestable.
      await checkOutputPaths(base, process.cwd(), process.env);
      const seriesDir = resolveSeriesDir(seriesArg, join(root, 'patches'), process.cwd());
      const step: StepContext = {
        exec: createExecaPort(),
        repoRoot: root,
        signal: ctx.signal,
        onEvent: createTerminalReporter(ctx.stdout),
        seen: new Map(),
      };
      let candidates: string[];
      let optionsFor: (c: string) => typeof base;
      let assumeGood = false;
      let describeCandidate: (c: string) => string | undefined = () => undefined;
      if (argv['by-patch']) {
        const series = await loadSeries(seriesDir, join(root, 'patches'));
        // Candidates are "k/n": the first k of the n patches applied.
        const n = series.patches.length;
        candidates = Array.from({ length: n + 1 }, (_, k) => `${k}/${n}`);
        optionsFor = (c) => ({ ...base, series: seriesDir, patches: parseInt(c, 10), noSeries: parseInt(c, 10) === 0, allowMissingTests: true });
        describeCandidate = (c) => { const k = parseInt(c, 10); return k > 0 ? `patch ${c}: ${series.patches[k - 1]!.subject}` : undefined; };
        assumeGood = true;
      } else {
        if (!argv.good || !argv.bad) throw new VmTestError('usage', 'bisect needs --good and --bad revisions (or --by-patch)');
        const revisions = await listRevisionDirs(seriesDir);
        const from = revisions.indexOf(argv.good);
        const to = revisions.indexOf(argv.bad);
        if (from < 0 || to < 0) throw new VmTestError('usage', `--good ${argv.good} / --bad ${argv.bad}: revisions of ${seriesDir} are ${revisions.join(', ')}`, { file: seriesDir });
        if (from >= to) throw new VmTestError('usage', `--good ${argv.good} must come before --bad ${argv.bad} (order: ${revisions.join(', ')})`);
        candidates = revisions.slice(from, to + 1);
        optionsFor = (c) => ({ ...base, series: join(seriesDir, c), noSeries: false });
      }
      const stepFor = (c: string) => runStep(c, argv.retries, (cand) => attemptRun(step, argv['by-patch'] ? `patches 1..${parseInt(cand, 10)}` : cand, optionsFor(cand)));
      // With no patch applied, the tests the series adds do not exist: the empty prefix is good by definition.
      const known = { candidate: candidates[0]!, verdict: 'good' as const, attempts: [{ verdict: 'good' as const, reason: 'no patch applied: good by definition' }] };
      let outcome: BisectOutcome;
      try {
        outcome = await bisect(candidates, (c) => (assumeGood && c === candidates[0] ? Promise.resolve(known) : stepFor(c)));
      } catch (error) {
        if (!(error instanceof BisectAbort)) throw error;
        // The run's own ending, so a missing tool is exit 13 and Ctrl-C 130, as in a run.
        ctx.stderr.write(`vm-test bisect: stopped: ${error.message}\n`);
        return { type: 'ended', kind: error.kind };
      }
      ctx.stdout.write(renderBisect(outcome));
      const firstBadPatch = outcome.firstBad && describeCandidate(outcome.firstBad);
      if (firstBadPatch) ctx.stdout.write(`first bad ${firstBadPatch}\n`);
      return { type: 'bisect', firstBad: outcome.firstBad };
    },
  };
}

/** For `git bisect run vm-test bisect-run`: good, bad, skip (not the tree's fault) or abort, in git bisect run's codes. */
export function bisectRunCommand(ctx: CliContext): ResultCommand<RunArgs> {
  return {
    command: 'bisect-run',
    describe: 'run once on the current checkout of --kernel (default .) and exit as git bisect run expects',
    builder: (y) => withRunOptions(y).option('kernel', { type: 'string', default: '.' }).option('series', { type: 'string', default: undefined }) as unknown as Argv<RunArgs>,
    handler: async (argv): Promise<CommandEnd> => {
      const options = runOptionsFrom({ ...argv, series: (argv.series as string | undefined) ?? (false as unknown as string) });
      // Where every run writes: a bad path stops the bisect (abort), rather than skipping every commit.
      await checkOutputPaths(options, process.cwd(), process.env);
      const say = (kind: OutcomeKind, verdict: StepVerdict | 'abort', code: number) => ctx.stderr.write(`vm-test bisect-run: ${kind}: exit ${code} for git bisect (${verdict})\n`);
      let plan: RunPlan;
      try {
        plan = await planRun(options, repoRoot(), process.cwd(), process.env, availableParallelism());
      } catch (error) {
        // A revision the plan refuses is a step verdict (a malformed series: skip), as in vm-test bisect.
        if (!(error instanceof VmTestError)) throw error;
        ctx.stderr.write(`vm-test bisect-run: ${error.message}\n`);
        const verdict = stepVerdict({ kind: error.kind });
        return { type: 'bisect-run', kind: error.kind, verdict, report: (code) => say(error.kind, verdict, code) };
      }
      const events = new RunEvents();
      events.subscribe(createTerminalReporter(ctx.stdout));
      const run = await runPipeline(plan, { exec: createExecaPort(), events, signal: ctx.signal }, (dir) => ctx.setRunDir(dir));
      const verdict = stepVerdict(run);
      return {
        type: 'bisect-run',
        kind: run.kind,
        verdict,
        report: async (code) => {
          await reportOutcome(ctx, run, { jsonOut: plan.jsonOut, junitOut: plan.junitOut, github: false }, code);
          say(run.kind, verdict, code);
        },
      };
    },
    // Whatever else stops it (a bug, a signal) stops git bisect too.
    stopped: (kind): CommandResult => ({ type: 'bisect-run', kind, verdict: 'abort' }),
  };
}
