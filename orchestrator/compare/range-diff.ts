// The range-diff between two revisions of a series: each applied, with git's plumbing, on the kernel commit the cache
// applied them on before, in a scratch repository that borrows the cache's objects (the cache is only read); when no
// kernel in the cache has them, the mails' own diffs side by side.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CacheLayout } from '../cache.ts';
import type { ExecPort } from '../exec/exec-port.ts';
import type { Series } from '../series/series.ts';
import { GIT_IDENTITY_ENV, git, gitOutput, ISOLATED_CONFIG_ENV } from '../source/git.ts';

export interface RangeDiff {
  /** How it was made: git range-diff on a kernel commit from the cache, or the mails' diffs compared one by one. */
  method: string;
  lines: string[];
}

/** A kernel commit a revision was applied on before: from a source's applied.json, whose keys are base:series hash:recipe. */
export async function knownBases(cache: Pick<CacheLayout, 'sources'>, hashes: readonly string[]): Promise<{ gitDir: string; base: string; hashes: string[] }[]> {
  const found: { gitDir: string; base: string; hashes: string[] }[] = [];
  const sources = existsSync(cache.sources) ? await readdir(cache.sources) : [];
  for (const id of sources.sort()) {
    const index = JSON.parse(await readFile(join(cache.sources, id, 'applied.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
    for (const key of Object.keys(index)) {
      const [base, hash] = key.split(':');
      if (!base || !hash || !hashes.includes(hash)) continue;
      let entry = found.find((f) => f.base === base && f.gitDir === join(cache.sources, id, 'git'));
      if (!entry) found.push((entry = { gitDir: join(cache.sources, id, 'git'), base, hashes: [] }));
      if (!entry.hashes.includes(hash)) entry.hashes.push(hash);
    }
  }
  // A base both revisions were applied on first.
  return found.sort((a, b) => b.hashes.length - a.hashes.length);
}

/** Each patch as a commit on parent, in the scratch repository: git mailinfo for the message, git apply --cached on a private index. */
async function commitSeries(exec: ExecPort, repo: string, parent: string, series: Series, work: string): Promise<{ tip: string } | { problem: string }> {
  const index = join(work, 'index');
  const env = { ...ISOLATED_CONFIG_ENV, ...GIT_IDENTITY_ENV, GIT_INDEX_FILE: index };
  const opts = { gitDir: repo, env };
  await rm(index, { force: true });
  const read = await git(exec, ['read-tree', parent], opts);
  if (read.exitCode !== 0) return { problem: `git read-tree ${parent}: ${read.tail.slice(-1).join('')}` };
  let tip = parent;
  for (const [i, patch] of series.patches.entries()) {
    const mail = join(work, `mail-${i}`);
    await writeFile(mail, patch.bytes ?? await readFile(patch.path));
    const info = await git(exec, ['mailinfo', join(work, `msg-${i}`), join(work, `patch-${i}`)], { ...opts, cwd: work, input: await readFile(mail, 'latin1') });
    if (info.exitCode !== 0) return { problem: `git mailinfo on patch ${i + 1}: ${info.tail.slice(-1).join('')}` };
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(info.stdout)?.[1] ?? '';
    const apply = await git(exec, ['apply', '--cached', join(work, `patch-${i}`)], { ...opts, cwd: work });
    if (apply.exitCode !== 0) return { problem: `patch ${i + 1}/${series.patches.length} "${patch.subject}" does not apply there (${apply.tail.find((l) => l.startsWith('error:')) ?? `exit ${apply.exitCode}`})` };
    const tree = await gitOutput(exec, ['write-tree'], opts);
    const message = `${field('Subject')}\n\n${await readFile(join(work, `msg-${i}`), 'utf8')}`;
    const commit = await gitOutput(exec, ['commit-tree', tree!, '-p', tip, '-F', '-'], {
      gitDir: repo, env: { ...env, GIT_AUTHOR_NAME: field('Author') || 'unknown', GIT_AUTHOR_EMAIL: field('Email') || 'unknown', GIT_AUTHOR_DATE: field('Date') || GIT_IDENTITY_ENV.GIT_AUTHOR_DATE }, input: message,
    });
    if (!commit) return { problem: `git commit-tree for patch ${i + 1} failed` };
    tip = commit;
  }
  return { tip };
}

/** The diff part of a mail: from its first diff --git line, without the trailing signature. */
export function diffOf(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('diff --git '));
  if (start < 0) return [];
  const sig = lines.findIndex((l, i) => i > start && l === '-- ');
  return lines.slice(start, sig < 0 ? undefined : sig);
}

/** Without a kernel to apply on: patch k of A against patch k of B, their subjects and their diffs (git diff --no-index). */
async function mailDiffs(exec: ExecPort, a: Series, b: Series, work: string): Promise<string[]> {
  const out: string[] = [];
  const n = Math.max(a.patches.length, b.patches.length);
  for (let k = 0; k < n; k++) {
    const pa = a.patches[k];
    const pb = b.patches[k];
    if (!pa || !pb) {
      out.push(`${k + 1}: ${pa ? `${pa.subject}  (only in A)` : `${pb!.subject}  (only in B)`}`);
      continue;
    }
    const fa = join(work, `a-${k}.diff`);
    const fb = join(work, `b-${k}.diff`);
    await writeFile(fa, diffOf(pa.text).join('\n') + '\n');
    await writeFile(fb, diffOf(pb.text).join('\n') + '\n');
    const d = await git(exec, ['diff', '--no-index', '--no-color', '-U2', fa, fb], { env: ISOLATED_CONFIG_ENV });
    const same = d.exitCode === 0 && pa.subject === pb.subject;
    out.push(`${k + 1}: ${pa.subject}${pa.subject === pb.subject ? '' : `\n   -> ${pb.subject}`}  ${same ? '(same diff)' : '(diff changed)'}`);
    // Without the --no-index header: the file names are scratch files.
    if (d.exitCode === 1) out.push(...d.stdout.split('\n').filter((l) => !/^(diff --git|index |--- |\+\+\+ )/.test(l)).map((l) => `    ${l}`));
  }
  return out;
}

/**
 * git range-diff between A and B, each applied on the kernel commit the cache applied either on before; when neither
 * was, or one does not apply there, the mails' diffs compared patch by patch (and why).
 */
export async function rangeDiff(exec: ExecPort, cache: Pick<CacheLayout, 'sources'>, a: Series, b: Series): Promise<RangeDiff> {
  const work = await mkdtemp(join(tmpdir(), 'vm-test-compare-'));
  try {
    const bases = await knownBases(cache, [a.hash, b.hash]);
    let why = 'no kernel in the cache has had either revision applied';
    for (const { gitDir, base } of bases) {
      const repo = join(work, 'scratch.git');
      await rm(repo, { recursive: true, force: true });
      await git(exec, ['init', '-q', '--bare', repo], { env: ISOLATED_CONFIG_ENV });
      // Borrow the cache's objects (read-only), as git clone --shared does.
      await writeFile(join(repo, 'objects/info/alternates'), `${join(gitDir, 'objects')}\n`);
      const ta = await commitSeries(exec, repo, base, a, work);
      const tb = 'tip' in ta ? await commitSeries(exec, repo, base, b, work) : ta;
      if (!('tip' in ta) || !('tip' in tb)) {
        why = `on ${base.slice(0, 12)}: ${'problem' in ta ? `A's ${ta.problem}` : `B's ${(tb as { problem: string }).problem}`}`;
        continue;
      }
      const r = await git(exec, ['range-diff', '--no-color', `${base}..${ta.tip}`, `${base}..${tb.tip}`], { gitDir: repo, env: ISOLATED_CONFIG_ENV });
      if (r.exitCode === 0) return { method: `git range-diff, both applied on ${base.slice(0, 12)} (from ${gitDir})`, lines: r.stdout.split('\n') };
      why = `git range-diff failed: ${r.tail.slice(-1).join('')}`;
    }
    return { method: `the mails' diffs patch by patch (${why})`, lines: await mailDiffs(exec, a, b, work) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
