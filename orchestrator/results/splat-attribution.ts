// Which test was running when a splat was printed, from the init's "vm-test: begin/end" lines in the console.
import { messageLines } from './printk-prefix.ts';
import type { Splat } from './tree.ts';

// The init writes these to /dev/kmsg; on the results channel they carry a "# " prefix.
const BEGIN = /^\s*(?:# )?vm-test: begin (.+?)\s*$/;
const END = /^\s*(?:# )?vm-test: end (.+?) exit=-?\d+\s*$/;
const INIT = /^\s*(?:# )?vm-test: init started\b/;

/** One console line's effect on the tests begun and not yet ended (innermost last). */
function followMarkers(line: string, running: string[]): void {
  const begin = BEGIN.exec(line);
  if (begin) running.push(begin[1]!);
  const end = END.exec(line);
  if (end) {
    const at = running.lastIndexOf(end[1]!);
    if (at >= 0) running.splice(at, 1);
  }
}

/**
 * What the console says of the plan when it stops: whether init reported in, and the innermost test begun and
 * not ended. The VM stage asks when the results channel ends early: after a panic the console has all of init's
 * kmsg markers, and the channel may not.
 */
export function consolePlanState(consoleLog: string): { initStarted: boolean; running?: string } {
  const running: string[] = [];
  let initStarted = false;
  for (const line of messageLines(consoleLog)) {
    if (INIT.test(line)) initStarted = true;
    followMarkers(line, running);
  }
  const last = running[running.length - 1];
  return last === undefined ? { initStarted } : { initStarted, running: last };
}

/** Copies of the splats with `test` set to the innermost test begun and not yet ended before each splat's first line. */
export function attributeSplats(splats: readonly Splat[], consoleLog: string): Splat[] {
  const lines = messageLines(consoleLog);
  const order = splats.map((splat, index) => ({ splat, index })).sort((a, b) => a.splat.startLine - b.splat.startLine);
  const result: Splat[] = new Array(splats.length);
  const running: string[] = [];
  let next = 0;
  for (const { splat, index } of order) {
    for (; next < Math.min(splat.startLine - 1, lines.length); next++) followMarkers(lines[next]!, running);
    const copy: Splat = { ...splat };
    const test = running[running.length - 1];
    if (test === undefined) delete copy.test;
    else copy.test = test;
    result[index] = copy;
  }
  return result;
}
