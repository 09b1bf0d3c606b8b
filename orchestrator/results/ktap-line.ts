// One KTAP/TAP line, classified by its text alone; where it belongs is the parser's business.
import type { DirectiveKind } from './tree.ts';

export interface ResultLine {
  ok: boolean;
  /** Absent when the line carried no number ("ok - name"). */
  number?: number;
  name: string;
  directive?: { kind: DirectiveKind; reason: string };
  /** Text after "#" that is not a SKIP/TODO/XFAIL directive (KTAP's TIMEOUT, ERROR, diagnostic data). */
  comment?: string;
}

export type KtapLine =
  | { type: 'version'; format: 'KTAP' | 'TAP'; version: number }
  | { type: 'subtest'; name: string }
  | { type: 'plan'; count: number; skip: boolean }
  | { type: 'result'; result: ResultLine }
  | { type: 'bail'; reason: string }
  | { type: 'blank' }
  | { type: 'diagnostic' };

const VERSION = /^(KTAP|TAP) version (\d+)\s*$/;
const SUBTEST = /^# Subtest: (.*)$/;
const PLAN = /^1\.\.(\d+)(.*)$/;
const RESULT = /^(not ok|ok)(?=\s|$)(.*)$/;
const BAIL = /^Bail out!(.*)$/;
const DIRECTIVE = /^(skip|todo|xfail)\S*(.*)$/i;

/** Columns of leading whitespace; a tab advances to the next multiple of 8, as a terminal shows it. */
export function indentWidth(line: string): number {
  let col = 0;
  for (const ch of line) {
    if (ch === ' ') col++;
    else if (ch === '\t') col = Math.floor(col / 8) * 8 + 8;
    else break;
  }
  return col;
}

// TAP 14: the description ends at the first unescaped "#" that starts a word.
function splitComment(text: string): { description: string; comment?: string } {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '#') continue;
    const before = i === 0 ? ' ' : text[i - 1]!;
    if (/\s/.test(before)) return { description: text.slice(0, i), comment: text.slice(i + 1).trim() };
  }
  return { description: text };
}

function parseResult(ok: boolean, rest: string): ResultLine {
  let text = rest;
  let number: number | undefined;
  const num = /^\s+(\d+)(?=\s|$)/.exec(text);
  if (num) {
    number = Number(num[1]);
    text = text.slice(num[0].length);
  }
  text = text.replace(/^\s*-(?=\s|$)/, '');
  const { description, comment } = splitComment(text);
  const name = description.trim().replace(/\\([#\\])/g, '$1');
  const result: ResultLine = { ok, name };
  if (number !== undefined) result.number = number;
  const directive = comment === undefined ? null : DIRECTIVE.exec(comment);
  if (directive) {
    const kind = directive[1]!.toUpperCase() as DirectiveKind;
    result.directive = { kind, reason: directive[2]!.replace(/^[\s:]+/, '').trim() };
  } else if (comment) {
    result.comment = comment;
    // kselftest's "not ok 3 # error <msg>" has no name; the comment is the best one there is.
    if (name === '') result.name = comment;
  }
  return result;
}

/** Classifies a line whose leading whitespace has already been measured and removed. */
export function classifyKtapLine(content: string): KtapLine {
  if (content.trim() === '') return { type: 'blank' };
  const version = VERSION.exec(content);
  if (version) return { type: 'version', format: version[1] as 'KTAP' | 'TAP', version: Number(version[2]) };
  const subtest = SUBTEST.exec(content);
  if (subtest) return { type: 'subtest', name: subtest[1]!.trim() };
  const plan = PLAN.exec(content);
  if (plan) return { type: 'plan', count: Number(plan[1]), skip: /#\s*skip/i.test(plan[2]!) };
  const result = RESULT.exec(content);
  if (result) return { type: 'result', result: parseResult(result[1] === 'ok', result[2]!) };
  const bail = BAIL.exec(content);
  if (bail) return { type: 'bail', reason: bail[1]!.trim() };
  return { type: 'diagnostic' };
}
