// The developer's loop through the real CLI, on the default run's kernel (no rebuild when it is current):
// vm-test exec, vm-test shell under tmux, and --gdb with Debian's gdb. Real QEMU.
import test from 'ava';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXEC_EXIT } from '../../orchestrator/outcome.ts';
import { processesMentioning, runCli, startCli } from '../bad-input/cli-runner.ts';
import { tempDir } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = join(root, 'test/fixtures/series');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial('[qemu] vm-test exec -- bpftool map list: the current kernel, not rebuilt; the command\'s exit code', async (t) => {
  // The first may build: the test before this one may have left the cache at another revision.
  const r = await runCli(['exec', '--', 'bpftool', 'map', 'list']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stderr, /vm-test exec: the command exited 0/);
  const made = await runCli(['exec', '--', 'sh', '-c', 'bpftool map create /sys/fs/bpf/m type hash key 4 value 8 entries 4 name vmt_map && bpftool map list']);
  t.is(made.exitCode, 0, made.stderr);
  t.regex(made.stderr, /\[build\] cached in [\d.]+ s - .*bzImage \(up to date: nothing rebuilt\)/);
  t.regex(made.stdout, /^\d+: hash {2}name vmt_map {2}flags 0x0\n\tkey 4B {2}value 8B {2}max_entries 4/m);
});

test.serial('[qemu] vm-test exec passes the command\'s exit code, its stdout and stderr apart, and nothing of ours on stdout', async (t) => {
  const r = await runCli(['exec', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
  t.is(r.exitCode, 7, r.stderr);
  t.is(r.stdout, 'out');
  t.regex(r.stderr, /^err$/m);
  t.regex(r.stderr, /vm-test exec: the command exited 7/);
});

test.serial('[qemu] vm-test exec runs in the current directory, shared read-write', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // bin/vm-test.js, as a user runs it from anywhere (npx vm-test).
  const r = await execa(process.execPath, [join(root, 'bin/vm-test.js'), 'exec', '--', 'sh', '-c', 'pwd; uname -r > made-in-guest'], { cwd: tmp.path, reject: false });
  t.is(r.exitCode, 0, String(r.stderr));
  t.is(String(r.stdout).trim(), tmp.path);
  t.regex(await readFile(join(tmp.path, 'made-in-guest'), 'utf8'), /^7\.2\.6\+?\n$/);
});

test.serial('[qemu] a kernel WARNING while the command runs is exit 250 and said on stderr, whatever the command returned, with the test_progs result that came after it', async (t) => {
  const r = await runCli(['exec', '--series', join(fixtures, 'warns-on-match'), '--', 'test_progs', '-t', 'map_cmp_delete']);
  t.is(r.exitCode, EXEC_EXIT.kernelCrash, r.stderr.slice(-2000));
  t.regex(r.stdout, /Summary: 1\/1 PASSED/);
  // The warning comes while map_cmp_delete runs: test_progs prints the test's result lines after it (console-marks.ts).
  t.regex(r.stderr, /vm-test exec: kernelCrash: kernel warning during exec \(next result: #1 map_cmp_delete\): WARNING in htab_map_delete_elem_cmp.*\(the command exited 0\)\nvm-test exec: exit 250/);
});

test.serial('vm-test shell without a terminal refuses, naming vm-test exec', async (t) => {
  const r = await runCli(['shell']);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /vm-test shell: needs a terminal \(stdin and stdout are not a TTY\); for one command without a terminal, use vm-test exec -- CMD/);
});

test.serial('[qemu] vm-test shell under tmux: the patched kernel\'s release, the window size, Ctrl-C to the foreground job, exit powers off', async (t) => {
  const session = `vmt-${process.pid}`;
  const tmux = (...args: string[]) => execa('tmux', args, { reject: false });
  const screen = async () => String((await tmux('capture-pane', '-p', '-t', session)).stdout);
  const until = async (pattern: RegExp, ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(500)) if (pattern.test(await screen())) return true;
    return false;
  };
  t.teardown(() => tmux('kill-session', '-t', session));
  await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `cd ${root} && node --import tsx orchestrator/cli.ts shell; echo SHELL-EXIT=$?; sleep 300`);
  t.true(await until(/^\[vm-test \/\]# ?$/m, 300_000), await screen());
  await tmux('send-keys', '-t', session, 'uname -r; stty size', 'Enter');
  t.true(await until(/^7\.2\.6\+?\n40 120$/m, 20_000), await screen());
  await tmux('send-keys', '-t', session, 'sleep 1000', 'Enter');
  await sleep(1500);
  await tmux('send-keys', '-t', session, 'C-c');
  await tmux('send-keys', '-t', session, 'echo interrupted=$?', 'Enter');
  t.true(await until(/^interrupted=130$/m, 20_000), await screen());
  await tmux('send-keys', '-t', session, 'exit', 'Enter');
  t.true(await until(/^SHELL-EXIT=0$/m, 60_000), await screen());
  await sleep(2000);
  t.deepEqual(processesMentioning('qemu-system-x86_64 -name vm-test').filter((p) => p.includes('virtconsole')), [], 'no QEMU left behind');
});

test.serial('[qemu] --gdb: Debian\'s gdb attaches through the printed command, reads linux_banner, detaches, and the command goes on', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const runDir = join(tmp.path, 'run');
  const child = startCli(['exec', '--gdb', '--run-dir', runDir, '--', 'sh', '-c', 'sleep 20; echo still-running']);
  let command: string | undefined;
  for (const end = Date.now() + 300_000; Date.now() < end && !command; await sleep(500)) {
    const text = await readFile(join(runDir, 'gdb.txt'), 'utf8').catch(() => '');
    const socket = /target remote (\S+)'/.exec(text)?.[1];
    if (socket && existsSync(socket)) command = text.trim();
  }
  if (!command) {
    child.kill();
    return t.fail('no gdb command line and socket');
  }
  t.regex(command, /^gdb -q \S+\/vmlinux -ex 'target remote \S+\.sock'$/);
  const [, vmlinux, socket] = /^gdb -q (\S+) -ex 'target remote (\S+)'$/.exec(command)!;
  const gdb = await execa('gdb', ['-q', '-batch', vmlinux!, '-ex', `target remote ${socket}`, '-ex', 'x/s &linux_banner', '-ex', 'detach'], { reject: false, timeout: 60_000 });
  t.regex(String(gdb.stdout), /<linux_banner>:\s+"Linux version 7\.2\.6/);
  t.regex(String(gdb.stdout), /Inferior 1 \(process 1\) detached/);
  const r = await child;
  t.is(r.exitCode, 0, String(r.all).slice(-2000));
  t.regex(String(r.stdout), /still-running/);
  t.regex(await readFile(join(runDir, 'qemu-cmdline.txt'), 'utf8'), /-gdb unix:\S+,server=on,wait=off/);
});
