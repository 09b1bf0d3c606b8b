// Which kernel a file holds: the GNU build ID of vmlinux, of the kernel inside a bzImage, and of the kernel that booted.
import { open, readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

const NT_GNU_BUILD_ID = 3;

/** An ELF note's header is namesz, descsz, type; a build ID's name is "GNU\0". */
const GNU_NOTE_HEAD = Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, NT_GNU_BUILD_ID, 0, 0, 0, 0x47, 0x4e, 0x55, 0]);

/**
 * Every GNU build ID note in raw bytes (a notes section, /sys/kernel/notes, a decompressed kernel image),
 * found by its header: namesz 4, any descsz from 8 to 64, type 3, "GNU\0", then the ID. The kernel image
 * carries the vDSOs' notes too, so a caller looks for the ID it expects among them.
 */
export function gnuBuildIds(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids: string[] = [];
  const tail = GNU_NOTE_HEAD.subarray(8);
  for (let at = buf.indexOf(tail, 8); at >= 0; at = buf.indexOf(tail, at + 1)) {
    const start = at - 8;
    if (buf.readUInt32LE(start) !== 4) continue;
    const size = buf.readUInt32LE(start + 4);
    if (size < 8 || size > 64 || at + 8 + size > buf.length) continue;
    ids.push(buf.subarray(at + 8, at + 8 + size).toString('hex'));
  }
  return ids;
}

/** The build ID in an ELF file's note sections (vmlinux: the linker's --build-id=sha1), read without loading the file. */
export async function elfBuildId(path: string): Promise<string | undefined> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    // 64-bit little-endian ELF only: the x86_64 kernel.
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
    const shoff = Number(header.readBigUInt64LE(0x28));
    const shentsize = header.readUInt16LE(0x3a);
    const shnum = header.readUInt16LE(0x3c);
    const sections = Buffer.alloc(shentsize * shnum);
    await file.read(sections, 0, sections.length, shoff);
    for (let i = 0; i < shnum; i++) {
      const s = sections.subarray(i * shentsize);
      const SHT_NOTE = 7;
      if (s.readUInt32LE(4) !== SHT_NOTE) continue;
      const offset = Number(s.readBigUInt64LE(0x18));
      const size = Number(s.readBigUInt64LE(0x20));
      const notes = Buffer.alloc(size);
      await file.read(notes, 0, size, offset);
      const id = gnuBuildIds(notes)[0];
      if (id) return id;
    }
    return undefined;
  } finally {
    await file.close();
  }
}

export type Compression = 'gzip' | 'xz' | 'lzma' | 'zstd' | 'lz4' | 'bzip2' | 'lzo' | 'unknown';

/** The compressed kernel a bzImage carries (boot protocol 2.08+: payload_offset and payload_length in the setup header). */
export function bzImagePayload(image: Uint8Array): { compression: Compression; data: Buffer } | { problem: string } {
  const buf = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (buf.length < 0x250 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return { problem: 'not a bzImage (no "HdrS" setup header)' };
  const version = buf.readUInt16LE(0x206);
  if (version < 0x208) return { problem: `boot protocol ${version >> 8}.${version & 0xff} has no payload fields` };
  const setupSects = buf[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (start + length > buf.length) return { problem: `the payload (${length} bytes at ${start}) runs past the end of the file` };
  const data = buf.subarray(start, start + length);
  return { compression: compressionOf(data), data };
}

function compressionOf(data: Buffer): Compression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => data[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x5d, 0x00, 0x00)) return 'lzma';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x02, 0x21, 0x4c, 0x18)) return 'lz4';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0x89, 0x4c, 0x5a, 0x4f)) return 'lzo';
  return 'unknown';
}

/** gzip's member without its header: the kernel appends the uncompressed size after it, which gunzip would read as a second member. */
function gunzipKernel(data: Buffer): Buffer {
  const flags = data[3]!;
  let at = 10;
  if (flags & 0x04) at += 2 + data.readUInt16LE(at);
  if (flags & 0x08) at = data.indexOf(0, at) + 1;
  if (flags & 0x10) at = data.indexOf(0, at) + 1;
  if (flags & 0x02) at += 2;
  return inflateRawSync(data.subarray(at));
}

export interface ImageCheck {
  /** The build ID of the vmlinux the build produced. */
  built?: string;
  /** The build IDs found in the bzImage's kernel (its own and the vDSOs'); undefined when it could not be read. */
  inImage?: string[];
  compression?: Compression;
  /** true: the bzImage holds the built vmlinux; false: it holds another kernel; undefined: not checked (why in `problem`). */
  holdsBuilt?: boolean;
  problem?: string;
}

/**
 * Does the bzImage carry the vmlinux next to it? Decompresses its payload and looks for vmlinux's build ID
 * note in it. gzip (the kernel's default) only; another compression is not checked here, and the
 * guest's own report of its build ID still is.
 */
export async function checkImageHoldsBuilt(bzImage: string, vmlinux: string): Promise<ImageCheck> {
  const built = await elfBuildId(vmlinux).catch(() => undefined);
  if (!built) return { problem: `${vmlinux} has no GNU build ID note` };
  const payload = bzImagePayload(await readFile(bzImage));
  if ('problem' in payload) return { built, problem: `${bzImage}: ${payload.problem}` };
  if (payload.compression !== 'gzip') return { built, compression: payload.compression, problem: `${bzImage}: a ${payload.compression} payload is not checked on the host` };
  let kernel: Buffer;
  try {
    kernel = gunzipKernel(payload.data);
  } catch (error) {
    return { built, compression: payload.compression, problem: `${bzImage}: its gzip payload does not decompress (${(error as Error).message})` };
  }
  const inImage = gnuBuildIds(kernel);
  return { built, inImage, compression: payload.compression, holdsBuilt: inImage.includes(built) };
}

/** The build ID in /sys/kernel/notes as the guest's init sends it: the file's bytes in hex. */
export function buildIdFromNotesHex(hex: string): string | undefined {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  return gnuBuildIds(Buffer.from(clean.slice(0, clean.length & ~1), 'hex'))[0];
}
