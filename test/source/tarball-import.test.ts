// A tar.xz into one commit through git fast-import gives the tree git add would have given. Real xz and git.
import test from 'ava';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fastImportPath, importTarball, TARBALL_IMPORTER } from '../../orchestrator/source/tarball-import.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

async function kernelLikeTarball(root: string, big = ''): Promise<{ top: string; tarball: string }> {
  const top = join(root, 'linux-source-7.2');
  await writeFiles(top, {
    Makefile: 'VERSION = 7\nPATCHLEVEL = 2\n',
    // Debian's tarball ignores everything: the import must not.
    '.gitignore': '*\n',
    'kernel/bpf/hashtab.c': 'int a;\n'.repeat(50_000),
    'scripts/checkpatch.pl': '#!/usr/bin/perl\n',
    'Documentation/a file with spaces.rst': 'x\n',
    'tools/"quoted".h': 'q\n',
    'empty.h': '',
    ...(big ? { 'drivers/big.h': big } : {}),
  });
  await chmod(join(top, 'scripts/checkpatch.pl'), 0o755);
  await symlink('../kernel/bpf/hashtab.c', join(top, 'scripts/link.c'));
  await mkdir(join(top, 'usr/empty-dir'), { recursive: true });
  const tarball = join(root, 'linux-source-7.2.tar.xz');
  await sh(root, 'tar', ['-cJf', tarball, 'linux-source-7.2']);
  return { top, tarball };
}

test('the imported tree is the one git add -A -f makes of the unpacked files: modes, symlink, odd names, ignored files', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { top, tarball } = await kernelLikeTarball(tmp.path);
  const gitDir = join(tmp.path, 'git');
  await sh(tmp.path, 'git', ['init', '-q', '--bare', gitDir]);

  const result = await importTarball({ exec: realExec, gitDir, tarball, ref: 'refs/vm-test/deb/7.2.6', message: 'linux-source-7.2 7.2.6 (pristine import)' });
  if (!('commit' in result)) return t.fail(result.error);
  t.is(result.files, 8);

  const expected = join(tmp.path, 'expected');
  await sh(tmp.path, 'git', ['init', '-q', expected]);
  await sh(tmp.path, 'git', [`--git-dir=${join(expected, '.git')}`, `--work-tree=${top}`, 'add', '-f', '-A', '.']);
  const expectedTree = await sh(tmp.path, 'git', [`--git-dir=${join(expected, '.git')}`, 'write-tree']);
  t.is(await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'rev-parse', `${result.commit}^{tree}`]), expectedTree);

  const listing = await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'ls-tree', '-r', result.commit]);
  t.regex(listing, /^100755 blob \w+\tscripts\/checkpatch\.pl$/m);
  t.regex(listing, /^120000 blob \w+\tscripts\/link\.c$/m);
  t.regex(listing, /^100644 blob \w+\t\.gitignore$/m);
  t.is(await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'log', '-1', '--format=%an <%ae> %at|%s', result.commit]), 'vm-test <vm-test@localhost> 946684800|linux-source-7.2 7.2.6 (pristine import)');

  // One pack, no loose objects; and the same tarball gives the same commit again.
  t.regex(await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'count-objects', '-v']), /^count: 0$/m);
  const again = await importTarball({ exec: realExec, gitDir, tarball, ref: 'refs/vm-test/deb/again', message: 'linux-source-7.2 7.2.6 (pristine import)' });
  t.deepEqual(again, result);

  // A worktree of the commit holds exactly the files, and git sees it clean.
  const worktree = join(tmp.path, 'worktree');
  await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'worktree', 'add', '-q', '--detach', worktree, result.commit]);
  t.is(await readFile(join(worktree, 'kernel/bpf/hashtab.c'), 'utf8'), 'int a;\n'.repeat(50_000));
  t.is(await sh(worktree, 'git', ['status', '--porcelain', '--ignored']), '');
});

// The tree this importer makes of kernelLikeTarball, under its name: imports.json reuses an import only under the same
// name, so a change to the importer that changes a tree must change the name too, or old imports would pass as new ones.
const PINNED = { importer: 'fast-import/1: top directory stripped, owner-exec modes, symlinks, hard links as copies, ignore files kept', tree: '27d25b1fef73b3366ff512e94c2684a274f09ac4' };

test('the importer\'s name pins what it makes: a change to the tree it makes is a change of TARBALL_IMPORTER', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { tarball } = await kernelLikeTarball(tmp.path);
  const gitDir = join(tmp.path, 'git');
  await sh(tmp.path, 'git', ['init', '-q', '--bare', gitDir]);
  const result = await importTarball({ exec: realExec, gitDir, tarball, ref: 'refs/vm-test/deb/pin', message: 'pin' });
  if (!('commit' in result)) return t.fail(result.error);
  const tree = (await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'rev-parse', `${result.commit}^{tree}`])).trim();
  t.deepEqual({ importer: TARBALL_IMPORTER, tree }, PINNED, 'the importer makes another tree of the same tarball now: give TARBALL_IMPORTER a new name and pin the new tree here');
});

test('a truncated tarball is an error naming it, and leaves no ref', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const { tarball } = await kernelLikeTarball(tmp.path);
  const bytes = await readFile(tarball);
  const cut = join(tmp.path, 'cut.tar.xz');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const gitDir = join(tmp.path, 'git');
  await sh(tmp.path, 'git', ['init', '-q', '--bare', gitDir]);
  const result = await importTarball({ exec: realExec, gitDir, tarball: cut, ref: 'refs/vm-test/deb/cut', message: 'cut' });
  t.true('error' in result && result.error.includes(cut), JSON.stringify(result));
  t.is(await sh(tmp.path, 'git', [`--git-dir=${gitDir}`, 'for-each-ref']), '');
});

test('a repository git cannot write to stops the import instead of hanging on a full pipe', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // 32 MiB: more than the pipes and the stream's buffer hold, so xz would block if nobody stopped it.
  const { tarball } = await kernelLikeTarball(tmp.path, 'x'.repeat(32 << 20));
  const result = await importTarball({ exec: realExec, gitDir: join(tmp.path, 'no-such-repo'), tarball, ref: 'refs/vm-test/deb/x', message: 'x' });
  t.true('error' in result && result.error.includes('git fast-import'), JSON.stringify(result));
});

test('fast-import paths: quoted only when they start with a quote or hold a newline', (t) => {
  t.is(fastImportPath('Documentation/a b.rst'), 'Documentation/a b.rst');
  t.is(fastImportPath('tools/"q".h'), 'tools/"q".h');
  t.is(fastImportPath('"q'), '"\\"q"');
  t.is(fastImportPath('a\nb\\c'), '"a\\nb\\\\c"');
});
