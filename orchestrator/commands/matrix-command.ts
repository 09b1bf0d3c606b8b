// `vm-test matrix`: the GitHub Actions matrix of series revisions x targets, from patches/ alone.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listRevisions, loadSeries } from '../series/series.ts';
import { FALLBACK_KERNEL } from '../source/kernel-spec.ts';
import { VmTestError } from '../outcome.ts';
import { done, repoRoot, type CliContext, type ResultCommand } from './context.ts';

export interface MatrixEntry {
  /** The job's and its artifact's name: the revision, and the kernel's version when it is not the revision's default. */
  name: string;
  /** patches/<series>/<revision> */
  series: string;
  revision: string;
  /** The --kernel argument for the revision's base. */
  kernel: string;
  /** For actions/cache: base + every config fragment and the compiler wrapper + series content. */
  cache_key: string;
}

/** The kernel a revision targets: its manifest's base (a deb:, git: or local --kernel). */
export function kernelFor(base: { kernel?: string } | undefined): string {
  return base?.kernel ?? FALLBACK_KERNEL;
}

/**
 * Every kernel-config/ fragment (the base ones, slim, test-progs-keys, the --kconfig ones: a run may merge any of
 * them), and the compiler wrapper: editing any of them gives another cache key. Names and bytes, in name order.
 */
export async function configKey(root: string): Promise<string> {
  const dir = join(root, 'kernel-config');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.config')).sort();
  const hash = createHash('sha256');
  for (const name of names) hash.update(name).update('\0').update(await readFile(join(dir, name))).update('\0');
  hash.update('vm-test-cc\0').update(await readFile(join(root, 'orchestrator/build/vm-test-cc')));
  return hash.digest('hex').slice(0, 12);
}

export async function buildMatrix(root: string): Promise<{ include: MatrixEntry[] }> {
  const patchesRoot = join(root, 'patches');
  const configHash = await configKey(root);
  const include: MatrixEntry[] = [];
  for (const name of await listRevisions(patchesRoot)) {
    const series = await loadSeries(join(patchesRoot, name), patchesRoot);
    const revision = name.split('/').pop()!;
    // The revision's default kernel, then each other kernel its manifest says it is checked on.
    const targets = [{ kernel: kernelFor(series.manifest.base), name: revision }];
    for (const [i, also] of (series.manifest.base?.alsoChecked ?? []).entries()) targets.push({ kernel: also.kernel, name: `${revision}-on-${also.version ?? `kernel-${i + 2}`}` });
    for (const { kernel, name: jobName } of targets) {
      const baseKey = createHash('sha256').update(kernel).digest('hex').slice(0, 12);
      include.push({ name: jobName, series: name, revision, kernel, cache_key: `vm-test-${baseKey}-${configHash}-${series.hash}` });
    }
  }
  return { include };
}

/**
 * vm-test mutate or bpf-ci fanned out: one job per shard (its --shard i/n), whose report files a merge job joins.
 * The matrix is the distributed engine: each job is a whole vm-test run of its slice.
 */
export function shardMatrix(shards: number): { include: { shard: string; name: string }[] } {
  return { include: Array.from({ length: shards }, (_, k) => ({ shard: `${k + 1}/${shards}`, name: `shard-${k + 1}-of-${shards}` })) };
}

export function matrixCommand(ctx: CliContext): ResultCommand<{ series?: string; mutate?: boolean; 'bpf-ci'?: boolean; shards: number }> {
  return {
    command: 'matrix',
    describe: 'print the GitHub Actions matrix (JSON) of series revisions and their targets (--mutate, --bpf-ci: of their shards)',
    builder: (y) => y.option('series', { type: 'string', describe: 'only revisions of this series (e.g. bpf-f-compare)' })
      .option('mutate', { type: 'boolean', describe: 'the shards of vm-test mutate instead' })
      .option('bpf-ci', { type: 'boolean', describe: 'the shards of vm-test bpf-ci instead (each runs its slice on the series and its base)' })
      .option('shards', { type: 'number', default: 4, describe: 'with --mutate or --bpf-ci: how many shards' }),
    handler: async (argv) => {
      if (argv.mutate || argv['bpf-ci']) {
        if (!Number.isInteger(argv.shards) || argv.shards < 1) throw new VmTestError('usage', `--shards ${argv.shards}: expected a whole number >= 1`);
        ctx.stdout.write(JSON.stringify(shardMatrix(argv.shards)) + '\n');
        return done();
      }
      const matrix = await buildMatrix(repoRoot());
      if (argv.series) matrix.include = matrix.include.filter((e) => e.series.startsWith(`${argv.series}/`));
      ctx.stdout.write(JSON.stringify(matrix) + '\n');
      return done();
    },
  };
}
