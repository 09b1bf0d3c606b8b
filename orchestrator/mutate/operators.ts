// Mutation operators from the mutation-testing literature, adapted to kernel C: each takes a hunk's
// post-image (the patched lines) and one line the series added, and returns the mutated post-images.

export type OperatorName = 'errno' | 'negate' | 'drop-arm' | 'bound' | 'delete' | 'unlock-move';

export interface Mutation {
  operator: OperatorName;
  /** What changed, for people: "-EBUSY -> -EAGAIN". */
  description: string;
  /** The whole post-image after the mutation. */
  lines: string[];
}

export const OPERATOR_NAMES: readonly OperatorName[] = ['errno', 'negate', 'drop-arm', 'bound', 'delete', 'unlock-move'];

const replaceLine = (lines: readonly string[], i: number, text: string): string[] => lines.map((l, k) => (k === i ? text : l));

/** A line that is a comment, blank, a preprocessor line or only braces: nothing to mutate. */
export function isCode(line: string): boolean {
  const t = line.trim();
  return t !== '' && !/^(\/\*|\*|\/\/|#)/.test(t) && !/^[{}]+;?$/.test(t);
}

/** The code of a line, without a trailing comment (mutations never touch comments). */
function codeOf(line: string): { code: string; comment: string } {
  const at = line.search(/\/\*|\/\//);
  return at < 0 ? { code: line, comment: '' } : { code: line.slice(0, at), comment: line.slice(at) };
}

/** Another error a caller could plausibly get instead: the errno tests should tell apart. */
const ERRNO_SWAP: Record<string, string> = {
  '-EBUSY': '-EAGAIN',
  '-EINVAL': '0',
  '-ENOENT': '0',
  '-EOPNOTSUPP': '0',
  '-EFAULT': '0',
  '-E2BIG': '-EINVAL',
  '-ENOMEM': '0',
  '-EPERM': '0',
};

/** errno: swap one errno for another (-EBUSY -> -EAGAIN, -EINVAL -> 0). */
export function errnoSwaps(lines: readonly string[], i: number): Mutation[] {
  const { code, comment } = codeOf(lines[i]!);
  const out: Mutation[] = [];
  for (const m of code.matchAll(/-E[A-Z0-9]+\b/g)) {
    const to = ERRNO_SWAP[m[0]] ?? '0';
    const text = code.slice(0, m.index) + to + code.slice(m.index! + m[0].length) + comment;
    out.push({ operator: 'errno', description: `${m[0]} -> ${to}`, lines: replaceLine(lines, i, text) });
  }
  return out;
}

/** The condition of a one-line if / else if / while, with where it sits in the line. */
function condition(code: string): { start: number; end: number } | undefined {
  const m = /^(\s*(?:\}\s*)?(?:else\s+)?(?:if|while)\s*)\(/.exec(code);
  if (!m) return undefined;
  let depth = 0;
  for (let k = m[1]!.length; k < code.length; k++) {
    if (code[k] === '(') depth++;
    else if (code[k] === ')' && --depth === 0) return { start: m[1]!.length + 1, end: k };
  }
  return undefined;
}

/** negate: if (x) -> if (!(x)), for a condition on one line. */
export function negations(lines: readonly string[], i: number): Mutation[] {
  const { code, comment } = codeOf(lines[i]!);
  const c = condition(code);
  if (!c) return [];
  const cond = code.slice(c.start, c.end);
  const negated = /^![A-Za-z_(]/.test(cond) && balanced(cond.slice(1)) ? cond.slice(1) : `!(${cond})`;
  return [{ operator: 'negate', description: `if (${cond}) -> if (${negated})`, lines: replaceLine(lines, i, code.slice(0, c.start) + negated + code.slice(c.end) + comment) }];
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0 && (/^\(.*\)$/.test(text) || /^[\w>.-]+(\([^()]*\))?$/.test(text));
}

/** drop-arm: drop one operand of a || or && (on one line; the arm's own parentheses kept balanced). */
export function armDrops(lines: readonly string[], i: number): Mutation[] {
  const { code, comment } = codeOf(lines[i]!);
  const out: Mutation[] = [];
  // Operators and their paren depth; an arm runs between neighbouring operators of the same group.
  const ops: { at: number; len: number; depth: number; group: number }[] = [];
  const opens: number[] = [-1];
  let depth = 0;
  for (let k = 0; k < code.length; k++) {
    const ch = code[k]!;
    if (ch === '(') {
      depth++;
      opens.push(k);
    } else if (ch === ')') {
      depth--;
      opens.pop();
    } else if ((code.startsWith('||', k) || code.startsWith('&&', k))) {
      ops.push({ at: k, len: 2, depth, group: opens[opens.length - 1]! });
      k++;
    }
  }
  for (const op of ops) {
    const siblings = ops.filter((o) => o.group === op.group);
    const idx = siblings.indexOf(op);
    const groupEnd = (() => {
      let d = 0;
      for (let k = op.at; k < code.length; k++) {
        if (code[k] === '(') d++;
        if (code[k] === ')' && --d < 0) return k;
      }
      return code.length;
    })();
    const leftStart = idx > 0 ? siblings[idx - 1]!.at + 2 : op.group + 1;
    const rightEnd = idx < siblings.length - 1 ? siblings[idx + 1]!.at : groupEnd;
    const left = code.slice(leftStart, op.at);
    const right = code.slice(op.at + 2, rightEnd);
    if (!left.trim() || !right.trim() || !balancedParens(left) || !balancedParens(right)) continue;
    const name = code.slice(op.at, op.at + 2);
    out.push({ operator: 'drop-arm', description: `drop "${left.trim()} ${name}"`, lines: replaceLine(lines, i, code.slice(0, leftStart) + code.slice(op.at + 2).replace(/^\s+/, left.match(/^\s*/)![0]) + comment) });
    out.push({ operator: 'drop-arm', description: `drop "${name} ${right.trim()}"`, lines: replaceLine(lines, i, code.slice(0, op.at).replace(/\s+$/, '') + code.slice(rightEnd) + comment) });
  }
  return out;
}

function balancedParens(text: string): boolean {
  let d = 0;
  for (const ch of text) {
    if (ch === '(') d++;
    if (ch === ')' && --d < 0) return false;
  }
  return d === 0;
}

/**
 * bound: replace a bound or an offset: a comparison made inclusive or strict (> -> >=), one operand of
 * a - or + in an expression dropped (value_size - size -> value_size, value + off -> value), and a ?:
 * fallback dropped (size ?: value_size -> size).
 */
export function boundChanges(lines: readonly string[], i: number): Mutation[] {
  const { code, comment } = codeOf(lines[i]!);
  const out: Mutation[] = [];
  const edit = (from: number, to: number, text: string, description: string) =>
    out.push({ operator: 'bound', description, lines: replaceLine(lines, i, code.slice(0, from) + text + code.slice(to) + comment) });
  // Comparisons: not ->, not >> or <<, not a #include <...> (code lines only).
  for (const m of code.matchAll(/(?<![-<>=!])(>=|<=|>|<)(?![<>=])/g)) {
    const swap: Record<string, string> = { '>': '>=', '>=': '>', '<': '<=', '<=': '<' };
    if (m[1] === '<' && /<\s*[\w.]+\.h>/.test(code)) continue;
    edit(m.index!, m.index! + m[1]!.length, swap[m[1]!]!, `${m[1]} -> ${swap[m[1]!]}`);
  }
  // a - b and a + b between identifiers or members (not ++, --, ->, or a unary minus).
  for (const m of code.matchAll(/([\w\]).>-]*[\w\])]) ([-+]) ([\w>.-]*\w)/g)) {
    if (m[1]!.endsWith('-') || /^\d+$/.test(m[3]!)) continue;
    edit(m.index!, m.index! + m[0].length, m[1]!, `drop "${m[2]} ${m[3]}"`);
  }
  for (const m of code.matchAll(/(\S+) \?: ([\w>.-]+)/g)) {
    edit(m.index!, m.index! + m[0].length, m[1]!, `drop "?: ${m[2]}"`);
  }
  return out;
}

const DECLARATION = /^\s*(?:const\s+|static\s+|struct\s+\w+\s*\*?|unsigned\s+|signed\s+)?(?:void|char|short|int|long|u8|u16|u32|u64|s32|s64|bool|size_t|bpfptr_t|unsigned|struct\s+\w+)\b[\s*]+\w/;

/** delete: remove one statement (a free, an unlock, a check's return, an assignment). */
export function statementDeletes(lines: readonly string[], i: number): Mutation[] {
  const { code } = codeOf(lines[i]!);
  const t = code.trim();
  if (!t.endsWith(';') || DECLARATION.test(code) || /^(case|default)\b/.test(t) || !balancedParens(t)) return [];
  // A statement that is the whole body of an if/else on the line before: keep the if compiling with an empty body.
  const prev = codeOf(lines[i - 1] ?? '').code.trim();
  const body = /^(?:\}\s*)?(?:else\s+)?(?:if\s*\(.*\)|else)$/.test(prev) ? lines[i]!.replace(/\S.*$/, ';') : undefined;
  // An empty line, not none: every later line keeps its number, so a __LINE__ after it (a WARN's bug table entry, the
  // debug info) is unchanged, and a statement that compiled to nothing leaves the kernel byte-identical (equivalent).
  return [{ operator: 'delete', description: `delete "${t}"`, lines: replaceLine(lines, i, body ?? '') }];
}

/** Taking a lock: spin_lock(, htab_lock_bucket(, rcu_read_lock(, raw_res_spin_lock_irqsave( ... (not lock_held(). */
const LOCK = /\b\w*lock(?:_bucket|_irqsave|_irq|_bh|_nested)?\s*\(/;
const UNLOCK = /\b\w*unlock\w*\s*\(/;

/** unlock-move: move a statement from inside a locked region to just after its unlock. */
export function unlockMoves(lines: readonly string[], i: number): Mutation[] {
  const code = codeOf(lines[i]!).code;
  const t = code.trim();
  if (!t.endsWith(';') || LOCK.test(code) || UNLOCK.test(code) || DECLARATION.test(code) || /^(return|goto|break|continue)\b/.test(t)) return [];
  // The sole body of an if/else: moving it would leave the if without a statement (the delete operator covers it).
  if (/^(?:\}\s*)?(?:else\s+)?(?:if\s*\(.*\)|else)$/.test(codeOf(lines[i - 1] ?? '').code.trim())) return [];
  let lock = -1;
  for (let k = i - 1; k >= 0; k--) {
    if (UNLOCK.test(lines[k]!)) break;
    if (LOCK.test(lines[k]!) && !UNLOCK.test(lines[k]!)) {
      lock = k;
      break;
    }
  }
  if (lock < 0) return [];
  const unlock = lines.findIndex((l, k) => k > i && UNLOCK.test(l));
  if (unlock < 0) return [];
  const indent = lines[unlock]!.match(/^\s*/)![0];
  const moved = lines.flatMap((l, k) => (k === i ? [] : k === unlock ? [l, indent + t] : [l]));
  return [{ operator: 'unlock-move', description: `move "${t}" after "${lines[unlock]!.trim()}"`, lines: moved }];
}

export const OPERATORS: Record<OperatorName, (lines: readonly string[], i: number) => Mutation[]> = {
  errno: errnoSwaps,
  negate: negations,
  'drop-arm': armDrops,
  bound: boundChanges,
  delete: statementDeletes,
  'unlock-move': unlockMoves,
};
