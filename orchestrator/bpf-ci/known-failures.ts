// Why a test fails on the base too, where that is known: tests that fail on a tree for the tree's own reason (its
// kernel and its selftests disagree, a bug not yet fixed there), not for the VM's and not for a series'. They still
// run (a denylist hides; this explains), and bpf-ci prints the reason beside each one that is still failing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { globMatch } from '../build/selftests-build.ts';
import { VmTestError } from '../outcome.ts';

/** The file in the repository, one entry a line: a kernel release glob, a result path glob, "#" and the reason. */
export const KNOWN_FAILURES = 'denylists/known-failures';

export interface KnownFailure {
  /** A glob of the running kernel's release (uname -r), e.g. 7.2.*. */
  release: string;
  /** A glob of the leaf's path in the result tree, runner first: test_progs*\/uprobe_syscall/*. */
  path: string;
  reason: string;
  /** file:line, for the report. */
  source: string;
}

/** Parses the list; a line without both globs or without a reason is refused naming file:line (exit 2). */
export function parseKnownFailures(text: string, source: string): KnownFailure[] {
  const out: KnownFailure[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/).filter(Boolean);
    const reason = hash < 0 ? '' : raw.slice(hash + 1).trim();
    if (!fields.length) return;
    const where = { file: source, line: i + 1 };
    if (fields.length !== 2) throw new VmTestError('usage', `${source}:${i + 1}: expected "RELEASE-GLOB PATH-GLOB  # reason", got ${JSON.stringify(raw.trim())}`, where);
    if (!reason) throw new VmTestError('usage', `${source}:${i + 1}: ${fields[1]} has no reason: each known failure says why ("RELEASE-GLOB PATH-GLOB  # why")`, where);
    out.push({ release: fields[0]!, path: fields[1]!, reason, source: `${source}:${i + 1}` });
  });
  return out;
}

export async function readKnownFailures(repoRoot: string): Promise<KnownFailure[]> {
  return parseKnownFailures(await readFile(join(repoRoot, KNOWN_FAILURES), 'utf8'), KNOWN_FAILURES);
}

/** The first entry for this kernel release whose path glob matches the leaf. An unknown release matches nothing. */
export function knownReason(list: readonly KnownFailure[], release: string | undefined, path: string): KnownFailure | undefined {
  if (!release) return undefined;
  return list.find((k) => globMatch(k.release, release) && globMatch(k.path, path));
}
