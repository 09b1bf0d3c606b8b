// --junit FILE: nested suites, crashes as errors, kernel splats attached to the test that was running.
import { symbolizedLines } from '../results/splat-symbols.ts';
import { bugTitleOf } from '../results/splat-title.ts';
import { identityProperties, type RunIdentity } from '../identity.ts';
import { isBlocking, type ResultTree, type TestNode } from '../results/tree.ts';

export function xmlEscape(text: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all.
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

interface Leaf {
  path: string[];
  node: TestNode;
}

function leaves(node: TestNode, path: string[] = []): Leaf[] {
  const here = [...path, node.name];
  if (node.children.length === 0) return [{ path: here, node }];
  return node.children.flatMap((c) => leaves(c, here));
}

function testcase(leaf: Leaf, suite: TestNode): string {
  const { node } = leaf;
  const name = xmlEscape(leaf.path.slice(1).join('/') || node.name);
  const time = node.durationMs !== undefined ? ` time="${(node.durationMs / 1000).toFixed(3)}"` : '';
  const log = xmlEscape([...node.errors, ...node.log].join('\n'));
  const parts: string[] = [];
  if (node.status === 'fail') parts.push(`<failure message="${xmlEscape(node.errors[0] ?? `${node.name} failed`)}">${log}</failure>`);
  if (node.status === 'crashed') parts.push(`<error type="crashed" message="${xmlEscape(node.errors[0] ?? 'no result: the test did not finish')}">${log}</error>`);
  if (node.status === 'skip' || node.status === 'todo') parts.push(`<skipped message="${xmlEscape(node.directive?.reason ?? node.status)}"/>`);
  if (node.log.length && node.status !== 'fail' && node.status !== 'crashed') parts.push(`<system-out>${log}</system-out>`);
  return `    <testcase classname="${xmlEscape(suite.name)}" name="${name}"${time}>${parts.join('')}</testcase>`;
}

/** Kernel splats attributed to a suite become error testcases of their own, so no viewer can miss them. */
function splatCases(suite: TestNode): string[] {
  return suite.splats.map((s, i) => {
    const body = `<error type="kernel-${s.kind}" message="${xmlEscape(bugTitleOf(s))}">${xmlEscape([...s.lines, ...symbolizedLines(s)].join('\n'))}</error>`;
    const why = s.allowedBy ? `allowed by ${s.allowedBy}` : s.informational ? `informational: ${s.informational}` : undefined;
    const allowed = why ? `<skipped message="${xmlEscape(why)}"/>` : body;
    return `    <testcase classname="${xmlEscape(suite.name)}" name="kernel ${s.kind} #${i + 1}">${allowed}</testcase>`;
  });
}

/** What was tested (identity.ts), as each suite's properties: JUnit has no place for them on testsuites. */
function properties(identity: RunIdentity | undefined): string[] {
  if (!identity) return [];
  return ['    <properties>', ...identityProperties(identity).map(([k, v]) => `      <property name="vm-test.${xmlEscape(k)}" value="${xmlEscape(v)}"/>`), '    </properties>'];
}

export function toJunit(tree: ResultTree, name = 'vm-test', identity?: RunIdentity): string {
  const suites = tree.tests.map((suite) => {
    const cases = leaves(suite);
    const count = (pred: (n: TestNode) => boolean) => cases.filter((l) => pred(l.node)).length;
    const blocking = suite.splats.filter(isBlocking).length;
    const errors = count((n) => n.status === 'crashed') + blocking;
    const skipped = count((n) => n.status === 'skip' || n.status === 'todo') + suite.splats.length - blocking;
    return [
      `  <testsuite name="${xmlEscape(suite.name)}" tests="${cases.length + suite.splats.length}" failures="${count((n) => n.status === 'fail')}" errors="${errors}" skipped="${skipped}">`,
      ...properties(identity),
      ...cases.map((l) => testcase(l, suite)),
      ...splatCases(suite),
      '  </testsuite>',
    ].join('\n');
  });
  const c = tree.counts;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${c.passed + c.failed + c.crashed + c.skipped}" failures="${c.failed}" errors="${c.crashed}" skipped="${c.skipped}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
