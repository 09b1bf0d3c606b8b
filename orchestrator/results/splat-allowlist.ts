// Known splats a run accepts: one entry a line, "kind: regex" or "regex", "#" starts a comment line.
import type { Splat, SplatKind } from './tree.ts';

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
  /** Lines that did not load (bad regex); the rest of the list still applies. */
  errors: string[];
}

const KINDS: ReadonlySet<string> = new Set<SplatKind>([
  'panic', 'bug', 'oops', 'warning', 'gpf', 'kasan', 'ubsan', 'lockdep', 'rcu_stall', 'hung_task', 'soft_lockup',
]);

/** Parses an allowlist file; never throws. A lowercase kind name before ":" selects the kind, "kind:" alone every splat of it. */
export function loadAllowlist(text: string): Allowlist {
  const list: Allowlist = { entries: [], errors: [] };
  String(text).split('\n').forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '' || entry.startsWith('#')) return;
    const qualified = /^([a-z_]+)\s*:\s?(.*)$/.exec(entry);
    const kind = qualified && KINDS.has(qualified[1]!) ? (qualified[1] as SplatKind) : undefined;
    const source = kind ? qualified![2]!.trim() : entry;
    try {
      list.entries.push({ ...(kind ? { kind } : {}), pattern: new RegExp(source, 'm'), text: entry, line: index + 1 });
    } catch (cause) {
      list.errors.push(`allowlist line ${index + 1}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  });
  return list;
}

/** The first entry that accepts the splat, if any. */
export function allowingEntry(splat: Splat, entries: readonly AllowlistEntry[]): AllowlistEntry | undefined {
  const report = splat.lines.join('\n');
  return entries.find((e) => (e.kind === undefined || e.kind === splat.kind) && (e.pattern.test(splat.title) || e.pattern.test(report)));
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
