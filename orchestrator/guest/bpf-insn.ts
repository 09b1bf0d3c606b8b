// Raw BPF instructions as data, emitted as C initializers that use the UAPI's own opcode names.

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
type Size = 'B' | 'H' | 'W' | 'DW';
type AluOp = 'ADD' | 'SUB' | 'MUL' | 'AND' | 'OR' | 'LSH' | 'RSH' | 'MOV';
type JmpOp = 'JEQ' | 'JNE' | 'JGT' | 'JGE';

/** One slot of the program; a label or a jump target is resolved when the program is assembled. */
export type Insn =
  | { kind: 'insn'; code: string; dst: Reg; src: Reg | 'BPF_PSEUDO_MAP_FD' | 'BPF_PSEUDO_MAP_VALUE'; off: number | { label: string }; imm: number | string; comment?: string;
    /** The map whose fd goes into imm at run time (the first half of an ld_imm64). */
    mapFd?: string }
  | { kind: 'label'; name: string };

const insn = (code: string, dst: Reg, src: Reg, off: number | { label: string }, imm: number | string, comment?: string): Insn =>
  ({ kind: 'insn', code, dst, src, off, imm, ...(comment ? { comment } : {}) });

export const label = (name: string): Insn => ({ kind: 'label', name });
export const movImm = (dst: Reg, imm: number): Insn => insn('BPF_ALU64 | BPF_MOV | BPF_K', dst, 0, 0, imm, `r${dst} = ${imm}`);
export const movReg = (dst: Reg, src: Reg): Insn => insn('BPF_ALU64 | BPF_MOV | BPF_X', dst, src, 0, 0, `r${dst} = r${src}`);
export const aluImm = (op: AluOp, dst: Reg, imm: number): Insn => insn(`BPF_ALU64 | BPF_${op} | BPF_K`, dst, 0, 0, imm, `r${dst} ${op.toLowerCase()}= ${imm}`);
export const aluReg = (op: AluOp, dst: Reg, src: Reg): Insn => insn(`BPF_ALU64 | BPF_${op} | BPF_X`, dst, src, 0, 0, `r${dst} ${op.toLowerCase()}= r${src}`);
export const load = (size: Size, dst: Reg, src: Reg, off: number): Insn => insn(`BPF_LDX | BPF_MEM | BPF_${size}`, dst, src, off, 0, `r${dst} = *(${size} *)(r${src} + ${off})`);
export const store = (size: Size, dst: Reg, src: Reg, off: number): Insn => insn(`BPF_STX | BPF_MEM | BPF_${size}`, dst, src, off, 0, `*(${size} *)(r${dst} + ${off}) = r${src}`);
export const storeImm = (size: Size, dst: Reg, off: number, imm: number): Insn => insn(`BPF_ST | BPF_MEM | BPF_${size}`, dst, 0, off, imm, `*(${size} *)(r${dst} + ${off}) = ${imm}`);
/** lock *(u64 *)(dst + off) += src; with fetch, src receives the old value. */
export const atomicAdd = (dst: Reg, src: Reg, off: number, fetch = false): Insn =>
  insn('BPF_STX | BPF_ATOMIC | BPF_DW', dst, src, off, fetch ? 'BPF_ADD | BPF_FETCH' : 'BPF_ADD', fetch ? `r${src} = atomic_fetch_add((u64 *)(r${dst} + ${off}), r${src})` : `lock *(u64 *)(r${dst} + ${off}) += r${src}`);
export const jmpImm = (op: JmpOp, dst: Reg, imm: number, target: string): Insn => insn(`BPF_JMP | BPF_${op} | BPF_K`, dst, 0, { label: target }, imm, `if r${dst} ${op} ${imm} goto ${target}`);
export const jump = (target: string): Insn => insn('BPF_JMP | BPF_JA', 0, 0, { label: target }, 0, `goto ${target}`);
export const call = (helper: string): Insn => insn('BPF_JMP | BPF_CALL', 0, 0, 0, helper, `call ${helper}`);
export const exit = (): Insn => insn('BPF_JMP | BPF_EXIT', 0, 0, 0, 0, 'exit');

/** ld_imm64 dst = the map (its fd patched in at run time). */
export function loadMapFd(dst: Reg, map: string): Insn[] {
  return [
    { kind: 'insn', code: 'BPF_LD | BPF_DW | BPF_IMM', dst, src: 'BPF_PSEUDO_MAP_FD', off: 0, imm: 0, mapFd: map, comment: `r${dst} = map ${map}` },
    insn('0', 0, 0, 0, 0),
  ];
}

/** ld_imm64 dst = &value of entry 0 of an ARRAY with one entry, plus off. */
export function loadMapValue(dst: Reg, map: string, off: number): Insn[] {
  return [
    { kind: 'insn', code: 'BPF_LD | BPF_DW | BPF_IMM', dst, src: 'BPF_PSEUDO_MAP_VALUE', off: 0, imm: 0, mapFd: map, comment: `r${dst} = &${map}[0] + ${off}` },
    insn('0', 0, 0, 0, off),
  ];
}

export interface AssembledProgram {
  /** C initializer lines, one instruction each. */
  lines: string[];
  count: number;
  /** Instruction index whose imm takes the fd of the named map. */
  relocations: { index: number; map: string }[];
}

export function assemble(program: readonly Insn[]): AssembledProgram {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const i of program) {
    if (i.kind === 'label') {
      if (labels.has(i.name)) throw new Error(`label ${i.name} defined twice`);
      labels.set(i.name, pc);
    } else pc++;
  }
  const lines: string[] = [];
  const relocations: { index: number; map: string }[] = [];
  pc = 0;
  for (const i of program) {
    if (i.kind === 'label') continue;
    let off: number;
    if (typeof i.off === 'number') off = i.off;
    else {
      const target = labels.get(i.off.label);
      if (target === undefined) throw new Error(`jump to undefined label ${i.off.label}`);
      off = target - pc - 1;
      if (off < 0) throw new Error(`backward jump to ${i.off.label}: programs here must be loop-free`);
    }
    if (i.mapFd) relocations.push({ index: pc, map: i.mapFd });
    const comment = i.comment ? ` /* ${String(pc).padStart(2)}: ${i.comment} */` : '';
    lines.push(`VMT_INSN(${i.code}, ${i.dst}, ${i.src}, ${off}, ${i.imm}),${comment}`);
    pc++;
  }
  return { lines, count: pc, relocations };
}
