import test from 'ava';
import { readFile } from 'node:fs/promises';
import { isProblem, parsePatchFile, splitMbox } from '../../orchestrator/series/mbox.ts';

const series = new URL('../../patches/bpf-f-compare/v1-6.12/', import.meta.url);

test('reads the subject (folded header) and the files of patch 2/3', async (t) => {
  const path = new URL('0002-bpf-implement-compare-and-delete-BPF_F_COMPARE-for-B.patch', series);
  const p = parsePatchFile(path.pathname, await readFile(path, 'utf8'));
  if (isProblem(p)) return t.fail(p.message);
  t.is(p.subject, '[RFC PATCH 6.12 2/3] bpf: implement compare-and-delete (BPF_F_COMPARE) for BPF_MAP_TYPE_HASH');
  t.deepEqual(p.files, ['include/linux/bpf.h', 'kernel/bpf/hashtab.c', 'kernel/bpf/syscall.c']);
});

test('a cover letter is not a patch, and says so', async (t) => {
  const path = new URL('0000-cover-letter.patch', series);
  const p = parsePatchFile(path.pathname, await readFile(path, 'utf8'));
  t.true(isProblem(p));
  if (isProblem(p)) t.regex(p.message, /cover letter/);
});

test('plain text is rejected with file and line', (t) => {
  const p = parsePatchFile('x.patch', 'This is not a patch\n');
  t.true(isProblem(p));
  if (isProblem(p)) t.is(p.line, 1);
});

test('a damaged hunk header is found', (t) => {
  const text = 'From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] x\n\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,x +1,3 @@ bad\n';
  const p = parsePatchFile('x.patch', text);
  t.true(isProblem(p));
  if (isProblem(p)) t.is(p.line, 9);
});

const fixtures = new URL('../fixtures/series/', import.meta.url);

test('a mail saved with CRLF line endings reads as git am reads it', async (t) => {
  const path = new URL('crlf/0001-kernel-change-a-and-the-CRLF-file.patch', fixtures);
  const p = parsePatchFile(path.pathname, await readFile(path, 'utf8'));
  if (isProblem(p)) return t.fail(`${p.line}: ${p.message}`);
  t.is(p.subject, '[PATCH] kernel: change a and the CRLF file');
  t.deepEqual(p.files, ['kernel/a.c', 'kernel/crlf.txt']);
  t.true(p.crlf);
});

test('an LF mail with CRLF content lines is not a CRLF mail', (t) => {
  const text = 'From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] x\n\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\r\n+y\r\n';
  const p = parsePatchFile('x.patch', text);
  if (isProblem(p)) return t.fail(p.message);
  t.false(p.crlf);
});

test('a folded Subject in CRLF is unfolded, and a problem names the line in the whole file', (t) => {
  const text = 'From: A <a@b>\r\nSubject: [PATCH] a long\r\n subject\r\n\r\n---\r\ndiff --git a/f b/f\r\n@@ -1,x +1 @@\r\n';
  const p = parsePatchFile('x.mbx', text, 40);
  t.true(isProblem(p));
  if (isProblem(p)) t.deepEqual(p, { path: 'x.mbx', line: 46, message: 'malformed hunk header: @@ -1,x +1 @@' });
  const ok = parsePatchFile('x.mbx', text.replace('1,x', '1'), 40);
  if (isProblem(ok)) return t.fail(ok.message);
  t.is(ok.subject, '[PATCH] a long subject');
  t.is(ok.line, 40);
});

test('splitMbox cuts at "From <sender> <date>" lines only, keeping each mail\'s bytes', async (t) => {
  const bytes = await readFile(new URL('b4-mbx/v2_20260105_author_kernel_a_small_series.mbx', fixtures));
  const mails = splitMbox(bytes);
  t.deepEqual(mails.map((m) => m.line), [1, 31, 62, 92]);
  // "From the start, b had one line." in patch 2/3 is text.
  t.true(mails[2]!.text.includes('\nFrom the start, b had one line.\n'));
  t.true(Buffer.concat(mails.map((m) => m.bytes)).equals(bytes));
});

test('splitMbox: one mail without a From line, blank lines before the first, and bytes that are not UTF-8', (t) => {
  const single = splitMbox(Buffer.from('From: A <a@b>\nSubject: x\n\nbody\n'));
  t.deepEqual(single.map((m) => m.line), [1]);
  const lead = splitMbox(Buffer.from('\n\nFrom git@z Thu Jan  1 00:00:00 1970\nFrom: A <a@b>\n'));
  t.deepEqual(lead.map((m) => m.line), [3]);
  const latin1 = Buffer.from('From git@z Thu Jan  1 00:00:00 1970\nSubject: caf\xe9\n\nFrom git@z Thu Jan  1 00:00:00 1970\nSubject: y\n', 'latin1');
  const two = splitMbox(latin1);
  t.deepEqual(two.map((m) => m.line), [1, 4]);
  t.is(two[0]!.bytes[two[0]!.bytes.length - 3], 0xe9);
  t.deepEqual(splitMbox(Buffer.from('')), []);
});
