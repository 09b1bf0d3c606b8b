// The BPF selftests Makefile writes into the source tree, not only into OUTPUT: prog_tests/tests.h and its kin,
// test_kmods/ (bpf_testmod.ko and its objects, built in place and copied out) and verification_cert.h (the
// certificate test_progs registers for the signed light skeletons). The cache's worktree is shared by every build
// directory of a source (bpf-ci's base and series, two revisions), so each build directory keeps its own copy of
// that state and gets it back before make runs: make then sees the tree as its own last build left it.
//
// Seen before this (2026-12-07, bpf-ci on 7.2.6): the base's test_progs embedded the series' build's certificate
// while its light skeletons were signed with the base's key, and atomics, fentry_test, fexit_test and fentry_fexit
// failed on the base only, "skel_load unexpected error: -126" (ENOKEY).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ExecPort } from '../exec/exec-port.ts';
import { VmTestError } from '../outcome.ts';
import { gitOutput } from '../source/git.ts';

/** The files under dir that git does not track (ignored or not): what a build wrote into the source tree. */
export async function untrackedUnder(exec: ExecPort, worktree: string, dir: string): Promise<string[]> {
  const out = await gitOutput(exec, ['ls-files', '-z', '--others', '--', dir], { cwd: worktree });
  if (out === undefined) throw new VmTestError('infra', `git ls-files in ${worktree} failed: cannot tell the selftests' own files from what a build left there`, { file: worktree });
  return out.split('\0').filter(Boolean).sort();
}

/** Before make: whatever another build directory's make left in dir goes, and this one's comes back (mtimes kept). */
export async function restoreInTree(exec: ExecPort, worktree: string, dir: string, stash: string): Promise<{ removed: number }> {
  const left = await untrackedUnder(exec, worktree, dir);
  await Promise.all(left.map((f) => rm(join(worktree, f), { force: true })));
  if (existsSync(stash)) await tar.x({ file: stash, cwd: worktree });
  return { removed: left.length };
}

/** After make (whatever it ended with): what it left in dir, kept in this build directory for its next make. */
export async function saveInTree(exec: ExecPort, worktree: string, dir: string, stash: string): Promise<number> {
  const files = await untrackedUnder(exec, worktree, dir);
  await rm(stash, { force: true });
  if (files.length) await tar.c({ file: stash, cwd: worktree, portable: false }, files);
  return files.length;
}
