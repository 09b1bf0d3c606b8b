// The terminal: stage lines and live progress (a rolling line on a TTY, sparse plain lines elsewhere), then the summary.
import { symbolizedLines } from '../results/splat-symbols.ts';
import { bugTitleOf, groupByBug } from '../results/splat-title.ts';
import { duringText } from '../results/console-marks.ts';
import { describeIdentity, type RunIdentity } from '../identity.ts';
import type { RunEvent } from '../events.ts';
import type { ResultTree, TestNode } from '../results/tree.ts';

export interface Writer {
  write(text: string): void;
  isTTY?: boolean;
}

const paint = (tty: boolean, code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);

export function createTerminalReporter(out: Writer, options: { verboseConsole?: boolean; github?: boolean } = {}) {
  const tty = out.isTTY === true;
  let progressShown = false;
  let lastPlainProgress = 0;
  const clearProgress = () => {
    if (tty && progressShown) out.write('\r\x1b[2K');
    progressShown = false;
  };
  const line = (text: string) => {
    clearProgress();
    out.write(text + '\n');
  };
  return (event: RunEvent): void => {
    switch (event.type) {
      case 'stage-start':
        line(`${paint(tty, 36, `[${event.stage}]`)} ${event.detail ?? '...'}`);
        break;
      case 'stage-end': {
        const color = event.status === 'failed' ? 31 : event.status === 'cached' ? 90 : 32;
        line(`${paint(tty, 36, `[${event.stage}]`)} ${paint(tty, color, event.status)} in ${(event.elapsedMs / 1000).toFixed(1)} s${event.detail ? ` - ${event.detail}` : ''}`);
        break;
      }
      case 'info':
        line(`${paint(tty, 36, `[${event.stage}]`)} ${event.message}`);
        break;
      case 'warn':
        line(`${paint(tty, 33, `[${event.stage}] warning:`)} ${event.message}`);
        if (options.github) out.write(`::warning::${event.message}\n`);
        break;
      case 'progress': {
        const frac = event.total ? ` ${Math.min(99, Math.floor((100 * event.done) / event.total))}%` : '';
        const eta = event.etaSec === undefined ? '' : ` ETA ${event.etaSec >= 90 ? `${Math.round(event.etaSec / 60)} min` : `${event.etaSec} s`}`;
        const text = `[${event.stage}] ${event.done}${event.total ? `/~${event.total}` : ''}${frac}${eta} ${event.step}`;
        if (tty) {
          out.write(`\r\x1b[2K${text.slice(0, 120)}`);
          progressShown = true;
        } else if (Date.now() - lastPlainProgress > 30_000) {
          lastPlainProgress = Date.now();
          out.write(text + '\n');
        }
        break;
      }
      case 'console-line':
        if (options.verboseConsole) line(paint(tty, 90, `  | ${event.line}`));
        break;
      case 'test-start':
        line(`${paint(tty, 36, '[test]')} ${event.name} ...`);
        break;
      case 'test-end':
        line(`${paint(tty, 36, '[test]')} ${event.name} exited ${event.exitCode}`);
        break;
      case 'log-line':
        break;
    }
  };
}

const MARK: Record<string, [string, number]> = {
  pass: ['ok', 32], xfail: ['xfail', 32], fail: ['FAIL', 31], crashed: ['CRASH', 31], skip: ['skip', 33], todo: ['todo', 33],
};

export function renderSummary(tree: ResultTree, headline: string, exitCode: number, runDir: string | undefined, tty: boolean, identity?: RunIdentity): string {
  const out: string[] = ['', paint(tty, 1, 'Results')];
  const visit = (node: TestNode, depth: number) => {
    const [label, color] = MARK[node.status] ?? [node.status, 0];
    const reason = node.directive ? ` # ${node.directive.kind} ${node.directive.reason}` : '';
    out.push(`${'  '.repeat(depth + 1)}${paint(tty, color, label.padEnd(5))} ${node.name}${reason}`);
    if ((node.status === 'fail' || node.status === 'crashed') && node.children.length === 0) {
      for (const e of node.errors) out.push(`${'  '.repeat(depth + 3)}${paint(tty, 31, e)}`);
      for (const l of node.log.slice(-25)) out.push(`${'  '.repeat(depth + 3)}${l}`);
    } else if (node.status === 'fail' || node.status === 'crashed') {
      for (const e of node.errors) out.push(`${'  '.repeat(depth + 3)}${paint(tty, 31, e)}`);
    } else if (node.children.length === 0) {
      // Measured counts of characterisation cases, and the bound a check held to, belong in the summary.
      for (const l of node.log.filter((x) => /^#?\s*characterisation \(not a pass\/fail check\)|must be 0/.test(x)).slice(0, 2)) {
        out.push(`${'  '.repeat(depth + 3)}${paint(tty, 90, l.replace(/^#\s*/, ''))}`);
      }
    }
    node.children.forEach((c) => visit(c, depth + 1));
  };
  tree.tests.forEach((t) => visit(t, 0));
  // One bug printed many times (a WARN in a loop) is shown once, with how often and during which tests.
  for (const group of groupByBug(tree.splats)) {
    const s = group[0]!;
    const tests = [...new Set(group.map((x) => x.test).filter(Boolean))];
    const times = group.length > 1 ? ` (${group.length} times${tests.length > 1 ? `, during ${tests.join(', ')}` : ''})` : '';
    const during = group.length === 1 ? duringText(s) : tests.length === 1 ? ` during ${tests[0]}` : '';
    out.push('', paint(tty, s.allowedBy || s.informational ? 33 : 31, `kernel ${s.kind}${during}${s.allowedBy ? ` (allowed by ${s.allowedBy})` : ''}${s.informational ? ` (informational: ${s.informational})` : ''}: ${bugTitleOf(s)}${times}`));
    for (const l of s.lines.slice(0, 40)) out.push(`    ${l}`);
    if (s.lines.length > 40) out.push(`    ... (${s.lines.length - 40} more lines in the console log)`);
    for (const l of symbolizedLines(s)) out.push(`    ${l}`);
  }
  const c = tree.counts;
  out.push('', `${c.passed} passed, ${c.failed} failed, ${c.crashed} crashed, ${c.skipped} skipped${c.errors ? `, ${c.errors} errors` : ''}`);
  if (identity) out.push(paint(tty, 90, `tested: ${describeIdentity(identity)}`));
  out.push(paint(tty, exitCode === 0 ? 32 : 31, `${exitCode === 0 ? 'PASS' : 'FAIL'}: ${headline} (exit ${exitCode})`));
  if (runDir) out.push(`run directory: ${runDir}`);
  return out.join('\n') + '\n';
}
