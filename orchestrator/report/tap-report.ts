// --format tap: the result tree written back out as KTAP version 1.
import type { ResultTree, TestNode } from '../results/tree.ts';

function emit(nodes: readonly TestNode[], depth: number, out: string[]): void {
  const pad = '    '.repeat(depth);
  out.push(`${pad}KTAP version 1`, `${pad}1..${nodes.length}`);
  nodes.forEach((node, i) => {
    if (node.children.length) {
      out.push(`${pad}    # Subtest: ${node.name}`);
      emit(node.children, depth + 1, out);
    }
    for (const e of node.errors) out.push(`${pad}# ${node.name}: ${e}`);
    const ok = node.status === 'pass' || node.status === 'skip' || node.status === 'xfail' || node.status === 'todo' ? 'ok' : 'not ok';
    const directive = node.status === 'skip' ? ` # SKIP${node.directive?.reason ? ` ${node.directive.reason}` : ''}`
      : node.status === 'todo' ? ` # TODO${node.directive?.reason ? ` ${node.directive.reason}` : ''}`
      : node.status === 'xfail' ? ' # XFAIL'
      : node.status === 'crashed' ? ' # CRASHED' : '';
    out.push(`${pad}${ok} ${i + 1} ${node.name}${directive}`);
  });
}

export function toTap(tree: ResultTree): string {
  const out: string[] = [];
  emit(tree.tests, 0, out);
  return out.join('\n') + '\n';
}
