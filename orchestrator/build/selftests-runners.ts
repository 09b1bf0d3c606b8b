// What the BPF CI runs (kernel-patches/vmtest, libbpf/ci's run-vmtest): every runner of the tree's BPF selftests,
// and the lists that leave tests out: the tree's DENYLIST files and vm-test's own, each entry with its reason.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VmTestError } from '../outcome.ts';

/** The runners, in the order the CI's matrix lists them; test_progs-cpuv4 is built where clang supports -mcpu=v4. */
export const RUNNERS = ['test_progs', 'test_progs-no_alu32', 'test_progs-cpuv4', 'test_verifier', 'test_maps'] as const;
export type RunnerName = (typeof RUNNERS)[number];

/** How a runner's output is read: the three test_progs flavours alike (-J JSON, the test_progs parser). */
export type RunnerKind = 'test_progs' | 'test_verifier' | 'test_maps';
export const runnerKind = (name: RunnerName): RunnerKind => (name.startsWith('test_progs') ? 'test_progs' : (name as RunnerKind));

/** The test_progs watchdog the CI passes (-w): a test still running after this many seconds is stopped and failed. */
export const CI_WATCHDOG_SEC = 600;

export function parseRunners(text: string): RunnerName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(RUNNERS as readonly string[]).includes(n));
  if (unknown.length) throw new VmTestError('usage', `--runners ${text}: unknown runner(s) ${unknown.join(', ')} (runners: ${RUNNERS.join(', ')})`);
  return names as RunnerName[];
}

/**
 * A test_progs name or glob as its lists take it: the test's name (a C identifier, or a glob of one), then after "/"
 * the subtest's, which is free text (libbpf/ci's own DENYLIST has "btf_dump/btf_dump: syntax" and
 * "migrate_reuseport/IPv4 TCP_NEW_SYN_RECV reqsk_timer_handler").
 */
export function isTestProgsName(pattern: string): boolean {
  const slash = pattern.indexOf('/');
  const testName = slash < 0 ? pattern : pattern.slice(0, slash);
  // eslint-disable-next-line no-control-regex
  return /^[A-Za-z0-9_*?-]+$/.test(testName) && (slash < 0 || /^[^\x00-\x08\x0a-\x1f\x7f]+$/.test(pattern.slice(slash + 1)));
}

/** One entry of a list: the test_progs name or glob, where it came from, and why it is left out. */
export interface DenyEntry {
  pattern: string;
  source: string;
  reason: string;
}

/**
 * A DENYLIST-format file: a name or glob per line, "#" starts a comment, and a comment after the name is its
 * reason. requireReason: vm-test's own list, where every entry must say why (exit 2 naming file:line).
 */
export function parseDenyList(text: string, source: string, requireReason = false): DenyEntry[] {
  const entries: DenyEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const [name = '', ...comment] = raw.split('#');
    const pattern = name.trim();
    if (!pattern) return;
    if (!isTestProgsName(pattern)) throw new VmTestError('usage', `${source}:${i + 1}: not a test_progs name or glob: ${JSON.stringify(pattern)}`, { file: source, line: i + 1 });
    const reason = comment.join('#').trim();
    if (requireReason && !reason) throw new VmTestError('usage', `${source}:${i + 1}: ${pattern} has no reason: vm-test's list says why each test is left out ("name  # why")`, { file: source, line: i + 1 });
    entries.push({ pattern, source: `${source}:${i + 1}`, reason: reason || 'in the tree\'s list' });
  });
  return entries;
}

/** vm-test's own list: what this VM cannot support (its file is in the repository, one reason a line). */
export const VM_TEST_DENYLIST = 'denylists/vm-test';

/**
 * The lists a CI run applies: the tree's DENYLIST and DENYLIST.x86_64 (when it has them), then vm-test's own.
 * Read after the series stage: the series may change the tree's lists.
 */
export async function ciDenyList(worktree: string, repoRoot: string, selftestsDir: string): Promise<DenyEntry[]> {
  const entries: DenyEntry[] = [];
  for (const name of ['DENYLIST', 'DENYLIST.x86_64']) {
    const file = join(worktree, selftestsDir, name);
    if (existsSync(file)) entries.push(...parseDenyList(await readFile(file, 'utf8'), join(selftestsDir, name)));
  }
  const ours = join(repoRoot, VM_TEST_DENYLIST);
  entries.push(...parseDenyList(await readFile(ours, 'utf8'), VM_TEST_DENYLIST, true));
  return entries;
}

/** The merged list as the file test_progs reads with -d @FILE, each entry with its source and reason. */
export function denyListFile(entries: readonly DenyEntry[]): string {
  return entries.map((e) => `${e.pattern}  # ${e.source}: ${e.reason}`).join('\n') + '\n';
}
