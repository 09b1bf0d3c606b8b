// --series lore:<message-id>: the real b4 am on threads made from our own mbox files (b4 am -m, no network), and the
// network path's command line and error handling with a fake b4 through the exec port.
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { b4AmArgs, baseCommitOf, describeLoreReport, fetchLoreThread, parseB4Output, parseLoreSpec, unfoldHeaders, type LoreFetchContext } from '../../orchestrator/series/lore.ts';
import { splitMbox } from '../../orchestrator/series/mbox.ts';
import { loadLoreSeries, seriesHash } from '../../orchestrator/series/series.ts';
import { fakeExec, realExec, tempDir } from '../helpers.ts';
import { messageId, reviewReply, threadMbox } from './lore-thread.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const V1 = join(REPO, 'patches/bpf-f-compare/v1');
const BASE = 'a975094bf98ca97be9146f9d3b5681a6f9cf5ce3';
const B4_CAPTURE = fileURLToPath(new URL('../fixtures/series/lore/b4-am-two-revisions.stderr', import.meta.url));

/** The real b4, or a failure saying how to get it (npm test's doctor --install installs it). */
async function realB4(t: { fail(message: string): void }): Promise<boolean> {
  const found = (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, 'b4')));
  if (!found) t.fail('b4 is not installed: apt-get install b4 (vm-test doctor --install does)');
  return found;
}

function ctx(root: string, exec = realExec, order: string[] = []): LoreFetchContext {
  return { exec, loreRoot: join(root, 'lore'), ensureB4: async () => void order.push('ensureB4') };
}

test('parseLoreSpec: an id with or without brackets, or a lore URL; anything else is a usage error naming --series', (t) => {
  t.is(parseLoreSpec('lore:20260622.1-a@example.com'), '20260622.1-a@example.com');
  t.is(parseLoreSpec('lore:<20260622.1-a@example.com>'), '20260622.1-a@example.com');
  t.is(parseLoreSpec('lore:https://lore.kernel.org/bpf/20260622.1-a@example.com/'), '20260622.1-a@example.com');
  t.is(parseLoreSpec('lore:https://lore.kernel.org/all/20260622.1-a@example.com/T/'), '20260622.1-a@example.com');
  for (const bad of ['lore:', 'lore:no-at-sign', 'lore:a b@c', 'lore:a@b@c', 'lore:<a@b', 'lore:@b', 'lore:a@']) {
    const error = t.throws(() => parseLoreSpec(bad), { instanceOf: VmTestError }, bad);
    t.is(error?.kind, 'usage');
    t.true(error?.message.startsWith(`--series ${bad}:`), error?.message);
  }
});

test('b4AmArgs: never interactive; lore with -c (newer revisions), a local mbox offline with -m and no -c', (t) => {
  t.deepEqual(b4AmArgs({ messageId: 'a@b' }, '/o', 'series'), ['--no-interactive', 'am', '-c', '-o', '/o', '-n', 'series', 'a@b']);
  t.deepEqual(b4AmArgs({ messageId: 'a@b', localMbox: '/t.mbox' }, '/o', 'series'), ['--no-interactive', '--offline-mode', 'am', '-m', '/t.mbox', '-o', '/o', '-n', 'series', 'a@b']);
});

test('parseB4Output reads b4 0.12\'s own lines (a real capture): the revision it took; "Added from" lines are newer revisions from lore', async (t) => {
  const captured = await readFile(B4_CAPTURE, 'utf8');
  t.deepEqual(parseB4Output(captured), { latestRevision: 2, newerOnLore: [], warnings: [] });
  // get_extra_series() logs these for each newer revision -c found (b4/mbox.py); and make_am() its warnings.
  t.deepEqual(parseB4Output('Checking for newer revisions\n  Added from v3: 3 patches\n  Added from v4: 1 patches\nWARNING: Thread incomplete!\n'),
    { newerOnLore: [3, 4], warnings: ['WARNING: Thread incomplete!'] });
  t.deepEqual(parseB4Output(''), { newerOnLore: [], warnings: [] });
});

test('baseCommitOf: the base-commit: line, not a mention of it in prose', (t) => {
  t.is(baseCommitOf(`text\n-- \n2.43.0\n\nbase-commit: ${BASE}\n`), BASE);
  t.is(baseCommitOf('we should add a base-commit: line\n'), undefined);
});

test('unfoldHeaders: folded header lines joined, bodies untouched', (t) => {
  const mbox = 'From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/1] a long\n subject\nFrom: A <a@b>\n\nbody\n indented body line\n';
  t.is(unfoldHeaders(Buffer.from(mbox)).toString(), 'From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/1] a long subject\nFrom: A <a@b>\n\nbody\n indented body line\n');
});

test.serial('real b4 am -m on a thread of bpf-f-compare/v1: the three patches, the cover letter\'s base-commit, a hash over the fetched bytes', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const thread = join(tmp.path, 'thread.mbox');
  await writeFile(thread, await threadMbox([{ dir: V1, tag: 'v1' }]));
  const order: string[] = [];
  const series = await loadLoreSeries(ctx(tmp.path, realExec, order), { messageId: messageId('cover', 'v1'), localMbox: thread }, join(REPO, 'patches'));
  t.deepEqual(order, ['ensureB4']);
  t.deepEqual(series.patches.map((p) => p.subject), [
    '[PATCH RFC 1/3] bpf: add BPF_F_COMPARE flag and compare fields to map elem UAPI',
    '[PATCH RFC 2/3] bpf: implement compare-and-delete (BPF_F_COMPARE) for BPF_MAP_TYPE_HASH',
    '[PATCH RFC 3/3] selftests/bpf: test BPF_F_COMPARE compare-and-delete',
  ]);
  t.is(series.name, `lore:${messageId('cover', 'v1')}`);
  t.is(series.baseCommit, BASE);
  t.is(series.lore?.report.latestRevision, undefined);
  t.deepEqual(describeLoreReport(series.lore!, undefined).warnings, []);
  // The hash is over the mails b4 wrote, as git am gets them.
  const mails = splitMbox(await readFile(series.lore!.mbx));
  t.is(series.hash, seriesHash(mails.map((m) => m.bytes)));
  // Any patch mail of the thread finds the same series.
  const again = await loadLoreSeries(ctx(tmp.path), { messageId: messageId('p2', 'v1'), localMbox: thread }, join(REPO, 'patches'));
  t.is(again.hash, series.hash);
});

test.serial('real b4: a reviewer\'s trailer in the thread changes the fetched bytes, so the series\' hash (the applied-series key) changes', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const plain = join(tmp.path, 'plain.mbox');
  const reviewed = join(tmp.path, 'reviewed.mbox');
  await writeFile(plain, await threadMbox([{ dir: V1, tag: 'v1' }]));
  await writeFile(reviewed, await threadMbox([{ dir: V1, tag: 'v1' }], [reviewReply(messageId('p2', 'v1'), 'Reviewed-by: Rita Reviewer <rita@example.com>')]));
  const id = messageId('cover', 'v1');
  const a = await loadLoreSeries(ctx(tmp.path), { messageId: id, localMbox: plain }, join(REPO, 'patches'));
  const b = await loadLoreSeries(ctx(tmp.path), { messageId: id, localMbox: reviewed }, join(REPO, 'patches'));
  t.not(a.hash, b.hash);
  t.true(b.patches[1]!.text.includes('Reviewed-by: Rita Reviewer <rita@example.com>'));
  t.false(a.patches[1]!.text.includes('Reviewed-by: Rita'));
  // The other two patches are byte-identical: only the reviewed one changed.
  t.deepEqual([a.patches[0]!.bytes, a.patches[2]!.bytes], [b.patches[0]!.bytes, b.patches[2]!.bytes]);
});

test.serial('real b4: a thread holding v1 and a v2 in reply: b4 takes v2 and the run is warned', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const thread = join(tmp.path, 'thread.mbox');
  await writeFile(thread, await threadMbox([{ dir: V1, tag: 'v1' }, { dir: V1, tag: 'v2', version: 2, inReplyTo: 'v1' }]));
  const series = await loadLoreSeries(ctx(tmp.path), { messageId: messageId('cover', 'v1'), localMbox: thread }, join(REPO, 'patches'));
  t.true(series.patches.every((p) => p.subject.startsWith('[PATCH RFC v2 ')), series.patches.map((p) => p.subject).join('; '));
  t.is(series.name, `lore:${messageId('cover', 'v1')} (v2)`);
  t.is(series.lore?.report.latestRevision, 2);
  const [warning] = describeLoreReport(series.lore!, 2).warnings;
  t.regex(warning ?? '', /holds more than one revision: b4 took v2, the newest/);
});

test.serial('real b4: a message id that is not in the local thread is a usage error naming --series, with b4\'s own line', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const thread = join(tmp.path, 'thread.mbox');
  await writeFile(thread, await threadMbox([{ dir: V1, tag: 'v1' }]));
  const error = await t.throwsAsync(fetchLoreThread(ctx(tmp.path), { messageId: 'nope@example.com', localMbox: thread }), { instanceOf: VmTestError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /^--series lore:nope@example\.com: b4 am exited with 1: Could not find nope@example\.com in /);
  t.truthy(error?.evidence.logPath && existsSync(error.evidence.logPath));
});

/** A fake b4 on the exec port: records its request, writes what a real b4 wrote (copied from a real fetch), says `stderr`. */
function fakeB4(files: { mbx?: string; cover?: string }, answer: { exitCode?: number; stderr?: string; spawnError?: string }) {
  const exec = fakeExec((req: ExecRequest) => {
    const out = req.args[req.args.indexOf('-o') + 1]!;
    const name = req.args[req.args.indexOf('-n') + 1]!;
    mkdirSync(out, { recursive: true });
    if (files.mbx) copyFileSync(files.mbx, join(out, `${name}.mbx`));
    if (files.cover) copyFileSync(files.cover, join(out, `${name}.cover`));
    return { exitCode: answer.exitCode ?? 0, stderr: answer.stderr ?? '', ...(answer.spawnError ? { spawnError: answer.spawnError, exitCode: undefined } : {}) };
  });
  return { exec };
}

/** The .mbx and .cover a real b4 am -m wrote for bpf-f-compare/v1's thread. */
async function realFetch(root: string): Promise<{ mbx: string; cover: string }> {
  const thread = join(root, 'thread.mbox');
  await writeFile(thread, await threadMbox([{ dir: V1, tag: 'v1' }]));
  const origin = await fetchLoreThread(ctx(join(root, 'real')), { messageId: messageId('cover', 'v1'), localMbox: thread });
  return { mbx: origin.mbx, cover: origin.cover! };
}

test.serial('fake b4, the network path: b4 am -c with the id, run outside any git tree; a newer revision on lore is warned about', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const files = await realFetch(tmp.path);
  const fake = fakeB4(files, { stderr: 'Analyzing 4 messages in the thread\nChecking for newer revisions\n  Added from v2: 3 patches\nWill use the latest revision: v2\n' });
  const series = await loadLoreSeries(ctx(tmp.path, fake.exec), { messageId: 'cover.v1@example.com' }, join(REPO, 'patches'));
  const call = fake.exec.calls[0]!;
  t.is(call.command, 'b4');
  t.deepEqual(call.args.slice(0, 3), ['--no-interactive', 'am', '-c']);
  t.false(call.args.includes('-m'));
  t.is(call.args.at(-1), 'cover.v1@example.com');
  t.false(existsSync(join(call.cwd!, '.git')));
  t.is(series.patches.length, 3);
  t.is(series.baseCommit, BASE);
  t.deepEqual(series.lore?.report.newerOnLore, [2]);
  t.regex(describeLoreReport(series.lore!, undefined).warnings[0] ?? '', /b4 knows a newer revision of this series on lore \(v2\)/);
});

test.serial('fake b4: lore unreachable, b4 missing, or no .mbx written: usage errors naming --series, never a stack trace', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const id = 'x@example.com';
  const offline = fakeB4({}, { exitCode: 1, stderr: 'Grabbing thread from lore.kernel.org/all/x%40example.com/t.mbox.gz\nCRITICAL: Unable to connect to lore.kernel.org\n' });
  const e1 = await t.throwsAsync(fetchLoreThread(ctx(tmp.path, offline.exec), { messageId: id }), { instanceOf: VmTestError });
  t.is(e1?.kind, 'usage');
  t.is(e1?.message, `--series lore:${id}: b4 am exited with 1: Unable to connect to lore.kernel.org; no series fetched from lore (is the network reachable, and the id right?)`);
  const missing = fakeB4({}, { spawnError: 'spawn b4 ENOENT' });
  const e2 = await t.throwsAsync(fetchLoreThread(ctx(tmp.path, missing.exec), { messageId: id }), { instanceOf: VmTestError });
  t.regex(e2?.message ?? '', /^--series lore:x@example\.com: b4 could not be started: spawn b4 ENOENT/);
  // b4 exits 0 without writing a series when the thread has no patches ("No patches found.").
  const empty = fakeB4({}, { exitCode: 0, stderr: 'Analyzing 1 messages in the thread\nNo patches found.\n' });
  const e3 = await t.throwsAsync(fetchLoreThread(ctx(tmp.path, empty.exec), { messageId: id }), { instanceOf: VmTestError });
  t.regex(e3?.message ?? '', /b4 am exited with 0: No patches found\./);
  const crash = fakeB4({}, { exitCode: 1, stderr: 'Traceback (most recent call last):\n  File "/usr/bin/b4", line 33\nValueError: Header values may not contain linefeed or carriage return characters\n' });
  const e4 = await t.throwsAsync(fetchLoreThread(ctx(tmp.path, crash.exec), { messageId: id }), { instanceOf: VmTestError });
  t.regex(e4?.message ?? '', /b4 crashed: ValueError: Header values may not contain linefeed/);
});

test.serial('fake b4: a fetch leaves nothing of the previous one behind (the thread is fetched again each time)', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const files = await realFetch(tmp.path);
  const first = fakeB4(files, {});
  await fetchLoreThread(ctx(tmp.path, first.exec), { messageId: 'cover.v1@example.com' });
  const second = fakeB4({}, { exitCode: 0 });
  await t.throwsAsync(fetchLoreThread(ctx(tmp.path, second.exec), { messageId: 'cover.v1@example.com' }), { instanceOf: VmTestError, message: /no series fetched/ });
});

test.serial('fake b4 answering as the real one did without network (a real capture): lore could not be reached, a usage error', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const stderr = await readFile(fileURLToPath(new URL('../fixtures/series/lore/b4-am-lore-unreachable.stderr', import.meta.url)), 'utf8');
  const offline = fakeB4({}, { exitCode: 1, stderr });
  const error = await t.throwsAsync(fetchLoreThread(ctx(tmp.path, offline.exec), { messageId: 'foo@example.com' }), { instanceOf: VmTestError });
  t.is(error?.message, '--series lore:foo@example.com: b4 am exited with 1: lore could not be reached (requests.exceptions.ConnectionError: Name or service not known); no series fetched from lore (is the network reachable, and the id right?)');
});

test.serial('the real b4 on the network path: its command line is one b4 accepts, and whatever lore says (here: unreachable) is a usage error naming --series', async (t) => {
  if (!(await realB4(t))) return;
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const error = await t.throwsAsync(fetchLoreThread(ctx(tmp.path), { messageId: 'no-such-thread.vm-test@example.com' }), { instanceOf: VmTestError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /^--series lore:no-such-thread\.vm-test@example\.com: b4 am exited with 1: /);
  t.notRegex(error?.message ?? '', /usage: b4|unrecognized arguments/);
});
