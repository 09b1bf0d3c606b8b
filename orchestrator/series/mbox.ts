// A git format-patch mbox: its subject, the files it touches, and whether it is a patch at all; and an mbox split into its mails.

export interface PatchFile {
  /** The file the mail is in: the patch itself, or the mbox holding the whole series. */
  path: string;
  /** 1-based line of path where the mail starts. */
  line: number;
  subject: string;
  /** Files named by its diff --git headers. */
  files: string[];
  text: string;
  /** Its lines end in CRLF (a mail client saved it so): git am must strip the CRs, not keep them. */
  crlf: boolean;
  /** The mail's bytes, when path holds other mails too: git am is given these in a file of their own. */
  bytes?: Uint8Array;
  /** Its Message-ID header, without the angle brackets, when it has one (a mail from a list does; git format-patch's do not). */
  messageId?: string;
}

export type MboxProblem = {
  path: string;
  line: number;
  message: string;
  /** Set when the mail is a cover letter (patch 0/N), not a broken patch. */
  coverLetter?: boolean;
};

/** Header lines with RFC 2822 continuation lines folded in. */
function headers(lines: string[]): Map<string, { value: string; line: number }> {
  const found = new Map<string, { value: string; line: number }>();
  let last: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      const prev = found.get(last)!;
      prev.value += ' ' + line.trim();
      continue;
    }
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) {
      last = m[1]!.toLowerCase();
      if (!found.has(last)) found.set(last, { value: m[2]!, line: i + 1 });
    }
  }
  return found;
}

/** A mail's Message-ID, without its angle brackets (they are not part of the id). */
function messageIdOf(head: Map<string, { value: string }>): string | undefined {
  const value = head.get('message-id')?.value.trim().replace(/^<(.*)>$/, '$1').trim();
  return value || undefined;
}

/** The Message-ID of a mail's text (a cover letter's, say), when its headers have one. */
export function mailMessageId(text: string): string | undefined {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return messageIdOf(headers(lines[0]?.startsWith('From ') ? lines.slice(1) : lines));
}

/** True when every line of the header block, up to and including the blank line after it, ends in CR. */
function headersEndInCr(raw: string[]): boolean {
  const end = raw.findIndex((l) => l === '\r' || l === '');
  const block = raw.slice(0, end < 0 ? raw.length : end + 1);
  return block.length > 0 && block.every((l) => l.endsWith('\r'));
}

/** Parse one mail; firstLine is where it starts in path, so that problems name the file's own line. */
export function parsePatchFile(path: string, text: string, firstLine = 1): PatchFile | MboxProblem {
  const raw = text.split('\n');
  const crlf = headersEndInCr(raw);
  // The CRs are line endings, not content, for parsing; git am is told the same (see applySeries).
  const lines = raw.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const at = (index: number) => firstLine + index;
  let start = 0;
  if (lines[0]?.startsWith('From ')) start = 1;
  else if (!/^[A-Za-z-]+:/.test(lines[0] ?? '')) {
    return { path, line: at(0), message: 'not an mbox patch: expected a "From <sha> <date>" line or mail headers (make it with git format-patch)' };
  }
  const head = headers(lines.slice(start));
  const subject = head.get('subject');
  if (!subject) return { path, line: at(start), message: 'no Subject: header in the mail headers' };
  if (!head.get('from')) return { path, line: at(start), message: 'no From: header in the mail headers (git am needs an author)' };
  const files: string[] = [];
  let sawDiff = false;
  lines.forEach((line) => {
    const m = /^diff --git a\/(\S+) b\/(\S+)/.exec(line);
    if (m) {
      sawDiff = true;
      files.push(m[2]!);
    }
  });
  if (!sawDiff) {
    const cover = /\b0+\/\d+\]/.test(subject.value);
    const line = at(start + subject.line - 1);
    return cover
      ? { path, line, message: 'this is a cover letter (patch 0/N), not a patch: leave it out of the manifest\'s "patches"', coverLetter: true }
      : { path, line, message: 'no "diff --git" section: the mail carries no patch' };
  }
  // A hunk header that does not parse means the file was damaged (e.g. by a mailer).
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('@@') && !/^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/.test(line)) {
      return { path, line: at(i), message: `malformed hunk header: ${line.slice(0, 80)}` };
    }
  }
  const messageId = messageIdOf(head);
  return { path, line: firstLine, subject: subject.value.replace(/\s+/g, ' ').trim(), files, text, crlf, ...(messageId ? { messageId } : {}) };
}

export function isProblem<T extends object>(value: T | MboxProblem): value is MboxProblem {
  return 'message' in value;
}

/** One mail of an mbox: where it starts, its bytes as in the file, and its text. */
export interface Mail {
  line: number;
  bytes: Uint8Array;
  text: string;
}

/**
 * The "From <sender> <date>" line that starts each mail: git format-patch writes
 * "From <sha> Mon Sep 17 00:00:00 2001", b4 "From git@z Thu Jan  1 00:00:00 1970".
 * Like git mailsplit, it must end in a time and a year, so "From the start, ..." in a message is text.
 */
const SEPARATOR = /^From \S+ +.*\d\d?:\d\d(:\d\d)? .*\d{4}\r?$/;

/** The mails of an mbox, in file order; text before the first separator counts as a mail when it is not blank. */
export function splitMbox(bytes: Uint8Array): Mail[] {
  // latin1 maps each byte to one character, so offsets found here are byte offsets.
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const starts: { offset: number; line: number }[] = [];
  let offset = 0;
  let line = 1;
  while (offset < raw.length) {
    const nl = raw.indexOf('\n', offset);
    const end = nl < 0 ? raw.length : nl;
    if (SEPARATOR.test(raw.slice(offset, end))) starts.push({ offset, line });
    offset = end + 1;
    line++;
  }
  if (starts[0]?.offset !== 0 && raw.slice(0, starts[0]?.offset ?? raw.length).trim() !== '') starts.unshift({ offset: 0, line: 1 });
  const decoder = new TextDecoder();
  return starts.map((s, i) => {
    const mail = bytes.subarray(s.offset, starts[i + 1]?.offset ?? bytes.byteLength);
    return { line: s.line, bytes: mail, text: decoder.decode(mail) };
  });
}
