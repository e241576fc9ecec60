// Proves the load generator's parsers right without a socket: WebSocket frames of every length
// form arriving in any split (one byte at a time included), fragmented messages with a ping
// between fragments, rejected server frames, msgpack skipping of every type and refusal of every
// truncation, RESP and memcached replies split across two reads at every byte and fed one byte
// at a time, the malformed replies each parser must refuse, the exact bytes of the commands they
// write, the histogram's percentile accuracy, RIPEMD-160 and the partition of a key against the
// digest vectors of reference.md (the ones src/partition/digest.ts is tested with), and the
// partition map read from a HELLO answer, including the malformed maps it must refuse.
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello_map.h"
#include "hist.h"
#include "mc.h"
#include "mp.h"
#include "resp.h"
#include "ripemd.h"
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

// ---- RESP and memcached replies ----

/** What a reply parser made of one reply, reduced to numbers a test can compare. */
typedef struct {
  int kind;
  size_t size_bytes;
  uint64_t checksum;
  int64_t integer;
} summary_t;

typedef long (*reply_parser_t)(const uint8_t *p, size_t avail, summary_t *out, size_t *need_bytes);

#define REPLY_VALUE_BYTES_MAX 4096
#define SUMMARIES_MAX 32

static uint64_t checksum(const uint8_t *p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum = sum * 31 + p[i];
  return sum;
}

static long parse_resp_summary(const uint8_t *p, size_t avail, summary_t *out, size_t *need_bytes) {
  resp_reply_t r = {0};
  long used = resp_parse(p, avail, REPLY_VALUE_BYTES_MAX, &r, need_bytes);
  if (used > 0) *out = (summary_t){r.kind, r.size_bytes, r.data ? checksum(r.data, r.size_bytes) : 0, r.integer};
  return used;
}

static long parse_mc_summary(const uint8_t *p, size_t avail, summary_t *out, size_t *need_bytes) {
  mc_reply_t r = {0};
  long used = mc_parse(p, avail, REPLY_VALUE_BYTES_MAX, &r, need_bytes);
  if (used > 0) *out = (summary_t){r.kind, r.size_bytes, r.data ? checksum(r.data, r.size_bytes) : 0, r.flags};
  return used;
}

/**
 * Delivers `stream` as the reads whose sizes `reads` lists (the last repeats), parsing after
 * each as a connection does. Returns the replies parsed, or -1 on an error, on bytes left over,
 * or when a size announced through need_bytes differs from the size the reply finally took.
 */
static int feed_replies(reply_parser_t parse, const uint8_t *stream, size_t size, const size_t *reads,
                        size_t reads_count, summary_t *out) {
  static uint8_t buf[1 << 16];
  size_t held = 0, fed = 0, read_index = 0, announced = 0;
  int count = 0;
  while (fed < size) {
    size_t n = reads[read_index < reads_count ? read_index : reads_count - 1];
    read_index++;
    if (n > size - fed) n = size - fed;
    memcpy(buf + held, stream + fed, n);
    held += n;
    fed += n;
    size_t pos = 0;
    for (;;) {
      size_t need = 0;
      long used = parse(buf + pos, held - pos, &out[count], &need);
      if (used < 0) return -1;
      if (used == 0) {
        if (need != 0) {
          if (need <= held - pos || (announced != 0 && announced != need)) return -1;
          announced = need;
        }
        break;
      }
      if (announced != 0 && (size_t)used != announced) return -1;
      announced = 0;
      pos += (size_t)used;
      if (++count == SUMMARIES_MAX) return -1;
    }
    memmove(buf, buf + pos, held - pos);
    held -= pos;
  }
  return held == 0 ? count : -1;
}

static int same_summaries(const summary_t *a, const summary_t *b, int count) {
  for (int i = 0; i < count; i++)
    if (a[i].kind != b[i].kind || a[i].size_bytes != b[i].size_bytes || a[i].checksum != b[i].checksum ||
        a[i].integer != b[i].integer)
      return 0;
  return 1;
}

/** Parses the stream whole, then split into two reads at every byte, then one byte at a time. */
static void check_every_split(reply_parser_t parse, const uint8_t *stream, size_t size, int expect_count) {
  summary_t whole[SUMMARIES_MAX], split[SUMMARIES_MAX];
  size_t all[] = {size};
  CHECK(feed_replies(parse, stream, size, all, 1, whole) == expect_count);
  for (size_t cut = 0; cut <= size; cut++) {
    size_t two[] = {cut, size};
    int n = feed_replies(parse, stream, size, two, 2, split);
    CHECK(n == expect_count && same_summaries(split, whole, expect_count));
  }
  size_t chunks[] = {1, 2, 3, 7, 13, 64};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    int n = feed_replies(parse, stream, size, &chunks[i], 1, split);
    CHECK(n == expect_count && same_summaries(split, whole, expect_count));
  }
}

/** A reply the parser must refuse whole (-1), and must never accept however it is split. */
static void check_refused(reply_parser_t parse, const char *text, size_t size) {
  summary_t out[SUMMARIES_MAX];
  size_t all[] = {size}, one[] = {1};
  CHECK(feed_replies(parse, (const uint8_t *)text, size, all, 1, out) < 0);
  CHECK(feed_replies(parse, (const uint8_t *)text, size, one, 1, out) < 0);
}
#define REFUSED(parse, literal) check_refused(parse, literal, sizeof literal - 1)

static void test_resp(void) {
  uint8_t value[300], stream[2048], *p = stream;
  for (size_t i = 0; i < sizeof value; i++) value[i] = (uint8_t)(i % 7 == 0 ? '\r' : i % 5 == 0 ? '\n' : i);
  const char *head = "+OK\r\n-ERR wrong number of arguments\r\n:12345\r\n:-7\r\n$-1\r\n$0\r\n\r\n";
  memcpy(p, head, strlen(head));
  p += strlen(head);
  p = resp_write_bulk(p, value, 100);
  p = resp_write_bulk(p, value, sizeof value);
  size_t n = (size_t)(p - stream);
  check_every_split(parse_resp_summary, stream, n, 8);

  summary_t r[SUMMARIES_MAX];
  size_t all[] = {n};
  CHECK(feed_replies(parse_resp_summary, stream, n, all, 1, r) == 8);
  CHECK(r[0].kind == RESP_STATUS && r[0].size_bytes == 2 && r[0].checksum == checksum((const uint8_t *)"OK", 2));
  CHECK(r[1].kind == RESP_ERROR && r[1].size_bytes == strlen("ERR wrong number of arguments"));
  CHECK(r[2].kind == RESP_INTEGER && r[2].integer == 12345);
  CHECK(r[3].kind == RESP_INTEGER && r[3].integer == -7);
  CHECK(r[4].kind == RESP_NIL);
  CHECK(r[5].kind == RESP_BULK && r[5].size_bytes == 0);
  CHECK(r[6].kind == RESP_BULK && r[6].size_bytes == 100 && r[6].checksum == checksum(value, 100));
  CHECK(r[7].kind == RESP_BULK && r[7].size_bytes == 300 && r[7].checksum == checksum(value, 300));

  // Once a bulk header is in, the whole reply's size is announced so the caller can make room.
  size_t need;
  resp_reply_t partial;
  CHECK(resp_parse(stream + strlen(head), 20, REPLY_VALUE_BYTES_MAX, &partial, &need) == 0 && need == 6 + 100 + 2);

  REFUSED(parse_resp_summary, "?what\r\n");
  REFUSED(parse_resp_summary, "\r\n");
  REFUSED(parse_resp_summary, "*1\r\n$1\r\na\r\n");           // an array answers neither GET nor SET
  REFUSED(parse_resp_summary, "$abc\r\n");
  REFUSED(parse_resp_summary, "$-2\r\n");
  REFUSED(parse_resp_summary, "$\r\n");
  REFUSED(parse_resp_summary, "$3\r\nabcXY");                      // no CRLF after the payload
  REFUSED(parse_resp_summary, "$5000\r\n");                        // larger than the maximum
  REFUSED(parse_resp_summary, ":\r\n");
  REFUSED(parse_resp_summary, ":1x\r\n");
  REFUSED(parse_resp_summary, ":1234567890123456789\r\n");         // 19 digits: refused, not overflowed
  static char long_line[RESP_LINE_BYTES_MAX + 8];
  memset(long_line, 'x', sizeof long_line);
  long_line[0] = '+';
  check_refused(parse_resp_summary, long_line, sizeof long_line);

  uint8_t out[128];
  const uint8_t key[] = "b:42";
  size_t got = (size_t)(resp_write_get(out, key, 4) - out);
  CHECK(got == 23 && memcmp(out, "*2\r\n$3\r\nGET\r\n$4\r\nb:42\r\n", got) == 0);
  got = (size_t)(resp_write_set(out, key, 4, (const uint8_t *)"hello", 5) - out);
  CHECK(got == 34 && memcmp(out, "*3\r\n$3\r\nSET\r\n$4\r\nb:42\r\n$5\r\nhello\r\n", got) == 0);
  CHECK(got <= resp_command_bytes_max(4, 5));
}

static void test_memcached(void) {
  uint8_t value[300], stream[2048], *p = stream;
  for (size_t i = 0; i < sizeof value; i++) value[i] = (uint8_t)(i % 7 == 0 ? '\r' : i % 5 == 0 ? '\n' : i);
  // A hit whose data holds "\r\nEND\r\n": values are length-delimited, never scanned.
  const char *head = "STORED\r\nVALUE b:1 0 5\r\nhello\r\nEND\r\nEND\r\nVALUE b:2 7 9 123\r\n\r\nEND\r\nXY\r\nEND\r\n"
                     "ERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory storing object\r\nNOT_STORED\r\n"
                     "VALUE b:3 0 0\r\n\r\nEND\r\n";
  memcpy(p, head, strlen(head));
  p += strlen(head);
  p += sprintf((char *)p, "VALUE b:4 4294967295 %zu\r\n", sizeof value);
  memcpy(p, value, sizeof value);
  p += sizeof value;
  memcpy(p, "\r\nEND\r\n", 7);
  p += 7;
  size_t n = (size_t)(p - stream);
  check_every_split(parse_mc_summary, stream, n, 10);

  summary_t r[SUMMARIES_MAX];
  size_t all[] = {n};
  CHECK(feed_replies(parse_mc_summary, stream, n, all, 1, r) == 10);
  CHECK(r[0].kind == MC_STORED);
  CHECK(r[1].kind == MC_VALUE && r[1].size_bytes == 5 && r[1].checksum == checksum((const uint8_t *)"hello", 5));
  CHECK(r[2].kind == MC_END);
  CHECK(r[3].kind == MC_VALUE && r[3].size_bytes == 9 && r[3].integer == 7 &&
        r[3].checksum == checksum((const uint8_t *)"\r\nEND\r\nXY", 9));
  CHECK(r[4].kind == MC_ERROR && r[5].kind == MC_ERROR && r[6].kind == MC_ERROR);
  CHECK(r[7].kind == MC_REFUSED);
  CHECK(r[8].kind == MC_VALUE && r[8].size_bytes == 0);
  CHECK(r[9].kind == MC_VALUE && r[9].size_bytes == 300 && r[9].integer == 4294967295 &&
        r[9].checksum == checksum(value, sizeof value));

  size_t need;
  mc_reply_t partial;
  const char *hit = "VALUE b:1 0 5\r\nhel";
  CHECK(mc_parse((const uint8_t *)hit, strlen(hit), REPLY_VALUE_BYTES_MAX, &partial, &need) == 0 && need == 15 + 5 + 2 + 5);

  REFUSED(parse_mc_summary, "VALUE b:1 0 5\r\nhelloXXEND\r\n");       // no CRLF after the data
  REFUSED(parse_mc_summary, "VALUE b:1 0 5\r\nhello\r\nVALUE b:2 0 1\r\nx\r\nEND\r\n");  // two values
  REFUSED(parse_mc_summary, "VALUE b:1 0 5\r\nhello\r\nENDX\r\n");
  REFUSED(parse_mc_summary, "VALUE b:1 0 5\r\nhello\r\nXXX\r\n");      // five bytes, but not END
  REFUSED(parse_mc_summary, "VALUE  0 5\r\nhello\r\nEND\r\n");        // no key
  REFUSED(parse_mc_summary, "VALUE b:1 x 5\r\nhello\r\nEND\r\n");
  REFUSED(parse_mc_summary, "VALUE b:1 0\r\n");
  REFUSED(parse_mc_summary, "VALUE b:1 0 5 \r\nhello\r\nEND\r\n");    // trailing space
  REFUSED(parse_mc_summary, "VALUE b:1 4294967296 1\r\nx\r\nEND\r\n");  // flags beyond 32 bits
  REFUSED(parse_mc_summary, "VALUE b:1 0 5000\r\n");                   // larger than the maximum
  REFUSED(parse_mc_summary, "STORE\r\n");
  REFUSED(parse_mc_summary, "ENDX\r\n");
  REFUSED(parse_mc_summary, "\r\n");
  static char long_line[MC_LINE_BYTES_MAX + 8];
  memset(long_line, 'x', sizeof long_line);
  check_refused(parse_mc_summary, long_line, sizeof long_line);

  uint8_t out[128];
  const uint8_t key[] = "b:42";
  size_t got = (size_t)(mc_write_get(out, key, 4) - out);
  CHECK(got == 10 && memcmp(out, "get b:42\r\n", got) == 0);
  got = (size_t)(mc_write_set(out, key, 4, (const uint8_t *)"hello", 5) - out);
  CHECK(got == 23 && memcmp(out, "set b:42 0 0 5\r\nhello\r\n", got) == 0);
  CHECK(got <= mc_command_bytes_max(4, 5));
}

// ---- digests and partitions ----

static int digest_is(const uint8_t d[RIPEMD_DIGEST_BYTES], const char *hex) {
  char text[2 * RIPEMD_DIGEST_BYTES + 1];
  for (int i = 0; i < RIPEMD_DIGEST_BYTES; i++) snprintf(text + 2 * i, 3, "%02x", d[i]);
  return strcmp(text, hex) == 0;
}

static void test_ripemd(void) {
  uint8_t d[RIPEMD_DIGEST_BYTES];
  // The algorithm's own vectors (Dobbertin, Bosselaers, Preneel), one of them two blocks long.
  ripemd160((const uint8_t *)"", 0, d);
  CHECK(digest_is(d, "9c1185a5c5e9fc54612808977ee8f548b2258d31"));
  ripemd160((const uint8_t *)"abc", 3, d);
  CHECK(digest_is(d, "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"));
  const char *eighty = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  ripemd160((const uint8_t *)eighty, 80, d);
  CHECK(digest_is(d, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"));
  // reference.md's key vectors: set "demo" with a string key and with integer keys.
  const uint8_t demo_key[] = {'d', 'e', 'm', 'o', KEY_TYPE_STRING, 'k', 'e', 'y'};
  ripemd160(demo_key, sizeof demo_key, d);
  CHECK(digest_is(d, "3bd475bd0c73f210b67ea83793300eeae576285d"));
  CHECK(digest_partition(d) == 1083);
  key_digest("demo", 4, 1, 0, d);
  CHECK(digest_is(d, "b7f4b83889e2da67de683e1df6919a1eacc446c8"));
  key_digest("demo", 4, 2, 0, d);
  CHECK(digest_is(d, "ae6a515f37de4adacc4496e2da1fea848c3a9270"));
  key_digest("demo", 4, 1, 1, d); /* --string-keys: the decimal text "1" */
  CHECK(digest_is(d, "6576b4888ccf929c200b6fbd90d09df3f6d10cf3"));
  uint8_t high[RIPEMD_DIGEST_BYTES] = {0xff, 0xff};
  CHECK(digest_partition(high) == 4095);
}

/** A HELLO answer body as the node writes it (src/endpoint/hello.ts), with two namespaces. */
static size_t hello_body(uint8_t *p, int masters_bytes, int endpoint_nil, uint8_t master_of_all) {
  uint8_t *start = p;
  p = mp_write_map_header(p, 4);
  p = mp_write_str(p, "node", 4);
  p = mp_write_str(p, "aerie", 5);
  p = mp_write_str(p, "namespaces", 10);
  p = mp_write_array_header(p, 2);
  p = mp_write_str(p, "other", 5);
  p = mp_write_str(p, "test", 4);
  p = mp_write_str(p, "limits", 6);
  p = mp_write_map_header(p, 1);
  p = mp_write_str(p, "frameBytesMax", 13);
  p = mp_write_uint(p, 16777216);
  p = mp_write_str(p, "map", 3);
  p = mp_write_map_header(p, 4);
  p = mp_write_str(p, "version", 7);
  p = mp_write_uint(p, 7);
  p = mp_write_str(p, "endpoints", 9);
  p = mp_write_array_header(p, 2);
  p = mp_write_str(p, "127.0.0.1:3001", 14);
  if (endpoint_nil) *p++ = 0xc0;
  else p = mp_write_str(p, "127.0.0.1:3002", 14);
  p = mp_write_str(p, "masters", 7);
  p = mp_write_array_header(p, 2);
  for (int ns = 0; ns < 2; ns++) {
    p = mp_write_bin_header(p, (uint32_t)masters_bytes);
    for (int i = 0; i < masters_bytes; i++) *p++ = ns == 1 ? (i % 2 ? master_of_all : 0) : 1;
  }
  p = mp_write_str(p, "replicas", 8);
  p = mp_write_array_header(p, 0);
  return (size_t)(p - start);
}

static void test_hello_map(void) {
  static uint8_t body[3 * PARTITION_COUNT];
  static hello_map_t m;
  size_t n = hello_body(body, PARTITION_COUNT, 0, 1);
  CHECK(hello_map_parse(body, n, "test", &m) == 0);
  CHECK(m.version == 7 && m.worker_count == 2 && m.ports[0] == 3001 && m.ports[1] == 3002);
  CHECK(m.masters[0] == 0 && m.masters[1] == 1 && m.masters[4095] == 1); /* "test" is the second namespace */
  CHECK(hello_map_parse(body, n, "other", &m) == 0 && m.masters[1] == 1 && m.masters[2] == 1);
  n = hello_body(body, PARTITION_COUNT, 1, 1);
  CHECK(hello_map_parse(body, n, "test", &m) == 0 && m.ports[1] == 0); /* nil: no endpoint */
  // Refused: an unknown namespace, a short masters bin, a master past the workers, every truncation.
  CHECK(hello_map_parse(body, n, "nope", &m) < 0);
  n = hello_body(body, PARTITION_COUNT - 1, 0, 1);
  CHECK(hello_map_parse(body, n, "test", &m) < 0);
  n = hello_body(body, PARTITION_COUNT, 0, 2);
  CHECK(hello_map_parse(body, n, "test", &m) < 0);
  n = hello_body(body, PARTITION_COUNT, 0, 1);
  int truncated_refused = 1;
  for (size_t cut = 0; cut < n; cut += 97) truncated_refused &= hello_map_parse(body, cut, "test", &m) < 0;
  CHECK(truncated_refused);
  CHECK(endpoint_port((const uint8_t *)"[::1]:65535", 11) == 65535);
  CHECK(endpoint_port((const uint8_t *)"host:0", 6) < 0 && endpoint_port((const uint8_t *)"host", 4) < 0);
  CHECK(endpoint_port((const uint8_t *)"host:655350", 11) < 0 && endpoint_port((const uint8_t *)"host:", 5) < 0);
}

int main(void) {
  test_frames();
  test_client_frames();
  test_msgpack();
  test_resp();
  test_memcached();
  test_hist();
  test_base64();
  test_ripemd();
  test_hello_map();
  if (failures) {
    fprintf(stderr, "selftest: %d checks failed\n", failures);
    return 1;
  }
  printf("selftest: all checks passed\n");
  return 0;
}
