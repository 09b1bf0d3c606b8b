// `vm-test parse` over real captures from real runs, each with its expected verdict.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { detectKind, parseLog } from '../../orchestrator/commands/parse-command.ts';
import { main } from '../../orchestrator/cli.ts';
import { EXIT } from '../../orchestrator/outcome.ts';

const fixture = (path: string) => readFile(new URL(`../fixtures/runs/${path}`, import.meta.url), 'utf8');

test('a passing run: map_cmp_delete/contract passed, exit 0', async (t) => {
  const text = await fixture('pass/results.log');
  t.is(detectKind(text), 'results');
  const r = parseLog(text);
  t.is(r.exitCode, EXIT.passed);
  const tp = r.tree.tests[0]!;
  t.is(tp.name, 'test_progs');
  t.deepEqual(tp.children.map((c) => [c.name, c.status, c.children.map((s) => [s.name, s.status])]), [['map_cmp_delete', 'pass', [['contract', 'pass']]]]);
});

test('the broken series: contract failed, the failing assertion is in its log, exit 1', async (t) => {
  const r = parseLog(await fixture('broken-flag-check/results.log'));
  t.is(r.exitCode, EXIT.testsFailed);
  const contract = r.tree.tests[0]!.children[0]!.children[0]!;
  t.is(contract.status, 'fail');
  t.true(contract.log.some((l) => l.includes('test_contract:FAIL:compare fields without flag -> EINVAL')));
  t.regex(r.headline, /test_progs\/map_cmp_delete\/contract failed: compare fields without flag -> EINVAL/);
});

test('the test_progs output alone parses the same way', async (t) => {
  const results = await fixture('broken-flag-check/results.log');
  const body = results.split('\n').filter((l) => !l.startsWith('# vm-test:')).join('\n');
  t.is(detectKind(body), 'test_progs');
  const r = parseLog(body);
  t.is(r.tree.status, 'fail');
  t.is(r.tree.counts.failed, 1);
});

test('a panic in the console log: exit 3, attributed to the test that was running', async (t) => {
  const consoleLog = await fixture('panic-cloud/console.log');
  const r = parseLog(consoleLog);
  const panic = r.tree.splats.find((s) => s.kind === 'panic');
  t.is(panic?.test, 'panics');
  t.is(r.exitCode, EXIT.kernelCrash);
  const results = parseLog(await fixture('panic-cloud/results.log'));
  t.is(results.tree.tests.find((n) => n.name === 'panics')?.status, 'crashed');
});

test('the CLI parses a file to JSON with the documented shape, and names a missing file', async (t) => {
  const written: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(['parse', new URL('../fixtures/runs/pass/results.log', import.meta.url).pathname, '--format', 'json']);
  } finally {
    process.stdout.write = out;
  }
  t.is(code, 0);
  const json = JSON.parse(written.join(''));
  t.is(json.status, 'pass');
  t.deepEqual(Object.keys(json.counts).sort(), ['crashed', 'errors', 'failed', 'passed', 'skipped']);
  t.is(json.counts.passed, 1);
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    t.is(await main(['parse', '/nonexistent/console.log']), EXIT.usage);
  } finally {
    process.stderr.write = err;
  }
});
