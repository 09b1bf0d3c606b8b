// One suite to one C program: settings and tables generated from the description, then #includes of the fixed C
// in c/ (the runtime, main, the steps runner, the scenarios), so the program is one translation unit.
import { fileURLToPath } from 'node:url';
import { btfFor } from './c-btf.ts';
import { gcRaceTables, innerMapTables, tornReadTables, type ScenarioContext } from './c-scenarios.ts';
import { stepsCaseTables, type StepsContext } from './c-steps.ts';
import { cString, splitLines } from './c-text.ts';
import {
  BOUND_LIMITS, caseNeedsCompare, layoutOf, mapsOfCase, PERCPU_TYPES, validateSuite, type GuestCase, type GuestSuite, type ValueLayout,
} from './suite-model.ts';

/** The fixed C every generated program includes (orchestrator/guest/c/). */
export const C_DIR = fileURLToPath(new URL('./c/', import.meta.url));

export interface UapiFeatures {
  /** The installed linux/bpf.h has BPF_F_COMPARE (the series' UAPI). */
  hasCompare: boolean;
}

export interface GeneratedProgram {
  suite: string;
  text: string;
  /** Names of the files in C_DIR the program includes, directly or not: they go beside it. */
  includes: string[];
  /** What lines of the text are (1-based, inclusive), to say where a compiler error is: 'case <name>'. */
  regions: { name: string; first: number; last: number }[];
}

export class SuiteDescriptionError extends Error {
  readonly problems: string[];

  constructor(suite: string, problems: string[]) {
    super(`guest suite ${suite} is not a valid description:\n  ${problems.join('\n  ')}`);
    this.name = 'SuiteDescriptionError';
    this.problems = problems;
  }
}

export const NO_COMPARE_REASON = 'the UAPI headers (linux/bpf.h) have no BPF_F_COMPARE: the series is not in this tree';

/** What a C file in C_DIR is, for a compiler error in it. */
export const C_FILE_ROLES: Readonly<Record<string, string>> = { 'vmt-compare.c': 'the BPF_F_COMPARE helpers' };

/** The fixed C of each case kind: its header (before the tables) and its code (after them). */
const KIND_FILES: Readonly<Record<GuestCase['kind'], { header: string; code: string }>> = {
  'steps': { header: 'vmt-steps.h', code: 'vmt-steps.c' },
  'gc-race': { header: 'vmt-gc-race.h', code: 'vmt-gc-race.c' },
  'torn-read': { header: 'vmt-torn-read.h', code: 'vmt-torn-read.c' },
  'inner-map-replace': { header: 'vmt-inner-map.h', code: 'vmt-inner-map.c' },
};

const RUN_FUNCTION: Readonly<Record<GuestCase['kind'], string>> = {
  'steps': 'vmt_run_steps',
  'gc-race': 'vmt_gc_race',
  'torn-read': 'vmt_torn_read',
  'inner-map-replace': 'vmt_inner_replace',
};

interface ParamEntry {
  name: string;
  value: number;
  min: number;
  max: number;
  doc: string;
}

function mapDescriptor(suite: GuestSuite, name: string, layouts: ReadonlyMap<string, ValueLayout>): string[] {
  const map = suite.maps[name]!;
  const layout = layouts.get(name);
  const flags = [map.noPrealloc ? 'BPF_F_NO_PREALLOC' : '', map.mmapable ? 'BPF_F_MMAPABLE' : ''].filter(Boolean).join(' | ') || '0';
  const out: string[] = [];
  if (layout?.spinLock) out.push(btfFor(name, layout, map.keySize).c);
  const valueSize = map.type === 'ARRAY_OF_MAPS' ? 4 : layout!.size;
  const fields = layout ? ` /* ${layout.fields.map((f) => `${f.type} ${f.name} @${f.offset}`).join(', ')} */` : ' /* inner map fd */';
  out.push(`static const struct vmt_map_desc map_${name} = { ${cString(name.slice(0, 15))}, BPF_MAP_TYPE_${map.type}, ${map.keySize}, ${valueSize}, ${map.maxEntries}, ${flags}, ${PERCPU_TYPES.includes(map.type) ? 1 : 0}, ${layout?.spinLock ? `&${name}_btf` : 'NULL'} };${fields}`);
  return out;
}

export function generateSuiteC(suite: GuestSuite, uapi: UapiFeatures): GeneratedProgram {
  const problems = validateSuite(suite);
  if (problems.length) throw new SuiteDescriptionError(suite.name, problems);
  const layouts = new Map<string, ValueLayout>();
  for (const [name, map] of Object.entries(suite.maps)) if (map.type !== 'ARRAY_OF_MAPS') layouts.set(name, layoutOf(map.value));

  const params: ParamEntry[] = Object.entries(suite.params ?? {}).map(([name, p]) => ({ name, value: p.default, min: p.min, max: p.max, doc: p.doc }));
  for (const c of suite.cases) {
    if (c.kind === 'steps') continue;
    const limits: Readonly<Record<string, number>> = BOUND_LIMITS[c.kind];
    for (const [bound, value] of Object.entries(c.bounds as Readonly<Record<string, number>>)) {
      params.push({ name: `${c.name}.${bound}`, value, min: 1, max: limits[bound]!, doc: `${c.kind} bound` });
    }
  }
  const paramRef = (name: string): string => {
    const i = params.findIndex((p) => p.name === name);
    if (i < 0) throw new Error(`no parameter ${name}`);
    return `&vmt_params[${i}].value`;
  };

  // A case that needs the series is only a table entry (SKIP) when the headers lack it.
  const runs = (c: GuestCase) => uapi.hasCompare || !caseNeedsCompare(c);
  const running = suite.cases.filter(runs);
  const kinds = [...new Set(running.map((c) => c.kind))];
  const usedMaps = Object.keys(suite.maps).filter((m) => running.some((c) => mapsOfCase(suite, c).includes(m)));

  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...splitLines(more));
  push(
    `/* Generated by vm-test from ${suite.source}: ${suite.summary.replace(/\*\//g, '* /')}`,
    ` * UAPI: ${uapi.hasCompare ? 'BPF_F_COMPARE present' : 'no BPF_F_COMPARE (compare cases are compiled as SKIP)'}. Do not edit.`,
    ' * Settings and tables only: the C that runs them is in the vmt-*.c files beside this one (orchestrator/guest/c/). */',
    `#define VMT_HAVE_COMPARE ${uapi.hasCompare ? 1 : 0}`,
    '',
    '#include "vmt-runtime.h"',
    '#include "vmt-compare.h"',
    ...kinds.map((k) => `#include "${KIND_FILES[k].header}"`),
    '',
    '/* ---- parameters (override as name=value) ---- */',
    '',
    'static struct vmt_param vmt_params[] = {',
    ...params.map((p) => `\t{ ${cString(p.name)}, ${p.value}, ${p.min}, ${p.max}, ${cString(p.doc)} },`),
    ...(params.length === 0 ? ['\t{ NULL, 0, 0, 0, NULL },'] : []),
    '};',
    '',
  );
  if (usedMaps.length) push('/* ---- maps ---- */', '');
  for (const name of usedMaps) push(...mapDescriptor(suite, name, layouts), '');

  const regions: GeneratedProgram['regions'] = [];
  const entries: string[] = [];
  suite.cases.forEach((c, index) => {
    const needsCompare = caseNeedsCompare(c) ? 1 : 0;
    const watchdog = c.kind === 'steps' ? 'NULL' : paramRef(`${c.name}.maxSeconds`);
    if (!runs(c)) {
      entries.push(`\t{ ${cString(c.name)}, ${cString(c.claim)}, ${needsCompare}, NULL, NULL, ${cString(NO_COMPARE_REASON)}, NULL },`);
      return;
    }
    const table = `case_${index + 1}`;
    entries.push(`\t{ ${cString(c.name)}, ${cString(c.claim)}, ${needsCompare}, ${RUN_FUNCTION[c.kind]}, &${table}, NULL, ${watchdog} },`);
    const first = lines.length + 1;
    const ctx: ScenarioContext = { bound: (b) => paramRef(`${c.name}.${b}`), prefix: table, hasCompare: uapi.hasCompare };
    let tables: string[];
    if (c.kind === 'steps') {
      const stepsCtx: StepsContext = { suite, layouts, param: paramRef };
      tables = stepsCaseTables(stepsCtx, c, mapsOfCase(suite, c), table);
    } else if (c.kind === 'gc-race') tables = gcRaceTables(ctx, c, layouts.get(c.map)!);
    else if (c.kind === 'torn-read') tables = tornReadTables(ctx, c, layouts.get(c.map)!);
    else {
      const inner = suite.maps[c.outer]!.inner!;
      tables = innerMapTables(ctx, c, inner, layouts.get(inner)!);
    }
    push(`/* ---- case ${index + 1}: ${c.name} ---- */`, '', ...tables);
    regions.push({ name: `case ${c.name}`, first, last: lines.length });
    push('');
  });

  const code = ['vmt-runtime.c', ...(uapi.hasCompare ? ['vmt-compare.c'] : []), ...kinds.map((k) => KIND_FILES[k].code), 'vmt-main.c'];
  push(
    '/* ---- the suite: KTAP test N is vmt_cases[N - 1] ---- */',
    '',
    'static const struct vmt_case_desc vmt_cases[] = {',
    ...entries,
    '};',
    '',
    'const struct vmt_suite vmt_suite = {',
    `\t${cString(suite.name)}, ${cString(suite.summary)},`,
    `\tvmt_params, ${params.length}, vmt_cases, VMT_ARRAY_SIZE(vmt_cases),`,
    '};',
    '',
    '/* ---- the fixed C: one translation unit, so one gcc command builds the suite ---- */',
    '',
    ...code.map((f) => `#include "${f}"`),
    '',
  );
  const includes = ['vmt-runtime.h', 'vmt-compare.h', ...kinds.map((k) => KIND_FILES[k].header), ...code];
  return { suite: suite.name, text: lines.join('\n'), includes, regions };
}
