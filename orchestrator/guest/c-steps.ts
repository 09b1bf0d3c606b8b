// C for a 'steps' case: a straight sequence of map syscalls, each checked against its expected result.
import { cBytes, cString, cU64, indent } from './c-text.ts';
import {
  encodeField, encodeValue, PERCPU_TYPES, type CompareArgs, type Count, type Flag, type FieldValues, type GuestSuite, type Step, type StepsCase, type ValueLayout,
} from './suite-model.ts';

export interface StepsContext {
  suite: GuestSuite;
  layouts: ReadonlyMap<string, ValueLayout>;
  /** The C expression of a suite parameter's current value. */
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

function countExpr(ctx: StepsContext, count: Count): string {
  if (typeof count === 'number') return `${count}L`;
  return `(${ctx.param(count.param)} * ${count.times ?? 1}L + ${count.plus ?? 0}L)`;
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
  text: string;
}

function compareWindow(layout: ValueLayout, c: CompareArgs): CompareBytes {
  if (c.field !== undefined) {
    const field = layout.fields.find((f) => f.name === c.field)!;
    return { offset: field.offset, size: field.size, bytes: encodeField(field, c.equals!), text: `${c.field} == ${Array.isArray(c.equals) ? 'bytes' : String(c.equals)} (offset ${field.offset}, size ${field.size})` };
  }
  if (c.whole !== undefined) return { offset: 0, size: 0, bytes: encodeValue(layout, c.whole), text: `whole value == ${valuesText(c.whole)} (offset 0, size 0)` };
  const size = c.size!;
  const length = c.bytes?.length ?? (size === 0 ? layout.size : Math.min(size, 65536));
  const bytes = [...(c.bytes ?? []), ...new Array<number>(Math.max(0, length - (c.bytes?.length ?? 0))).fill(0)];
  return { offset: c.offset!, size, bytes, text: `raw window offset ${c.offset}, size ${size}` };
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

/** The body of a steps case: creates its maps, runs the steps, closes the maps. */
export function stepsCaseBody(ctx: StepsContext, c: StepsCase, maps: readonly string[]): string[] {
  const out: string[] = [];
  out.push('char what[512];');
  for (const m of maps) out.push(`int fd_${m} = -1;`);
  out.push('');
  for (const m of maps) out.push(`fd_${m} = vmt_map_create(t, &map_${m}, -1);`, `if (fd_${m} < 0)`, '\tgoto out;');
  const loopVars: string[] = [];
  const emit = (steps: readonly Step[], prefix: string, depth: number): string[] => {
    const lines: string[] = [];
    steps.forEach((step, i) => {
      const label = `${prefix}${i + 1}`;
      if (step.op === 'repeat') {
        const v = `i${depth}`;
        loopVars.push(v);
        lines.push(`/* step ${label}: repeat ${countText(step.times)} times */`);
        lines.push(`for (long ${v} = 0; ${v} < ${countExpr(ctx, step.times)}; ${v}++) {`);
        lines.push(...indent(emit(step.steps, `${label}.`, depth + 1)));
        lines.push('}');
        loopVars.pop();
        return;
      }
      const text = `step ${label}: ${describeStep(step)}`;
      const comment = `${text}: expect ${step.expect ?? 'ok'}`;
      const fmt = loopVars.length ? `"%s (${loopVars.map((v) => `${v}=%ld`).join(', ')})", ${cString(text)}, ${loopVars.join(', ')}` : `"%s", ${cString(text)}`;
      lines.push(`/* ${comment.replace(/\*\//g, '* /')} */`, '{');
      lines.push(...indent([`snprintf(what, sizeof(what), ${fmt});`, ...stepBody(ctx, step)]));
      lines.push('}');
    });
    return lines;
  };
  out.push('', ...emit(c.steps, '', 0));
  out.push('out:');
  for (const m of [...maps].reverse()) out.push(`if (fd_${m} >= 0)`, `\tclose(fd_${m});`);
  out.push('return t->failed ? VMT_FAIL : VMT_PASS;');
  return out;
}

function keyDecl(ctx: StepsContext, map: string, key: number | string): string {
  return ctx.suite.maps[map]!.keySize === 8 ? `__u64 key = ${key};` : `__u32 key = ${key};`;
}

function stepBody(ctx: StepsContext, step: Exclude<Step, { op: 'repeat' }>): string[] {
  const layout = ctx.layouts.get(step.map)!;
  const want = expectExpr(step.expect);
  const check = (call: string) => [`if (!vmt_expect(t, what, ${call}, ${want}))`, '\tgoto out;'];
  switch (step.op) {
    case 'update':
      return [
        keyDecl(ctx, step.map, step.key),
        `static const unsigned char value[${layout.size}] = ${cBytes(encodeValue(layout, step.value), '')};`,
        ...check(`vmt_update(&map_${step.map}, fd_${step.map}, &key, value, ${flagsExpr(step.flags)})`),
      ];
    case 'fill':
      return [
        `static const unsigned char value[${layout.size}] = ${cBytes(encodeValue(layout, step.value), '')};`,
        `for (long n = 0; n < ${countExpr(ctx, step.count)}; n++) {`,
        `\t${keyDecl(ctx, step.map, 'n')}`,
        `\tif (!vmt_expect(t, what, vmt_update(&map_${step.map}, fd_${step.map}, &key, value, ${flagsExpr(step.flags)}), ${want})) {`,
        '\t\tvmt_diag("(at key %ld)", n);',
        '\t\tgoto out;',
        '\t}',
        '}',
      ];
    case 'lookup': {
      const lines = [
        keyDecl(ctx, step.map, step.key),
        `unsigned char got[${layout.size}];`,
        ...check(`vmt_lookup(&map_${step.map}, fd_${step.map}, &key, got, 0)`),
      ];
      if (step.equals && (step.expect ?? 'ok') === 'ok') {
        lines.push(
          `static const unsigned char want[${layout.size}] = ${cBytes(encodeValue(layout, step.equals), '')};`,
          'if (memcmp(got, want, sizeof(want))) {',
          '\tchar w[3 * sizeof(want) + 8], g[3 * sizeof(want) + 8];',
          '',
          '\tvmt_hex(w, sizeof(w), want, sizeof(want));',
          '\tvmt_hex(g, sizeof(g), got, sizeof(got));',
          '\tvmt_fail(t, "%s: value differs\\n  expected %s\\n  actual   %s", what, w, g);',
          '\tgoto out;',
          '}',
        );
      }
      return lines;
    }
    case 'delete':
      if (!step.compare) return [keyDecl(ctx, step.map, step.key), ...check(`vmt_delete(fd_${step.map}, &key, ${flagsExpr(step.flags)})`)];
      return compareDelete(ctx, step, layout, want);
  }
}

/** A delete with the series' compare* fields set: only generated when the headers have them. */
function compareDelete(ctx: StepsContext, step: Extract<Step, { op: 'delete' }>, layout: ValueLayout, want: string): string[] {
  const c = step.compare!;
  const w = compareWindow(layout, c);
  const omit = new Set(c.omit ?? []);
  const lines = [keyDecl(ctx, step.map, step.key), 'union bpf_attr attr;'];
  if (c.pointer !== 'bad' && c.pointer !== 'null' && !omit.has('compare')) lines.push(`static const unsigned char expected[${Math.max(w.bytes.length, 1)}] = ${cBytes(w.bytes, '')};`);
  lines.push(
    '',
    'memset(&attr, 0, sizeof(attr));',
    `attr.map_fd = fd_${step.map};`,
    'attr.key = vmt_ptr(&key);',
    `attr.flags = ${flagsExpr(step.flags)};`,
  );
  if (!omit.has('compare')) lines.push(`attr.compare = ${c.pointer === 'bad' ? 'vmt_unmapped_ptr()' : c.pointer === 'null' ? '0' : 'vmt_ptr(expected)'};`);
  if (!omit.has('compare_offset')) lines.push(`attr.compare_offset = ${cU64(w.offset).replace('ULL', 'U')};`);
  if (!omit.has('compare_size')) lines.push(`attr.compare_size = ${cU64(w.size).replace('ULL', 'U')};`);
  lines.push(`if (!vmt_expect(t, what, vmt_bpf(BPF_MAP_DELETE_ELEM, &attr), ${want}))`, '\tgoto out;');
  return lines;
}

export function isPercpu(suite: GuestSuite, map: string): boolean {
  return PERCPU_TYPES.includes(suite.maps[map]!.type);
}
