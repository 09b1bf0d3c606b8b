import test from 'ava';
import { guestSuites } from '../../guest-tests/index.ts';
import {
  caseNeedsCompare, encodeValue, layoutOf, validateSuite, type GuestCase, type GuestSuite, type MapSpec, type StepsCase,
} from '../../orchestrator/guest/suite-model.ts';

const ct: MapSpec = { type: 'HASH', keySize: 4, maxEntries: 8, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u8[8]' }] };
const suite = (cases: GuestCase[], maps: Record<string, MapSpec> = { ct }, extra: Partial<GuestSuite> = {}): GuestSuite =>
  ({ name: 'x', source: 'test', summary: 'test', maps, cases, ...extra });
const steps = (s: StepsCase['steps']): StepsCase[] => [{ kind: 'steps' as const, name: 'c', claim: 'claim', steps: s }];

test('every shipped suite is a valid description', (t) => {
  t.is(guestSuites.length, 4);
  for (const s of guestSuites) t.deepEqual(validateSuite(s), [], s.name);
  t.deepEqual(guestSuites.map((s) => s.name), ['compare-contract', 'gc-race', 'update-atomicity', 'map-in-map']);
});

test('value layout follows C alignment', (t) => {
  const l = layoutOf([{ name: 'lock', type: 'bpf_spin_lock' }, { name: 'rev', type: 'u64' }, { name: 'b', type: 'u8[3]' }]);
  t.deepEqual(l.fields.map((f) => [f.name, f.offset, f.size]), [['lock', 0, 4], ['rev', 8, 8], ['b', 16, 3]]);
  t.is(l.size, 24);
  t.is(l.spinLock?.name, 'lock');
});

test('values encode little-endian, byte arrays zero-padded', (t) => {
  const l = layoutOf(ct.value);
  t.deepEqual(encodeValue(l, { revision: 0x0102n, payload: [9] }), [2, 1, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
});

test('a case needs BPF_F_COMPARE when a step names it, or when it says so', (t) => {
  const [withCompare] = steps([{ op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { field: 'revision', equals: 1 }, expect: 'ok' }]);
  const [fieldsOnly] = steps([{ op: 'delete', map: 'ct', key: 1, flags: [], compare: { field: 'revision', equals: 1 }, expect: 'EINVAL' }]);
  const [plain] = steps([{ op: 'delete', map: 'ct', key: 1, expect: 'ENOENT' }]);
  t.true(caseNeedsCompare(withCompare!));
  t.true(caseNeedsCompare(fieldsOnly!));
  t.false(caseNeedsCompare(plain!));
  t.true(caseNeedsCompare({ ...plain!, needsCompare: true }));
  const gc = guestSuites.find((s) => s.name === 'gc-race')!;
  t.deepEqual(gc.cases.map(caseNeedsCompare), [false, true, true, true]);
});

/** Each bad description, and a piece of the message that must say what is wrong and where. */
const bad: [string, GuestSuite, RegExp][] = [
  ['unknown map in a step', suite(steps([{ op: 'lookup', map: 'nope', key: 1 }])), /case "c", step 1 \(lookup\): unknown map "nope" \(maps: ct\)/],
  ['misspelt field', suite(steps([{ op: 'update', map: 'ct', key: 1, value: { revison: 1 } }])), /field "revison" is not in map "ct" \(fields: revision, payload\)/],
  ['value too wide', suite(steps([{ op: 'update', map: 'ct', key: 1, value: { payload: [1, 2, 3, 4, 5, 6, 7, 8, 9] } }])), /9 bytes do not fit in u8\[8\]/],
  ['negative number', suite(steps([{ op: 'update', map: 'ct', key: 1, value: { revision: -1 } }])), /-1 does not fit in u64/],
  ['ambiguous compare', suite(steps([{ op: 'delete', map: 'ct', key: 1, compare: { field: 'revision', equals: 1, offset: 0, size: 8 }, expect: 'ok' }])), /exactly one of field \(\+equals\), whole, or offset\+size/],
  ['compare window too big for u32', suite(steps([{ op: 'delete', map: 'ct', key: 1, compare: { offset: 2 ** 32, size: 1 }, expect: 'EINVAL' }])), /compare\.offset must be a u32/],
  ['unknown errno', suite(steps([{ op: 'delete', map: 'ct', key: 1, expect: 'EWHAT' as never }])), /unknown errno "EWHAT"/],
  ['unknown flag', suite(steps([{ op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_CMP' as never], expect: 'ok' }])), /unknown flag "BPF_F_CMP"/],
  ['repeat of an unknown param', suite(steps([{ op: 'repeat', times: { param: 'n' }, steps: [{ op: 'lookup', map: 'ct', key: 1 }] }])), /unknown param "n"/],
  ['array key past the end', suite(steps([{ op: 'lookup', map: 'a', key: 4 }]), { a: { type: 'ARRAY', keySize: 4, maxEntries: 4, value: [{ name: 'v', type: 'u64' }] } }), /key 4 is past the array's 4 entries/],
  ['KTAP-hostile case name', suite([{ kind: 'steps', name: 'a # b', claim: 'x', steps: [{ op: 'lookup', map: 'ct', key: 1 }] }]), /case "a # b": name must match/],
  ['duplicate case', suite([...steps([{ op: 'lookup', map: 'ct', key: 1 }]), ...steps([{ op: 'lookup', map: 'ct', key: 1 }])]), /duplicate case name/],
  ['spin lock on LRU', suite(steps([{ op: 'lookup', map: 'l', key: 1 }]), { l: { type: 'LRU_HASH', keySize: 4, maxEntries: 4, value: [{ name: 'lock', type: 'bpf_spin_lock' }] } }), /bpf_spin_lock value is supported here on HASH and ARRAY only/],
  ['map of maps without inner', suite(steps([{ op: 'lookup', map: 'ct', key: 1 }]), { ct, o: { type: 'ARRAY_OF_MAPS', keySize: 4, maxEntries: 1, value: [] } }), /ARRAY_OF_MAPS needs "inner"/],
  ['unknown field type', suite(steps([{ op: 'lookup', map: 'm', key: 1 }]), { m: { type: 'HASH', keySize: 4, maxEntries: 4, value: [{ name: 'x', type: 'u16' as never }] } }), /field "x" has unknown type "u16"/],
  ['gc keys not a power of two', suite([{ kind: 'gc-race', name: 'g', claim: 'x', map: 'ct', revisionField: 'revision', keys: 6, delete: 'compare', datapath: ['update'], liveDeletes: 'none', bounds: { rounds: 1, batch: 1, runRepeat: 1, maxSeconds: 1 } }]), /keys must be a power of two/],
  ['gc revision not a u64', suite([{ kind: 'gc-race', name: 'g', claim: 'x', map: 'ct', revisionField: 'payload', keys: 4, delete: 'compare', datapath: ['update'], liveDeletes: 'none', bounds: { rounds: 1, batch: 1, runRepeat: 1, maxSeconds: 1 } }]), /revisionField "payload" must be a u64 field/],
  ['bound out of range', suite([{ kind: 'gc-race', name: 'g', claim: 'x', map: 'ct', revisionField: 'revision', keys: 4, delete: 'compare', datapath: ['update'], liveDeletes: 'none', bounds: { rounds: 1, batch: 1, runRepeat: 1, maxSeconds: 100000 } }]), /bounds\.maxSeconds = 100000 must be an integer in \[1, 600\]/],
  ['missing bound', suite([{ kind: 'torn-read', name: 't', claim: 'x', map: 'ct', dataField: 'payload', lock: false, writers: 1, readers: 1, mixedReads: 'none', bounds: { writes: 1 } as never }]), /bounds\.maxSeconds is required/],
  ['torn-read lock without a spin lock', suite([{ kind: 'torn-read', name: 't', claim: 'x', map: 'h', dataField: 'd', lock: true, writers: 1, readers: 1, mixedReads: 'none', bounds: { writes: 1, maxSeconds: 1 } }], { h: { type: 'HASH', keySize: 4, maxEntries: 1, value: [{ name: 'd', type: 'u8[64]' }] } }), /lock needs a bpf_spin_lock field in h/],
  ['param default outside its range', suite(steps([{ op: 'lookup', map: 'ct', key: 1 }]), { ct }, { params: { n: { default: 0, min: 1, max: 2, doc: '' } } }), /param "n": default 0 is outside \[1, 2\]/],
];

for (const [what, s, message] of bad) {
  test(`a bad description is rejected: ${what}`, (t) => {
    const problems = validateSuite(s);
    t.true(problems.some((p) => message.test(p)), `problems were:\n${problems.join('\n')}`);
    t.true(problems.every((p) => p.startsWith('suite "x"')), 'every problem names the suite');
  });
}

test('a suite cannot take the name of a fixed C file, which goes beside its program', (t) => {
  const problems = validateSuite({ ...suite(steps([{ op: 'lookup', map: 'ct', key: 1 }])), name: 'vmt-runtime' });
  t.true(problems.some((p) => /names starting with vmt- are taken by the fixed C/.test(p)), problems.join('\n'));
});
