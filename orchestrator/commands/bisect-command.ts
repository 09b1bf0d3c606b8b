// `vm-test bisect`: the first bad revision of a series, or the first bad patch of a revision.
// `vm-test bisect-run`: a command for `git bisect run` on a kernel tree.
import type { Argv } from 'yargs';
import { bisect, runStep, type BisectOutcome, type StepAttempt, type StepVerdict } from '../bisect/bisect.ts';
import { availableParallelism } from 'node:os';
import { checkOutputPaths, planRun, type RunPlan } from '../plan/run-plan.ts';
import { runPipeline } from '../run.ts';
import { planBisect } from '../bisect/bisect-plan.ts';
import { attemptRun, BisectAbort, stepVerdict, type StepContext } from '../bisect/bisect-step.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { VmTestError, type CommandResult, type OutcomeKind } from '../outcome.ts';
import { createTerminalReporter } from '../report/terminal-report.ts';
import { commandEvents, repoRoot, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';
import { reportOutcome, runOptionsFrom, withRunOptions } from './run-command.ts';

type RunArgs = Parameters<typeof runOptionsFrom>[0];
type BisectArgs = RunArgs & { good?: string; bad?: string; patches?: number | boolean; 'by-patch'?: boolean; retries: number };

/** Where a reused verdict came from, and the kernel both steps built. */
const reuseNote = (a: StepAttempt) => (a.reusedFrom ? ` (reused from ${a.reusedFrom}: byte-identical kernel, build ID ${a.buildId ?? 'unknown'})` : '');

export function renderBisect(out: BisectOutcome): string {
  const lines = ['', 'Bisect steps:'];
  for (const s of out.steps) {
    lines.push(`  ${s.verdict.padEnd(4)} ${s.candidate}`);
    s.attempts.forEach((a, i) => lines.push(`         attempt ${i + 1}: ${a.verdict}: ${a.reason}${reuseNote(a)}${a.runDir ? `\n           ${a.runDir}` : ''}`));
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
      const seriesArg = typeof argv.series === 'string' ? argv.series : undefined;
      if (!seriesArg) throw new VmTestError('usage', 'bisect needs --series');
      // One plan, from the user's directory; a bad path or input in it is the user's (exit 2), not every candidate untestable.
      const { plan, candidates, assumeGood, label, describe, step } = await planBisect(base, { series: seriesArg, good: argv.good, bad: argv.bad, byPatch: argv['by-patch'] },
        repoRoot(), process.cwd(), process.env, availableParallelism(), (message) => ctx.stderr.write(`vm-test bisect: warning: ${message}\n`));
      const events = commandEvents(ctx, createTerminalReporter(ctx.stdout));
      const context: StepContext = {
        exec: createExecaPort(),
        signal: ctx.signal,
        onEvent: (e) => events.emit(e),
        plan,
        seen: new Map(),
      };
      const stepFor = (c: string) => runStep(c, argv.retries, (cand, n) => attemptRun(context, label(cand), step(cand, n)));
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
      const firstBadPatch = outcome.firstBad && describe(outcome.firstBad);
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
      const events = commandEvents(ctx, createTerminalReporter(ctx.stdout));
      const run = await runPipeline(plan, { exec: createExecaPort(), events, signal: ctx.signal }, (dir) => ctx.setRunDir(dir));
      const verdict = stepVerdict(run);
      return {
        type: 'bisect-run',
        kind: run.kind,
        verdict,
        report: async (code) => {
          await reportOutcome(ctx, run, { jsonOut: plan.jsonOut, junitOut: plan.junitOut, kcidbOut: plan.kcidbOut, github: false }, code);
          say(run.kind, verdict, code);
        },
      };
    },
    // Whatever else stops it (a bug, a signal) stops git bisect too.
    stopped: (kind): CommandResult => ({ type: 'bisect-run', kind, verdict: 'abort' }),
  };
}
