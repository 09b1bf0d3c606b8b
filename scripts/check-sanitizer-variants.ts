// What --sanitize is for, checked for real: each sanitizer-only broken variant of patch 2/3
// (test/fixtures/series/sanitizer-variants.json) passes without the switch and, with it, fails with its expected
// bug title, attributed to its named test; and the series as posted passes with it (no report of the sanitizer
// kernel's own). Prints a line per run and "N passed, N failed"; exit 1 on any failure.
//   node --import tsx scripts/check-sanitizer-variants.ts [OUT_DIR] [variant ...] [-- vm-test options for every run]
// (.ci/run: the kmemleak variant with -- --guest-tests compare-contract, its short real slice)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';

$.verbose = false;
const root = new URL('..', import.meta.url).pathname;
const fixtures = join(root, 'test/fixtures/series');
/** title: the report wanted, during test; also: other titles the same bug may bring. Any other report fails the check. */
interface Expected { sanitizer: string; title: string; test: string; what: string; also?: string[] }
const expected = JSON.parse(await readFile(join(fixtures, 'sanitizer-variants.json'), 'utf8')) as Record<string, Expected>;
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const extra = dash < 0 ? [] : args.slice(dash + 1);
const [out = join(root, 'ci-out'), ...only] = dash < 0 ? args : args.slice(0, dash);
await mkdir(out, { recursive: true });

interface Splat { bug_title?: string; title: string; test?: string }
interface Node { name: string; status: string; tests: Node[] }
interface Results { status: string; tests: Node[]; splats: Splat[]; counts: { crashed: number } }

let passed = 0;
let failed = 0;
function report(ok: boolean, line: string) {
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${line}`);
  if (ok) passed++;
  else failed++;
}

async function run(label: string, runArgs: string[]): Promise<{ exitCode: number; results?: Results; seconds: number }> {
  const json = join(out, `${label}.json`);
  const start = Date.now();
  const p = await $({ cwd: root, nothrow: true })`node --import tsx orchestrator/cli.ts ${runArgs} ${extra} --json ${json}`;
  await writeFile(join(out, `${label}.log`), p.stdout + p.stderr);
  const results = await readFile(json, 'utf8').then((t) => JSON.parse(t) as Results, () => undefined);
  return { exitCode: p.exitCode ?? -1, seconds: Math.round((Date.now() - start) / 1000), ...(results ? { results } : {}) };
}

const status = (r: Results | undefined, test: string) => r?.tests.find((t) => t.name === test)?.status ?? 'absent';

if (!only.length) {
  const posted = await run('sanitize-v1', ['--sanitize']);
  const titles = (posted.results?.splats ?? []).map((s) => s.bug_title ?? s.title);
  report(posted.exitCode === 0, `v1 --sanitize: exit ${posted.exitCode} in ${posted.seconds} s; reports: ${titles.join('; ') || 'none'} (want exit 0, none)`);
}

for (const [name, want] of Object.entries(expected)) {
  if (only.length && !only.includes(name)) continue;
  const series = join(fixtures, name);
  const plain = await run(`${name}-plain`, ['--series', series]);
  report(plain.exitCode === 0 && status(plain.results, want.test) === 'pass',
    `${name} without --sanitize: exit ${plain.exitCode} in ${plain.seconds} s, ${want.test} ${status(plain.results, want.test)} (want exit 0, pass)`);
  const sanitized = await run(`${name}-sanitize`, ['--series', series, '--sanitize']);
  const splats = sanitized.results?.splats ?? [];
  const titleOf = (s: Splat) => s.bug_title ?? s.title;
  const hit = splats.find((s) => titleOf(s) === want.title && s.test === want.test);
  const others = splats.filter((s) => titleOf(s) !== want.title && !want.also?.includes(titleOf(s)));
  // The reports are the kernel complaining, not dying: every test still runs to its end.
  const crashed = sanitized.results?.counts.crashed ?? -1;
  const seen = new Map<string, number>();
  for (const s of splats) seen.set(`${titleOf(s)} during ${s.test ?? '?'}`, (seen.get(`${titleOf(s)} during ${s.test ?? '?'}`) ?? 0) + 1);
  report(sanitized.exitCode === 3 && !!hit && others.length === 0 && crashed === 0,
    `${name} with --sanitize (${want.sanitizer}): exit ${sanitized.exitCode} in ${sanitized.seconds} s, ${crashed} crashed; reports: ${[...seen].map(([k, n]) => (n > 1 ? `${k} (x${n})` : k)).join('; ') || 'none'} (want exit 3, ${want.title} during ${want.test}, none crashed)`);
}
console.log(`sanitizer variants: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
