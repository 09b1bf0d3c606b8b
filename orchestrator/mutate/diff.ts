// The hunks of a patch's unified diff, with each line's place in the patched file.

export interface DiffLine {
  kind: ' ' | '+' | '-';
  text: string;
  /** 1-based line in the patched file (context and added lines). */
  newLine?: number;
}

export interface DiffHunk {
  file: string;
  /** 1-based, counting the hunks of the whole patch in order. */
  index: number;
  header: string;
  newStart: number;
  lines: DiffLine[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

/** Parses every "diff --git" section of a patch (mail text is skipped). */
export function parseDiff(patch: string): DiffHunk[] {
  const hunks: DiffHunk[] = [];
  let file: string | undefined;
  let hunk: DiffHunk | undefined;
  let newLine = 0;
  let remainingOld = 0;
  let remainingNew = 0;
  for (const raw of patch.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('diff --git ')) {
      file = /^diff --git a\/\S+ b\/(\S+)$/.exec(line)?.[1];
      hunk = undefined;
      continue;
    }
    if (line.startsWith('+++ ')) {
      const to = line.slice(4);
      file = to === '/dev/null' ? undefined : to.replace(/^b\//, '');
      continue;
    }
    const header = HUNK.exec(line);
    if (header && file) {
      newLine = Number(header[3]);
      remainingOld = header[2] === undefined ? 1 : Number(header[2]);
      remainingNew = header[4] === undefined ? 1 : Number(header[4]);
      hunk = { file, index: hunks.length + 1, header: line, newStart: newLine, lines: [] };
      hunks.push(hunk);
      continue;
    }
    if (!hunk || (remainingOld <= 0 && remainingNew <= 0)) continue;
    const kind = line[0];
    if (kind === '+') {
      hunk.lines.push({ kind: '+', text: line.slice(1), newLine: newLine++ });
      remainingNew--;
    } else if (kind === '-') {
      hunk.lines.push({ kind: '-', text: line.slice(1) });
      remainingOld--;
    } else if (kind === ' ' || line === '') {
      hunk.lines.push({ kind: ' ', text: line.slice(1), newLine: newLine++ });
      remainingOld--;
      remainingNew--;
    }
  }
  return hunks;
}

/** The hunk as the patched file has it: context and added lines, in order. */
export function postImage(hunk: DiffHunk): DiffLine[] {
  return hunk.lines.filter((l) => l.kind !== '-');
}
