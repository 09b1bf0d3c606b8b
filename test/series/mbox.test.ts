import test from 'ava';
import { readFile } from 'node:fs/promises';
import { isProblem, parsePatchFile } from '../../orchestrator/series/mbox.ts';

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
