// imports.json reuses a Debian import only when this importer made it and, when apt's lists name the .deb's sha256,
// from that .deb. apt, apt-cache and dpkg-deb are fakes serving a small tarball as the package; xz, the tar parser
// and git are real.
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import type { ExecPort, ExecRequest } from '../../orchestrator/exec/exec-port.ts';
import { parseKernelSpec } from '../../orchestrator/source/kernel-spec.ts';
import { resolveSource } from '../../orchestrator/source/source.ts';
import { fakeResult, realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const PKG = 'linux-source-7.2';
const VERSION = '7.2.6-1';

/** The archive: one version of the package, whose .deb and tarball the test can replace. */
async function archive(root: string) {
  const served = { deb: 'deb bytes A', tarball: '' };
  const tarballOf = async (name: string, hashtab: string) => {
    const top = join(root, name, PKG);
    await writeFiles(top, { Makefile: 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 6\nEXTRAVERSION =\n', Kconfig: 'config X\n', 'kernel/bpf/hashtab.c': hashtab });
    const tarball = join(root, name, `${PKG}.tar.xz`);
    await sh(join(root, name), 'tar', ['-cJf', tarball, PKG]);
    return tarball;
  };
  served.tarball = await tarballOf('a', 'int a;\n');
  const downloads: string[] = [];
  const exec: ExecPort = {
    async run(req: ExecRequest) {
      if (req.command === 'apt-get' && req.args.includes('update')) return fakeResult();
      if (req.command === 'apt-get' && req.args.includes('download')) {
        downloads.push(served.deb);
        await writeFile(join(req.cwd!, `${PKG}_${VERSION}_all.deb`), served.deb);
        return fakeResult();
      }
      if (req.command === 'apt-cache' && req.args.includes('madison')) return fakeResult({ stdout: `${PKG} | ${VERSION} | http://deb.debian.org/debian trixie/main all Packages\n` });
      if (req.command === 'apt-cache' && req.args.includes('show')) {
        return fakeResult({ stdout: `Package: ${PKG}\nVersion: ${VERSION}\nSHA256: ${createHash('sha256').update(served.deb).digest('hex')}\n\n` });
      }
      if (req.command === 'dpkg-deb') {
        const extract = req.args[2]!;
        await mkdir(join(extract, 'usr/src'), { recursive: true });
        await copyFile(served.tarball, join(extract, 'usr/src', `${PKG}.tar.xz`));
        return fakeResult();
      }
      return realExec.run(req);
    },
  };
  return { served, downloads, exec, tarballOf };
}

async function setup(root: string, specText: string) {
  const etcApt = join(root, 'etc-apt');
  await writeFiles(etcApt, { 'sources.list.d/debian.sources': 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n' });
  const served = await archive(root);
  const cache = cacheLayout(join(root, 'cache'));
  const events: RunEvent[] = [];
  const bus = new RunEvents();
  bus.subscribe((e) => events.push(e));
  const spec = parseKernelSpec(specText);
  if ('error' in spec) throw new Error(spec.error);
  const resolve = async () => {
    const source = await resolveSource({ exec: served.exec, cache, events: bus, logFile: join(root, 'source.log'), etcApt }, spec);
    const hashtab = await sh(root, 'git', [`--git-dir=${source.gitDir}`, 'show', `${source.pristineCommit}:kernel/bpf/hashtab.c`]);
    return { source, hashtab };
  };
  return { ...served, cache, events, resolve, importsPath: join(cache.sources, `deb-${PKG}`, 'imports.json') };
}

test('an import recorded by another importer is made again, not reused', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { resolve, downloads, importsPath, events } = await setup(tmp.path, `deb:${PKG}=${VERSION}@trixie`);
  const first = await resolve();
  t.is(first.hashtab, 'int a;');
  t.is((await resolve()).source.pristineCommit, first.source.pristineCommit);
  t.is(downloads.length, 1, 'a pinned version imported before: no download');
  // What an older importer left: another tree (it lost a line, say) under the same version.
  const imports = JSON.parse(await readFile(importsPath, 'utf8'));
  const gitDir = first.source.gitDir;
  const oldTree = (await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'mktree'])).trim();
  const oldCommit = (await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'commit-tree', oldTree, '-m', 'old import'])).trim();
  imports[VERSION] = { ...imports[VERSION], pristineCommit: oldCommit, importer: 'fast-import/0: an older one' };
  await writeFile(importsPath, JSON.stringify(imports));
  const again = await resolve();
  t.is(downloads.length, 2);
  t.is(again.source.pristineCommit, first.source.pristineCommit, 'the tree this importer makes, not the old import');
  t.true(events.some((e) => e.type === 'warn' && /made by another importer \(fast-import\/0/.test(e.message)));
});

test('the archive lists another .deb under the same version: imported again from it', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { resolve, served, downloads, tarballOf, events } = await setup(tmp.path, `deb:${PKG}@trixie`);
  t.is((await resolve()).hashtab, 'int a;');
  t.is((await resolve()).hashtab, 'int a;');
  t.is(downloads.length, 1, 'the same .deb listed: reused');
  served.deb = 'deb bytes B';
  served.tarball = await tarballOf('b', 'int b;\n');
  const after = await resolve();
  t.is(downloads.length, 2);
  t.is(after.hashtab, 'int b;', 'not the import of the other .deb');
  t.true(events.some((e) => e.type === 'warn' && /made from a \.deb with sha256 [0-9a-f]{64}, and .* lists [0-9a-f]{64}/.test(e.message)));
});
