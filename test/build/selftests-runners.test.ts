// The BPF CI's runners and lists: the tree's DENYLIST files (reasons optional), vm-test's own (a reason each).
import test from 'ava';
import { join } from 'node:path';
import { ciDenyList, denyListFile, parseDenyList, parseRunners, RUNNERS } from '../../orchestrator/build/selftests-runners.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { tempDir, writeFiles } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;

test('--runners: the CI\'s five by default, a comma list, an unknown name is exit 2 naming the runners', (t) => {
  t.deepEqual(parseRunners(RUNNERS.join(',')), [...RUNNERS]);
  t.deepEqual(parseRunners('test_verifier, test_maps'), ['test_verifier', 'test_maps']);
  const e = t.throws(() => parseRunners('test_progs,test_prgos'), { instanceOf: VmTestError }) as VmTestError;
  t.is(e.kind, 'usage');
  t.regex(e.message, /unknown runner\(s\) test_prgos \(runners: test_progs, /);
});

test('a DENYLIST file: name or glob, the comment after it is the reason; vm-test\'s list refuses an entry without one, naming file:line', (t) => {
  // 7.2.6's tools/testing/selftests/bpf/DENYLIST, as the tree has it.
  const tree = '# TEMPORARY\n# Alphabetical order\nget_stack_raw_tp    # spams with kernel warnings until next bpf -> bpf-next merge\nstacktrace_build_id\n';
  t.deepEqual(parseDenyList(tree, 'DENYLIST'), [
    { pattern: 'get_stack_raw_tp', source: 'DENYLIST:3', reason: 'spams with kernel warnings until next bpf -> bpf-next merge' },
    { pattern: 'stacktrace_build_id', source: 'DENYLIST:4', reason: 'in the tree\'s list' },
  ]);
  const e = t.throws(() => parseDenyList('timer_mim  # TCG\nbpf_cookie\n', 'denylists/vm-test', true), { instanceOf: VmTestError }) as VmTestError;
  t.is(e.evidence.line, 2);
  t.regex(e.message, /denylists\/vm-test:2: bpf_cookie has no reason/);
  t.throws(() => parseDenyList('not a name!\n', 'x'), { message: /x:1: not a test_progs name or glob/ });
});

test('a subtest\'s name is free text, as in libbpf/ci\'s own DENYLIST; the test\'s name before "/" is not', (t) => {
  const ci = 'btf_dump/btf_dump: syntax\nmigrate_reuseport/IPv4 TCP_NEW_SYN_RECV reqsk_timer_handler # flaky, under investigation\nsockmap_ktls/sockmap_ktls disconnect_after_delete* # lore\n';
  t.deepEqual(parseDenyList(ci, 'DENYLIST').map((e) => e.pattern), ['btf_dump/btf_dump: syntax', 'migrate_reuseport/IPv4 TCP_NEW_SYN_RECV reqsk_timer_handler', 'sockmap_ktls/sockmap_ktls disconnect_after_delete*']);
  t.throws(() => parseDenyList('ok\nbtf dump/syntax\n', 'L'), { message: /L:2: not a test_progs name or glob: "btf dump\/syntax"/ });
  t.throws(() => parseDenyList('a/b\u0001c\n', 'L'), { message: /L:1: not a test_progs name or glob/ });
});

test('the CI\'s lists: the tree\'s DENYLIST and DENYLIST.x86_64, then vm-test\'s; written as one -d @FILE with each source and reason', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, { 'sel/DENYLIST': 'varlen\n', 'sel/DENYLIST.x86_64': 'fexit_sleep  # x86 only\n', 'repo/denylists/vm-test': '# header\ntimer_lockup  # TCG: the lockup detector fires\n' });
  const entries = await ciDenyList(tmp.path, join(tmp.path, 'repo'), 'sel');
  t.deepEqual(entries.map((e) => e.pattern), ['varlen', 'fexit_sleep', 'timer_lockup']);
  t.is(denyListFile(entries), 'varlen  # sel/DENYLIST:1: in the tree\'s list\nfexit_sleep  # sel/DENYLIST.x86_64:1: x86 only\ntimer_lockup  # denylists/vm-test:2: TCG: the lockup detector fires\n');
  // The repository's own list parses, with a reason on every entry.
  await t.notThrowsAsync(ciDenyList(tmp.path, root, 'sel'));
});
