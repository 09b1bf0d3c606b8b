// `vm-test bundle RUN_DIR`: the whole run directory as one .tar.gz for a bug report or a CI artifact.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as tar from 'tar';
import { VmTestError } from '../outcome.ts';
import { outputFileProblem } from '../paths.ts';
import { done, type CliContext, type ResultCommand } from './context.ts';

// runPipeline writes plan.txt first, then at least one of these (error.txt comes from the CLI when a run stops early).
const RUN_LOGS = ['console.log', 'results.log', 'error.txt', 'host.log', 'source.log', 'series.log', 'build.log'] as const;

/** Why `dir` is not a vm-test run directory, or undefined when it is one. */
export function notARunDir(dir: string): string | undefined {
  if (!existsSync(dir)) return 'no such directory';
  if (!statSync(dir).isDirectory()) return 'not a directory';
  if (!existsSync(join(dir, 'plan.txt'))) return 'not a vm-test run directory: it has no plan.txt';
  if (!RUN_LOGS.some((f) => existsSync(join(dir, f)))) return `not a vm-test run directory: it has plan.txt but none of ${RUN_LOGS.join(', ')}`;
  return undefined;
}

/** Packs a run directory under its own name; refuses anything else, and an output inside the directory itself. */
export async function bundleRunDir(runDir: string, out: string): Promise<void> {
  const dir = resolve(runDir);
  const problem = notARunDir(dir);
  if (problem) throw new VmTestError('usage', `${runDir}: ${problem}`, { file: dir });
  const target = resolve(out);
  const rel = relative(dir, target);
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
    throw new VmTestError('usage', `--out ${out} is inside the run directory ${runDir}; the archive would pack itself`, { file: target });
  }
  const outProblem = await outputFileProblem(target);
  if (outProblem) throw new VmTestError('usage', `archive ${out}: ${outProblem}`, { file: target });
  await tar.create({ gzip: true, file: target, cwd: dirname(dir), portable: true }, [basename(dir)]);
}

export function bundleCommand(ctx: CliContext): ResultCommand<{ 'run-dir': string; out?: string }> {
  return {
    command: 'bundle <run-dir>',
    describe: 'pack a run directory as a .tar.gz',
    builder: (y) => y.positional('run-dir', { type: 'string', demandOption: true }).option('out', { type: 'string', describe: 'output file (default <run-dir>.tar.gz beside it)' }) as never,
    handler: async (argv) => {
      const runDir = resolve(argv['run-dir']);
      // The default stays in the run's parent; writing anywhere else takes an explicit --out.
      const out = argv.out === undefined ? join(dirname(runDir), `${basename(runDir)}.tar.gz`) : resolve(argv.out);
      await bundleRunDir(argv['run-dir'], out);
      ctx.stdout.write(`${out}\n`);
      return done();
    },
  };
}
