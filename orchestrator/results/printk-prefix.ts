// Console lines carry printk decorations (loglevel, timestamp, caller id); parsers match on the message only.

// `<6>`, `[   12.345678]`, `[    T1]` / `[    C0]`, in the order printk emits them, each optional. A console that
// fell behind prints "** N printk messages dropped **" in front of the next record (console_unlock, up to 5.x).
const PRINTK_PREFIX = /^(?:\*\* \d+ printk messages dropped \*\* ?)?(?:<\d{1,3}>)?(?:\[\s*\d+\.\d+\])?(?:\[\s*[TC]\d+\])?/;
// A record's timestamp after other text on the same line: the console took a new record before the last line ended.
const GLUED_RECORD = /\S ?\[\s*\d+\.\d{6}\](?:\[\s*[TC]\d+\])? /g;

/** The message part of one console line: printk prefix and its one separating space removed, CR dropped. */
export function stripPrintkPrefix(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const prefix = PRINTK_PREFIX.exec(text)?.[0] ?? '';
  if (prefix === '') return text;
  const rest = text.slice(prefix.length);
  // printk separates the bracketed fields from the message by one space; a bare "<6>" is glued to it.
  return prefix.endsWith(']') && rest.startsWith(' ') ? rest.slice(1) : rest;
}

/** Does the console line carry printk's timestamp (a kernel record, not a program's output on the same console)? */
export function hasTimestamp(line: string): boolean {
  return /^(?:\*\* \d+ printk messages dropped \*\* ?)?(?:<\d{1,3}>)?\[\s*\d+\.\d+\]/.test(line);
}

/** The message of each record glued after other text on a console line ("login: [   12.3] BUG: ..."), in order. */
export function gluedRecords(message: string): string[] {
  return [...message.matchAll(GLUED_RECORD)].map((m) => message.slice(m.index + m[0].length));
}

/** Splits a log into lines without the printk prefixes; never throws on any input. */
export function messageLines(text: string): string[] {
  return splitLines(text).map(stripPrintkPrefix);
}

/** Lines of a text; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  const lines = String(text).split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
