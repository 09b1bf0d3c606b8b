// The guest runs the host's programs (its root is the host's): the packages it runs are asked for with the full
// selftests, and their versions are part of a kept verdict's key.
import test from 'ava';
import { GUEST_PACKAGES, REQUIREMENTS, guestUserland, isNeeded } from '../../orchestrator/host/requirements.ts';
import { fakeExec } from '../helpers.ts';

test('the selftests\' guest commands are required with the full selftests only, and are among the packages a verdict keys on', (t) => {
  const ping = REQUIREMENTS.find((r) => r.aptPackage === 'iputils-ping')!;
  t.true(isNeeded(ping, { fullSelftests: true }));
  t.false(isNeeded(ping, {}));
  for (const p of ['iputils-ping', 'iproute2', 'ethtool', 'iptables', 'nftables', 'keyutils', 'busybox-static', 'bpftool']) t.true(GUEST_PACKAGES.includes(p), p);
});

test('guestUserland: each package\'s installed version, or absent; another version is another text', async (t) => {
  const installed = (ping: string) => fakeExec((req) => (req.command === 'dpkg-query' ? { exitCode: 1, stdout: `iproute2=6.1.0-3\n${ping}` } : undefined));
  const before = await guestUserland(installed(''), ['iproute2', 'iputils-ping']);
  t.is(before, 'iproute2=6.1.0-3\niputils-ping: absent');
  const after = await guestUserland(installed('iputils-ping=3:20221126-1+deb12u1\n'), ['iproute2', 'iputils-ping']);
  t.is(after, 'iproute2=6.1.0-3\niputils-ping=3:20221126-1+deb12u1');
  t.not(before, after);
});

test('the host tools are checked one run at a time per cache: a second check waits for the first, saying whose it is', async (t) => {
  const { ensureHostToolsLocked } = await import('../../orchestrator/host/host-tools.ts');
  const { acquireLock } = await import('../../orchestrator/lock.ts');
  const { RunEvents } = await import('../../orchestrator/events.ts');
  const { tempDir } = await import('../helpers.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const first = await acquireLock(tmp.path, 'host-tools', () => {});
  const events = new RunEvents();
  const said: string[] = [];
  events.subscribe((e) => e.type === 'info' && said.push(e.message));
  let done = false;
  // Nothing beyond the default tools is asked for, and this machine has them: no apt-get.
  const second = ensureHostToolsLocked({ exec: fakeExec(), events }, tmp.path, `${tmp.path}/host.log`).then(() => { done = true; });
  await new Promise((r) => setTimeout(r, 1500));
  t.false(done, 'it waits while the first holds the lock');
  t.deepEqual(said, ['waiting for this run\'s other side to check the host\'s tools']);
  await first.release();
  await second;
  t.true(done);
});

test('guestUserland on this host: dpkg-query\'s real answer, a version for what is installed', async (t) => {
  const { realExec } = await import('../helpers.ts');
  const text = await guestUserland(realExec, ['busybox-static', 'vm-test-no-such-package']);
  t.regex(text, /^busybox-static=\S+\nvm-test-no-such-package: absent$/);
});
