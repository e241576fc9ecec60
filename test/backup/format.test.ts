// Proves the backup file format round-trips every bin type, key kind and TTL, and that a damaged
// file — truncated anywhere, any single bit flipped, bad magic or version, an oversized, unknown,
// misplaced or malformed frame, a wrong count, bytes after the trailer — is refused with a coded
// BackupError naming the offset of the frame at fault.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_FRAME_BYTES_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { Writer } from '../../src/protocol/writer';
import { BackupError } from '../../src/backup/backup-error';
import { BackupFileReader, checkBackupFile } from '../../src/backup/file-reader';
import { crc32c } from '../../src/storage/crc32c';
import { FrameKind, PREAMBLE_BYTES, FRAME_HEADER_BYTES, writeRecordBody, writeTrailerBody } from '../../src/backup/format';
import { beginFrame, endFrame, FrameReader } from '../../src/backup/frames';
import { allTypesBins, buildFile, HEADER, memorySource, readAll, record } from './helpers/files';

const SAMPLE = [
  record('users', 'ada', allTypesBins(1)),
  record(null, 42, { n: 1 }, { gen: 7, ttl: 3600 }),
  record('s', 2n ** 63n - 1n, { x: 'big key' }, { storeKey: false, gen: 65535 }),
  record('s', Buffer.from('bytes-key'), { nested: [[[[{ deep: [1.25] }]]]] }, { ttl: 1 }),
];

async function failure(bytes: Buffer): Promise<BackupError> {
  try {
    await readAll(bytes);
  } catch (error) {
    if (error instanceof BackupError) return error;
    throw error;
  }
  throw new Error('the damaged file was accepted');
}

t.test('every bin type, key kind, generation and TTL survive a round trip', async (t) => {
  const { bytes } = buildFile({ ...HEADER, set: 'users' }, SAMPLE);
  const { header, records } = await readAll(bytes);
  t.same(header, { ...HEADER, set: 'users' });
  t.equal(records.length, SAMPLE.length);
  for (let i = 0; i < SAMPLE.length; i++) t.ok(isDeepStrictEqual(records[i], SAMPLE[i]), `record ${i} is identical`);
  t.equal(typeof records[0].bins.big, 'bigint', 'a 64-bit integer stays a bigint');
  t.ok(records[0].bins.intMap instanceof Map, 'a map with integer keys stays a Map');
  t.equal(records[2].key, null, 'a record stored without its key keeps only its digest');
});

t.test('a file on disk reads the same, and a whole-file check counts it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aerie-backup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'f.bak');
  const { bytes } = buildFile(HEADER, SAMPLE);
  writeFileSync(file, bytes);
  const summary = await checkBackupFile(file);
  t.same({ records: summary.records, bytes: summary.bytes }, { records: SAMPLE.length, bytes: bytes.length });
  const missing = await BackupFileReader.open(join(file, 'nope')).catch((e: BackupError) => e);
  t.match(missing, { code: Status.CLIENT_ERROR, failure: 'io-failed' }, 'a missing file is a client-side I/O failure');
});

t.test('an empty backup is a header and a trailer', async (t) => {
  const { records } = await readAll(buildFile(HEADER, []).bytes);
  t.same(records, []);
});

t.test('a file cut at any byte is refused as truncated, at the frame cut', async (t) => {
  const { bytes, frameOffsets } = buildFile(HEADER, SAMPLE);
  const problems: string[] = [];
  for (let length = 0; length < bytes.length; length++) {
    const error = await failure(bytes.subarray(0, length));
    const frameAt = length < PREAMBLE_BYTES ? 0 : Math.max(...frameOffsets.filter((o) => o <= length));
    const ok = error.failure === 'truncated' && error.code === Status.PARAMETER && error.offset === frameAt;
    if (!ok) problems.push(`cut at ${length}: ${error.failure} at ${error.offset}, expected truncated at ${frameAt}`);
  }
  t.same(problems.slice(0, 5), [], `every one of ${bytes.length} cuts refused`);
});

t.test('any single flipped bit is refused, naming the frame it is in', async (t) => {
  const { bytes, frameOffsets } = buildFile(HEADER, SAMPLE);
  const expected = (byteIndex: number): { failure: string[]; offset: number } => {
    if (byteIndex < 8) return { failure: ['bad-magic'], offset: 0 };
    if (byteIndex < PREAMBLE_BYTES) return { failure: ['bad-version'], offset: 8 };
    const frameAt = Math.max(...frameOffsets.filter((o) => o <= byteIndex));
    // A flip in a length can also make a frame reach past the end, or past the frame limit.
    const inLength = byteIndex < frameAt + 4;
    return { failure: inLength ? ['bad-checksum', 'truncated', 'frame-too-big'] : ['bad-checksum'], offset: frameAt };
  };
  let checked = 0;
  for (let byteIndex = 0; byteIndex < bytes.length; byteIndex++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = Buffer.from(bytes);
      damaged[byteIndex] ^= 1 << bit;
      const error = await failure(damaged);
      const want = expected(byteIndex);
      if (!(want.failure.includes(error.failure) && error.offset === want.offset && error.code === Status.PARAMETER)) {
        t.fail(`bit ${bit} of byte ${byteIndex}: ${error.failure} at ${error.offset}, expected ${want.failure.join('|')} at ${want.offset}`);
      }
      checked++;
    }
  }
  t.equal(checked, bytes.length * 8, 'every bit flipped once');
});

t.test('bad magic, another version, garbage', async (t) => {
  const { bytes } = buildFile(HEADER, SAMPLE);
  t.match(await failure(Buffer.from('{"ns": "test", "records": []}\n')), { failure: 'bad-magic', offset: 0, code: Status.PARAMETER });
  const v2 = Buffer.from(bytes);
  v2.writeUInt16LE(2, 8);
  t.match(await failure(v2), { failure: 'bad-version', offset: 8 });
  t.match(await failure(Buffer.alloc(0)), { failure: 'truncated', offset: 0 }, 'an empty file');
});

t.test('an oversized frame is refused before anything is allocated for it', async (t) => {
  const { bytes, frameOffsets } = buildFile(HEADER, SAMPLE);
  const damaged = Buffer.from(bytes);
  damaged.writeUInt32LE(BACKUP_FRAME_BYTES_MAX + 1, frameOffsets[2]);
  t.match(await failure(damaged), { failure: 'frame-too-big', offset: frameOffsets[2], code: Status.PARAMETER });
  const w = new Writer(2 * BACKUP_FRAME_BYTES_MAX);
  const at = beginFrame(w, FrameKind.RECORD);
  w.writeBin(Buffer.alloc(BACKUP_FRAME_BYTES_MAX));
  let refused: unknown = null;
  try {
    endFrame(w, at);
  } catch (error) {
    refused = error;
  }
  t.match(refused, { failure: 'frame-too-big', code: Status.PARAMETER }, 'and never written');
  t.equal(w.length, 0, 'the refused frame is taken back out');
});

t.test('frames out of order, unknown kinds, malformed bodies, wrong counts, trailing bytes', async (t) => {
  const { bytes, frameOffsets } = buildFile(HEADER, SAMPLE);
  const trailerAt = frameOffsets[frameOffsets.length - 1];

  t.match(await failure(buildFile(HEADER, SAMPLE, { trailerRecords: 3 }).bytes), { failure: 'count-mismatch', offset: trailerAt });
  t.match(await failure(buildFile(HEADER, SAMPLE, { trailerRecords: null }).bytes), { failure: 'truncated', offset: trailerAt }, 'no trailer');
  t.match(await failure(Buffer.concat([bytes, Buffer.from([0])])), { failure: 'trailing-bytes', offset: bytes.length });

  // A frame with a valid checksum but the wrong kind or body: written with the real framing.
  const withFrame = (kind: number, body: (w: Writer) => void, at = trailerAt) => {
    const w = new Writer(1 << 20);
    const start = beginFrame(w, kind as 1);
    body(w);
    endFrame(w, start);
    return Buffer.concat([bytes.subarray(0, at), w.copy(), bytes.subarray(at)]);
  };
  t.match(await failure(withFrame(FrameKind.HEADER, (w) => w.writeValue({ ns: 'test', createdAtMs: 0 }))), { failure: 'bad-frame', offset: trailerAt }, 'a second header');
  t.match(await failure(withFrame(FrameKind.TRAILER, (w) => writeTrailerBody(w, { records: 0 }), frameOffsets[0])), { failure: 'bad-frame', offset: frameOffsets[0] }, 'no header first');
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => w.writeValue([1, 2, 3]))), { failure: 'bad-body', offset: trailerAt }, 'a record of the wrong shape');
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => w.writeRaw(Buffer.from([0x93, 0x01])))), { failure: 'bad-body', offset: trailerAt }, 'msgpack cut short');
  const lying = { ...record('s', 'a', { n: 1 }), key: 'b' };
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => writeRecordBody(w, lying))), { failure: 'bad-body', offset: trailerAt }, 'a key that is not the digest');
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => writeRecordBody(w, { ...record('s', 'a', {}) }))), { failure: 'bad-body' }, 'a record without bins');
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => writeRecordBody(w, { ...record('s', 'a', { n: 1 }), gen: 0 }))), { failure: 'bad-body' }, 'generation 0');
  t.match(await failure(withFrame(FrameKind.RECORD, (w) => writeRecordBody(w, { ...record('s', 'a', { n: 1 }), ttl: 0 }))), { failure: 'bad-body' }, 'ttl 0');

  // An unknown kind needs its own checksum: patch the kind byte, then recompute.
  const unknown = withFrame(FrameKind.RECORD, (w) => writeRecordBody(w, SAMPLE[0]));
  unknown[trailerAt + 8] = 9;
  const length = unknown.readUInt32LE(trailerAt);
  unknown.writeUInt32LE(crc32c(unknown, trailerAt + 8, trailerAt + FRAME_HEADER_BYTES + length, crc32c(unknown, trailerAt, trailerAt + 4)), trailerAt + 4);
  t.match(await failure(unknown), { failure: 'bad-frame', offset: trailerAt });
});

t.test('the frame reader grows its buffer for a frame larger than a read chunk', async (t) => {
  const big = record('s', 'big', { blob: Buffer.alloc(200_000, 7) });
  const { bytes } = buildFile(HEADER, [SAMPLE[0], big, SAMPLE[1]]);
  const frames = new FrameReader(memorySource(bytes), 64);
  await frames.readPreamble();
  const kinds: number[] = [];
  for (let f = await frames.next(); f !== null; f = await frames.next()) kinds.push(f.kind);
  t.same(kinds, [1, 2, 2, 2, 3]);
  t.equal(frames.offset, bytes.length);
});
