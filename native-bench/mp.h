// The little msgpack the load generator needs: a writer for request messages (the caller
// guarantees room; requests have a known maximum size) and a bounds-checked reader that takes
// integers and array headers and skips any other value without decoding it. Nothing here
// allocates, and the reader never reads past `end` whatever the peer sends.
#ifndef AERIE_MP_H
#define AERIE_MP_H

#include <stdint.h>
#include <string.h>

// ---- writer ----

static inline uint8_t *mp_put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}

static inline uint8_t *mp_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

static inline uint8_t *mp_put_be64(uint8_t *p, uint64_t v) {
  p = mp_put_be32(p, (uint32_t)(v >> 32));
  return mp_put_be32(p, (uint32_t)v);
}

static inline uint8_t *mp_write_uint(uint8_t *p, uint64_t v) {
  if (v < 0x80) {
    *p++ = (uint8_t)v;
  } else if (v <= 0xff) {
    *p++ = 0xcc;
    *p++ = (uint8_t)v;
  } else if (v <= 0xffff) {
    *p++ = 0xcd;
    p = mp_put_be16(p, (uint16_t)v);
  } else if (v <= 0xffffffffu) {
    *p++ = 0xce;
    p = mp_put_be32(p, (uint32_t)v);
  } else {
    *p++ = 0xcf;
    p = mp_put_be64(p, v);
  }
  return p;
}

static inline uint8_t *mp_write_array_header(uint8_t *p, uint32_t count) {
  if (count < 16) {
    *p++ = (uint8_t)(0x90 | count);
  } else if (count <= 0xffff) {
    *p++ = 0xdc;
    p = mp_put_be16(p, (uint16_t)count);
  } else {
    *p++ = 0xdd;
    p = mp_put_be32(p, count);
  }
  return p;
}

static inline uint8_t *mp_write_map_header(uint8_t *p, uint32_t count) {
  if (count < 16) {
    *p++ = (uint8_t)(0x80 | count);
  } else {
    *p++ = 0xde;
    p = mp_put_be16(p, (uint16_t)count);
  }
  return p;
}

static inline uint8_t *mp_write_str(uint8_t *p, const char *s, uint32_t size_bytes) {
  if (size_bytes < 32) {
    *p++ = (uint8_t)(0xa0 | size_bytes);
  } else if (size_bytes <= 0xff) {
    *p++ = 0xd9;
    *p++ = (uint8_t)size_bytes;
  } else if (size_bytes <= 0xffff) {
    *p++ = 0xda;
    p = mp_put_be16(p, (uint16_t)size_bytes);
  } else {
    *p++ = 0xdb;
    p = mp_put_be32(p, size_bytes);
  }
  memcpy(p, s, size_bytes);
  return p + size_bytes;
}

static inline uint8_t *mp_write_bin_header(uint8_t *p, uint32_t size_bytes) {
  if (size_bytes <= 0xff) {
    *p++ = 0xc4;
    *p++ = (uint8_t)size_bytes;
  } else if (size_bytes <= 0xffff) {
    *p++ = 0xc5;
    p = mp_put_be16(p, (uint16_t)size_bytes);
  } else {
    *p++ = 0xc6;
    p = mp_put_be32(p, size_bytes);
  }
  return p;
}

// ---- reader ----

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
} mp_reader_t;

static inline uint64_t mp_get_be(const uint8_t *p, uint32_t size_bytes) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < size_bytes; i++) v = (v << 8) | p[i];
  return v;
}

/** An array or map header: `fix` is the fix form's high nibble, `t16` the 16-bit form (32-bit is t16 + 1). */
static inline int mp_read_header(mp_reader_t *r, uint8_t fix, uint8_t t16, uint32_t *count) {
  if (r->p >= r->end) return -1;
  uint8_t t = *r->p;
  uint32_t extra = t == t16 ? 2 : t == t16 + 1 ? 4 : 0;
  if (extra == 0 && (t & 0xf0) != fix) return -1;
  if ((size_t)(r->end - r->p) < 1 + extra) return -1;
  *count = extra == 0 ? (uint32_t)(t & 0x0f) : (uint32_t)mp_get_be(r->p + 1, extra);
  r->p += 1 + extra;
  return 0;
}

/** Reads an array header. Returns 0 on success, -1 if the next value is not a whole array header. */
static inline int mp_read_array_header(mp_reader_t *r, uint32_t *count) { return mp_read_header(r, 0x90, 0xdc, count); }

/** Reads a map header. Returns 0 on success, -1 if the next value is not a whole map header. */
static inline int mp_read_map_header(mp_reader_t *r, uint32_t *count) { return mp_read_header(r, 0x80, 0xde, count); }

/** Reads any msgpack integer as int64 (uint64 above INT64_MAX is refused). 0 on success, -1 otherwise. */
static inline int mp_read_int(mp_reader_t *r, int64_t *value) {
  if (r->p >= r->end) return -1;
  uint8_t t = *r->p;
  if (t < 0x80 || t >= 0xe0) {
    *value = (int8_t)t;  // positive fixint 0..127 or negative fixint -32..-1
    r->p += 1;
    return 0;
  }
  uint32_t size_bytes;
  int is_signed;
  switch (t) {
    case 0xcc: size_bytes = 1; is_signed = 0; break;
    case 0xcd: size_bytes = 2; is_signed = 0; break;
    case 0xce: size_bytes = 4; is_signed = 0; break;
    case 0xcf: size_bytes = 8; is_signed = 0; break;
    case 0xd0: size_bytes = 1; is_signed = 1; break;
    case 0xd1: size_bytes = 2; is_signed = 1; break;
    case 0xd2: size_bytes = 4; is_signed = 1; break;
    case 0xd3: size_bytes = 8; is_signed = 1; break;
    default: return -1;
  }
  if ((size_t)(r->end - r->p) < 1 + size_bytes) return -1;
  uint64_t raw = mp_get_be(r->p + 1, size_bytes);
  if (is_signed) {
    uint32_t unused_bits = 64 - 8 * size_bytes;
    *value = (int64_t)(raw << unused_bits) >> unused_bits;
  } else {
    if (raw > (uint64_t)INT64_MAX) return -1;
    *value = (int64_t)raw;
  }
  r->p += 1 + size_bytes;
  return 0;
}

/**
 * Skips one complete value, however nested, without recursion: `pending` counts the values still
 * to skip. Every value takes at least one byte, so a header claiming more elements than bytes
 * remain is refused at once rather than walked. 0 on success, -1 if malformed or truncated.
 */
static inline int mp_skip(mp_reader_t *r) {
  uint64_t pending = 1;
  while (pending > 0) {
    if (r->p >= r->end) return -1;
    if (pending > (uint64_t)(r->end - r->p)) return -1;
    pending--;
    uint8_t t = *r->p++;
    size_t left = (size_t)(r->end - r->p);
    uint64_t skip_bytes = 0;
    if (t < 0x80 || t >= 0xe0) continue;                       // fixint
    if (t <= 0x8f) { pending += 2u * (t & 0x0f); continue; }    // fixmap
    if (t <= 0x9f) { pending += t & 0x0f; continue; }           // fixarray
    if (t <= 0xbf) { skip_bytes = t & 0x1f; goto skip; }        // fixstr
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: continue;                // nil, false, true
      case 0xc1: return -1;                                     // never used
      case 0xc4: case 0xd9: case 0xc7:                          // bin8, str8, ext8
        if (left < 1) return -1;
        skip_bytes = 1 + (uint64_t)r->p[0] + (t == 0xc7);
        goto skip;
      case 0xc5: case 0xda: case 0xc8:                          // bin16, str16, ext16
        if (left < 2) return -1;
        skip_bytes = 2 + mp_get_be(r->p, 2) + (t == 0xc8);
        goto skip;
      case 0xc6: case 0xdb: case 0xc9:                          // bin32, str32, ext32
        if (left < 4) return -1;
        skip_bytes = 4 + mp_get_be(r->p, 4) + (t == 0xc9);
        goto skip;
      case 0xca: skip_bytes = 4; goto skip;                     // float32
      case 0xcb: skip_bytes = 8; goto skip;                     // float64
      case 0xcc: case 0xd0: skip_bytes = 1; goto skip;
      case 0xcd: case 0xd1: skip_bytes = 2; goto skip;
      case 0xce: case 0xd2: skip_bytes = 4; goto skip;
      case 0xcf: case 0xd3: skip_bytes = 8; goto skip;
      case 0xd4: skip_bytes = 2; goto skip;                     // fixext 1..16: type + data
      case 0xd5: skip_bytes = 3; goto skip;
      case 0xd6: skip_bytes = 5; goto skip;
      case 0xd7: skip_bytes = 9; goto skip;
      case 0xd8: skip_bytes = 17; goto skip;
      case 0xdc: case 0xde:                                     // array16, map16
        if (left < 2) return -1;
        pending += mp_get_be(r->p, 2) * (t == 0xde ? 2u : 1u);
        skip_bytes = 2;
        goto skip;
      case 0xdd: case 0xdf:                                     // array32, map32
        if (left < 4) return -1;
        pending += mp_get_be(r->p, 4) * (t == 0xdf ? 2u : 1u);
        skip_bytes = 4;
        goto skip;
      default: return -1;
    }
  skip:
    if (skip_bytes > left) return -1;
    r->p += skip_bytes;
  }
  return 0;
}

#endif
