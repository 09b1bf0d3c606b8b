// Kernel reports symbolised against the vmlinux that was built: each frame "func+0xoff/0xlen" as func+off (file:line),
// inlined callers too, the Code: line disassembled (the tree's scripts/decodecode), and the first frame that lands
// in a line the series adds. Only for a vmlinux with debug info; a frame whose function length differs from the
// vmlinux's is another kernel's and stays as it is. Processes run through the exec port; parsing is pure.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { elfBuildId } from '../build/kernel-identity.ts';
import type { RunEvents } from '../events.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import { gitOutput } from '../source/git.ts';
import { bugTitleOf } from './splat-title.ts';
import type { Splat, SplatFrame } from './tree.ts';

/** A frame as the kernel prints it: symbol+0xoff/0xlen, maybe with its module. */
export interface FrameRef {
  text: string;
  symbol: string;
  offset: number;
  length: number;
  module?: string;
}

const FRAME = /(?:^|[\s:(<])([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?:\s+\[([\w-]+)\])?/gi;

/** The frames of a report, in order, each once (a "? " guess included: the kernel prints it as a frame too). */
export function frameRefs(lines: readonly string[]): FrameRef[] {
  const seen = new Set<string>();
  const out: FrameRef[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(FRAME)) {
      const text = `${m[1]}+0x${m[2]}/0x${m[3]}`;
      if (seen.has(text)) continue;
      seen.add(text);
      out.push({ text, symbol: m[1]!, offset: parseInt(m[2]!, 16), length: parseInt(m[3]!, 16), ...(m[4] ? { module: m[4] } : {}) });
    }
  }
  return out;
}

/**
 * nm -S's text symbols: name -> [address, sizes]. The kernel prints a function's length as kallsyms knows it, the
 * distance to the next symbol (alignment padding included), so both that and nm's own size are kept.
 */
export function parseNm(text: string): Map<string, { address: bigint; sizes: number[] }[]> {
  const syms: { name: string; address: bigint; size?: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)(?: ([0-9a-f]+))? [tTwW] (\S+)$/.exec(line);
    if (m) syms.push({ name: m[3]!, address: BigInt(`0x${m[1]}`), ...(m[2] ? { size: parseInt(m[2], 16) } : {}) });
  }
  syms.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const out = new Map<string, { address: bigint; sizes: number[] }[]>();
  for (const [i, sym] of syms.entries()) {
    let k = i + 1;
    while (k < syms.length && syms[k]!.address <= sym.address) k++;
    const next = syms[k];
    const sizes = [...(sym.size !== undefined ? [sym.size] : []), ...(next ? [Number(next.address - sym.address)] : [])];
    out.set(sym.name, [...(out.get(sym.name) ?? []), { address: sym.address, sizes }]);
  }
  return out;
}

/** addr2line -f -i output for N addresses: per address, its function/location pairs, innermost first. */
export function parseAddr2line(text: string, count: number, srcRoot: string): { func: string; file?: string; line?: number }[][] {
  // With -a each address's block starts with its 0x... line.
  const blocks: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^0x[0-9a-f]+$/i.test(line)) blocks.push([]);
    else if (line && blocks.length) blocks[blocks.length - 1]!.push(line);
  }
  return Array.from({ length: count }, (_, i) => {
    const block = blocks[i] ?? [];
    const out: { func: string; file?: string; line?: number }[] = [];
    for (let k = 0; k + 1 < block.length; k += 2) {
      const at = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(block[k + 1]!);
      const file = at && at[1] !== '??' ? (at[1]!.startsWith('/') ? relative(srcRoot, at[1]!) : at[1]!) : undefined;
      out.push({ func: block[k]!, ...(file ? { file } : {}), ...(at && at[2] !== '0' && file ? { line: Number(at[2]) } : {}) });
    }
    return out;
  });
}

/** The lines a series adds, per file (git diff -U0 base..head): "+start,count" of each hunk. */
export function addedLines(diff: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  let file: string | undefined;
  for (const line of diff.split('\n')) {
    const f = /^\+\+\+ (?:b\/)?(.+)$/.exec(line);
    if (f) {
      file = f[1] === '/dev/null' ? undefined : f[1];
      continue;
    }
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (h && file) {
      const start = Number(h[1]);
      const count = h[2] === undefined ? 1 : Number(h[2]);
      if (count > 0) out.set(file, [...(out.get(file) ?? []), [start, start + count - 1]]);
    }
  }
  return out;
}

export interface SymbolContext {
  exec: ExecPort;
  vmlinux: string;
  /** The tree the kernel was built from (addr2line's absolute paths are made relative to it; decodecode is its). */
  srcRoot: string;
  /** git diff -U0 of the series (pristine..applied), for "in the code this series adds". */
  seriesDiff?: string;
  signal?: AbortSignal;
}

/** Whether a build's vmlinux can be symbolised: built with debug info. */
export async function hasDebugInfo(configPath: string): Promise<boolean> {
  const text = await readFile(configPath, 'utf8').catch(() => '');
  return /^CONFIG_DEBUG_INFO=y$/m.test(text) && !/^CONFIG_DEBUG_INFO_NONE=y$/m.test(text);
}

/**
 * Each splat's frames symbolised, in place of nothing: the splats come back with frames (func+off (file:line)),
 * the decoded Code: line, and the first frame in the series' own lines. What cannot be read stays unsymbolised.
 */
export async function symbolizeSplats(ctx: SymbolContext, splats: readonly Splat[]): Promise<Splat[]> {
  const refs = splats.map((s) => frameRefs(s.lines).filter((r) => !r.module));
  if (!refs.some((r) => r.length) || !existsSync(ctx.vmlinux)) return [...splats];
  // nm's output (tens of MB) goes to a file, not through the exec port's bounded capture.
  const dir = await mkdtemp(join(tmpdir(), 'vm-test-nm-'));
  let symbols: ReturnType<typeof parseNm>;
  try {
    const file = join(dir, 'nm.txt');
    const sink = createWriteStream(file);
    const nm = await ctx.exec.run({ command: 'nm', args: ['-S', ctx.vmlinux], stdoutTo: sink, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    await new Promise((done) => sink.end(done));
    if (nm.exitCode !== 0) return [...splats];
    symbols = parseNm(await readFile(file, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // One addr2line for every frame of every splat; a frame whose function has another length is another kernel's.
  const unique = [...new Map(refs.flat().map((r) => [r.text, r])).values()];
  const placed = unique.map((r) => ({ ref: r, sym: symbols.get(r.symbol)?.find((s) => s.sizes.includes(r.length)) }));
  const located = placed.filter((p) => p.sym);
  const a2l = located.length
    ? await ctx.exec.run({ command: 'addr2line', args: ['-a', '-f', '-i', '-e', ctx.vmlinux, ...located.map((p) => `0x${(p.sym!.address + BigInt(p.ref.offset)).toString(16)}`)], ...(ctx.signal ? { signal: ctx.signal } : {}) })
    : undefined;
  const where = new Map<string, { func: string; file?: string; line?: number }[]>();
  if (a2l?.exitCode === 0) parseAddr2line(a2l.stdout, located.length, ctx.srcRoot).forEach((w, i) => where.set(located[i]!.ref.text, w));
  const mismatched = new Set(placed.filter((p) => !p.sym && symbols.has(p.ref.symbol)).map((p) => p.ref.text));
  const added = ctx.seriesDiff ? addedLines(ctx.seriesDiff) : new Map<string, [number, number][]>();
  const inSeries = (file?: string, line?: number) => !!file && line !== undefined && (added.get(file) ?? []).some(([a, b]) => line >= a && line <= b);

  const out: Splat[] = [];
  for (const [i, splat] of splats.entries()) {
    const frames: SplatFrame[] = refs[i]!.map((r) => {
      const at = where.get(r.text) ?? [];
      const inner = at[0];
      return {
        ref: r.text,
        ...(inner && inner.func !== r.symbol && inner.func !== '??' ? { inlined: inner.func } : {}),
        ...(inner?.file ? { file: inner.file } : {}),
        ...(inner?.line !== undefined ? { line: inner.line } : {}),
        ...(at.length > 1 ? { inlinedInto: at.slice(1).map((a) => `${a.func}${a.file ? ` (${a.file}${a.line !== undefined ? `:${a.line}` : ''})` : ''}`) } : {}),
        ...(mismatched.has(r.text) ? { mismatch: true } : {}),
      };
    });
    const series = frames.flatMap((f) => {
      const at = where.get(f.ref) ?? [];
      const hit = at.find((a) => inSeries(a.file, a.line));
      return hit ? [{ ref: f.ref, file: hit.file!, line: hit.line! }] : [];
    })[0];
    const code = await decodeCode(ctx, splat.lines);
    out.push({ ...splat, frames, ...(series ? { seriesFrame: series } : {}), ...(code ? { code } : {}) });
  }
  return out;
}

/** The Code: line through the tree's scripts/decodecode (objdump), or undefined. */
async function decodeCode(ctx: SymbolContext, lines: readonly string[]): Promise<string[] | undefined> {
  const code = lines.find((l) => /\bCode: (?:[0-9a-f]{2} )+/.test(l));
  const script = join(ctx.srcRoot, 'scripts/decodecode');
  if (!code || !existsSync(script)) return undefined;
  const r = await ctx.exec.run({ command: script, args: [], input: code.slice(code.indexOf('Code: ')) + '\n', env: { ARCH: 'x86_64' }, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  if (r.exitCode !== 0) return undefined;
  const out = decodedLines(r.stdout);
  return out.length ? out : undefined;
}

/** decodecode's disassembly, its headings kept and its rules dropped; the trapping instruction is "NN:*". */
export function decodedLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^\s*[0-9a-f]+:\*?\s/.test(l) || /^Code starting with the faulting instruction/.test(l) || /^All code/.test(l));
}

/**
 * A run's splats against the vmlinux it built, when that has debug info and is still the kernel that ran (the build
 * directory may have been rebuilt since the build lock was released); the series' lines from its commits
 * (pristine..applied, through the project's git with the user's config left out).
 */
export async function symbolizeBuilt(
  ctx: { exec: ExecPort; events: RunEvents; signal?: AbortSignal },
  built: { vmlinux: string; configPath: string; ran: string | undefined; srcRoot: string; range?: readonly [string, string] },
  splats: Splat[],
): Promise<Splat[]> {
  if (!(await hasDebugInfo(built.configPath))) return splats;
  const now = await elfBuildId(built.vmlinux).catch(() => undefined);
  if (!now || now !== built.ran) {
    ctx.events.emit({ type: 'warn', stage: 'results', message: `kernel reports not symbolised: ${built.vmlinux} is no longer the kernel that ran (build ID ${now ?? 'unknown'}, ran ${built.ran ?? 'unknown'})` });
    return splats;
  }
  const seriesDiff = built.range ? await gitOutput(ctx.exec, ['diff', '-U0', '--no-color', '--no-ext-diff', built.range[0], built.range[1]], { cwd: built.srcRoot, ...(ctx.signal ? { signal: ctx.signal } : {}) }) : undefined;
  const out = await symbolizeSplats({ exec: ctx.exec, vmlinux: built.vmlinux, srcRoot: built.srcRoot, ...(seriesDiff !== undefined ? { seriesDiff } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) }, splats);
  for (const s of out.filter((x) => x.seriesFrame)) ctx.events.emit({ type: 'info', stage: 'results', message: `${bugTitleOf(s)}: in the code this series adds, ${s.seriesFrame!.file}:${s.seriesFrame!.line} (${s.seriesFrame!.ref})` });
  return out;
}

/** A frame as a report shows it: func+off/len (file:line), and what it is inlined into. */
export function frameText(frame: SplatFrame): string {
  const at = frame.file ? ` (${frame.file}${frame.line !== undefined ? `:${frame.line}` : ''})` : frame.mismatch ? ' (not in the vmlinux built: another length)' : '';
  return `${frame.ref}${frame.inlined ? `: ${frame.inlined}` : ''}${at}${frame.inlinedInto?.length ? `, inlined into ${frame.inlinedInto.join(' < ')}` : ''}`;
}

/** What symbolising added to a report, as lines under its raw text: the series' line, the frames, the Code: bytes decoded. */
export function symbolizedLines(splat: Pick<Splat, 'frames' | 'seriesFrame' | 'code'>): string[] {
  const out: string[] = [];
  if (splat.seriesFrame) out.push(`in the code this series adds: ${splat.seriesFrame.file}:${splat.seriesFrame.line} (${splat.seriesFrame.ref})`);
  if (splat.frames?.some((f) => f.file || f.mismatch)) out.push('symbolised (the vmlinux built):', ...splat.frames.map((f) => `  ${frameText(f)}`));
  if (splat.code?.length) out.push('Code: decoded (scripts/decodecode):', ...splat.code.map((l) => `  ${l}`));
  return out;
}
