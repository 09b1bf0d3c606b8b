// Kconfig as a value type: fragments with provenance, merge, and the subset check after olddefconfig.
import { createHash } from 'node:crypto';

export interface KconfigEntry {
  name: string;
  /**
   * From a file we do not own (the tree's selftests config): if olddefconfig drops it, that is
   * reported as a warning, not an error. Those files ask for both sides of a choice, for options of
   * newer kernels, and for options whose dependencies this architecture lacks.
   */
  advisory?: boolean;
  /**
   * Written after a `# vm-test: if-defined` line: checked only where the tree's Kconfig defines the
   * option. For an option that one kernel has and another folded into a new one (PROC_SYSCTL into
   * SYSCTL in 7.3); an option the tree defines but could not set is still an error.
   */
  ifDefined?: boolean;
  /** 'y', 'm', 'n', a number or a quoted string, exactly as written. */
  value: string;
  file: string;
  line: number;
}

export interface KconfigFragment {
  file: string;
  entries: KconfigEntry[];
}

export interface KconfigParseError {
  file: string;
  line: number;
  text: string;
  /** What is wrong with the line, when it is more than "not Kconfig". */
  reason?: string;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;
/** A comment that is an instruction to vm-test about the option on the next line (Kconfig reads it as a comment). */
const DIRECTIVE = /^#\s*vm-test:\s*(.*?)\s*$/;
const DIRECTIVES = ['if-defined'];

/** A parse error as the user reads it: file:line, what is wrong, the line. */
export function describeParseError(e: KconfigParseError): string {
  return `${e.file}:${e.line}: ${e.reason ?? 'not a Kconfig line (expected CONFIG_NAME=value or "# CONFIG_NAME is not set")'}: ${e.text.trim()}`;
}

export function parseFragment(file: string, text: string, options: { advisory?: boolean } = {}): { fragment: KconfigFragment; errors: KconfigParseError[] } {
  const entries: KconfigEntry[] = [];
  const errors: KconfigParseError[] = [];
  // The `# vm-test: if-defined` line waiting for its option, if any.
  let pending: { line: number; text: string } | undefined;
  const push = (name: string, value: string, lineNo: number) => {
    entries.push({ name, value, file, line: lineNo, ...(options.advisory ? { advisory: true } : {}), ...(pending ? { ifDefined: true } : {}) });
    pending = undefined;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const lineNo = index + 1;
    if (line === '') return;
    const unset = UNSET.exec(line);
    if (unset) return push(unset[1]!, 'n', lineNo);
    const directive = DIRECTIVE.exec(line);
    if (directive) {
      if (!DIRECTIVES.includes(directive[1]!)) errors.push({ file, line: lineNo, text: raw, reason: `unknown vm-test directive "${directive[1]}" (known: ${DIRECTIVES.join(', ')})` });
      else if (pending) errors.push({ file, line: pending.line, text: pending.text, reason: 'a vm-test directive with no option line after it' });
      else pending = { line: lineNo, text: raw };
      return;
    }
    if (line.startsWith('#')) return;
    const set = SET.exec(line);
    if (set) push(set[1]!, set[2]!, lineNo);
    else errors.push({ file, line: lineNo, text: raw });
  });
  if (pending) errors.push({ file, line: pending.line, text: pending.text, reason: 'a vm-test directive with no option line after it' });
  return { fragment: { file, entries }, errors };
}

/**
 * What the options not named in any fragment start from:
 * - 'allno': `make allnoconfig` with the request as KCONFIG_ALLCONFIG. Every option nobody asked
 *   for is off, so the kernel is as small (and quick to build) as the request allows.
 * - 'defaults': the request as the starting .config, olddefconfig fills in each option's Kconfig
 *   default (what the selftests' vmtest.sh does with their config files).
 */
export type KconfigBase = 'allno' | 'defaults';

/** A resolved request: the last fragment to name an option wins, as with merge_config.sh. */
export class KconfigRequest {
  readonly entries: ReadonlyMap<string, KconfigEntry>;

  constructor(fragments: readonly KconfigFragment[], readonly base: KconfigBase = 'allno') {
    const merged = new Map<string, KconfigEntry>();
    for (const fragment of fragments) for (const entry of fragment.entries) merged.set(entry.name, entry);
    this.entries = merged;
  }

  /** The requested options as .config text (the starting .config, or KCONFIG_ALLCONFIG). */
  toConfigText(): string {
    return [...this.entries.values()]
      .map((e) => (e.value === 'n' ? `# ${e.name} is not set` : `${e.name}=${e.value}`))
      .join('\n') + '\n';
  }

  /** Content hash of the request: part of the build directory key. */
  hash(): string {
    return createHash('sha256').update(`# base: ${this.base}\n${this.toConfigText()}`).digest('hex').slice(0, 16);
  }
}

/** Values in a resolved .config; options absent from it count as 'n'. */
export function parseDotConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = UNSET.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  return values;
}

export interface DroppedOption {
  entry: KconfigEntry;
  actual: string;
}

/** Every requested option must have survived allnoconfig or olddefconfig with the value asked for. */
export function checkSubset(request: KconfigRequest, resolved: Map<string, string>): DroppedOption[] {
  const dropped: DroppedOption[] = [];
  for (const entry of request.entries.values()) {
    const actual = resolved.get(entry.name) ?? 'n';
    if (actual !== entry.value) dropped.push({ entry, actual });
  }
  return dropped;
}

export function describeDropped(d: DroppedOption, why?: string): string {
  const where = `${d.entry.file}:${d.entry.line}`;
  const ended = d.actual === 'n' ? 'is not set' : `=${d.actual}`;
  return `${where}: ${d.entry.name}=${d.entry.value} was requested but the resolved .config has ${d.entry.name} ${ended}${why ? ` (${why})` : ''}`;
}
