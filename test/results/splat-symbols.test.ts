// Kernel reports symbolised against the ELF that was built: the frames' sizes checked as the kernel prints them
// (distance to the next symbol), addr2line's inlined chains, and the first frame in a line the series adds. The
// real test builds a small ELF with gcc -g and symbolises a report about it with the real nm and addr2line.
import test from 'ava';
import { join } from 'node:path';
import { addedLines, frameRefs, parseAddr2line, parseNm, symbolizedLines, symbolizeSplats } from '../../orchestrator/results/splat-symbols.ts';
import type { Splat } from '../../orchestrator/results/tree.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

test('frames as the kernel prints them: RIP, call trace, "?" guesses, each once; a module frame keeps its module', (t) => {
  const refs = frameRefs([
    'RIP: 0010:htab_map_delete_elem_cmp+0x50/0x3b0',
    ' ? htab_map_delete_elem_cmp+0x50/0x3b0',
    ' __sys_bpf+0x100/0x3090',
    ' bpf_testmod_test_read+0x1c/0x2a0 [bpf_testmod]',
    ' ret_from_fork_asm+0x1a/0x30',
  ]);
  t.deepEqual(refs.map((r) => r.text), ['htab_map_delete_elem_cmp+0x50/0x3b0', '__sys_bpf+0x100/0x3090', 'bpf_testmod_test_read+0x1c/0x2a0', 'ret_from_fork_asm+0x1a/0x30']);
  t.is(refs[0]!.offset, 0x50);
  t.is(refs[0]!.length, 0x3b0);
  t.is(refs[2]!.module, 'bpf_testmod');
});

test('a function\'s length is nm\'s size or the distance to the next symbol (what kallsyms prints)', (t) => {
  const syms = parseNm(['ffffffff81000000 0000000000000085 t a', 'ffffffff81000090 0000000000000010 T b', 'ffffffff810000a0 d data_not_text', 'ffffffff810000c0 T c'].join('\n'));
  t.deepEqual(syms.get('a')?.[0]?.sizes, [0x85, 0x90]);
  t.deepEqual(syms.get('b')?.[0]?.sizes, [0x10, 0x30]);
  t.false(syms.has('data_not_text'));
});

test('addr2line -a -f -i: each address\'s inline chain, paths relative to the tree', (t) => {
  const out = parseAddr2line([
    '0xffffffff814d79a0', 'htab_map_hash', '/src/kernel/bpf/hashtab.c:679 (discriminator 11)', 'htab_map_delete_elem_cmp', '/src/kernel/bpf/hashtab.c:1552',
    '0xffffffff814914d0', '__sys_bpf', '/src/kernel/bpf/syscall.c:6424',
    '0xffffffff81000000', '??', '??:0',
  ].join('\n'), 3, '/src');
  t.deepEqual(out[0], [{ func: 'htab_map_hash', file: 'kernel/bpf/hashtab.c', line: 679 }, { func: 'htab_map_delete_elem_cmp', file: 'kernel/bpf/hashtab.c', line: 1552 }]);
  t.deepEqual(out[1], [{ func: '__sys_bpf', file: 'kernel/bpf/syscall.c', line: 6424 }]);
  t.deepEqual(out[2], [{ func: '??' }]);
});

test('the lines a series adds, from git diff -U0', (t) => {
  const added = addedLines(['diff --git a/kernel/bpf/hashtab.c b/kernel/bpf/hashtab.c', '--- a/kernel/bpf/hashtab.c', '+++ b/kernel/bpf/hashtab.c',
    '@@ -1534,0 +1537,38 @@ static long htab_map_delete_elem', '+static long htab_map_delete_elem_cmp(', '@@ -2366,0 +2405 @@', '+\t.map_delete_elem_cmp = x,',
    '@@ -10,2 +10,0 @@', '-gone'].join('\n'));
  t.deepEqual(added.get('kernel/bpf/hashtab.c'), [[1537, 1574], [2405, 2405]]);
});

test('[real] a report about an ELF built with gcc -g: frames symbolised with the real nm and addr2line, the series\' line named, a frame of another build flagged', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const src = join(tmp.path, 'src');
  await writeFiles(src, {
    'lib/helper.c': 'static inline int helper(int *p)\n{\n\treturn *p + 1;\n}\nint __attribute__((noinline)) victim(int *p)\n{\n\tint x = helper(p);\n\treturn x * 3;\n}\nint caller(int *p) { return victim(p) + 1; }\n',
  });
  const elf = join(src, 'vmlinux');
  await sh(src, 'gcc', ['-g', '-O2', '-c', '-o', elf, 'lib/helper.c']);
  // The report's frames from the ELF's own symbols: victim at its first load, caller with its real length.
  const nm = parseNm(await sh(src, 'nm', ['-S', elf]));
  const victim = nm.get('victim')![0]!;
  const caller = nm.get('caller')![0]!;
  const hex = (n: number) => `0x${n.toString(16)}`;
  const a2l = await sh(src, 'addr2line', ['-f', '-i', '-e', elf, ...Array.from({ length: victim.sizes[0]! }, (_, i) => hex(Number(victim.address) + i))]);
  const loadAt = a2l.split('\n').findIndex((l) => l === 'helper') / 2;
  t.true(loadAt >= 0, 'gcc inlined helper() into victim()');
  const lines = ['BUG: unable to handle page fault for address: 0000000000000000', `RIP: 0010:victim+${hex(loadAt)}/${hex(victim.sizes[0]!)}`, 'Call Trace:', ` caller+0x4/${hex(caller.sizes[0]!)}`, ' caller+0x4/0x999'];
  const splat: Splat = { kind: 'oops', title: lines[0]!, lines, startLine: 1 };
  const seriesDiff = ['+++ b/lib/helper.c', '@@ -0,0 +1,4 @@'].join('\n');
  const [out] = await symbolizeSplats({ exec: realExec, vmlinux: elf, srcRoot: src, seriesDiff }, [splat]);
  const frames = out!.frames!;
  t.is(frames[0]!.inlined, 'helper');
  t.is(frames[0]!.file, 'lib/helper.c');
  t.is(frames[0]!.line, 3);
  t.regex(frames[0]!.inlinedInto?.[0] ?? '', /^victim \(lib\/helper\.c:7\)$/);
  t.is(frames[1]!.file, 'lib/helper.c');
  t.true(frames[2]!.mismatch, 'a length the ELF does not have: another build');
  t.deepEqual(out!.seriesFrame, { ref: frames[0]!.ref, file: 'lib/helper.c', line: 3 });
  t.regex(symbolizedLines(out!).join('\n'), /in the code this series adds: lib\/helper\.c:3[\s\S]*victim\+0x[0-9a-f]+\/0x[0-9a-f]+: helper \(lib\/helper\.c:3\), inlined into victim/);
});

test('[real] a run\'s splats: symbolised only with debug info and only while the build directory\'s vmlinux is the kernel that ran; the series\' lines from its commits', async (t) => {
  const { symbolizeBuilt } = await import('../../orchestrator/results/splat-symbols.ts');
  const { elfBuildId } = await import('../../orchestrator/build/kernel-identity.ts');
  const { RunEvents } = await import('../../orchestrator/events.ts');
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const src = join(tmp.path, 'src');
  const before = 'int victim(int *p)\n{\n\treturn *p;\n}\n';
  await writeFiles(src, { 'lib/v.c': before });
  await sh(src, 'git', ['init', '-q']);
  await sh(src, 'git', ['add', '.']);
  await sh(src, 'git', ['commit', '-qm', 'pristine']);
  await writeFiles(src, { 'lib/v.c': 'int victim(int *p)\n{\n\tint x = p[1];\n\treturn *p + x;\n}\n' });
  await sh(src, 'git', ['commit', '-qam', 'the series']);
  const [pristine, applied] = (await sh(src, 'git', ['rev-list', '--reverse', 'HEAD'])).trim().split('\n');
  // A linked ELF, so it has a GNU build ID as vmlinux does.
  const vmlinux = join(tmp.path, 'vmlinux');
  await sh(src, 'gcc', ['-g', '-O2', '-shared', '-fPIC', '-nostdlib', '-Wl,--build-id', '-o', vmlinux, 'lib/v.c']);
  const ran = await elfBuildId(vmlinux);
  t.truthy(ran);
  const size = parseNm(await sh(src, 'nm', ['-S', vmlinux])).get('victim')![0]!.sizes[0]!;
  const splat: Splat = { kind: 'oops', title: 'BUG: kernel NULL pointer dereference', lines: ['BUG: kernel NULL pointer dereference', `RIP: 0010:victim+0x0/0x${size.toString(16)}`], startLine: 1 };
  const events = new RunEvents();
  const said: string[] = [];
  events.subscribe((e) => 'message' in e && said.push(e.message));
  const ctx = { exec: realExec, events };
  const built = (config: string, id: string | undefined) => ({ vmlinux, configPath: join(tmp.path, config), ran: id, srcRoot: src, range: [pristine!, applied!] as const });
  await writeFiles(tmp.path, { 'debug.config': 'CONFIG_DEBUG_INFO=y\n', 'plain.config': '# CONFIG_DEBUG_INFO is not set\nCONFIG_DEBUG_INFO_NONE=y\n' });
  t.is((await symbolizeBuilt(ctx, built('plain.config', ran), [splat]))[0]!.frames, undefined, 'no debug info: as it was');
  t.is((await symbolizeBuilt(ctx, built('debug.config', 'f'.repeat(40)), [splat]))[0]!.frames, undefined, 'another kernel ran: as it was');
  t.true(said.some((m) => /not symbolised: .* is no longer the kernel that ran/.test(m)));
  const [out] = await symbolizeBuilt(ctx, built('debug.config', ran), [splat]);
  t.is(out!.frames?.[0]?.file, 'lib/v.c');
  t.deepEqual(out!.seriesFrame && { file: out!.seriesFrame.file, inSeries: [3, 4].includes(out!.seriesFrame.line) }, { file: 'lib/v.c', inSeries: true });
  t.true(said.some((m) => /in the code this series adds, lib\/v\.c:[34]/.test(m)));
});

test('decodecode\'s output (a real one, of 7.2.6\'s WARN in htab_map_delete_elem_cmp): the trapping instruction is kept', async (t) => {
  const { decodedLines } = await import('../../orchestrator/results/splat-symbols.ts');
  const { readFile } = await import('node:fs/promises');
  const lines = decodedLines(await readFile(new URL('../fixtures/results/decodecode/warn-7.2.6-hashtab.txt', import.meta.url), 'utf8'));
  t.true(lines.some((l) => /^\s+2a:\*\s+0f 0b\s+ud2\s+<-- trapping instruction$/.test(l)), lines.join('\n'));
  t.deepEqual(lines.filter((l) => !/^\s/.test(l)), ['All code', 'Code starting with the faulting instruction']);
  t.false(lines.some((l) => /^=+$/.test(l) || /^Code: /.test(l)));
});
