// Under GitHub Actions: a Markdown step summary and ::error annotations.
import { symbolizedLines } from '../results/splat-symbols.ts';
import { bugTitleOf } from '../results/splat-title.ts';
import { identityProperties, type RunIdentity } from '../identity.ts';
import { isBlocking, type ResultTree, type TestNode } from '../results/tree.ts';

const ICON: Record<string, string> = { pass: '✅', fail: '❌', crashed: '💥', skip: '⏭️', todo: '📝', xfail: '✅' };

function rows(node: TestNode, depth = 0): string[] {
  const name = `${'&nbsp;'.repeat(depth * 4)}${node.name}`;
  const note = node.errors[0] ?? node.directive?.reason ?? '';
  return [`| ${ICON[node.status] ?? node.status} | ${name} | ${node.status} | ${note.replaceAll('|', '\\|')} |`, ...node.children.flatMap((c) => rows(c, depth + 1))];
}

export function stepSummary(tree: ResultTree, headline: string, runDir?: string, identity?: RunIdentity): string {
  const c = tree.counts;
  const lines = [
    `## vm-test: ${headline}`,
    '',
    `${c.passed} passed, ${c.failed} failed, ${c.crashed} crashed, ${c.skipped} skipped${c.errors ? `, ${c.errors} errors` : ''}`,
    '',
    '| | test | status | note |',
    '|---|---|---|---|',
    ...tree.tests.flatMap((t) => rows(t)),
  ];
  for (const s of tree.splats) {
    lines.push('', `<details><summary>kernel ${s.kind}${s.test ? ` during ${s.test}` : ''}${s.allowedBy ? ` (allowed by ${s.allowedBy})` : ''}${s.informational ? ` (informational: ${s.informational})` : ''}: ${bugTitleOf(s)}</summary>`, '', '```', ...s.lines, ...symbolizedLines(s), '```', '</details>');
  }
  if (identity) {
    lines.push('', '<details><summary>what was tested</summary>', '', '| | |', '|---|---|', ...identityProperties(identity).map(([k, v]) => `| ${k} | \`${v}\` |`), '</details>');
  }
  if (runDir) lines.push('', `Run directory: \`${runDir}\``);
  return lines.join('\n') + '\n';
}

function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

export function annotations(tree: ResultTree): string[] {
  const out: string[] = [];
  const visit = (node: TestNode, path: string[]) => {
    const here = [...path, node.name];
    if (node.children.length === 0 && (node.status === 'fail' || node.status === 'crashed')) {
      out.push(`::error title=${escapeData(`vm-test: ${here.join('/')} ${node.status}`)}::${escapeData([...node.errors, ...node.log.slice(-20)].join('\n'))}`);
    }
    node.children.forEach((c) => visit(c, here));
  };
  tree.tests.forEach((t) => visit(t, []));
  for (const s of tree.splats.filter(isBlocking)) out.push(`::error title=${escapeData(`kernel ${s.kind}${s.test ? ` during ${s.test}` : ''}: ${bugTitleOf(s)}`)}::${escapeData(s.lines.slice(0, 30).join('\n'))}`);
  return out;
}
