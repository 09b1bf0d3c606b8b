// deb: kernel specs and the private apt state's sources list, from the host's apt sources (one-line and deb822).
import test from 'ava';
import { join } from 'node:path';
import {
  DEBIAN_KEYRING, debianEntries, isDebianSuite, parseDeb822Sources, parseMadison, parseOneLineSources, privateSourcesList, readHostAptSources,
} from '../../orchestrator/source/debian-archive.ts';
import { describeKernelSpec, parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { tempDir, writeFiles } from '../helpers.ts';

// This project's machine, as /etc/apt/sources.list.d/debian.sources holds it.
const BOOKWORM_DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const UBUNTU = `deb http://archive.ubuntu.com/ubuntu/ noble main restricted
deb http://archive.ubuntu.com/ubuntu/ noble-updates main restricted
deb http://security.ubuntu.com/ubuntu/ noble-security main
`;

test('deb: specs: package, optional =version and @suite; the description round-trips', (t) => {
  t.deepEqual(parseKernelSpec('deb:linux-source-6.12'), { kind: 'deb', package: 'linux-source-6.12' });
  const full = parseKernelSpec('deb:linux-source-7.2=7.2.6-1~bpo13+1@trixie-backports');
  t.deepEqual(full, { kind: 'deb', package: 'linux-source-7.2', version: '7.2.6-1~bpo13+1', suite: 'trixie-backports' });
  t.is(describeKernelSpec(full as never), 'deb:linux-source-7.2=7.2.6-1~bpo13+1@trixie-backports');
  t.deepEqual(parseKernelSpec('deb:linux-source-7.3@sid'), { kind: 'deb', package: 'linux-source-7.3', suite: 'sid' });
  t.regex((parseKernelSpec('deb:linux-image-7.2') as { error: string }).error, /expected deb:linux-source-<N\.M>\[=<Debian version>\]\[@<suite>\]/);
  t.truthy((parseKernelSpec('deb:linux-source-7.2@') as { error?: string }).error);
  t.truthy((parseKernelSpec('deb:linux-source-7.2=') as { error?: string }).error);
});

test('Debian suites are told from other distributions\' by codename', (t) => {
  for (const s of ['bookworm', 'bookworm-security', 'trixie-backports', 'sid', 'experimental', 'bullseye-updates', 'stable']) t.true(isDebianSuite(s), s);
  for (const s of ['noble', 'jammy-updates', 'nodistro', 'cloud-sdk-bookworm']) t.false(isDebianSuite(s), s);
});

test('one-line and deb822 sources parse to the same entries', (t) => {
  const deb822 = parseDeb822Sources(BOOKWORM_DEB822, 'debian.sources');
  t.deepEqual(deb822.map((e) => [e.uri, e.suites, e.signedBy]), [
    ['http://deb.debian.org/debian', ['bookworm', 'bookworm-updates'], DEBIAN_KEYRING],
    ['http://deb.debian.org/debian-security', ['bookworm-security'], DEBIAN_KEYRING],
  ]);
  const oneLine = parseOneLineSources('# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ trixie main contrib\ndeb-src http://x/debian trixie main\n', 'sources.list');
  t.deepEqual(oneLine.map((e) => [e.uri, e.suites, e.components, e.signedBy, e.origin]), [['http://mirror.example/debian', ['trixie'], ['main', 'contrib'], '/k.gpg', 'sources.list:2']]);
  t.deepEqual(parseDeb822Sources('Types: deb\nURIs: http://x/debian\nSuites: sid\nComponents: main\nEnabled: no\n', 'x'), []);
});

test('the private sources list takes the host mirror for the asked suite, and the security mirror for -security', (t) => {
  const host = parseDeb822Sources(BOOKWORM_DEB822, 'debian.sources');
  const backports = privateSourcesList(host, 'trixie-backports');
  t.deepEqual(backports, { text: `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian trixie-backports main\n`, mirror: 'http://deb.debian.org/debian' });
  const security = privateSourcesList(host, 'bookworm-security');
  t.deepEqual(security, { text: `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian-security bookworm-security main\n`, mirror: 'http://deb.debian.org/debian-security' });
  // Without a suite: the host's Debian entries as they are.
  const all = privateSourcesList(host, undefined);
  t.true('text' in all && all.text.split('\n').filter(Boolean).length === 3);
  // A host with only a main mirror: the security archive beside it.
  const onlyMain = parseOneLineSources('deb http://m.example/debian bookworm main\n', 's');
  t.is((privateSourcesList(onlyMain, 'bookworm-security') as { mirror: string }).mirror, 'http://m.example/debian-security');
});

test('a host without a Debian mirror (Ubuntu) gets an error naming what it has', (t) => {
  const result = privateSourcesList(parseOneLineSources(UBUNTU, 'sources.list'), 'trixie-backports');
  t.true('error' in result);
  t.regex((result as { error: string }).error, /no Debian mirror \(suites seen: noble; noble-updates; noble-security\)/);
  t.deepEqual(debianEntries(parseOneLineSources(UBUNTU, 'sources.list')), []);
});

test('the host\'s sources are read from sources.list and sources.list.d in apt\'s order', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await writeFiles(tmp.path, {
    'sources.list': 'deb http://a.example/debian bookworm main\n',
    'sources.list.d/b.sources': BOOKWORM_DEB822,
    'sources.list.d/c.list.disabled': 'deb http://ignored.example/debian sid main\n',
  });
  const entries = await readHostAptSources(tmp.path);
  t.deepEqual(entries.map((e) => e.uri), ['http://a.example/debian', 'http://deb.debian.org/debian', 'http://deb.debian.org/debian-security']);
  t.is(entries[1]!.origin, join(tmp.path, 'sources.list.d/b.sources'));
});

test('apt-cache madison output: versions newest first, with where they come from', (t) => {
  const text = [
    'linux-source-7.2 | 7.2.12-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
    'linux-source-7.2 | 7.2.6-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages',
    '     linux | 7.2.6-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main Sources',
  ].join('\n');
  t.deepEqual(parseMadison(text, 'linux-source-7.2'), [
    { version: '7.2.12-1~bpo13+1', from: 'http://deb.debian.org/debian trixie-backports/main' },
    { version: '7.2.6-1~bpo13+1', from: 'http://deb.debian.org/debian trixie-backports/main' },
  ]);
});
