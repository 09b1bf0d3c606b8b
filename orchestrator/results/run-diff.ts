// The series against its base, as a maintainer reads the BPF CI: what the series broke, fixed, left failing, added or
// removed, and the kernel reports that are new. Pure: two result trees in, one difference out.
import { isBlocking, type ResultTree, type Splat, type TestNode, type TestStatus } from './tree.ts';

/** One leaf test (a subtest, or a test without subtests) of a runner, by its path: runner/test[/subtest]. */
export interface LeafResult {
  path: string;
  status: TestStatus;
  /** Its first error (the failed assertion) and its last log lines, for the report. */
  error?: string;
  log: string[];
}

export interface LeafChange {
  path: string;
  base: TestStatus;
  series: TestStatus;
  /** What running it once more said of a new failure it did not clear: 'failed again', 'not run again', ... */
  retry?: string;
  error?: string;
  log: string[];
}

export interface RunDiff {
  /** Fail (or crash) with the series, pass on the base. */
  newFailures: LeafChange[];
  /** Pass with the series, fail on the base. */
  fixed: LeafChange[];
  /** Fail on both: not the series' doing. */
  stillFailing: LeafChange[];
  /** Only with the series (a test it adds), and only on the base (one it removes or renames). */
  appeared: LeafResult[];
  disappeared: LeafResult[];
  /** Kernel reports with the series whose title (without addresses and numbers) the base did not print. */
  newSplats: Splat[];
  /** Per runner: the series' success/skipped/failed leaves, as the CI's summary counts them. */
  runners: { name: string; passed: number; skipped: number; failed: number; total: number; seconds?: number; baseSeconds?: number }[];
}

const failing = (s: TestStatus) => s === 'fail' || s === 'crashed';
const passing = (s: TestStatus) => s === 'pass' || s === 'xfail';

export function leaves(tree: Pick<ResultTree, 'tests'>): LeafResult[] {
  const out: LeafResult[] = [];
  const visit = (node: TestNode, path: string[]) => {
    const here = [...path, node.name];
    if (node.children.length === 0) {
      // Its first error: the parser's, else test_progs' first failed assertion in its log ("name:FAIL:what ...").
      const error = node.errors[0] ?? (node.status === 'fail' || node.status === 'crashed' ? node.log.find((l) => /:FAIL:/.test(l))?.trim() : undefined);
      out.push({ path: here.join('/'), status: node.status, ...(error ? { error } : {}), log: node.log.slice(-30) });
      return;
    }
    node.children.forEach((c) => visit(c, here));
  };
  tree.tests.forEach((t) => visit(t, []));
  return out;
}

/** A splat's title with what changes from boot to boot taken out: addresses, offsets, pids, CPUs, times. */
export function splatKey(splat: Pick<Splat, 'kind' | 'title' | 'bugTitle'>): string {
  // The bug title already names the bug without what changes between runs; a splat without one, its first line.
  if (splat.bugTitle) return splat.bugTitle;
  const title = splat.title
    .replace(/0x[0-9a-f]+/gi, 'ADDR').replace(/\b[0-9a-f]{8,16}\b/gi, 'ADDR')
    .replace(/\+ADDR\/ADDR/g, '').replace(/\b\d+\b/g, 'N').replace(/\s+/g, ' ').trim();
  return `${splat.kind}: ${title}`;
}

/** Every node's path, leaves and parents: runner/test[/subtest]. */
function nodePaths(tree: Pick<ResultTree, 'tests'>): Set<string> {
  const out = new Set<string>();
  const visit = (node: TestNode, path: string) => {
    out.add(path);
    node.children.forEach((c) => visit(c, `${path}/${c.name}`));
  };
  tree.tests.forEach((t) => visit(t, t.name));
  return out;
}

/**
 * A leaf the parsers add for a failure in a test's own body ("(outside subtests)") or a test cut off ("(unfinished)")
 * stands for that body: where the other side has the test without it, the body passed there.
 */
const SYNTHETIC = /\/\((outside subtests|unfinished)\)$/;
/** Such a leaf's own name. */
export const SYNTHETIC_LEAF = /^\((outside subtests|unfinished)\)$/;
const bodyPassed = (path: string, otherNodes: Set<string>) => SYNTHETIC.test(path) && otherNodes.has(path.replace(SYNTHETIC, ''));

export function diffRuns(base: Pick<ResultTree, 'tests' | 'splats'>, series: Pick<ResultTree, 'tests' | 'splats'>): RunDiff {
  const before = new Map(leaves(base).map((l) => [l.path, l]));
  const after = leaves(series);
  const afterPaths = new Set(after.map((l) => l.path));
  const baseNodes = nodePaths(base);
  const seriesNodes = nodePaths(series);
  const diff: RunDiff = { newFailures: [], fixed: [], stillFailing: [], appeared: [], disappeared: [], newSplats: [], runners: [] };
  for (const leaf of after) {
    const old = before.get(leaf.path) ?? (bodyPassed(leaf.path, baseNodes) ? { path: leaf.path, status: 'pass' as const, log: [] } : undefined);
    if (!old) {
      diff.appeared.push(leaf);
      continue;
    }
    const change: LeafChange = { path: leaf.path, base: old.status, series: leaf.status, ...(leaf.error ?? old.error ? { error: leaf.error ?? old.error } : {}), log: failing(leaf.status) ? leaf.log : old.log };
    if (failing(leaf.status) && passing(old.status)) diff.newFailures.push(change);
    else if (passing(leaf.status) && failing(old.status)) diff.fixed.push(change);
    else if (failing(leaf.status) && failing(old.status)) diff.stillFailing.push(change);
  }
  for (const [path, leaf] of before) {
    if (afterPaths.has(path)) continue;
    // The base's test failed in its own body, the series' passed whole: fixed, not gone.
    if (bodyPassed(path, seriesNodes) && failing(leaf.status)) diff.fixed.push({ path, base: leaf.status, series: 'pass', ...(leaf.error ? { error: leaf.error } : {}), log: leaf.log });
    else if (!bodyPassed(path, seriesNodes)) diff.disappeared.push(leaf);
  }
  // A new test that fails is the series' failure too: it did not pass anywhere.
  for (const leaf of diff.appeared.filter((l) => failing(l.status))) diff.newFailures.push({ path: leaf.path, base: 'todo', series: leaf.status, ...(leaf.error ? { error: leaf.error } : {}), log: leaf.log });
  const known = new Set(base.splats.map(splatKey));
  diff.newSplats = series.splats.filter((s) => isBlocking(s) && !known.has(splatKey(s)));
  const secs = (node: TestNode | undefined) => (node?.durationMs === undefined ? {} : { seconds: Math.round(node.durationMs / 100) / 10 });
  for (const runner of series.tests) {
    const own = after.filter((l) => l.path === runner.name || l.path.startsWith(`${runner.name}/`));
    const onBase = secs(base.tests.find((t) => t.name === runner.name)).seconds;
    diff.runners.push({
      name: runner.name, total: own.length, ...secs(runner), ...(onBase === undefined ? {} : { baseSeconds: onBase }),
      passed: own.filter((l) => passing(l.status)).length,
      skipped: own.filter((l) => l.status === 'skip').length,
      failed: own.filter((l) => failing(l.status)).length,
    });
  }
  return diff;
}

/**
 * What a new failure's retry said: confirmed (failed again), or flaky (passed the second time). One the retry did not
 * report (its selection missed it, or its guest ended first) was not run again: it stays a new failure, said so.
 */
export function confirmRetry(diff: RunDiff, retry: Pick<ResultTree, 'tests'>): { confirmed: LeafChange[]; flaky: LeafChange[] } {
  const again = new Map(leaves(retry).map((l) => [l.path, l.status]));
  const told = (c: LeafChange): LeafChange => {
    const status = again.get(c.path);
    return { ...c, retry: status === undefined ? 'not run again' : failing(status) ? 'failed again' : `${status} when run again` };
  };
  const confirmed = diff.newFailures.filter((c) => !passing(again.get(c.path) ?? 'crashed')).map(told);
  const flaky = diff.newFailures.filter((c) => passing(again.get(c.path) ?? 'crashed'));
  return { confirmed, flaky };
}
