// What a cached output read, recorded after it was made and checked before it is reused: ccache's direct mode,
// for the outputs vm-test caches itself. The compiler's dependency files and the linker's trace (ld -t) name
// every header, archive and library read, including the ones no key names up front (host headers, libc.a,
// a tree header behind a symlink).
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

/** Each input's sha256, by absolute path; 'absent' for one that was not there. */
export interface InputManifest {
  files: Record<string, string>;
}

/** The prerequisites of a make-style dependency file (gcc -MD): continuation lines joined, escaped spaces kept. */
export function depfileInputs(text: string, cwd: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: string[] = [];
  for (const rule of joined.split('\n')) {
    // "target: prerequisites"; a target is a path without an unescaped ": " in it.
    const colon = rule.search(/:(\s|$)/);
    if (colon < 0) continue;
    const words = rule.slice(colon + 1).match(/(?:\\.|[^\s\\])+/g) ?? [];
    for (const word of words) out.push(resolve(cwd, word.replace(/\\(.)/g, '$1').replaceAll('$$', '$')));
  }
  return [...new Set(out)];
}

/** The files a tools/build .cmd file (fixdep's output) lists under deps_<object>, skipping $(wildcard ...) entries. */
export function cmdFileInputs(text: string, cwd: string): string[] {
  const out: string[] = [];
  let inDeps = false;
  for (const line of text.split('\n')) {
    if (/^deps_\S+\s*:=/.test(line)) {
      inDeps = true;
      continue;
    }
    if (!inDeps) continue;
    const word = line.trim().replace(/\s*\\$/, '');
    if (word === '') {
      inDeps = false;
      continue;
    }
    if (!word.startsWith('$(')) out.push(resolve(cwd, word));
  }
  return [...new Set(out)];
}

/** The files GNU ld opened, from its -t (--trace) output on stdout: one path a line; other lines are left out. */
export function linkTraceInputs(stdout: string, cwd: string): string[] {
  const out: string[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    // Older binutils print an archive member as "(archive)member.o".
    const member = /^\((.+)\)[^()]+$/.exec(line);
    const path = member ? member[1]! : line;
    if (path === '' || /\s/.test(path) || !/^[./\w]/.test(path)) continue;
    out.push(isAbsolute(path) ? resolve(path) : resolve(cwd, path));
  }
  return [...new Set(out)];
}

/** sha256 of each file's bytes (symlinks followed); 'absent' when it cannot be read. memo spares re-reading a file within one check. */
export async function hashInputs(paths: Iterable<string>, memo: Map<string, Promise<string>> = new Map()): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const sorted = [...new Set(paths)].sort();
  const hashes = await Promise.all(sorted.map((path) => {
    let hash = memo.get(path);
    if (!hash) {
      hash = readFile(path).then((bytes) => createHash('sha256').update(bytes).digest('hex'), () => 'absent');
      memo.set(path, hash);
    }
    return hash;
  }));
  sorted.forEach((path, i) => (files[path] = hashes[i]!));
  return files;
}

/** The recorded inputs that read differently now (changed or gone), in path order; empty when the output may be reused. */
export async function changedInputs(manifest: InputManifest, memo?: Map<string, Promise<string>>): Promise<string[]> {
  const now = await hashInputs(Object.keys(manifest.files), memo);
  return Object.keys(manifest.files).sort().filter((path) => now[path] !== manifest.files[path]);
}

/** A manifest of the inputs that exist now; the ones that do not (a compiler's temporary object) are left out. */
export async function recordInputs(paths: Iterable<string>, memo?: Map<string, Promise<string>>): Promise<InputManifest> {
  const files = await hashInputs(paths, memo);
  for (const [path, hash] of Object.entries(files)) if (hash === 'absent') delete files[path];
  return { files };
}

export async function readManifest(path: string): Promise<InputManifest | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as InputManifest;
    return parsed && typeof parsed.files === 'object' && parsed.files !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function writeManifest(path: string, manifest: InputManifest): Promise<void> {
  await writeFile(`${path}.tmp-${process.pid}`, JSON.stringify(manifest, null, 1) + '\n');
  await rename(`${path}.tmp-${process.pid}`, path);
}
