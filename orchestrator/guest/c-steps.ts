// The tables of a 'steps' case: one struct vmt_step per step, which c/vmt-steps.c runs in order.
import { cBytes, cString } from './c-text.ts';
import {
  encodeField, encodeValue, type CompareArgs, type Count, type Flag, type FieldValues, type GuestSuite, type Step, type StepsCase, type ValueLayout,
} from './suite-model.ts';

export interface StepsContext {
  suite: GuestSuite;
  layouts: ReadonlyMap<string, ValueLayout>;
  /** The C address of a suite parameter's value (&vmt_params[i].value). */
  param(name: string): string;
}

export function flagsExpr(flags: readonly Flag[] | undefined): string {
  if (!flags || flags.length === 0) return '0';
  return flags.map((f) => (typeof f === 'number' ? `0x${f.toString(16)}ULL` : `(__u64)${f}`)).join(' | ');
}

function flagsText(flags: readonly Flag[] | undefined): string {
  return flags && flags.length ? ` (${flags.map((f) => (typeof f === 'number' ? `0x${f.toString(16)}` : f)).join(' | ')})` : '';
}

export function expectExpr(expect: string | undefined): string {
  return !expect || expect === 'ok' ? '0' : `-${expect}`;
}

/** A struct vmt_count initializer: { param address, times, plus }. */
function countInit(ctx: StepsContext, count: Count): string {
  if (typeof count === 'number') return `{ NULL, 0, ${count} }`;
  return `{ ${ctx.param(count.param)}, ${count.times ?? 1}, ${count.plus ?? 0} }`;
}

function countText(count: Count): string {
  if (typeof count === 'number') return String(count);
  return `${count.param}${count.times && count.times !== 1 ? ` * ${count.times}` : ''}${count.plus ? ` + ${count.plus}` : ''}`;
}

function valuesText(values: FieldValues): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${Array.isArray(v) ? `[${(v as readonly number[]).length} bytes]` : typeof v === 'bigint' || (v as number) > 0xff ? `0x${BigInt(v as number | bigint).toString(16)}` : String(v)}`);
  return `{${parts.join(', ')}}`;
}

interface CompareBytes {
  offset: number;
  size: number;
  bytes: number[];
}

function compareWindow(layout: ValueLayout, c: CompareArgs): CompareBytes {
  if (c.field !== undefined) {
    const field = layout.fields.find((f) => f.name === c.field)!;
    return { offset: field.offset, size: field.size, bytes: encodeField(field, c.equals!) };
  }
  if (c.whole !== undefined) return { offset: 0, size: 0, bytes: encodeValue(layout, c.whole) };
  const size = c.size!;
  const length = c.bytes?.length ?? (size === 0 ? layout.size : Math.min(size, 65536));
  const bytes = [...(c.bytes ?? []), ...new Array<number>(Math.max(0, length - (c.bytes?.length ?? 0))).fill(0)];
  return { offset: c.offset!, size, bytes };
}

/** What a step does, without its expected result. */
export function describeStep(step: Exclude<Step, { op: 'repeat' }>): string {
  switch (step.op) {
    case 'update':
      return `update ${step.map} key ${step.key} = ${valuesText(step.value)}${flagsText(step.flags)}`;
    case 'lookup':
      return `lookup ${step.map} key ${step.key}${step.equals ? ` == ${valuesText(step.equals)}` : ''}`;
    case 'fill':
      return `fill ${step.map} keys 0..${countText(step.count)}-1 = ${valuesText(step.value)}${flagsText(step.flags)}`;
    case 'delete': {
      const c = step.compare;
      let what = '';
      if (c) {
        const w = c.field !== undefined ? `${c.field} == ${String(c.equals)}` : c.whole ? 'whole value' : `offset ${c.offset} size ${c.size}`;
        what = `, compare ${w}${c.pointer && c.pointer !== 'expected' ? ` via ${c.pointer} pointer` : ''}${c.omit?.length ? ` without ${c.omit.join(', ')}` : ''}`;
      }
      return `delete ${step.map} key ${step.key}${flagsText(step.flags)}${what}`;
    }
  }
}

/** A byte table; all zeros is written as { 0 } (a raw window may be 64 KiB long). */
function byteTable(name: string, bytes: readonly number[]): string {
  const init = bytes.every((b) => b === 0) ? '{ 0 }' : cBytes(bytes, '');
  return `static const unsigned char ${name}[${Math.max(bytes.length, 1)}] = ${init};`;
}

/** A u32 as C: decimal while short, hex past 16 bits (the wrapping windows read better so). */
function u32Text(n: number): string {
  return n > 0xffff ? `0x${n.toString(16)}U` : String(n);
}

const POINTER = { expected: 'VMT_COMPARE_EXPECTED', bad: 'VMT_COMPARE_BAD', null: 'VMT_COMPARE_NULL' } as const;
const SET_BIT = { compare: 'VMT_SET_COMPARE', compare_offset: 'VMT_SET_COMPARE_OFFSET', compare_size: 'VMT_SET_COMPARE_SIZE' } as const;

/**
 * The tables of one steps case, named after prefix: byte tables, compare arguments, the step arrays (a repeat's
 * body before the repeat), and last `static const struct vmt_steps_case <prefix>`.
 */
export function stepsCaseTables(ctx: StepsContext, c: StepsCase, maps: readonly string[], prefix: string): string[] {
  const out: string[] = [];
  const mapIndex = (name: string) => maps.indexOf(name);
  const stepArray = (steps: readonly Step[], label: string, arrayName: string): void => {
    const entries: string[] = [];
    steps.forEach((step, i) => {
      const at = `${label}${i + 1}`;
      const id = `${prefix}_s${at.replaceAll('.', '_')}`;
      if (step.op === 'repeat') {
        stepArray(step.steps, `${at}.`, `${id}_body`);
        entries.push(`\t{ .op = VMT_STEP_REPEAT, .what = ${cString(`step ${at}: repeat ${countText(step.times)} times`)},`,
          `\t  .count = ${countInit(ctx, step.times)}, .body = ${id}_body, .nbody = VMT_ARRAY_SIZE(${id}_body) },`);
        return;
      }
      const layout = ctx.layouts.get(step.map)!;
      const fields = [`.map = ${mapIndex(step.map)}`];
      if (step.op !== 'fill') fields.push(`.key = ${step.key}`);
      if ((step.op === 'update' || step.op === 'delete' || step.op === 'fill') && step.flags?.length) fields.push(`.flags = ${flagsExpr(step.flags)}`);
      if ((step.expect ?? 'ok') !== 'ok') fields.push(`.expect = ${expectExpr(step.expect)}`);
      if (step.op === 'update' || step.op === 'fill') {
        out.push(byteTable(`${id}_value`, encodeValue(layout, step.value)));
        fields.push(`.value = ${id}_value`);
      }
      if (step.op === 'lookup' && step.equals && (step.expect ?? 'ok') === 'ok') {
        out.push(byteTable(`${id}_want`, encodeValue(layout, step.equals)));
        fields.push(`.value = ${id}_want`);
      }
      if (step.op === 'fill') fields.push(`.count = ${countInit(ctx, step.count)}`);
      if (step.op === 'delete' && step.compare) {
        out.push(...compareTable(layout, step.compare, id));
        fields.push(`.compare = &${id}_compare`);
      }
      const op = { update: 'VMT_STEP_UPDATE', lookup: 'VMT_STEP_LOOKUP', delete: 'VMT_STEP_DELETE', fill: 'VMT_STEP_FILL' }[step.op];
      entries.push(`\t{ .op = ${op}, .what = ${cString(`step ${at}: ${describeStep(step)}`)},`, `\t  ${fields.join(', ')} },`);
    });
    out.push(`static const struct vmt_step ${arrayName}[] = {`, ...entries, '};');
  };
  stepArray(c.steps, '', `${prefix}_steps`);
  out.push(
    `static const struct vmt_map_desc *const ${prefix}_maps[] = { ${maps.map((m) => `&map_${m}`).join(', ')} };`,
    `static const struct vmt_steps_case ${prefix} = { ${prefix}_maps, VMT_ARRAY_SIZE(${prefix}_maps), ${prefix}_steps, VMT_ARRAY_SIZE(${prefix}_steps) };`,
  );
  return out;
}

/** The compare* fields of a delete: only generated when the headers have the series. */
function compareTable(layout: ValueLayout, c: CompareArgs, id: string): string[] {
  const w = compareWindow(layout, c);
  const omit = new Set(c.omit ?? []);
  const pointer = c.pointer ?? 'expected';
  const out: string[] = [];
  const withBytes = pointer === 'expected' && !omit.has('compare');
  if (withBytes) out.push(byteTable(`${id}_expected`, w.bytes));
  const set = (Object.keys(SET_BIT) as (keyof typeof SET_BIT)[]).filter((f) => !omit.has(f));
  const setExpr = set.length === 3 ? 'VMT_SET_ALL' : set.length ? set.map((f) => SET_BIT[f]).join(' | ') : '0';
  out.push(`static const struct vmt_compare_args ${id}_compare = { .expected = ${withBytes ? `${id}_expected` : 'NULL'}, .offset = ${u32Text(w.offset)}, .size = ${u32Text(w.size)}, .pointer = ${POINTER[pointer]}, .set = ${setExpr} };`);
  return out;
}
