// KCIDB output, checked against kcidb-io's own v5.3 JSON Schema (read from ../shared/kcidb/, never copied here: it is GPL data).
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportOutcome } from '../../orchestrator/commands/run-command.ts';
import type { RunIdentity } from '../../orchestrator/identity.ts';
import { parseLog } from '../../orchestrator/commands/parse-command.ts';
import type { OutcomeKind } from '../../orchestrator/outcome.ts';
import { readSavedRun, REPORT_FORMATS } from '../../orchestrator/report/formats.ts';
import { toKcidb, worstStatus, type KcidbSubmission } from '../../orchestrator/report/kcidb-report.ts';
import { assembleResults, type Verdict } from '../../orchestrator/results/assemble.ts';
import { splitResults } from '../../orchestrator/results/sections.ts';
import { attributeSplats, scanSplats } from '../../orchestrator/results/splats.ts';
import type { RunOutcome, StageRecord } from '../../orchestrator/run.ts';
import { loadSeries, seriesRecord } from '../../orchestrator/series/series.ts';
import type { VmOutcome } from '../../orchestrator/vm/run-vm.ts';
import { realExec, tempDir } from '../helpers.ts';
import { haveKcidbSchema, kcidbProblems, NO_KCIDB_SCHEMA } from '../kcidb-schema.ts';

const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const SERIES_DIR = join(repoRoot, 'patches', 'bpf-f-compare', 'v1');
const fixture = (path: string) => readFile(join(repoRoot, 'test/fixtures/runs', path), 'utf8');

const schemaTest = haveKcidbSchema ? test : test.skip;
if (!haveKcidbSchema) console.log(NO_KCIDB_SCHEMA);
const valid = kcidbProblems;

const STAGES_TO_TESTS: StageRecord[] = [
  { stage: 'host', status: 'ok', elapsedMs: 6, detail: 'checking host tools' },
  { stage: 'source', status: 'ok', elapsedMs: 33900, detail: 'deb:linux-source-7.3=7.3.4-1~bpo13+1@trixie-backports' },
  { stage: 'series', status: 'ok', elapsedMs: 7111, detail: 'bpf-f-compare/v1: git am 3 patches', result: 'f3f73978f3ea (tree fef1df764ae9)' },
  { stage: 'build', status: 'ok', elapsedMs: 345815, detail: 'kernel: 96 requested options on allnoconfig, -j3', result: '/b/arch/x86/boot/bzImage' },
];

const identity = (): RunIdentity => ({
  kernel: { built: '2e5ba6be2587a5eba6da802d97814cbc7add3f82', booted: '2e5ba6be2587a5eba6da802d97814cbc7add3f82', image: 'holds the built vmlinux', bzImageSha256: 'a'.repeat(64), release: '7.3.4+' },
  tree: 'fef1df764ae98d272541ae74dee49b3b1393beeb', config: 'c'.repeat(64), series: 'ffd32e196ba7748b', init: 'd'.repeat(64), tests: [],
});

/**
 * A run directory as reportOutcome leaves it, for this ending: the series is the project's own bpf-f-compare/v1,
 * the verdict one of the real captures (or none: stopped before the tests).
 */
async function runDirFor(t: { teardown(fn: () => Promise<void>): void }, ending: { verdict: Verdict } | { kind: OutcomeKind; headline: string; stages: StageRecord[]; excerpt: string[] }) {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, '20261207-080617-bpf-f-compare_v1-6707');
  await realExec.run({ command: 'mkdir', args: [runDir] });
  // What the exec port logs for the kernel's make (build.log's "$ " lines), and the .config's own compiler line.
  await writeFile(join(runDir, 'build.log'), "$ make -C /src O=/b -j3 'CC=gcc' 'HOSTCC=gcc' allnoconfig\n$ make -C /src O=/b -j3 'CC=gcc' 'HOSTCC=gcc' bzImage headers_install\n  CC      kernel/bpf/hashtab.o\n");
  const checkout = { kernel: 'deb:linux-source-7.3=7.3.4-1~bpo13+1@trixie-backports', baseCommit: '84ea9b33ba7674fcea048a5e89bfce7944714215', version: '7.3.4', series: await seriesRecord(await loadSeries(SERIES_DIR, join(repoRoot, 'patches'))) };
  const build = { arch: 'x86_64', compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', config: ['vm', 'bpf', 'slim'] };
  const base = { runDir, evidence: {}, timings: {}, source: { description: checkout.kernel }, checkout, build };
  let outcome: RunOutcome;
  if ('verdict' in ending) {
    await writeFile(join(runDir, 'kernel.config'), 'CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14+deb12u1) 12.2.0"\nCONFIG_64BIT=y\nCONFIG_X86_64=y\n');
    const id = identity();
    const stages: StageRecord[] = [...STAGES_TO_TESTS, { stage: 'vm', status: 'ok', elapsedMs: 9796, detail: 'booting' }, { stage: 'results', status: 'ok', elapsedMs: 8, detail: ending.verdict.headline }];
    outcome = { ...base, kind: ending.verdict.kind, headline: ending.verdict.headline, stages, identity: id,
      tested: { bootKey: 'k', identity: id, verdict: ending.verdict, vm: { bootMs: 1755, durationMs: 9796 } as VmOutcome, accel: { accel: 'tcg', reason: 'fixture' } } };
  } else {
    outcome = { ...base, kind: ending.kind, headline: ending.headline, stages: ending.stages, evidence: { excerpt: ending.excerpt, logPath: join(runDir, 'build.log') } };
  }
  const kcidbOut = join(tmp.path, 'kcidb.json');
  const sink = { write: () => {} };
  await reportOutcome({ stdout: sink, stderr: sink }, outcome, { kcidbOut, github: false }, 0);
  return { runDir, submission: JSON.parse(await readFile(kcidbOut, 'utf8')) as KcidbSubmission };
}

const byPath = (s: KcidbSubmission, path: string) => s.tests.find((t) => t.path === path);

schemaTest('a passing run: a valid submission whose checkout carries the base commit and KCIDB\'s patchset hash, every test PASS', async (t) => {
  const pass = parseLog(await fixture('pass/results.log'));
  const { runDir, submission } = await runDirFor(t, { verdict: { ...pass, blockingSplats: [] } });
  t.is(valid(submission), undefined);
  const [checkout] = submission.checkouts;
  t.is(checkout!.git_commit_hash, '84ea9b33ba7674fcea048a5e89bfce7944714215');
  // The hash as KCIDB's schema defines it, computed by the shell command it gives, on the series' own files.
  const shell = await realExec.run({ command: 'sh', args: ['-c', 'sha256sum 0001-*.patch 0002-*.patch 0003-*.patch | cut -c-64 | sha256sum | cut -c-64'], cwd: SERIES_DIR });
  t.is(checkout!.patchset_hash, shell.stdout.trim());
  t.deepEqual(checkout!.patchset_files!.map((f) => f.name), ['0001-0001-bpf-add-BPF_F_COMPARE-flag-and-compare-fields-to-map.patch', '0002-0002-bpf-implement-compare-and-delete-BPF_F_COMPARE-for-B.patch', '0003-0003-selftests-bpf-test-BPF_F_COMPARE-compare-and-delete.patch']);
  t.true(checkout!.valid);
  const [build] = submission.builds;
  t.like(build, { architecture: 'x86_64', compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', config_name: 'vm+bpf+slim', duration: 345.815, status: 'PASS', checkout_id: checkout!.id });
  t.is(build!.command, "make -C /src O=/b -j3 'CC=gcc' 'HOSTCC=gcc' bzImage headers_install");
  t.true(submission.tests.length > 3);
  t.true(submission.tests.every((x) => x.status === 'PASS' && x.build_id === build!.id && x.id.startsWith('vm_test:')), JSON.stringify(submission.tests.filter((x) => x.status !== 'PASS')));
  t.truthy(byPath(submission, 'vm_test.test_progs.map_cmp_delete'));
  t.is(byPath(submission, 'vm_test.boot')!.duration, 1.755);
  t.deepEqual([submission.issues, submission.incidents], [[], []]);
  // `vm-test report RUN_DIR --format kcidb` gives the same file: ids come from the record, not from when it is read.
  t.deepEqual(JSON.parse(REPORT_FORMATS.kcidb(await readSavedRun(runDir))), submission);
});

schemaTest('a failing run: the failed leaf FAIL with its assertion, its parents FAIL, the root FAIL', async (t) => {
  const broken = parseLog(await fixture('broken-flag-check/results.log'));
  t.is(broken.kind, 'testsFailed');
  const { submission } = await runDirFor(t, { verdict: { ...broken, blockingSplats: [] } });
  t.is(valid(submission), undefined);
  const leaf = byPath(submission, 'vm_test.test_progs.map_cmp_delete.contract')!;
  t.is(leaf.status, 'FAIL');
  t.regex(leaf.log_excerpt!, /compare fields without flag -> EINVAL/);
  t.deepEqual(['vm_test.test_progs.map_cmp_delete', 'vm_test.test_progs', 'vm_test'].map((p) => byPath(submission, p)!.status), ['FAIL', 'FAIL', 'FAIL']);
  t.is(submission.builds[0]!.status, 'PASS');
});

schemaTest('a crashed run: the panic is an issue with its bug title, and its incident names the test it interrupted', async (t) => {
  const results = await fixture('panic-cloud/results.log');
  const consoleLog = await fixture('panic-cloud/console.log');
  const planned = splitResults(results).sections.map((s) => ({ name: s.name, kind: 'ktap' as const, argv: [], timeoutSec: 0 }));
  const verdict = assembleResults({ resultsText: results, planned, splats: attributeSplats(scanSplats(consoleLog), consoleLog), vm: { end: 'crashed', detail: 'the kernel panicked' } });
  t.is(verdict.kind, 'kernelCrash');
  const { submission } = await runDirFor(t, { verdict });
  t.is(valid(submission), undefined);
  t.is(submission.issues.length, 1);
  // Named by the bug's title (syzkaller's style, the same in every run), with the report's first line beside it.
  t.is(submission.issues[0]!.comment, 'kernel panic: sysrq triggered crash');
  t.is(submission.issues[0]!.comment, verdict.tree.splats[0]!.bugTitle ?? '(no bug title)');
  t.is(submission.issues[0]!.misc!.first_line, 'Kernel panic - not syncing: sysrq triggered crash');
  t.is(submission.incidents.length, 1);
  const incident = submission.incidents[0]!;
  t.is(incident.issue_id, submission.issues[0]!.id);
  const panics = byPath(submission, 'vm_test.panics')!;
  t.is(incident.test_id, panics.id);
  t.is(panics.status, 'FAIL');
  t.is(byPath(submission, 'vm_test.before')!.status, 'PASS');
  t.is(byPath(submission, 'vm_test')!.status, 'FAIL');
});

schemaTest('a run stopped by a build error: a FAIL build with the compiler\'s error and no tests', async (t) => {
  const excerpt = ['kernel/bpf/hashtab.c:1234:9: error: implicit declaration of function \'htab_cmp\''];
  const { submission } = await runDirFor(t, {
    kind: 'buildFailed', headline: 'kernel build failed at kernel/bpf/hashtab.c:1234', excerpt,
    stages: [...STAGES_TO_TESTS.slice(0, 3), { stage: 'build', status: 'failed', elapsedMs: 61000, detail: 'kernel', result: 'kernel build failed at kernel/bpf/hashtab.c:1234' }],
  });
  t.is(valid(submission), undefined);
  t.like(submission.builds[0], { status: 'FAIL', duration: 61 });
  t.regex(submission.builds[0]!.log_excerpt!, /implicit declaration of function 'htab_cmp'/);
  t.deepEqual(submission.tests, []);
  t.true(submission.checkouts[0]!.valid);
});

schemaTest('a series that does not apply: an invalid checkout, no build; QEMU failing after the build: the tests MISS', async (t) => {
  const apply = await runDirFor(t, {
    kind: 'patchDidNotApply', headline: 'patch 2/3 does not apply', excerpt: ['error: patch failed: kernel/bpf/hashtab.c:2366'],
    stages: [...STAGES_TO_TESTS.slice(0, 2), { stage: 'series', status: 'failed', elapsedMs: 900, detail: 'git am', result: 'patch 2/3 does not apply' }],
  });
  t.is(valid(apply.submission), undefined);
  t.like(apply.submission.checkouts[0], { valid: false });
  t.regex(apply.submission.checkouts[0]!.log_excerpt!, /patch failed: kernel\/bpf\/hashtab.c:2366/);
  t.deepEqual([apply.submission.builds, apply.submission.tests], [[], []]);
  const qemu = await runDirFor(t, { kind: 'vmInfra', headline: 'QEMU exited 1 before the guest started', excerpt: ['qemu-system-x86_64: -accel kvm: failed to initialize kvm'], stages: STAGES_TO_TESTS });
  t.is(valid(qemu.submission), undefined);
  t.deepEqual(qemu.submission.tests.map((x) => [x.path, x.status]), [['vm_test', 'MISS']]);
});

schemaTest('the schema check can fail: a status KCIDB does not have, or a path with a slash, is rejected', async (t) => {
  const pass = parseLog(await fixture('pass/results.log'));
  const { submission } = await runDirFor(t, { verdict: { ...pass, blockingSplats: [] } });
  t.regex(valid({ ...submission, tests: [{ ...submission.tests[0]!, status: 'CRASHED' }] }) ?? '', /must be equal to one of the allowed values/);
  t.regex(valid({ ...submission, tests: [{ ...submission.tests[0]!, path: 'vm_test.map_cmp_delete/contract' }] }) ?? '', /must match pattern/);
});

test('statuses rank as KCIDB orders them; a node\'s status is its worst', (t) => {
  t.is(worstStatus(['PASS', 'SKIP', 'MISS', 'ERROR']), 'ERROR');
  t.is(worstStatus(['SKIP', 'PASS', 'DONE']), 'PASS');
  t.is(worstStatus(['MISS', 'FAIL']), 'FAIL');
  t.is(worstStatus([]), undefined);
});

test('a run recorded before the checkout was kept still converts, and says what it lacks', (t) => {
  const submission = toKcidb({
    record: { status: 'not_run', run: { kind: 'patchDidNotApply', exitCode: 10, headline: 'patch 1/1 does not apply', runDir: '/runs/r', timingsMs: {}, kernel: 'deb:linux-source-7.2 (Linux 7.2.6, c4a0c26b4fc5)', stages: [] } },
    runDir: '/runs/r', files: new Set(),
  });
  t.like(submission.checkouts[0], { tree_name: 'deb:linux-source-7.2', valid: false });
  t.regex(String(submission.checkouts[0]!.misc!.note), /base commit and patches unknown/);
});

test('--format mail: what was tested (kernel, series and its patches, identity), the failing tests, each kernel report by its title and test, and the command that makes the run again', async (t) => {
  const broken = parseLog(await fixture('broken-flag-check/results.log'));
  const failing = await runDirFor(t, { verdict: { ...broken, blockingSplats: [] } });
  const mail = REPORT_FORMATS.mail(await readSavedRun(failing.runDir));
  t.regex(mail, /^vm-test: FAIL: /);
  t.regex(mail, /^Kernel: {2}deb:linux-source-7\.3=7\.3\.4-1~bpo13\+1@trixie-backports$/m);
  t.regex(mail, /^Series: {2}\[RFC bpf-next 0\/3\] Add BPF_F_COMPARE compare-and-delete for BPF hash maps/m);
  t.regex(mail, /^ {9}\[RFC bpf-next 2\/3\] bpf: implement compare-and-delete/m);
  t.regex(mail, /^Tested: {2}kernel 7\.3\.4\+ build ID 2e5ba6be2587a5eba6da802d97814cbc7add3f82 \(booted = built\)/m);
  t.regex(mail, /^Failing:\n {2}test_progs\/map_cmp_delete\/contract: fail/m);
  t.regex(mail, /^Reproduce:\n {2}npm run vm-test -- --kernel deb:linux-source-7\.3=7\.3\.4-1~bpo13\+1@trixie-backports --series bpf-f-compare\/v1$/m);
  // reproduce.txt, where the run wrote it, is the reproducer.
  await writeFile(join(failing.runDir, 'reproduce.txt'), 'npm run vm-test -- --kernel X --series Y -t map_cmp_delete --guest-tests none\n');
  t.regex(REPORT_FORMATS.mail(await readSavedRun(failing.runDir)), /^ {2}npm run vm-test -- --kernel X --series Y -t map_cmp_delete --guest-tests none$/m);

  const results = await fixture('panic-cloud/results.log');
  const consoleLog = await fixture('panic-cloud/console.log');
  const planned = splitResults(results).sections.map((s) => ({ name: s.name, kind: 'ktap' as const, argv: [], timeoutSec: 0 }));
  const verdict = assembleResults({ resultsText: results, planned, splats: attributeSplats(scanSplats(consoleLog), consoleLog), vm: { end: 'crashed', detail: 'the kernel panicked' } });
  const crashed = await runDirFor(t, { verdict });
  const crashMail = REPORT_FORMATS.mail(await readSavedRun(crashed.runDir));
  t.regex(crashMail, /^kernel panic: sysrq triggered crash \(during panics\)$/m);
  t.regex(crashMail, /^ {2}Kernel panic - not syncing: sysrq triggered crash$/m);
});
