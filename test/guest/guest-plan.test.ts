import test from 'ava';
import { fullTestProgsEntry, planLine, shellQuote, testProgsEntry } from '../../orchestrator/guest/guest-plan.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { realExec, tempDir } from '../helpers.ts';

test('plan lines are name, timeout and a quoted command', (t) => {
  const entry = testProgsEntry('/cache/b/test_progs', ['map_cmp_delete'], '/run/vm-test/test_progs.json', 300);
  t.is(planLine(entry), 'test_progs\t300\tstdbuf -oL /cache/b/test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json');
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
  t.is(planLine(entry), 'test_progs\t300\tcd /cache/b/vm-test-selftests/full && exec stdbuf -oL ./test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json');
  // The command really runs in that directory.
  const r = await realExec.run({ command: '/bin/sh', args: ['-c', planLine({ ...entry, argv: ['pwd'], cwd: '/usr/bin', lineBuffered: false }).split('\t')[2]!] });
  t.is(r.stdout.trim(), '/usr/bin');
});

test('no -t at all when the selection is empty (the whole suite)', (t) => {
  t.deepEqual(testProgsEntry('/b/test_progs', [], '/run/vm-test/t.json', 60).argv, ['/b/test_progs', '-J', '/run/vm-test/t.json']);
});

test('test_progs runs with its stdout line-buffered: a forked child no longer prints a second copy of what the parent had not flushed', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // What test_progs does: a result line on a stdout that is not a terminal, then a test forks and its child exits.
  await writeFile(join(tmp.path, 'forks.c'), '#include <stdio.h>\n#include <stdlib.h>\n#include <sys/wait.h>\n#include <unistd.h>\nint main(void) { printf("#38/171  btf/type_tag test #5:OK\\n"); if (fork() == 0) exit(0); wait(NULL); return 0; }\n');
  const cc = await realExec.run({ command: 'gcc', args: ['-o', join(tmp.path, 'forks'), join(tmp.path, 'forks.c')] });
  t.is(cc.exitCode, 0, cc.stderr);
  const run = async (lineBuffered: boolean) => (await realExec.run({ command: '/bin/sh', args: ['-c', `${planLine({ name: 'x', kind: 'test_progs', argv: ['./forks'], timeoutSec: 5, cwd: tmp.path, lineBuffered }).split('\t')[2]!} | cat`] })).stdout;
  t.is(await run(false), '#38/171  btf/type_tag test #5:OK\n#38/171  btf/type_tag test #5:OK', 'the mechanism: without it, the line twice');
  t.is(await run(true), '#38/171  btf/type_tag test #5:OK');
  t.true(testProgsEntry('./test_progs', [], '/run/vm-test/t.json', 60).lineBuffered);
});
