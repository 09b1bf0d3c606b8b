import test from 'ava';
import { guestSuites } from '../../guest-tests/index.ts';
import { assemble, jmpImm, label, loadMapFd, movImm, exit, jump } from '../../orchestrator/guest/bpf-insn.ts';
import { btfFor } from '../../orchestrator/guest/c-btf.ts';
import { generateSuiteC, NO_COMPARE_REASON, SuiteDescriptionError } from '../../orchestrator/guest/c-program.ts';
import { gcBumpProgram, innerCountProgram } from '../../orchestrator/guest/programs.ts';
import { layoutOf } from '../../orchestrator/guest/suite-model.ts';

const suite = (name: string) => guestSuites.find((s) => s.name === name)!;
const gen = (name: string, hasCompare: boolean) => generateSuiteC(suite(name), { hasCompare }).text;
/** The code alone: comments and string literals removed. */
const code = (c: string) => c.replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\\n]|\\.)*"/g, '""');

test('compare-contract C sets the series fields from the description', (t) => {
  const c = gen('compare-contract', true);
  t.regex(c, /attr\.flags = \(__u64\)BPF_F_COMPARE;\n\s*attr\.compare = vmt_ptr\(expected\);\n\s*attr\.compare_offset = 0x0U;\n\s*attr\.compare_size = 0x8U;/);
  t.regex(c, /attr\.compare_offset = 0xffffffffU;\n\s*attr\.compare_size = 0x2U;/, 'the wrapping window is there');
  t.regex(c, /attr\.compare = vmt_unmapped_ptr\(\);/, 'the bad pointer case');
  t.regex(c, /-EOPNOTSUPP/);
  t.regex(c, /BPF_MAP_TYPE_LRU_PERCPU_HASH/);
  t.regex(c, /static const struct vmt_btf_desc locked_btf/, 'the spin-lock map carries BTF');
  t.regex(c, /"bpf_spin_lock\\0"/);
  t.regex(c, /for \(long i0 = 0; i0 < \(vmt_params\[0\]\.value \* 8L \+ 1L\); i0\+\+\)/, 'the leak loop uses the param');
  t.regex(c, /\{ "leakRounds", 4, 1, 1000,/);
  t.regex(c, /vmt_probe_compare/);
  t.regex(c, /printf\("KTAP version 1\\n1\.\.%zu\\n"/);
  t.is((c.match(/^\t\{ "[a-z0-9-]+", "[^"]*", 1, case_\d+_/gm) ?? []).length, 16, 'all 16 cases need the series and run');
});

test('without the series in the headers the compare cases are compiled as SKIP and name nothing it adds', (t) => {
  const c = gen('compare-contract', false);
  t.notRegex(code(c), /BPF_F_COMPARE|compare_offset|compare_size|attr\.compare\b/);
  t.is((c.match(new RegExp(`NULL, "${NO_COMPARE_REASON.replace(/[()]/g, '\\$&')}"`, 'g')) ?? []).length, 16);
  const gc = gen('gc-race', false);
  t.notRegex(code(gc), /BPF_F_COMPARE|compare_offset|vmt_delete_compare\b/);
  t.regex(gc, /case_1_plain_delete_characterisation\(struct vmt_case \*t\)/, 'the plain-delete case still runs');
  t.notRegex(gc, /case_2_compare_delete_vs_updates\(struct vmt_case \*t\)/);
});

test('gc-race C: batch snapshots, the BPF program, the mmapped control array, the compare delete', (t) => {
  const c = gen('gc-race', true);
  for (const s of ['BPF_MAP_LOOKUP_BATCH', 'BPF_PROG_TEST_RUN', 'BPF_F_MMAPABLE', 'BPF_PSEUDO_MAP_VALUE', 'BPF_PSEUDO_MAP_FD', 'BPF_ADD | BPF_FETCH', 'BPF_FUNC_map_lookup_elem', 'pthread_mutex_lock(&g->mu[k])', '.delete_compare = vmt_delete_compare', 'BPF_EXIST', '.rev_off = 8']) {
    t.true(c.includes(s), s);
  }
  t.regex(c, /\{ "compare-delete-hot-keys\.rounds", 20000, 1, 100000,/);
  t.regex(c, /\.use_compare = 0, \.use_updater = 1, \.use_program = 1,\n\t\t\.live_must_be_zero = 0,/, 'plain delete only reports');
});

test('update-atomicity and map-in-map C', (t) => {
  const a = gen('update-atomicity', false);
  t.regex(a, /\.map = &map_hash_lock, \.data_off = 8, \.data_len = 256, \.lock = 1,/);
  t.regex(a, /\.map = &map_array, .*\.lock = 0,\n.*\.mixed_must_be_zero = 0/);
  t.regex(a, /BPF_F_NO_PREALLOC/);
  const m = gen('map-in-map', false);
  t.regex(m, /BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1/);
  t.regex(m, /vmt_map_create\(t, cfg->outer, tmpl\)/);
});

test('regions tell which case a line of C belongs to', (t) => {
  const g = generateSuiteC(suite('compare-contract'), { hasCompare: true });
  const lines = g.text.split('\n');
  const region = g.regions.find((r) => r.name === 'case window-middle')!;
  t.truthy(region);
  t.true(lines.slice(region.first - 1, region.last).some((l) => l.includes('case_6_window_middle(struct vmt_case *t)')));
  t.true(lines.slice(region.first - 1, region.last).some((l) => l.includes('attr.compare_offset = 0x13U;')));
  const helpers = g.regions.find((r) => r.name === 'the BPF_F_COMPARE helpers')!;
  t.true(lines.slice(helpers.first - 1, helpers.last).some((l) => l.includes('attr.compare_offset = off;')));
});

test('an invalid suite never reaches the C generator', (t) => {
  const broken = { ...suite('compare-contract'), cases: [{ kind: 'steps' as const, name: 'x', claim: 'y', steps: [{ op: 'lookup' as const, map: 'nope', key: 0 }] }] };
  const error = t.throws(() => generateSuiteC(broken, { hasCompare: true }), { instanceOf: SuiteDescriptionError });
  t.regex(error!.message, /unknown map "nope"/);
});

test('assemble resolves labels forward and records map relocations', (t) => {
  const p = assemble([...loadMapFd(1, 'm'), jmpImm('JEQ', 1, 0, 'end'), movImm(0, 1), jump('end'), label('end'), movImm(0, 0), exit()]);
  t.is(p.count, 7);
  t.deepEqual(p.relocations, [{ index: 0, map: 'm' }]);
  t.regex(p.lines[2]!, /^VMT_INSN\(BPF_JMP \| BPF_JEQ \| BPF_K, 1, 0, 2, 0\)/);
  t.regex(p.lines[4]!, /^VMT_INSN\(BPF_JMP \| BPF_JA, 0, 0, 0, 0\)/);
  t.throws(() => assemble([label('a'), jump('a')]), { message: /backward jump/ });
  t.throws(() => assemble([jump('nowhere')]), { message: /undefined label/ });
});

test('the race programs are loop-free and relocate their maps', (t) => {
  const gc = assemble(gcBumpProgram({ ctMap: 'ct', ctlMap: 'ctl', keys: 64, revisionOffset: 8 }));
  t.deepEqual(gc.relocations.map((r) => r.map), ['ctl', 'ct']);
  t.true(gc.lines.some((l) => l.includes('BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, 63')), 'keys picked with a mask');
  const inner = assemble(innerCountProgram({ outerMap: 'outer', counterOffset: 0 }));
  t.deepEqual(inner.relocations, [{ index: 1, map: 'outer' }]);
});

test('BTF: string offsets and member bit offsets', (t) => {
  const btf = btfFor('v', layoutOf([{ name: 'lock', type: 'bpf_spin_lock' }, { name: 'pad', type: 'u32' }, { name: 'data', type: 'u8[16]' }]), 4);
  t.is(btf.keyTypeId, 2);
  t.is(btf.valueTypeId, 6);
  t.regex(btf.c, /"\\0" "__u8\\0" "__u32\\0" "__u64\\0" "bpf_spin_lock\\0" "val\\0" "v_value\\0" "lock\\0" "pad\\0" "data\\0";/);
  // __u8 at 1, __u32 at 6, __u64 at 12, bpf_spin_lock at 18, val at 32, v_value at 36, lock 44, pad 49, data 53.
  t.regex(btf.c, /\[4\] STRUCT bpf_spin_lock \{ __u32 val; \} \*\/ 18, \(BTF_KIND_STRUCT << 24\) \| 1, 4,\n\t\t32, 2, 0,/);
  t.regex(btf.c, /\/\* data \*\/ 53, 5, 64,/);
});
