// Which test was running when a splat was printed, from the init's "vm-test: begin/end" lines in the console (its kmsg
// copies of the markers; a results log read as a console carries them with a "# " prefix: parseAnyMarker takes both).
import { parseAnyMarker } from '../guest/protocol.ts';
import { messageLines, splitLines, stripPrintkPrefix } from './printk-prefix.ts';
import type { Splat } from './tree.ts';

/** One console line's effect on the tests begun and not yet ended (innermost last). */
function followMarkers(marker: ReturnType<typeof parseAnyMarker>, running: string[]): void {
  if (marker?.type === 'begin') running.push(marker.name);
  if (marker?.type === 'end') {
    const at = running.lastIndexOf(marker.name);
    if (at >= 0) running.splice(at, 1);
  }
}

/**
 * What the console says of the plan when it stops: whether init reported in (or why it gave up), and the innermost
 * test begun and not ended. The VM stage asks when the results channel ends early: after a panic the console has all of init's
 * kmsg markers, and the channel may not.
 */
export function consolePlanState(consoleLog: string): { initStarted: boolean; running?: string; initFailed?: string } {
  const running: string[] = [];
  let initStarted = false;
  let initFailed: string | undefined;
  for (const line of messageLines(consoleLog)) {
    const marker = parseAnyMarker(line);
    if (marker?.type === 'init-started') initStarted = true;
    if (marker?.type === 'init-failed') initFailed ??= marker.reason;
    followMarkers(marker, running);
  }
  const last = running[running.length - 1];
  return { initStarted, ...(last === undefined ? {} : { running: last }), ...(initFailed === undefined ? {} : { initFailed }) };
}

/** The kernel's name for a task running a program: its file name, cut to TASK_COMM_LEN - 1 bytes. */
const COMM_LEN = 15;
const commOf = (test: string) => test.slice(0, COMM_LEN);

/**
 * The test a kmemleak report belongs to: the one whose process allocated the object (the report's `comm "name"`),
 * when a test begun so far has that name. kmemleak may report a leak a test or two late (a stale pointer to it
 * lingered); its comm says whose it is. Any other report, or a comm no test has (a kworker), has none.
 */
function allocatingTest(splat: Splat, begun: readonly string[]): string | undefined {
  if (!/^BUG: memory leak\b/.test(splat.title)) return undefined;
  const comm = splat.lines.map((l) => /^\s*comm "([^"]*)", pid \d+/.exec(l)?.[1]).find((c) => c !== undefined);
  if (comm === undefined) return undefined;
  return [...begun].reverse().find((test) => commOf(test) === comm);
}

/**
 * Copies of the splats with `test` set to the innermost test begun and not yet ended before each splat's first line;
 * a kmemleak report's, to the test that allocated what leaked (allocatingTest).
 */
export function attributeSplats(splats: readonly Splat[], consoleLog: string): Splat[] {
  const lines = messageLines(consoleLog);
  const order = splats.map((splat, index) => ({ splat, index })).sort((a, b) => a.splat.startLine - b.splat.startLine);
  const result: Splat[] = new Array(splats.length);
  const running: string[] = [];
  const begun: string[] = [];
  let next = 0;
  for (const { splat, index } of order) {
    for (; next < Math.min(splat.startLine - 1, lines.length); next++) {
      const marker = parseAnyMarker(lines[next]!);
      if (marker?.type === 'begin') begun.push(marker.name);
      followMarkers(marker, running);
    }
    const copy: Splat = { ...splat };
    const test = allocatingTest(splat, begun) ?? running[running.length - 1];
    if (test === undefined) delete copy.test;
    else copy.test = test;
    result[index] = copy;
  }
  return result;
}

/**
 * How long each test ran, from the kernel's timestamps on the init's begin and end markers in the console (the
 * guest's clock: under TCG it is the emulated time the guest saw). A test without both markers has none.
 */
export function testDurations(consoleLog: string): Map<string, number> {
  const begun = new Map<string, number>();
  const out = new Map<string, number>();
  for (const line of splitLines(consoleLog)) {
    const at = /^(?:<\d{1,3}>)?\[\s*(\d+\.\d+)\]/.exec(line);
    if (!at) continue;
    const marker = parseAnyMarker(stripPrintkPrefix(line));
    const seconds = Number(at[1]);
    if (marker?.type === 'begin') begun.set(marker.name, seconds);
    if (marker?.type === 'end' && begun.has(marker.name)) out.set(marker.name, Math.round((seconds - begun.get(marker.name)!) * 1000));
  }
  return out;
}
