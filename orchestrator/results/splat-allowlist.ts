// Known splats a run accepts: one entry a line, "kind: regex" or "regex", "#" starts a comment line.
import { readFile } from 'node:fs/promises';
import { VmTestError } from '../outcome.ts';
import { classicWarningTitle } from './splat-patterns.ts';
import { SPLAT_KINDS, type Splat, type SplatKind } from './tree.ts';

export interface AllowlistEntry {
  /** Only splats of this kind match; absent: any kind. */
  kind?: SplatKind;
  /** Tested against the title and against the whole report (multiline: ^ and $ match at each line). */
  pattern: RegExp;
  /** The entry as written, which `allowedBy` reports. */
  text: string;
  /** 1-based line in the allowlist file. */
  line: number;
}

export interface Allowlist {
  entries: AllowlistEntry[];
  /** Lines that did not load (unknown kind, bad regex); the rest of the list still applies. */
  errors: string[];
}

const KINDS: ReadonlySet<string> = new Set<string>(SPLAT_KINDS);
// A lowercase word before ":" is a kind; a pattern that starts with such a word escapes the colon ("refcount_t\\:").
const QUALIFIED = /^([a-z][a-z0-9_-]*)\s*:\s?(.*)$/;

/** Parses an allowlist file; never throws. A kind name before ":" selects the kind, "kind:" alone every splat of it. */
export function loadAllowlist(text: string): Allowlist {
  const list: Allowlist = { entries: [], errors: [] };
  String(text).split('\n').forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '' || entry.startsWith('#')) return;
    const qualified = QUALIFIED.exec(entry);
    if (qualified && !KINDS.has(qualified[1]!)) {
      list.errors.push(`allowlist line ${index + 1}: "${qualified[1]}" is not a splat kind (known: ${SPLAT_KINDS.join(', ')}); `
        + `to match text that starts with "${qualified[1]}:", write "${qualified[1]}\\:"`);
      return;
    }
    const kind = qualified ? (qualified[1] as SplatKind) : undefined;
    const source = kind ? qualified![2]!.trim() : entry;
    try {
      list.entries.push({ ...(kind ? { kind } : {}), pattern: new RegExp(source, 'm'), text: entry, line: index + 1 });
    } catch (cause) {
      list.errors.push(`allowlist line ${index + 1}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  });
  return list;
}

/** The first entry that accepts the splat, if any: it may match the title, the title in 6.x layout, or the report. */
export function allowingEntry(splat: Splat, entries: readonly AllowlistEntry[]): AllowlistEntry | undefined {
  const report = splat.lines.join('\n');
  const classic = splat.kind === 'warning' ? classicWarningTitle(splat.title) : undefined;
  return entries.find((e) => (e.kind === undefined || e.kind === splat.kind)
    && (e.pattern.test(splat.title) || (classic !== undefined && e.pattern.test(classic)) || e.pattern.test(report)));
}

// An array has an `entries` method, so the shapes are told apart by Array.isArray.
function isEntryArray(list: Allowlist | readonly AllowlistEntry[]): list is readonly AllowlistEntry[] {
  return Array.isArray(list);
}

/** Copies of the splats, `allowedBy` set to the text of the entry that accepts each (others keep theirs). */
export function applyAllowlist(splats: readonly Splat[], allowlist: Allowlist | readonly AllowlistEntry[]): Splat[] {
  const entries: readonly AllowlistEntry[] = isEntryArray(allowlist) ? allowlist : allowlist.entries;
  return splats.map((splat) => {
    const entry = allowingEntry(splat, entries);
    return entry ? { ...splat, allowedBy: entry.text } : { ...splat };
  });
}

/** A loaded allowlist, or a usage error naming file:line of the first bad entry (checked when the run is planned). */
export function validateAllowlist(file: string, text: string): Allowlist {
  const allow = loadAllowlist(text);
  const [first] = allow.errors;
  if (first === undefined) return allow;
  // loadAllowlist reports "allowlist line N: <why>".
  const m = /^allowlist line (\d+): (.*)$/.exec(first);
  const line = m ? Number(m[1]) : undefined;
  const where = line ? `${file}:${line}` : file;
  const more = allow.errors.length > 1 ? ` (+${allow.errors.length - 1} more bad lines)` : '';
  throw new VmTestError('usage', `${where}: not a valid allowlist entry: ${m ? m[2] : first}${more}`, { file, ...(line ? { line } : {}), excerpt: allow.errors });
}

/** Reads and validates an allowlist file; a missing file is a usage error. */
export async function readAllowlist(file: string): Promise<Allowlist> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new VmTestError('usage', `--allowlist ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { file });
  });
  return validateAllowlist(file, text);
}

