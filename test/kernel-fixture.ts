// The default kernel (the default series on its base kernel, default config) for tests that boot our own kernel:
// built through the tool's own stages when the cache lacks it, then copied aside under the cache lock.
import { availableParallelism } from 'node:os';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKernel } from '../orchestrator/build/kernel-build.ts';
import { RunEvents } from '../orchestrator/events.ts';
import { acquireLock } from '../orchestrator/lock.ts';
import { planRun, type RunPlan } from '../orchestrator/plan/run-plan.ts';
import { kernelRequestFor } from '../orchestrator/run.ts';
import { resolveSource } from '../orchestrator/source/source.ts';
import { prepareTree, type PreparedTree } from '../orchestrator/source/workspace.ts';
import { realExec } from './helpers.ts';

const root = new URL('..', import.meta.url).pathname;

export interface TestKernel {
  bzImage: string;
  headersDir: string;
  /** Its .config, which says the machine it boots on (guest-machine.ts). */
  configPath: string;
}

/** Copies the bzImage and headers of the requested series into dest, so later rebuilds cannot change them under a test. */
export async function defaultKernel(dest: string, options: { series?: string; noSeries?: boolean } = {}): Promise<TestKernel> {
  const plan = await planRun({ series: options.series, noSeries: options.noSeries }, root, root, process.env, availableParallelism());
  const events = new RunEvents();
  const lock = await acquireLock(plan.cache.locks, 'build', () => {});
  try {
    await mkdir(dest, { recursive: true });
    const logFile = join(dest, 'build.log');
    const source = await resolveSource({ exec: realExec, cache: plan.cache, events, logFile }, plan.kernel);
    const tree = await prepareTree({ exec: realExec, cache: plan.cache, logFile }, source, plan.series);
    if ('failure' in tree) throw new Error(`series did not apply: ${JSON.stringify(tree.failure)}`);
    // The request a run makes for this tree, so the test shares the run's build directory.
    const request = await kernelRequestFor(plan, tree.worktree);
    const k = await buildKernel({ exec: realExec, events, cache: plan.cache, sourceId: source.id, tree, request, jobs: plan.jobs, ccache: plan.ccache, logFile });
    const bzImage = join(dest, 'bzImage');
    await copyFile(k.bzImage, bzImage);
    const configPath = join(dest, 'kernel.config');
    await copyFile(k.configPath, configPath);
    const headersDir = join(dest, 'usr/include');
    await realExec.run({ command: 'cp', args: ['-a', join(k.buildDir, 'usr'), dest] });
    return { bzImage, headersDir, configPath };
  } finally {
    await lock.release();
  }
}

/** Runs body on the default tree (the default series on its base kernel, or pristine) in the cache's worktree, under the cache lock. */
export async function withDefaultTree<T>(body: (tree: PreparedTree, plan: RunPlan) => Promise<T>, options: { noSeries?: boolean } = {}): Promise<T> {
  const plan = await planRun({ noSeries: options.noSeries }, root, root, process.env, availableParallelism());
  const events = new RunEvents();
  const lock = await acquireLock(plan.cache.locks, 'build', () => {});
  try {
    const source = await resolveSource({ exec: realExec, cache: plan.cache, events, logFile: '/dev/null' }, plan.kernel);
    const tree = await prepareTree({ exec: realExec, cache: plan.cache, logFile: '/dev/null' }, source, plan.series);
    if ('failure' in tree) throw new Error(`series did not apply: ${JSON.stringify(tree.failure)}`);
    return await body(tree, plan);
  } finally {
    await lock.release();
  }
}
