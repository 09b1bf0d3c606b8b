import test from 'ava';
import { readFile } from 'node:fs/promises';
import { isProblem } from '../../orchestrator/series/mbox.ts';
import { createHash } from 'node:crypto';
import { patchNumber, seriesFromMbox } from '../../orchestrator/series/series-file.ts';
import { loadSeries, seriesRecord } from '../../orchestrator/series/series.ts';

const MBX = new URL('../fixtures/series/b4-mbx/v2_20260105_author_kernel_a_small_series.mbx', import.meta.url);

/** A b4-style mail of 8 lines: its subject, and a one-line diff to file f. */
function mail(subject: string, f = 'f'): string {
  return `From git@z Thu Jan  1 00:00:00 1970\nFrom: A <a@b>\nSubject: ${subject}\n\n---\ndiff --git a/${f} b/${f}\n@@ -1 +1 @@\n-x\n+y\n\n`;
}

const mbox = (...mails: string[]) => Buffer.from(mails.join(''));

test('patchNumber reads k/N and the revision from the first bracket', (t) => {
  t.deepEqual(patchNumber('[PATCH v2 3/7] bpf: x'), { k: 3, n: 7, version: 2 });
  t.deepEqual(patchNumber('[RFC PATCH 6.12 2/3] bpf: x'), { k: 2, n: 3 });
  t.deepEqual(patchNumber('[PATCH bpf-next v3 01/12] bpf: x'), { k: 1, n: 12, version: 3 });
  t.deepEqual(patchNumber('[PATCH 0/3] cover'), { k: 0, n: 3 });
  t.is(patchNumber('[PATCH] bpf: fix 1/2 of it'), undefined);
});

test('the b4 fixture: three patches in order, named by subject, the cover letter left out', async (t) => {
  const path = MBX.pathname;
  const s = seriesFromMbox(path, await readFile(MBX));
  if (isProblem(s)) return t.fail(`${s.line}: ${s.message}`);
  t.deepEqual(s.patches.map((p) => p.subject), ['[PATCH v2 1/3] kernel: change a', '[PATCH v2 2/3] kernel: grow b', '[PATCH v2 3/3] kernel: add c']);
  t.deepEqual(s.patches.map((p) => [p.path, p.line]), [[path, 31], [path, 62], [path, 92]]);
  // b4 keeps each mail's Message-Id: the cover letter's names the series (KCIDB's checkout message_id), without <>.
  t.deepEqual(s.cover, { subject: '[PATCH v2 0/3] kernel: a small series', line: 1, messageId: '20260105-small-series-v2-0-4f2a9c@example.com' });
  t.deepEqual(s.patches.map((p) => p.messageId), [1, 2, 3].map((k) => `20260105-small-series-v2-${k}-4f2a9c@example.com`));
  t.deepEqual(s.patches[2]!.files, ['kernel/c.c']);
  t.true(s.patches.every((p) => p.bytes !== undefined && !p.crlf));
});

test('a run records the series as git am gets it: each mail\'s bytes hashed, at its line, and the cover letter\'s Message-Id', async (t) => {
  const record = await seriesRecord(await loadSeries(MBX.pathname, '/nowhere'));
  const lines = (await readFile(MBX, 'latin1')).split('\n');
  // Each mail from its line to the next one's (or the end), as bytes: what KCIDB's patchset hash is over.
  const starts = [...record.patches.map((p) => p.line!), lines.length + 1];
  const mails = record.patches.map((_, i) => Buffer.from(lines.slice(starts[i]! - 1, starts[i + 1]! - 1).join('\n') + (i + 1 < record.patches.length ? '\n' : ''), 'latin1'));
  t.deepEqual(record.patches.map((p) => p.sha256), mails.map((m) => createHash('sha256').update(m).digest('hex')));
  t.is(record.messageId, '20260105-small-series-v2-0-4f2a9c@example.com');
  t.is(record.subject, '[PATCH v2 0/3] kernel: a small series');
  t.true(record.patches.every((p) => p.file === MBX.pathname && p.messageId?.endsWith('-4f2a9c@example.com')));
});

test('numbered mails are put in k/N order; unnumbered ones stay in file order', (t) => {
  const shuffled = seriesFromMbox('s.mbx', mbox(mail('[PATCH 3/3] c'), mail('[PATCH 0/3] cover').replace(/---[\s\S]*/, 'blurb\n\n'), mail('[PATCH 1/3] a'), mail('[PATCH 2/3] b')));
  if (isProblem(shuffled)) return t.fail(shuffled.message);
  t.deepEqual(shuffled.patches.map((p) => [p.subject, p.line]), [['[PATCH 1/3] a', 17], ['[PATCH 2/3] b', 27], ['[PATCH 3/3] c', 1]]);
  const plain = seriesFromMbox('s.mbx', mbox(mail('[PATCH] z'), mail('[PATCH] y')));
  if (isProblem(plain)) return t.fail(plain.message);
  t.deepEqual(plain.patches.map((p) => p.subject), ['[PATCH] z', '[PATCH] y']);
});

test('a gap, a duplicate, a number past N, a disagreeing N or a mix are problems at file:line', (t) => {
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/3] a'), mail('[PATCH 3/3] c'))),
    { path: 's.mbx', line: 11, message: 'patch 2/3 is missing: the file has 1/3, 3/3' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/3] a'), mail('[PATCH 2/3] b'))),
    { path: 's.mbx', line: 11, message: 'patch 3/3 is missing: the file has 1/3, 2/3' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), mail('[PATCH 2/2] b'), mail('[PATCH 2/2] b again'))),
    { path: 's.mbx', line: 21, message: 'patch 2/2 again (also at line 11)' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH v1 1/1] a'), mail('[PATCH v2 1/1] a'))),
    { path: 's.mbx', line: 11, message: 'patch v2 1/1 again (also at line 1): two revisions in one file? keep one' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), mail('[PATCH 3/2] c'))),
    { path: 's.mbx', line: 11, message: 'patch 3/2: its number is past the end of the series' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), mail('[PATCH 2/3] b'))),
    { path: 's.mbx', line: 11, message: 'patch 2/3 does not belong with 1/2 (line 1): the subjects disagree on the number of patches' });
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), mail('[PATCH] b'))),
    { path: 's.mbx', line: 11, message: '"[PATCH] b" has no k/N number, but "[PATCH 1/2] a" (line 1) has: the order is ambiguous' });
});

test('a malformed mail is named by its line in the whole file', (t) => {
  const broken = mail('[PATCH 2/2] b').replace('@@ -1 +1 @@', '@@ -1,x +1 @@');
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), broken)), { path: 's.mbx', line: 17, message: 'malformed hunk header: @@ -1,x +1 @@' });
  const noSubject = mail('[PATCH 2/2] b').replace('Subject: [PATCH 2/2] b\n', '');
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), noSubject)), { path: 's.mbx', line: 12, message: 'no Subject: header in the mail headers' });
  const noDiff = mail('[PATCH 2/2] b').replace(/---[\s\S]*/, 'just words\n\n');
  t.deepEqual(seriesFromMbox('s.mbx', mbox(mail('[PATCH 1/2] a'), noDiff)), { path: 's.mbx', line: 13, message: 'no "diff --git" section: the mail carries no patch' });
  t.deepEqual(seriesFromMbox('s.mbx', Buffer.from('')), { path: 's.mbx', line: 1, message: 'empty: expected mails made with git format-patch or b4 am' });
});

test('a CRLF mbox splits and each mail is marked CRLF', (t) => {
  const s = seriesFromMbox('s.mbx', Buffer.from((mail('[PATCH 1/2] a') + mail('[PATCH 2/2] b')).replaceAll('\n', '\r\n')));
  if (isProblem(s)) return t.fail(s.message);
  t.deepEqual(s.patches.map((p) => [p.subject, p.line, p.crlf]), [['[PATCH 1/2] a', 1, true], ['[PATCH 2/2] b', 11, true]]);
});
