// The little of memcached's text protocol the load generator needs: writers for `get <key>` and
// `set <key> 0 0 <bytes>` (without `noreply`, so every request gets exactly one reply) and a
// bounds-checked parser for their replies:
//   STORED | NOT_STORED | EXISTS | NOT_FOUND                      (set)
//   VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\nEND\r\n     (get, a hit)
//   END                                                          (get, a miss)
//   ERROR | CLIENT_ERROR <text> | SERVER_ERROR <text>            (either)
// Values are length-delimited, so data that happens to contain "\r\nEND\r\n" is read correctly.
// A get asks for one key, so a reply with a second VALUE is refused. Nothing here allocates.
#ifndef AERIE_MC_H
#define AERIE_MC_H

#include "decimal.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** memcached's own limit on key length. */
#define MC_KEY_BYTES_MAX 250
/** A reply line longer than this (a VALUE line is at most ~310 bytes) is refused. */
#define MC_LINE_BYTES_MAX 512
#define MC_DECIMAL_BYTES_MAX 20

typedef enum { MC_STORED, MC_REFUSED, MC_VALUE, MC_END, MC_ERROR } mc_kind_t;

typedef struct {
  mc_kind_t kind;
  /** The value of a hit, or the text of an error line (without CRLF). */
  const uint8_t *data;
  size_t size_bytes;
  uint32_t flags;
} mc_reply_t;

// ---- writer ----

/** The largest get or set command for a key and value of these sizes. */
static inline size_t mc_command_bytes_max(size_t key_bytes, size_t value_bytes) {
  return 16 + MC_DECIMAL_BYTES_MAX + key_bytes + value_bytes;
}

static inline uint8_t *mc_write_get(uint8_t *p, const uint8_t *key, size_t key_bytes) {
  memcpy(p, "get ", 4);
  memcpy(p + 4, key, key_bytes);
  p += 4 + key_bytes;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

/** `set <key> 0 0 <bytes>\r\n<data>\r\n`: flags 0, never expires. */
static inline uint8_t *mc_write_set(uint8_t *p, const uint8_t *key, size_t key_bytes, const uint8_t *value,
                                    size_t value_bytes) {
  memcpy(p, "set ", 4);
  memcpy(p + 4, key, key_bytes);
  p += 4 + key_bytes;
  memcpy(p, " 0 0 ", 5);
  p = write_decimal(p + 5, value_bytes);
  *p++ = '\r';
  *p++ = '\n';
  memcpy(p, value, value_bytes);
  p += value_bytes;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

// ---- parser ----

static inline long mc_find_crlf(const uint8_t *p, size_t avail) {
  const uint8_t *cr = avail >= 2 ? memchr(p, '\r', avail - 1) : NULL;
  while (cr != NULL) {
    if (cr[1] == '\n') return cr - p;
    size_t from = (size_t)(cr - p) + 1;
    cr = from < avail - 1 ? memchr(p + from, '\r', avail - 1 - from) : NULL;
  }
  return -1;
}

static inline int mc_line_is(const uint8_t *line, size_t size_bytes, const char *word) {
  size_t n = strlen(word);
  return size_bytes == n && memcmp(line, word, n) == 0;
}

static inline int mc_line_starts(const uint8_t *line, size_t size_bytes, const char *word) {
  size_t n = strlen(word);
  return size_bytes >= n && memcmp(line, word, n) == 0;
}

/**
 * Takes the space-terminated (or line-terminated) decimal token at line[*pos, size): 1 to 19
 * digits. Advances *pos past the token and one following space. 0 on success, -1 otherwise.
 */
static inline int mc_take_u64(const uint8_t *line, size_t size_bytes, size_t *pos, uint64_t *value) {
  size_t i = *pos;
  uint64_t v = 0;
  while (i < size_bytes && line[i] != ' ') {
    if (line[i] < '0' || line[i] > '9' || i - *pos >= 19) return -1;
    v = v * 10 + (uint64_t)(line[i] - '0');
    i++;
  }
  if (i == *pos) return -1;
  *value = v;
  *pos = i < size_bytes ? i + 1 : i;
  return 0;
}

/** Parses "VALUE <key> <flags> <bytes> [<cas>]" (without CRLF). 0 on success, -1 if malformed. */
static inline int mc_parse_value_line(const uint8_t *line, size_t size_bytes, uint32_t *flags, uint64_t *value_bytes) {
  size_t pos = 6; /* "VALUE " */
  size_t key_start = pos;
  while (pos < size_bytes && line[pos] != ' ') pos++;
  if (pos == key_start || pos - key_start > MC_KEY_BYTES_MAX || pos == size_bytes) return -1;
  pos++;
  uint64_t f, cas;
  if (mc_take_u64(line, size_bytes, &pos, &f) < 0 || f > UINT32_MAX) return -1;
  if (mc_take_u64(line, size_bytes, &pos, value_bytes) < 0) return -1;
  if (pos < size_bytes && mc_take_u64(line, size_bytes, &pos, &cas) < 0) return -1;
  if (pos != size_bytes || line[size_bytes - 1] == ' ') return -1;
  *flags = (uint32_t)f;
  return 0;
}

/**
 * Parses one reply at p[0, avail). Returns the bytes it takes (> 0) with *out filled, 0 if more
 * bytes are needed (*need_bytes is then the whole reply's size when already known, else 0), or
 * -1 for a malformed reply or a value larger than value_bytes_max.
 */
static inline long mc_parse(const uint8_t *p, size_t avail, size_t value_bytes_max, mc_reply_t *out,
                            size_t *need_bytes) {
  static const char end_line[] = "END\r\n";
  *need_bytes = 0;
  size_t scan_bytes = avail < MC_LINE_BYTES_MAX ? avail : MC_LINE_BYTES_MAX;
  long cr = mc_find_crlf(p, scan_bytes);
  if (cr < 0) return avail >= MC_LINE_BYTES_MAX ? -1 : 0;
  size_t size = (size_t)cr;
  size_t line_bytes = size + 2;
  out->data = NULL;
  out->size_bytes = 0;
  out->flags = 0;
  if (mc_line_starts(p, size, "VALUE ")) {
    uint64_t value_bytes;
    if (mc_parse_value_line(p, size, &out->flags, &value_bytes) < 0 || value_bytes > value_bytes_max) return -1;
    size_t total_bytes = line_bytes + (size_t)value_bytes + 2 + (sizeof end_line - 1);
    if (avail < total_bytes) {
      *need_bytes = total_bytes;
      return 0;
    }
    const uint8_t *data_end = p + line_bytes + value_bytes;
    if (data_end[0] != '\r' || data_end[1] != '\n' || memcmp(data_end + 2, end_line, sizeof end_line - 1) != 0)
      return -1;
    out->kind = MC_VALUE;
    out->data = p + line_bytes;
    out->size_bytes = (size_t)value_bytes;
    return (long)total_bytes;
  }
  if (mc_line_is(p, size, "STORED")) {
    out->kind = MC_STORED;
  } else if (mc_line_is(p, size, "END")) {
    out->kind = MC_END;
  } else if (mc_line_is(p, size, "NOT_STORED") || mc_line_is(p, size, "EXISTS") || mc_line_is(p, size, "NOT_FOUND")) {
    out->kind = MC_REFUSED;
    out->data = p;
    out->size_bytes = size;
  } else if (mc_line_is(p, size, "ERROR") || mc_line_starts(p, size, "CLIENT_ERROR ") ||
             mc_line_starts(p, size, "SERVER_ERROR ")) {
    out->kind = MC_ERROR;
    out->data = p;
    out->size_bytes = size;
  } else {
    return -1;
  }
  return (long)line_bytes;
}

#endif
