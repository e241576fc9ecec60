// The client side of RFC 6455 framing, separate from sockets so it can be tested alone:
// - ws_write_frame writes a masked client frame (clients must mask every frame);
// - ws_consume parses as many whole frames as a buffer holds, reassembles fragmented messages
//   and hands each complete binary message, ping and close to callbacks. A frame split across
//   reads is left unconsumed for the caller to complete with the next read.
#ifndef AERIE_WS_H
#define AERIE_WS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WS_OP_CONTINUATION 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xa
/** A masked client frame header is at most 2 + 8 (length) + 4 (mask) bytes. */
#define WS_CLIENT_HEADER_BYTES_MAX 14
#define WS_CONTROL_PAYLOAD_BYTES_MAX 125

typedef struct {
  uint8_t fin;
  uint8_t opcode;
  uint32_t header_bytes;
  uint64_t payload_bytes;
} ws_frame_t;

/**
 * Parses the frame header at p[0, avail). Returns 1 with *f filled, 0 if more bytes are needed,
 * -1 for a header a server may not send (masked, reserved bits, oversized or fragmented control).
 */
static inline int ws_parse_header(const uint8_t *p, size_t avail, ws_frame_t *f) {
  if (avail < 2) return 0;
  f->fin = (p[0] & 0x80) != 0;
  f->opcode = p[0] & 0x0f;
  if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0) return -1;
  uint64_t size7 = p[1] & 0x7f;
  if (size7 == 126) {
    if (avail < 4) return 0;
    f->header_bytes = 4;
    f->payload_bytes = ((uint64_t)p[2] << 8) | p[3];
  } else if (size7 == 127) {
    if (avail < 10) return 0;
    f->header_bytes = 10;
    f->payload_bytes = 0;
    for (int i = 2; i < 10; i++) f->payload_bytes = (f->payload_bytes << 8) | p[i];
    if (f->payload_bytes >> 63) return -1;
  } else {
    f->header_bytes = 2;
    f->payload_bytes = size7;
  }
  if ((f->opcode & 0x8) && (!f->fin || f->payload_bytes > WS_CONTROL_PAYLOAD_BYTES_MAX)) return -1;
  return 1;
}

/** XOR-copies `size_bytes` from src to dst with the 4-byte mask (mask byte 0 first), 8 bytes at a time. */
static inline void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t size_bytes, uint32_t mask) {
  uint8_t m[8];
  for (int i = 0; i < 8; i++) m[i] = (uint8_t)(mask >> (8 * (3 - (i & 3))));
  uint64_t m64;
  memcpy(&m64, m, 8);
  size_t i = 0;
  for (; i + 8 <= size_bytes; i += 8) {
    uint64_t v;
    memcpy(&v, src + i, 8);
    v ^= m64;
    memcpy(dst + i, &v, 8);
  }
  for (; i < size_bytes; i++) dst[i] = src[i] ^ m[i & 3];
}

/** Writes a complete masked frame (FIN set) into dst; returns its size. dst needs payload + 14 bytes. */
static inline size_t ws_write_frame(uint8_t *dst, uint8_t opcode, const uint8_t *payload, size_t size_bytes,
                                    uint32_t mask) {
  uint8_t *p = dst;
  *p++ = (uint8_t)(0x80 | opcode);
  if (size_bytes < 126) {
    *p++ = (uint8_t)(0x80 | size_bytes);
  } else if (size_bytes <= 0xffff) {
    *p++ = 0x80 | 126;
    *p++ = (uint8_t)(size_bytes >> 8);
    *p++ = (uint8_t)size_bytes;
  } else {
    *p++ = 0x80 | 127;
    for (int i = 7; i >= 0; i--) *p++ = (uint8_t)((uint64_t)size_bytes >> (8 * i));
  }
  for (int i = 3; i >= 0; i--) *p++ = (uint8_t)(mask >> (8 * i));
  ws_mask_copy(p, payload, size_bytes, mask);
  return (size_t)(p - dst) + size_bytes;
}

// ---- receive side ----

typedef struct {
  void *ctx;
  /** A complete binary message. Return < 0 to stop parsing (the connection is being dropped). */
  int (*on_message)(void *ctx, const uint8_t *payload, size_t size_bytes);
  int (*on_ping)(void *ctx, const uint8_t *payload, size_t size_bytes);
  /** The peer's close frame; status is 1005 when the frame carried none. */
  int (*on_close)(void *ctx, uint32_t status);
} ws_handler_t;

typedef struct {
  /** Reassembly buffer for a fragmented message; grown on demand up to message_bytes_max. */
  uint8_t *fragments;
  size_t fragments_size_bytes;
  size_t fragments_capacity_bytes;
  int in_message;
  size_t message_bytes_max;
  /** Why ws_consume failed, for the report. */
  const char *error;
} ws_rx_t;

static inline int ws_rx_append(ws_rx_t *rx, const uint8_t *p, size_t size_bytes) {
  size_t need = rx->fragments_size_bytes + size_bytes;
  if (need > rx->message_bytes_max) return -1;
  if (need > rx->fragments_capacity_bytes) {
    size_t capacity = rx->fragments_capacity_bytes ? rx->fragments_capacity_bytes : 4096;
    while (capacity < need) capacity *= 2;
    if (capacity > rx->message_bytes_max) capacity = rx->message_bytes_max;
    uint8_t *grown = realloc(rx->fragments, capacity);
    if (grown == NULL) return -1;
    rx->fragments = grown;
    rx->fragments_capacity_bytes = capacity;
  }
  memcpy(rx->fragments + rx->fragments_size_bytes, p, size_bytes);
  rx->fragments_size_bytes = need;
  return 0;
}

static inline int ws_fail(ws_rx_t *rx, const char *why) {
  rx->error = why;
  return -1;
}

/**
 * Consumes every whole frame in buf[0, size). Returns the bytes consumed (the rest is an incomplete
 * frame), or -1 on a protocol error or when a callback asked to stop. *need_bytes is set to the
 * size of the incomplete frame when its header is known, so the caller can make room for it.
 */
static inline long ws_consume(ws_rx_t *rx, const uint8_t *buf, size_t size, const ws_handler_t *h,
                              size_t *need_bytes) {
  size_t pos = 0;
  *need_bytes = 0;
  for (;;) {
    ws_frame_t f;
    int got = ws_parse_header(buf + pos, size - pos, &f);
    if (got < 0) return ws_fail(rx, "bad frame header");
    if (got == 0) return (long)pos;
    if (f.payload_bytes > rx->message_bytes_max) return ws_fail(rx, "frame larger than the maximum");
    size_t frame_bytes = f.header_bytes + (size_t)f.payload_bytes;
    if (size - pos < frame_bytes) {
      *need_bytes = frame_bytes;
      return (long)pos;
    }
    const uint8_t *payload = buf + pos + f.header_bytes;
    size_t payload_bytes = (size_t)f.payload_bytes;
    pos += frame_bytes;
    int rc = 0;
    switch (f.opcode) {
      case WS_OP_BINARY:
        if (rx->in_message) return ws_fail(rx, "new message inside a fragmented one");
        if (f.fin) {
          rc = h->on_message(h->ctx, payload, payload_bytes);
        } else {
          rx->in_message = 1;
          rx->fragments_size_bytes = 0;
          if (ws_rx_append(rx, payload, payload_bytes) < 0) return ws_fail(rx, "fragmented message too large");
        }
        break;
      case WS_OP_CONTINUATION:
        if (!rx->in_message) return ws_fail(rx, "continuation without a message");
        if (ws_rx_append(rx, payload, payload_bytes) < 0) return ws_fail(rx, "fragmented message too large");
        if (f.fin) {
          rx->in_message = 0;
          rc = h->on_message(h->ctx, rx->fragments, rx->fragments_size_bytes);
        }
        break;
      case WS_OP_PING:
        rc = h->on_ping(h->ctx, payload, payload_bytes);
        break;
      case WS_OP_PONG:
        break;
      case WS_OP_CLOSE:
        rc = h->on_close(h->ctx, payload_bytes >= 2 ? ((uint32_t)payload[0] << 8) | payload[1] : 1005);
        break;
      case WS_OP_TEXT:
        return ws_fail(rx, "text frame (the protocol is binary only)");
      default:
        return ws_fail(rx, "unknown opcode");
    }
    if (rc < 0) {
      if (rx->error == NULL) rx->error = "stopped by handler";
      return -1;
    }
  }
}

// ---- handshake helper ----

/** Standard base64 of `size_bytes` bytes into out (which needs 4 * ceil(size / 3) + 1 bytes). */
static inline void base64_encode(const uint8_t *in, size_t size_bytes, char *out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < size_bytes; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < size_bytes) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < size_bytes) v |= in[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = i + 1 < size_bytes ? alphabet[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < size_bytes ? alphabet[v & 63] : '=';
  }
  out[o] = 0;
}

#endif
