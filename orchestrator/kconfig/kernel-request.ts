// The kconfig request a run builds: the plan's fragments, plus what this tree's test_progs runner needs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selftestsFragments } from '../build/full-selftests-build.ts';
import { runnerFragments } from '../build/selftests-build.ts';
import type { RunEvents } from '../events.ts';
import { VmTestError } from '../outcome.ts';
import { BASE_FRAGMENTS, type RunPlan } from '../plan/run-plan.ts';
import { KconfigRequest, describeParseError, parseFragment } from './kconfig.ts';

/**
 * The kernel config request for this tree: with --full-selftests, the tree's selftests config files
 * first and ours after (ours win), on the Kconfig defaults, as their vmtest.sh does; otherwise the
 * plan's fragments plus what this tree's test_progs needs (read from the tree, so it is known only
 * after the series stage). Whatever tests are chosen: choosing tests must not change the kernel.
 */
export async function kernelRequestFor(plan: Pick<RunPlan, 'fullSelftests' | 'fragments' | 'kconfig' | 'repoRoot'>, worktree: string, events?: RunEvents): Promise<KconfigRequest> {
  if (plan.fullSelftests) return new KconfigRequest([...await selftestsFragments(worktree), ...plan.fragments], 'defaults');
  const extra = await runnerFragments(worktree);
  if (extra.length === 0) return plan.kconfig;
  const fragments = [...plan.fragments];
  for (const { name, why } of extra) {
    const path = join(plan.repoRoot, 'kernel-config', `${name}.config`);
    const { fragment, errors } = parseFragment(path, await readFile(path, 'utf8'));
    if (errors.length) throw new VmTestError('infra', describeParseError(errors[0]!), { file: path, line: errors[0]!.line });
    events?.emit({ type: 'info', stage: 'build', message: `adding kernel-config/${name}.config: ${why}` });
    // Before the user's own fragments, so theirs still win.
    fragments.splice(BASE_FRAGMENTS.length, 0, fragment);
  }
  return new KconfigRequest(fragments);
}
