// `vm-test compare REV_A REV_B`: two revisions of a series side by side, from what is already on disk (the cache's
// kernel objects for the range-diff, run directories for the verdicts). It never builds or boots.
import { resolve, join } from 'node:path';
import type { Argv } from 'yargs';
import { cacheLayout, resolveCacheRoot } from '../cache.ts';
import { findMutateReport, findRuns, readRun, renderComparison, type Revision } from '../compare/compare.ts';
import { rangeDiff } from '../compare/range-diff.ts';
import { createExecaPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { isLoreSpec } from '../series/lore.ts';
import { loadSeries, resolveSeriesDir } from '../series/series.ts';
import { done, repoRoot, type CliContext, type ResultCommand } from './context.ts';

interface CompareArgs {
  a: string;
  b: string;
  'run-a'?: string;
  'run-b'?: string;
  mutate?: boolean;
  'cache-dir'?: string;
}

async function revision(arg: string, flag: string, cwd: string): Promise<Revision> {
  // A lore: thread is fetched by a run; compare reads what is on disk (its .mbx under <cache>/lore can be named).
  if (isLoreSpec(arg)) throw new VmTestError('usage', `${flag} ${arg}: compare takes a revision under patches/, a directory or an mbox file (a lore: thread's .mbx is under <cache>/lore/)`);
  const patchesRoot = join(repoRoot(), 'patches');
  return { arg, series: await loadSeries(resolveSeriesDir(arg, patchesRoot, cwd), patchesRoot) };
}

async function givenRun(dir: string, flag: string, cwd: string) {
  const run = await readRun(resolve(cwd, dir));
  if (!run) throw new VmTestError('usage', `${flag} ${dir}: no results.json there (a run directory of vm-test run)`, { file: resolve(cwd, dir) });
  return run;
}

export function compareCommand(ctx: CliContext): ResultCommand<CompareArgs> {
  return {
    command: 'compare <a> <b>',
    describe: 'two revisions of a series side by side: range-diff, verdicts and splats of their runs, mutation scores (runs nothing)',
    builder: (y) => y
      .positional('a', { type: 'string', demandOption: true, describe: 'the earlier revision: a name under patches/, a directory of patches or an mbox file' })
      .positional('b', { type: 'string', demandOption: true, describe: 'the later revision' })
      .option('run-a', { type: 'string', describe: 'the run directory of A (default: the newest run of A\'s patches in the cache)' })
      .option('run-b', { type: 'string', describe: 'the run directory of B' })
      .option('mutate', { type: 'boolean', describe: 'the per-hunk mutation scores, where both revisions have a vm-test mutate report' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default $VM_TEST_CACHE_DIR or $XDG_CACHE_HOME/vm-test)' }) as unknown as Argv<CompareArgs>,
    handler: async (argv) => {
      const cwd = process.cwd();
      const cache = cacheLayout(resolveCacheRoot(argv['cache-dir'], process.env));
      const a = await revision(argv.a, 'REV_A', cwd);
      const b = await revision(argv.b, 'REV_B', cwd);
      const [foundA, foundB] = await findRuns(cache.runs, [a.series.hash, b.series.hash]);
      const runA = argv['run-a'] ? await givenRun(argv['run-a'], '--run-a', cwd) : foundA;
      const runB = argv['run-b'] ? await givenRun(argv['run-b'], '--run-b', cwd) : foundB;
      if (runA) a.run = runA;
      if (runB) b.run = runB;
      if (argv.mutate) {
        const [ma, mb] = [await findMutateReport(cache.runs, a.series.hash), await findMutateReport(cache.runs, b.series.hash)];
        if (ma) a.mutate = ma;
        if (mb) b.mutate = mb;
      }
      const diff = await rangeDiff(createExecaPort(), cache, a.series, b.series);
      ctx.stdout.write(renderComparison({ a, b, rangeDiff: diff, mutate: !!argv.mutate, runsDir: cache.runs }));
      return done();
    },
  };
}
