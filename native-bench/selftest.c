// Proves the load generator's parsers right without a socket: WebSocket frames of every length
// form arriving in any split (one byte at a time included), fragmented messages with a ping
// between fragments, rejected server frames, msgpack skipping of every type and refusal of every
// truncation, and the histogram's percentile accuracy.
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "mp.h"
#include "ws.h"

static int failures;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

// ---- a recording handler ----

typedef struct {
  size_t messages, pings, closes;
  uint64_t message_bytes_total;
  uint64_t checksum;
  uint32_t close_status;
} seen_t;

static int seen_message(void *ctx, const uint8_t *p, size_t n) {
  seen_t *s = ctx;
  s->messages++;
  s->message_bytes_total += n;
  for (size_t i = 0; i < n; i++) s->checksum = s->checksum * 31 + p[i];
  return 0;
}
static int seen_ping(void *ctx, const uint8_t *p, size_t n) {
  (void)p;
  seen_t *s = ctx;
  s->pings++;
  s->message_bytes_total += n;
  return 0;
}
static int seen_close(void *ctx, uint32_t status) {
  seen_t *s = ctx;
  s->closes++;
  s->close_status = status;
  return 0;
}

/** An unmasked server frame. */
static size_t server_frame(uint8_t *dst, int fin, uint8_t opcode, const uint8_t *payload, size_t n) {
  uint8_t *p = dst;
  *p++ = (uint8_t)((fin ? 0x80 : 0) | opcode);
  if (n < 126) {
    *p++ = (uint8_t)n;
  } else if (n <= 0xffff) {
    *p++ = 126;
    p = mp_put_be16(p, (uint16_t)n);
  } else {
    *p++ = 127;
    p = mp_put_be64(p, n);
  }
  memcpy(p, payload, n);
  return (size_t)(p - dst) + n;
}

/** Feeds `stream` to ws_consume in chunks of `chunk` bytes, keeping leftovers as a connection does. */
static seen_t feed(const uint8_t *stream, size_t size, size_t chunk, int *error) {
  seen_t seen = {0};
  ws_rx_t rx = {.message_bytes_max = 1 << 20};
  ws_handler_t h = {&seen, seen_message, seen_ping, seen_close};
  uint8_t *buf = malloc(size);
  size_t held = 0, fed = 0;
  *error = 0;
  while (fed < size) {
    size_t n = size - fed < chunk ? size - fed : chunk;
    memcpy(buf + held, stream + fed, n);
    held += n;
    fed += n;
    size_t need;
    long used = ws_consume(&rx, buf, held, &h, &need);
    if (used < 0) {
      *error = 1;
      break;
    }
    memmove(buf, buf + used, held - (size_t)used);
    held -= (size_t)used;
  }
  if (held != 0) *error = 1;
  free(buf);
  free(rx.fragments);
  return seen;
}

static void test_frames(void) {
  static uint8_t stream[300000];
  static uint8_t payload[70000];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7 + 3);
  size_t n = 0;
  n += server_frame(stream + n, 1, WS_OP_BINARY, payload, 5);        // 7-bit length
  n += server_frame(stream + n, 1, WS_OP_BINARY, payload, 300);      // 16-bit length
  n += server_frame(stream + n, 1, WS_OP_BINARY, payload, 70000);    // 64-bit length
  n += server_frame(stream + n, 0, WS_OP_BINARY, payload, 1000);     // fragmented message ...
  n += server_frame(stream + n, 1, WS_OP_PING, payload, 4);          // ... a ping in between ...
  n += server_frame(stream + n, 0, WS_OP_CONTINUATION, payload + 1000, 200);
  n += server_frame(stream + n, 1, WS_OP_CONTINUATION, payload + 1200, 800);  // ... = 2000 bytes
  n += server_frame(stream + n, 1, WS_OP_BINARY, payload, 0);        // empty message
  uint8_t status[2] = {0x03, 0xe9};
  n += server_frame(stream + n, 1, WS_OP_CLOSE, status, 2);

  int error;
  seen_t whole = feed(stream, n, n, &error);
  CHECK(!error);
  CHECK(whole.messages == 5);
  CHECK(whole.pings == 1);
  CHECK(whole.closes == 1 && whole.close_status == 1001);
  CHECK(whole.message_bytes_total == 5 + 300 + 70000 + 4 + 2000);
  size_t chunks[] = {1, 2, 3, 7, 13, 125, 126, 4096, 65536};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    seen_t split = feed(stream, n, chunks[i], &error);
    CHECK(!error);
    CHECK(split.messages == whole.messages && split.checksum == whole.checksum && split.pings == 1);
    CHECK(split.message_bytes_total == whole.message_bytes_total && split.closes == 1);
  }

  // Frames a server may not send.
  uint8_t bad[16];
  size_t b = server_frame(bad, 1, WS_OP_BINARY, payload, 3);
  bad[1] |= 0x80;  // masked
  feed(bad, b, b, &error);
  CHECK(error);
  b = server_frame(bad, 1, WS_OP_TEXT, payload, 3);
  feed(bad, b, b, &error);
  CHECK(error);
  b = server_frame(bad, 0, WS_OP_PING, payload, 3);  // fragmented control frame
  feed(bad, b, b, &error);
  CHECK(error);
  b = server_frame(bad, 1, WS_OP_CONTINUATION, payload, 3);  // continuation of nothing
  feed(bad, b, b, &error);
  CHECK(error);
}

static void test_client_frames(void) {
  static uint8_t payload[70000], frame[70100], unmasked[70000];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 13 + 1);
  size_t sizes[] = {0, 1, 7, 125, 126, 65535, 65536, 70000};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    size_t total = ws_write_frame(frame, WS_OP_BINARY, payload, n, 0xa1b2c3d4u);
    CHECK(frame[0] == 0x82 && (frame[1] & 0x80));
    size_t header = (frame[1] & 0x7f) < 126 ? 2 : (frame[1] & 0x7f) == 126 ? 4 : 10;
    uint64_t length = (frame[1] & 0x7f) < 126 ? (frame[1] & 0x7f) : mp_get_be(frame + 2, (uint32_t)header - 2);
    CHECK(length == n && total == header + 4 + n);
    const uint8_t *mask = frame + header;
    CHECK(mask[0] == 0xa1 && mask[3] == 0xd4);
    for (size_t i = 0; i < n; i++) unmasked[i] = frame[header + 4 + i] ^ mask[i & 3];
    CHECK(memcmp(unmasked, payload, n) == 0);
  }
}

static void test_msgpack(void) {
  // [ [1, 0, {"gen": 1, "bins": {"v": bin(3)}, "f": 1.5, "n": nil, "t": true, "l": [-1, -200, 70000, "s"],
  //   "x": fixext4, "big": uint64 max} ], [4294967295, -33, nil] ]
  uint8_t m[256], *p = m;
  p = mp_write_array_header(p, 2);
  p = mp_write_array_header(p, 3);
  p = mp_write_uint(p, 1);
  p = mp_write_uint(p, 0);
  p = mp_write_map_header(p, 8);
  p = mp_write_str(p, "gen", 3);
  p = mp_write_uint(p, 1);
  p = mp_write_str(p, "bins", 4);
  p = mp_write_map_header(p, 1);
  p = mp_write_str(p, "v", 1);
  p = mp_write_bin_header(p, 3);
  *p++ = 1; *p++ = 2; *p++ = 3;
  p = mp_write_str(p, "f", 1);
  *p++ = 0xcb; memset(p, 0, 8); p += 8;
  p = mp_write_str(p, "n", 1);
  *p++ = 0xc0;
  p = mp_write_str(p, "t", 1);
  *p++ = 0xc3;
  p = mp_write_str(p, "l", 1);
  p = mp_write_array_header(p, 4);
  *p++ = 0xff;
  *p++ = 0xd1; p = mp_put_be16(p, (uint16_t)-200);
  p = mp_write_uint(p, 70000);
  p = mp_write_str(p, "s", 1);
  p = mp_write_str(p, "x", 1);
  *p++ = 0xd6; *p++ = 1; memset(p, 0, 4); p += 4;
  p = mp_write_str(p, "big", 3);
  p = mp_write_uint(p, UINT64_MAX);
  p = mp_write_array_header(p, 3);
  p = mp_write_uint(p, 4294967295u);
  *p++ = 0xd0; *p++ = (uint8_t)-33;
  *p++ = 0xc0;
  size_t n = (size_t)(p - m);

  mp_reader_t r = {m, m + n};
  uint32_t count, fields;
  int64_t id, code;
  CHECK(mp_read_array_header(&r, &count) == 0 && count == 2);
  CHECK(mp_read_array_header(&r, &fields) == 0 && fields == 3);
  CHECK(mp_read_int(&r, &id) == 0 && id == 1);
  CHECK(mp_read_int(&r, &code) == 0 && code == 0);
  CHECK(mp_skip(&r) == 0);
  CHECK(mp_read_array_header(&r, &fields) == 0 && fields == 3);
  CHECK(mp_read_int(&r, &id) == 0 && id == 4294967295);
  CHECK(mp_read_int(&r, &code) == 0 && code == -33);
  CHECK(mp_skip(&r) == 0);
  CHECK(r.p == r.end);

  // Every truncation of the whole value is refused by a skip, never read past.
  for (size_t cut = 0; cut < n; cut++) {
    mp_reader_t t = {m, m + cut};
    CHECK(mp_skip(&t) < 0);
  }
  mp_reader_t whole = {m, m + n};
  CHECK(mp_skip(&whole) == 0 && whole.p == whole.end);
  // A header claiming four billion elements with a few bytes left fails at once.
  uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
  mp_reader_t h = {huge, huge + sizeof huge};
  CHECK(mp_skip(&h) < 0);
}

static void test_hist(void) {
  static hist_t h;
  hist_reset(&h);
  for (uint64_t v = 1; v <= 100000; v++) hist_record(&h, v * 1000);  // 1 µs .. 100 ms
  double expect[] = {50, 90, 99, 99.9};
  for (int i = 0; i < 4; i++) {
    double exact = expect[i] / 100 * 100000 * 1000;
    double got = (double)hist_percentile(&h, expect[i]);
    CHECK(got >= exact && got <= exact * 1.01);
  }
  CHECK(hist_percentile(&h, 100) == 100000 * 1000ull);
  CHECK(h.max_ns == 100000 * 1000ull);
  for (uint64_t v = 0; v < 1u << 20; v++) CHECK(hist_bucket_high(hist_index(v)) >= v);
  CHECK(hist_index((1ull << HIST_VALUE_BITS) - 1) < HIST_BUCKETS);
}

static void test_base64(void) {
  char out[32];
  base64_encode((const uint8_t *)"the sample nonce", 16, out);  // RFC 6455 section 1.3
  CHECK(strcmp(out, "dGhlIHNhbXBsZSBub25jZQ==") == 0);
}

int main(void) {
  test_frames();
  test_client_frames();
  test_msgpack();
  test_hist();
  test_base64();
  if (failures) {
    fprintf(stderr, "selftest: %d checks failed\n", failures);
    return 1;
  }
  printf("selftest: all checks passed\n");
  return 0;
}
