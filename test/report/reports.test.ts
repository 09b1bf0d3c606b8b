import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLog } from '../../orchestrator/commands/parse-command.ts';
import { annotations, stepSummary } from '../../orchestrator/report/github-report.ts';
import { toJunit, xmlEscape } from '../../orchestrator/report/junit-report.ts';
import { toTap } from '../../orchestrator/report/tap-report.ts';
import { parseKtap } from '../../orchestrator/results/ktap-parser.ts';
import { realExec, tempDir } from '../helpers.ts';

const fixture = (path: string) => readFile(new URL(`../fixtures/runs/${path}`, import.meta.url), 'utf8');

test('JUnit: nested failures, crashes as errors, splats as their own error cases; xmllint accepts it', async (t) => {
  const broken = parseLog(await fixture('broken-flag-check/results.log'));
  const xml = toJunit(broken.tree);
  t.regex(xml, /<testsuite name="test_progs" tests="1" failures="1" errors="0"/);
  t.regex(xml, /<testcase classname="test_progs" name="map_cmp_delete\/contract"><failure/);
  t.regex(xml, /compare fields without flag -&gt; EINVAL/);
  const panic = parseLog(await fixture('panic-cloud/results.log'));
  const consoleTree = parseLog(await fixture('panic-cloud/console.log')).tree;
  panic.tree.tests.find((n) => n.name === 'panics')!.splats.push(...consoleTree.splats);
  const crashXml = toJunit(panic.tree);
  t.regex(crashXml, /<error type="crashed"/);
  // The message is the bug's title; the report itself, from its raw first line, is the body.
  t.regex(crashXml, /<testcase classname="panics" name="kernel panic #1"><error type="kernel-panic" message="kernel panic: sysrq triggered crash">Kernel panic - not syncing: sysrq triggered crash/);
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  for (const [name, text] of [['a.xml', xml], ['b.xml', crashXml]] as const) {
    await writeFile(join(tmp.path, name), text);
    // A real XML parser: python's, which ships on every Debian/Ubuntu machine.
    const check = await realExec.run({ command: 'python3', args: ['-c', 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])', join(tmp.path, name)] });
    t.is(check.exitCode, 0, check.stderr);
  }
});

test('XML escaping drops control characters that XML 1.0 forbids', (t) => {
  t.is(xmlEscape('a<b>&"\u0001c'), 'a&lt;b&gt;&amp;&quot;c');
});

test('GitHub: a step summary table and one ::error annotation per failing leaf', async (t) => {
  const broken = parseLog(await fixture('broken-flag-check/results.log'));
  const md = stepSummary(broken.tree, broken.headline, '/runs/r');
  t.regex(md, /^## vm-test: tests failed/);
  t.regex(md, /\| ❌ \| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;contract \| fail \|/);
  const notes = annotations(broken.tree);
  t.is(notes.length, 1);
  t.regex(notes[0]!, /^::error title=vm-test: test_progs\/map_cmp_delete\/contract fail::/);
  t.false(notes[0]!.includes('\n'));
});

test('TAP output parses back to the same statuses', async (t) => {
  const broken = parseLog(await fixture('broken-flag-check/results.log'));
  const again = parseKtap(toTap(broken.tree));
  const statuses = (nodes: typeof again.tests): unknown[] => nodes.map((n) => [n.name, n.status, statuses(n.children)]);
  t.deepEqual(statuses(again.tests), statuses(broken.tree.tests));
});
