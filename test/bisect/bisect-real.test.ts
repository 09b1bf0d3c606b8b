// A real bisect over fixture revisions (test/fixtures/bisect/README.md): real builds, real boots.
import test from 'ava';
import { runCli } from '../bad-input/cli-runner.ts';

test.serial('bisect lands on the first bad revision, skips the ones that do not apply or build, and reuses byte-identical verdicts', async (t) => {
  const r = await runCli(['bisect', '--series', 'test/fixtures/bisect/bpf-f-compare', '--good', 'v1', '--bad', 'v6']);
  t.is(r.exitCode, 0, r.stdout.slice(-3000) + r.stderr);
  t.regex(r.stdout, /first bad: v5, or one of the untestable v3, v4 before it \(last good: v2\)/);
  t.regex(r.stdout, /skip v3\n\s+attempt 1: skip: patch 2\/3 .* does not apply/);
  t.regex(r.stdout, /skip v4\n\s+attempt 1: skip: kernel build failed at kernel\/bpf\/hashtab\.c:\d+/);
  // Only the guest suite sees this regression: the series' own selftest passes on v5.
  t.regex(r.stdout, /decided by: compare-contract\/spin-lock-value-eopnotsupp failed/);
  // v2 differs from v1 only in a commit message: same tree, same kernel, same verdict without a boot.
  t.regex(r.stdout, /good v2\n\s+attempt 1: good: .*\(reused from v1: byte-identical kernel, build ID [0-9a-f]{16,}\)/);
  t.regex(r.stdout, /bad  v5\n\s+attempt 1: bad: .*\(reused from v6: byte-identical kernel, build ID [0-9a-f]{16,}\)/);
});

test.serial('bisect-run speaks git bisect run: 125 for a series that does not apply', async (t) => {
  const r = await runCli(['bisect-run', '--kernel', 'deb:linux-source-6.12', '--series', 'test/fixtures/series/does-not-apply']);
  t.is(r.exitCode, 125, r.stdout + r.stderr);
});

test.serial('bisect by patch names patch 2/3 of a series whose patch 2 drops the flag check', async (t) => {
  const r = await runCli(['bisect', '--series', 'test/fixtures/series/drops-flag-check', '--by-patch']);
  t.is(r.exitCode, 0, r.stdout.slice(-3000) + r.stderr);
  t.regex(r.stdout, /first bad: 2\/3 \(last good: 1\/3\)/);
  // The fixture keeps the posted subject; only its hashtab/syscall change is broken.
  t.regex(r.stdout, /first bad patch 2\/3: \[RFC bpf-next 2\/3\] bpf: implement compare-and-delete \(BPF_F_COMPARE\) for BPF_MAP_TYPE_HASH/);
  // Patch 3/3 brings map_cmp_delete: the guest suite decides, and the UAPI-only prefix is good on what it can show.
  t.regex(r.stdout, /decided by: compare-contract\/fields-without-flag-einval failed: .*expected EINVAL, got success/);
  t.regex(r.stdout, /good 1\/3\n\s+attempt 1: good: all tests passed \(\d+ passed, 0 failed, 0 crashed, \d+ skipped\)/);
});
