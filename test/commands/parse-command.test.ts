// `vm-test parse` over real captures from real runs, each with its expected verdict.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectKind, parseLog } from '../../orchestrator/commands/parse-command.ts';
import { main } from '../../orchestrator/cli.ts';
import { EXIT } from '../../orchestrator/outcome.ts';
import { runCli } from '../bad-input/cli-runner.ts';
import { tempDir } from '../helpers.ts';

const fixture = (path: string) => readFile(new URL(`../fixtures/runs/${path}`, import.meta.url), 'utf8');
const fixturePath = (path: string) => new URL(`../fixtures/${path}`, import.meta.url).pathname;

test('a passing run: map_cmp_delete/contract passed, exit 0', async (t) => {
  const text = await fixture('pass/results.log');
  t.is(detectKind(text), 'results');
  const r = parseLog(text);
  t.is(r.kind, 'passed');
  const tp = r.tree.tests[0]!;
  t.is(tp.name, 'test_progs');
  t.deepEqual(tp.children.map((c) => [c.name, c.status, c.children.map((s) => [s.name, s.status])]), [['map_cmp_delete', 'pass', [['contract', 'pass']]]]);
});

test('the broken series: contract failed, the failing assertion is in its log, exit 1', async (t) => {
  const r = parseLog(await fixture('broken-flag-check/results.log'));
  t.is(r.kind, 'testsFailed');
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
  t.is(r.kind, 'kernelCrash');
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

test.serial('CLI: the run directory\'s test_progs.json is read as test_progs -J output: the pass passes', async (t) => {
  t.is(detectKind(await fixture('pass/test_progs.json')), 'json');
  const r = await runCli(['parse', fixturePath('runs/pass/test_progs.json')]);
  t.is(r.exitCode, EXIT.passed, r.stderr);
  t.regex(r.stdout, /PASS: all tests passed \(1 passed, 0 failed, 0 crashed, 0 skipped\) \(exit 0\)/);
  t.regex(r.stdout, /\(1 passed, not listed\)/);
});

test.serial('CLI: the broken series\' test_progs.json fails with the assertion that failed', async (t) => {
  const r = await runCli(['parse', fixturePath('runs/broken-flag-check/test_progs.json'), '--format', 'json']);
  t.is(r.exitCode, EXIT.testsFailed, r.stderr);
  const json = JSON.parse(r.stdout);
  t.is(json.status, 'fail');
  t.regex(json.run.headline, /^tests failed .*first: map_cmp_delete\/contract failed: compare fields without flag -> EINVAL/);
});

test.serial('CLI: --kind json forces the JSON parser; a text log read as JSON is a parse error', async (t) => {
  const r = await runCli(['parse', fixturePath('runs/pass/results.log'), '--kind', 'json']);
  t.is(r.exitCode, EXIT.testsFailed, r.stderr);
  t.regex(r.stdout, /FAIL: test output could not be parsed cleanly \(1 errors; 0 passed/);
  const bad = await runCli(['parse', fixturePath('runs/pass/test_progs.json'), '--kind', 'nope']);
  t.is(bad.exitCode, EXIT.usage);
  t.regex(bad.stderr, /Choices: "results", "test_progs", "json", "ktap"/);
});

test.serial('CLI: two real test_progs runs in one log are two runs; one failing fails the log', async (t) => {
  const r = await runCli(['parse', fixturePath('results/test-progs/two-runs-fail-then-pass.log'), '--format', 'json']);
  t.is(r.exitCode, EXIT.testsFailed, r.stderr);
  const json = JSON.parse(r.stdout);
  t.deepEqual(json.tests.map((n: { name: string; status: string }) => `${n.name}:${n.status}`), ['run 1:fail', 'run 2:pass']);
  t.regex(json.run.headline, /^tests failed \(1 passed, 1 failed, 0 crashed, 0 skipped\); first: run 1\/map_cmp_delete\/contract failed: compare fields without flag/);
});

test.serial('CLI: the passing capture twice is two passing runs, exit 0', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const body = (await fixture('pass/results.log')).split('\n').filter((l) => !l.startsWith('# vm-test:')).join('\n');
  const file = join(tmp.path, 'twice.log');
  await writeFile(file, body + body);
  const r = await runCli(['parse', file]);
  t.is(r.exitCode, EXIT.passed, r.stderr + r.stdout);
  t.regex(r.stdout, /ok {4}run 1[\s\S]*ok {4}run 2/);
  t.regex(r.stdout, /PASS: all tests passed \(2 passed/);
});

// A real UML console (KUnit's test_data) with two passing tests and a real WARNING splat.
const warningLog = fixturePath('results/kunit/test_output_isolated_correctly.log');

test.serial('CLI: --allowlist applies before the exit code: an accepted WARNING no longer exits 3', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const without = await runCli(['parse', warningLog]);
  t.is(without.exitCode, EXIT.kernelCrash, without.stderr);
  // Headed by the bug's title; the raw title line, with its CPU and PID, is the first line of the report below it.
  t.regex(without.stdout, /kernel warning: WARNING in clockevents_register_device\n.*\n\s+WARNING: CPU: 0 PID: 0 at kernel\/time\/clockevents\.c:458/);
  const allow = join(tmp.path, 'allow.txt');
  await writeFile(allow, '# UML registers its clockevent device without a cpumask\nwarning: clockevents_register_device\n');
  const r = await runCli(['parse', warningLog, '--allowlist', allow, '--format', 'json']);
  t.is(r.exitCode, EXIT.passed, r.stderr);
  const json = JSON.parse(r.stdout);
  t.is(json.run.headline, 'all tests passed (2 passed, 0 failed, 0 crashed, 0 skipped)');
  t.is(json.splats[0].allowed_by, 'warning: clockevents_register_device');
});

test.serial('CLI: an allowlist entry of another kind does not accept the splat', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const allow = join(tmp.path, 'allow.txt');
  await writeFile(allow, 'panic: clockevents_register_device\n');
  const r = await runCli(['parse', warningLog, '--allowlist', allow]);
  t.is(r.exitCode, EXIT.kernelCrash, r.stderr);
});

test.serial('CLI: an invalid allowlist regex is a usage error naming file:line, before anything is parsed', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const allow = join(tmp.path, 'allow.txt');
  await writeFile(allow, '# known\nwarning: clockevents\nbug: [unclosed\n');
  const r = await runCli(['parse', warningLog, '--allowlist', allow]);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, new RegExp(`vm-test: error: ${allow}:3: not a valid allowlist entry: Invalid regular expression: /\\[unclosed/m: Unterminated character class`));
  t.regex(r.stderr, new RegExp(`at ${allow}:3\n`));
  t.regex(r.stderr, /exit code 2 \(usage\)/);
  t.is(r.stdout, '');
});

test.serial('CLI: a missing allowlist file is a usage error naming it', async (t) => {
  const r = await runCli(['parse', warningLog, '--allowlist', '/nonexistent/allow.txt']);
  t.is(r.exitCode, EXIT.usage, r.stderr);
  t.regex(r.stderr, /vm-test: error: --allowlist \/nonexistent\/allow\.txt: no such file/);
});
