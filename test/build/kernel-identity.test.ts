// Build IDs: from notes bytes, from a bzImage's payload, from the guest's hex; unit tests on synthetic images.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildIdFromNotesHex, bzImagePayload, checkImageHoldsBuilt, elfBuildId, gnuBuildIds } from '../../orchestrator/build/kernel-identity.ts';
import { realExec, tempDir } from '../helpers.ts';

function note(name: string, type: number, desc: Buffer): Buffer {
  const n = Buffer.from(name + '\0');
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(n.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(n), pad(desc)]);
}

const KERNEL_ID = 'f102bc94aa55aa55aa55aa55aa55aa55aa55aa55';
const VDSO_ID = '0cad54ca00112233445566778899aabbccddeeff';

/** A notes section like /sys/kernel/notes: a Xen note, the build ID, a Linux note. */
const notes = (id: string) => Buffer.concat([note('Xen', 6, Buffer.from('2.6')), note('GNU', 3, Buffer.from(id, 'hex')), note('Linux', 1, Buffer.from([1, 2, 3, 4]))]);

/** A bzImage: setup header with HdrS, boot protocol 2.15, payload_offset/length pointing at a gzip of the kernel, plus the size gzip's trailer carries again. */
function bzImage(kernel: Buffer, setupSects = 3): Buffer {
  const gz = gzipSync(kernel, { level: 9 });
  const size = Buffer.alloc(4);
  size.writeUInt32LE(kernel.length);
  const payload = Buffer.concat([gz, size]);
  const pmStart = (setupSects + 1) * 512;
  const offset = 0x300;
  const image = Buffer.alloc(pmStart + offset + payload.length + 64);
  image[0x1f1] = setupSects;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x20f, 0x206);
  image.writeUInt32LE(offset, 0x248);
  image.writeUInt32LE(payload.length, 0x24c);
  payload.copy(image, pmStart + offset);
  return image;
}

test('gnuBuildIds finds the GNU build ID among other notes, and every one in a kernel image (the vDSO\'s too)', (t) => {
  t.deepEqual(gnuBuildIds(notes(KERNEL_ID)), [KERNEL_ID]);
  const image = Buffer.concat([Buffer.alloc(100, 7), notes(VDSO_ID), Buffer.alloc(33, 1), notes(KERNEL_ID)]);
  t.deepEqual(gnuBuildIds(image), [VDSO_ID, KERNEL_ID]);
  t.deepEqual(gnuBuildIds(Buffer.from('GNU\0 but no note header')), []);
});

test('buildIdFromNotesHex reads init\'s hexdump of /sys/kernel/notes; none or garbage gives undefined', (t) => {
  t.is(buildIdFromNotesHex(notes(KERNEL_ID).toString('hex')), KERNEL_ID);
  t.is(buildIdFromNotesHex('none'), undefined);
  t.is(buildIdFromNotesHex('abc'), undefined);
});

test('bzImagePayload finds the gzip payload through the setup header, and refuses what is not a bzImage', (t) => {
  const p = bzImagePayload(bzImage(Buffer.from('kernel')));
  t.true('compression' in p && p.compression === 'gzip');
  t.regex((bzImagePayload(Buffer.alloc(4096)) as { problem: string }).problem, /not a bzImage/);
});

test('checkImageHoldsBuilt: true when the payload holds vmlinux\'s build ID, false (naming what it holds) when it holds another kernel', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  // A real ELF vmlinux stand-in: an object whose note section gcc's linker fills with --build-id.
  await writeFile(join(tmp.path, 'k.c'), 'int main(void) { return 0; }\n');
  const ld = await realExec.run({ command: 'gcc', args: ['-Wl,--build-id=sha1', '-o', 'vmlinux', 'k.c'], cwd: tmp.path });
  t.is(ld.exitCode, 0);
  const built = await elfBuildId(join(tmp.path, 'vmlinux'));
  t.regex(built!, /^[0-9a-f]{40}$/);
  const readelf = await realExec.run({ command: 'readelf', args: ['-n', join(tmp.path, 'vmlinux')] });
  t.true(readelf.stdout.includes(`Build ID: ${built}`));

  const kernelBytes = (id: string) => Buffer.concat([Buffer.alloc(5000, 0x90), notes(VDSO_ID), Buffer.alloc(300, 0xcc), notes(id), Buffer.alloc(5000, 0)]);
  await writeFile(join(tmp.path, 'good'), bzImage(kernelBytes(built!)));
  await writeFile(join(tmp.path, 'stale'), bzImage(kernelBytes(KERNEL_ID)));
  const good = await checkImageHoldsBuilt(join(tmp.path, 'good'), join(tmp.path, 'vmlinux'));
  t.true(good.holdsBuilt);
  const stale = await checkImageHoldsBuilt(join(tmp.path, 'stale'), join(tmp.path, 'vmlinux'));
  t.false(stale.holdsBuilt);
  t.deepEqual(stale.inImage, [VDSO_ID, KERNEL_ID]);
  t.is(stale.built, built);
});

test('checkImageHoldsBuilt says why it did not check: another compression, or a vmlinux without a build ID', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  const image = bzImage(Buffer.from('x'));
  // zstd's magic where gzip's was.
  const at = image.indexOf(Buffer.from([0x1f, 0x8b]));
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]).copy(image, at);
  await writeFile(join(tmp.path, 'bz'), image);
  await writeFile(join(tmp.path, 'k.c'), 'int main(void) { return 0; }\n');
  await realExec.run({ command: 'gcc', args: ['-Wl,--build-id=sha1', '-o', 'vmlinux', 'k.c'], cwd: tmp.path });
  await realExec.run({ command: 'gcc', args: ['-Wl,--build-id=none', '-o', 'noid', 'k.c'], cwd: tmp.path });
  const zstd = await checkImageHoldsBuilt(join(tmp.path, 'bz'), join(tmp.path, 'vmlinux'));
  t.is(zstd.holdsBuilt, undefined);
  t.regex(zstd.problem!, /zstd payload is not checked/);
  const noId = await checkImageHoldsBuilt(join(tmp.path, 'bz'), join(tmp.path, 'noid'));
  t.regex(noId.problem!, /no GNU build ID/);
});
