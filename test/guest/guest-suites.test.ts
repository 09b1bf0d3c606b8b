import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import test from 'ava';
import { guestSuites } from '../../guest-tests/index.ts';
import { NO_COMPARE_REASON } from '../../orchestrator/guest/c-program.ts';
import { detectUapi, gccArgs, generateSuitesC, prepareGuestSuites, selectSuites, suiteGlob } from '../../orchestrator/guest/guest-suites.ts';
import { VmTestError } from '../../orchestrator/outcome.ts';
import { parseKtap } from '../../orchestrator/results/ktap-parser.ts';
import { fakeExec, realExec, tempDir } from '../helpers.ts';
import { uapiHeaders } from './uapi-headers-fixture.ts';

test('suite selection: globs, comma lists, and a glob that matches nothing is a usage error', (t) => {
  t.deepEqual(selectSuites().map((s) => s.name), guestSuites.map((s) => s.name));
  t.deepEqual(selectSuites('gc-*').map((s) => s.name), ['gc-race']);
  t.deepEqual(selectSuites('map-in-map, compare-*').map((s) => s.name), ['compare-contract', 'map-in-map']);
  t.true(suiteGlob('update-atomicit?')('update-atomicity'));
  t.false(suiteGlob('gc')('gc-race'));
  const error = t.throws(() => selectSuites('nothing*'), { instanceOf: VmTestError });
  t.is(error!.kind, 'usage');
  t.regex(error!.message, /matches no guest suite \(suites: compare-contract, gc-race, update-atomicity, map-in-map\)/);
});

test('the series is detected from the installed headers, patched and pristine', async (t) => {
  const patched = await detectUapi(await uapiHeaders('patched'));
  const pristine = await detectUapi(await uapiHeaders('pristine'));
  t.true(patched.hasCompare);
  t.false(pristine.hasCompare);
  t.true(patched.bpfHeader.endsWith('/linux/bpf.h'));
  // The parent of include/ works too (the INSTALL_HDR_PATH itself).
  t.true((await detectUapi(join(await uapiHeaders('patched'), '..'))).hasCompare);
});

test('headers without linux/bpf.h are a build failure that names the directory', async (t) => {
  const dir = await tempDir();
  t.teardown(dir.cleanup);
  const error = await t.throwsAsync(detectUapi(dir.path), { instanceOf: VmTestError });
  t.is(error!.kind, 'buildFailed');
  t.true(error!.message.includes(dir.path));
});

test('gcc runs statically with the tree headers first, and each suite becomes a ktap guest test', async (t) => {
  const out = await tempDir();
  t.teardown(out.cleanup);
  const exec = fakeExec();
  const include = await uapiHeaders('patched');
  const build = await prepareGuestSuites({ exec, headersDir: include, outDir: out.path, timeoutSec: 240, logFile: join(out.path, 'gcc.log'), select: 'gc-race,map-in-map' });
  t.deepEqual(build.tests, [
    { name: 'gc-race', kind: 'ktap', argv: [join(out.path, 'gc-race')], timeoutSec: 240 },
    { name: 'map-in-map', kind: 'ktap', argv: [join(out.path, 'map-in-map')], timeoutSec: 240 },
  ]);
  t.deepEqual(build.sources.map((s) => [s.suite, s.program]), [['gc-race', join(out.path, 'gc-race.c')], ['map-in-map', join(out.path, 'map-in-map.c')]]);
  t.deepEqual(build.sources[0]!.includes.map((f) => basename(f)), ['vmt-runtime.h', 'vmt-compare.h', 'vmt-gc-race.h', 'vmt-runtime.c', 'vmt-compare.c', 'vmt-gc-race.c', 'vmt-main.c']);
  // The copies sit beside the program, so its #include "..." finds exactly these bytes.
  t.true(build.sources.every((s) => s.includes.every((f) => f.startsWith(out.path + '/') && existsSync(f))));
  // What a run keeps: each program, each c/ copy once, and the README with the gcc command.
  t.deepEqual(build.cSources.map((f) => basename(f)), ['gc-race.c', 'map-in-map.c', 'vmt-runtime.h', 'vmt-compare.h', 'vmt-gc-race.h', 'vmt-runtime.c', 'vmt-compare.c', 'vmt-gc-race.c', 'vmt-main.c', 'vmt-inner-map.h', 'vmt-inner-map.c', 'README']);
  t.regex(await readFile(join(out.path, 'README'), 'utf8'), new RegExp(`^  gcc -static -O2 -pthread .*-I ${include} -o gc-race gc-race\\.c$`, 'm'));
  // The other calls ask the tools their versions (the binaries' stamps key on the toolchain).
  const compiles = exec.calls.filter((c) => c.args.includes('-static'));
  t.is(compiles.length, 2);
  const args = compiles[0]!.args;
  t.is(compiles[0]!.command, 'gcc');
  t.true(args.includes('-static') && args.includes('-pthread') && args.includes('-O2'));
  t.true(args.indexOf('-I') >= 0 && args[args.indexOf('-I') + 1] === include);
  t.true(args.indexOf('-I') < args.indexOf(join(out.path, 'gc-race.c')));
  t.is(compiles[0]!.logFile, join(out.path, 'gcc.log'));
});

test('a compile error names the suite, the case and the C line', async (t) => {
  const out = await tempDir();
  t.teardown(out.cleanup);
  const source = join(out.path, 'compare-contract.c');
  // Where the generator put the window-middle case: gcc's complaint points at a line inside it.
  let line = 0;
  const exec = fakeExec((req) => {
    if (req.command !== 'gcc') return undefined;
    return { exitCode: 1, stderr: `${source}: In function 'case_6_window_middle':\n${source}:${line}:22: error: 'union bpf_attr' has no member named 'compare_offset'; did you mean 'compare'?\ncompilation terminated.` };
  });
  const { generateSuiteC } = await import('../../orchestrator/guest/c-program.ts');
  const program = generateSuiteC(guestSuites[0]!, { hasCompare: true });
  line = program.text.split('\n').findIndex((l) => l.includes('.offset = 19, .size = 5,')) + 1;
  const error = await t.throwsAsync(prepareGuestSuites({ exec, headersDir: await uapiHeaders('patched'), outDir: out.path, select: 'compare-contract', timeoutSec: 60, logFile: join(out.path, 'gcc.log') }), { instanceOf: VmTestError });
  t.is(error!.kind, 'buildFailed');
  t.regex(error!.message, new RegExp(`^guest suite compare-contract \\(case window-middle\\): C build failed at ${source}:${line}: 'union bpf_attr' has no member named 'compare_offset'`));
  t.is(error!.evidence.file, source);
  t.is(error!.evidence.line, line);
  t.is(error!.evidence.logPath, join(out.path, 'gcc.log'));
  t.true(error!.evidence.excerpt!.some((l) => l.includes('.offset = 19, .size = 5,')), 'the excerpt shows the C line');
});

test('no gcc is a missing tool', async (t) => {
  const out = await tempDir();
  t.teardown(out.cleanup);
  const exec = fakeExec(() => ({ exitCode: undefined, spawnError: 'spawn gcc ENOENT' }));
  const error = await t.throwsAsync(prepareGuestSuites({ exec, headersDir: await uapiHeaders('pristine'), outDir: out.path, select: 'map-in-map', timeoutSec: 60, logFile: join(out.path, 'gcc.log') }), { instanceOf: VmTestError });
  t.is(error!.kind, 'missingTool');
});

test('gen-tests output: one C file per selected suite, SKIP cases when the headers lack the series', async (t) => {
  const out = await tempDir();
  t.teardown(out.cleanup);
  const paths = await generateSuitesC(out.path, { hasCompare: false }, 'compare-*');
  // No case runs without the series: the program needs the runtime and main only.
  t.deepEqual(paths, ['compare-contract.c', 'vmt-runtime.h', 'vmt-compare.h', 'vmt-runtime.c', 'vmt-main.c', 'README'].map((f) => join(out.path, f)));
  t.true((await readFile(paths[0]!, 'utf8')).includes(NO_COMPARE_REASON));
  await t.throwsAsync(generateSuitesC(out.path, { hasCompare: true }, 'zzz'), { instanceOf: VmTestError, message: /matches no guest suite/ });
});

for (const variant of ['patched', 'pristine'] as const) {
  test(`every suite compiles with gcc against the ${variant} tree's headers`, async (t) => {
    const out = await tempDir();
    t.teardown(out.cleanup);
    const include = await uapiHeaders(variant);
    const build = await prepareGuestSuites({ exec: realExec, headersDir: include, outDir: out.path, timeoutSec: 60, logFile: join(out.path, 'gcc.log') });
    t.deepEqual(build.tests.map((x) => x.name), guestSuites.map((s) => s.name));
    const c = await readFile(join(out.path, 'compare-contract.c'), 'utf8');
    t.is(c.includes('#define VMT_HAVE_COMPARE 1'), variant === 'patched');
    t.is(c.includes('struct vmt_compare_args'), variant === 'patched');
    // The files a run keeps build again on their own, in another directory.
    const kept = join(out.path, 'kept');
    await mkdir(kept);
    for (const f of build.cSources) await copyFile(f, join(kept, basename(f)));
    const again = await realExec.run({ command: 'gcc', args: gccArgs(join(kept, 'compare-contract.c'), join(kept, 'compare-contract'), include) });
    t.is(again.exitCode, 0, again.stderr);
    // The binary answers --help with its parameters (it runs on any host: no bpf(2) needed for that).
    const help = await realExec.run({ command: join(out.path, 'gc-race'), args: ['--help'] });
    t.is(help.exitCode, 2);
    t.regex(help.stderr, /compare-delete-hot-keys\.rounds=20000 +\[1\.\.100000\]/);
    const badParam = await realExec.run({ command: join(out.path, 'gc-race'), args: ['compare-delete-vs-updates.rounds=0'] });
    t.is(badParam.exitCode, 2);
    if (variant === 'pristine') {
      // Every case of compare-contract needs the series: the binary skips them all without a bpf(2) call.
      const run = await realExec.run({ command: join(out.path, 'compare-contract'), args: [] });
      t.is(run.exitCode, 0);
      const parsed = parseKtap(run.stdout);
      t.deepEqual(parsed.errors, []);
      t.is(parsed.tests.length, 16);
      for (const node of parsed.tests) {
        t.is(node.status, 'skip', node.name);
        t.is(node.directive?.reason, NO_COMPARE_REASON);
      }
      // Each case's claim is printed before its result, for the report.
      for (const c of guestSuites[0]!.cases) t.true(run.stdout.includes(`\n# ${c.name}: ${c.claim}\nok `), c.name);
    }
  });
}

test('a revision that renames a compare field fails the guest build with the suite and the C line', async (t) => {
  const out = await tempDir();
  t.teardown(out.cleanup);
  const include = join(out.path, 'include');
  await cp(await uapiHeaders('patched'), include, { recursive: true });
  const bpfH = join(include, 'linux', 'bpf.h');
  await writeFile(bpfH, (await readFile(bpfH, 'utf8')).replace(/\bcompare_offset\b/g, 'cmp_offset'));
  t.true((await detectUapi(include)).hasCompare, 'BPF_F_COMPARE is still there, so the compare cases are generated');
  const error = await t.throwsAsync(prepareGuestSuites({ exec: realExec, headersDir: include, outDir: join(out.path, 'bin'), select: 'compare-contract', timeoutSec: 60, logFile: join(out.path, 'gcc.log') }), { instanceOf: VmTestError });
  t.is(error!.kind, 'buildFailed');
  t.regex(error!.message, /^guest suite compare-contract \(the BPF_F_COMPARE helpers\): C build failed at \S+\/bin\/vmt-compare\.c:\d+: .*compare_offset/);
  t.regex(error!.evidence.excerpt!.at(-1)!, /^\d+ \| attr\.compare_offset = off;$/);
  t.regex(await readFile(join(out.path, 'gcc.log'), 'utf8'), /compare_offset/);
});
