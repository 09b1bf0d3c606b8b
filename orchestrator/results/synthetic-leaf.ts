// Leaves the parsers add so that counting leaves sees a crash or failure that only a parent reported.
import { newTest, type TestNode, type TestStatus } from './tree.ts';

/** A test the plan promised whose result line never arrived. */
export function missingTest(number: number, log: string[] = []): TestNode {
  const node = newTest(`(missing test ${number})`, 'crashed');
  node.number = number;
  node.log = log;
  node.errors.push('result line never arrived (output cut off?)');
  return node;
}

/** What was running inside a parent when its output stopped, after its last finished child. */
export function unfinishedLeaf(log: string[] = []): TestNode {
  const node = newTest('(unfinished)', 'crashed');
  node.log = log;
  return node;
}

/** A parent failed although none of its subtests did: the failure is in its own body. */
export function outsideSubtestsLeaf(status: TestStatus, log: string[] = []): TestNode {
  const node = newTest('(outside subtests)', status);
  node.log = log;
  return node;
}

function leafStatuses(node: TestNode, into: TestStatus[] = []): TestStatus[] {
  if (node.children.length === 0) into.push(node.status);
  else for (const child of node.children) leafStatuses(child, into);
  return into;
}

/** Adds a synthetic leaf wherever a parent's own status is worse than every leaf below it. */
export function reconcileParents(tests: readonly TestNode[]): void {
  for (const node of tests) {
    if (node.children.length === 0) continue;
    reconcileParents(node.children);
    const leaves = leafStatuses(node);
    if (node.status === 'crashed' && !leaves.includes('crashed')) node.children.push(unfinishedLeaf());
    else if (node.status === 'fail' && !leaves.some((s) => s === 'fail' || s === 'crashed')) {
      node.children.push(outsideSubtestsLeaf('fail'));
    }
  }
}
