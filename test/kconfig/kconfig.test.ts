import test from 'ava';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { checkSubset, describeDropped, describeParseError, KconfigRequest, parseDotConfig, parseFragment } from '../../orchestrator/kconfig/kconfig.ts';
import { planRun } from '../../orchestrator/plan/run-plan.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;
const fragmentNames = async (options: Parameters<typeof planRun>[0]) =>
  // A cache that does not exist but could be made: planning checks that, and nothing here makes it.
  (await planRun({ cacheDir: join(tmpdir(), 'vm-test-kconfig-test-cache'), ...options }, repoRoot, repoRoot, {}, 2)).fragments.map((f) => basename(f.file));

test('parses set, unset and comment lines with their line numbers', (t) => {
  const { fragment, errors } = parseFragment('a.config', '# why\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n');
  t.deepEqual(errors, []);
  t.deepEqual(fragment.entries.map((e) => [e.name, e.value, e.line]), [['CONFIG_A', 'y', 2], ['CONFIG_B', 'n', 4], ['CONFIG_C', '"x y"', 5], ['CONFIG_D', '0x10', 6]]);
});

test('a line that is not Kconfig is an error naming file and line', (t) => {
  const { errors } = parseFragment('bad.config', 'CONFIG_A=y\nCONFIG_B y\n');
  t.deepEqual(errors, [{ file: 'bad.config', line: 2, text: 'CONFIG_B y' }]);
});

test('a "# vm-test: if-defined" line marks the option on the next line only', (t) => {
  const { fragment, errors } = parseFragment('a.config', 'CONFIG_A=y\n# vm-test: if-defined\n# why: folded into B in 7.3\nCONFIG_OLD=y\nCONFIG_B=y\n#vm-test:if-defined\n# CONFIG_GONE is not set\n');
  t.deepEqual(errors, []);
  t.deepEqual(fragment.entries.map((e) => [e.name, e.ifDefined ?? false, e.line]), [['CONFIG_A', false, 1], ['CONFIG_OLD', true, 4], ['CONFIG_B', false, 5], ['CONFIG_GONE', true, 7]]);
  // Kconfig reads the directive as a comment: the request text is unchanged by it.
  t.is(new KconfigRequest([fragment]).toConfigText(), 'CONFIG_A=y\nCONFIG_OLD=y\nCONFIG_B=y\n# CONFIG_GONE is not set\n');
});

test('an unknown vm-test directive, or one with no option after it, is an error naming file and line', (t) => {
  const unknown = parseFragment('a.config', 'CONFIG_A=y\n# vm-test: if-known\nCONFIG_B=y\n').errors;
  t.is(unknown.length, 1);
  t.is(describeParseError(unknown[0]!), 'a.config:2: unknown vm-test directive "if-known" (known: if-defined): # vm-test: if-known');
  t.deepEqual(parseFragment('b.config', 'CONFIG_A=y\n# vm-test: if-defined\n').errors.map((e) => [e.line, e.reason]), [[2, 'a vm-test directive with no option line after it']]);
  t.deepEqual(parseFragment('c.config', '# vm-test: if-defined\n# vm-test: if-defined\nCONFIG_A=y\n').errors.map((e) => e.line), [1]);
});

test('later fragments win, and the hash follows the merged request', (t) => {
  const a = parseFragment('a', 'CONFIG_A=y\nCONFIG_B=y\n').fragment;
  const b = parseFragment('b', 'CONFIG_B=n\n').fragment;
  const merged = new KconfigRequest([a, b]);
  t.is(merged.entries.get('CONFIG_B')!.file, 'b');
  t.is(merged.toConfigText(), 'CONFIG_A=y\n# CONFIG_B is not set\n');
  t.not(merged.hash(), new KconfigRequest([a]).hash());
  t.is(merged.hash(), new KconfigRequest([a, b]).hash());
});

test('the subset check reports an option olddefconfig dropped, with where it was asked for', (t) => {
  const request = new KconfigRequest([parseFragment('vm.config', 'CONFIG_NET_9P=y\nCONFIG_NOPE=y\nCONFIG_OFF=n\n').fragment]);
  const resolved = parseDotConfig('CONFIG_NET_9P=y\n# CONFIG_OFF is not set\n');
  const dropped = checkSubset(request, resolved);
  t.is(dropped.length, 1);
  t.is(dropped[0]!.entry.name, 'CONFIG_NOPE');
  t.regex(describeDropped(dropped[0]!, 'unknown option'), /^vm\.config:2: CONFIG_NOPE=y was requested but the resolved \.config has CONFIG_NOPE is not set \(unknown option\)$/);
});

test('the shipped fragments parse cleanly', async (t) => {
  for (const name of ['vm', 'bpf', 'slim', 'btf', 'debug', 'inet', 'test-progs-keys']) {
    const { errors, fragment } = parseFragment(name, await readFile(new URL(`../../kernel-config/${name}.config`, import.meta.url), 'utf8'));
    t.deepEqual(errors, [], name);
    t.true(fragment.entries.length > 0);
  }
});

test('the base (allnoconfig or Kconfig defaults) is part of the request hash', (t) => {
  const a = parseFragment('a', 'CONFIG_A=y\n').fragment;
  t.not(new KconfigRequest([a], 'allno').hash(), new KconfigRequest([a], 'defaults').hash());
  t.is(new KconfigRequest([a]).base, 'allno');
});

test('entries from a file we do not own are advisory; ours win when both name an option', (t) => {
  const tree = parseFragment('tools/testing/selftests/bpf/config', 'CONFIG_A=y\nCONFIG_B=m\n', { advisory: true }).fragment;
  const ours = parseFragment('vm.config', 'CONFIG_B=y\n').fragment;
  const request = new KconfigRequest([tree, ours], 'defaults');
  t.true(request.entries.get('CONFIG_A')!.advisory);
  t.is(request.entries.get('CONFIG_B')!.advisory, undefined);
  t.is(request.entries.get('CONFIG_B')!.value, 'y');
});

test('the default run merges vm, bpf, then slim; a --kconfig fragment after slim (so inet wins); --full-selftests leaves slim out', async (t) => {
  t.deepEqual(await fragmentNames({}), ['vm.config', 'bpf.config', 'slim.config']);
  t.deepEqual(await fragmentNames({ kconfig: ['inet'] }), ['vm.config', 'bpf.config', 'slim.config', 'inet.config']);
  t.deepEqual(await fragmentNames({ fullSelftests: true }), ['vm.config', 'bpf.config']);
});
