// KTAP v1 and TAP 13/14 to a tree of TestNodes; as in kunit_parser.py a test is crashed until its result line arrives.
//
// Nesting follows indentation: a deeper version, "# Subtest:", plan or result line opens a subtest, and the
// next result line at the parent's indentation closes it. A version line opens a subtest even at its parent's
// indentation once the parent has a plan or results, and the subtest's indentation is that of its first plan or
// result line (KUnit prints a parameterised case's header 4 columns left of its results): no level is invented. A non-result line belongs to the test running at its
// indentation (the one the next result line at that level will close), so kernel messages at column 0 land in the
// enclosing suite's log and never break parsing.
import { classifyKtapLine, indentWidth, type KtapLine, type ResultLine } from './ktap-line.ts';
import { splitLines, stripPrintkPrefix } from './printk-prefix.ts';
import { missingTest, reconcileParents, unfinishedLeaf } from './synthetic-leaf.ts';
import { newTest, type TestNode } from './tree.ts';

export interface KtapOptions {
  /** Record an error for every test with subtests but no plan; KTAP makes the plan optional, so off by default. */
  requirePlan?: boolean;
}

export interface KtapResult {
  tests: TestNode[];
  /** Problems with the document as a whole (no version line, no tests, top-level plan mismatch). */
  errors: string[];
}

const SUPPORTED = { KTAP: [1], TAP: [13, 14] } as const;
// Garbage must not cost unbounded memory or recursion.
const MAX_PLACEHOLDERS = 1000;
const MAX_DEPTH = 64;

interface Frame {
  indent: number;
  /** The test whose subtests this level holds; for the document root a pseudo-node. */
  node: TestNode;
  plan?: number;
  planSkip: boolean;
  nextNumber: number;
  /** Diagnostics at this level since its last result line: the log of whichever test reports next. */
  pending: string[];
  /** Between the subtest's header and its plan or first subtest: lines describe the test itself. */
  inHeader: boolean;
  /** Opened by a version or "# Subtest:" line rather than implied by indentation. */
  explicit: boolean;
  named: boolean;
  sawVersion: boolean;
  /** Opened by a version line and no plan or result yet: its first one, however deep, sets `indent`. */
  floating: boolean;
}

interface State {
  options: KtapOptions;
  tests: TestNode[];
  errors: string[];
  stack: Frame[];
  /** Whitespace before the document's version line: a console prefix, removed from every line. */
  baseline: number;
  documents: number;
  lastResult?: { node: TestNode; indent: number };
  yaml?: { node: TestNode; indent: number };
  depthWarned: boolean;
}

function newFrame(indent: number, node: TestNode, explicit: boolean): Frame {
  return { indent, node, planSkip: false, nextNumber: 1, pending: [], inHeader: true, explicit, named: false, sawVersion: false, floating: false };
}

function top(s: State): Frame {
  return s.stack[s.stack.length - 1]!;
}

/** Index of the deepest open level whose indentation is at most `indent`. */
function frameAt(s: State, indent: number): number {
  for (let i = s.stack.length - 1; i >= 0; i--) if (s.stack[i]!.indent <= indent) return i;
  return 0;
}

function checkVersion(line: Extract<KtapLine, { type: 'version' }>, node: TestNode): void {
  const accepted: readonly number[] = SUPPORTED[line.format];
  if (!accepted.includes(line.version)) node.errors.push(`${line.format} version ${line.version} is not supported`);
}

function stripBaseline(s: State, line: string): string {
  let i = 0;
  while (i < s.baseline && (line[i] === ' ' || line[i] === '\t')) i++;
  return line.slice(i);
}

function startDocument(s: State, message: string, version: Extract<KtapLine, { type: 'version' }>): void {
  s.baseline = message.length - message.trimStart().length;
  const root = newFrame(0, newTest('(document)'), true);
  root.sawVersion = true;
  checkVersion(version, root.node);
  s.stack = [root];
  s.documents++;
}

function openFrame(s: State, indent: number, explicit: boolean): Frame | undefined {
  const parent = top(s);
  if (s.stack.length >= MAX_DEPTH) {
    if (!s.depthWarned) parent.node.errors.push(`subtests nested deeper than ${MAX_DEPTH} levels were read as plain output`);
    s.depthWarned = true;
    return undefined;
  }
  const frame = newFrame(indent, newTest(''), explicit);
  // Lines since the parent's last result were printed by this subtest before its header.
  frame.node.log.push(...parent.pending);
  parent.pending = [];
  parent.inHeader = false;
  s.stack.push(frame);
  return frame;
}

function applyResult(node: TestNode, r: ResultLine): void {
  if (r.name !== '') node.name = r.name;
  // Directives KTAP defines but the tree has no status for (TIMEOUT, ERROR) fall back to ok/not ok; keep their text.
  if (r.comment !== undefined) node.log.push(`# ${r.comment}`);
  if (r.directive) {
    node.directive = r.directive;
    node.status = r.directive.kind === 'SKIP' ? 'skip' : r.directive.kind === 'TODO' ? 'todo' : 'xfail';
  } else {
    node.status = r.ok ? 'pass' : 'fail';
  }
}

function assignNumber(parent: Frame, node: TestNode, r: ResultLine | undefined): void {
  const expected = parent.nextNumber;
  if (!r) node.number = expected;
  else if (r.number === undefined) {
    node.number = expected;
    node.errors.push(`result line has no test number (expected ${expected})`);
  } else {
    node.number = r.number;
    if (r.number !== expected) node.errors.push(`expected test number ${expected} but found ${r.number}`);
  }
  parent.nextNumber = node.number + 1;
  parent.inHeader = false;
}

/** Checks the plan; fills the gap with crashed placeholders. Returns whether it added any. */
function checkPlan(s: State, f: Frame): boolean {
  const node = f.node;
  const got = node.children.length;
  if (f.plan === undefined) {
    if (s.options.requirePlan) node.errors.push('no plan line (1..N)');
    return false;
  }
  if (got > f.plan) node.errors.push(`plan promised ${f.plan} tests but ${got} reported`);
  if (got >= f.plan) return false;
  const missing = f.plan - got;
  node.errors.push(`plan promised ${f.plan} tests but only ${got} reported`);
  const listed = Math.min(missing, MAX_PLACEHOLDERS);
  for (let i = 0; i < listed; i++) {
    const placeholder = missingTest(f.nextNumber + i, i === 0 ? f.pending : []);
    node.children.push(placeholder);
  }
  if (missing > listed) node.errors.push(`${missing - listed} further missing tests not listed`);
  f.nextNumber += listed;
  f.pending = [];
  return true;
}

function finalizeFrame(s: State, f: Frame, r: ResultLine | undefined): void {
  const node = f.node;
  const headerName = node.name;
  const placeheld = checkPlan(s, f);
  if (!r) {
    node.errors.push('no result line: the output stopped before this test finished');
    if (!placeheld && node.children.length > 0) node.children.push(unfinishedLeaf(f.pending));
    else node.log.push(...f.pending);
    return;
  }
  if (f.named && r.name !== '' && r.name !== headerName) {
    node.errors.push(`result line names "${r.name}" but the subtest header said "${headerName}"`);
  }
  node.log.push(...f.pending);
  applyResult(node, r);
  if (f.explicit && node.children.length === 0 && node.status === 'pass' && f.plan !== 0) node.errors.push('0 tests run');
  if (node.children.some((c) => c.status === 'crashed')) node.status = 'crashed';
}

/** Closes the innermost open subtest, with its result line or (output stopped) without. */
function popFrame(s: State, r: ResultLine | undefined): TestNode {
  const f = s.stack.pop()!;
  const parent = top(s);
  finalizeFrame(s, f, r);
  assignNumber(parent, f.node, r);
  parent.node.children.push(f.node);
  return f.node;
}

function finishDocument(s: State): void {
  while (s.stack.length > 1) popFrame(s, undefined);
  const root = s.stack[0];
  s.stack = [];
  s.lastResult = undefined;
  s.yaml = undefined;
  if (!root) return;
  checkPlan(s, root);
  // "1..0" (KUnit's answer to a filter no suite matches) says there are no tests: that is not a parse error.
  if (root.node.children.length === 0 && root.plan !== 0) root.node.errors.push('no test results (0 tests run)');
  s.tests.push(...root.node.children);
  s.errors.push(...root.node.errors);
}

function diagnostic(s: State, line: string, indent: number, blank: boolean): void {
  const at = blank ? s.stack.length - 1 : frameAt(s, indent);
  if (at === s.stack.length - 1) {
    const f = s.stack[at]!;
    (f.inHeader ? f.node.log : f.pending).push(line);
  } else {
    s.stack[at + 1]!.node.log.push(line);
  }
}

/** A frame a version line opened takes the indentation of its first plan or result line. */
function settleIndent(s: State, indent: number): void {
  const t = top(s);
  if (!t.floating || indent < t.indent) return;
  t.indent = indent;
  t.floating = false;
}

function onVersion(s: State, kind: Extract<KtapLine, { type: 'version' }>, line: string, message: string, indent: number): void {
  const t = top(s);
  const nested = indent > t.indent || (indent === t.indent && s.stack.length > 1 && !t.inHeader && !t.floating);
  if (nested) {
    const f = openFrame(s, indent, true);
    if (!f) return diagnostic(s, line, indent, false);
    f.sawVersion = true;
    f.floating = true;
    return checkVersion(kind, f.node);
  }
  if (indent === t.indent && s.stack.length > 1 && t.inHeader && !t.sawVersion && t.node.children.length === 0) {
    t.sawVersion = true;
    return checkVersion(kind, t.node);
  }
  if (indent <= s.stack[0]!.indent) {
    const root = s.stack[0]!;
    if (s.stack.length === 1 && root.node.children.length === 0 && root.plan === undefined) return; // a repeated header
    finishDocument(s);
    return startDocument(s, message, kind);
  }
  diagnostic(s, line, indent, false);
  t.node.errors.push('version line in the middle of a subtest');
}

function onSubtest(s: State, name: string, line: string, indent: number): void {
  const t = top(s);
  if (indent > t.indent && t.floating && !t.named && t.node.children.length === 0) {
    t.indent = indent;
    t.node.name = name;
    t.named = true;
    return;
  }
  if (indent > t.indent) {
    const f = openFrame(s, indent, true);
    if (!f) return diagnostic(s, line, indent, false);
    f.node.name = name;
    f.named = true;
    return;
  }
  if (indent === t.indent && s.stack.length > 1 && t.inHeader && !t.named && t.node.children.length === 0) {
    t.node.name = name;
    t.named = true;
    return;
  }
  diagnostic(s, line, indent, false);
}

function onPlan(s: State, kind: Extract<KtapLine, { type: 'plan' }>, line: string, indent: number): void {
  settleIndent(s, indent);
  let f: Frame | undefined;
  if (indent > top(s).indent) f = openFrame(s, indent, false);
  else {
    const at = frameAt(s, indent);
    if (s.stack[at]!.indent === indent) {
      // A plan at an outer level: the subtests still open there never finished.
      while (s.stack.length - 1 > at) popFrame(s, undefined);
      f = s.stack[at];
    }
  }
  if (!f) return diagnostic(s, line, indent, false);
  if (f.plan !== undefined) f.node.errors.push(`second plan 1..${kind.count} (already 1..${f.plan})`);
  else {
    f.plan = kind.count;
    f.planSkip = kind.skip;
  }
  f.inHeader = false;
}

function onResult(s: State, r: ResultLine, line: string, indent: number): void {
  settleIndent(s, indent);
  if (indent > top(s).indent && !openFrame(s, indent, false)) return diagnostic(s, line, indent, false);
  const at = frameAt(s, indent);
  let node: TestNode;
  if (at === s.stack.length - 1) {
    const f = s.stack[at]!;
    node = newTest(r.name);
    node.log = f.pending;
    f.pending = [];
    applyResult(node, r);
    assignNumber(f, node, r);
    f.node.children.push(node);
  } else {
    while (s.stack.length - 1 > at + 1) popFrame(s, undefined);
    node = popFrame(s, r);
  }
  s.lastResult = { node, indent };
}

// TAP 13 YAML blocks ("  ---" ... "  ...") after a result line belong to that test.
function onYaml(s: State, line: string): boolean {
  const y = s.yaml!;
  const content = line.trimStart();
  const indent = indentWidth(line);
  if (content.trimEnd() === '...' && indent === y.indent) {
    y.node.log.push(line);
    s.yaml = undefined;
    return true;
  }
  if (content !== '' && indent < y.indent) {
    y.node.errors.push('YAML block not closed with "..."');
    s.yaml = undefined;
    return false;
  }
  y.node.log.push(line);
  return true;
}

function feed(s: State, raw: string): void {
  const message = stripPrintkPrefix(raw);
  if (s.stack.length === 0) {
    const kind = classifyKtapLine(message.trimStart());
    if (kind.type === 'version') startDocument(s, message, kind);
    return;
  }
  const line = stripBaseline(s, message);
  if (s.yaml && onYaml(s, line)) return;
  const content = line.trimStart();
  const indent = indentWidth(line);
  const after = s.lastResult;
  s.lastResult = undefined;
  if (after && content.trimEnd() === '---' && indent > after.indent) {
    s.yaml = { node: after.node, indent };
    after.node.log.push(line);
    return;
  }
  const kind = classifyKtapLine(content);
  switch (kind.type) {
    case 'version':
      return onVersion(s, kind, line, message, indent);
    case 'subtest':
      return onSubtest(s, kind.name, line, indent);
    case 'plan':
      return onPlan(s, kind, line, indent);
    case 'result':
      return onResult(s, kind.result, line, indent);
    case 'bail':
      top(s).node.errors.push(`Bail out!${kind.reason ? ` ${kind.reason}` : ''}`);
      return finishDocument(s);
    case 'blank':
      return diagnostic(s, line, indent, true);
    case 'diagnostic':
      return diagnostic(s, line, indent, false);
  }
}

/** Parses every KTAP/TAP document in `text` (a console log or a program's stdout); never throws. */
export function parseKtap(text: string, options: KtapOptions = {}): KtapResult {
  const s: State = { options, tests: [], errors: [], stack: [], baseline: 0, documents: 0, depthWarned: false };
  try {
    for (const raw of splitLines(text)) feed(s, raw);
    finishDocument(s);
    if (s.documents === 0) s.errors.push('no KTAP or TAP version line found');
    reconcileParents(s.tests);
  } catch (cause) {
    // A bug here must not take the run down with it: report what was parsed so far.
    s.errors.push(`KTAP parser failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return { tests: s.tests, errors: s.errors };
}
