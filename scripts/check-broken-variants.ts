// For CI: every broken variant of patch 2/3 in test/fixtures/guest must fail the run (exit 1 or 3), and its
// results must show the expected case failing or crashed. Prints one line per variant and "N passed, N failed".
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';

$.verbose = false;
const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'test/fixtures/guest');
const expected = JSON.parse(await readFile(join(dir, 'expected-failures.json'), 'utf8')) as Record<string, string>;
const out = process.argv[2] ?? join(root, 'ci-out');
let passed = 0;
let failed = 0;
for (const name of (await readdir(dir)).filter((d) => d.startsWith('broken-')).sort()) {
  const json = join(out, `${name}.json`);
  const p = await $({ cwd: root, nothrow: true })`node --import tsx orchestrator/cli.ts --series ${join(dir, name)} --json ${json}`;
  const tree = JSON.parse(await readFile(json, 'utf8').catch(() => '{"tests":[]}')) as { tests: Node[] };
  interface Node { name: string; status: string; tests: Node[] }
  const bad: string[] = [];
  const walk = (n: Node, path: string[]) => {
    const here = [...path, n.name].join('/');
    if (n.tests.length === 0 && (n.status === 'fail' || n.status === 'crashed')) bad.push(here);
    n.tests.forEach((c) => walk(c, [...path, n.name]));
  };
  tree.tests.forEach((t) => walk(t, []));
  const want = expected[name];
  const ok = (p.exitCode === 1 || p.exitCode === 3) && want !== undefined && bad.some((b) => b.startsWith(want));
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${name}: exit ${p.exitCode}; failing: ${bad.join(', ') || 'none'}; expected ${want ?? '(no expectation)'}`);
  if (ok) passed++;
  else failed++;
}
console.log(`broken variants: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
