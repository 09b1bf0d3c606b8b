// What the guest sees of the host besides its read-only root: directories shared on their own 9p tags at
// fixed guest paths, so nothing a test runs is reached through a host path the init may cover (/tmp, /run).
import { relative, isAbsolute, join } from 'node:path';
import { VmTestError } from '../outcome.ts';

export interface GuestShare {
  /** 9p mount tag (at most 31 bytes). */
  tag: string;
  hostPath: string;
  /** Where the init mounts it: under its own tmpfs on /run, so the read-only root needs no mount point. */
  guestPath: string;
  readonly: boolean;
}

export interface GuestView {
  shares: readonly GuestShare[];
  /** The guest path of a host file or directory inside a share; throws for anything else. */
  toGuest(hostPath: string): string;
  /** Whether a word of a command line is a host path inside a share. */
  maps(word: string): boolean;
}

/** The kernel build directory (test binaries, guest suites, full selftests): read-only in the guest. */
export const BUILD_SHARE = { tag: 'vmtest-build', guestPath: '/run/vm-test-build' } as const;

function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)) ? rel : undefined;
}

export function guestView(shares: readonly GuestShare[]): GuestView {
  const find = (path: string) => {
    for (const share of shares) {
      const rel = isAbsolute(path) ? inside(share.hostPath, path) : undefined;
      if (rel !== undefined) return join(share.guestPath, rel);
    }
    return undefined;
  };
  return {
    shares,
    maps: (word) => find(word) !== undefined,
    toGuest(hostPath) {
      const mapped = find(hostPath);
      if (mapped === undefined) {
        throw new VmTestError('infra', `${hostPath} is not inside any directory shared with the guest (${shares.map((s) => s.hostPath).join(', ') || 'none'})`);
      }
      return mapped;
    },
  };
}

/** The init's mount list: "tag<TAB>guest path<TAB>ro|rw" per line. */
export function mountsText(view: GuestView): string {
  return view.shares.map((s) => `${s.tag}\t${s.guestPath}\t${s.readonly ? 'ro' : 'rw'}`).join('\n') + (view.shares.length ? '\n' : '');
}
