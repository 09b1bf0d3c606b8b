// --json FILE: the result tree as documented in the README.
import type { ResultTree, TestNode } from '../results/tree.ts';
import type { RunMeta } from './run-record.ts';

export interface JsonReportMeta {
  exitCode?: number;
  headline?: string;
  runDir?: string;
  [key: string]: unknown;
}

function nodeJson(node: TestNode): Record<string, unknown> {
  return {
    name: node.name,
    status: node.status,
    ...(node.number !== undefined ? { number: node.number } : {}),
    ...(node.directive ? { directive: node.directive } : {}),
    ...(node.durationMs !== undefined ? { duration_ms: node.durationMs } : {}),
    ...(node.errors.length ? { errors: node.errors } : {}),
    ...(node.splats.length ? { splats: node.splats.map((s) => ({ kind: s.kind, title: s.title, bug_title: s.bugTitle, test: s.test, next_result: s.nextResult, allowed_by: s.allowedBy, informational: s.informational, lines: s.lines })) } : {}),
    log: node.log,
    tests: node.children.map(nodeJson),
  };
}

/** meta: a run's (run-record.ts), or what parse knows. */
export function toJson(tree: ResultTree, meta: JsonReportMeta | RunMeta = {}): string {
  return JSON.stringify({
    status: tree.status,
    counts: tree.counts,
    tests: tree.tests.map(nodeJson),
    splats: tree.splats.map((s) => ({ kind: s.kind, title: s.title, bug_title: s.bugTitle, test: s.test, next_result: s.nextResult, allowed_by: s.allowedBy, informational: s.informational, start_line: s.startLine, lines: s.lines, ...(s.frames ? { frames: s.frames } : {}), ...(s.seriesFrame ? { series_frame: s.seriesFrame } : {}), ...(s.code ? { code: s.code } : {}) })),
    ...(Object.keys(meta).length ? { run: meta } : {}),
  }, null, 2) + '\n';
}
