// RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996) and Aerie's record digest and partition id,
// for routing each request to the worker that masters its key (docs/protocol.md §6, §13;
// src/partition/digest.ts). No dependency: the generator builds with the machine's compiler only.
// Checked in selftest.c against the standard vectors and the key vectors of reference.md.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decimal.h"

#define RIPEMD_DIGEST_BYTES 20
#define PARTITION_COUNT 4096
#define KEY_TYPE_INTEGER 1
#define KEY_TYPE_STRING 3

static const uint8_t RMD_R_LEFT[80] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
    3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12, 1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
    4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13};
static const uint8_t RMD_R_RIGHT[80] = {
    5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
    15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13, 8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
    12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11};
static const uint8_t RMD_S_LEFT[80] = {
    11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8, 7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
    11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5, 11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
    9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6};
static const uint8_t RMD_S_RIGHT[80] = {
    8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6, 9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
    9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5, 15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
    8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11};
static const uint32_t RMD_K_LEFT[5] = {0x00000000u, 0x5a827999u, 0x6ed9eba1u, 0x8f1bbcdcu, 0xa953fd4eu};
static const uint32_t RMD_K_RIGHT[5] = {0x50a28be6u, 0x5c4dd124u, 0x6d703ef3u, 0x7a6d76e9u, 0x00000000u};

static inline uint32_t rmd_rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/** The five boolean functions; round 0..4 (the right line uses them in reverse order). */
static inline uint32_t rmd_f(unsigned round, uint32_t x, uint32_t y, uint32_t z) {
  switch (round) {
    case 0: return x ^ y ^ z;
    case 1: return (x & y) | (~x & z);
    case 2: return (x | ~y) ^ z;
    case 3: return (x & z) | (y & ~z);
    default: return x ^ (y | ~z);
  }
}

static void rmd_compress(uint32_t h[5], const uint8_t block[64]) {
  uint32_t x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 | (uint32_t)block[4 * i + 2] << 16 |
           (uint32_t)block[4 * i + 3] << 24;
  uint32_t al = h[0], bl = h[1], cl = h[2], dl = h[3], el = h[4];
  uint32_t ar = h[0], br = h[1], cr = h[2], dr = h[3], er = h[4];
  for (unsigned j = 0; j < 80; j++) {
    unsigned round = j / 16;
    uint32_t t = rmd_rol(al + rmd_f(round, bl, cl, dl) + x[RMD_R_LEFT[j]] + RMD_K_LEFT[round], RMD_S_LEFT[j]) + el;
    al = el, el = dl, dl = rmd_rol(cl, 10), cl = bl, bl = t;
    t = rmd_rol(ar + rmd_f(4 - round, br, cr, dr) + x[RMD_R_RIGHT[j]] + RMD_K_RIGHT[round], RMD_S_RIGHT[j]) + er;
    ar = er, er = dr, dr = rmd_rol(cr, 10), cr = br, br = t;
  }
  uint32_t t = h[1] + cl + dr;
  h[1] = h[2] + dl + er;
  h[2] = h[3] + el + ar;
  h[3] = h[4] + al + br;
  h[4] = h[0] + bl + cr;
  h[0] = t;
}

/** RIPEMD-160 of `size_bytes` bytes into out[20]. */
static void ripemd160(const uint8_t *data, size_t size_bytes, uint8_t out[RIPEMD_DIGEST_BYTES]) {
  uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
  size_t whole = size_bytes & ~(size_t)63;
  for (size_t at = 0; at < whole; at += 64) rmd_compress(h, data + at);
  // The tail, a 0x80 byte, zeros, and the length in bits as 64-bit little-endian (as MD4).
  uint8_t block[128] = {0};
  size_t rest = size_bytes - whole;
  memcpy(block, data + whole, rest);
  block[rest] = 0x80;
  size_t blocks = rest < 56 ? 1 : 2;
  uint64_t bits = (uint64_t)size_bytes * 8;
  for (int i = 0; i < 8; i++) block[blocks * 64 - 8 + i] = (uint8_t)(bits >> (8 * i));
  for (size_t b = 0; b < blocks; b++) rmd_compress(h, block + 64 * b);
  for (int i = 0; i < 5; i++)
    for (int k = 0; k < 4; k++) out[4 * i + k] = (uint8_t)(h[i] >> (8 * k));
}

/** Bytes a key's digest input can take here: a set name of 63 bytes, the type, 20 digits. */
#define DIGEST_INPUT_BYTES_MAX (63 + 1 + 24)

/**
 * Aerie's digest of a record key: RIPEMD-160(set ‖ key type ‖ key bytes). An integer key is 8
 * bytes big-endian; a string key (the generator's --string-keys: the decimal text) its bytes.
 */
static void key_digest(const char *set, size_t set_bytes, uint64_t key, int string_key, uint8_t out[RIPEMD_DIGEST_BYTES]) {
  uint8_t input[DIGEST_INPUT_BYTES_MAX];
  memcpy(input, set, set_bytes);
  size_t n = set_bytes;
  if (string_key) {
    input[n++] = KEY_TYPE_STRING;
    n = (size_t)(write_decimal(input + n, key) - input);
  } else {
    input[n++] = KEY_TYPE_INTEGER;
    for (int i = 7; i >= 0; i--) input[n++] = (uint8_t)(key >> (8 * i));
  }
  ripemd160(input, n, out);
}

/** The partition of a digest: its first 12 bits, little-endian (d[0] | (d[1] & 0x0f) << 8). */
static inline uint32_t digest_partition(const uint8_t d[RIPEMD_DIGEST_BYTES]) {
  return (uint32_t)d[0] | ((uint32_t)(d[1] & 0x0f) << 8);
}
