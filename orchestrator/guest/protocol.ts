// The protocol between the host and rootfs/init, the guest's PID 1, in one place: the 9p tags and guest paths init
// mounts, the virtio-serial ports it writes to, the plan.tsv and mounts.tsv it reads, and the marker lines it writes
// on the results port and copies to the console through /dev/kmsg. test/guest/protocol.test.ts holds init to it.
import { VmTestError } from '../outcome.ts';

// --- names and paths ---------------------------------------------------------------------------------------

/** The virtio-serial port for the tests' output and init's markers; init opens it as RESULTS_FD. */
export const RESULTS_PORT = 'org.vm-test.results';
/** The port for a plan command's stderr (vm-test exec); init opens it as STDERR_FD, or points STDERR_FD at RESULTS_FD. */
export const STDERR_PORT = 'org.vm-test.stderr';
export const RESULTS_FD = 3;
export const STDERR_FD = 4;
/** What a plan command appends to send its stderr to the stderr port. */
export const STDERR_TO_PORT = `2>&${STDERR_FD}`;

/** 9p tags are at most 31 bytes (QEMU's limit for a virtio-9p mount_tag). */
export const MAX_TAG_BYTES = 31;
/** The run directory (plan in, results out): read-write, mounted first, under init's tmpfs on /run. */
export const RUN_SHARE = { tag: 'vmtest-run', guestPath: '/run/vm-test' } as const;
/** The kernel build directory (test binaries, guest suites, full selftests): read-only in the guest. */
export const BUILD_SHARE = { tag: 'vmtest-build', guestPath: '/run/vm-test-build' } as const;
/** vm-test exec's current directory, read-write at its own path. */
export const CWD_TAG = 'vmtest-cwd';
/** A kernel without 9p boots from an initramfs that carries the run directory's files here. */
export const INITRAMFS_RUN_DIR = '/vm-test';
/** In the run directory: the tests to run, the shares to mount, and where results go when the results port is missing. */
export const PLAN_FILE = 'plan.tsv';
export const MOUNTS_FILE = 'mounts.tsv';
export const RESULTS_FALLBACK_FILE = 'results-fallback.log';

/** init's PATH, which every plan command inherits (vm-test exec and shell put the run's bin/ before it). */
export const INIT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where the guest sees a file of the run directory. */
export function runGuestPath(file: string): string {
  return `${RUN_SHARE.guestPath}/${file}`;
}

// --- marker lines --------------------------------------------------------------------------------------------

/** On the results port (fd 3), each marker is a line of its own between the tests' output. */
export const RESULTS_PREFIX = '# vm-test: ';
/** In the kernel log (written to /dev/kmsg, so splats can be attributed to the test that was running). */
export const CONSOLE_PREFIX = 'vm-test: ';

export type ResultsMarker =
  /** kernel: the release; notes: /sys/kernel/notes in hex, 'none' when init could not read it. Both absent in old logs. */
  | { type: 'init-started'; kernel?: string; notes?: string }
  | { type: 'begin'; name: string }
  /** timedOut: init killed it at its time limit. */
  | { type: 'end'; name: string; exitCode: number; timedOut?: boolean }
  | { type: 'done' }
  | { type: 'init-failed'; reason: string };

export type ConsoleMarker =
  | { type: 'init-started' }
  | { type: 'begin'; name: string }
  | { type: 'end'; name: string; exitCode: number }
  | { type: 'done' }
  | { type: 'init-failed'; reason: string }
  /** The results port is missing: init writes the results stream to the run directory's RESULTS_FALLBACK_FILE. */
  | { type: 'no-results-port' };

/** Every form of each channel (the compiler checks the lists are whole). */
export const RESULTS_MARKER_TYPES = Object.keys({
  'init-started': true, begin: true, end: true, done: true, 'init-failed': true,
} satisfies Record<ResultsMarker['type'], true>) as ResultsMarker['type'][];
export const CONSOLE_MARKER_TYPES = Object.keys({
  'init-started': true, begin: true, end: true, done: true, 'init-failed': true, 'no-results-port': true,
} satisfies Record<ConsoleMarker['type'], true>) as ConsoleMarker['type'][];

const NO_RESULTS_PORT = `init: no virtio-serial port named ${RESULTS_PORT}; writing results to the run directory`;

function checkName(name: string): void {
  if (name === '' || /[\t\n]/.test(name)) throw new Error(`guest test name is empty or has a tab or newline: ${JSON.stringify(name)}`);
}

/** One line of the results stream, without its newline. */
export function resultsLine(marker: ResultsMarker): string {
  switch (marker.type) {
    case 'init-started':
      return `${RESULTS_PREFIX}init started${marker.kernel === undefined ? '' : ` kernel=${marker.kernel}`}${marker.notes === undefined ? '' : ` notes=${marker.notes}`}`;
    case 'begin':
      checkName(marker.name);
      return `${RESULTS_PREFIX}begin ${marker.name}`;
    case 'end':
      checkName(marker.name);
      return `${RESULTS_PREFIX}end ${marker.name} exit=${marker.exitCode}${marker.timedOut ? ' timed-out' : ''}`;
    case 'done':
      return `${RESULTS_PREFIX}done`;
    case 'init-failed':
      return `${RESULTS_PREFIX}init failed: ${marker.reason}`;
  }
}

/** The message init writes to /dev/kmsg, as it reads on the console once the printk prefix is stripped. */
export function consoleLine(marker: ConsoleMarker): string {
  switch (marker.type) {
    case 'init-started':
      return `${CONSOLE_PREFIX}init started`;
    case 'begin':
      checkName(marker.name);
      return `${CONSOLE_PREFIX}begin ${marker.name}`;
    case 'end':
      checkName(marker.name);
      return `${CONSOLE_PREFIX}end ${marker.name} exit=${marker.exitCode}`;
    case 'done':
      return `${CONSOLE_PREFIX}done`;
    case 'init-failed':
      return `${CONSOLE_PREFIX}init failed: ${marker.reason}`;
    case 'no-results-port':
      return `${CONSOLE_PREFIX}${NO_RESULTS_PORT}`;
  }
}

// The grammar after the prefix; names are everything up to the end of the line (begin) or the last " exit=" (end).
const INIT_STARTED = /^init started(?: kernel=(\S+))?(?: notes=(\S+))?$/;
const BEGIN = /^begin (.+)$/;
const END = /^end (.+) exit=(\d+)( timed-out)?$/;
const INIT_FAILED = /^init failed: (.+)$/;

/** The marker a results-stream line is, exactly as resultsLine writes it; undefined for test output. */
export function parseResultsLine(line: string): ResultsMarker | undefined {
  if (!line.startsWith(RESULTS_PREFIX)) return undefined;
  const rest = line.slice(RESULTS_PREFIX.length);
  let m: RegExpExecArray | null;
  if ((m = INIT_STARTED.exec(rest))) return { type: 'init-started', ...(m[1] !== undefined ? { kernel: m[1] } : {}), ...(m[2] !== undefined ? { notes: m[2] } : {}) };
  if ((m = BEGIN.exec(rest))) return { type: 'begin', name: m[1]! };
  if ((m = END.exec(rest))) return { type: 'end', name: m[1]!, exitCode: Number(m[2]), ...(m[3] ? { timedOut: true } : {}) };
  if (rest === 'done') return { type: 'done' };
  if ((m = INIT_FAILED.exec(rest))) return { type: 'init-failed', reason: m[1]! };
  return undefined;
}

/** The marker a console message (printk prefix stripped) is, exactly as consoleLine writes it; undefined otherwise. */
export function parseConsoleLine(message: string): ConsoleMarker | undefined {
  if (!message.startsWith(CONSOLE_PREFIX)) return undefined;
  const rest = message.slice(CONSOLE_PREFIX.length);
  let m: RegExpExecArray | null;
  if (rest === 'init started') return { type: 'init-started' };
  if ((m = BEGIN.exec(rest))) return { type: 'begin', name: m[1]! };
  if ((m = END.exec(rest)) && !m[3]) return { type: 'end', name: m[1]!, exitCode: Number(m[2]) };
  if (rest === 'done') return { type: 'done' };
  if ((m = INIT_FAILED.exec(rest))) return { type: 'init-failed', reason: m[1]! };
  if (rest === NO_RESULTS_PORT) return { type: 'no-results-port' };
  return undefined;
}

/**
 * A marker in a log that may be either channel (a console, or a results log read as one by `vm-test parse`),
 * with the whitespace a console or an editor may add around it.
 */
export function parseAnyMarker(line: string): ResultsMarker | ConsoleMarker | undefined {
  const text = line.trim();
  return text.startsWith(RESULTS_PREFIX) ? parseResultsLine(text) : parseConsoleLine(text);
}

/** A line init wrote to either channel, marker or not: no kernel report goes on past it. */
export function hasMarkerPrefix(line: string): boolean {
  const text = line.trimStart();
  return text.startsWith(RESULTS_PREFIX) || text.startsWith(CONSOLE_PREFIX);
}

/** A log that holds a results stream: init reported in, or began a test. */
export function isResultsStream(text: string): boolean {
  return text.split('\n').some((raw) => {
    const type = parseResultsLine(raw.replace(/\r$/, ''))?.type;
    return type === 'init-started' || type === 'begin';
  });
}

// --- plan.tsv and mounts.tsv ---------------------------------------------------------------------------------
// init reads both with `IFS=<TAB> read -r`: tabs separate the fields and runs of them collapse, the last field takes
// the rest of the line, and a line with an empty first field is skipped. So no field may be empty or hold a newline,
// and only the last may hold a tab.

/** One test: init runs `timeout -k 5 <timeoutSec> /bin/sh -c <command>` between its begin and end markers. */
export interface PlanRow {
  name: string;
  /** Whole seconds; a fraction is rounded up. */
  timeoutSec: number;
  command: string;
}

export function planRow(row: PlanRow): string {
  checkName(row.name);
  const limit = Math.ceil(row.timeoutSec);
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`guest test ${row.name}: bad time limit ${row.timeoutSec}`);
  // init would read the rest of the command as another test.
  if (/[\n\r]/.test(row.command)) throw new VmTestError('usage', `guest test ${row.name}: its command line cannot hold a newline: ${JSON.stringify(row.command)}`);
  return `${row.name}\t${limit}\t${row.command}`;
}

export function planTsv(rows: readonly PlanRow[]): string {
  return rows.map(planRow).join('\n') + '\n';
}

/** The rows as init reads them. */
export function parsePlanTsv(text: string): PlanRow[] {
  return readTsv(text, 3).map(([name, limit, command]) => ({ name: name!, timeoutSec: Number(limit), command: command ?? '' }));
}

/** A share init mounts after its tmpfs mounts: 9p on `tag` at `guestPath`, read-only (cached) or read-write (not). */
export interface GuestMount {
  tag: string;
  /** Under init's tmpfs on /run, or a path the root has: the read-only root needs no mount point for it. */
  guestPath: string;
  readonly: boolean;
}

export function mountRow(mount: GuestMount): string {
  if (!/^[\x21-\x7e]+$/.test(mount.tag) || Buffer.byteLength(mount.tag) > MAX_TAG_BYTES) {
    throw new Error(`bad 9p tag ${JSON.stringify(mount.tag)}: 1 to ${MAX_TAG_BYTES} printable bytes, no spaces`);
  }
  if (!mount.guestPath.startsWith('/') || /[\t\n\r]/.test(mount.guestPath)) {
    throw new VmTestError('usage', `the guest cannot mount a share at ${JSON.stringify(mount.guestPath)}: the path must be absolute and hold no tab or newline`);
  }
  return `${mount.tag}\t${mount.guestPath}\t${mount.readonly ? 'ro' : 'rw'}`;
}

export function mountsTsv(mounts: readonly GuestMount[]): string {
  return mounts.map((m) => mountRow(m) + '\n').join('');
}

/** The rows as init reads them: any mode but "rw" mounts read-only. */
export function parseMountsTsv(text: string): GuestMount[] {
  return readTsv(text, 3).map(([tag, guestPath, mode]) => ({ tag: tag!, guestPath: guestPath ?? '', readonly: mode !== 'rw' }));
}

/** `IFS=<TAB> read -r f1 ... fn` per line, skipping lines whose first field is empty. */
function readTsv(text: string, fields: number): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    let rest = line.replace(/^\t+|\t+$/g, '');
    const row: string[] = [];
    while (row.length < fields - 1 && rest !== '') {
      const tab = rest.indexOf('\t');
      row.push(tab < 0 ? rest : rest.slice(0, tab));
      rest = tab < 0 ? '' : rest.slice(tab).replace(/^\t+/, '');
    }
    if (rest !== '') row.push(rest);
    if (row[0]) rows.push(row);
  }
  return rows;
}
