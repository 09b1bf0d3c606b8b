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

/**
 * A failed build step as an error naming the first compiler error's file and line (read from the
 * full log), or the exit code and the output's tail when the log has none.
 */
export async function buildFailure(what: string, result: { exitCode?: number; tail: string[] }, logFile: string, treeRoot: string): Promise<VmTestError> {
  const log = await readFile(logFile, 'utf8').catch(() => result.tail.join('\n'));
  const errors = compilerErrors(log.split('\n'), treeRoot);
  const first = errors[0];
  return new VmTestError('buildFailed', `${what} failed${first ? ` at ${first.file}:${first.line}: ${first.message}` : ` (exit ${result.exitCode})`}`, {
    file: first?.file,
    line: first?.line,
    logPath: logFile,
    excerpt: errors.length ? errors.map((e) => `${e.file}:${e.line}: error: ${e.message}`) : result.tail.slice(-15),
  });
}
