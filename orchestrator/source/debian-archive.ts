// Kernel source packages from any Debian suite, through a private apt state in the cache: the host's apt configuration is only read.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';

/** One "deb" line (or deb822 stanza) of the host's apt sources. */
export interface AptSourceEntry {
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
  /** Where it was read, for messages. */
  origin: string;
}

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

const DEBIAN_CODENAMES = new Set([
  'buzz', 'rex', 'bo', 'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny', 'squeeze', 'wheezy', 'jessie', 'stretch',
  'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid', 'experimental',
  'stable', 'testing', 'unstable', 'oldstable', 'oldoldstable',
]);

/** A Debian suite name: a codename or alias, optionally with -updates, -backports, -security, -proposed-updates. */
export function isDebianSuite(suite: string): boolean {
  const base = suite.replace(/-(updates|backports|backports-sloppy|security|proposed-updates)$/, '').replace(/\/updates$/, '');
  return DEBIAN_CODENAMES.has(base);
}

/** One-line format (sources.list, *.list): "deb [opts] uri suite component...". */
export function parseOneLineSources(text: string, origin: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) return;
    let rest = line.slice(3).trim();
    let signedBy: string | undefined;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) return;
      for (const opt of rest.slice(1, close).trim().split(/\s+/)) {
        const [key, value] = opt.split('=');
        if (key === 'signed-by' && value) signedBy = value;
      }
      rest = rest.slice(close + 1).trim();
    }
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (uri && suite) entries.push({ uri: uri.replace(/\/+$/, ''), suites: [suite], components, signedBy, origin: `${origin}:${i + 1}` });
  });
  return entries;
}

/** deb822 format (*.sources): stanzas of "Field: value" separated by blank lines. */
export function parseDeb822Sources(text: string, origin: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last)}\n${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    const signedBy = fields.get('signed-by');
    for (const uri of words('uris')) {
      // An inline key block cannot be passed on; such an entry falls back to Debian's keyring.
      entries.push({ uri: uri.replace(/\/+$/, ''), suites: words('suites'), components: words('components'), signedBy: signedBy && !signedBy.includes('\n') ? signedBy : undefined, origin });
    }
  }
  return entries;
}

/** Every apt source the host has configured, in apt's order. */
export async function readHostAptSources(etcApt = '/etc/apt'): Promise<AptSourceEntry[]> {
  const entries: AptSourceEntry[] = [];
  const main = join(etcApt, 'sources.list');
  const text = await readFile(main, 'utf8').catch(() => undefined);
  if (text) entries.push(...parseOneLineSources(text, main));
  const partsDir = join(etcApt, 'sources.list.d');
  const parts = (await readdir(partsDir).catch(() => [] as string[])).sort();
  for (const name of parts) {
    const path = join(partsDir, name);
    if (name.endsWith('.list')) entries.push(...parseOneLineSources(await readFile(path, 'utf8'), path));
    else if (name.endsWith('.sources')) entries.push(...parseDeb822Sources(await readFile(path, 'utf8'), path));
  }
  return entries;
}

/** The host's Debian entries, restricted to Debian suites. */
export function debianEntries(entries: readonly AptSourceEntry[]): AptSourceEntry[] {
  return entries
    .map((e) => ({ ...e, suites: e.suites.filter(isDebianSuite) }))
    .filter((e) => e.suites.length > 0 && /^(https?|file):/.test(e.uri));
}

/**
 * The sources list for the private apt state: the host's Debian mirror with the asked suite, or,
 * without a suite, the host's Debian entries as they are. Security suites come from the host's
 * security mirror. Returns the error text when the host has no Debian mirror.
 */
export function privateSourcesList(hostEntries: readonly AptSourceEntry[], suite: string | undefined): { text: string; mirror: string } | { error: string } {
  const debian = debianEntries(hostEntries);
  const line = (e: Pick<AptSourceEntry, 'uri' | 'signedBy'>, suites: readonly string[]) =>
    suites.map((s) => `deb [signed-by=${e.signedBy ?? DEBIAN_KEYRING}] ${e.uri} ${s} main`).join('\n');
  if (debian.length === 0) {
    const seen = [...new Set(hostEntries.map((e) => e.suites.join(',')).filter(Boolean))].join('; ') || 'none';
    return { error: `the host's apt sources name no Debian mirror (suites seen: ${seen}), so deb: kernels cannot be fetched here` };
  }
  if (!suite) return { text: debian.map((e) => line(e, e.suites)).join('\n') + '\n', mirror: [...new Set(debian.map((e) => e.uri))].join(', ') };
  const security = suite.endsWith('-security');
  const isSecurityEntry = (e: AptSourceEntry) => e.suites.some((s) => s.endsWith('-security') || s.endsWith('/updates'));
  let mirror = debian.find((e) => isSecurityEntry(e) === security);
  // No security entry on the host: Debian's security archive sits beside the main one, as <mirror>-security.
  if (!mirror && security) {
    const main = debian.find((e) => !isSecurityEntry(e));
    if (main) mirror = { ...main, uri: `${main.uri}-security` };
  }
  if (!mirror) mirror = debian[0]!;
  return { text: line(mirror, [suite]) + '\n', mirror: mirror.uri };
}

export interface DebFetchContext {
  exec: ExecPort;
  /** <cache>/apt: one private apt state per sources list. */
  aptRoot: string;
  logFile: string;
  signal?: AbortSignal;
  etcApt?: string;
  /** Told when an apt step starts, for progress. */
  info?: (message: string) => void;
}

export interface DebPackageVersion {
  version: string;
  /** "uri suite/component" as apt-cache madison prints it. */
  from: string;
}

export interface AptState {
  dir: string;
  mirror: string;
  options: string[];
}

/** Our own apt state: sources list, lists, archives, an empty dpkg status and no host preferences. */
export async function aptState(ctx: DebFetchContext, suite: string | undefined): Promise<AptState> {
  const hostEntries = await readHostAptSources(ctx.etcApt);
  const list = privateSourcesList(hostEntries, suite);
  if ('error' in list) {
    throw new VmTestError('usage', `${list.error}. Use --kernel git:<url>#v7.2.6 (a git server with the kernel's tags) or --kernel <path to a kernel tree> instead`);
  }
  const dir = join(ctx.aptRoot, createHash('sha256').update(list.text).digest('hex').slice(0, 12));
  for (const sub of ['lists/partial', 'archives/partial', 'cache', 'sources.list.d', 'preferences.d', 'download']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'sources.list'), list.text);
  if (!existsSync(join(dir, 'status'))) await writeFile(join(dir, 'status'), '');
  const options = [
    `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    `Dir::Etc::SourceParts=${join(dir, 'sources.list.d')}`,
    `Dir::Etc::Preferences=${join(dir, 'preferences')}`,
    `Dir::Etc::PreferencesParts=${join(dir, 'preferences.d')}`,
    `Dir::State::Lists=${join(dir, 'lists')}`,
    `Dir::State::status=${join(dir, 'status')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    `Dir::Cache::Archives=${join(dir, 'archives')}`,
    'Acquire::Languages=none',
    // apt drops to the _apt user to download, which cannot write into a root-owned cache.
    ...(process.getuid?.() === 0 ? ['APT::Sandbox::User=root'] : []),
  ].flatMap((o) => ['-o', o]);
  return { dir, mirror: list.mirror, options };
}

export async function aptUpdate(ctx: DebFetchContext, state: AptState): Promise<void> {
  ctx.info?.(`apt-get update of the private state ${state.dir} (${state.mirror})`);
  const result = await ctx.exec.run({ command: 'apt-get', args: [...state.options, '-q', 'update'], logFile: ctx.logFile, signal: ctx.signal, env: { LC_ALL: 'C' } });
  const problems = result.tail.filter((l) => /^(E:|W: (GPG|The repository|Failed))/.test(l) || /NO_PUBKEY|not signed/.test(l));
  if (result.exitCode !== 0 || problems.some((l) => l.startsWith('E:') || /NO_PUBKEY|not signed/.test(l))) {
    throw new VmTestError('infra', `apt-get update of ${state.mirror} failed (exit ${result.exitCode}): ${problems.slice(0, 3).join(' | ') || result.tail.slice(-2).join(' | ')}`, { logPath: ctx.logFile, excerpt: result.tail.slice(-8) });
  }
}

/** Versions apt knows for a package, newest first. */
export function parseMadison(text: string, pkg: string): DebPackageVersion[] {
  const out: DebPackageVersion[] = [];
  for (const line of text.split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    if (cols.length >= 3 && cols[0] === pkg && !/ Sources$/.test(cols[2]!)) out.push({ version: cols[1]!, from: cols[2]!.replace(/ \S+ Packages$/, '') });
  }
  return out;
}

export async function availableVersions(ctx: DebFetchContext, state: AptState, pkg: string): Promise<DebPackageVersion[]> {
  const result = await ctx.exec.run({ command: 'apt-cache', args: [...state.options, 'madison', pkg], logFile: ctx.logFile, env: { LC_ALL: 'C' } });
  return parseMadison(result.stdout, pkg);
}

/** Download one version of a package (apt's candidate when no version) into dir; returns the .deb's path. */
export async function downloadPackage(ctx: DebFetchContext, state: AptState, pkg: string, version: string | undefined, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const what = version ? `${pkg}=${version}` : pkg;
  ctx.info?.(`apt-get download ${what}`);
  const got = await ctx.exec.run({ command: 'apt-get', args: [...state.options, '-q', 'download', what], cwd: dir, logFile: ctx.logFile, signal: ctx.signal, env: { LC_ALL: 'C' } });
  const deb = (await readdir(dir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (got.exitCode !== 0 || !deb) {
    throw new VmTestError('infra', `apt-get download ${what} failed (exit ${got.exitCode}): ${got.tail.slice(-2).join(' | ')}`, { logPath: ctx.logFile, excerpt: got.tail.slice(-8) });
  }
  return join(dir, deb);
}

/** The first SHA256 field of apt-cache show's stanzas: the .deb's, as the signed Packages list gives it. */
export function parseAptShowSha256(text: string): string | undefined {
  return /^SHA256: ([0-9a-f]{64})$/m.exec(text)?.[1];
}

/** The sha256 apt's lists (already fetched: no network) give for one version of a package; undefined when they do not say. */
export async function listedSha256(ctx: DebFetchContext, state: AptState, pkg: string, version: string): Promise<string | undefined> {
  const result = await ctx.exec.run({ command: 'apt-cache', args: [...state.options, 'show', `${pkg}=${version}`], logFile: ctx.logFile, env: { LC_ALL: 'C' } });
  return result.exitCode === 0 ? parseAptShowSha256(result.stdout) : undefined;
}

/** Download one version of a linux-source package into the private state and take its /usr/src tarball out; debSha256 is the .deb's. */
export async function downloadSourceTarball(ctx: DebFetchContext, state: AptState, pkg: string, version: string): Promise<{ tarball: string; debSha256: string; cleanup: () => Promise<void> }> {
  const download = join(state.dir, 'download');
  await rm(download, { recursive: true, force: true });
  const deb = await downloadPackage(ctx, state, pkg, version, download);
  const debSha256 = createHash('sha256').update(await readFile(deb)).digest('hex');
  const extract = join(download, 'extract');
  const x = await ctx.exec.run({ command: 'dpkg-deb', args: ['-x', deb, extract], logFile: ctx.logFile, signal: ctx.signal });
  const tarball = join(extract, 'usr/src', `${pkg}.tar.xz`);
  if (x.exitCode !== 0 || !existsSync(tarball)) {
    throw new VmTestError('infra', `${deb} holds no usr/src/${pkg}.tar.xz (dpkg-deb exit ${x.exitCode})`, { file: deb, logPath: ctx.logFile, excerpt: x.tail.slice(-5) });
  }
  return { tarball, debSha256, cleanup: () => rm(download, { recursive: true, force: true }) };
}
