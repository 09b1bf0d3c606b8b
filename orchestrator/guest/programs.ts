// The BPF programs the race suites run (socket filters, loop-free, verifier-friendly), as raw instructions.
import { aluImm, aluReg, atomicAdd, call, exit, jmpImm, jump, label, load, loadMapFd, loadMapValue, movImm, movReg, store, storeImm, type Insn } from './bpf-insn.ts';

/** Layout of the GC race's control array (one entry, mmapped by the C side), in u64 slots: VMT_GC_* in c/vmt-gc-race.h. */
export const GC_CTL = {
  cursor: 0,      // runs started; a run bumps key cursor & (keys - 1)
  done: 1,        // runs finished
  confirmed: 2,   // bumps that saw marker[k] == 0 after the atomic add
  racing: 3,      // bumps that saw the GC's marker: concurrent with a delete, not counted
  marker: 4,      // marker[k] at slot 4 + k: the GC is deleting k
  // ledger[k] at slot 4 + keys + k: the last confirmed revision the program wrote to k
} as const;

export function gcCtlSlots(keys: number): number {
  return GC_CTL.marker + 2 * keys;
}

/**
 * The datapath's in-place refresh: pick key k = cursor++ & (keys-1), look it up in the CT map, atomically
 * add 1 to its revision, then re-read marker[k]; if the GC has not announced a delete of k, record the
 * new revision as confirmed in ledger[k].
 */
export function gcBumpProgram(opts: { ctMap: string; ctlMap: string; keys: number; revisionOffset: number }): Insn[] {
  const slot = (n: number) => n * 8;
  const markerOff = slot(GC_CTL.marker);
  const ledgerOff = slot(GC_CTL.marker + opts.keys);
  return [
    ...loadMapValue(6, opts.ctlMap, 0),
    movImm(1, 1),
    atomicAdd(6, 1, slot(GC_CTL.cursor), true),
    aluImm('AND', 1, opts.keys - 1),
    movReg(7, 1),
    store('W', 10, 7, -4),
    ...loadMapFd(1, opts.ctMap),
    movReg(2, 10),
    aluImm('ADD', 2, -4),
    call('BPF_FUNC_map_lookup_elem'),
    jmpImm('JEQ', 0, 0, 'done'),
    movImm(1, 1),
    atomicAdd(0, 1, opts.revisionOffset, true),
    aluImm('ADD', 1, 1),
    // r2 = &ctl + 8 * k: marker[k] and ledger[k] are fixed offsets from it.
    movReg(2, 7),
    aluImm('LSH', 2, 3),
    aluReg('ADD', 2, 6),
    load('DW', 3, 2, markerOff),
    jmpImm('JNE', 3, 0, 'racing'),
    store('DW', 2, 1, ledgerOff),
    movImm(1, 1),
    atomicAdd(6, 1, slot(GC_CTL.confirmed)),
    jump('done'),
    label('racing'),
    movImm(1, 1),
    atomicAdd(6, 1, slot(GC_CTL.racing)),
    label('done'),
    movImm(1, 1),
    atomicAdd(6, 1, slot(GC_CTL.done)),
    movImm(0, 0),
    exit(),
  ];
}

/** Fetch the inner map in slot 0 of the outer map and atomically add 1 to its counter. */
export function innerCountProgram(opts: { outerMap: string; counterOffset: number }): Insn[] {
  return [
    storeImm('W', 10, -4, 0),
    ...loadMapFd(1, opts.outerMap),
    movReg(2, 10),
    aluImm('ADD', 2, -4),
    call('BPF_FUNC_map_lookup_elem'),
    jmpImm('JEQ', 0, 0, 'out'),
    movReg(1, 0),
    movReg(2, 10),
    aluImm('ADD', 2, -4),
    call('BPF_FUNC_map_lookup_elem'),
    jmpImm('JEQ', 0, 0, 'out'),
    movImm(1, 1),
    atomicAdd(0, 1, opts.counterOffset),
    label('out'),
    movImm(0, 0),
    exit(),
  ];
}
