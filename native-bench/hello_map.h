// The partition map of a HELLO answer (docs/protocol.md §13): its version, each worker's
// endpoint port, and one namespace's master per partition. Read with the same bounds-checked
// msgpack reader as the answers; anything the generator does not need is skipped.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "ripemd.h"

#define MAP_WORKERS_MAX 256 /* a master is one byte on the wire */

typedef struct {
  uint32_t version;
  uint32_t worker_count;
  int ports[MAP_WORKERS_MAX]; /* 0: that worker has no endpoint (nil) */
  uint8_t masters[PARTITION_COUNT];
  char error[128];
} hello_map_t;

/** A str (want_bin 0) or bin (want_bin 1): its bytes stay in the message. 0 on success, -1 otherwise. */
static inline int mp_read_bytes(mp_reader_t *r, int want_bin, const uint8_t **data, uint32_t *size_bytes) {
  if (r->p >= r->end) return -1;
  uint8_t t = *r->p;
  uint32_t extra;
  if (!want_bin && (t & 0xe0) == 0xa0) {
    *size_bytes = t & 0x1f;
    extra = 0;
  } else if (t == (want_bin ? 0xc4 : 0xd9)) extra = 1;
  else if (t == (want_bin ? 0xc5 : 0xda)) extra = 2;
  else if (t == (want_bin ? 0xc6 : 0xdb)) extra = 4;
  else return -1;
  if ((size_t)(r->end - r->p) < 1 + extra) return -1;
  if (extra > 0) *size_bytes = (uint32_t)mp_get_be(r->p + 1, extra);
  if ((size_t)(r->end - r->p) - 1 - extra < *size_bytes) return -1;
  *data = r->p + 1 + extra;
  r->p += 1 + extra + *size_bytes;
  return 0;
}

static inline int mp_key_is(const uint8_t *key, uint32_t size_bytes, const char *name) {
  return size_bytes == strlen(name) && memcmp(key, name, size_bytes) == 0;
}

static inline int map_fail(hello_map_t *m, const char *why) {
  snprintf(m->error, sizeof m->error, "%s", why);
  return -1;
}

/** "host:port" → port (the generator keeps its own --host: the node may report a wildcard). */
static inline int endpoint_port(const uint8_t *text, uint32_t size_bytes) {
  uint32_t colon = size_bytes;
  while (colon > 0 && text[colon - 1] != ':') colon--;
  if (colon == 0 || colon == size_bytes || size_bytes - colon > 5) return -1;
  int port = 0;
  for (uint32_t i = colon; i < size_bytes; i++) {
    if (text[i] < '0' || text[i] > '9') return -1;
    port = port * 10 + (text[i] - '0');
  }
  return port >= 1 && port <= 65535 ? port : -1;
}

/** HELLO's `map`: version, endpoints and the masters of namespace number `ns_index`. */
static int hello_map_read_map(mp_reader_t *r, int ns_index, hello_map_t *m) {
  uint32_t fields;
  if (mp_read_map_header(r, &fields) < 0) return map_fail(m, "map is not a msgpack map");
  int have_version = 0, have_endpoints = 0, have_masters = 0;
  for (uint32_t f = 0; f < fields; f++) {
    const uint8_t *key;
    uint32_t key_bytes;
    if (mp_read_bytes(r, 0, &key, &key_bytes) < 0) return map_fail(m, "map key is not a string");
    if (mp_key_is(key, key_bytes, "version")) {
      int64_t v;
      if (mp_read_int(r, &v) < 0 || v < 0 || v > UINT32_MAX) return map_fail(m, "map.version is not a uint32");
      m->version = (uint32_t)v;
      have_version = 1;
    } else if (mp_key_is(key, key_bytes, "endpoints")) {
      uint32_t count;
      if (mp_read_array_header(r, &count) < 0 || count == 0 || count > MAP_WORKERS_MAX)
        return map_fail(m, "map.endpoints is not an array of 1 to 256 entries");
      m->worker_count = count;
      for (uint32_t w = 0; w < count; w++) {
        const uint8_t *text;
        uint32_t text_bytes;
        if (r->p < r->end && *r->p == 0xc0) {
          r->p++;
          m->ports[w] = 0;
        } else if (mp_read_bytes(r, 0, &text, &text_bytes) < 0 || (m->ports[w] = endpoint_port(text, text_bytes)) < 0) {
          return map_fail(m, "map.endpoints holds something other than \"host:port\" or nil");
        }
      }
      have_endpoints = 1;
    } else if (mp_key_is(key, key_bytes, "masters")) {
      uint32_t count;
      if (mp_read_array_header(r, &count) < 0 || (int)count <= ns_index) return map_fail(m, "map.masters has no entry for the namespace");
      for (uint32_t n = 0; n < count; n++) {
        const uint8_t *bytes;
        uint32_t size_bytes;
        if (mp_read_bytes(r, 1, &bytes, &size_bytes) < 0 || size_bytes != PARTITION_COUNT)
          return map_fail(m, "map.masters holds something other than 4096-byte bins");
        if ((int)n == ns_index) memcpy(m->masters, bytes, PARTITION_COUNT);
      }
      have_masters = 1;
    } else if (mp_skip(r) < 0) {
      return map_fail(m, "malformed value in map");
    }
  }
  if (!have_version || !have_endpoints || !have_masters) return map_fail(m, "map lacks version, endpoints or masters");
  for (uint32_t p = 0; p < PARTITION_COUNT; p++)
    if (m->masters[p] >= m->worker_count) return map_fail(m, "a partition's master is not a listed worker");
  return 0;
}

/**
 * Reads HELLO's answer body: finds `ns` in `namespaces` (which orders `map.masters`), then the
 * map. `namespaces` comes before `map` in the node's answer, but either order is accepted.
 * 0 on success; -1 with m->error set.
 */
static int hello_map_parse(const uint8_t *body, size_t size_bytes, const char *ns, hello_map_t *m) {
  memset(m, 0, sizeof *m);
  mp_reader_t r = {body, body + size_bytes};
  uint32_t fields;
  if (mp_read_map_header(&r, &fields) < 0) return map_fail(m, "HELLO's answer is not a map");
  int ns_index = -1;
  const uint8_t *map_at = NULL;
  for (uint32_t f = 0; f < fields; f++) {
    const uint8_t *key;
    uint32_t key_bytes;
    if (mp_read_bytes(&r, 0, &key, &key_bytes) < 0) return map_fail(m, "HELLO answer key is not a string");
    if (mp_key_is(key, key_bytes, "namespaces")) {
      uint32_t count;
      if (mp_read_array_header(&r, &count) < 0) return map_fail(m, "namespaces is not an array");
      for (uint32_t n = 0; n < count; n++) {
        const uint8_t *name;
        uint32_t name_bytes;
        if (mp_read_bytes(&r, 0, &name, &name_bytes) < 0) return map_fail(m, "a namespace name is not a string");
        if (ns_index < 0 && mp_key_is(name, name_bytes, ns)) ns_index = (int)n;
      }
    } else {
      if (mp_key_is(key, key_bytes, "map")) map_at = r.p;
      if (mp_skip(&r) < 0) return map_fail(m, "malformed value in HELLO's answer");
    }
  }
  if (map_at == NULL) return map_fail(m, "HELLO's answer has no map (a node without worker endpoints?)");
  if (ns_index < 0) return map_fail(m, "the node has no such namespace");
  mp_reader_t mr = {map_at, body + size_bytes};
  return hello_map_read_map(&mr, ns_index, m);
}
