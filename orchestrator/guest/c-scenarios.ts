// The config tables of the fixed scenarios (c/vmt-gc-race.c, c/vmt-torn-read.c, c/vmt-inner-map.c): the
// settings of one case and the BPF program it loads, as data.
import { assemble } from './bpf-insn.ts';
import { gcBumpProgram, gcCtlSlots, innerCountProgram } from './programs.ts';
import type { GcRaceCase, InnerMapReplaceCase, TornReadCase, ValueLayout } from './suite-model.ts';

export interface ScenarioContext {
  /** The C address of a case bound's current value (&vmt_params[i].value). */
  bound(name: string): string;
  /** The config's name; its other tables are named after it. */
  prefix: string;
  hasCompare: boolean;
}

function programTables(prefix: string, lines: readonly string[], relocs: readonly string[]): string[] {
  return [
    `static struct bpf_insn ${prefix}_insns[] = {`,
    ...lines.map((l) => '\t' + l),
    '};',
    `static const struct vmt_reloc ${prefix}_relocs[] = { ${relocs.join(', ')} };`,
  ];
}

/** The control array, the bump program and the struct vmt_gc_config of one gc-race case. */
export function gcRaceTables(ctx: ScenarioContext, c: GcRaceCase, layout: ValueLayout): string[] {
  const rev = layout.fields.find((f) => f.name === c.revisionField)!;
  const program = assemble(gcBumpProgram({ ctMap: c.map, ctlMap: `${c.map}_ctl`, keys: c.keys, revisionOffset: rev.offset }));
  // Relocation map 0 is the CT map, 1 the control array (vmt-gc-race.c loads with { ct_fd, ctl_fd }).
  const role = (map: string) => (map === c.map ? 0 : 1);
  const p = ctx.prefix;
  return [
    `static const struct vmt_map_desc ${p}_ctl = { "${c.map.slice(0, 10)}_ctl", BPF_MAP_TYPE_ARRAY, 4, ${gcCtlSlots(c.keys) * 8}, 1, BPF_F_MMAPABLE, 0, NULL };`,
    ...programTables(p, program.lines, program.relocations.map((r) => `{ ${r.index}, ${role(r.map)} }`)),
    `static const struct vmt_gc_config ${p} = {`,
    `\t.ct = &map_${c.map}, .ctl = &${p}_ctl, .rev_off = ${rev.offset}, .keys = ${c.keys},`,
    `\t.use_compare = ${c.delete === 'compare' ? 1 : 0}, .use_updater = ${c.datapath.includes('update') ? 1 : 0}, .use_program = ${c.datapath.includes('program') ? 1 : 0},`,
    `\t.live_must_be_zero = ${c.liveDeletes === 'none' ? 1 : 0},`,
    `\t.rounds = ${ctx.bound('rounds')}, .batch = ${ctx.bound('batch')},`,
    `\t.run_repeat = ${ctx.bound('runRepeat')}, .max_seconds = ${ctx.bound('maxSeconds')},`,
    `\t.contested = ${c.bounds.contested !== undefined ? ctx.bound('contested') : 'NULL'},`,
    `\t.insns = ${p}_insns, .insn_cnt = VMT_ARRAY_SIZE(${p}_insns), .relocs = ${p}_relocs, .nrelocs = VMT_ARRAY_SIZE(${p}_relocs),`,
    `\t.delete_compare = ${ctx.hasCompare ? 'vmt_delete_compare' : 'NULL'},`,
    '};',
  ];
}

/** The struct vmt_torn_config of one torn-read case. */
export function tornReadTables(ctx: ScenarioContext, c: TornReadCase, layout: ValueLayout): string[] {
  const data = layout.fields.find((f) => f.name === c.dataField)!;
  return [
    `static const struct vmt_torn_config ${ctx.prefix} = {`,
    `\t.map = &map_${c.map}, .data_off = ${data.offset}, .data_len = ${data.size}, .lock = ${c.lock ? 1 : 0},`,
    `\t.writers = ${c.writers}, .readers = ${c.readers}, .mixed_must_be_zero = ${c.mixedReads === 'none' ? 1 : 0},`,
    `\t.writes = ${ctx.bound('writes')}, .max_seconds = ${ctx.bound('maxSeconds')},`,
    '};',
  ];
}

/** The counting program and the struct vmt_inner_config of one inner-map-replace case. */
export function innerMapTables(ctx: ScenarioContext, c: InnerMapReplaceCase, innerName: string, innerLayout: ValueLayout): string[] {
  const counter = innerLayout.fields.find((f) => f.name === c.counterField)!;
  const program = assemble(innerCountProgram({ outerMap: c.outer, counterOffset: counter.offset }));
  const p = ctx.prefix;
  return [
    ...programTables(p, program.lines, program.relocations.map((r) => `{ ${r.index}, 0 }`)),
    `static const struct vmt_inner_config ${p} = {`,
    `\t.outer = &map_${c.outer}, .inner = &map_${innerName}, .counter_off = ${counter.offset},`,
    `\t.rounds = ${ctx.bound('rounds')}, .settle = ${ctx.bound('settleIncrements')},`,
    `\t.run_repeat = ${ctx.bound('runRepeat')}, .max_seconds = ${ctx.bound('maxSeconds')},`,
    `\t.insns = ${p}_insns, .insn_cnt = VMT_ARRAY_SIZE(${p}_insns), .relocs = ${p}_relocs, .nrelocs = VMT_ARRAY_SIZE(${p}_relocs),`,
    '};',
  ];
}
