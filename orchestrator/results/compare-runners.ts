// Two test_progs builds ran the same selection: do they say the same thing? (targeted vs full)
import { newTest, type TestNode } from './tree.ts';

/** Every leaf as "test/subtest" → status, and every failed assertion text (test_progs ":FAIL:" lines, numbers dropped). */
export function outcomes(runner: TestNode): { leaves: Map<string, string>; assertions: string[] } {
  const leaves = new Map<string, string>();
  const assertions: string[] = [];
  const walk = (node: TestNode, path: string[]): void => {
    const here = [...path, node.name];
    for (const line of node.log) {
      const fail = /^\S+:FAIL:(.*)$/.exec(line.trim());
      if (fail) assertions.push(`${here.join('/')}: ${fail[1]!.trim()}`);
    }
    if (node.children.length === 0) leaves.set(here.join('/'), node.status);
    for (const child of node.children) walk(child, here);
  };
  for (const child of runner.children) walk(child, []);
  return { leaves, assertions: [...new Set(assertions)].sort() };
}

/**
 * A test node that passes when both runners reached the same verdict on every test and subtest
 * they ran, with the same failed assertions; its log lists what was compared or what differed.
 */
export function compareRunners(name: string, reference: TestNode, candidate: TestNode): TestNode {
  const node = newTest(name);
  const ref = outcomes(reference);
  const cand = outcomes(candidate);
  const differences: string[] = [];
  if (reference.status !== candidate.status) differences.push(`verdict: ${reference.name} ${reference.status}, ${candidate.name} ${candidate.status}`);
  for (const [path, status] of ref.leaves) {
    const other = cand.leaves.get(path);
    if (other === undefined) differences.push(`${path}: ${status} in ${reference.name}, not run by ${candidate.name}`);
    else if (other !== status) differences.push(`${path}: ${status} in ${reference.name}, ${other} in ${candidate.name}`);
  }
  for (const [path, status] of cand.leaves) {
    if (!ref.leaves.has(path)) differences.push(`${path}: ${status} in ${candidate.name}, not run by ${reference.name}`);
  }
  for (const a of ref.assertions) if (!cand.assertions.includes(a)) differences.push(`assertion only in ${reference.name}: ${a}`);
  for (const a of cand.assertions) if (!ref.assertions.includes(a)) differences.push(`assertion only in ${candidate.name}: ${a}`);
  if (ref.leaves.size === 0) differences.push(`${reference.name} reported no tests: nothing to compare`);

  if (differences.length === 0) {
    node.status = 'pass';
    node.log = [
      `# ${candidate.name} and ${reference.name} agree: verdict ${reference.status}, ${ref.leaves.size} results, ${ref.assertions.length} failed assertions`,
      ...[...ref.leaves].map(([path, status]) => `#   ${path}: ${status}`),
    ];
  } else {
    node.status = 'fail';
    node.log = differences.map((d) => `# FAIL: ${d}`);
    node.errors.push(`${candidate.name} and ${reference.name} disagree: ${differences[0]}${differences.length > 1 ? ` (+${differences.length - 1} more)` : ''}`);
  }
  return node;
}
