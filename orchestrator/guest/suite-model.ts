// Guest suites as data: maps, steps, threads and expected results, checked before any C is generated.

export const ERRNOS = {
  EPERM: 1, ENOENT: 2, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16,
  EEXIST: 17, EINVAL: 22, ENOSPC: 28, ERANGE: 34, ENOSYS: 38, EOPNOTSUPP: 95, ENOTSUPP: 524,
} as const;
export type Errno = keyof typeof ERRNOS;
/** What a syscall must return: success, or this errno. */
export type Expect = 'ok' | Errno;

export type MapType = 'HASH' | 'LRU_HASH' | 'PERCPU_HASH' | 'LRU_PERCPU_HASH' | 'ARRAY' | 'ARRAY_OF_MAPS';
export const MAP_TYPES: readonly MapType[] = ['HASH', 'LRU_HASH', 'PERCPU_HASH', 'LRU_PERCPU_HASH', 'ARRAY', 'ARRAY_OF_MAPS'];
export const HASH_TYPES: readonly MapType[] = ['HASH', 'LRU_HASH', 'PERCPU_HASH', 'LRU_PERCPU_HASH'];
export const PERCPU_TYPES: readonly MapType[] = ['PERCPU_HASH', 'LRU_PERCPU_HASH'];

/** A value field: a fixed-width integer, a byte array `u8[N]`, or a bpf_spin_lock (which needs BTF). */
export type FieldType = 'u32' | 'u64' | 'bpf_spin_lock' | `u8[${number}]`;

export interface FieldSpec {
  name: string;
  type: FieldType;
}

export interface MapSpec {
  type: MapType;
  keySize: 4 | 8;
  /** The value as a C struct (natural alignment); a bpf_spin_lock field makes the map carry BTF. */
  value: readonly FieldSpec[];
  maxEntries: number;
  /** BPF_F_NO_PREALLOC (hash maps). */
  noPrealloc?: boolean;
  /** BPF_F_MMAPABLE (ARRAY). */
  mmapable?: boolean;
  /** ARRAY_OF_MAPS: the map every inner map is shaped like. */
  inner?: string;
}

/** Field name to value; absent fields are zero. Byte arrays take a list of bytes (shorter lists are zero-padded). */
export type FieldValues = Readonly<Record<string, number | bigint | readonly number[]>>;

/** A syscall flag by its UAPI name, or a raw bit (for "unknown flag" cases). */
export type Flag = 'BPF_ANY' | 'BPF_NOEXIST' | 'BPF_EXIST' | 'BPF_F_LOCK' | 'BPF_F_COMPARE' | number;
export const FLAG_NAMES = ['BPF_ANY', 'BPF_NOEXIST', 'BPF_EXIST', 'BPF_F_LOCK', 'BPF_F_COMPARE'] as const;

/** A count: a number, or a suite parameter times a factor plus a constant. */
export type Count = number | { param: string; times?: number; plus?: number };

/**
 * The compare* fields of a BPF_MAP_DELETE_ELEM. Exactly one way to say what is compared:
 * `field` (the window is that field, the expected bytes its value), `whole` (compare_size 0, the
 * expected bytes a whole value), or `offset`+`size` given raw (expected bytes from `bytes`, else zeros).
 */
export interface CompareArgs {
  field?: string;
  equals?: number | bigint | readonly number[];
  whole?: FieldValues;
  offset?: number;
  size?: number;
  bytes?: readonly number[];
  /** What attr.compare points at: the expected bytes (default), an unmapped address, or 0. */
  pointer?: 'expected' | 'bad' | 'null';
  /** Leave attr.compare, compare_offset or compare_size zero (to set the fields one at a time). */
  omit?: readonly ('compare' | 'compare_offset' | 'compare_size')[];
}

export type Step =
  | { op: 'update'; map: string; key: number; value: FieldValues; flags?: readonly Flag[]; expect?: Expect }
  | { op: 'lookup'; map: string; key: number; expect?: Expect; equals?: FieldValues }
  | { op: 'delete'; map: string; key: number; flags?: readonly Flag[]; compare?: CompareArgs; expect: Expect }
  /** Insert (or update) keys 0..count-1. */
  | { op: 'fill'; map: string; count: Count; value: FieldValues; flags?: readonly Flag[]; expect?: Expect }
  | { op: 'repeat'; times: Count; steps: readonly Step[] };

interface CaseBase {
  /** KTAP test name: lower case, digits, '-', '_' and '.'. */
  name: string;
  /** The claim this case checks, one line; printed as a diagnostic. */
  claim: string;
  /** Needs BPF_F_COMPARE even if no step names it (e.g. unknown flag bits: EINVAL only means something once the flag exists). */
  needsCompare?: boolean;
}

export interface StepsCase extends CaseBase {
  kind: 'steps';
  steps: readonly Step[];
}

/** The conntrack GC race (cilium/cilium#46298): a datapath refreshes entries while a GC snapshots and deletes. */
export interface GcRaceCase extends CaseBase {
  kind: 'gc-race';
  /** A HASH map whose value has a u64 revision field. */
  map: string;
  revisionField: string;
  /** Number of live keys (a power of two: the BPF program picks keys with a mask). */
  keys: number;
  /** How the GC deletes what it judged expired. */
  delete: 'plain' | 'compare';
  /** Datapath threads: element-replacing updates from userspace, in-place revision bumps from a BPF program. */
  datapath: readonly ('update' | 'program')[];
  /** 'none' must hold (zero live entries deleted); 'report' only measures (characterisation). */
  liveDeletes: 'none' | 'report';
  /**
   * A round count and a time limit bound every case. `contested` (optional) also stops it once that many
   * deletes met an entry refreshed after the snapshot (kept with EBUSY, or a live entry deleted): the
   * events the check is about, so a case runs as long as it takes to see enough of them, not a fixed count.
   */
  bounds: { rounds: number; batch: number; runRepeat: number; maxSeconds: number; contested?: number };
}

/** Concurrent whole-value updates (pattern A / pattern B) against syscall lookups. */
export interface TornReadCase extends CaseBase {
  kind: 'torn-read';
  /** Value has a u8[N] field `dataField` (N a multiple of 8); with `lock`, also a bpf_spin_lock. */
  map: string;
  dataField: string;
  /** BPF_F_LOCK on both update and lookup. */
  lock: boolean;
  writers: number;
  readers: number;
  mixedReads: 'none' | 'report';
  bounds: { writes: number; maxSeconds: number };
}

/** Replace slot 0 of an ARRAY_OF_MAPS while a BPF program counts into whatever inner map it finds there. */
export interface InnerMapReplaceCase extends CaseBase {
  kind: 'inner-map-replace';
  /** ARRAY_OF_MAPS whose inner map is an ARRAY with a u64 `counterField`. */
  outer: string;
  counterField: string;
  bounds: { rounds: number; settleIncrements: number; runRepeat: number; maxSeconds: number };
}

export type GuestCase = StepsCase | GcRaceCase | TornReadCase | InnerMapReplaceCase;

export interface ParamSpec {
  default: number;
  min: number;
  max: number;
  doc: string;
}

export interface GuestSuite {
  /** Also the binary's and the guest test's name. */
  name: string;
  /** Where the description lives, for the generated file's header. */
  source: string;
  summary: string;
  maps: Readonly<Record<string, MapSpec>>;
  params?: Readonly<Record<string, ParamSpec>>;
  cases: readonly GuestCase[];
}

/** Upper limits of scenario bounds: a description cannot ask for something that cannot finish in a TCG guest. */
export const BOUND_LIMITS = {
  'gc-race': { rounds: 100_000, batch: 4096, runRepeat: 100_000, maxSeconds: 600, contested: 10_000_000 },
  'torn-read': { writes: 10_000_000, maxSeconds: 600 },
  'inner-map-replace': { rounds: 10_000, settleIncrements: 10_000_000, runRepeat: 100_000, maxSeconds: 600 },
} as const;

/** Bounds a description may leave out. */
const OPTIONAL_BOUNDS: ReadonlySet<string> = new Set(['contested']);

export function defineSuite(suite: GuestSuite): GuestSuite {
  return suite;
}

// ---- value layout ----

export interface FieldLayout {
  name: string;
  type: FieldType;
  offset: number;
  size: number;
  align: number;
}

export interface ValueLayout {
  fields: FieldLayout[];
  size: number;
  align: number;
  spinLock?: FieldLayout;
}

export function byteArrayLength(type: FieldType): number | undefined {
  const m = /^u8\[(\d+)\]$/.exec(type);
  return m ? Number(m[1]) : undefined;
}

function fieldShape(type: FieldType): { size: number; align: number } | undefined {
  if (type === 'u32' || type === 'bpf_spin_lock') return { size: 4, align: 4 };
  if (type === 'u64') return { size: 8, align: 8 };
  const n = byteArrayLength(type);
  return n !== undefined && n > 0 ? { size: n, align: 1 } : undefined;
}

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The C struct layout of a value (x86-64: natural alignment, size rounded to the largest alignment). */
export function layoutOf(fields: readonly FieldSpec[]): ValueLayout {
  let offset = 0;
  let align = 1;
  const out: FieldLayout[] = [];
  for (const f of fields) {
    const shape = fieldShape(f.type);
    if (!shape) throw new Error(`field "${f.name}" has unknown type "${f.type}"`);
    offset = roundUp(offset, shape.align);
    out.push({ name: f.name, type: f.type, offset, ...shape });
    offset += shape.size;
    align = Math.max(align, shape.align);
  }
  const spinLock = out.find((f) => f.type === 'bpf_spin_lock');
  return { fields: out, size: roundUp(offset, align), align, ...(spinLock ? { spinLock } : {}) };
}

function encodeInt(value: number | bigint, size: number): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(size * 8);
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** One field's bytes (little-endian, the guest is x86-64). */
export function encodeField(field: FieldLayout, value: number | bigint | readonly number[]): number[] {
  if (Array.isArray(value)) return [...(value as readonly number[]), ...new Array<number>(field.size - (value as readonly number[]).length).fill(0)];
  return encodeInt(value as number | bigint, field.size);
}

/** A whole value's bytes. */
export function encodeValue(layout: ValueLayout, values: FieldValues): number[] {
  const bytes = new Array<number>(layout.size).fill(0);
  for (const [name, v] of Object.entries(values)) {
    const field = layout.fields.find((f) => f.name === name);
    if (!field) throw new Error(`no field "${name}"`);
    encodeField(field, v).forEach((b, i) => (bytes[field.offset + i] = b));
  }
  return bytes;
}

// ---- validation ----

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,30}$/;
const U32_MAX = 0xffff_ffff;

/** Every problem with a suite description, each naming where it is; empty when the suite is sound. */
export function validateSuite(suite: GuestSuite): string[] {
  const problems: string[] = [];
  const where = `suite ${JSON.stringify(suite.name)}`;
  if (!NAME.test(suite.name)) problems.push(`${where}: name must match ${NAME} (it becomes a file and a KTAP name)`);
  else if (suite.name.startsWith('vmt-')) problems.push(`${where}: names starting with vmt- are taken by the fixed C (orchestrator/guest/c/), which goes beside <name>.c`);
  const layouts = new Map<string, ValueLayout>();
  for (const [name, map] of Object.entries(suite.maps)) {
    problems.push(...validateMap(suite, name, map, `${where}, map ${JSON.stringify(name)}`, layouts));
  }
  for (const [name, p] of Object.entries(suite.params ?? {})) {
    const at = `${where}, param ${JSON.stringify(name)}`;
    if (!IDENT.test(name)) problems.push(`${at}: name must be a C identifier`);
    if (![p.default, p.min, p.max].every(Number.isSafeInteger)) problems.push(`${at}: default, min and max must be integers`);
    else if (!(p.min <= p.default && p.default <= p.max)) problems.push(`${at}: default ${p.default} is outside [${p.min}, ${p.max}]`);
  }
  if (suite.cases.length === 0) problems.push(`${where}: no cases`);
  const seen = new Set<string>();
  for (const c of suite.cases) {
    const at = `${where}, case ${JSON.stringify(c.name)}`;
    if (!NAME.test(c.name)) problems.push(`${at}: name must match ${NAME} (KTAP test names cannot hold '#' or spaces here)`);
    if (seen.has(c.name)) problems.push(`${at}: duplicate case name`);
    seen.add(c.name);
    if (!c.claim || /\n/.test(c.claim)) problems.push(`${at}: claim must be one non-empty line`);
    problems.push(...validateCase(suite, c, at, layouts));
  }
  return problems;
}

function validateMap(suite: GuestSuite, name: string, map: MapSpec, at: string, layouts: Map<string, ValueLayout>): string[] {
  const p: string[] = [];
  if (!IDENT.test(name)) p.push(`${at}: name must be a C identifier`);
  if (!MAP_TYPES.includes(map.type)) return [...p, `${at}: unknown map type ${JSON.stringify(map.type)} (known: ${MAP_TYPES.join(', ')})`];
  if (map.keySize !== 4 && map.keySize !== 8) p.push(`${at}: keySize must be 4 or 8`);
  if ((map.type === 'ARRAY' || map.type === 'ARRAY_OF_MAPS') && map.keySize !== 4) p.push(`${at}: ${map.type} keys are 4 bytes`);
  if (!Number.isSafeInteger(map.maxEntries) || map.maxEntries < 1 || map.maxEntries > 1 << 20) p.push(`${at}: maxEntries must be an integer in [1, 1048576]`);
  if (map.noPrealloc && !HASH_TYPES.includes(map.type)) p.push(`${at}: noPrealloc is for hash maps`);
  if (map.mmapable && map.type !== 'ARRAY') p.push(`${at}: mmapable is for ARRAY maps`);
  if (map.type === 'ARRAY_OF_MAPS') {
    const inner = map.inner === undefined ? undefined : suite.maps[map.inner];
    if (!inner) p.push(`${at}: ARRAY_OF_MAPS needs "inner", the name of a map in this suite`);
    else if (inner.type === 'ARRAY_OF_MAPS') p.push(`${at}: inner map ${JSON.stringify(map.inner)} cannot itself be a map of maps`);
    if (map.value.length !== 0) p.push(`${at}: an ARRAY_OF_MAPS value is the inner map's fd; leave value empty`);
    return p;
  }
  if (map.inner !== undefined) p.push(`${at}: "inner" is only for ARRAY_OF_MAPS`);
  if (map.value.length === 0) p.push(`${at}: value has no fields`);
  const names = new Set<string>();
  for (const f of map.value) {
    if (!IDENT.test(f.name)) p.push(`${at}: field name ${JSON.stringify(f.name)} must be a C identifier`);
    if (names.has(f.name)) p.push(`${at}: duplicate field ${JSON.stringify(f.name)}`);
    names.add(f.name);
    if (!fieldShape(f.type)) p.push(`${at}: field ${JSON.stringify(f.name)} has unknown type ${JSON.stringify(f.type)} (u32, u64, bpf_spin_lock, u8[N])`);
  }
  if (p.length) return p;
  const layout = layoutOf(map.value);
  layouts.set(name, layout);
  const locks = map.value.filter((f) => f.type === 'bpf_spin_lock').length;
  if (locks > 1) p.push(`${at}: at most one bpf_spin_lock field`);
  if (locks && map.type !== 'HASH' && map.type !== 'ARRAY') p.push(`${at}: a bpf_spin_lock value is supported here on HASH and ARRAY only`);
  if (layout.size > 4096) p.push(`${at}: value is ${layout.size} bytes; keep it at most 4096`);
  return p;
}

function fieldOf(layouts: Map<string, ValueLayout>, map: string, field: string): FieldLayout | undefined {
  return layouts.get(map)?.fields.find((f) => f.name === field);
}

function checkValues(layouts: Map<string, ValueLayout>, map: string, values: FieldValues, at: string): string[] {
  const layout = layouts.get(map);
  if (!layout) return [];
  const p: string[] = [];
  for (const [name, v] of Object.entries(values)) {
    const field = layout.fields.find((f) => f.name === name);
    if (!field) {
      p.push(`${at}: field ${JSON.stringify(name)} is not in map ${JSON.stringify(map)} (fields: ${layout.fields.map((f) => f.name).join(', ')})`);
      continue;
    }
    p.push(...checkFieldValue(field, v, `${at}, field ${JSON.stringify(name)}`));
  }
  return p;
}

function checkFieldValue(field: FieldLayout, v: number | bigint | readonly number[], at: string): string[] {
  if (field.type === 'bpf_spin_lock') return [`${at}: a bpf_spin_lock is not set by hand`];
  if (Array.isArray(v)) {
    const bytes = v as readonly number[];
    if (byteArrayLength(field.type) === undefined) return [`${at}: a list of bytes is for u8[N] fields`];
    if (bytes.length > field.size) return [`${at}: ${bytes.length} bytes do not fit in ${field.type}`];
    if (!bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return [`${at}: bytes must be integers 0..255`];
    return [];
  }
  if (byteArrayLength(field.type) !== undefined) return [`${at}: a u8[N] field takes a list of bytes`];
  if (typeof v === 'number' && !Number.isSafeInteger(v)) return [`${at}: ${v} is not an integer (use a bigint for 64-bit values)`];
  const big = BigInt(v as number | bigint);
  if (big < 0n || big >= 1n << BigInt(field.size * 8)) return [`${at}: ${v} does not fit in ${field.type}`];
  return [];
}

function checkCount(suite: GuestSuite, count: Count, at: string): string[] {
  if (typeof count === 'number') return Number.isSafeInteger(count) && count >= 0 ? [] : [`${at}: count must be a non-negative integer`];
  if (!suite.params?.[count.param]) return [`${at}: unknown param ${JSON.stringify(count.param)} (params: ${Object.keys(suite.params ?? {}).join(', ') || 'none'})`];
  if (![count.times ?? 1, count.plus ?? 0].every(Number.isSafeInteger)) return [`${at}: times and plus must be integers`];
  return [];
}

function checkFlags(flags: readonly Flag[] | undefined, at: string): string[] {
  const p: string[] = [];
  for (const f of flags ?? []) {
    if (typeof f === 'number') {
      if (!Number.isSafeInteger(f) || f < 0) p.push(`${at}: raw flag ${f} must be a non-negative integer`);
    } else if (!(FLAG_NAMES as readonly string[]).includes(f)) p.push(`${at}: unknown flag ${JSON.stringify(f)} (known: ${FLAG_NAMES.join(', ')}, or a number)`);
  }
  return p;
}

function checkKey(map: MapSpec, key: number, at: string): string[] {
  if (!Number.isSafeInteger(key) || key < 0) return [`${at}: key must be a non-negative integer`];
  if (map.keySize === 4 && key > U32_MAX) return [`${at}: key ${key} does not fit in 4 bytes`];
  if ((map.type === 'ARRAY' || map.type === 'ARRAY_OF_MAPS') && key >= map.maxEntries) return [`${at}: key ${key} is past the array's ${map.maxEntries} entries`];
  return [];
}

function checkCompare(layouts: Map<string, ValueLayout>, mapName: string, c: CompareArgs, at: string): string[] {
  const layout = layouts.get(mapName);
  if (!layout) return [];
  const ways = [c.field !== undefined, c.whole !== undefined, c.offset !== undefined || c.size !== undefined].filter(Boolean).length;
  if (ways !== 1) return [`${at}: compare needs exactly one of field (+equals), whole, or offset+size`];
  const p: string[] = [];
  if (c.field !== undefined) {
    const field = layout.fields.find((f) => f.name === c.field);
    if (!field) return [`${at}: compare field ${JSON.stringify(c.field)} is not in map ${JSON.stringify(mapName)} (fields: ${layout.fields.map((f) => f.name).join(', ')})`];
    if (c.equals === undefined) p.push(`${at}: compare.field needs compare.equals`);
    else p.push(...checkFieldValue(field, c.equals, `${at}, compare.equals`));
  } else if (c.equals !== undefined) p.push(`${at}: compare.equals goes with compare.field`);
  if (c.whole !== undefined) p.push(...checkValues(layouts, mapName, c.whole, `${at}, compare.whole`));
  if (c.offset !== undefined || c.size !== undefined) {
    for (const [k, v] of [['offset', c.offset], ['size', c.size]] as const) {
      if (v === undefined) p.push(`${at}: compare.${k} is required with a raw window`);
      else if (!Number.isSafeInteger(v) || v < 0 || v > U32_MAX) p.push(`${at}: compare.${k} must be a u32`);
    }
    if (c.bytes && !c.bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) p.push(`${at}: compare.bytes must be integers 0..255`);
    if (c.bytes && c.bytes.length > 65536) p.push(`${at}: compare.bytes is too long`);
  } else if (c.bytes !== undefined) p.push(`${at}: compare.bytes goes with a raw offset+size window`);
  if (c.pointer !== undefined && !['expected', 'bad', 'null'].includes(c.pointer)) p.push(`${at}: compare.pointer must be expected, bad or null`);
  for (const o of c.omit ?? []) if (!['compare', 'compare_offset', 'compare_size'].includes(o)) p.push(`${at}: compare.omit: unknown field ${JSON.stringify(o)}`);
  return p;
}

function validateSteps(suite: GuestSuite, steps: readonly Step[], at: string, layouts: Map<string, ValueLayout>, depth: number): string[] {
  const p: string[] = [];
  if (depth > 3) return [`${at}: repeat nested too deep`];
  steps.forEach((step, i) => {
    const s = `${at}, step ${i + 1} (${step.op})`;
    if (step.op === 'repeat') {
      p.push(...checkCount(suite, step.times, s));
      if (step.steps.length === 0) p.push(`${s}: nothing to repeat`);
      p.push(...validateSteps(suite, step.steps, s, layouts, depth + 1));
      return;
    }
    if (!['update', 'lookup', 'delete', 'fill'].includes(step.op)) {
      p.push(`${s}: unknown op`);
      return;
    }
    const map = suite.maps[step.map];
    if (!map) {
      p.push(`${s}: unknown map ${JSON.stringify(step.map)} (maps: ${Object.keys(suite.maps).join(', ')})`);
      return;
    }
    if (map.type === 'ARRAY_OF_MAPS') p.push(`${s}: steps on an ARRAY_OF_MAPS are not supported`);
    const expect = step.expect ?? 'ok';
    if (expect !== 'ok' && !(expect in ERRNOS)) p.push(`${s}: unknown errno ${JSON.stringify(expect)} (known: ${Object.keys(ERRNOS).join(', ')})`);
    if (step.op !== 'fill') p.push(...checkKey(map, step.key, s));
    if (step.op === 'update' || step.op === 'fill') p.push(...checkValues(layouts, step.map, step.value, s));
    if (step.op === 'fill') {
      p.push(...checkCount(suite, step.count, s));
      if (typeof step.count === 'number' && (map.type === 'ARRAY') && step.count > map.maxEntries) p.push(`${s}: fills past the array's end`);
    }
    if (step.op === 'lookup' && step.equals) p.push(...checkValues(layouts, step.map, step.equals, `${s}, equals`));
    if (step.op === 'update' || step.op === 'delete' || step.op === 'fill') p.push(...checkFlags(step.flags, s));
    if (step.op === 'delete' && step.compare) p.push(...checkCompare(layouts, step.map, step.compare, s));
  });
  return p;
}

function checkBounds(kind: keyof typeof BOUND_LIMITS, bounds: Readonly<Record<string, number>>, at: string): string[] {
  const limits: Readonly<Record<string, number>> = BOUND_LIMITS[kind];
  const p: string[] = [];
  for (const [name, max] of Object.entries(limits)) {
    const v = bounds[name];
    if (v === undefined) {
      if (!OPTIONAL_BOUNDS.has(name)) p.push(`${at}: bounds.${name} is required`);
    }
    else if (!Number.isSafeInteger(v) || v < 1 || v > max) p.push(`${at}: bounds.${name} = ${v} must be an integer in [1, ${max}]`);
  }
  for (const name of Object.keys(bounds)) if (!(name in limits)) p.push(`${at}: unknown bound ${JSON.stringify(name)} (known: ${Object.keys(limits).join(', ')})`);
  return p;
}

function validateCase(suite: GuestSuite, c: GuestCase, at: string, layouts: Map<string, ValueLayout>): string[] {
  switch (c.kind) {
    case 'steps':
      return c.steps.length ? validateSteps(suite, c.steps, at, layouts, 0) : [`${at}: no steps`];
    case 'gc-race': {
      const p = checkBounds('gc-race', c.bounds, at);
      const map = suite.maps[c.map];
      if (!map || map.type !== 'HASH') return [...p, `${at}: map ${JSON.stringify(c.map)} must be a HASH map of this suite`];
      const rev = fieldOf(layouts, c.map, c.revisionField);
      if (!rev || rev.type !== 'u64') p.push(`${at}: revisionField ${JSON.stringify(c.revisionField)} must be a u64 field of ${c.map}`);
      if (layouts.get(c.map)?.spinLock) p.push(`${at}: the GC map cannot hold a bpf_spin_lock (compare-and-delete rejects it)`);
      if (map.keySize !== 4) p.push(`${at}: the GC map needs 4-byte keys`);
      if (!Number.isSafeInteger(c.keys) || c.keys < 2 || c.keys > 4096 || (c.keys & (c.keys - 1)) !== 0) p.push(`${at}: keys must be a power of two in [2, 4096]`);
      else if (c.keys > map.maxEntries) p.push(`${at}: ${c.keys} keys do not fit in maxEntries ${map.maxEntries}`);
      if (c.delete !== 'plain' && c.delete !== 'compare') p.push(`${at}: delete must be plain or compare`);
      if (c.datapath.length === 0 || !c.datapath.every((d) => d === 'update' || d === 'program')) p.push(`${at}: datapath lists 'update' and/or 'program'`);
      if (c.liveDeletes !== 'none' && c.liveDeletes !== 'report') p.push(`${at}: liveDeletes must be none or report`);
      if (c.bounds.batch < 1) p.push(`${at}: batch must be positive`);
      return p;
    }
    case 'torn-read': {
      const p = checkBounds('torn-read', c.bounds, at);
      const map = suite.maps[c.map];
      if (!map || (map.type !== 'HASH' && map.type !== 'ARRAY')) return [...p, `${at}: map ${JSON.stringify(c.map)} must be a HASH or ARRAY map of this suite`];
      const data = fieldOf(layouts, c.map, c.dataField);
      const n = data ? byteArrayLength(data.type) : undefined;
      if (!data || n === undefined || n < 16 || n % 8 !== 0 || data.offset % 8 !== 0) p.push(`${at}: dataField ${JSON.stringify(c.dataField)} must be an 8-aligned u8[N] field of ${c.map}, N a multiple of 8, at least 16`);
      if (c.lock && !layouts.get(c.map)?.spinLock) p.push(`${at}: lock needs a bpf_spin_lock field in ${c.map}`);
      for (const [k, v] of [['writers', c.writers], ['readers', c.readers]] as const) {
        if (!Number.isSafeInteger(v) || v < 1 || v > 8) p.push(`${at}: ${k} must be in [1, 8]`);
      }
      if (c.mixedReads !== 'none' && c.mixedReads !== 'report') p.push(`${at}: mixedReads must be none or report`);
      return p;
    }
    case 'inner-map-replace': {
      const p = checkBounds('inner-map-replace', c.bounds, at);
      const outer = suite.maps[c.outer];
      if (!outer || outer.type !== 'ARRAY_OF_MAPS') return [...p, `${at}: outer ${JSON.stringify(c.outer)} must be an ARRAY_OF_MAPS of this suite`];
      const inner = outer.inner === undefined ? undefined : suite.maps[outer.inner];
      if (!inner || inner.type !== 'ARRAY') return [...p, `${at}: the inner map must be an ARRAY`];
      const counter = fieldOf(layouts, outer.inner!, c.counterField);
      if (!counter || counter.type !== 'u64' || counter.offset % 8 !== 0) p.push(`${at}: counterField ${JSON.stringify(c.counterField)} must be a u64 field of ${outer.inner}`);
      return p;
    }
    default:
      return [`${at}: unknown case kind ${JSON.stringify((c as { kind: unknown }).kind)}`];
  }
}

/** Whether a step list uses BPF_F_COMPARE or the compare* fields (then its case needs the series). */
export function stepsNeedCompare(steps: readonly Step[]): boolean {
  return steps.some((s) => s.op === 'repeat' ? stepsNeedCompare(s.steps)
    : s.op === 'delete' ? s.compare !== undefined || (s.flags ?? []).includes('BPF_F_COMPARE')
      : (s.op === 'update' || s.op === 'fill') && (s.flags ?? []).includes('BPF_F_COMPARE'));
}

export function caseNeedsCompare(c: GuestCase): boolean {
  if (c.needsCompare) return true;
  if (c.kind === 'steps') return stepsNeedCompare(c.steps);
  if (c.kind === 'gc-race') return c.delete === 'compare';
  return false;
}

/** Maps a case uses, in first-use order (inner maps after their outer). */
export function mapsOfCase(suite: GuestSuite, c: GuestCase): string[] {
  const out: string[] = [];
  const add = (m: string) => {
    if (!out.includes(m)) out.push(m);
  };
  const walk = (steps: readonly Step[]) => {
    for (const s of steps) {
      if (s.op === 'repeat') walk(s.steps);
      else add(s.map);
    }
  };
  if (c.kind === 'steps') walk(c.steps);
  else if (c.kind === 'inner-map-replace') {
    add(suite.maps[c.outer]!.inner!);
    add(c.outer);
  } else add(c.map);
  return out;
}
