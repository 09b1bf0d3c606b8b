// A whole series in one mbox file (b4 am's .mbx, git format-patch --stdout): split, cover letter left out, ordered by [PATCH k/N].
import { isProblem, mailMessageId, parsePatchFile, splitMbox, type MboxProblem, type PatchFile } from './mbox.ts';

export interface PatchNumber {
  k: number;
  n: number;
  /** The revision, from "v2" in "[PATCH v2 3/7]". */
  version?: number;
}

/** k/N of "[PATCH v2 3/7]", "[RFC PATCH bpf-next 03/12]", ...; undefined for "[PATCH]". */
export function patchNumber(subject: string): PatchNumber | undefined {
  const m = /\[([^\]]*?)\b(\d+)\/(\d+)\s*\]/.exec(subject);
  if (!m) return undefined;
  const version = /\bv(\d+)\b/i.exec(m[1]!);
  return { k: parseInt(m[2]!, 10), n: parseInt(m[3]!, 10), ...(version ? { version: parseInt(version[1]!, 10) } : {}) };
}

export interface MboxSeries {
  /** In series order, each with its bytes for git am. */
  patches: PatchFile[];
  cover?: { subject: string; line: number; messageId?: string };
}

/** The patches of a one-file series, in [PATCH k/N] order when numbered, else file order. */
export function seriesFromMbox(path: string, bytes: Uint8Array): MboxSeries | MboxProblem {
  const mails = splitMbox(bytes);
  if (mails.length === 0) return { path, line: 1, message: 'empty: expected mails made with git format-patch or b4 am' };
  const patches: PatchFile[] = [];
  let cover: MboxSeries['cover'];
  for (const mail of mails) {
    const parsed = parsePatchFile(path, mail.text, mail.line);
    if (isProblem(parsed)) {
      if (!parsed.coverLetter) return parsed;
      cover ??= { subject: coverSubject(mail.text), line: mail.line, ...withMessageId(mail.text) };
      continue;
    }
    // b4 numbers its cover letter 0/N; it is never applied, diff or not.
    if (patchNumber(parsed.subject)?.k === 0) {
      cover ??= { subject: parsed.subject, line: mail.line, ...withMessageId(mail.text) };
      continue;
    }
    patches.push({ ...parsed, bytes: mail.bytes });
  }
  const ordered = inSeriesOrder(path, patches);
  if (!Array.isArray(ordered)) return ordered;
  return { patches: ordered, ...(cover ? { cover } : {}) };
}

const withMessageId = (text: string): { messageId?: string } => {
  const messageId = mailMessageId(text);
  return messageId ? { messageId } : {};
};

function coverSubject(text: string): string {
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(text);
  return (m?.[1] ?? '').replace(/\s+/g, ' ').trim();
}

const label = (p: PatchNumber) => `${p.version ? `v${p.version} ` : ''}${p.k}/${p.n}`;

/** Sorted by k; a gap, a duplicate, a k beyond N or a mix of numbered and unnumbered mails is a problem at that mail's line. */
export function inSeriesOrder(path: string, patches: PatchFile[]): PatchFile[] | MboxProblem {
  const numbered = patches.map((patch) => ({ patch, num: patchNumber(patch.subject) }));
  const first = numbered.find((e) => e.num);
  if (!first) return patches;
  const bare = numbered.find((e) => !e.num);
  if (bare) return { path, line: bare.patch.line, message: `"${bare.patch.subject}" has no k/N number, but "${first.patch.subject}" (line ${first.patch.line}) has: the order is ambiguous` };
  const all = numbered as { patch: PatchFile; num: PatchNumber }[];
  const n = first.num!.n;
  for (const { patch, num } of all) {
    if (num.n !== n) return { path, line: patch.line, message: `patch ${label(num)} does not belong with ${label(first.num!)} (line ${first.patch.line}): the subjects disagree on the number of patches` };
    if (num.k > num.n) return { path, line: patch.line, message: `patch ${label(num)}: its number is past the end of the series` };
  }
  const sorted = [...all].sort((a, b) => a.num.k - b.num.k);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.num.k === prev.num.k) {
      const why = cur.num.version !== prev.num.version ? ': two revisions in one file? keep one' : '';
      return { path, line: cur.patch.line, message: `patch ${label(cur.num)} again (also at line ${prev.patch.line})${why}` };
    }
  }
  for (let k = 1; k <= n; k++) {
    if (sorted[k - 1]?.num.k === k) continue;
    const after = sorted[k - 1] ?? sorted[sorted.length - 1]!;
    const has = sorted.map((e) => `${e.num.k}/${n}`).join(', ');
    return { path, line: after.patch.line, message: `patch ${k}/${n} is missing: the file has ${has}` };
  }
  return sorted.map((e) => e.patch);
}
