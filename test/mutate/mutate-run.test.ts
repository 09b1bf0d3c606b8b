// runMutants with a fake pipeline (test/fake-pipeline.ts): each mutant's plan is the baseline's with its series;
// verdicts are reused by boot key, a kernel byte-identical to the baseline's is an equivalent mutant, every result
// names the kernel it was judged on, and a resume under another series, plan or baseline is refused.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RunEvents } from '../../orchestrator/events.ts';
import { generateMutants, type Mutant } from '../../orchestrator/mutate/mutants.ts';
import { buildReport, renderReport, reportSummaryMarkdown } from '../../orchestrator/mutate/mutate-report.ts';
import { readState, runMutants, type MutateContext, type MutateValidity } from '../../orchestrator/mutate/mutate-run.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { planRun, verdictInputs, type RunOptions, type RunPlan } from '../../orchestrator/plan/run-plan.ts';
import { fakePipeline, fakeTested, type FakeKernel } from '../fake-pipeline.ts';
import { fakeExec, tempDir, writeFiles } from '../helpers.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const fixtureSeries = join(repoRoot, 'test/fixtures/mutate');

/** The mutant a plan's series ends with (its 000N-mutant-<id>.patch). */
const mutantOf = (plan: RunPlan) => /-mutant-(.+)\.patch$/.exec(basename(plan.series!.patches.at(-1)!.path))?.[1] ?? 'none';

/** A user's directory with a fragment, an allowlist, a denylist and a kernel named relative to it, planned from there. */
async function setup(t: { teardown(f: () => Promise<void>): void }, extra: RunOptions = {}) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const cwd = join(tmp.path, 'user');
  await writeFiles(cwd, { 'extra.config': 'CONFIG_PRINTK=y\n', 'allow.txt': 'warning: expected_warning\n', 'deny.txt': 'not_this_one\n' });
  const options: RunOptions = { kernel: './linux', series: fixtureSeries, kconfig: ['extra.config'], allowlist: 'allow.txt', denylist: 'deny.txt', cacheDir: join(tmp.path, 'cache'), ...extra };
  const plan = await planRun(options, repoRoot, cwd, {}, 2);
  const mutants = generateMutants(plan.series!);
  return { tmp: tmp.path, cwd, options, plan, mutants, dir: join(tmp.path, 'mutate') };
}

function context(plan: RunPlan, dir: string, run: MutateContext['run'], baselineBuilt = 'base', over: Partial<MutateContext> = {}): MutateContext {
  const baseline = fakeTested(baselineBuilt);
  const validFor: MutateValidity = { series: plan.series!.hash, plan: verdictInputs(plan), baseline: { built: baselineBuilt, bootKey: baseline.bootKey } };
  return { exec: fakeExec(), events: new RunEvents(), plan, baseline, validFor, dir, run, ...over };
}

test('a relative --kconfig (and --allowlist, --denylist) gives the baseline and every mutant the same plan', async (t) => {
  const { cwd, plan, mutants, dir } = await setup(t);
  const chosen = mutants.slice(0, 4);
  const fake = fakePipeline((p) => ({ built: mutantOf(p), kind: 'passed' }));
  await runMutants(context(plan, dir, fake.run), chosen);
  t.is(fake.plans.length, chosen.length);
  const { series: _s, runDir: _r, ...baseline } = plan;
  for (const [k, p] of fake.plans.entries()) {
    const m = chosen[k]!;
    // Every field but the series and the run directory, compared whole.
    const { series, runDir, ...rest } = p;
    t.deepEqual(rest, baseline, m.id);
    t.is(runDir, join(dir, 'mutants', m.id, 'run'));
    t.deepEqual(series!.patches.slice(0, -1).map((x) => x.text), plan.series!.patches.map((x) => x.text));
    t.is(basename(series!.patches.at(-1)!.path), `0002-mutant-${m.id}.patch`);
  }
  // Resolved from the user's directory, where the baseline was planned, not from the mutant's.
  const last = fake.plans.at(-1)!;
  t.deepEqual(last.kernel, { kind: 'local', path: join(cwd, 'linux') });
  t.is(last.fragments.at(-1)!.file, join(cwd, 'extra.config'));
  t.is(last.allowlist, join(cwd, 'allow.txt'));
  t.is(last.testProgsSelection.denylist?.file, join(cwd, 'deny.txt'));
});

test('--patches N: each mutant is the first N patches and the mutant (the limit is not applied again)', async (t) => {
  const { plan, mutants, dir } = await setup(t, { patches: 1 });
  const fake = fakePipeline((p) => ({ built: mutantOf(p), kind: 'passed' }));
  await runMutants(context(plan, dir, fake.run), mutants.slice(0, 1));
  t.is(fake.plans[0]!.series!.patches.length, 2);
  t.is(mutantOf(fake.plans[0]!), mutants[0]!.id);
});

/** Four mutants: one whose kernel is the baseline's, two that build one same kernel, one of its own. */
function scenario(mutants: readonly Mutant[]) {
  const [same, twinA, twinB, own] = mutants;
  const kernels: Record<string, FakeKernel> = {
    [same!.id]: { built: 'base', kind: 'passed' },
    [twinA!.id]: { built: 'k-twin', kind: 'testsFailed', failing: 'compare-contract' },
    [twinB!.id]: { built: 'k-twin', kind: 'testsFailed', failing: 'compare-contract' },
    [own!.id]: { built: 'k-own', kind: 'passed' },
  };
  return { chosen: [same!, twinA!, twinB!, own!], kernels, ids: { same: same!.id, twinA: twinA!.id, twinB: twinB!.id, own: own!.id } };
}

test('a mutant whose kernel is byte-identical to the baseline\'s is equivalent; identical kernels share one verdict, naming where from', async (t) => {
  const { plan, mutants, dir } = await setup(t);
  const { chosen, kernels, ids } = scenario(mutants);
  const fake = fakePipeline((p) => kernels[mutantOf(p)]!);
  const state = await runMutants(context(plan, dir, fake.run), chosen);
  const byId = new Map(state.results.map((r) => [r.id, r]));
  t.like(byId.get(ids.same), {
    status: 'equivalent', killedByAll: false, reusedFrom: 'baseline',
    reason: 'equivalent: its kernel is byte-identical to the baseline\'s (build ID base)',
    identity: { built: 'base', booted: 'base', bootKey: 'boot-base' },
  });
  t.like(byId.get(ids.twinA), { status: 'killed', identity: { built: 'k-twin', booted: 'k-twin' } });
  t.is(byId.get(ids.twinA)!.reusedFrom, undefined);
  t.like(byId.get(ids.twinB), { status: 'killed', killedByAll: true, reusedFrom: ids.twinA, identity: { built: 'k-twin', booted: 'k-twin' } });
  t.regex(byId.get(ids.twinB)!.reason, new RegExp(`reused from ${ids.twinA}: byte-identical kernel, build ID k-twin`));
  t.like(byId.get(ids.own), { status: 'survived', identity: { built: 'k-own', booted: 'k-own' } });
  // Only the two kernels of their own booted.
  t.deepEqual(fake.booted, [join(dir, 'mutants', ids.twinA, 'run'), join(dir, 'mutants', ids.own, 'run')]);

  // state.json keeps what each verdict was judged on.
  const saved = (await readState(dir))!;
  t.deepEqual(saved.results.map((r) => [r.id, r.status, r.identity?.built, r.identity?.booted]), [
    [ids.same, 'equivalent', 'base', 'base'], [ids.twinA, 'killed', 'k-twin', 'k-twin'], [ids.twinB, 'killed', 'k-twin', 'k-twin'], [ids.own, 'survived', 'k-own', 'k-own'],
  ]);

  // Counted apart: not a survivor, and not in the score's denominator.
  const report = buildReport(plan.series!.name, mutants, state.results);
  t.like(report.total, { mutants: 4, equivalent: 1, notCompiled: 0, compiled: 3, killedByAll: 2 });
  t.like(report.mutants.find((m) => m.id === ids.same), { status: 'equivalent', identity: { built: 'base', booted: 'base' } });
  const text = renderReport(report);
  t.regex(text, /Survivors \(1\)/);
  t.regex(text, /Equivalent, counted apart \(1\)[\s\S]*equivalent: its kernel is byte-identical to the baseline's \(build ID base\)/);
  t.regex(text, /not compiled {2}equivalent {2}selftest only/);
  t.regex(reportSummaryMarkdown(report), /\| all \| 4 \| 0 \| 1 \| 0\/3 \(0%\) \| 2\/3 \(67%\) \|/);
});

test('a mutant that does not compile is not equivalent, whatever the baseline', async (t) => {
  const { plan, mutants, dir } = await setup(t);
  const fake = fakePipeline(() => ({ built: 'base', kind: 'buildFailed' }));
  const state = await runMutants(context(plan, dir, fake.run), mutants.slice(0, 1));
  t.like(state.results[0], { status: 'not-compiled' });
  t.is(state.results[0]!.identity, undefined);
});

/** Runs the first two of the scenario, then stops (as Ctrl-C would) before the rest. */
async function interrupted(t: { teardown(f: () => Promise<void>): void }) {
  const s = await setup(t);
  const { chosen, kernels } = scenario(s.mutants);
  const stop = new AbortController();
  const first = fakePipeline((p) => kernels[mutantOf(p)]!);
  let n = 0;
  const state = await runMutants(context(s.plan, s.dir, first.run, 'base', { signal: stop.signal, onResult: () => (++n === 2 ? stop.abort() : undefined) }), chosen);
  return { ...s, chosen, kernels, state };
}

test('--resume with the same series, plan and baseline keeps what finished and runs the rest', async (t) => {
  const { plan, dir, chosen, kernels, state } = await interrupted(t);
  t.deepEqual(state.stopped, { reason: 'interrupted' });
  t.is(state.results.length, 2);
  const again = fakePipeline((p) => kernels[mutantOf(p)]!);
  const resumed = await runMutants(context(plan, dir, again.run), chosen);
  t.deepEqual(again.plans.map(mutantOf), chosen.slice(2).map((m) => m.id));
  t.deepEqual(resumed.results.map((r) => r.id), chosen.map((m) => m.id));
  t.deepEqual((await readState(dir))!.validFor, context(plan, dir, again.run).validFor);
});

test('--resume under another series, plan or baseline is refused, naming what differs, and the old verdicts are not kept', async (t) => {
  const { plan, dir, chosen, kernels, cwd, options } = await interrupted(t);
  const stateBefore = await readFile(join(dir, 'state.json'), 'utf8');
  const fake = fakePipeline((p) => kernels[mutantOf(p)]!);
  const refused = async (ctx: MutateContext, pattern: RegExp) => {
    const error = await t.throwsAsync(runMutants(ctx, chosen), { instanceOf: VmTestError });
    t.is(error!.kind, 'usage');
    t.regex(error!.message, new RegExp(`^--resume ${dir}: its verdicts do not hold for this run: `));
    t.regex(error!.message, pattern);
  };
  // Another series (its hash), another fragment's content, another denylist, another baseline kernel.
  const base = context(plan, dir, fake.run);
  await refused({ ...base, validFor: { ...base.validFor, series: 'another' } }, new RegExp(`series: ${plan.series!.hash} -> another`));
  await writeFiles(cwd, { 'extra.config': 'CONFIG_PRINTK=n\n', 'deny.txt': 'other\n' });
  const edited = await planRun(options, repoRoot, cwd, {}, 2);
  await refused(context(edited, dir, fake.run), /kconfig: allno: \d+ options, \w+ -> allno: \d+ options, \w+;.*testProgsSelection: /);
  await refused(context(plan, dir, fake.run, 'rebuilt'), /the baseline's kernel and tests: build ID base \(boot key boot-base\) -> build ID rebuilt \(boot key boot-rebuilt\)/);
  t.is(fake.plans.length, 0, 'nothing ran');
  t.is(await readFile(join(dir, 'state.json'), 'utf8'), stateBefore, 'the state is left as it was');

  // A state that does not say what it holds for (an earlier vm-test's) is refused too.
  const old = JSON.parse(stateBefore);
  delete old.validFor;
  await writeFile(join(dir, 'state.json'), JSON.stringify(old));
  await refused(base, /does not say what its verdicts are valid for/);
});

test('a series given as one mbox file: each mutant\'s series holds each mail once, then the mutant', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // The fixture's mail twice over, as two patches of one file (the second changes another file).
  const mail = await readFile(join(fixtureSeries, '0001-kernel-add-map_delete_cmp.patch'), 'utf8');
  const second = mail.replace(/kernel\/map\.c/g, 'kernel/map2.c').replace('[PATCH]', '[PATCH 2/2]');
  const mbx = join(tmp.path, 'series.mbx');
  await writeFile(mbx, `${mail.replace('[PATCH]', '[PATCH 1/2]')}\n${second}`);
  const { plan, dir } = await setup(t, { series: mbx });
  t.is(plan.series!.patches.length, 2);
  const mutants = generateMutants(plan.series!);
  t.true(mutants.length > 0);
  const fake = fakePipeline((p) => ({ built: mutantOf(p), kind: 'passed' }));
  await runMutants(context(plan, dir, fake.run), mutants.slice(0, 1));
  const series = fake.plans[0]!.series!;
  t.deepEqual(series.patches.map((p) => p.subject), [...plan.series!.patches.map((p) => p.subject), `[MUTANT] ${mutants[0]!.id}: ${mutants[0]!.operator}: ${mutants[0]!.description}`]);
  t.deepEqual(series.patches.slice(0, -1).map((p) => p.text), plan.series!.patches.map((p) => p.text));
});
