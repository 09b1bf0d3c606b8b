// Mutants of a series: each operator applied to each line the series adds to the kernel's C files,
// inside the series' own hunks, as a patch on top of the series.
import { createHash } from 'node:crypto';
import type { Series } from '../series/series.ts';
import { parseDiff, postImage, type DiffHunk } from './diff.ts';
import { isCode, OPERATOR_NAMES, OPERATORS, type OperatorName } from './operators.ts';

export interface Mutant {
  /** Stable across runs and machines: patch, hunk, line and operator, plus a hash of the change. */
  id: string;
  /** 1-based patch number in the series. */
  patch: number;
  patchSubject: string;
  file: string;
  /** 1-based, within its patch. */
  hunk: number;
  hunkHeader: string;
  /** The added line mutated, as a line of the patched file. */
  line: number;
  operator: OperatorName;
  description: string;
  /** A unified diff against the patched tree. */
  diff: string;
}

/** Kernel C the series adds: not its selftests, not headers (a header change rebuilds hundreds of objects). */
export function mutable(file: string): boolean {
  return file.endsWith('.c') && !file.startsWith('tools/');
}

/** A line-level diff (longest common subsequence): the lines kept, removed and added, in order. */
export function lineDiff(before: readonly string[], after: readonly string[]): { kind: ' ' | '-' | '+'; text: string }[] {
  const n = before.length;
  const m = after.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: { kind: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      out.push({ kind: ' ', text: before[i++]! });
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ kind: '-', text: before[i++]! });
    else out.push({ kind: '+', text: after[j++]! });
  }
  // A line kept, then the same text added, reads the same as the addition first: slide additions up to the removal
  // they replace (a statement deleted into an empty line reads "-stmt +", not "-stmt, blank kept, + blank").
  for (let k = 1; k + 1 < out.length; k++) {
    if (out[k]!.kind === ' ' && out[k + 1]!.kind === '+' && out[k]!.text === out[k + 1]!.text && out[k - 1]!.kind !== ' ') {
      [out[k], out[k + 1]] = [out[k + 1]!, out[k]!];
    }
  }
  return out;
}

/** A unified diff of the mutation within its hunk: one @@ block around the changes, three lines of context. */
export function hunkDiff(file: string, hunk: DiffHunk, before: readonly string[], after: readonly string[]): string {
  const ops = lineDiff(before, after);
  const changed = ops.map((o, k) => (o.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  const from = Math.max(0, changed[0]! - 3);
  const to = Math.min(ops.length - 1, changed[changed.length - 1]! + 3);
  const window = ops.slice(from, to + 1);
  const oldBefore = ops.slice(0, from).filter((o) => o.kind !== '+').length;
  const startLine = hunk.newStart + oldBefore;
  const oldCount = window.filter((o) => o.kind !== '+').length;
  const newCount = window.filter((o) => o.kind !== '-').length;
  return [`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`, `@@ -${startLine},${oldCount} +${startLine},${newCount} @@`, ...window.map((o) => `${o.kind}${o.text}`)].join('\n') + '\n';
}

export function generateMutants(series: Pick<Series, 'patches'>, operators: readonly OperatorName[] = OPERATOR_NAMES): Mutant[] {
  const mutants: Mutant[] = [];
  series.patches.forEach((patch, p) => {
    const hunks = parseDiff(patch.text);
    hunks.forEach((hunk, h) => {
      if (!mutable(hunk.file)) return;
      const image = postImage(hunk);
      const texts = image.map((l) => l.text);
      // Comment blocks: lines inside /* ... */ are not code.
      let inComment = false;
      image.forEach((line, i) => {
        const t = line.text.trim();
        const commentLine = inComment || t.startsWith('/*');
        if (t.startsWith('/*') && !t.includes('*/')) inComment = true;
        else if (inComment && t.includes('*/')) inComment = false;
        if (line.kind !== '+' || commentLine || !isCode(line.text)) return;
        for (const name of operators) {
          OPERATORS[name](texts, i).forEach((m, k) => {
            const diff = hunkDiff(hunk.file, hunk, texts, m.lines);
            const tag = createHash('sha256').update(diff).digest('hex').slice(0, 6);
            mutants.push({
              id: `p${p + 1}h${h + 1}l${line.newLine}-${name}${k ? `-${k}` : ''}-${tag}`,
              patch: p + 1, patchSubject: patch.subject, file: hunk.file, hunk: h + 1, hunkHeader: hunk.header,
              line: line.newLine!, operator: name, description: m.description, diff,
            });
          });
        }
      });
    });
  });
  return mutants;
}

/** The mutant as a mail git am applies on top of the series. */
export function mutantMail(m: Mutant): string {
  return [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: vm-test mutate <vm-test@localhost>',
    'Date: Sat, 1 Jan 2000 00:00:00 +0000',
    `Subject: [MUTANT] ${m.id}: ${m.operator}: ${m.description.replace(/\s+/g, ' ')}`,
    '',
    `Mutant of patch ${m.patch} ("${m.patchSubject}"), hunk ${m.hunk}, ${m.file}:${m.line}.`,
    '---',
    m.diff + '-- ',
    'vm-test',
    '',
  ].join('\n');
}

/**
 * At most max mutants, spread over every hunk first: round-robin over the hunks, in series order,
 * each hunk's mutants in order. Deterministic, so shards and resumes see the same choice.
 */
export function chooseMutants(all: readonly Mutant[], max = Infinity): Mutant[] {
  const byHunk = new Map<string, Mutant[]>();
  for (const m of all) {
    const key = `${m.patch}/${m.hunk}`;
    byHunk.set(key, [...(byHunk.get(key) ?? []), m]);
  }
  const queues = [...byHunk.values()];
  const out: Mutant[] = [];
  for (let round = 0; out.length < max && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (q[round] && out.length < max) out.push(q[round]!);
  }
  return out;
}

/** Shard i of n (1-based): every n-th mutant of the chosen order, starting at the i-th. */
export function shard<T>(items: readonly T[], spec: { index: number; count: number } | undefined): T[] {
  return spec ? items.filter((_, k) => k % spec.count === spec.index - 1) : [...items];
}

export function parseShard(text: string): { index: number; count: number } | { error: string } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) return { error: `--shard ${text}: expected i/n with 1 <= i <= n, e.g. 1/4` };
  return { index, count };
}
