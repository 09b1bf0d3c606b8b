// What the guest sees of the host besides its read-only root: directories shared on their own 9p tags at
// fixed guest paths, so nothing a test runs is reached through a host path the init may cover (/tmp, /run).
import { relative, isAbsolute, join } from 'node:path';
import { VmTestError } from '../outcome.ts';
import { BUILD_SHARE, mountsTsv, type GuestMount } from './protocol.ts';

export { BUILD_SHARE };

/** A host directory on a 9p tag of its own (at most MAX_TAG_BYTES), mounted by the init at guestPath from mounts.tsv. */
export interface GuestShare extends GuestMount {
  hostPath: string;
}

export interface GuestView {
  shares: readonly GuestShare[];
  /** The guest path of a host file or directory inside a share; throws for anything else. */
  toGuest(hostPath: string): string;
  /** Whether a word of a command line is a host path inside a share. */
  maps(word: string): boolean;
}

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

/** The init's mount list, mounts.tsv. */
export function mountsText(view: GuestView): string {
  return mountsTsv(view.shares);
}
