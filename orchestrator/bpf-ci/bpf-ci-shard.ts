// vm-test bpf-ci --shard i/n: a deterministic slice of the BPF CI's work, by runner and by test. Each test_progs
// test goes to the shard its name hashes to, so the split does not move when the series adds or removes a test
// (the base and the series, each sharded alone, put every test they share in the same shard). test_verifier and
// test_maps run whole, in the shard their runner's name hashes to. Pure: names in, a slice out.
import { createHash } from 'node:crypto';
import { runnerKind, type RunnerName } from '../build/selftests-runners.ts';
import { globMatch } from '../build/selftests-build.ts';
import type { TestProgsSelection } from '../guest/guest-plan.ts';

export interface ShardSpec {
  /** 1-based. */
  index: number;
  count: number;
}

export const shardLabel = (s: ShardSpec) => `${s.index}/${s.count}`;

/** Which shard (1-based) a test or a whole runner belongs to: its name's hash, so the split is the same on every host. */
export function shardOf(name: string, count: number): number {
  return (createHash('sha256').update(name).digest().readUInt32BE(0) % count) + 1;
}

/** The runners this shard runs: the test_progs flavours (each with its slice of tests), and the whole runners it owns. */
export function shardRunners(runners: readonly RunnerName[], shard: ShardSpec): RunnerName[] {
  return runners.filter((r) => runnerKind(r) === 'test_progs' || shardOf(r, shard.count) === shard.index);
}

/**
 * The -a entries that select this shard's part of a selection, given the tests the tree has: one entry per test
 * of the shard that the selection picks, narrowed to the subtests the selection names (-t foo/bar: the tests whose
 * names contain foo, subtests containing bar). Every test_progs test the unsharded selection runs is in exactly
 * one shard's entries. The lists (-d, DENYLIST) stay as they are: test_progs applies them to each shard alike.
 */
export function shardAllowEntries(tests: readonly string[], selection: Pick<TestProgsSelection, 'test' | 'allow'>, shard: ShardSpec): string[] {
  const filters = [
    ...selection.test.map((f) => ({ top: (n: string) => n.includes(f.split('/')[0]!), sub: f.includes('/') ? `*${f.split('/').slice(1).join('/')}*` : undefined })),
    ...selection.allow.map((f) => ({ top: (n: string) => globMatch(f.split('/')[0]!, n), sub: f.includes('/') ? f.split('/').slice(1).join('/') : undefined })),
  ];
  const out = new Set<string>();
  for (const name of [...tests].sort()) {
    if (shardOf(name, shard.count) !== shard.index) continue;
    const matching = filters.filter((f) => f.top(name));
    // A filter on the whole test covers every subtest: no need for the narrower ones.
    if (matching.some((f) => f.sub === undefined)) out.add(name);
    else for (const f of matching) out.add(`${name}/${f.sub}`);
  }
  return [...out];
}

/** The allowlist file test_progs reads with -a @FILE: one entry a line, with the shard it is for. */
export function shardAllowFile(entries: readonly string[], shard: ShardSpec): string {
  return [`# vm-test bpf-ci --shard ${shardLabel(shard)}: the tests of this shard`, ...entries].join('\n') + '\n';
}
