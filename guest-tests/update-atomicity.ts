// Suite 3: are whole-value updates atomic for syscall readers? Writers store pattern A / pattern B (256 bytes),
// readers look the value up. BPF_F_LOCK with a bpf_spin_lock in the value must never mix, on HASH and ARRAY.
// ARRAY copies in place: measured only. HASH replaces the element, which was expected to be atomic too, but
// Linux 6.12 reuses the replaced element at once (preallocated: the per-CPU extra element; BPF_F_NO_PREALLOC:
// the bpf_mem_alloc free list) while a lookup may still be copying it: a guest run under TCG saw 1 mixed read
// in 286128 lookups on the preallocated HASH. A check that fails that rarely is a flake, not a verdict, so both
// HASH cases are measured (characterisation) too; set mixedReads: 'none' to make them a check again.
import { defineSuite, type FieldSpec } from '../orchestrator/guest/suite-model.ts';

const data: FieldSpec[] = [{ name: 'data', type: 'u8[256]' }];
const locked: FieldSpec[] = [{ name: 'lock', type: 'bpf_spin_lock' }, { name: 'pad', type: 'u32' }, ...data];
const bounds = { writes: 200_000, maxSeconds: 6 };
// Characterisation only measures; the checks that must hold (BPF_F_LOCK) keep the full bound.
const measureBounds = { writes: 60_000, maxSeconds: 3 };

export default defineSuite({
  name: 'update-atomicity',
  source: 'guest-tests/update-atomicity.ts',
  summary: 'whole-value updates vs syscall lookups: mixed reads of pattern A and B',
  maps: {
    hash: { type: 'HASH', keySize: 4, maxEntries: 4, value: data },
    hash_np: { type: 'HASH', keySize: 4, maxEntries: 4, value: data, noPrealloc: true },
    array: { type: 'ARRAY', keySize: 4, maxEntries: 1, value: data },
    hash_lock: { type: 'HASH', keySize: 4, maxEntries: 4, value: locked },
    array_lock: { type: 'ARRAY', keySize: 4, maxEntries: 1, value: locked },
  },
  cases: [
    {
      kind: 'torn-read', name: 'hash-characterisation', claim: 'HASH (preallocated): replacing updates vs lookups; mixed reads are counted (characterisation: the replaced element is reused at once)',
      map: 'hash', dataField: 'data', lock: false, writers: 1, readers: 1, mixedReads: 'report', bounds: measureBounds,
    },
    {
      kind: 'torn-read', name: 'hash-no-prealloc-characterisation', claim: 'HASH (BPF_F_NO_PREALLOC): replacing updates vs lookups; mixed reads are counted (characterisation: freed elements are reused at once)',
      map: 'hash_np', dataField: 'data', lock: false, writers: 1, readers: 1, mixedReads: 'report', bounds: measureBounds,
    },
    {
      kind: 'torn-read', name: 'array-characterisation', claim: 'ARRAY: updates copy in place; mixed reads are counted (characterisation, not a check)',
      map: 'array', dataField: 'data', lock: false, writers: 1, readers: 1, mixedReads: 'report', bounds: measureBounds,
    },
    {
      kind: 'torn-read', name: 'hash-spin-lock-never-mixed', claim: 'HASH with a bpf_spin_lock, BPF_F_LOCK on update and lookup: never a mix',
      map: 'hash_lock', dataField: 'data', lock: true, writers: 1, readers: 1, mixedReads: 'none', bounds,
    },
    {
      kind: 'torn-read', name: 'array-spin-lock-never-mixed', claim: 'ARRAY with a bpf_spin_lock, BPF_F_LOCK on update and lookup: never a mix',
      map: 'array_lock', dataField: 'data', lock: true, writers: 1, readers: 1, mixedReads: 'none', bounds,
    },
  ],
});
