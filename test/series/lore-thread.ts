// A thread mbox as lore would serve it, made from our own series' mbox files: the cover letter, then each patch in
// reply to it, with Message-Id, In-Reply-To and References; a later revision replies to the earlier cover letter.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ThreadRevision {
  /** A revision directory under patches/ (0000-cover-letter.patch and the patches). */
  dir: string;
  /** Put "vN" in the subjects' brackets (b4 tells revisions apart by it). */
  version?: number;
  /** Message ids are <part>.<tag>@example.com; the cover letter's part is "cover". */
  tag: string;
  /** This revision's cover letter replies to that tag's cover letter (a reroll posted in the same thread). */
  inReplyTo?: string;
}

/** Mail headers of a git format-patch file, with Message-Id and threading headers added. */
function threaded(text: string, id: string, parent: string | undefined, version: number | undefined): string {
  const split = text.indexOf('\n\n');
  let head = text.slice(0, split);
  const body = text.slice(split);
  if (version) head = head.replace(/^Subject: \[([^\]]*?)(\d+\/\d+\])/m, (_, pre: string, kn: string) => `Subject: [${pre}v${version} ${kn}`);
  head += `\nMessage-Id: <${id}>`;
  if (parent) head += `\nIn-Reply-To: <${parent}>\nReferences: <${parent}>`;
  return head + body;
}

export const messageId = (part: string, tag: string) => `${part}.${tag}@example.com`;

/** The mbox of a thread holding these revisions, in order. */
export async function threadMbox(revisions: readonly ThreadRevision[], extra: readonly string[] = []): Promise<Buffer> {
  const mails: string[] = [];
  for (const rev of revisions) {
    const files = (await readdir(rev.dir)).filter((f) => f.endsWith('.patch')).sort();
    const cover = messageId('cover', rev.tag);
    for (const [i, file] of files.entries()) {
      const text = await readFile(join(rev.dir, file), 'utf8');
      const isCover = file.startsWith('0000-cover-letter');
      const parent = isCover ? (rev.inReplyTo ? messageId('cover', rev.inReplyTo) : undefined) : cover;
      mails.push(threaded(text, isCover ? cover : messageId(`p${i}`, rev.tag), parent, rev.version));
    }
  }
  return Buffer.from([...mails, ...extra].map((m) => (m.endsWith('\n') ? m : `${m}\n`)).join(''));
}

/** A reviewer's reply to a mail of the thread, carrying a trailer (b4 am adds it to the patch it answers). */
export function reviewReply(to: string, trailer: string): string {
  return [
    'From reviewer Mon Jun 22 18:00:00 2026',
    'From: Rita Reviewer <rita@example.com>',
    'Date: Mon, 22 Jun 2026 18:00:00 +0900',
    'Subject: Re: [RFC bpf-next 2/3] bpf: implement compare-and-delete (BPF_F_COMPARE) for BPF_MAP_TYPE_HASH',
    `Message-Id: <review.${to}>`,
    `In-Reply-To: <${to}>`,
    `References: <${to}>`,
    '',
    'Looks right to me.',
    '',
    trailer,
    '',
  ].join('\n');
}
