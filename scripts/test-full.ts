// npm run test:full: the opt-in long check (about 40 minutes cold). The tree's own BPF selftests build
// (--full-selftests) runs map_cmp_delete beside the targeted test_progs, and the two must agree; its
// test_progs must load the bpf_testmod.ko built against this kernel. Pass a series to check another
// revision: npm run test:full -- --series bpf-f-compare/v1-6.12.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';

$.verbose = true;
const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'ci-out');
await $`mkdir -p ${out}`;
const json = join(out, 'full.json');
const started = Date.now();
const run = await $({ cwd: root, nothrow: true })`node --import tsx orchestrator/cli.ts --full-selftests --guest-tests none --json ${json} ${process.argv.slice(2)}`;
const seconds = Math.round((Date.now() - started) / 1000);

interface Node { name: string; status: string; tests: Node[]; log: string[] }
const result = JSON.parse(await readFile(json, 'utf8').catch(() => '{"tests":[]}')) as { tests: Node[]; status: string };
const top = (name: string) => result.tests.find((t) => t.name === name);
const checks: [string, boolean][] = [
  ['the run passed (exit 0)', run.exitCode === 0],
  ['targeted-vs-full: the two test_progs builds agree', top('targeted-vs-full')?.status === 'pass'],
  ['the full test_progs ran map_cmp_delete/contract and it passed', !!top('test_progs')?.tests.find((t) => t.name === 'map_cmp_delete')?.tests.some((t) => t.name === 'contract' && t.status === 'pass')],
  ['it loaded the bpf_testmod.ko built against this kernel', !(top('test_progs')?.log ?? ['missing']).some((l) => /bpf_testmod.ko will be skipped|find bpf_testmod.ko/.test(l))],
];
// vm-test exec --full-selftests: the same build (nothing rebuilt), its runners where the build said they are.
const guestDir = '/run/vm-test-build/vm-test-selftests/full';
const exec = await $({ cwd: root, nothrow: true })`node --import tsx orchestrator/cli.ts exec --full-selftests ${process.argv.slice(2)} -- sh -c ${`cd ${guestDir} && ./test_progs -t map_cmp_delete`}`;
checks.push(
  ['exec --full-selftests says where the full selftests are in the guest', exec.stderr.includes(`the full selftests are in the guest at ${guestDir}`)],
  ['exec --full-selftests ran that test_progs there, and map_cmp_delete passed (exit 0)', exec.exitCode === 0 && /#\d+\s+map_cmp_delete:OK/.test(exec.stdout)],
);
for (const [name, ok] of checks) console.log(`test:full: ${ok ? 'ok' : 'FAILED'} - ${name}`);
console.log(`test:full: ${seconds} s`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
