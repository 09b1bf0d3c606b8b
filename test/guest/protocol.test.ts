// rootfs/init against orchestrator/guest/protocol.ts: every line init writes on the results port (fd 3) and to
// /dev/kmsg, evaluated by a real shell with sample values, is one of the protocol's forms and reads back byte for
// byte; the names and paths init uses are the protocol's; init's readers split plan.tsv and mounts.tsv as the
// protocol writes them. A change to either side alone fails here.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_SHARE, CONSOLE_MARKER_TYPES, CWD_TAG, INIT_PATH, INITRAMFS_RUN_DIR, MOUNTS_FILE, PLAN_FILE, RESULTS_FALLBACK_FILE, RESULTS_FD,
  RESULTS_MARKER_TYPES, RESULTS_PORT, RUN_SHARE, STDERR_FD, STDERR_PORT, STDERR_TO_PORT, consoleLine, isResultsStream,
  mountRow, mountsTsv, parseAnyMarker, parseConsoleLine, parseMountsTsv, parsePlanTsv, parseResultsLine, planRow, planTsv,
  resultsLine, runGuestPath, type ConsoleMarker, type ResultsMarker,
} from '../../orchestrator/guest/protocol.ts';
import { initramfsPlan } from '../../orchestrator/vm/initramfs.ts';

const INIT = readFileSync(new URL('../../rootfs/init', import.meta.url), 'utf8');
/** init's lines without its comments (a whole-line comment; init puts none after code). */
const CODE = INIT.split('\n').filter((l) => !/^\s*#/.test(l));
// init runs under busybox's ash; the host's sh stands in where busybox is missing.
const SHELL = existsSync('/bin/busybox') ? ['/bin/busybox', 'sh'] : ['sh'];

/** What init assigns at its top level: NAME=value. */
const ASSIGNED = new Map(CODE.flatMap((l) => {
  const m = /^([A-Z_]+)=(\S+)$/.exec(l);
  return m ? [[m[1]!, m[2]!] as const] : [];
}));

/** The protocol's names and paths, by the variable init holds each in. */
const INIT_NAMES: Record<string, string> = {
  RUN: RUN_SHARE.guestPath,
  RUN_TAG: RUN_SHARE.tag,
  INITRAMFS_RUN: INITRAMFS_RUN_DIR,
  PLAN: PLAN_FILE,
  MOUNTS: MOUNTS_FILE,
  FALLBACK: RESULTS_FALLBACK_FILE,
  PORT_NAME: RESULTS_PORT,
  ERR_PORT_NAME: STDERR_PORT,
  PATH: INIT_PATH,
};

function sh(script: string): string {
  return execFileSync(SHELL[0]!, [...SHELL.slice(1), '-c', script], { encoding: 'utf8' });
}
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Values a variable in a marker template takes: init's own assignments where it makes them, else samples. */
function samplesOf(variable: string): string[] {
  if (ASSIGNED.has(variable)) return [ASSIGNED.get(variable)!];
  // The constant values init gives it (late= and late=" timed-out"), not what a command substitution makes.
  const own = [...CODE.join('\n').matchAll(new RegExp(`(?:^|[\\s;])${variable}=("[^"$]*"|[^\\s$]*)(?=\\s|$)`, 'gm'))].map((m) => sh(`printf %s ${m[1]}`));
  if (own.length) return [...new Set(own)];
  const samples: Record<string, string[]> = {
    name: ['test_progs', 'compare-contract', 'a name with spaces', 'tricky exit=1'],
    rc: ['0', '1', '143'],
    release: ['7.2.6', '6.12.117-g20831f5d55b4'],
    // /sys/kernel/notes in hex, or nothing when it could not be read.
    notes: ['040000001400000003000000474e5500c0ffee', ''],
    tag: [BUILD_SHARE.tag, CWD_TAG],
    path: [BUILD_SHARE.guestPath, '/home/me/src'],
  };
  if (!samples[variable]) throw new Error(`init writes $${variable} in a marker: give it sample values in this test`);
  return samples[variable]!;
}

/** Every assignment of the variables a template uses, and what the shell makes of the template under each. */
function evaluate(template: string, args?: string): { vars: Record<string, string>; line: string }[] {
  const used = [...new Set([...`${template} ${args ?? ''}`.matchAll(/\$\{?([A-Za-z_]\w*)/g)].map((m) => m[1]!))];
  let combos: Record<string, string>[] = [{}];
  for (const v of used) combos = combos.flatMap((c) => samplesOf(v).map((value) => ({ ...c, [v]: value })));
  return combos.map((vars) => {
    const assign = Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`).join('\n');
    return { vars, line: sh(`${assign}\n${args === undefined ? '' : `set -- ${args}\n`}echo ${template}`).replace(/\n$/, '') };
  });
}

const FD = RESULTS_FD;
/** init's writes to the results port: `echo "..." >&3`. */
const RESULTS_ECHO = new RegExp(`^\\s*echo ("(?:[^"\\\\]|\\\\.)*") >&${FD}\\s*$`);
/** Lines that use fd 3 for something else: the test's own output, and the stderr fallback. */
const RESULTS_OTHER = [new RegExp(`/bin/sh -c "\\$cmd" >&${FD} 2>&1 </dev/null$`), new RegExp(`^\\s*exec ${STDERR_FD}>&${FD}$`)];
const KMSG_DEF = /^kmsg\(\) \{ echo ("(?:[^"\\]|\\.)*") > \/dev\/kmsg 2>\/dev\/null \|\| true; \}$/;
const KMSG_CALL = /^\s*kmsg ("(?:[^"\\]|\\.)*")\s*$/;

test('init writes to the results port only the protocol\'s markers, each as resultsLine writes it, and every one of them', (t) => {
  const writes = CODE.filter((l) => l.includes(`>&${FD}`));
  const unknown = writes.filter((l) => !RESULTS_ECHO.test(l) && !RESULTS_OTHER.some((r) => r.test(l)));
  t.deepEqual(unknown, [], 'a write to the results port this test cannot read');
  const seen = new Set<string>();
  for (const l of writes) {
    const template = RESULTS_ECHO.exec(l)?.[1];
    if (!template) continue;
    for (const { vars, line } of evaluate(template)) {
      const marker = parseResultsLine(line);
      if (!marker) {
        t.fail(`init writes ${JSON.stringify(line)} (from ${l.trim()}), which is no results marker`);
        continue;
      }
      seen.add(marker.type);
      t.is(resultsLine(marker), line, 'reads back byte for byte');
      // The fields carry what init put in.
      if (vars.name !== undefined) t.is((marker as { name: string }).name, vars.name);
      if (vars.rc !== undefined) t.is((marker as { exitCode: number }).exitCode, Number(vars.rc));
      if (vars.late !== undefined) t.is((marker as { timedOut?: boolean }).timedOut ?? false, vars.late !== '');
      if (vars.release !== undefined) t.is((marker as { kernel?: string }).kernel, vars.release);
      if (vars.notes !== undefined) t.is((marker as { notes?: string }).notes, vars.notes || 'none');
    }
  }
  t.deepEqual([...seen].sort(), [...RESULTS_MARKER_TYPES].sort());
});

/** The other writer of /dev/kmsg: a kernel report's line copied as it is (kmemleak's, after each test). */
const COPY_DEF = /^copy_to_console\(\) \{ echo "\$1" > \/dev\/kmsg 2>\/dev\/null \|\| true; \}$/;

test('init writes to /dev/kmsg only through kmsg(), and only the protocol\'s console forms, each as consoleLine writes it', (t) => {
  t.deepEqual(CODE.filter((l) => l.includes('/dev/kmsg') && !KMSG_DEF.test(l) && !COPY_DEF.test(l)), [], '/dev/kmsg written outside kmsg() and copy_to_console()');
  // The copies are kmemleak's report and its title, from scan_leaks only: never a marker of the protocol.
  const body = INIT.slice(INIT.indexOf('scan_leaks() {'), INIT.indexOf('\n}\n', INIT.indexOf('scan_leaks() {')));
  t.deepEqual(CODE.filter((l) => /\bcopy_to_console\b/.test(l) && !COPY_DEF.test(l)).filter((l) => !body.includes(l)), [], 'copy_to_console outside scan_leaks');
  const prefix = KMSG_DEF.exec(CODE.find((l) => KMSG_DEF.test(l)) ?? '')?.[1];
  if (!prefix) return t.fail('no kmsg() in init');
  const calls = CODE.filter((l) => /\bkmsg\b/.test(l) && !KMSG_DEF.test(l) && !COPY_DEF.test(l));
  t.deepEqual(calls.filter((l) => !KMSG_CALL.test(l)), [], 'a kmsg call this test cannot read');
  const seen = new Set<string>();
  for (const l of calls) {
    const args = KMSG_CALL.exec(l)?.[1];
    if (!args) continue;
    for (const { vars, line } of evaluate(prefix, args)) {
      const marker = parseConsoleLine(line);
      if (!marker) {
        t.fail(`init writes ${JSON.stringify(line)} (from ${l.trim()}) to the console, which is no console marker`);
        continue;
      }
      seen.add(marker.type);
      t.is(consoleLine(marker), line, 'reads back byte for byte');
      if (vars.name !== undefined) t.is((marker as { name: string }).name, vars.name);
      if (vars.rc !== undefined) t.is((marker as { exitCode: number }).exitCode, Number(vars.rc));
    }
  }
  t.deepEqual([...seen].sort(), [...CONSOLE_MARKER_TYPES].sort());
});

test('every line of init that spells "vm-test:" is one of the writes checked above', (t) => {
  t.deepEqual(CODE.filter((l) => l.includes('vm-test:') && !RESULTS_ECHO.test(l) && !KMSG_DEF.test(l)), []);
});

test('init holds the protocol\'s port names, tags, paths and file names, each spelled once, and uses them where they belong', (t) => {
  for (const [variable, value] of Object.entries(INIT_NAMES)) {
    t.is(ASSIGNED.get(variable), value, `${variable} in rootfs/init`);
    const spelled = new RegExp(`(?<![\\w./-])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`);
    t.is(CODE.filter((l) => spelled.test(l)).length, 1, `${value} is spelled in init only where ${variable} is assigned`);
  }
  const code = CODE.join('\n');
  for (const use of [
    // The run directory on its tag; an initramfs carries the plan at its own path instead.
    /\$BB mount -t 9p -o \S+ "\$RUN_TAG" "\$RUN"/,
    /if \[ -f "\$INITRAMFS_RUN\/\$PLAN" \]; then\n\s*RUN=\$INITRAMFS_RUN\n/,
    // Each port by its name, on its fd; without the results port, the fallback file; without the stderr port, stdout.
    /"\$PORT_NAME"\) PORT=\/dev\/\$\{dir##\*\/\} ;;/,
    /"\$ERR_PORT_NAME"\) ERRPORT=\/dev\/\$\{dir##\*\/\} ;;/,
    new RegExp(`exec ${RESULTS_FD}>"\\$PORT"`),
    new RegExp(`exec ${RESULTS_FD}>>"\\$RUN/\\$FALLBACK"`),
    new RegExp(`exec ${STDERR_FD}>"\\$ERRPORT"`),
    // The plan and the mounts from the run directory.
    /done < "\$RUN\/\$PLAN"/,
    /done < "\$RUN\/\$MOUNTS"/,
  ]) t.regex(code, use);
  t.is(STDERR_TO_PORT, `2>&${STDERR_FD}`);
  t.is(runGuestPath('test_progs.json'), `${ASSIGNED.get('RUN')}/test_progs.json`);
  t.is(initramfsPlan('').kind === 'file' && initramfsPlan('').path, `${ASSIGNED.get('INITRAMFS_RUN')}/${ASSIGNED.get('PLAN')}`);
});

/**
 * init's read loop for `file` (its while line and the skip after it), run by the shell over `text`: the values of
 * the variables init's loop body uses for each field, in the protocol's order of fields.
 */
function readAsInit(file: string, fields: readonly string[], text: string): string[][] {
  const at = CODE.findIndex((l) => l.includes(`done < "$RUN/$${file}"`));
  if (at < 0) throw new Error(`init no longer reads "$RUN/$${file}" in a loop`);
  let start = at;
  while (start >= 0 && !/^\s*while IFS="\$TAB" read -r [\w ]+; do$/.test(CODE[start]!)) start--;
  const skip = CODE[start + 1]!.trim();
  if (!/^\[ -n "\$\w+" \] \|\| continue$/.test(skip)) throw new Error(`init's ${file} loop no longer starts with a skip: ${skip}`);
  const dir = mkdtempSync(join(tmpdir(), 'vm-test-protocol-'));
  try {
    writeFileSync(join(dir, 'in.tsv'), text);
    const out = sh(`TAB=$(printf '\\t')\n${CODE[start]}\n${skip}\nprintf '%s\\036' ${fields.map((v) => `"$${v}"`).join(' ')}; printf '\\n'\ndone < ${quote(join(dir, 'in.tsv'))}`);
    return out.split('\n').filter(Boolean).map((row) => row.split('\x1e').slice(0, -1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The variables init's loops keep each field in, in the order the protocol writes the fields. */
const PLAN_FIELDS = ['name', 'limit', 'cmd'];
const MOUNT_FIELDS = ['tag', 'path', 'mode'];

test('init reads plan.tsv as planTsv writes it: name, limit, and the whole command, tabs and backslashes kept', (t) => {
  const rows = [
    { name: 'test_progs', timeoutSec: 300, command: '/run/vm-test-build/t/test_progs -t map_cmp_delete -J /run/vm-test/test_progs.json' },
    { name: 'a name with spaces', timeoutSec: 1.2, command: `printf 'a\\tb\\\\n'\t|\tcat ${STDERR_TO_PORT}` },
  ];
  const text = planTsv(rows);
  // The loop body runs each command under its limit between markers that carry its name.
  t.regex(CODE.join('\n'), /\ttimeout -k 5 "\$limit" \/bin\/sh -c "\$cmd" /);
  t.deepEqual(readAsInit('PLAN', PLAN_FIELDS, text), [['test_progs', '300', rows[0]!.command], ['a name with spaces', '2', rows[1]!.command]]);
  t.deepEqual(parsePlanTsv(text), [rows[0]!, { ...rows[1]!, timeoutSec: 2 }]);
  // As init skips them: blank lines and a line without a name.
  t.deepEqual(readAsInit('PLAN', PLAN_FIELDS, `\n${text}\n\n`).length, 2);
  t.deepEqual(parsePlanTsv(`\n${text}\n\n`).length, 2);
});

test('init reads mounts.tsv as mountsTsv writes it', (t) => {
  const mounts = [{ ...BUILD_SHARE, readonly: true }, { tag: CWD_TAG, guestPath: '/home/me/my src', readonly: false }];
  const text = mountsTsv(mounts);
  t.regex(CODE.join('\n'), /\$BB mount -t 9p -o \S+ "\$tag" "\$path"/);
  t.deepEqual(readAsInit('MOUNTS', MOUNT_FIELDS, text), [[BUILD_SHARE.tag, BUILD_SHARE.guestPath, 'ro'], [CWD_TAG, '/home/me/my src', 'rw']]);
  t.deepEqual(parseMountsTsv(text), mounts);
  // init mounts read-write only what says so.
  t.regex(CODE.join('\n'), new RegExp(`\\[ "\\$mode" = ${mountRow(mounts[1]!).split('\t')[2]} \\] && opts=cache=none,rw`));
  t.is(mountsTsv([]), '');
});

test('rows init could not read are refused when written', (t) => {
  t.throws(() => planRow({ name: 'a\tb', timeoutSec: 1, command: 'x' }), { message: /tab or newline/ });
  t.throws(() => planRow({ name: '', timeoutSec: 1, command: 'x' }));
  t.throws(() => planRow({ name: 'x', timeoutSec: 1, command: "sh -c 'a\nb'" }), { message: /cannot hold a newline/ });
  t.throws(() => mountRow({ tag: 'x'.repeat(32), guestPath: '/a', readonly: true }), { message: /31/ });
  t.throws(() => mountRow({ tag: 'a b', guestPath: '/a', readonly: true }));
  t.throws(() => mountRow({ tag: 'a', guestPath: 'relative', readonly: true }), { message: /absolute/ });
  t.throws(() => resultsLine({ type: 'begin', name: 'a\nb' }));
});

test('the console parser takes a marker from either channel, with a console\'s whitespace; a results log is detected by its markers', (t) => {
  const markers: [string, ResultsMarker | ConsoleMarker | undefined][] = [
    ['vm-test: begin gc-race', { type: 'begin', name: 'gc-race' }],
    ['  # vm-test: end slow exit=143 timed-out  ', { type: 'end', name: 'slow', exitCode: 143, timedOut: true }],
    ['vm-test: end slow exit=0 timed-out', undefined],
    ['# vm-test: init started kernel=7.2.6 notes=none', { type: 'init-started', kernel: '7.2.6', notes: 'none' }],
    ['vm-test: init started', { type: 'init-started' }],
    ['vm-test: beginx', undefined],
    ['# vm-test: if-defined CONFIG_X', undefined],
  ];
  for (const [line, marker] of markers) t.deepEqual(parseAnyMarker(line), marker, line);
  t.true(isResultsStream('noise\n# vm-test: init started kernel=7.2.6 notes=none\r\n'));
  t.true(isResultsStream('# vm-test: begin test_progs\n'));
  t.false(isResultsStream('[    3.1] vm-test: begin test_progs\n# vm-test: done\n'));
});
