// RIPEMD-160 (Dobbertin, Bosselaers and Preneel, 1996) into a caller's buffer. Every request with a
// user key is hashed on the primary: node:crypto's one-shot hash crosses into C++ and allocates a
// Buffer for each 20-byte result, which cost 8.5 % of the primary's CPU (docs/benchmarks.md). This
// one allocates nothing; test/partition/ripemd160.test.ts checks it against node:crypto.

/** Message word read at each step: left line, then right line. */
// biome-ignore format: one row of 16 per round, as the specification lays them out.
const R_LEFT = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
  3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12,
  1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
  4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
]);
// biome-ignore format: one row of 16 per round, as the specification lays them out.
const R_RIGHT = Uint8Array.from([
  5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12,
  6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
  15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13,
  8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
  12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
]);
/** Left rotation at each step. */
// biome-ignore format: one row of 16 per round, as the specification lays them out.
const S_LEFT = Uint8Array.from([
  11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8,
  7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
  11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5,
  11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
  9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
]);
// biome-ignore format: one row of 16 per round, as the specification lays them out.
const S_RIGHT = Uint8Array.from([
  8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6,
  9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
  9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5,
  15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
  8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
]);
const words = new Int32Array(16);
const state = new Int32Array(5);
/** The final block(s) with their padding: at most two. */
const tailBlock = new Uint8Array(128);

// Each round's loop spells out its round functions (left: x^y^z, (x&y)|(~x&z), (x|~y)^z,
// (x&z)|(y&~z), x^(y|~z); the right line takes them in reverse) with the registers in locals:
// V8 keeps them in machine registers, about twice as fast as a shared step function.
// biome-ignore format: one line per round step, as the specification writes them (V8 keeps the registers in locals).
function compress(bytes: Uint8Array, at: number): void {
  const w = words;
  for (let i = 0; i < 16; i++, at += 4) w[i] = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
  let al = state[0], bl = state[1], cl = state[2], dl = state[3], el = state[4];
  let ar = al, br = bl, cr = cl, dr = dl, er = el;
  for (let j = 0; j < 16; j++) {
    let s = S_LEFT[j];
    let t = (al + (bl ^ cl ^ dl) + w[R_LEFT[j]] + 0) | 0;
    t = (((t << s) | (t >>> (32 - s))) + el) | 0;
    al = el; el = dl; dl = (cl << 10) | (cl >>> 22); cl = bl; bl = t;
    s = S_RIGHT[j];
    t = (ar + (br ^ (cr | ~dr)) + w[R_RIGHT[j]] + 0x50a28be6) | 0;
    t = (((t << s) | (t >>> (32 - s))) + er) | 0;
    ar = er; er = dr; dr = (cr << 10) | (cr >>> 22); cr = br; br = t;
  }
  for (let j = 16; j < 32; j++) {
    let s = S_LEFT[j];
    let t = (al + ((bl & cl) | (~bl & dl)) + w[R_LEFT[j]] + 0x5a827999) | 0;
    t = (((t << s) | (t >>> (32 - s))) + el) | 0;
    al = el; el = dl; dl = (cl << 10) | (cl >>> 22); cl = bl; bl = t;
    s = S_RIGHT[j];
    t = (ar + ((br & dr) | (cr & ~dr)) + w[R_RIGHT[j]] + 0x5c4dd124) | 0;
    t = (((t << s) | (t >>> (32 - s))) + er) | 0;
    ar = er; er = dr; dr = (cr << 10) | (cr >>> 22); cr = br; br = t;
  }
  for (let j = 32; j < 48; j++) {
    let s = S_LEFT[j];
    let t = (al + ((bl | ~cl) ^ dl) + w[R_LEFT[j]] + 0x6ed9eba1) | 0;
    t = (((t << s) | (t >>> (32 - s))) + el) | 0;
    al = el; el = dl; dl = (cl << 10) | (cl >>> 22); cl = bl; bl = t;
    s = S_RIGHT[j];
    t = (ar + ((br | ~cr) ^ dr) + w[R_RIGHT[j]] + 0x6d703ef3) | 0;
    t = (((t << s) | (t >>> (32 - s))) + er) | 0;
    ar = er; er = dr; dr = (cr << 10) | (cr >>> 22); cr = br; br = t;
  }
  for (let j = 48; j < 64; j++) {
    let s = S_LEFT[j];
    let t = (al + ((bl & dl) | (cl & ~dl)) + w[R_LEFT[j]] + 0x8f1bbcdc) | 0;
    t = (((t << s) | (t >>> (32 - s))) + el) | 0;
    al = el; el = dl; dl = (cl << 10) | (cl >>> 22); cl = bl; bl = t;
    s = S_RIGHT[j];
    t = (ar + ((br & cr) | (~br & dr)) + w[R_RIGHT[j]] + 0x7a6d76e9) | 0;
    t = (((t << s) | (t >>> (32 - s))) + er) | 0;
    ar = er; er = dr; dr = (cr << 10) | (cr >>> 22); cr = br; br = t;
  }
  for (let j = 64; j < 80; j++) {
    let s = S_LEFT[j];
    let t = (al + (bl ^ (cl | ~dl)) + w[R_LEFT[j]] + 0xa953fd4e) | 0;
    t = (((t << s) | (t >>> (32 - s))) + el) | 0;
    al = el; el = dl; dl = (cl << 10) | (cl >>> 22); cl = bl; bl = t;
    s = S_RIGHT[j];
    t = (ar + (br ^ cr ^ dr) + w[R_RIGHT[j]] + 0) | 0;
    t = (((t << s) | (t >>> (32 - s))) + er) | 0;
    ar = er; er = dr; dr = (cr << 10) | (cr >>> 22); cr = br; br = t;
  }
  const t = (state[1] + cl + dr) | 0;
  state[1] = (state[2] + dl + er) | 0;
  state[2] = (state[3] + el + ar) | 0;
  state[3] = (state[4] + al + br) | 0;
  state[4] = (state[0] + bl + cr) | 0;
  state[0] = t;
}

/** Writes RIPEMD-160 of input[start, end) as 20 bytes at out[outAt]. Synchronous, allocation-free. */
export function ripemd160(input: Uint8Array, start: number, end: number, out: Uint8Array, outAt: number): void {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  state[4] = 0xc3d2e1f0 | 0;
  const length = end - start;
  let at = start;
  for (; end - at >= 64; at += 64) compress(input, at);
  // Padding: 0x80, zeros to 56 mod 64, then the length in bits as a 64-bit little-endian number.
  const rest = end - at;
  for (let i = 0; i < rest; i++) tailBlock[i] = input[at + i];
  tailBlock[rest] = 0x80;
  const blocks = rest < 56 ? 1 : 2;
  const lengthAt = blocks * 64 - 8;
  tailBlock.fill(0, rest + 1, lengthAt);
  const bitsLow = (length * 8) >>> 0;
  const bitsHigh = Math.floor((length * 8) / 0x100000000);
  for (let i = 0; i < 4; i++) {
    tailBlock[lengthAt + i] = (bitsLow >>> (8 * i)) & 0xff;
    tailBlock[lengthAt + 4 + i] = (bitsHigh >>> (8 * i)) & 0xff;
  }
  compress(tailBlock, 0);
  if (blocks === 2) compress(tailBlock, 64);
  for (let i = 0; i < 5; i++) {
    const v = state[i];
    out[outAt++] = v & 0xff;
    out[outAt++] = (v >>> 8) & 0xff;
    out[outAt++] = (v >>> 16) & 0xff;
    out[outAt++] = (v >>> 24) & 0xff;
  }
}
