import test from 'ava';
import { readFileSync } from 'node:fs';
import { compareRunners } from '../../orchestrator/results/compare-runners.ts';
import { parseTestProgs } from '../../orchestrator/results/test-progs-parser.ts';
import { splitResults } from '../../orchestrator/results/sections.ts';
import { newTest, type TestNode } from '../../orchestrator/results/tree.ts';

/** The test_progs section of a captured run, as a runner node named `name`. */
function runner(fixture: string, name: string): TestNode {
  const text = readFileSync(new URL(`../fixtures/runs/${fixture}/results.log`, import.meta.url), 'utf8');
  const section = splitResults(text).sections.find((s) => s.name === 'test_progs')!;
  const node = newTest(name);
  node.children = parseTestProgs(section.lines.join('\n')).tests;
  node.status = node.children.some((c) => c.status === 'fail') ? 'fail' : 'pass';
  return node;
}

test('two runners with the same results agree, and the log lists what was compared', (t) => {
  const node = compareRunners('targeted-vs-full', runner('pass', 'test_progs'), runner('pass', 'test_progs-targeted'));
  t.is(node.status, 'pass');
  t.regex(node.log[0]!, /agree: verdict pass, \d+ results, 0 failed assertions/);
  t.true(node.log.some((l) => /map_cmp_delete\/contract: pass/.test(l)));
});

test('a different verdict is a failure that names the subtest and both statuses', (t) => {
  const node = compareRunners('targeted-vs-full', runner('pass', 'test_progs'), runner('broken-flag-check', 'test_progs-targeted'));
  t.is(node.status, 'fail');
  t.regex(node.errors[0]!, /disagree: verdict: test_progs pass, test_progs-targeted fail/);
  t.true(node.log.some((l) => l === '# FAIL: map_cmp_delete/contract: pass in test_progs, fail in test_progs-targeted'));
  t.true(node.log.some((l) => /assertion only in test_progs-targeted: map_cmp_delete\/contract: compare fields without flag -> EINVAL/.test(l)));
});

test('the same failure in both runners is agreement (the comparison is about the builds, not the kernel)', (t) => {
  const node = compareRunners('targeted-vs-full', runner('broken-flag-check', 'test_progs'), runner('broken-flag-check', 'test_progs-targeted'));
  t.is(node.status, 'pass');
  t.regex(node.log[0]!, /verdict fail, \d+ results, 3 failed assertions/);
});

test('a subtest only one runner ran is a difference; an empty reference is never agreement', (t) => {
  const full = runner('pass', 'test_progs');
  const targeted = runner('pass', 'test_progs-targeted');
  targeted.children[0]!.children.pop();
  t.regex(compareRunners('c', full, targeted).log.join('\n'), /pass in test_progs, not run by test_progs-targeted/);
  const empty = newTest('test_progs', 'pass');
  const node = compareRunners('c', empty, newTest('test_progs-targeted', 'pass'));
  t.is(node.status, 'fail');
  t.regex(node.errors[0]!, /reported no tests/);
});

test('assembled results carry the comparison as a test of its own, which decides the verdict', async (t) => {
  const { assembleResults } = await import('../../orchestrator/results/assemble.ts');
  const { testProgsEntry } = await import('../../orchestrator/guest/guest-plan.ts');
  const pass = readFileSync(new URL('../fixtures/runs/pass/results.log', import.meta.url), 'utf8');
  const broken = readFileSync(new URL('../fixtures/runs/broken-flag-check/results.log', import.meta.url), 'utf8');
  const section = (text: string, name: string) => {
    const s = splitResults(text).sections.find((x) => x.name === 'test_progs')!;
    return [`# vm-test: begin ${name}`, ...s.lines, `# vm-test: end ${name} exit=${s.exitCode}`].join('\n');
  };
  const planned = [testProgsEntry('/f/test_progs', ['map_cmp_delete'], '/j', 60), testProgsEntry('/t/test_progs', ['map_cmp_delete'], '/k', 60, 'test_progs-targeted')];
  const vm = { end: 'completed' as const, detail: 'done', runningTest: undefined };
  const compare = { name: 'targeted-vs-full', reference: 'test_progs', candidate: 'test_progs-targeted' };
  const agree = assembleResults({ resultsText: section(pass, 'test_progs') + '\n' + section(pass, 'test_progs-targeted') + '\n', planned, splats: [], vm, compare });
  t.is(agree.tree.tests.find((n) => n.name === 'targeted-vs-full')?.status, 'pass');
  t.is(agree.kind, 'passed', agree.headline);
  const differ = assembleResults({ resultsText: section(pass, 'test_progs') + '\n' + section(broken, 'test_progs-targeted') + '\n', planned, splats: [], vm, compare });
  t.is(differ.tree.tests.find((n) => n.name === 'targeted-vs-full')?.status, 'fail');
  t.is(differ.kind, 'testsFailed');
});
