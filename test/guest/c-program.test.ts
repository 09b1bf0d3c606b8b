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

test('compare-contract C is tables: the compare* fields of each delete come from the description', (t) => {
  const c = gen('compare-contract', true);
  t.regex(c, /^#define VMT_HAVE_COMPARE 1$/m);
  t.regex(c, /static const struct vmt_compare_args case_1_s3_compare = \{ \.expected = case_1_s3_expected, \.offset = 0, \.size = 8, \.pointer = VMT_COMPARE_EXPECTED, \.set = VMT_SET_ALL \};/);
  t.regex(c, /\{ \.op = VMT_STEP_DELETE, \.what = "step 3: delete ct key 1 \(BPF_F_COMPARE\), compare revision == 10",\n\t {2}\.map = 0, \.key = 1, \.flags = \(__u64\)BPF_F_COMPARE, \.compare = &case_1_s3_compare \},/);
  t.regex(c, /\.offset = 0xffffffffU, \.size = 2,/, 'the wrapping window is there');
  t.regex(c, /\.pointer = VMT_COMPARE_BAD/, 'the bad pointer case');
  t.regex(c, /\.expected = NULL, \.offset = 8, \.size = 0, \.pointer = VMT_COMPARE_EXPECTED, \.set = VMT_SET_COMPARE_OFFSET \}/, 'one compare field alone');
  t.regex(c, /\.expect = -EOPNOTSUPP/);
  t.regex(c, /BPF_MAP_TYPE_LRU_PERCPU_HASH/);
  t.regex(c, /static const struct vmt_btf_desc locked_btf/, 'the spin-lock map carries BTF');
  t.regex(c, /"bpf_spin_lock\\0"/);
  t.regex(c, /\.count = \{ &vmt_params\[0\]\.value, 8, 1 \}, \.body = case_16_s1_body/, 'the leak loop uses the param');
  t.regex(c, /\{ "leakRounds", 4, 1, 1000,/);
  t.regex(c, /^#include "vmt-compare\.c"$/m, 'the probe and the compare delete are included');
  t.regex(c, /^#include "vmt-main\.c"$/m);
  t.is((c.match(/^\t\{ "[a-z0-9-]+", "[^"]*", 1, vmt_run_steps, &case_\d+, NULL, NULL \},$/gm) ?? []).length, 16, 'all 16 cases need the series and run');
  t.deepEqual(generateSuiteC(suite('compare-contract'), { hasCompare: true }).includes,
    ['vmt-runtime.h', 'vmt-compare.h', 'vmt-steps.h', 'vmt-runtime.c', 'vmt-compare.c', 'vmt-steps.c', 'vmt-main.c']);
});

test('the generated program holds settings and tables only: every function is in the fixed C', (t) => {
  for (const s of guestSuites) {
    for (const hasCompare of [true, false]) {
      const c = code(gen(s.name, hasCompare));
      t.notRegex(c, /^[a-z][\w ]*\**\s*\w+\([^)]*\)\s*\{?\s*$/m, `${s.name}: no function definition`);
      t.notRegex(c, /\b(if|for|while|return|switch)\b/, `${s.name}: no statements`);
    }
  }
});

test('without the series in the headers the compare cases are compiled as SKIP and name nothing it adds', (t) => {
  const c = gen('compare-contract', false);
  t.regex(c, /^#define VMT_HAVE_COMPARE 0$/m);
  t.notRegex(code(c), /BPF_F_COMPARE|compare_offset|compare_size|attr\.compare\b|vmt_compare_args|vmt-compare\.c/);
  t.is((c.match(new RegExp(`NULL, NULL, "${NO_COMPARE_REASON.replace(/[()]/g, '\\$&')}", NULL`, 'g')) ?? []).length, 16);
  t.notRegex(c, /map_ct\b/, 'no table for a map no running case uses');
  const gc = gen('gc-race', false);
  t.notRegex(code(gc), /BPF_F_COMPARE|compare_offset|vmt_delete_compare\b/);
  t.regex(gc, /\{ "plain-delete-characterisation", "[^"]+", 0, vmt_gc_race, &case_1, NULL, &vmt_params\[3\]\.value \}/, 'the plain-delete case still runs, its watchdog on its maxSeconds');
  t.notRegex(gc, /struct vmt_gc_config case_2 /);
  t.deepEqual(generateSuiteC(suite('gc-race'), { hasCompare: false }).includes,
    ['vmt-runtime.h', 'vmt-compare.h', 'vmt-gc-race.h', 'vmt-runtime.c', 'vmt-gc-race.c', 'vmt-main.c']);
});

test('gc-race C: the config table, the BPF program, the mmapped control array, the compare delete', (t) => {
  const c = gen('gc-race', true);
  for (const s of ['BPF_PSEUDO_MAP_VALUE', 'BPF_PSEUDO_MAP_FD', 'BPF_ADD | BPF_FETCH', 'BPF_FUNC_map_lookup_elem', 'BPF_F_MMAPABLE', '.delete_compare = vmt_delete_compare', '.rev_off = 8', '#include "vmt-gc-race.c"']) {
    t.true(c.includes(s), s);
  }
  t.regex(c, /\{ "compare-delete-hot-keys\.rounds", 20000, 1, 100000,/);
  t.regex(c, /\.use_compare = 0, \.use_updater = 1, \.use_program = 1,\n\t\.live_must_be_zero = 0,/, 'plain delete only reports');
  t.regex(c, /static const struct vmt_gc_config case_4 = \{\n.*\.keys = 4,/, 'hot keys');
  t.regex(c, /\.rounds = &vmt_params\[12\]\.value, \.batch = &vmt_params\[13\]\.value,/, 'bounds point at their parameters');
});

test('update-atomicity and map-in-map C', (t) => {
  const a = gen('update-atomicity', false);
  t.regex(a, /\.map = &map_hash_lock, \.data_off = 8, \.data_len = 256, \.lock = 1,/);
  t.regex(a, /\.map = &map_array, .*\.lock = 0,\n.*\.mixed_must_be_zero = 0/);
  t.regex(a, /BPF_F_NO_PREALLOC/);
  const m = gen('map-in-map', false);
  t.regex(m, /BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1/);
  t.regex(m, /\.outer = &map_outer, \.inner = &map_inner, \.counter_off = 0,/);
  t.regex(m, /^#include "vmt-inner-map\.c"$/m);
});

test('regions tell which case a line of C belongs to', (t) => {
  const g = generateSuiteC(suite('compare-contract'), { hasCompare: true });
  const lines = g.text.split('\n');
  const region = g.regions.find((r) => r.name === 'case window-middle')!;
  t.truthy(region);
  const inside = lines.slice(region.first - 1, region.last);
  t.regex(inside[0]!, /^\/\* ---- case 6: window-middle ---- \*\/$/);
  t.true(inside.some((l) => l.includes('.offset = 19, .size = 5,')));
  t.true(inside.some((l) => l.startsWith('static const struct vmt_steps_case case_6 = ')));
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
