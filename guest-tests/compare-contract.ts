// Suite 1: the BPF_F_COMPARE delete contract, as the series' commit messages and cover letter state it,
// including what its own selftest does not check (whole-value size 0, middle windows, wrapping windows,
// each compare field alone, bad pointers, every unsupported map type, BTF-managed values, no leak).
import { defineSuite, type FieldValues, type Step } from '../orchestrator/guest/suite-model.ts';

const live: FieldValues = { revision: 10, payload: 0xabcd, tail: [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f] };
const insert = (map: string, key = 1, value: FieldValues = live): Step => ({ op: 'update', map, key, value, flags: ['BPF_NOEXIST'] });
const intact = (map: string, key = 1, value: FieldValues = live): Step => ({ op: 'lookup', map, key, equals: value });
const gone = (map: string, key = 1): Step => ({ op: 'lookup', map, key, expect: 'ENOENT' });
const revisionIs = (n: number) => ({ field: 'revision', equals: n });

/** A map type without ->map_delete_elem_cmp: the compare delete is refused and the element stays. */
const unsupported = (map: string, type: string) => ({
  kind: 'steps' as const,
  name: `${type}-eopnotsupp`,
  claim: `${type.toUpperCase().replaceAll('-', '_')} does not implement compare-and-delete: EOPNOTSUPP, element kept`,
  steps: [
    { op: 'update', map, key: map === 'arr' ? 0 : 1, value: { revision: 10, payload: 0xabcd } },
    { op: 'delete', map, key: map === 'arr' ? 0 : 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'EOPNOTSUPP' },
    { op: 'lookup', map, key: map === 'arr' ? 0 : 1, equals: { revision: 10, payload: 0xabcd } },
  ] satisfies Step[],
});

export default defineSuite({
  name: 'compare-contract',
  source: 'guest-tests/compare-contract.ts',
  summary: 'BPF_F_COMPARE delete contract on BPF hash maps (beyond the selftest)',
  maps: {
    ct: { type: 'HASH', keySize: 4, maxEntries: 16, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }, { name: 'tail', type: 'u8[16]' }] },
    small: { type: 'HASH', keySize: 4, maxEntries: 8, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }] },
    lru: { type: 'LRU_HASH', keySize: 4, maxEntries: 16, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }] },
    pcpu: { type: 'PERCPU_HASH', keySize: 4, maxEntries: 16, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }] },
    lrupcpu: { type: 'LRU_PERCPU_HASH', keySize: 4, maxEntries: 16, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }] },
    arr: { type: 'ARRAY', keySize: 4, maxEntries: 4, value: [{ name: 'revision', type: 'u64' }, { name: 'payload', type: 'u64' }] },
    locked: { type: 'HASH', keySize: 4, maxEntries: 16, value: [{ name: 'lock', type: 'bpf_spin_lock' }, { name: 'pad', type: 'u32' }, { name: 'revision', type: 'u64' }] },
  },
  params: {
    leakRounds: { default: 4, min: 1, max: 1000, doc: 'insert/compare-delete cycles, in multiples of max_entries' },
  },
  cases: [
    {
      kind: 'steps',
      name: 'match-deletes',
      claim: 'a matching window deletes the element (and only it)',
      steps: [
        insert('ct', 1),
        insert('ct', 2),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'ok' },
        gone('ct', 1),
        intact('ct', 2),
      ],
    },
    {
      kind: 'steps',
      name: 'mismatch-ebusy',
      claim: 'a mismatching window gives EBUSY and the element is kept unchanged',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(9), expect: 'EBUSY' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(11), expect: 'EBUSY' },
        intact('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'absent-enoent',
      claim: 'an absent key gives ENOENT, whatever the window',
      steps: [
        { op: 'delete', map: 'ct', key: 7, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'ENOENT' },
        insert('ct', 1),
        { op: 'delete', map: 'ct', key: 2, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'ENOENT' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'ok' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'ENOENT' },
      ],
    },
    {
      kind: 'steps',
      name: 'size0-whole-value-match',
      claim: 'compare_size 0 compares the whole value: an identical value deletes',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { whole: live }, expect: 'ok' },
        gone('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'size0-whole-value-mismatch',
      claim: 'compare_size 0 compares the whole value: a difference in the last byte gives EBUSY',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { whole: { ...live, tail: [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0xff] } }, expect: 'EBUSY' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { whole: { ...live, revision: 11 } }, expect: 'EBUSY' },
        intact('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'window-middle',
      claim: 'a window in the middle of the value compares those bytes, not the start of the value',
      steps: [
        // payload (offset 8) holds what the window expects; revision (offset 0) does not.
        insert('ct', 1, { revision: 0x2222, payload: 0x3333, tail: live.tail! }),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 8, size: 8, bytes: [0x22, 0x22, 0, 0, 0, 0, 0, 0] }, expect: 'EBUSY' },
        intact('ct', 1, { revision: 0x2222, payload: 0x3333, tail: live.tail! }),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { field: 'payload', equals: 0x3333 }, expect: 'ok' },
        gone('ct'),
        // An odd window inside the tail: bytes 19..23 of the value.
        insert('ct', 1),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 19, size: 5, bytes: [0x13, 0x14, 0x15, 0x16, 0x18] }, expect: 'EBUSY' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 19, size: 5, bytes: [0x13, 0x14, 0x15, 0x16, 0x17] }, expect: 'ok' },
        gone('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'window-overflow-einval',
      claim: 'a window past the end of the value gives EINVAL, also when offset + size wraps in 32 bits, and the element stays',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 31, size: 2 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 0, size: 33 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 32, size: 1 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 0xffffffff, size: 1 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 0xffffffff, size: 2 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 0xffffffff, size: 0 }, expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { offset: 0xfffffff0, size: 0x20 }, expect: 'EINVAL' },
        intact('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'fields-without-flag-einval',
      claim: 'any compare field without BPF_F_COMPARE gives EINVAL, never an unconditional delete',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: [], compare: revisionIs(10), expect: 'EINVAL' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: [], compare: { ...revisionIs(10), omit: ['compare_offset', 'compare_size'] }, expect: 'EINVAL' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: [], compare: { offset: 8, size: 0, omit: ['compare', 'compare_size'] }, expect: 'EINVAL' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: [], compare: { offset: 0, size: 8, omit: ['compare', 'compare_offset'] }, expect: 'EINVAL' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, expect: 'ok' },
      ],
    },
    {
      kind: 'steps',
      name: 'unknown-flags-einval',
      claim: 'delete flags other than BPF_F_COMPARE give EINVAL and the element stays',
      needsCompare: true,
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE', 0x40], compare: revisionIs(10), expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE', 'BPF_EXIST'], compare: revisionIs(10), expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE', 'BPF_F_LOCK'], compare: revisionIs(10), expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_LOCK'], expect: 'EINVAL' },
        { op: 'delete', map: 'ct', key: 1, flags: [0x100000000], expect: 'EINVAL' },
        intact('ct'),
      ],
    },
    {
      kind: 'steps',
      name: 'bad-pointer-efault',
      claim: 'an unreadable compare pointer gives EFAULT and the element stays',
      steps: [
        insert('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { ...revisionIs(10), pointer: 'bad' }, expect: 'EFAULT' },
        intact('ct'),
        { op: 'delete', map: 'ct', key: 1, flags: ['BPF_F_COMPARE'], compare: { whole: live, pointer: 'null' }, expect: 'EFAULT' },
        intact('ct'),
      ],
    },
    unsupported('lru', 'lru-hash'),
    unsupported('pcpu', 'percpu-hash'),
    unsupported('lrupcpu', 'lru-percpu-hash'),
    unsupported('arr', 'array'),
    {
      kind: 'steps',
      name: 'spin-lock-value-eopnotsupp',
      claim: 'a HASH whose value holds a bpf_spin_lock (BTF-managed) gives EOPNOTSUPP, even for a window off the lock',
      steps: [
        { op: 'update', map: 'locked', key: 1, value: { revision: 10 } },
        { op: 'delete', map: 'locked', key: 1, flags: ['BPF_F_COMPARE'], compare: revisionIs(10), expect: 'EOPNOTSUPP' },
        { op: 'lookup', map: 'locked', key: 1, equals: { revision: 10 } },
      ],
    },
    {
      kind: 'steps',
      name: 'no-leak-beyond-max-entries',
      claim: 'inserting and compare-deleting more than max_entries times keeps working: no element leaks',
      steps: [
        {
          op: 'repeat',
          times: { param: 'leakRounds', times: 8, plus: 1 },
          steps: [
            { op: 'update', map: 'small', key: 3, value: { revision: 1 }, flags: ['BPF_NOEXIST'] },
            { op: 'delete', map: 'small', key: 3, flags: ['BPF_F_COMPARE'], compare: revisionIs(2), expect: 'EBUSY' },
            { op: 'delete', map: 'small', key: 3, flags: ['BPF_F_COMPARE'], compare: revisionIs(1), expect: 'ok' },
          ],
        },
        // All 8 slots are still there, and no more.
        { op: 'fill', map: 'small', count: 8, value: { revision: 5 }, flags: ['BPF_NOEXIST'] },
        { op: 'update', map: 'small', key: 100, value: { revision: 5 }, flags: ['BPF_NOEXIST'], expect: 'E2BIG' },
      ],
    },
  ],
});
