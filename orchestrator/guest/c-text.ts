// Small helpers for writing C tables: string literals, byte arrays, identifiers.

export function cString(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(/\n/g, '\\n').replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}" "`) + '"';
}

/** A byte array initializer, 16 bytes a line. */
export function cBytes(bytes: readonly number[], indent = '\t\t'): string {
  if (bytes.length === 0) return '{ 0 }';
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) rows.push(indent + '\t' + bytes.slice(i, i + 16).map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ') + ',');
  return `{\n${rows.join('\n')}\n${indent}}`;
}

/** A C identifier from a KTAP name. */
export function cIdent(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** One element per line. */
export function splitLines(lines: readonly string[]): string[] {
  return lines.flatMap((l) => l.split('\n'));
}
