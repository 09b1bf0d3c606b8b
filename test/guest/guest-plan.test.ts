import test from 'ava';
import { fullTestProgsEntry, planLine, shellQuote, testProgsEntry } from '../../orchestrator/guest/guest-plan.ts';
import { realExec } from '../helpers.ts';

test('plan lines are name, timeout and a quoted command', (t) => {
  const entry = testProgsEntry('/cache/b/test_progs', ['map_cmp_delete'], '/run/vm-test/test_progs.json', 300);
  t.is(planLine(entry), 'test_progs\t300\t/cache/b/test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json');
});

test('shell quoting survives a real /bin/sh round trip', async (t) => {
  const nasty = ["it's", 'a b', '$(id)', '`x`', 'semi;colon', ''];
  const r = await realExec.run({ command: '/bin/sh', args: ['-c', `printf '%s\\n' ${nasty.map(shellQuote).join(' ')}`] });
  t.deepEqual(r.stdout.split('\n'), nasty);
});

test('a name with a tab cannot corrupt the plan', (t) => {
  t.throws(() => planLine({ name: 'a\tb', kind: 'ktap', argv: ['x'], timeoutSec: 1 }));
});

test('the full test_progs runs in its own directory, beside its BPF objects and bpf_testmod.ko', async (t) => {
  const entry = fullTestProgsEntry('/cache/b/vm-test-selftests/full', ['map_cmp_delete'], '/run/vm-test/test_progs.json', 300, []);
  t.is(planLine(entry), 'test_progs\t300\tcd /cache/b/vm-test-selftests/full && exec ./test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json');
  // The command really runs in that directory.
  const r = await realExec.run({ command: '/bin/sh', args: ['-c', planLine({ ...entry, argv: ['pwd'], cwd: '/usr/bin' }).split('\t')[2]!] });
  t.is(r.stdout.trim(), '/usr/bin');
});

test('no -t at all when the selection is empty (the whole suite)', (t) => {
  t.deepEqual(testProgsEntry('/b/test_progs', [], '/run/vm-test/t.json', 60).argv, ['/b/test_progs', '-J', '/run/vm-test/t.json']);
});
