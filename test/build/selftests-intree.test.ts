// What the selftests Makefile writes into the shared source tree is each build directory's own: a real git
// worktree, two build directories taking turns, as bpf-ci's base and series do.
import test from 'ava';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreInTree, saveInTree, untrackedUnder } from '../../orchestrator/build/selftests-intree.ts';
import { realExec, sh, tempDir, writeFiles } from '../helpers.ts';

const DIR = 'tools/testing/selftests/bpf';

test('each build directory gets back what its own make left in the tree, with its times; the other\'s is gone; tracked files are untouched', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const tree = join(tmp.path, 'src');
  await writeFiles(tree, { [`${DIR}/test_progs.c`]: '#include "verification_cert.h"\n', [`${DIR}/.gitignore`]: 'verification_cert.h\ntest_kmods/*.ko\n' });
  await mkdir(join(tree, DIR, 'test_kmods'));
  await sh(tree, 'git', ['init', '-q']);
  await sh(tree, 'git', ['add', '.']);
  await sh(tree, 'git', ['commit', '-qm', 'tree']);
  const stashA = join(tmp.path, 'build-a', 'intree.tar');
  const stashB = join(tmp.path, 'build-b', 'intree.tar');
  await mkdir(join(tmp.path, 'build-a'));
  await mkdir(join(tmp.path, 'build-b'));
  const cert = join(tree, DIR, 'verification_cert.h');
  const module = join(tree, DIR, 'test_kmods', 'bpf_testmod.ko');
  const past = new Date('2026-12-01T10:00:00Z');

  // A's make: its certificate and module.
  await restoreInTree(realExec, tree, DIR, stashA);
  await writeFile(cert, 'cert of A\n');
  await writeFile(module, 'module for kernel A\n');
  await utimes(cert, past, past);
  t.is(await saveInTree(realExec, tree, DIR, stashA), 2);
  // B's make finds none of A's, and leaves its own (and one more file).
  t.deepEqual(await restoreInTree(realExec, tree, DIR, stashB), { removed: 2 });
  t.deepEqual(await untrackedUnder(realExec, tree, DIR), []);
  await writeFile(cert, 'cert of B\n');
  await writeFile(join(tree, DIR, 'prog_tests.h'), 'B only\n');
  await saveInTree(realExec, tree, DIR, stashB);
  // A again: exactly A's, with A's time (make decides by it).
  await restoreInTree(realExec, tree, DIR, stashA);
  t.is(await readFile(cert, 'utf8'), 'cert of A\n');
  t.is(await readFile(module, 'utf8'), 'module for kernel A\n');
  t.is((await stat(cert)).mtime.getTime(), past.getTime());
  t.deepEqual(await untrackedUnder(realExec, tree, DIR), [`${DIR}/test_kmods/bpf_testmod.ko`, `${DIR}/verification_cert.h`]);
  t.is(await readFile(join(tree, DIR, 'test_progs.c'), 'utf8'), '#include "verification_cert.h"\n');
  // And B's again.
  await restoreInTree(realExec, tree, DIR, stashB);
  t.is(await readFile(cert, 'utf8'), 'cert of B\n');
  t.deepEqual(await untrackedUnder(realExec, tree, DIR), [`${DIR}/prog_tests.h`, `${DIR}/verification_cert.h`]);
});
