// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every log record. Node 20
// has no built-in CRC32C, so this is the table-driven slice-by-8 algorithm: eight 256-entry tables
// let one step consume 8 bytes with 8 lookups, several times faster than byte-at-a-time in V8.
// CRC32C rather than zlib's CRC32 because it detects more error patterns at the lengths we use
// and is what iSCSI, ext4, RocksDB and TigerBeetle-style logs use (hardware support exists for
// a later native version).

const POLYNOMIAL_REFLECTED = 0x82f63b78;
const TABLE_SIZE = 256;

/** Eight tables back to back; Int32Array keeps every entry a small integer for V8. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(8 * TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) {
    let c = i;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    tables[i] = c;
  }
  for (let i = 0; i < TABLE_SIZE; i++) {
    for (let t = 1; t < 8; t++) {
      const previous = tables[(t - 1) * TABLE_SIZE + i];
      tables[t * TABLE_SIZE + i] = (previous >>> 8) ^ tables[previous & 0xff];
    }
  }
  return tables;
}

/**
 * The CRC32C of bytes[start, end). Pass a previous result as `crc` to continue a checksum over
 * several pieces: crc32c(b, 0, n, crc32c(a, 0, m)) equals the CRC of a[0, m) followed by b[0, n).
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  if (!(start >= 0 && start <= end && end <= bytes.length)) throw new RangeError(`crc32c: range [${start}, ${end}) outside ${bytes.length} bytes`);
  const t = TABLES;
  let c = ~crc;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c =
      t[7 * TABLE_SIZE + (c & 0xff)] ^
      t[6 * TABLE_SIZE + ((c >>> 8) & 0xff)] ^
      t[5 * TABLE_SIZE + ((c >>> 16) & 0xff)] ^
      t[4 * TABLE_SIZE + (c >>> 24)] ^
      t[3 * TABLE_SIZE + bytes[i + 4]] ^
      t[2 * TABLE_SIZE + bytes[i + 5]] ^
      t[TABLE_SIZE + bytes[i + 6]] ^
      t[bytes[i + 7]];
    i += 8;
  }
  while (i < end) {
    c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}
