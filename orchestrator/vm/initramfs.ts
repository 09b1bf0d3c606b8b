// A newc cpio archive for an initramfs: for prebuilt kernels without 9p (and for fast QEMU tests).
import { readFile, writeFile } from 'node:fs/promises';
import { INITRAMFS_RUN_DIR, PLAN_FILE } from '../guest/protocol.ts';

export type InitramfsEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer | string; mode?: number }
  | { kind: 'symlink'; path: string; target: string };

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex = (n: number) => n.toString(16).padStart(8, '0');

function header(ino: number, mode: number, size: number, nameLength: number): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameLength, 0].map(hex).join('');
}

export function cpioNewc(entries: readonly InitramfsEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  const add = (name: string, mode: number, data: Buffer) => {
    const nameBuf = Buffer.from(name + '\0');
    const head = Buffer.from(header(ino++, mode, data.length, nameBuf.length));
    chunks.push(head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.kind === 'dir') add(name, 0o040000 | (e.mode ?? 0o755), Buffer.alloc(0));
    else if (e.kind === 'symlink') add(name, 0o120000 | 0o777, Buffer.from(e.target));
    else add(name, 0o100000 | (e.mode ?? 0o644), Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data));
  }
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(chunks);
}

const APPLETS = ['sh', 'mount', 'mkdir', 'cat', 'echo', 'timeout', 'sync', 'printf', 'uname', 'hostname', 'sleep', 'reboot', 'ls', 'touch', 'true', 'false', 'ip', 'head', 'dd', 'test', '['];

/** The plan baked into an initramfs, where the init looks for it when the run directory's 9p share is missing. */
export function initramfsPlan(planText: string): InitramfsEntry {
  return { kind: 'file', path: `${INITRAMFS_RUN_DIR}/${PLAN_FILE}`, data: planText };
}

/** An initramfs with static busybox, the given init at initPath, and extra files (e.g. initramfsPlan). */
export async function buildBusyboxInitramfs(out: string, init: { path: string; text: string }, extra: InitramfsEntry[] = [], busybox = '/bin/busybox'): Promise<void> {
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'run', 'var', 'var/tmp', 'etc', INITRAMFS_RUN_DIR.slice(1), ...new Set(extra.map((e) => e.path.replace(/^\/+/, '').split('/').slice(0, -1).join('/')).filter(Boolean))];
  const entries: InitramfsEntry[] = [
    ...[...new Set(dirs)].map((path): InitramfsEntry => ({ kind: 'dir', path })),
    { kind: 'file', path: 'bin/busybox', data: await readFile(busybox), mode: 0o755 },
    ...APPLETS.map((a): InitramfsEntry => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { kind: 'file', path: init.path, data: init.text, mode: 0o755 },
    ...extra,
  ];
  await writeFile(out, cpioNewc(entries));
}
