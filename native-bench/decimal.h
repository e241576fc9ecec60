// Unsigned integers in decimal ASCII, for RESP and memcached commands, peer keys and the digest
// of --string-keys; shared so the three wires write numbers one way.
#pragma once
#include <stdint.h>

/** Bytes the decimal form of a uint64 can take. */
#define DECIMAL_BYTES_MAX 20

/** `v` in decimal ASCII at p (at most DECIMAL_BYTES_MAX bytes); returns the end. */
static inline uint8_t *write_decimal(uint8_t *p, uint64_t v) {
  char digits[DECIMAL_BYTES_MAX];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n > 0) *p++ = (uint8_t)digits[--n];
  return p;
}
