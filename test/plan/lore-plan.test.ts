// Planning a lore: series: the option is checked before any work (no b4, no fetch), a bad one is a usage error naming
// --series; a good one is fetched last, with the real b4 on a local thread, and the plan says where it came from.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { reproducerLine, describePlan, planRun } from '../../orchestrator/plan/run-plan.ts';
import { fakeExec, realExec, tempDir } from '../helpers.ts';
import { messageId, threadMbox } from '../series/lore-thread.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;

test('a malformed lore: id, --lore-mbox without lore:, or a missing --lore-mbox file: usage errors before anything runs', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const exec = fakeExec();
  const deps = { exec, events: new RunEvents() };
  const cacheDir = join(tmp.path, 'cache');
  const cases: [Parameters<typeof planRun>[0], RegExp][] = [
    [{ series: 'lore:not-a-message-id', cacheDir }, /^--series lore:not-a-message-id: expected lore:<message-id>/],
    [{ series: 'lore:a@b', kconfig: ['no-such-fragment'], cacheDir }, /^--kconfig no-such-fragment: no such fragment/],
    [{ series: 'bpf-f-compare/v1', loreMbox: 'x.mbox', cacheDir }, /^--lore-mbox x\.mbox: only with --series lore:/],
    [{ series: 'lore:a@b', loreMbox: 'missing.mbox', cacheDir }, /^--lore-mbox missing\.mbox: no such file/],
  ];
  for (const [options, message] of cases) {
    const error = await t.throwsAsync(planRun(options, repoRoot, tmp.path, {}, 2, deps), { instanceOf: VmTestError });
    t.is(error?.kind, 'usage');
    t.regex(error?.message ?? '', message);
  }
  t.deepEqual(exec.calls, [], 'neither b4 nor the installer ran');
});

test('a command that plans without the exec port (bisect-run) refuses a lore: series as a usage error', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const error = await t.throwsAsync(planRun({ series: 'lore:a@b', cacheDir: join(tmp.path, 'cache') }, repoRoot, tmp.path, {}, 2), { instanceOf: VmTestError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /^--series lore:a@b: this command takes a series from patches\//);
});

test.serial('a lore: series with --lore-mbox through the real b4: the plan holds the fetched patches and names the base-commit and the fetch', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const thread = join(tmp.path, 'thread.mbox');
  await writeFile(thread, await threadMbox([{ dir: join(repoRoot, 'patches/bpf-f-compare/v1'), tag: 'v1' }, { dir: join(repoRoot, 'patches/bpf-f-compare/v1'), tag: 'v2', version: 2, inReplyTo: 'v1' }]));
  const events = new RunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => seen.push(e));
  // The installer finds b4 present (a PATH holding it), so it runs nothing.
  const plan = await planRun({ series: `lore:${messageId('p1', 'v1')}`, loreMbox: 'thread.mbox', cacheDir: join(tmp.path, 'cache') }, repoRoot, tmp.path, {}, 2, { exec: realExec, events });
  t.is(plan.series?.patches.length, 3);
  t.is(plan.series?.baseCommit, 'a975094bf98ca97be9146f9d3b5681a6f9cf5ce3');
  t.is(plan.series?.lore?.localMbox, thread);
  const text = describePlan(plan);
  t.regex(text, /series: {5}lore:p1\.v1@example\.com \(v2\) \(3 patches, [0-9a-f]{16}\)/);
  t.regex(text, /base-commit a975094bf98ca97be9146f9d3b5681a6f9cf5ce3 \(the cover letter's\)/);
  t.true(seen.some((e) => e.type === 'warn' && /holds more than one revision: b4 took v2/.test(e.message)));
  // The reproducer reads the same thread again: the id and the local mbox, never the network.
  t.regex(reproducerLine(plan), new RegExp(` --series lore:p1\\.v1@example\\.com --lore-mbox ${thread.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `));
});
