// The little RESP (Redis serialization protocol, version 2) the load generator needs: writers for
// the two commands it sends (GET key, SET key value, as arrays of bulk strings) and a bounds-checked
// parser for the replies they can get: +status, -error, :integer, $bulk and the nil bulk $-1.
// Anything else (an array, a RESP3 type) is not a reply to GET or SET and is refused. The parser
// works on whatever bytes have arrived: an incomplete reply is left for the caller to complete with
// the next read, and nothing here allocates.
#ifndef AERIE_RESP_H
#define AERIE_RESP_H

#include "decimal.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A status, error or length line longer than this is refused rather than waited for. */
#define RESP_LINE_BYTES_MAX 512
/** The largest length written in decimal: 20 digits. */
#define RESP_DECIMAL_BYTES_MAX 20

typedef enum { RESP_STATUS, RESP_ERROR, RESP_INTEGER, RESP_BULK, RESP_NIL } resp_kind_t;

typedef struct {
  resp_kind_t kind;
  /** Status or error text (without CRLF), or the bulk payload. */
  const uint8_t *data;
  size_t size_bytes;
  int64_t integer;
} resp_reply_t;

// ---- writer ----

/** Writes "$<size>\r\n<bytes>\r\n". */
static inline uint8_t *resp_write_bulk(uint8_t *p, const uint8_t *bytes, size_t size_bytes) {
  *p++ = '$';
  p = write_decimal(p, size_bytes);
  *p++ = '\r';
  *p++ = '\n';
  memcpy(p, bytes, size_bytes);
  p += size_bytes;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

/** The largest GET or SET command for a key and value of these sizes. */
static inline size_t resp_command_bytes_max(size_t key_bytes, size_t value_bytes) {
  return 16 + 3 * (1 + RESP_DECIMAL_BYTES_MAX + 4) + key_bytes + value_bytes;
}

static inline uint8_t *resp_write_get(uint8_t *p, const uint8_t *key, size_t key_bytes) {
  static const char head[] = "*2\r\n$3\r\nGET\r\n";
  memcpy(p, head, sizeof head - 1);
  return resp_write_bulk(p + sizeof head - 1, key, key_bytes);
}

static inline uint8_t *resp_write_set(uint8_t *p, const uint8_t *key, size_t key_bytes, const uint8_t *value,
                                      size_t value_bytes) {
  static const char head[] = "*3\r\n$3\r\nSET\r\n";
  memcpy(p, head, sizeof head - 1);
  p = resp_write_bulk(p + sizeof head - 1, key, key_bytes);
  return resp_write_bulk(p, value, value_bytes);
}

// ---- parser ----

/** Index of the '\r' of the first CRLF in p[0, avail), or -1 if none (yet). */
static inline long resp_find_crlf(const uint8_t *p, size_t avail) {
  const uint8_t *cr = avail >= 2 ? memchr(p, '\r', avail - 1) : NULL;
  while (cr != NULL) {
    if (cr[1] == '\n') return cr - p;
    size_t from = (size_t)(cr - p) + 1;
    cr = from < avail - 1 ? memchr(p + from, '\r', avail - 1 - from) : NULL;
  }
  return -1;
}

/** Parses an optionally negative decimal integer that fills p[0, size) exactly. 0 on success. */
static inline int resp_parse_int(const uint8_t *p, size_t size_bytes, int64_t *value) {
  int negative = size_bytes > 0 && p[0] == '-';
  size_t i = (size_t)negative;
  if (size_bytes == i || size_bytes - i > 18) return -1; /* 18 digits cannot overflow int64 */
  int64_t v = 0;
  for (; i < size_bytes; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  *value = negative ? -v : v;
  return 0;
}

/**
 * Parses one reply at p[0, avail). Returns the bytes it takes (> 0) with *out filled, 0 if more
 * bytes are needed (*need_bytes is then the whole reply's size when already known, else 0), or
 * -1 for a malformed reply or one larger than bulk_bytes_max.
 */
static inline long resp_parse(const uint8_t *p, size_t avail, size_t bulk_bytes_max, resp_reply_t *out,
                              size_t *need_bytes) {
  *need_bytes = 0;
  if (avail == 0) return 0;
  size_t scan_bytes = avail < RESP_LINE_BYTES_MAX ? avail : RESP_LINE_BYTES_MAX;
  long cr = resp_find_crlf(p, scan_bytes);
  if (cr < 0) return avail >= RESP_LINE_BYTES_MAX ? -1 : 0;
  if (cr == 0) return -1; /* an empty line has no type byte */
  size_t line_bytes = (size_t)cr + 2;
  const uint8_t *text = p + 1;
  size_t text_bytes = (size_t)cr - 1;
  switch (p[0]) {
    case '+':
    case '-':
      out->kind = p[0] == '+' ? RESP_STATUS : RESP_ERROR;
      out->data = text;
      out->size_bytes = text_bytes;
      return (long)line_bytes;
    case ':':
      if (resp_parse_int(text, text_bytes, &out->integer) < 0) return -1;
      out->kind = RESP_INTEGER;
      return (long)line_bytes;
    case '$': {
      int64_t size;
      if (resp_parse_int(text, text_bytes, &size) < 0 || size < -1) return -1;
      if (size == -1) {
        out->kind = RESP_NIL;
        out->data = NULL;
        out->size_bytes = 0;
        return (long)line_bytes;
      }
      if ((uint64_t)size > bulk_bytes_max) return -1;
      size_t total_bytes = line_bytes + (size_t)size + 2;
      if (avail < total_bytes) {
        *need_bytes = total_bytes;
        return 0;
      }
      if (p[total_bytes - 2] != '\r' || p[total_bytes - 1] != '\n') return -1;
      out->kind = RESP_BULK;
      out->data = p + line_bytes;
      out->size_bytes = (size_t)size;
      return (long)total_bytes;
    }
    default:
      return -1;
  }
}

#endif
