// Split the results stream into one section per test the init ran, using its begin/end markers (guest/protocol.ts).
import { parseResultsLine } from '../guest/protocol.ts';

export interface Section {
  name: string;
  lines: string[];
  /** undefined when the end marker never arrived (guest died or was stopped). */
  exitCode: number | undefined;
  /** The init killed it at its time limit. */
  timedOut?: boolean;
}

export interface ResultsStream {
  initStarted: boolean;
  done: boolean;
  kernelRelease?: string;
  /** The running kernel's /sys/kernel/notes in hex, as init read it ('none' when it could not). */
  kernelNotes?: string;
  /** Why init gave up before running the plan (a share it could not mount). */
  initFailed?: string;
  sections: Section[];
  /** Lines outside any section that are not markers. */
  stray: string[];
}

export function splitResults(text: string): ResultsStream {
  const stream: ResultsStream = { initStarted: false, done: false, sections: [], stray: [] };
  let current: Section | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const marker = parseResultsLine(line);
    switch (marker?.type) {
      case 'init-started':
        stream.initStarted = true;
        stream.kernelRelease = marker.kernel;
        if (marker.notes) stream.kernelNotes = marker.notes;
        continue;
      case 'begin':
        current = { name: marker.name, lines: [], exitCode: undefined };
        stream.sections.push(current);
        continue;
      case 'end':
        // An end marker of another test is output of this one.
        if (!current || marker.name !== current.name) break;
        current.exitCode = marker.exitCode;
        if (marker.timedOut) current.timedOut = true;
        current = undefined;
        continue;
      case 'done':
        stream.done = true;
        continue;
      case 'init-failed':
        stream.initFailed = marker.reason;
        continue;
    }
    if (current) current.lines.push(line);
    else if (line !== '') stream.stray.push(line);
  }
  return stream;
}
