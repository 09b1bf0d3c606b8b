// A git format-patch mbox file: its subject, the files it touches, and whether it is a patch at all.

export interface PatchFile {
  path: string;
  subject: string;
  /** Files named by its diff --git headers. */
  files: string[];
  text: string;
}

export type MboxProblem = { path: string; line: number; message: string };

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

export function parsePatchFile(path: string, text: string): PatchFile | MboxProblem {
  const lines = text.split('\n');
  let start = 0;
  if (lines[0]?.startsWith('From ')) start = 1;
  else if (!/^[A-Za-z-]+:/.test(lines[0] ?? '')) {
    return { path, line: 1, message: 'not an mbox patch: expected a "From <sha> <date>" line or mail headers (make it with git format-patch)' };
  }
  const head = headers(lines.slice(start));
  const subject = head.get('subject');
  if (!subject) return { path, line: start + 1, message: 'no Subject: header in the mail headers' };
  if (!head.get('from')) return { path, line: start + 1, message: 'no From: header in the mail headers (git am needs an author)' };
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
    return { path, line: subject.line + start, message: cover ? 'this is a cover letter (patch 0/N), not a patch: leave it out of the manifest\'s "patches"' : 'no "diff --git" section: the mail carries no patch' };
  }
  // A hunk header that does not parse means the file was damaged (e.g. by a mailer).
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('@@') && !/^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/.test(line)) {
      return { path, line: i + 1, message: `malformed hunk header: ${line.slice(0, 80)}` };
    }
  }
  return { path, subject: subject.value.replace(/\s+/g, ' ').trim(), files, text };
}

export function isProblem(value: PatchFile | MboxProblem): value is MboxProblem {
  return 'message' in value;
}
