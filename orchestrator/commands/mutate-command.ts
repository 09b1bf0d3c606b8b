// `vm-test mutate`: break the series on purpose, one small change at a time, and see which tests notice.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { createExecaPort } from '../exec/exec-port.ts';
import { chooseMutants, generateMutants, parseShard, shard, type Mutant } from '../mutate/mutants.ts';
import { buildReport, mergeReports, renderReport, reportSummaryMarkdown, type MutationReport } from '../mutate/mutate-report.ts';
import { describeStop, readState, resumeConflicts, resumeRefusal, runMutants, type MutantResult, type MutateValidity } from '../mutate/mutate-run.ts';
import { OPERATOR_NAMES, type OperatorName } from '../mutate/operators.ts';
import { VmTestError } from '../outcome.ts';
import { dirProblem, makeDirs, outputFileProblem } from '../paths.ts';
import { planRun, variantPlan, verdictInputs } from '../plan/run-plan.ts';
import { runDirName, runPipeline } from '../run.ts';
import { commandEvents, repoRoot, type CliContext, type CommandEnd, type ResultCommand } from './context.ts';
import { runOptionsFrom, withRunOptions, planDeps } from './run-command.ts';

type RunArgs = Parameters<typeof runOptionsFrom>[0];
type MutateArgs = RunArgs & {
  max?: number; 'time-budget'?: number; shard?: string; resume?: string; format: 'text' | 'json'; merge?: string[]; operators?: string[];
};

export function listMutants(mutants: readonly Mutant[], format: 'text' | 'json'): string {
  if (format === 'json') return JSON.stringify({ mutants }, null, 2) + '\n';
  return mutants.map((m) => [`${m.id}  patch ${m.patch} hunk ${m.hunk}  ${m.operator}: ${m.description}`, ...m.diff.trimEnd().split('\n').map((l) => `    ${l}`)].join('\n')).join('\n\n') + `\n\n${mutants.length} mutants\n`;
}

async function writeReport(ctx: CliContext, report: MutationReport, out: { json?: string; dir?: string }): Promise<void> {
  const json = JSON.stringify(report, null, 2) + '\n';
  if (out.dir) await writeFile(join(out.dir, 'report.json'), json);
  if (out.json) await writeFile(out.json, json);
  if (process.env.GITHUB_ACTIONS === 'true' && process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, reportSummaryMarkdown(report));
  ctx.stdout.write(renderReport(report));
}

/** A mutant's line on the terminal: its status, who noticed, why, and where a reused verdict came from. */
export function describeResult(r: MutantResult): string {
  if (r.status === 'equivalent') return r.reason;
  if (r.status === 'killed' || r.status === 'timeout') return `${r.status} ${r.killedBySelftest ? '(selftest too)' : '(not by the selftest)'}: ${r.reason}`;
  return r.reusedFrom ? `${r.status}: ${r.reason}` : r.status;
}

export function mutateCommand(ctx: CliContext): ResultCommand<MutateArgs> {
  return {
    command: 'mutate',
    describe: 'mutation testing of the series: each small change to the C it adds, built, booted and tested; which tests notice',
    builder: (y) => (withRunOptions(y) as Argv<RunArgs>)
      .option('max', { type: 'number', describe: 'at most N mutants, spread over every hunk first' })
      .option('time-budget', { type: 'number', describe: 'start no mutant after S seconds' })
      .option('shard', { type: 'string', describe: 'run the deterministic slice i/n of the mutants (merge the reports with --merge)' })
      .option('resume', { type: 'string', describe: 'continue the mutate run in this directory (what finished is kept)' })
      .option('operators', { type: 'string', array: true, describe: `only these operators (${OPERATOR_NAMES.join(', ')})` })
      .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'with --dry-run: the mutant list as text or JSON' })
      .option('merge', { type: 'string', array: true, describe: 'join the report.json files of shards into one report; runs nothing' }) as unknown as Argv<MutateArgs>,
    handler: async (argv): Promise<CommandEnd> => {
      if (argv.merge?.length) {
        const jsonProblem = argv.json === undefined ? undefined : await outputFileProblem(argv.json);
        if (jsonProblem) throw new VmTestError('usage', `--json ${argv.json}: ${jsonProblem}`, { file: argv.json! });
        const reports: MutationReport[] = [];
        for (const file of argv.merge) {
          const text = await readFile(file, 'utf8').catch(() => {
            throw new VmTestError('usage', `--merge ${file}: no such file`, { file });
          });
          try {
            reports.push(JSON.parse(text) as MutationReport);
          } catch (error) {
            throw new VmTestError('usage', `--merge ${file}: not a mutate report.json (${(error as Error).message})`, { file });
          }
        }
        await writeReport(ctx, mergeReports(reports), { json: argv.json });
        return { type: 'mutate', complete: true };
      }
      const options = runOptionsFrom(argv);
      const plan = await planRun(options, repoRoot(), process.cwd(), process.env, availableParallelism(), planDeps(ctx));
      if (!plan.series) throw new VmTestError('usage', 'vm-test mutate needs a series (--series REV)');
      const operators = (argv.operators ?? [...OPERATOR_NAMES]).flatMap((o) => o.split(',')) as OperatorName[];
      for (const o of operators) if (!OPERATOR_NAMES.includes(o)) throw new VmTestError('usage', `--operators ${o}: not an operator (${OPERATOR_NAMES.join(', ')})`);
      const spec = argv.shard === undefined ? undefined : parseShard(argv.shard);
      if (spec && 'error' in spec) throw new VmTestError('usage', spec.error);
      const generated = generateMutants(plan.series, operators);
      const chosen = shard(chooseMutants(generated, argv.max), spec);
      if (argv['dry-run']) {
        ctx.stdout.write(listMutants(chosen, argv.format));
        return { type: 'done' };
      }
      const resumeProblem = argv.resume === undefined ? undefined : await dirProblem(argv.resume);
      if (resumeProblem) throw new VmTestError('usage', `--resume ${argv.resume}: ${resumeProblem}`, { file: argv.resume! });
      const dir = argv.resume ?? join(plan.cache.runs, `${runDirName(new Date(), plan)}-mutate${spec ? `-shard${spec.index}of${spec.count}` : ''}`);
      await makeDirs(dir);
      ctx.setRunDir(dir);
      const exec = createExecaPort();
      const say = (text: string) => ctx.stderr.write(`[mutate] ${text}\n`);
      const events = commandEvents(ctx, (e) => {
        if (e.type === 'warn' && e.stage !== 'vm') say(`warning: ${e.message}`);
      });
      // What the verdicts will hold for; a directory resumed under another series or plan is refused before anything runs.
      const inputs: MutateValidity = { series: plan.series.hash, plan: verdictInputs(plan) };
      const recorded = await readState(dir);
      const conflicts = recorded ? resumeConflicts(recorded.validFor, inputs) : [];
      if (conflicts.length) throw resumeRefusal(dir, conflicts);
      say(`${chosen.length} of ${generated.length} mutants of ${plan.series.name} (${operators.join(', ')}); run directory ${dir}`);
      // The series itself first, on every start (a resume too): a mutant can only be killed if the unmutated series
      // passes, and one whose kernel and tests are byte-identical to the baseline's is equivalent.
      const baseline = await runPipeline(variantPlan(plan, { series: plan.series, runDir: join(dir, 'baseline') }), { exec, events, signal: ctx.signal });
      if (baseline.kind !== 'passed' || !baseline.tested) {
        say(`the series itself does not pass: ${baseline.headline.split('\n')[0]} (${join(dir, 'baseline')})`);
        return { type: 'ended', kind: baseline.kind };
      }
      const built = baseline.tested.identity.kernel.built;
      say(`baseline: ${baseline.headline}; kernel build ID ${built ?? 'unknown'}`);
      let n = 0;
      const state = await runMutants({
        exec, events, signal: ctx.signal, plan, baseline: baseline.tested, dir, timeBudgetSec: argv['time-budget'],
        validFor: { ...inputs, baseline: { ...(built ? { built } : {}), bootKey: baseline.tested.bootKey } },
        onResult: (m, r) => say(`${++n}/${chosen.length} ${m.id} ${m.operator} (${m.description}): ${describeResult(r)} [${r.seconds} s]`),
      }, chosen);
      const report = buildReport(plan.series.name, generated, state.results.filter((r) => chosen.some((m) => m.id === r.id)));
      await writeReport(ctx, report, { json: argv.json, dir });
      if (!state.stopped) return { type: 'mutate', complete: true };
      say(`stopped: ${describeStop(state.stopped)}; what finished is in ${dir}: continue with --resume ${dir}`);
      // The budget leaves a partial report (its own exit code); a run that could not go on, or a signal, ends it as a run would.
      if (state.stopped.reason === 'budget') return { type: 'mutate', complete: false };
      return { type: 'ended', kind: state.stopped.reason === 'interrupted' ? 'interrupted' : state.stopped.kind };
    },
  };
}
