// Console lines carry printk decorations (loglevel, timestamp, caller id); parsers match on the message only.

// `<6>`, `[   12.345678]`, `[    T1]` / `[    C0]`, in the order printk emits them, each optional.
const PRINTK_PREFIX = /^(?:<\d{1,3}>)?(?:\[\s*\d+\.\d+\])?(?:\[\s*[TC]\d+\])?/;

/** The message part of one console line: printk prefix and its one separating space removed, CR dropped. */
export function stripPrintkPrefix(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const prefix = PRINTK_PREFIX.exec(text)?.[0] ?? '';
  if (prefix === '') return text;
  const rest = text.slice(prefix.length);
  // printk separates the bracketed fields from the message by one space; a bare "<6>" is glued to it.
  return prefix.endsWith(']') && rest.startsWith(' ') ? rest.slice(1) : rest;
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
