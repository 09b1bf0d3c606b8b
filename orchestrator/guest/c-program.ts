// One suite to one C program: the runtime, the maps, one function per case, and a main that prints KTAP.
import { btfFor } from './c-btf.ts';
import { gcRaceCase, GC_RACE_C, type ScenarioContext } from './c-gc-race.ts';
import { innerMapCase, INNER_MAP_C } from './c-inner-map.ts';
import { C_RUNTIME } from './c-runtime.ts';
import { stepsCaseBody, type StepsContext } from './c-steps.ts';
import { cIdent, cString, indent, splitLines } from './c-text.ts';
import { tornReadCase, TORN_READ_C } from './c-torn-read.ts';
import {
  BOUND_LIMITS, caseNeedsCompare, layoutOf, mapsOfCase, PERCPU_TYPES, validateSuite, type GuestCase, type GuestSuite, type ValueLayout,
} from './suite-model.ts';

export interface UapiFeatures {
  /** The installed linux/bpf.h has BPF_F_COMPARE (the series' UAPI). */
  hasCompare: boolean;
}

export interface GeneratedProgram {
  suite: string;
  text: string;
  /** What lines of the text are (1-based, inclusive), to say where a compiler error is: 'case <name>' or 'the BPF_F_COMPARE helpers'. */
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

const SERIES_C = String.raw`
/* ---- what the series adds (generated only when the headers have it) ---- */

static int vmt_delete_compare(int fd, const void *key, const void *expected, __u32 off, __u32 size)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.flags = BPF_F_COMPARE;
	attr.compare = vmt_ptr(expected);
	attr.compare_offset = off;
	attr.compare_size = size;
	return vmt_bpf(BPF_MAP_DELETE_ELEM, &attr);
}

/* 1: the kernel has BPF_F_COMPARE; 0: it does not (reason says so); -1: it answered something else. */
static int vmt_probe_compare(char *reason, size_t cap)
{
	static const struct vmt_map_desc d = { "vmt_probe", BPF_MAP_TYPE_HASH, 4, 8, 1, 0, 0, NULL };
	struct vmt_case probe = { "probe", NULL, 0 };
	__u64 expected = 0;
	__u32 key = 0;
	int fd = vmt_map_create(&probe, &d, -1), rc;

	if (fd < 0) {
		snprintf(reason, cap, "feature probe: BPF_MAP_CREATE failed: %s", vmt_errname(fd));
		return -1;
	}
	rc = vmt_delete_compare(fd, &key, &expected, 0, 0);
	close(fd);
	if (rc == -ENOENT)
		return 1;
	if (rc == -EINVAL) {
		snprintf(reason, cap, "the kernel lacks BPF_F_COMPARE (feature probe: a BPF_F_COMPARE delete of an absent key gave EINVAL, not ENOENT)");
		return 0;
	}
	snprintf(reason, cap, "feature probe: a BPF_F_COMPARE delete of an absent key gave %s; expected ENOENT (series present) or EINVAL (absent)", vmt_errname(rc));
	return -1;
}
`;

/** The parameter holding a case's time bound (its watchdog allows twice that plus a minute), or -1 for a fixed 120 s. */
function watchdogParam(c: GuestCase, params: ParamEntry[]): number {
  return c.kind === 'steps' ? -1 : params.findIndex((p) => p.name === `${c.name}.maxSeconds`);
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
  const paramExpr = (name: string): string => {
    const i = params.findIndex((p) => p.name === name);
    if (i < 0) throw new Error(`no parameter ${name}`);
    return `vmt_params[${i}].value`;
  };

  const head: string[] = [];
  head.push(`/* Generated by vm-test from ${suite.source}: ${suite.summary.replace(/\*\//g, '* /')}`);
  head.push(` * UAPI: ${uapi.hasCompare ? 'BPF_F_COMPARE present' : 'no BPF_F_COMPARE (compare cases are compiled as SKIP)'}. Do not edit. */`);
  head.push(C_RUNTIME);
  const seriesFirst = splitLines(head).length + 1;
  if (uapi.hasCompare) head.push(SERIES_C);
  const seriesLast = splitLines(head).length;
  const kinds = new Set(suite.cases.map((c) => c.kind));
  if (kinds.has('gc-race')) head.push(GC_RACE_C);
  if (kinds.has('torn-read')) head.push(TORN_READ_C);
  if (kinds.has('inner-map-replace')) head.push(INNER_MAP_C);

  head.push('', '/* ---- parameters (override as name=value) ---- */', '', 'static struct vmt_param vmt_params[] = {');
  for (const p of params) head.push(`\t{ ${cString(p.name)}, ${p.value}, ${p.min}, ${p.max}, ${cString(p.doc)} },`);
  if (params.length === 0) head.push('\t{ NULL, 0, 0, 0, NULL },');
  head.push('};', '');
  head.push('/* ---- maps ---- */', '');
  for (const name of Object.keys(suite.maps)) head.push(...mapDescriptor(suite, name, layouts), '');

  const lines: string[] = splitLines(head);
  const regions: GeneratedProgram['regions'] = uapi.hasCompare ? [{ name: 'the BPF_F_COMPARE helpers', first: seriesFirst, last: seriesLast }] : [];
  const entries: string[] = [];
  suite.cases.forEach((c, index) => {
    const fn = `case_${index + 1}_${cIdent(c.name)}`;
    const needsCompare = caseNeedsCompare(c);
    const staticSkip = needsCompare && !uapi.hasCompare;
    entries.push(`\t{ ${cString(c.name)}, ${cString(c.claim)}, ${needsCompare ? 1 : 0}, ${staticSkip ? 'NULL' : fn}, ${staticSkip ? cString(NO_COMPARE_REASON) : 'NULL'}, ${watchdogParam(c, params)} },`);
    if (staticSkip) return;
    const first = lines.length + 1;
    const ctx: ScenarioContext = { bound: (b) => paramExpr(`${c.name}.${b}`), prefix: fn, hasCompare: uapi.hasCompare };
    let decls: string[] = [];
    let body: string[];
    if (c.kind === 'steps') {
      const stepsCtx: StepsContext = { suite, layouts, param: paramExpr };
      body = stepsCaseBody(stepsCtx, c, mapsOfCase(suite, c));
    } else if (c.kind === 'gc-race') ({ decls, body } = gcRaceCase(ctx, c, layouts.get(c.map)!));
    else if (c.kind === 'torn-read') ({ decls, body } = tornReadCase(ctx, c, layouts.get(c.map)!));
    else {
      const inner = suite.maps[c.outer]!.inner!;
      ({ decls, body } = innerMapCase(ctx, c, inner, layouts.get(inner)!));
    }
    lines.push(...splitLines([`/* ---- case ${index + 1}: ${c.name} ---- */`, '', ...decls, ...(decls.length ? [''] : [])]));
    lines.push(`static enum vmt_status ${fn}(struct vmt_case *t)`, '{', ...indent(body), '}', '');
    regions.push({ name: `case ${c.name}`, first, last: lines.length });
  });

  lines.push(
    '/* ---- main: KTAP version 1 on stdout, exit 1 if any case failed ---- */',
    '',
    'static const struct {',
    '\tconst char *name;',
    '\tconst char *claim;',
    '\tint needs_compare;',
    '\tenum vmt_status (*run)(struct vmt_case *t);',
    '\tconst char *static_skip;',
    '\tint watchdog_param;',
    '} vmt_cases[] = {',
    ...entries,
    '};',
    '',
    'int main(int argc, char **argv)',
    '{',
    '\tchar compare_reason[256] = "";',
    '\tint have_compare = 0, failed = 0;',
    '',
    '\tsetvbuf(stdout, NULL, _IOLBF, 0);',
    `\tvmt_parse_params(vmt_params, ${params.length}, argc, argv);`,
    '\tprintf("KTAP version 1\\n1..%zu\\n", VMT_ARRAY_SIZE(vmt_cases));',
    `\tvmt_diag("%s: %s", ${cString(suite.name)}, ${cString(suite.summary)});`,
    ...(uapi.hasCompare && suite.cases.some(caseNeedsCompare)
      ? ['\thave_compare = vmt_probe_compare(compare_reason, sizeof(compare_reason));', '\tif (have_compare != 1)', '\t\tvmt_diag("%s", compare_reason);']
      : ['\t(void)have_compare;']),
    '\tfor (size_t i = 0; i < VMT_ARRAY_SIZE(vmt_cases); i++) {',
    '\t\tstruct vmt_case t = { vmt_cases[i].name, NULL, 0 };',
    '\t\tconst char *skip = vmt_cases[i].static_skip;',
    '\t\tenum vmt_status status;',
    '\t\tdouble t0 = vmt_now();',
    '',
    '\t\tvmt_diag("%s: %s", vmt_cases[i].name, vmt_cases[i].claim);',
    '\t\tif (!skip && vmt_cases[i].needs_compare && have_compare == 0)',
    '\t\t\tskip = compare_reason;',
    '\t\tif (skip) {',
    '\t\t\tstatus = VMT_SKIP;',
    '\t\t} else if (vmt_cases[i].needs_compare && have_compare < 0) {',
    '\t\t\tvmt_fail(&t, "%s", compare_reason);',
    '\t\t\tstatus = VMT_FAIL;',
    '\t\t} else {',
    '\t\t\tint w = vmt_cases[i].watchdog_param;',
    '',
    '\t\t\tvmt_watchdog(vmt_cases[i].name, w < 0 ? 120 : (unsigned)(vmt_params[w].value * 2 + 60));',
    '\t\t\tstatus = vmt_cases[i].run(&t);',
    '\t\t\talarm(0);',
    '\t\t\tvmt_diag("%s took %.2f s", vmt_cases[i].name, vmt_now() - t0);',
    '\t\t}',
    '\t\tif (skip)',
    '\t\t\tprintf("ok %zu %s # SKIP %s\\n", i + 1, vmt_cases[i].name, skip);',
    '\t\telse',
    '\t\t\tprintf("%s %zu %s\\n", status == VMT_PASS ? "ok" : "not ok", i + 1, vmt_cases[i].name);',
    '\t\tfflush(stdout);',
    '\t\tfailed |= status == VMT_FAIL;',
    '\t}',
    '\treturn failed ? 1 : 0;',
    '}',
    '',
  );
  return { suite: suite.name, text: lines.join('\n'), regions };
}
