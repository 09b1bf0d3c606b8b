// Reading make's output: progress lines, the first compiler errors, and a failed build as an error value.
import { readFile } from 'node:fs/promises';
import { VmTestError } from '../outcome.ts';

const STEP = /^\s+(CC|AS|LD|AR|HOSTCC|HOSTLD|GEN|CHK|UPD|OBJCOPY|BTF|MODPOST|SYNC|WRAP|SYSHDR|SYSTBL|HDRINST|VDSO\w*|RELOCS|ZOFFSET|MKPIGGY|MODINFO|BTFIDS|NM|SORTTAB|KSYMS|CPUSTR|POLICY|XZKERN|ZSTD22|GZIP|LZ4|CPP|LDS|BUILD)\s+(\S+)/;

export function progressStep(line: string): string | undefined {
  const m = STEP.exec(line);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

export interface CompilerError {
  file: string;
  line: number;
  message: string;
}

const ERROR = /^(\S+?):(\d+):(?:\d+:)? (?:fatal )?error: (.*)$/;

/** The first few compiler or linker errors, with file and line, relative to the tree when possible. */
export function compilerErrors(lines: readonly string[], treeRoot?: string, max = 5): CompilerError[] {
  const out: CompilerError[] = [];
  for (const line of lines) {
    const m = ERROR.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (treeRoot && file.startsWith(treeRoot + '/')) file = file.slice(treeRoot.length + 1);
    // Kbuild with O= names sources relative to the build directory: ../src/ beside it.
    file = file.replace(/^(\.\.\/)+(worktrees\/[^/]+\/|src\/)/, '');
    out.push({ file, line: Number(m[2]), message: m[3]! });
    if (out.length >= max) break;
  }
  if (out.length === 0) {
    for (const line of lines) {
      const ld = /(undefined reference to .*|ld: .*error.*)$/.exec(line);
      if (ld) {
        out.push({ file: '(link)', line: 0, message: ld[1]! });
        if (out.length >= max) break;
      }
    }
  }
  return out;
}

/** A rule make gave up on: `make[1]: *** [Makefile:919: test_maps-extras] Error 24`. */
export interface MakeFailure {
  makefile: string;
  line: number;
  target: string;
  code: number;
  /** make's line, as printed. */
  text: string;
  /** The recipe's last words: the output line just before make's, when it is not make's own. */
  said?: string;
}

const MAKE_FAILED = /^make(?:\[\d+\])?: \*\*\* \[(.+?):(\d+): (.+?)\] Error (\d+)$/;
const MAKE_OWN = /^make(?:\[\d+\])?: /;

/** The rules make reports as failed, in the log's order. */
export function makeFailures(lines: readonly string[]): MakeFailure[] {
  const out: MakeFailure[] = [];
  lines.forEach((line, i) => {
    const m = MAKE_FAILED.exec(line.trim());
    if (!m) return;
    const before = lines.slice(0, i).reverse().find((l) => l.trim() && !MAKE_OWN.test(l.trim()))?.trim();
    out.push({ makefile: m[1]!, line: Number(m[2]), target: m[3]!, code: Number(m[4]), text: line.trim(), ...(before && !progressStep(before) ? { said: before } : {}) });
  });
  return out;
}

/**
 * A failed build step as an error naming the first compiler error's file and line (read from the
 * full log), or the exit code and the output's tail when the log has none. `expected` drops errors that did not
 * fail the build (a permissive build's skipped parts): when none is left, the rule make gave up on is named, its
 * makefile relative to the tree (`makeDir`: where make ran, in the tree).
 */
export async function buildFailure(
  what: string,
  result: { exitCode?: number; tail: string[] },
  logFile: string,
  treeRoot: string,
  { expected = () => false, makeDir = '' }: { expected?: (e: CompilerError) => boolean; makeDir?: string } = {},
): Promise<VmTestError> {
  const log = await readFile(logFile, 'utf8').catch(() => result.tail.join('\n'));
  const lines = log.split('\n');
  const errors = compilerErrors(lines, treeRoot, Infinity).filter((e) => !expected(e)).slice(0, 5);
  const first = errors[0];
  const rule = first ? undefined : makeFailures(lines)[0];
  const makefile = rule && (makeDir ? `${makeDir}/${rule.makefile}` : rule.makefile);
  const because = first
    ? ` at ${first.file}:${first.line}: ${first.message}`
    : rule ? `: make's rule ${rule.target} (${makefile}:${rule.line}) exited ${rule.code}${rule.said ? `: ${rule.said}` : ''}` : ` (exit ${result.exitCode})`;
  return new VmTestError('buildFailed', `${what} failed${because}`, {
    file: first?.file ?? makefile,
    line: first?.line ?? rule?.line,
    logPath: logFile,
    excerpt: errors.length ? errors.map((e) => `${e.file}:${e.line}: error: ${e.message}`) : rule ? [...(rule.said ? [rule.said] : []), rule.text] : result.tail.slice(-15),
  });
}
