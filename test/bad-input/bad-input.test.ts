// The bad-input corpus: each case gets a clear message naming the file, line or option, its documented exit code,
// and keeps its run directory. They drive the real CLI, one at a time (they share the cache's lock).
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT } from '../../orchestrator/outcome.ts';
import { REQUIREMENTS } from '../../orchestrator/host/requirements.ts';
import { tempDir } from '../helpers.ts';
import { filesIn, runCli } from './cli-runner.ts';

const fixtures = new URL('../fixtures/', import.meta.url).pathname;

interface Case {
  name: string;
  args: (tmp: string) => string[];
  env?: (tmp: string) => Promise<Record<string, string>> | Record<string, string>;
  exit: number;
  message: RegExp;
  /** Files the run directory must still hold afterwards. */
  keeps?: string[];
}

/** A PATH with every required tool but one: the way a machine missing a package looks. */
async function pathWithout(tmp: string, missing: string): Promise<Record<string, string>> {
  const bin = join(tmp, 'bin');
  await mkdir(bin, { recursive: true });
  const tools = new Set(['node', 'env', 'sh', 'dpkg-query', 'apt-get', 'sudo', ...REQUIREMENTS.flatMap((r) => ('command' in r.probe ? [r.probe.command] : []))]);
  tools.delete(missing);
  for (const tool of tools) {
    const dir = (process.env.PATH ?? '').split(':').find((d) => existsSync(join(d, tool)));
    if (dir) await symlink(join(dir, tool), join(bin, tool));
  }
  return { PATH: bin, VM_TEST_NO_INSTALL: '1' };
}

const cases: Case[] = [
  { name: 'missing kernel path', args: () => ['--kernel', '/nonexistent/linux'], exit: EXIT.usage, message: /--kernel \/nonexistent\/linux: no such directory/, keeps: ['plan.txt'] },
  { name: 'a directory that is not a kernel tree', args: () => ['--kernel', fixtures], exit: EXIT.usage, message: /not a Linux kernel tree/ },
  { name: 'a malformed mbox', args: () => ['--series', join(fixtures, 'series/malformed')], exit: EXIT.usage, message: /malformed\/0001-broken\.patch:1: not an mbox patch/ },
  { name: 'a series directory that does not exist', args: () => ['--series', 'bpf-f-compare/v9'], exit: EXIT.usage, message: /no such directory \(known: bpf-f-compare\/v1, bpf-f-compare\/v1-6\.12\)/ },
  { name: 'a config fragment that is not Kconfig', args: () => ['--kconfig', join(fixtures, 'kconfig/garbage.config')], exit: EXIT.usage, message: /garbage\.config:2: not a Kconfig line/ },
  { name: 'an unknown option', args: () => ['--kconfig', join(fixtures, 'kconfig/unknown.config')], exit: EXIT.configDropped, message: /unknown\.config:3: CONFIG_VM_TEST_NO_SUCH_OPTION=y was requested but .* is not set \(unknown option/, keeps: ['plan.txt', 'build.log', 'error.txt'] },
  { name: 'an option whose dependencies cannot be met', args: () => ['--kconfig', join(fixtures, 'kconfig/unmet.config')], exit: EXIT.configDropped, message: /unmet\.config:2: CONFIG_DRM_I915=y .*depends on DRM/, keeps: ['build.log'] },
  { name: 'a patch that does not apply', args: () => ['--series', join(fixtures, 'series/does-not-apply')], exit: EXIT.patchDidNotApply, message: /patch 2\/3 .* does not apply; failed hunks: kernel\/bpf\/hashtab\.c:\d+/, keeps: ['series.log', 'series-failure.txt'] },
  { name: 'a missing qemu', args: () => [], env: (tmp) => pathWithout(tmp, 'qemu-system-x86_64'), exit: EXIT.missingTool, message: /missing host tools: qemu-system-x86_64 \(qemu-system-x86, [\s\S]*apt-get install -y qemu-system-x86/ },
  { name: 'a missing gcc', args: () => [], env: (tmp) => pathWithout(tmp, 'gcc'), exit: EXIT.missingTool, message: /missing host tools: gcc \(gcc,/ },
  { name: 'a bad option value', args: () => ['--timeout', '-5'], exit: EXIT.usage, message: /--timeout -5: expected a positive number/ },
  // Refused when the run is planned, before any build: --dry-run says the same.
  { name: 'a guest suite selection that matches nothing', args: () => ['--guest-tests', 'nosuch'], exit: EXIT.usage, message: /guest suite selection "nosuch" matches no guest suite \(suites: compare-contract, gc-race, update-atomicity, map-in-map\)/ },
  { name: 'the same, with --dry-run', args: () => ['--dry-run', '--guest-tests', 'nosuch'], exit: EXIT.usage, message: /matches no guest suite/ },
  { name: 'nothing to run', args: () => ['--test-progs', 'none', '--guest-tests', 'none'], exit: EXIT.usage, message: /nothing to run: --test-progs none and --guest-tests none select no test/ },
  { name: 'an allowlist kind that is not a splat kind', args: () => ['--allowlist', join(fixtures, 'results/allowlist-bad-kind.txt')], exit: EXIT.usage, message: /allowlist-bad-kind\.txt:3: not a valid allowlist entry: "softlockup" is not a splat kind \(known: panic, bug, oops, warning/ },
  { name: 'an allowlist regex that does not compile, with --dry-run', args: () => ['--dry-run', '--allowlist', join(fixtures, 'results/allowlist-bad-regex.txt')], exit: EXIT.usage, message: /allowlist-bad-regex\.txt:2: not a valid allowlist entry: .*Invalid regular expression/ },
];

for (const c of cases) {
  test.serial(`bad input: ${c.name}`, async (t) => {
    const tmp = await tempDir();
    t.teardown(tmp.cleanup);
    const runDir = join(tmp.path, 'run');
    const r = await runCli(['--run-dir', runDir, ...c.args(tmp.path)], await c.env?.(tmp.path));
    t.is(r.exitCode, c.exit, r.stderr + r.stdout);
    t.regex(r.stderr, c.message);
    t.regex(r.stderr, new RegExp(`exit code ${c.exit} `));
    // A plan-time refusal builds nothing: not even the run directory is made.
    if (c.message.source.includes('allowlist') || /nothing to run|matches no guest suite/.test(c.message.source)) t.false(existsSync(runDir), 'refused before the run directory was made');
    for (const f of c.keeps ?? []) t.true(filesIn(runDir).includes(f), `${f} kept in the run directory (has: ${filesIn(runDir).join(', ')})`);
    if (c.keeps?.includes('error.txt')) t.regex(await readFile(join(runDir, 'error.txt'), 'utf8'), c.message);
  });
}

test.serial('doctor names the apt package of a tool only --full-selftests needs', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const r = await runCli(['doctor'], await pathWithout(tmp.path, 'clang-19'));
  t.regex(r.stdout, /missing \(--full-selftests\)\s+clang-19\s+apt: clang-19/);
});
