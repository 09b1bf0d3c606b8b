// --series lore:<message-id>: the thread fetched with b4 am into the cache, read as a one-file series, with the cover
// letter's base-commit and what b4 said about newer revisions.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecPort, ExecResult } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { makeDirs } from '../paths.ts';
import { splitMbox } from './mbox.ts';

export const LORE_PREFIX = 'lore:';

/** A lore: series as asked for: the message id, and a local thread mbox standing in for lore (b4 am -m). */
export interface LoreRequest {
  messageId: string;
  /** b4 am -m FILE: the thread from this mbox, not from lore (no network). */
  localMbox?: string;
}

/** What b4 am said besides writing the series. */
export interface B4Report {
  /** The revision b4 took, when it said so ("Will use the latest revision: v3"): the thread or lore held older ones too. */
  latestRevision?: number;
  /** Revisions newer than the thread's that b4's -c search found on lore ("Added from v3: 3 patches"). */
  newerOnLore: number[];
  /** b4's own warnings (an incomplete thread, a partial reroll), as it printed them. */
  warnings: string[];
}

/** What a lore: series adds to a Series: where it came from and what the fetch said. */
export interface LoreOrigin {
  messageId: string;
  /** The .mbx b4 am wrote (the patches), and the .cover when the thread had a cover letter. */
  mbx: string;
  cover?: string;
  /** From the thread itself (b4 am -m), not lore. */
  localMbox?: string;
  /** b4 am's command line, for the record. */
  command: string;
  report: B4Report;
}

/** True when --series names a lore: series (its syntax is checked by parseLoreSpec). */
export const isLoreSpec = (arg: string | undefined): arg is string => !!arg?.startsWith(LORE_PREFIX);

/**
 * The message id of lore:<message-id>, with or without its angle brackets, or a lore URL's id
 * (lore:https://lore.kernel.org/bpf/<id>/). A usage error naming --series when it is not one.
 */
export function parseLoreSpec(arg: string): string {
  let id = arg.slice(LORE_PREFIX.length).trim();
  const url = /^https?:\/\/[^/]+\/(?:[^/]+\/)?([^/]+@[^/]+?)\/?(?:[Tt]\/?)?(?:#.*)?$/.exec(id);
  if (url) id = decodeURIComponent(url[1]!);
  if (id.startsWith('<') && id.endsWith('>')) id = id.slice(1, -1);
  // RFC 5322's msg-id: id-left "@" id-right, printable ASCII without spaces, brackets or a second "@".
  if (!/^[!-~]+@[!-~]+$/.test(id) || /[<>\s"\\]/.test(id) || id.split('@').length !== 2) {
    throw new VmTestError('usage', `--series ${arg}: expected lore:<message-id> (e.g. lore:20260622071714.1-gyutae.bae@example.com), the id of a mail of the thread`);
  }
  return id;
}

/** b4 am's arguments: into outDir as <name>.mbx and <name>.cover; -c asks lore for newer revisions (not for a local mbox: no network). */
export function b4AmArgs(request: LoreRequest, outDir: string, name: string): string[] {
  return [
    // Never a question on the terminal: a run is not interactive.
    '--no-interactive',
    ...(request.localMbox ? ['--offline-mode'] : []),
    'am',
    ...(request.localMbox ? ['-m', request.localMbox] : ['-c']),
    '-o', outDir,
    '-n', name,
    request.messageId,
  ];
}

/** What b4 am printed (its log goes to stderr) about revisions and the thread; never throws. */
export function parseB4Output(text: string): B4Report {
  const report: B4Report = { newerOnLore: [], warnings: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const latest = /^Will use the latest revision: v(\d+)/.exec(line);
    if (latest) report.latestRevision = Number(latest[1]);
    const added = /^Added from v(\d+): \d+ patches/.exec(line);
    if (added && !report.newerOnLore.includes(Number(added[1]))) report.newerOnLore.push(Number(added[1]));
    if (/^WARNING: /.test(line)) report.warnings.push(line);
  }
  return report;
}

/** The base-commit: line git format-patch --base (and b4 send) puts at the end of the cover letter, or of the first patch. */
export function baseCommitOf(text: string): string | undefined {
  return /^base-commit:[ \t]*([0-9a-f]{7,40})[ \t]*$/m.exec(text)?.[1];
}

/** The directory a message id's fetch goes to, under <cache>/lore: one per id, named so that a person can find it. */
export function loreDir(loreRoot: string, messageId: string): string {
  const slug = messageId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  return join(loreRoot, `${slug}-${createHash('sha256').update(messageId).digest('hex').slice(0, 8)}`);
}

/**
 * The mbox with each mail's folded header lines unfolded (RFC 5322 2.2.3: the same header). b4 0.12 reads -m FILE with
 * Python's mailbox.mbox, which keeps the fold's newline in the value, and then fails setting the Subject of the mail
 * it writes ("ValueError: Header values may not contain linefeed"); git format-patch folds long subjects. Bodies are
 * left byte for byte.
 */
export function unfoldHeaders(bytes: Uint8Array): Buffer {
  const parts = splitMbox(bytes).map((mail) => {
    const text = Buffer.from(mail.bytes).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    if (end < 0) return text;
    return text.slice(0, end).replace(/\r?\n(?=[ \t])/g, '') + text.slice(end);
  });
  return Buffer.from(parts.join(''), 'latin1');
}

export interface LoreFetchContext {
  exec: ExecPort;
  /** <cache>/lore. */
  loreRoot: string;
  signal?: AbortSignal;
  /** Makes sure b4 is installed (the host-tool installer), before it is run. */
  ensureB4: (logFile: string) => Promise<void>;
}

const NAME = 'series';

function b4Failure(request: LoreRequest, result: ExecResult, logFile: string): VmTestError {
  const said = [...result.stderr.split('\n'), ...result.stdout.split('\n')].map((l) => l.trim()).filter(Boolean);
  // A Python traceback ends in the exception's own line; b4 0.12 meets an unreachable lore with one (requests' ConnectionError).
  const last = said[said.length - 1] ?? '';
  const crashed = said.some((l) => l.startsWith('Traceback'));
  const critical = crashed && /ConnectionError|Max retries exceeded|Name or service not known|timed out/.test(last)
    ? `lore could not be reached (${/^[\w.]*Error/.exec(last)?.[0] ?? 'network error'}: ${['Name or service not known', 'Connection refused', 'timed out', 'Max retries exceeded'].find((why) => last.includes(why)) ?? 'see the log'})`
    : crashed ? `b4 crashed: ${last}` : said.find((l) => /^CRITICAL: |^No patches found|^Unable to|Could not|does not exist/.test(l));
  const why = result.spawnError ? `b4 could not be started: ${result.spawnError}`
    : result.timedOut ? 'b4 am took too long'
    : `b4 am exited with ${result.exitCode ?? result.signal}${critical ? `: ${critical.replace(/^CRITICAL: /, '')}` : ''}`;
  const where = request.localMbox ? `from ${request.localMbox}` : 'from lore (is the network reachable, and the id right?)';
  // A usage error: the id or the mbox named does not give a series, not vm-test failing.
  return new VmTestError('usage', `--series lore:${request.messageId}: ${why}; no series fetched ${where}`, { logPath: logFile, excerpt: said.slice(-8) });
}

/**
 * b4 am the thread into <cache>/lore/<id>/ and return the .mbx (and .cover) it wrote with what it said. The
 * directory is emptied first: a thread gains trailers and revisions, and nothing old may pass for the new fetch.
 */
export async function fetchLoreThread(ctx: LoreFetchContext, request: LoreRequest): Promise<LoreOrigin> {
  const dir = loreDir(ctx.loreRoot, request.messageId);
  const out = join(dir, 'b4');
  await rm(out, { recursive: true, force: true });
  await makeDirs(out);
  const logFile = join(dir, 'b4.log');
  await rm(logFile, { force: true });
  await ctx.ensureB4(logFile);
  // b4 reads the local thread from a copy whose headers are unfolded (see unfoldHeaders).
  const local = request.localMbox ? join(dir, 'thread.mbox') : undefined;
  if (local) await writeFile(local, unfoldHeaders(await readFile(request.localMbox!)));
  const args = b4AmArgs(local ? { ...request, localMbox: local } : request, out, NAME);
  // Run outside any git tree: b4 would otherwise judge base-commit against the user's cwd; vm-test judges it against the kernel tree.
  const result = await ctx.exec.run({ command: 'b4', args, cwd: dir, logFile, signal: ctx.signal, timeoutMs: 10 * 60_000, env: { LC_ALL: 'C.UTF-8' } });
  if (ctx.signal?.aborted) throw new VmTestError('interrupted', 'interrupted while b4 am fetched the thread');
  const mbx = join(out, `${NAME}.mbx`);
  if (result.exitCode !== 0 || result.timedOut || result.spawnError || !existsSync(mbx)) throw b4Failure(request, result, logFile);
  const cover = join(out, `${NAME}.cover`);
  return {
    messageId: request.messageId,
    mbx,
    ...(existsSync(cover) ? { cover } : {}),
    ...(request.localMbox ? { localMbox: request.localMbox } : {}),
    command: ['b4', ...args].join(' '),
    report: parseB4Output(`${result.stderr}\n${result.stdout}`),
  };
}

/** The base-commit the thread names: the cover letter's, else the first patch's (as b4 reads it). */
export async function threadBaseCommit(origin: Pick<LoreOrigin, 'cover' | 'mbx'>, firstPatch: string | undefined): Promise<string | undefined> {
  const cover = origin.cover ? await readFile(origin.cover, 'utf8').catch(() => '') : '';
  return baseCommitOf(cover) ?? (firstPatch ? baseCommitOf(firstPatch) : undefined);
}

/** The lines a run prints about the fetch: which revision, and any newer one b4 knows. */
export function describeLoreReport(origin: LoreOrigin, revision: number | undefined): { warnings: string[]; info: string[] } {
  const r = origin.report;
  const warnings: string[] = [];
  const took = revision ?? r.latestRevision;
  const label = took ? `v${took}` : 'the revision in the thread';
  if (r.newerOnLore.length) {
    warnings.push(`b4 knows a newer revision of this series on lore (${r.newerOnLore.map((v) => `v${v}`).join(', ')}) than the thread of ${origin.messageId}: it took ${label}, the newest, and that is what is tested`);
  } else if (r.latestRevision !== undefined) {
    warnings.push(`the thread of ${origin.messageId} holds more than one revision: b4 took v${r.latestRevision}, the newest, and that is what is tested`);
  }
  warnings.push(...r.warnings.map((w) => `b4: ${w}`));
  const info = [`${origin.localMbox ? `from ${origin.localMbox}` : 'from lore'} with ${origin.command}`];
  return { warnings, info };
}
