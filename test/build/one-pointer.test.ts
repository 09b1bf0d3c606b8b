// The kernel that boots is the kernel that was built: two revisions one .rodata pointer apart, built one after
// the other in one build directory with ccache, then a bzImage made stale on purpose. Real builds, real QEMU.
import test from 'ava';
import { copyFile, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RunEvents } from '../../orchestrator/events.ts';
import type { ExecPort } from '../../orchestrator/exec/exec-port.ts';
import type { RunIdentity } from '../../orchestrator/identity.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { planRun } from '../../orchestrator/plan/run-plan.ts';
import { runPipeline } from '../../orchestrator/run.ts';
import { runCli } from '../bad-input/cli-runner.ts';
import { realExec, tempDir } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
/** v1 as posted, but htab_map_ops lacks .map_delete_elem_cmp (the function is kept): compare-and-delete gives -EOPNOTSUPP. */
const UNWIRED = join(root, 'test/fixtures/series/cmp-op-unwired');

interface RunJson { status: string; run: { identity: RunIdentity; stages: { stage: string; detail: string }[] } }
const resultsOf = async (runDir: string) => JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as RunJson;
const buildDirOf = (r: RunJson) => r.run.stages.find((s) => s.stage === 'build' && s.detail.includes('bzImage'))!.detail.split('/arch/x86/boot/bzImage')[0]!;

const runs: Record<string, { dir: string; json?: RunJson }> = {};

test.before(async (t) => {
  const tmp = await tempDir('vm-test-one-pointer-');
  t.context = tmp;
  for (const name of ['v1', 'unwired', 'v1-again', 'healed']) runs[name] = { dir: join(tmp.path, name) };
});
test.after.always(async (t) => (t.context as { cleanup: () => Promise<void> }).cleanup());

test.serial('[qemu] two revisions one .rodata pointer apart, built one after the other in one build directory with ccache: each run boots the kernel it built, and the guest sees the second revision\'s behaviour', async (t) => {
  const v1 = await runCli(['--run-dir', runs.v1!.dir]);
  t.is(v1.exitCode, EXIT.passed, v1.stdout.slice(-2000) + v1.stderr);
  runs.v1!.json = await resultsOf(runs.v1!.dir);

  const unwired = await runCli(['--series', UNWIRED, '--run-dir', runs.unwired!.dir]);
  t.is(unwired.exitCode, EXIT.testsFailed, unwired.stdout.slice(-3000) + unwired.stderr);
  // The selftest's match now gets -EOPNOTSUPP (-95): the second revision's behaviour, not the first's.
  t.regex(unwired.stdout, /map_cmp_delete\/contract/);
  t.regex(unwired.stdout, /-95/);
  runs.unwired!.json = await resultsOf(runs.unwired!.dir);

  const a = runs.v1!.json.run.identity.kernel;
  const b = runs.unwired!.json.run.identity.kernel;
  t.is(buildDirOf(runs.v1!.json), buildDirOf(runs.unwired!.json), 'one build directory for both revisions');
  t.is(runs.v1!.json.run.identity.config, runs.unwired!.json.run.identity.config);
  t.regex(a.built!, /^[0-9a-f]{40}$/);
  t.is(a.booted, a.built);
  t.is(b.booted, b.built);
  t.not(a.built, b.built);
  t.is(b.image, 'holds the built vmlinux');

  const again = await runCli(['--run-dir', runs['v1-again']!.dir]);
  t.is(again.exitCode, EXIT.passed, again.stdout.slice(-2000) + again.stderr);
  const c = (await resultsOf(runs['v1-again']!.dir)).run.identity.kernel;
  t.is(c.booted, a.built, 'back on v1, the guest runs v1\'s kernel again');
});

test.serial('[qemu] a bzImage made stale on purpose in the build directory is found on the host before the boot, and made again', async (t) => {
  t.truthy(runs.unwired!.json, 'needs the first test');
  const buildDir = buildDirOf(runs.v1!.json!);
  // The build directory holds v1 now; put the unwired revision's bzImage where v1's should be.
  await copyFile(join(runs.unwired!.dir, 'bzImage'), join(buildDir, 'arch/x86/boot/bzImage'));
  const r = await runCli(['--run-dir', runs.healed!.dir]);
  t.is(r.exitCode, EXIT.passed, r.stdout.slice(-2000) + r.stderr);
  const built = runs.v1!.json!.run.identity.kernel.built!;
  const stale = runs.unwired!.json!.run.identity.kernel.built!;
  t.regex(r.stdout, new RegExp(`holds a kernel with build ID (\\S+ or )?${stale}.*not the vmlinux beside it \\(${built}\\)`));
  t.is((await resultsOf(runs.healed!.dir)).run.identity.kernel.booted, built);
});

test.serial('[qemu] a guest that boots another kernel than the one built ends the run as an infrastructure error naming both build IDs, with no verdict', async (t) => {
  t.truthy(runs.unwired!.json, 'needs the first test');
  const plan = await planRun({ runDir: join(runs.healed!.dir, '..', 'swapped') }, root, root, process.env, availableParallelism());
  // Past every host check: the bzImage QEMU is given is swapped for the other revision's just before QEMU starts.
  const swapping: ExecPort = {
    async run(request) {
      const at = request.args.indexOf('-kernel');
      if (request.command.startsWith('qemu-system') && at >= 0) await copyFile(join(runs.unwired!.dir, 'bzImage'), request.args[at + 1]!);
      return realExec.run(request);
    },
  };
  const outcome = await runPipeline(plan, { exec: swapping, events: new RunEvents() });
  const built = runs.v1!.json!.run.identity.kernel.built!;
  const booted = runs.unwired!.json!.run.identity.kernel.built!;
  t.is(outcome.kind, 'infra', outcome.headline);
  t.is(outcome.tested, undefined, 'no verdict');
  t.true(outcome.headline.includes(`the guest reports build ID ${booted}`), outcome.headline);
  t.true(outcome.headline.includes(`the vmlinux built has ${built}`), outcome.headline);
  t.is(outcome.identity?.kernel.booted, booted);
});
