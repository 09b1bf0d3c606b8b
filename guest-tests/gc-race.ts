// Suite 2: the conntrack GC race the series exists for (cilium/cilium#46298). A datapath refreshes live
// entries (replacing updates from a thread, in-place revision bumps from a BPF program in another) while a GC
// snapshots with BPF_MAP_LOOKUP_BATCH, judges every snapshotted entry expired, and deletes it. Plain delete: the
// race is measured (characterisation). BPF_F_COMPARE on the revision: no live entry may be deleted.
//
// When a deletion is wrong (decided exactly, orchestrator/guest/c/vmt-gc-race.c implements it):
//   A revision is (generation << 32) + bumps. Userspace writes (replacing updates, the GC's re-inserts) take a
//   new generation from one global counter under the key's mutex; the program adds 1 in place. Every revision a
//   key holds is unique and grows. A successful delete of key k with snapshot revision s was wrong iff
//   (a) rec[k], the revision of the last userspace write (read under k's mutex after the delete; the updater
//       holds it around "update with BPF_EXIST + record", an update after the delete fails with ENOENT), has
//       another generation than s: the entry was replaced after the snapshot; or
//   (b) ledger[k], the last bump the program confirmed, has s's generation and is > s. The GC sets marker[k]
//       (seq_cst) before the delete syscall; the program re-reads marker[k] after its atomic add and confirms
//       the bump only if it is still 0, so a confirmed bump is ordered before the delete's compare. The GC waits
//       for every program run started before the end of the delete before reading the ledger.
//   Bumps that see the marker race with the delete syscall itself. The series says the bucket lock does not
//   exclude in-place writers, so they are counted ("racing a delete") but never make a deletion wrong.
import { defineSuite } from '../orchestrator/guest/suite-model.ts';

const bounds = { rounds: 1000, batch: 16, runRepeat: 16, maxSeconds: 10 };

export default defineSuite({
  name: 'gc-race',
  source: 'guest-tests/gc-race.ts',
  summary: 'conntrack GC race: snapshot, judge, delete vs a refreshing datapath (plain vs BPF_F_COMPARE)',
  maps: {
    // The revision is not at offset 0, so a compare that ignores compare_offset shows.
    ct: { type: 'HASH', keySize: 4, maxEntries: 128, value: [{ name: 'expires', type: 'u64' }, { name: 'revision', type: 'u64' }, { name: 'payload', type: 'u8[16]' }] },
  },
  cases: [
    {
      kind: 'gc-race',
      name: 'plain-delete-characterisation',
      claim: 'plain delete: live entries deleted by the GC are counted (the race exists; characterisation, not a check)',
      map: 'ct', revisionField: 'revision', keys: 64, delete: 'plain', datapath: ['update', 'program'], liveDeletes: 'report', bounds: { ...bounds, rounds: 300 },
    },
    {
      kind: 'gc-race',
      name: 'compare-delete-vs-updates',
      claim: 'BPF_F_COMPARE on the revision: no entry refreshed by a replacing update after the snapshot is deleted',
      map: 'ct', revisionField: 'revision', keys: 64, delete: 'compare', datapath: ['update'], liveDeletes: 'none', bounds,
    },
    {
      kind: 'gc-race',
      name: 'compare-delete-vs-updates-and-bumps',
      claim: 'BPF_F_COMPARE on the revision: no entry refreshed after the snapshot (replacing update or confirmed in-place bump) is deleted',
      map: 'ct', revisionField: 'revision', keys: 64, delete: 'compare', datapath: ['update', 'program'], liveDeletes: 'none', bounds,
    },
    {
      kind: 'gc-race',
      name: 'compare-delete-hot-keys',
      claim: 'BPF_F_COMPARE on the revision, 4 keys updated back to back: compare and delete are one step under the bucket lock',
      map: 'ct', revisionField: 'revision', keys: 4, delete: 'compare', datapath: ['update', 'program'], liveDeletes: 'none',
      // Up to 20000 rounds, stopped once 20000 deletes were contested: 5263 rounds on the posted series on
      // 7.2.6, and 6692 on the compare-outside-lock variant, which still deleted 72 live entries in them.
      bounds: { ...bounds, rounds: 20_000, contested: 20_000 },
    },
  ],
});
