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
