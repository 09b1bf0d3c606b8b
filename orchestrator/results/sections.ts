// Split the results stream into one section per test the init ran, using its begin/end markers.

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
  sections: Section[];
  /** Lines outside any section that are not markers. */
  stray: string[];
}

export function splitResults(text: string): ResultsStream {
  const stream: ResultsStream = { initStarted: false, done: false, sections: [], stray: [] };
  let current: Section | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const init = /^# vm-test: init started(?: kernel=(\S+))?(?: notes=(\S+))?/.exec(line);
    if (init) {
      stream.initStarted = true;
      stream.kernelRelease = init[1];
      if (init[2]) stream.kernelNotes = init[2];
      continue;
    }
    const begin = /^# vm-test: begin (.+)$/.exec(line);
    if (begin) {
      current = { name: begin[1]!, lines: [], exitCode: undefined };
      stream.sections.push(current);
      continue;
    }
    const end = /^# vm-test: end (.+) exit=(\d+)( timed-out)?$/.exec(line);
    if (end && current && end[1] === current.name) {
      current.exitCode = Number(end[2]);
      if (end[3]) current.timedOut = true;
      current = undefined;
      continue;
    }
    if (line === '# vm-test: done') {
      stream.done = true;
      continue;
    }
    if (current) current.lines.push(line);
    else if (line !== '') stream.stray.push(line);
  }
  return stream;
}
