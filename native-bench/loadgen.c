// loadgen: a single-threaded epoll load generator for Aerie's wire protocol (WebSocket, binary
// frames, each frame one msgpack array of [id, op, body] messages). It exists because a Node
// client saturates its own core near 87k requests/s and so cannot measure a faster server.
// With --protocol redis or memcached it drives those servers (RESP, memcached text) with the
// same key space, value size, mix, connections, pipelining, phases, histogram and CPU
// accounting, so the figures compare like for like.
//
// Every request occupies a slot of its connection's fixed slot table until its response arrives.
// Aerie's request id is (sequence << 16 | slot index), so a response is matched in O(1) and any
// id that matches no outstanding request is a protocol error. Redis and memcached answer in
// order, so their requests are matched through a FIFO ring of slot indices; a reply with nothing
// outstanding, or of the wrong kind for its request (a status for a GET), is a protocol error.
// Memory is sized at start-up: nothing on the request path allocates.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hello_map.h"
#include "hist.h"
#include "mc.h"
#include "mp.h"
#include "resp.h"
#include "ripemd.h"
#include "ws.h"

// ---- limits (the node's own limits where they apply: src/constants.ts) ----
#define CONNECTIONS_MAX 10000
#define INFLIGHT_MAX 8192            /* node: IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT */
#define RATE_MAX 100000000           /* --rate: requests per second */
#define BATCH_MAX 4096               /* node: REQUESTS_PER_FRAME_MAX */
#define SLOT_INDEX_BITS 16
#define SLOTS_MAX (1u << SLOT_INDEX_BITS)
#define VALUE_BYTES_MAX (1u << 20)
#define NAME_BYTES_MAX 63            /* node: SET_NAME_BYTES_MAX (namespaces are shorter) */
/** Bytes of a request other than its value: array, id, op, map keys, ns, set, key, bin header. */
#define REQUEST_OVERHEAD_BYTES (64 + 2 * NAME_BYTES_MAX + 32)
#define MESSAGE_BYTES_MAX (64u << 20) /* largest server message accepted */
#define READ_BUFFER_BYTES_INITIAL (256u * 1024)
#define CONTROL_BUFFER_BYTES (64u * 1024) /* write-buffer room for pongs, close and the hello */
#define HANDSHAKE_BYTES_MAX 16384
#define PREFILL_INFLIGHT 64
#define PREFILL_BATCH 16
#define CONNECT_TIMEOUT_MS 10000
#define PREFILL_TIMEOUT_MS 600000
#define DRAIN_TIMEOUT_MS 5000
#define EPOLL_WAIT_MS 5
#define EVENTS_MAX 256
#define HELLO_ID 0
/** The id of a push the node adds to an answer frame (docs/protocol.md §13: the map moved on). */
#define PUSH_ID 4294967295u
/** --routing partition precomputes every key's master: the key space it accepts. */
#define ROUTED_KEYS_MAX (1ull << 28)
/** Threads of the server sampled for CPU per thread (/proc/PID/task). */
#define SERVER_THREADS_MAX 512
/** Redis and memcached keys are "<set>:<decimal key>". */
#define PEER_KEY_BYTES_MAX (NAME_BYTES_MAX + 1 + 20)

#define OP_HELLO 1
#define OP_PUT 2
#define OP_GET 3
#define CODE_OK 0
#define CODE_SERVER_ERROR 1 /* a peer's error reply (-ERR, ERROR, CLIENT_ERROR, NOT_STORED ...) */
#define CODE_KEY_NOT_FOUND 2
#define CODES_TRACKED 256

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

typedef enum { PROTOCOL_AERIE, PROTOCOL_REDIS, PROTOCOL_MEMCACHED } protocol_t;
static const char *const PROTOCOL_NAMES[] = {"aerie", "redis", "memcached"};

typedef struct {
  protocol_t protocol;
  const char *host;
  int port;
  uint32_t connections;
  uint32_t inflight;
  uint32_t batch;
  uint64_t keys;
  uint32_t value_bytes;
  uint32_t read_pct;
  double duration_s;
  uint64_t count; /* 0 = run for duration_s */
  double rate;    /* requests per second over all connections once warmup starts; 0 = as fast as possible */
  double warmup_s;
  double timeout_s;
  const char *ns;
  const char *set;
  int prefill;
  int json;
  int progress;
  int progress_ms;
  int string_keys;
  int server_pid; /* 0 = do not sample the server's CPU */
  uint64_t seed;
  int routing_partition; /* --routing partition: each request to its key's master worker endpoint */
  int tls;
  const char *ca_file;   /* verify the server against this CA (else the system's) */
  const char *cert_file; /* client certificate and key, for a server that asks for one */
  const char *key_file;
} options_t;

typedef enum { PHASE_CONNECT, PHASE_PREFILL, PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN, PHASE_DONE } phase_t;
typedef enum { CONN_CONNECTING, CONN_TLS, CONN_HANDSHAKE, CONN_HELLO, CONN_READY, CONN_CLOSED } conn_state_t;

typedef struct {
  uint64_t sent_ns;
  uint32_t id;
  uint8_t busy;
  uint8_t op;
  uint8_t measured; /* issued during the measured phase (count mode counts only these) */
} slot_t;

typedef struct {
  int fd;
  conn_state_t state;
  uint32_t index;
  int port;        /* the endpoint it talks to: --port, or a worker's with --routing partition */
  uint32_t worker; /* --routing partition: the worker whose keys it sends */
  SSL *ssl;        /* --tls */
  int blocking;    /* the map fetch's connection: a blocking socket outside epoll */
  uint8_t *read_buffer;
  size_t read_size_bytes;
  size_t read_capacity_bytes;
  uint8_t *write_buffer;
  size_t write_size_bytes;
  size_t write_offset_bytes;
  size_t write_capacity_bytes;
  int wants_epollout;
  int dirty;
  ws_rx_t rx;
  slot_t *slots;
  uint16_t *free_slots;
  uint32_t free_count;
  uint16_t *order; /* Redis and memcached: slot indices in the order their requests were written */
  uint32_t order_head;
  uint32_t order_count;
  uint32_t slot_count;
  uint32_t outstanding;
  uint16_t sequence;
  uint64_t received_ns;
} conn_t;

typedef struct {
  uint64_t reads; /* successful reads, misses included */
  uint64_t writes;
  uint64_t misses;
  uint64_t errors;
  uint64_t errors_by_code[CODES_TRACKED];
  uint64_t errors_other_codes;
  hist_t all;
  hist_t read;
  hist_t write;
} stats_t;

static options_t opt = {
  .host = "127.0.0.1", .port = 3000, .connections = 50, .inflight = 1, .batch = 1, .keys = 1000000,
  .value_bytes = 100, .read_pct = 50, .duration_s = -1, .count = 0, .warmup_s = 1, .timeout_s = 300,
  .ns = "test", .set = "b", .seed = 0x9e3779b97f4a7c15ull, .progress_ms = 1000,
};

static struct {
  phase_t phase;
  conn_t *conns;
  uint32_t ready_count;
  int epoll_fd;
  uint64_t rng;
  uint8_t *scratch; /* one frame's payload before it is masked into a write buffer */
  uint8_t get_prefix[8 + 2 * NAME_BYTES_MAX + 16];
  size_t get_prefix_bytes;
  uint8_t put_prefix[8 + 2 * NAME_BYTES_MAX + 16];
  size_t put_prefix_bytes;
  uint8_t *put_suffix; /* "bins": {"v": <value>} */
  size_t put_suffix_bytes;
  uint8_t *value;      /* the value every PUT / SET writes */
  char peer_key_prefix[NAME_BYTES_MAX + 2];
  size_t peer_key_prefix_bytes;
  size_t request_bytes_max;
  uint64_t start_ns, phase_deadline_ns, warmup_end_ns, measure_end_ns;
  uint64_t prefill_start_ns, prefill_end_ns, prefill_next_key, prefill_completed, prefill_errors;
  uint64_t measure_start_ns, measure_stop_ns, measured_issued, measured_completed;
  uint64_t sent_total, completed_total, errors_all_phases, protocol_errors, unmatched;
  /* --rate: when pacing began, and the requests sent since. */
  uint64_t rate_origin_ns, rate_sent;
  struct rusage rusage_start, rusage_stop;
  int64_t server_cpu_start_us, server_cpu_stop_us;
  int64_t machine_busy_start_us, machine_busy_stop_us;
  uint64_t progress_last_ns, progress_last_ops;
  int refill_all;
  int measured;
  char failure[256];
  char first_error_reply[128]; /* a peer's first error reply, for the report */
  stats_t stats;
  uint64_t pushes; /* map-change pushes received (docs/protocol.md §13) */
  SSL_CTX *ssl_ctx;
  /* --routing partition: the map, and each worker's keys (those whose partition it masters). */
  hello_map_t map;
  int map_read;
  uint64_t *worker_keys[MAP_WORKERS_MAX];
  uint64_t worker_key_count[MAP_WORKERS_MAX];
  uint64_t worker_prefill_next[MAP_WORKERS_MAX];
  uint32_t worker_connections[MAP_WORKERS_MAX];
  /* CPU of each server thread at the start and the end of the measured window. */
  struct thread_sample {
    int tid;
    int64_t cpu_us;
    uint64_t start_ticks;
    char name[20];
  } threads_start[SERVER_THREADS_MAX], threads_stop[SERVER_THREADS_MAX];
  uint32_t threads_start_count, threads_stop_count;
  uint64_t server_start_ticks;
} g;

static volatile sig_atomic_t stop_requested;

// ---- small helpers ----

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(void) {
  uint64_t x = g.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  g.rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see --help)\n");
  va_end(ap);
  exit(1);
}

static void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count, size);
  if (p == NULL) {
    fprintf(stderr, "loadgen: out of memory\n");
    exit(1);
  }
  return p;
}

static int64_t rusage_cpu_us(const struct rusage *r) {
  return (int64_t)r->ru_utime.tv_sec * 1000000 + r->ru_utime.tv_usec + (int64_t)r->ru_stime.tv_sec * 1000000 +
         r->ru_stime.tv_usec;
}

/** utime + stime of a process (all its threads) from /proc/<pid>/stat, in µs; -1 if unreadable. */
static int64_t process_cpu_us(int pid) {
  if (pid <= 0) return -1;
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  char *p = strrchr(text, ')'); /* the command name may contain spaces and parentheses */
  if (p == NULL) return -1;
  unsigned long long utime = 0, stime = 0;
  // After ")" come field 3 (state) .. field 13, then utime (14) and stime (15).
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  long ticks_per_s = sysconf(_SC_CLK_TCK);
  return (int64_t)((utime + stime) * 1000000ull / (unsigned long long)ticks_per_s);
}

/**
 * utime + stime (µs), start time (clock ticks since boot) and name of every thread of `pid`, from
 * /proc/PID/task/TID/{stat,comm}. Called twice per run, outside the request path. Returns the
 * number of threads read (at most SERVER_THREADS_MAX).
 */
static uint32_t sample_threads(int pid, struct thread_sample *out) {
  if (pid <= 0) return 0;
  char path[96], text[1024];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *dir = opendir(path);
  if (dir == NULL) return 0;
  long ticks_per_s = sysconf(_SC_CLK_TCK);
  uint32_t count = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL && count < SERVER_THREADS_MAX) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct thread_sample *t = &out[count];
    t->tid = atoi(e->d_name);
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, t->tid);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue; /* the thread ended meanwhile */
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0, start = 0;
    // After ")": fields 3..13, utime (14), stime (15), fields 16..21, starttime (22).
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
                            &utime, &stime, &start) != 3)
      continue;
    t->cpu_us = (int64_t)((utime + stime) * 1000000ull / (unsigned long long)ticks_per_s);
    t->start_ticks = start;
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, t->tid);
    t->name[0] = 0;
    f = fopen(path, "r");
    if (f != NULL) {
      if (fgets(t->name, sizeof t->name, f) != NULL) t->name[strcspn(t->name, "\n")] = 0;
      fclose(f);
    }
    count++;
  }
  closedir(dir);
  return count;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat); 0 if unknown. */
static uint64_t process_start_ticks(int pid) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  char *p = strrchr(text, ')');
  unsigned long long start = 0;
  if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1)
    return 0;
  return start;
}

/** Busy time of all CPUs together (everything but idle and iowait) from /proc/stat, in µs; -1 if unreadable. */
static int64_t machine_busy_us(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 4) return -1;
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* user nice system irq softirq steal */
  return (int64_t)(busy * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/** Records the first failure; the run then stops and reports what it measured. */
static void fail(const char *fmt, ...) {
  if (g.failure[0] == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g.failure, sizeof g.failure, fmt, ap);
    va_end(ap);
  }
  if (g.phase == PHASE_MEASURE) {
    g.measure_stop_ns = now_ns();
    getrusage(RUSAGE_SELF, &g.rusage_stop);
    g.server_cpu_stop_us = process_cpu_us(opt.server_pid);
    g.machine_busy_stop_us = machine_busy_us();
    g.threads_stop_count = sample_threads(opt.server_pid, g.threads_stop);
  }
  g.phase = PHASE_DONE;
}

// ---- request encoding ----

static uint8_t *write_key(uint8_t *p, uint64_t key) {
  if (!opt.string_keys) return mp_write_uint(p, key);
  uint8_t *header = p++;
  uint8_t *end = write_decimal(p, key);
  *header = (uint8_t)(0xa0 | (end - p)); /* at most 20 digits: always a fixstr */
  return end;
}

static uint8_t *write_request(uint8_t *p, uint32_t id, uint8_t op, uint64_t key) {
  *p++ = 0x93;
  *p++ = 0xce; /* ids always as uint32: fixed size, and valid msgpack */
  p = mp_put_be32(p, id);
  *p++ = op;
  if (op == OP_GET) {
    memcpy(p, g.get_prefix, g.get_prefix_bytes);
    p += g.get_prefix_bytes;
    return write_key(p, key);
  }
  memcpy(p, g.put_prefix, g.put_prefix_bytes);
  p += g.put_prefix_bytes;
  p = write_key(p, key);
  memcpy(p, g.put_suffix, g.put_suffix_bytes);
  return p + g.put_suffix_bytes;
}

static size_t write_body_prefix(uint8_t *p, uint32_t fields) {
  uint8_t *start = p;
  p = mp_write_map_header(p, fields);
  p = mp_write_str(p, "ns", 2);
  p = mp_write_str(p, opt.ns, (uint32_t)strlen(opt.ns));
  p = mp_write_str(p, "set", 3);
  p = mp_write_str(p, opt.set, (uint32_t)strlen(opt.set));
  p = mp_write_str(p, "key", 3);
  return (size_t)(p - start);
}

static void prepare_encoding(void) {
  g.value = xcalloc(1, opt.value_bytes + 1);
  for (uint32_t i = 0; i < opt.value_bytes; i++) g.value[i] = (uint8_t)(rng_next() >> 56);
  g.get_prefix_bytes = write_body_prefix(g.get_prefix, 3);
  g.put_prefix_bytes = write_body_prefix(g.put_prefix, 4);
  g.put_suffix = xcalloc(1, opt.value_bytes + 32);
  uint8_t *p = g.put_suffix;
  p = mp_write_str(p, "bins", 4);
  p = mp_write_map_header(p, 1);
  p = mp_write_str(p, "v", 1);
  p = mp_write_bin_header(p, opt.value_bytes);
  memcpy(p, g.value, opt.value_bytes);
  g.put_suffix_bytes = (size_t)(p - g.put_suffix) + opt.value_bytes;
  g.peer_key_prefix_bytes = (size_t)snprintf(g.peer_key_prefix, sizeof g.peer_key_prefix, "%s:", opt.set);
  switch (opt.protocol) {
    case PROTOCOL_AERIE: g.request_bytes_max = opt.value_bytes + REQUEST_OVERHEAD_BYTES; break;
    case PROTOCOL_REDIS: g.request_bytes_max = resp_command_bytes_max(PEER_KEY_BYTES_MAX, opt.value_bytes); break;
    case PROTOCOL_MEMCACHED: g.request_bytes_max = mc_command_bytes_max(PEER_KEY_BYTES_MAX, opt.value_bytes); break;
  }
}

/** A Redis or memcached key: "<set>:<decimal key>". Returns its size. */
static size_t write_peer_key(uint8_t *dst, uint64_t key) {
  memcpy(dst, g.peer_key_prefix, g.peer_key_prefix_bytes);
  return (size_t)(write_decimal(dst + g.peer_key_prefix_bytes, key) - dst);
}

// ---- connections: writing ----

static void conn_lost(conn_t *c, const char *why);

static void epoll_set(conn_t *c, uint32_t events) {
  if (c->blocking) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(g.epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
}

// ---- transport: plain TCP, or TLS over it (--tls) ----
// Both behave like send/recv on a non-blocking socket: > 0 bytes moved, 0 at the peer's orderly
// end, -1 with errno EAGAIN when TLS or the socket must wait, another errno when the connection
// failed. TLS may need to read while writing (or the reverse); either way the connection waits
// for the socket and the loop retries.

static const char *tls_error_text(void) {
  static char text[160];
  unsigned long e = ERR_get_error();
  if (e == 0) return "no detail";
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

static ssize_t io_send(conn_t *c, const uint8_t *data, size_t size_bytes) {
  if (c->ssl == NULL) return send(c->fd, data, size_bytes, MSG_NOSIGNAL);
  ERR_clear_error();
  int n = SSL_write(c->ssl, data, size_bytes > INT32_MAX ? INT32_MAX : (int)size_bytes);
  if (n > 0) return n;
  int e = SSL_get_error(c->ssl, n);
  errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
  return -1;
}

static ssize_t io_recv(conn_t *c, uint8_t *data, size_t size_bytes) {
  if (c->ssl == NULL) return recv(c->fd, data, size_bytes, 0);
  ERR_clear_error();
  int n = SSL_read(c->ssl, data, size_bytes > INT32_MAX ? INT32_MAX : (int)size_bytes);
  if (n > 0) return n;
  int e = SSL_get_error(c->ssl, n);
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
  return -1;
}

/** The client side of --tls: protocol floor, the CA to verify against, an optional client certificate. */
static void tls_setup(void) {
  if (!opt.tls) return;
  g.ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (g.ssl_ctx == NULL) die_usage("TLS: %s", tls_error_text());
  SSL_CTX_set_min_proto_version(g.ssl_ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(g.ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(g.ssl_ctx, SSL_VERIFY_PEER, NULL);
  int loaded = opt.ca_file ? SSL_CTX_load_verify_locations(g.ssl_ctx, opt.ca_file, NULL)
                           : SSL_CTX_set_default_verify_paths(g.ssl_ctx);
  if (loaded != 1) die_usage("TLS: cannot load the CA %s: %s", opt.ca_file ? opt.ca_file : "(system)", tls_error_text());
  if ((opt.cert_file == NULL) != (opt.key_file == NULL)) die_usage("--cert and --key go together");
  if (opt.cert_file && (SSL_CTX_use_certificate_chain_file(g.ssl_ctx, opt.cert_file) != 1 ||
                        SSL_CTX_use_PrivateKey_file(g.ssl_ctx, opt.key_file, SSL_FILETYPE_PEM) != 1 ||
                        SSL_CTX_check_private_key(g.ssl_ctx) != 1))
    die_usage("TLS: cannot use the client certificate %s and key %s: %s", opt.cert_file, opt.key_file, tls_error_text());
}

/** A TLS session on a connected socket, checking the server's certificate names --host. */
static void tls_attach(conn_t *c) {
  c->ssl = SSL_new(g.ssl_ctx);
  if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) die_usage("TLS: %s", tls_error_text());
  X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
  struct in6_addr probe;
  int is_address = inet_pton(AF_INET, opt.host, &probe) == 1 || inet_pton(AF_INET6, opt.host, &probe) == 1;
  if (is_address) X509_VERIFY_PARAM_set1_ip_asc(param, opt.host);
  else {
    X509_VERIFY_PARAM_set1_host(param, opt.host, 0);
    SSL_set_tlsext_host_name(c->ssl, opt.host);
  }
  SSL_set_connect_state(c->ssl);
}

static void tls_detach(conn_t *c) {
  if (c->ssl == NULL) return;
  SSL_free(c->ssl);
  c->ssl = NULL;
}

/** Makes room for `size_bytes` more output; only control frames can ever make it grow. */
static uint8_t *write_reserve(conn_t *c, size_t size_bytes) {
  if (c->write_size_bytes + size_bytes > c->write_capacity_bytes && c->write_offset_bytes > 0) {
    memmove(c->write_buffer, c->write_buffer + c->write_offset_bytes, c->write_size_bytes - c->write_offset_bytes);
    c->write_size_bytes -= c->write_offset_bytes;
    c->write_offset_bytes = 0;
  }
  if (c->write_size_bytes + size_bytes > c->write_capacity_bytes) {
    size_t capacity = (c->write_size_bytes + size_bytes) * 2;
    uint8_t *grown = realloc(c->write_buffer, capacity);
    if (grown == NULL) {
      fprintf(stderr, "loadgen: out of memory\n");
      exit(1);
    }
    c->write_buffer = grown;
    c->write_capacity_bytes = capacity;
  }
  return c->write_buffer + c->write_size_bytes;
}

static void queue_frame(conn_t *c, uint8_t opcode, const uint8_t *payload, size_t size_bytes) {
  uint8_t *dst = write_reserve(c, size_bytes + WS_CLIENT_HEADER_BYTES_MAX);
  c->write_size_bytes += ws_write_frame(dst, opcode, payload, size_bytes, (uint32_t)rng_next());
}

static void conn_flush(conn_t *c) {
  while (c->state != CONN_CLOSED && c->write_offset_bytes < c->write_size_bytes) {
    ssize_t n = io_send(c, c->write_buffer + c->write_offset_bytes, c->write_size_bytes - c->write_offset_bytes);
    if (n > 0) {
      c->write_offset_bytes += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->wants_epollout) epoll_set(c, EPOLLIN | EPOLLOUT);
      c->wants_epollout = 1;
      return;
    } else {
      conn_lost(c, "send failed");
      return;
    }
  }
  c->write_offset_bytes = c->write_size_bytes = 0;
  if (c->wants_epollout && c->state != CONN_CLOSED) epoll_set(c, EPOLLIN);
  c->wants_epollout = 0;
}

/** Writes one GET or SET command straight into the write buffer and queues its slot for the reply. */
static void write_peer_request(conn_t *c, uint16_t index, uint8_t op, uint64_t key) {
  uint8_t name[PEER_KEY_BYTES_MAX];
  size_t name_bytes = write_peer_key(name, key);
  uint8_t *dst = write_reserve(c, g.request_bytes_max);
  uint8_t *end;
  if (opt.protocol == PROTOCOL_REDIS)
    end = op == OP_GET ? resp_write_get(dst, name, name_bytes) : resp_write_set(dst, name, name_bytes, g.value, opt.value_bytes);
  else
    end = op == OP_GET ? mc_write_get(dst, name, name_bytes) : mc_write_set(dst, name, name_bytes, g.value, opt.value_bytes);
  c->write_size_bytes += (size_t)(end - dst);
  c->order[(c->order_head + c->order_count) % c->slot_count] = index;
  c->order_count++;
}

/**
 * Sends `count` requests together, taking a slot for each: one frame holding all of them for
 * Aerie, `count` separate commands in one write for Redis and memcached.
 */
static void send_frame(conn_t *c, uint32_t count, uint64_t sent_ns) {
  int aerie = opt.protocol == PROTOCOL_AERIE;
  uint8_t *p = aerie ? mp_write_array_header(g.scratch, count) : NULL;
  int measured = g.phase == PHASE_MEASURE;
  for (uint32_t i = 0; i < count; i++) {
    uint16_t index = c->free_slots[--c->free_count];
    slot_t *s = &c->slots[index];
    uint8_t op;
    uint64_t key;
    if (g.phase == PHASE_PREFILL) {
      op = OP_PUT;
      key = opt.routing_partition ? g.worker_keys[c->worker][g.worker_prefill_next[c->worker]++] : g.prefill_next_key++;
    } else {
      op = (rng_next() >> 32) % 100 < opt.read_pct ? OP_GET : OP_PUT;
      // Routed, a connection draws from the keys its worker masters: uniform within them, and
      // uniform over all keys since each worker gets connections in proportion to its keys.
      key = opt.routing_partition ? g.worker_keys[c->worker][rng_next() % g.worker_key_count[c->worker]] : rng_next() % opt.keys;
    }
    c->sequence++;
    s->id = ((uint32_t)c->sequence << SLOT_INDEX_BITS) | index;
    s->busy = 1;
    s->op = op;
    s->measured = (uint8_t)measured;
    s->sent_ns = sent_ns;
    if (aerie) p = write_request(p, s->id, op, key);
    else write_peer_request(c, index, op, key);
  }
  if (aerie) queue_frame(c, WS_OP_BINARY, g.scratch, (size_t)(p - g.scratch));
  c->outstanding += count;
  g.sent_total += count;
  if (measured) g.measured_issued += count;
}

/** Issues frames while the connection has room for a whole batch and the phase has work left. */
static void conn_fill(conn_t *c) {
  if (c->state != CONN_READY) return;
  uint32_t inflight, batch;
  if (g.phase == PHASE_PREFILL) {
    inflight = PREFILL_INFLIGHT;
    batch = PREFILL_BATCH;
  } else if (g.phase == PHASE_WARMUP || g.phase == PHASE_MEASURE) {
    inflight = opt.inflight;
    batch = opt.batch;
  } else {
    return;
  }
  uint64_t sent_ns = now_ns();
  int paced = opt.rate > 0 && g.phase != PHASE_PREFILL;
  if (paced && g.rate_origin_ns == 0) g.rate_origin_ns = sent_ns;
  while (c->outstanding + batch <= inflight) {
    // Open-loop pacing: no more requests than the rate allows since warmup began.
    if (paced && (double)(g.rate_sent + batch) > opt.rate * (double)(sent_ns - g.rate_origin_ns) / NS_PER_S) break;
    uint64_t count = batch;
    if (g.phase == PHASE_PREFILL) {
      uint64_t left = opt.routing_partition ? g.worker_key_count[c->worker] - g.worker_prefill_next[c->worker]
                                            : opt.keys - g.prefill_next_key;
      if (left < count) count = left;
    } else if (g.phase == PHASE_MEASURE && opt.count > 0) {
      uint64_t left = opt.count - g.measured_issued;
      if (left < count) count = left;
    }
    if (count == 0) break;
    send_frame(c, (uint32_t)count, sent_ns);
    if (paced) g.rate_sent += count;
  }
}

// ---- connections: reading ----

static void record(slot_t *s, int64_t code, uint64_t latency_ns) {
  stats_t *st = &g.stats;
  int ok = code == CODE_OK || (code == CODE_KEY_NOT_FOUND && s->op == OP_GET);
  if (!ok) {
    st->errors++;
    if (code >= 0 && code < CODES_TRACKED) st->errors_by_code[code]++;
    else st->errors_other_codes++;
    return;
  }
  hist_record(&st->all, latency_ns);
  if (s->op == OP_GET) {
    st->reads++;
    if (code == CODE_KEY_NOT_FOUND) st->misses++;
    hist_record(&st->read, latency_ns);
  } else {
    st->writes++;
    hist_record(&st->write, latency_ns);
  }
}

static void complete(conn_t *c, uint32_t index, int64_t code);

static int on_response(conn_t *c, int64_t id, int64_t code, const uint8_t *body, size_t body_bytes) {
  if (id == PUSH_ID) { /* the partition map moved on: counted, the run goes on (answers stay correct) */
    g.pushes++;
    return 0;
  }
  if (c->state == CONN_HELLO) {
    if (id != HELLO_ID || code != CODE_OK) {
      fail("HELLO refused on connection %u: id %" PRId64 " code %" PRId64, c->index, id, code);
      return -1;
    }
    if (opt.routing_partition && !g.map_read) {
      if (hello_map_parse(body, body_bytes, opt.ns, &g.map) < 0) {
        fail("--routing partition: %s", g.map.error);
        return -1;
      }
      g.map_read = 1;
    }
    c->state = CONN_READY;
    g.ready_count++;
    return 0;
  }
  uint32_t index = (uint32_t)id & (SLOTS_MAX - 1);
  if (id < 0 || id > UINT32_MAX || index >= c->slot_count || !c->slots[index].busy ||
      c->slots[index].id != (uint32_t)id) {
    g.unmatched++;
    g.protocol_errors++;
    fail("connection %u: response id %" PRId64 " matches no request in flight", c->index, id);
    return -1;
  }
  complete(c, index, code);
  return 0;
}

/** Frees the slot of an answered request and counts the answer in its phase. */
static void complete(conn_t *c, uint32_t index, int64_t code) {
  slot_t *s = &c->slots[index];
  s->busy = 0;
  c->free_slots[c->free_count++] = (uint16_t)index;
  c->outstanding--;
  g.completed_total++;
  int ok = code == CODE_OK || (code == CODE_KEY_NOT_FOUND && s->op == OP_GET);
  if (!ok) g.errors_all_phases++;
  if (g.phase == PHASE_PREFILL) {
    g.prefill_completed++;
    if (!ok) g.prefill_errors++;
  } else if (g.phase == PHASE_MEASURE && (opt.count == 0 || s->measured)) {
    uint64_t latency_ns = c->received_ns > s->sent_ns ? c->received_ns - s->sent_ns : 0;
    record(s, code, latency_ns);
    if (s->measured) g.measured_completed++;
  }
}

static int protocol_error(conn_t *c, const char *what) {
  g.protocol_errors++;
  fail("connection %u: %s", c->index, what);
  return -1;
}

/**
 * A message that broke the protocol, kept for whoever chases it: its bytes in hex in
 * $LOADGEN_BAD_FRAME_FILE when that is set (the run's report carries only the reason).
 */
static void keep_bad_message(const conn_t *c, const uint8_t *payload, size_t size_bytes, size_t at) {
  const char *file = getenv("LOADGEN_BAD_FRAME_FILE");
  if (file == NULL || file[0] == '\0') return;
  FILE *f = fopen(file, "w");
  if (f == NULL) return;
  fprintf(f, "connection %u, %zu bytes, parse stopped at %zu\n", c->index, size_bytes, at);
  for (size_t i = 0; i < size_bytes; i++) fprintf(f, "%02x%s", payload[i], (i + 1) % 32 == 0 ? "\n" : "");
  fprintf(f, "\n");
  fclose(f);
}

static int on_message_parse(conn_t *c, const uint8_t *payload, size_t size_bytes, mp_reader_t *rp);

/** One server message: an array of [id, code, body] responses. */
static int on_message(void *ctx, const uint8_t *payload, size_t size_bytes) {
  conn_t *c = ctx;
  mp_reader_t r = {payload, payload + size_bytes};
  int rc = on_message_parse(c, payload, size_bytes, &r);
  if (rc < 0 && g.protocol_errors > 0) keep_bad_message(c, payload, size_bytes, (size_t)(r.p - payload));
  return rc;
}

static int on_message_parse(conn_t *c, const uint8_t *payload, size_t size_bytes, mp_reader_t *rp) {
  (void)payload;
  (void)size_bytes;
  mp_reader_t r = *rp;
  uint32_t count;
  if (mp_read_array_header(&r, &count) < 0) return protocol_error(c, "a message is not a msgpack array");
  for (uint32_t i = 0; i < count; i++) {
    uint32_t fields;
    int64_t id, code;
    if (mp_read_array_header(&r, &fields) < 0 || fields != 3) return protocol_error(c, "a response is not [id, code, body]");
    if (mp_read_int(&r, &id) < 0 || mp_read_int(&r, &code) < 0) return protocol_error(c, "response id or code is not an integer");
    const uint8_t *body = r.p;
    if (mp_skip(&r) < 0) return protocol_error(c, "malformed response body");
    *rp = r;
    if (on_response(c, id, code, body, (size_t)(r.p - body)) < 0) return -1;
  }
  *rp = r;
  if (r.p != r.end) return protocol_error(c, "bytes after the responses in a message");
  return 0;
}

static int on_ping(void *ctx, const uint8_t *payload, size_t size_bytes) {
  conn_t *c = ctx;
  queue_frame(c, WS_OP_PONG, payload, size_bytes);
  c->dirty = 1;
  return 0;
}

static int on_close(void *ctx, uint32_t status) {
  conn_t *c = ctx;
  char why[64];
  snprintf(why, sizeof why, "server closed the WebSocket (status %u)", status);
  conn_lost(c, why);
  return -1;
}

// ---- Redis and memcached replies ----

static void note_error_reply(const uint8_t *text, size_t size_bytes) {
  if (g.first_error_reply[0] != 0) return;
  size_t n = size_bytes < sizeof g.first_error_reply - 1 ? size_bytes : sizeof g.first_error_reply - 1;
  for (size_t i = 0; i < n; i++) g.first_error_reply[i] = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';
  g.first_error_reply[n] = 0;
}

/** The result code of a RESP reply to a request of kind `op`, or -1 if the reply cannot answer it. */
static int64_t resp_code(const resp_reply_t *r, uint8_t op) {
  if (r->kind == RESP_ERROR) {
    note_error_reply(r->data, r->size_bytes);
    return CODE_SERVER_ERROR;
  }
  if (op == OP_GET) return r->kind == RESP_BULK ? CODE_OK : r->kind == RESP_NIL ? CODE_KEY_NOT_FOUND : -1;
  return r->kind == RESP_STATUS && r->size_bytes == 2 && memcmp(r->data, "OK", 2) == 0 ? CODE_OK : -1;
}

/** The result code of a memcached reply to a request of kind `op`, or -1 if the reply cannot answer it. */
static int64_t mc_code(const mc_reply_t *r, uint8_t op) {
  if (r->kind == MC_ERROR || r->kind == MC_REFUSED) {
    note_error_reply(r->data, r->size_bytes);
    return CODE_SERVER_ERROR;
  }
  if (op == OP_GET) return r->kind == MC_VALUE ? CODE_OK : r->kind == MC_END ? CODE_KEY_NOT_FOUND : -1;
  return r->kind == MC_STORED ? CODE_OK : -1;
}

/**
 * Consumes every whole reply in the read buffer, each answering the oldest request outstanding.
 * Returns the bytes consumed or -1 after a protocol error; *need_bytes as for ws_consume.
 */
static long consume_replies(conn_t *c, size_t *need_bytes) {
  size_t pos = 0;
  for (;;) {
    const uint8_t *p = c->read_buffer + pos;
    size_t avail = c->read_size_bytes - pos;
    long used;
    resp_reply_t rr = {0};
    mc_reply_t mr = {0};
    if (opt.protocol == PROTOCOL_REDIS) used = resp_parse(p, avail, VALUE_BYTES_MAX, &rr, need_bytes);
    else used = mc_parse(p, avail, VALUE_BYTES_MAX, &mr, need_bytes);
    if (used < 0) return protocol_error(c, "malformed reply");
    if (used == 0) return (long)pos;
    pos += (size_t)used;
    if (c->order_count == 0) {
      g.unmatched++;
      return protocol_error(c, "a reply with no request outstanding");
    }
    uint32_t index = c->order[c->order_head];
    int64_t code = opt.protocol == PROTOCOL_REDIS ? resp_code(&rr, c->slots[index].op) : mc_code(&mr, c->slots[index].op);
    if (code < 0) return protocol_error(c, c->slots[index].op == OP_GET ? "a reply that cannot answer a GET" : "a reply that cannot answer a SET");
    c->order_head = (c->order_head + 1) % c->slot_count;
    c->order_count--;
    complete(c, index, code);
  }
}

static void conn_lost(conn_t *c, const char *why) {
  if (c->state == CONN_CLOSED) return;
  tls_detach(c);
  close(c->fd); /* also removes it from the epoll set */
  c->state = CONN_CLOSED;
  // Losing a connection with nothing owed once the measurement is over is the normal ending.
  if (g.phase == PHASE_DONE || (g.phase == PHASE_DRAIN && c->outstanding == 0)) return;
  fail("connection %u lost with %u requests in flight: %s", c->index, c->outstanding, why);
}

/* A session token (docs/security.md) from the environment, never a flag: ps would show it. */
#define TOKEN_BYTES_MAX 1024

static void send_hello(conn_t *c) {
  uint8_t hello[64 + TOKEN_BYTES_MAX];
  const char *token = getenv("AERIE_TOKEN");
  size_t token_bytes = token == NULL ? 0 : strlen(token);
  if (token_bytes > TOKEN_BYTES_MAX) die_usage("AERIE_TOKEN is longer than %d bytes", TOKEN_BYTES_MAX);
  uint8_t *p = mp_write_array_header(hello, 1);
  p = mp_write_array_header(p, 3);
  p = mp_write_uint(p, HELLO_ID);
  p = mp_write_uint(p, OP_HELLO);
  p = mp_write_map_header(p, token_bytes > 0 ? 2 : 1);
  p = mp_write_str(p, "protocol", 8);
  p = mp_write_uint(p, 1);
  if (token_bytes > 0) {
    p = mp_write_str(p, "token", 5);
    p = mp_write_str(p, token, (uint32_t)token_bytes);
  }
  queue_frame(c, WS_OP_BINARY, hello, (size_t)(p - hello));
  c->state = CONN_HELLO;
}

/** Consumes the HTTP upgrade response. 1 when done, 0 when more bytes are needed, -1 on failure. */
static int read_handshake(conn_t *c) {
  uint8_t *end = memmem(c->read_buffer, c->read_size_bytes, "\r\n\r\n", 4);
  if (end == NULL) {
    if (c->read_size_bytes >= HANDSHAKE_BYTES_MAX) return protocol_error(c, "upgrade response too long");
    return 0;
  }
  if (c->read_size_bytes < 12 || memcmp(c->read_buffer, "HTTP/1.1 101", 12) != 0) {
    char line[80];
    size_t n = 0;
    while (n < 60 && c->read_buffer[n] != '\r') n++; /* the terminator found above bounds this */
    snprintf(line, sizeof line, "upgrade refused: %.*s", (int)n, (char *)c->read_buffer);
    return protocol_error(c, line);
  }
  size_t header_bytes = (size_t)(end + 4 - c->read_buffer);
  memmove(c->read_buffer, c->read_buffer + header_bytes, c->read_size_bytes - header_bytes);
  c->read_size_bytes -= header_bytes;
  send_hello(c);
  return 1;
}

static void conn_read_once(conn_t *c);

/**
 * Reads what the socket holds. TLS may hold decrypted bytes the socket no longer signals (a read
 * buffer filled in the middle of a record): those are read before returning, a bounded number of
 * rounds, each of which consumes whole frames and so makes room.
 */
static void conn_readable(conn_t *c) {
  conn_read_once(c);
  for (int round = 0; round < 64 && c->state != CONN_CLOSED && c->ssl != NULL && SSL_pending(c->ssl) > 0; round++)
    conn_read_once(c);
}

static void conn_read_once(conn_t *c) {
  if (c->read_size_bytes == c->read_capacity_bytes) {
    protocol_error(c, "read buffer full");
    return;
  }
  ssize_t n = io_recv(c, c->read_buffer + c->read_size_bytes, c->read_capacity_bytes - c->read_size_bytes);
  if (n == 0) return conn_lost(c, "server closed the TCP connection");
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn_lost(c, strerror(errno));
    return;
  }
  c->read_size_bytes += (size_t)n;
  c->received_ns = now_ns();
  c->dirty = 1;
  if (c->state == CONN_HANDSHAKE) {
    if (read_handshake(c) <= 0) return;
  }
  size_t need_bytes;
  long consumed;
  if (opt.protocol == PROTOCOL_AERIE) {
    ws_handler_t handler = {c, on_message, on_ping, on_close};
    consumed = ws_consume(&c->rx, c->read_buffer, c->read_size_bytes, &handler, &need_bytes);
    if (consumed < 0) {
      if (c->state != CONN_CLOSED && g.phase != PHASE_DONE) protocol_error(c, c->rx.error);
      return;
    }
  } else {
    consumed = consume_replies(c, &need_bytes);
    if (consumed < 0) return;
  }
  c->read_size_bytes -= (size_t)consumed;
  if (consumed > 0 && c->read_size_bytes > 0) memmove(c->read_buffer, c->read_buffer + consumed, c->read_size_bytes);
  if (need_bytes > c->read_capacity_bytes) { /* a frame larger than the buffer: grow once for it */
    uint8_t *grown = realloc(c->read_buffer, need_bytes + 1);
    if (grown == NULL) {
      fprintf(stderr, "loadgen: out of memory\n");
      exit(1);
    }
    c->read_buffer = grown;
    c->read_capacity_bytes = need_bytes + 1;
  }
}

static void conn_start_protocol(conn_t *c);

/** Drives the TLS handshake of a connection until it completes, then starts the protocol on it. */
static void conn_tls_step(conn_t *c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    conn_start_protocol(c);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) epoll_set(c, EPOLLIN);
  else if (e == SSL_ERROR_WANT_WRITE) epoll_set(c, EPOLLIN | EPOLLOUT);
  else {
    long verify = SSL_get_verify_result(c->ssl);
    fail("TLS handshake with %s:%d failed: %s%s%s", opt.host, c->port, tls_error_text(),
         verify != X509_V_OK ? "; certificate: " : "", verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
  }
}

static void conn_connected(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail("connect to %s:%d: %s", opt.host, c->port, strerror(err));
    return;
  }
  if (opt.tls) {
    tls_attach(c);
    c->state = CONN_TLS;
    conn_tls_step(c);
    return;
  }
  conn_start_protocol(c);
}

/** On a connected (and, with --tls, encrypted) connection: the upgrade for Aerie, nothing for the peers. */
static void conn_start_protocol(conn_t *c) {
  if (opt.protocol != PROTOCOL_AERIE) { /* no handshake: ready at once */
    c->state = CONN_READY;
    g.ready_count++;
    c->wants_epollout = 1; /* registered with EPOLLOUT for the connect; conn_flush clears it */
    conn_flush(c);
    return;
  }
  uint8_t nonce[16];
  char key[32];
  for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)(rng_next() >> 56);
  base64_encode(nonce, sizeof nonce, key);
  char request[512];
  int n = snprintf(request, sizeof request,
                   "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   opt.host, c->port, key);
  memcpy(write_reserve(c, (size_t)n), request, (size_t)n);
  c->write_size_bytes += (size_t)n;
  c->state = CONN_HANDSHAKE;
  c->wants_epollout = 1; /* registered with EPOLLOUT for the connect; conn_flush clears it */
  conn_flush(c);
}

/** The server's address with another port (a worker's endpoint). */
static void address_with_port(const struct addrinfo *ai, int port, struct sockaddr_storage *out) {
  memcpy(out, ai->ai_addr, ai->ai_addrlen);
  if (ai->ai_family == AF_INET6) ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
  else ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
}

/** Opens c's socket to c->port; non-blocking and watched by epoll unless `blocking` (the map fetch). */
static void conn_open(conn_t *c, const struct addrinfo *ai, int blocking) {
  c->fd = socket(ai->ai_family, ai->ai_socktype | (blocking ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC, ai->ai_protocol);
  if (c->fd < 0) {
    fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
    exit(2);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (blocking) { /* bounded: the map fetch gives up with the connect timeout */
    struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_MS / 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  struct sockaddr_storage address;
  address_with_port(ai, c->port, &address);
  if (connect(c->fd, (struct sockaddr *)&address, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
    fprintf(stderr, "loadgen: connect to %s:%d: %s\n", opt.host, c->port, strerror(errno));
    exit(2);
  }
  c->state = CONN_CONNECTING;
  if (blocking) return;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(g.epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    fprintf(stderr, "loadgen: epoll_ctl: %s\n", strerror(errno));
    exit(2);
  }
}

static void conn_buffers(conn_t *c, uint32_t slot_count) {
  c->read_capacity_bytes = READ_BUFFER_BYTES_INITIAL;
  c->read_buffer = xcalloc(1, c->read_capacity_bytes);
  c->write_capacity_bytes = slot_count * (g.request_bytes_max + WS_CLIENT_HEADER_BYTES_MAX) + CONTROL_BUFFER_BYTES;
  c->write_buffer = xcalloc(1, c->write_capacity_bytes);
  c->rx.message_bytes_max = MESSAGE_BYTES_MAX;
  c->slot_count = slot_count;
  c->slots = xcalloc(slot_count, sizeof *c->slots);
  c->free_slots = xcalloc(slot_count, sizeof *c->free_slots);
  for (uint32_t s = 0; s < slot_count; s++) c->free_slots[s] = (uint16_t)(slot_count - 1 - s);
  c->free_count = slot_count;
  c->order = xcalloc(slot_count, sizeof *c->order);
}

static void conn_free(conn_t *c) {
  free(c->read_buffer);
  free(c->write_buffer);
  free(c->slots);
  free(c->free_slots);
  free(c->order);
}

static struct addrinfo *resolve(void) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  char port[16];
  snprintf(port, sizeof port, "%d", opt.port);
  int rc = getaddrinfo(opt.host, port, &hints, &ai);
  if (rc != 0) {
    fprintf(stderr, "loadgen: %s: %s\n", opt.host, gai_strerror(rc));
    exit(2);
  }
  return ai;
}

/**
 * --routing partition, before the load: one blocking connection to --port (the front, or any
 * endpoint), upgrade, HELLO, and the partition map from its answer; then the connection closes.
 */
static void fetch_map(const struct addrinfo *ai) {
  conn_t boot = {.port = opt.port, .blocking = 1};
  conn_buffers(&boot, 1);
  conn_open(&boot, ai, 1);
  if (opt.tls) {
    tls_attach(&boot);
    ERR_clear_error();
    if (SSL_do_handshake(boot.ssl) != 1) fail("TLS handshake with %s:%d failed: %s", opt.host, opt.port, tls_error_text());
  }
  if (!g.failure[0]) conn_start_protocol(&boot);
  uint64_t deadline = now_ns() + CONNECT_TIMEOUT_MS * NS_PER_MS;
  while (!g.failure[0] && boot.state != CONN_READY && boot.state != CONN_CLOSED && now_ns() < deadline) {
    conn_readable(&boot);
    conn_flush(&boot); /* the HELLO, queued once the upgrade is read */
  }
  if (!g.failure[0] && !g.map_read) fail("--routing partition: no HELLO answer from %s:%d within %d ms", opt.host, opt.port, CONNECT_TIMEOUT_MS);
  if (boot.state != CONN_CLOSED) {
    tls_detach(&boot);
    close(boot.fd);
  }
  conn_free(&boot);
  g.ready_count = 0;
}

/** --routing partition: each worker's keys (those whose partition it masters), computed once. */
static void split_keys(void) {
  size_t set_bytes = strlen(opt.set);
  uint8_t *master_of_key = xcalloc(opt.keys, 1);
  uint8_t digest[RIPEMD_DIGEST_BYTES];
  for (uint64_t k = 0; k < opt.keys; k++) {
    key_digest(opt.set, set_bytes, k, opt.string_keys, digest);
    uint8_t w = g.map.masters[digest_partition(digest)];
    master_of_key[k] = w;
    g.worker_key_count[w]++;
  }
  for (uint32_t w = 0; w < g.map.worker_count; w++) {
    if (g.worker_key_count[w] == 0) continue;
    if (g.map.ports[w] == 0) die_usage("--routing partition: worker %u masters keys but has no endpoint (security on?)", w);
    g.worker_keys[w] = xcalloc(g.worker_key_count[w], sizeof(uint64_t));
  }
  uint64_t filled[MAP_WORKERS_MAX] = {0};
  for (uint64_t k = 0; k < opt.keys; k++) g.worker_keys[master_of_key[k]][filled[master_of_key[k]]++] = k;
  free(master_of_key);
}

/**
 * --routing partition: the --connections connections spread over the worker endpoints in
 * proportion to the keys each worker masters (largest remainder), at least one per worker that
 * masters any. Returns the worker of each connection in order.
 */
static void spread_connections(void) {
  uint32_t workers_with_keys = 0, given = 0;
  double remainder[MAP_WORKERS_MAX] = {0};
  for (uint32_t w = 0; w < g.map.worker_count; w++) {
    if (g.worker_key_count[w] == 0) continue;
    workers_with_keys++;
    double share = (double)opt.connections * (double)g.worker_key_count[w] / (double)opt.keys;
    g.worker_connections[w] = share < 1 ? 1 : (uint32_t)share;
    remainder[w] = share - (double)g.worker_connections[w];
    given += g.worker_connections[w];
  }
  if (workers_with_keys > opt.connections || given > opt.connections)
    die_usage("--routing partition needs at least one connection per worker (%u workers)", workers_with_keys);
  while (given < opt.connections) {
    uint32_t best = UINT32_MAX;
    for (uint32_t w = 0; w < g.map.worker_count; w++)
      if (g.worker_key_count[w] > 0 && (best == UINT32_MAX || remainder[w] > remainder[best])) best = w;
    g.worker_connections[best]++;
    remainder[best] -= 1;
    given++;
  }
}

static void conns_create(void) {
  struct addrinfo *ai = resolve();
  if (opt.routing_partition) {
    fetch_map(ai);
    if (g.failure[0]) {
      freeaddrinfo(ai);
      return;
    }
    split_keys();
    spread_connections();
  }
  uint32_t slot_count = opt.inflight;
  if (opt.prefill && slot_count < PREFILL_INFLIGHT) slot_count = PREFILL_INFLIGHT;
  uint32_t batch_max = opt.batch > PREFILL_BATCH ? opt.batch : PREFILL_BATCH;
  g.scratch = xcalloc(1, batch_max * g.request_bytes_max + 16);
  g.conns = xcalloc(opt.connections, sizeof *g.conns);
  uint32_t worker = 0, given = 0;
  for (uint32_t i = 0; i < opt.connections; i++) {
    conn_t *c = &g.conns[i];
    c->index = i;
    c->port = opt.port;
    if (opt.routing_partition) {
      while (given == g.worker_connections[worker]) worker++, given = 0;
      given++;
      c->worker = worker;
      c->port = g.map.ports[worker];
    }
    conn_buffers(c, slot_count);
    conn_open(c, ai, 0);
  }
  freeaddrinfo(ai);
}

// ---- phases ----

static void measure_start(uint64_t now) {
  memset(&g.stats, 0, sizeof g.stats);
  g.phase = PHASE_MEASURE;
  g.measured = 1;
  g.measure_start_ns = g.progress_last_ns = now;
  g.measure_end_ns = now + (uint64_t)(opt.duration_s * NS_PER_S);
  g.phase_deadline_ns = now + (uint64_t)(opt.timeout_s * NS_PER_S);
  getrusage(RUSAGE_SELF, &g.rusage_start);
  g.server_cpu_start_us = process_cpu_us(opt.server_pid);
  g.machine_busy_start_us = machine_busy_us();
  g.threads_start_count = sample_threads(opt.server_pid, g.threads_start);
  g.server_start_ticks = process_start_ticks(opt.server_pid);
}

static void measure_stop(uint64_t now) {
  g.measure_stop_ns = now;
  getrusage(RUSAGE_SELF, &g.rusage_stop);
  g.server_cpu_stop_us = process_cpu_us(opt.server_pid);
  g.machine_busy_stop_us = machine_busy_us();
  g.threads_stop_count = sample_threads(opt.server_pid, g.threads_stop);
  g.phase = PHASE_DRAIN;
  g.phase_deadline_ns = now + DRAIN_TIMEOUT_MS * NS_PER_MS;
}

static void warmup_start(uint64_t now) {
  if (opt.prefill && opt.count == 0 && opt.duration_s == 0) { /* prefill only */
    g.phase = PHASE_DONE;
    return;
  }
  g.phase = PHASE_WARMUP;
  g.warmup_end_ns = now + (uint64_t)(opt.warmup_s * NS_PER_S);
}

/** Moves to the next phase when the current one is complete. Returns 1 if the phase changed. */
static int advance(uint64_t now) {
  phase_t before = g.phase;
  if (stop_requested && g.phase < PHASE_DRAIN) {
    if (g.phase == PHASE_MEASURE) measure_stop(now);
    else fail("interrupted before the measurement started");
  }
  switch (g.phase) {
    case PHASE_CONNECT:
      if (g.ready_count == opt.connections) {
        if (opt.prefill) {
          g.phase = PHASE_PREFILL;
          g.prefill_start_ns = now;
          g.phase_deadline_ns = now + PREFILL_TIMEOUT_MS * NS_PER_MS;
        } else {
          warmup_start(now);
        }
      } else if (now > g.phase_deadline_ns) {
        fail("only %u of %u connections ready after %d ms", g.ready_count, opt.connections, CONNECT_TIMEOUT_MS);
      }
      break;
    case PHASE_PREFILL:
      if (g.prefill_completed == opt.keys) {
        g.prefill_end_ns = now;
        warmup_start(now);
      } else if (now > g.phase_deadline_ns) {
        fail("prefill incomplete after %d s (%" PRIu64 " of %" PRIu64 " keys)", PREFILL_TIMEOUT_MS / 1000,
             g.prefill_completed, opt.keys);
      }
      break;
    case PHASE_WARMUP:
      if (now >= g.warmup_end_ns) measure_start(now);
      break;
    case PHASE_MEASURE:
      if (opt.count == 0 ? now >= g.measure_end_ns : g.measured_completed == opt.count) {
        measure_stop(now);
      } else if (opt.count > 0 && now > g.phase_deadline_ns) {
        fail("only %" PRIu64 " of %" PRIu64 " requests answered after %.0f s", g.measured_completed, opt.count,
             opt.timeout_s);
      }
      break;
    case PHASE_DRAIN:
      if (g.sent_total == g.completed_total) g.phase = PHASE_DONE;
      else if (now > g.phase_deadline_ns)
        fail("%" PRIu64 " requests unanswered %d ms after the measurement", g.sent_total - g.completed_total,
             DRAIN_TIMEOUT_MS);
      break;
    case PHASE_DONE:
      break;
  }
  return g.phase != before;
}

static void progress(uint64_t now) {
  if (!opt.progress || g.phase != PHASE_MEASURE || now - g.progress_last_ns < (uint64_t)opt.progress_ms * NS_PER_MS) return;
  uint64_t ops = g.stats.reads + g.stats.writes;
  double s = (double)(now - g.progress_last_ns) / NS_PER_S;
  fprintf(stderr, "loadgen: %7.2f s  %10.0f ops/s  errors %" PRIu64 "\n", (double)(now - g.measure_start_ns) / NS_PER_S,
          (double)(ops - g.progress_last_ops) / s, g.stats.errors);
  g.progress_last_ns = now;
  g.progress_last_ops = ops;
}

static void run(void) {
  struct epoll_event events[EVENTS_MAX];
  g.phase = PHASE_CONNECT;
  g.start_ns = now_ns();
  g.phase_deadline_ns = g.start_ns + CONNECT_TIMEOUT_MS * NS_PER_MS;
  conns_create();
  if (g.conns == NULL) return; /* the map fetch failed */
  while (g.phase != PHASE_DONE) {
    // Paced runs wake every millisecond to hand out the requests the rate allows.
    int n = epoll_wait(g.epoll_fd, events, EVENTS_MAX, opt.rate > 0 ? 1 : EPOLL_WAIT_MS);
    if (n < 0 && errno != EINTR) {
      fail("epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n && g.phase != PHASE_DONE; i++) {
      conn_t *c = events[i].data.ptr;
      uint32_t ev = events[i].events;
      if (c->state == CONN_CLOSED) continue;
      if (c->state == CONN_CONNECTING) {
        conn_connected(c);
        continue;
      }
      if (c->state == CONN_TLS) {
        conn_tls_step(c);
        continue;
      }
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn_readable(c);
      if ((ev & EPOLLOUT) && c->state != CONN_CLOSED) conn_flush(c);
    }
    uint64_t now = now_ns();
    while (g.phase != PHASE_DONE && advance(now)) g.refill_all = 1;
    for (uint32_t i = 0; i < opt.connections && g.phase != PHASE_DONE; i++) {
      conn_t *c = &g.conns[i];
      if (!c->dirty && !g.refill_all) continue;
      c->dirty = 0;
      conn_fill(c);
      conn_flush(c);
    }
    g.refill_all = opt.rate > 0; // a paced connection may have room but no tokens yet
    progress(now);
  }
  // Say goodbye properly; the report does not depend on it.
  for (uint32_t i = 0; i < opt.connections; i++) {
    conn_t *c = &g.conns[i];
    if (c->state == CONN_CLOSED) continue;
    if (opt.protocol == PROTOCOL_AERIE && (c->state == CONN_READY || c->state == CONN_HELLO)) {
      static const uint8_t normal_closure[] = {0x03, 0xe8};
      c->write_offset_bytes = c->write_size_bytes = 0;
      queue_frame(c, WS_OP_CLOSE, normal_closure, sizeof normal_closure);
      ssize_t ignored = io_send(c, c->write_buffer, c->write_size_bytes);
      (void)ignored;
    }
    tls_detach(c);
    close(c->fd);
    c->state = CONN_CLOSED;
  }
}

// ---- report ----

static double us(uint64_t ns) { return (double)ns / 1000.0; }

static void print_latency_json(const char *name, const hist_t *h, int last) {
  printf("\"%s\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}%s", name,
         us(hist_percentile(h, 50)), us(hist_percentile(h, 90)), us(hist_percentile(h, 99)),
         us(hist_percentile(h, 99.9)), us(h->max_ns), h->count ? us(h->sum_ns / h->count) : 0.0, last ? "" : ",");
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

/**
 * The server's threads over the measured window: CPU (µs) each used, its name and start time
 * (clock ticks since boot, like the process's), so a reader can tell threads apart that share a
 * name (Node names every thread "node": the main thread is the one whose tid is the pid).
 */
static void print_server_threads_json(void) {
  if (!g.measured || g.threads_stop_count == 0) {
    printf("\"server_threads\":null,");
    return;
  }
  printf("\"server_start_ticks\":%" PRIu64 ",\"clock_ticks_per_s\":%ld,\"server_threads\":[", g.server_start_ticks,
         sysconf(_SC_CLK_TCK));
  for (uint32_t i = 0; i < g.threads_stop_count; i++) {
    const struct thread_sample *t = &g.threads_stop[i];
    int64_t before = 0;
    for (uint32_t k = 0; k < g.threads_start_count; k++)
      if (g.threads_start[k].tid == t->tid && g.threads_start[k].start_ticks == t->start_ticks) before = g.threads_start[k].cpu_us;
    printf("%s{\"tid\":%d,\"name\":", i ? "," : "", t->tid);
    print_json_string(t->name);
    printf(",\"start_ticks\":%" PRIu64 ",\"cpu_us\":%" PRId64 "}", t->start_ticks, t->cpu_us - before);
  }
  printf("],");
}

static void report(void) {
  const stats_t *st = &g.stats;
  double seconds = g.measured ? (double)(g.measure_stop_ns - g.measure_start_ns) / NS_PER_S : 0;
  uint64_t ops = st->reads + st->writes;
  double per_s = seconds > 0 ? 1.0 / seconds : 0;
  int64_t cpu_us = g.measured ? rusage_cpu_us(&g.rusage_stop) - rusage_cpu_us(&g.rusage_start) : 0;
  double cpu_us_per_op = ops ? (double)cpu_us / (double)ops : 0;
  double cpu_pct = seconds > 0 ? (double)cpu_us / (seconds * 1e6) * 100 : 0;
  int server_known = g.measured && g.server_cpu_start_us >= 0 && g.server_cpu_stop_us >= 0;
  int64_t server_us = server_known ? g.server_cpu_stop_us - g.server_cpu_start_us : 0;
  int machine_known = g.measured && seconds > 0 && g.machine_busy_start_us >= 0 && g.machine_busy_stop_us >= 0;
  double machine_us = machine_known ? (double)(g.machine_busy_stop_us - g.machine_busy_start_us) : 0;
  double prefill_s = opt.prefill && g.prefill_end_ns ? (double)(g.prefill_end_ns - g.prefill_start_ns) / NS_PER_S : 0;
  if (opt.json) {
    printf("{\"ok\":%s,\"failure\":", g.failure[0] ? "false" : "true");
    if (g.failure[0]) print_json_string(g.failure);
    else printf("null");
    printf(",\"protocol\":\"%s\",\"host\":", PROTOCOL_NAMES[opt.protocol]);
    print_json_string(opt.host);
    printf(",\"port\":%d,\"connections\":%u,\"inflight\":%u,\"batch\":%u,\"keys\":%" PRIu64
           ",\"value_bytes\":%u,\"read_pct\":%u,\"key_type\":\"%s\",\"rate\":%.0f,",
           opt.port, opt.connections, opt.inflight, opt.batch, opt.keys, opt.value_bytes, opt.read_pct,
           opt.protocol != PROTOCOL_AERIE || opt.string_keys ? "string" : "int", opt.rate);
    printf("\"seconds\":%.3f,\"ops\":%" PRIu64 ",\"ops_per_sec\":%.0f,\"reads\":%" PRIu64 ",\"reads_per_sec\":%.0f,"
           "\"writes\":%" PRIu64 ",\"writes_per_sec\":%.0f,\"misses\":%" PRIu64 ",\"errors_total\":%" PRIu64 ",\"errors\":{",
           seconds, ops, ops * per_s, st->reads, st->reads * per_s, st->writes, st->writes * per_s, st->misses,
           st->errors);
    int first = 1;
    for (int code = 0; code < CODES_TRACKED; code++) {
      if (st->errors_by_code[code] == 0) continue;
      printf("%s\"%d\":%" PRIu64, first ? "" : ",", code, st->errors_by_code[code]);
      first = 0;
    }
    if (st->errors_other_codes) printf("%s\"other\":%" PRIu64, first ? "" : ",", st->errors_other_codes);
    printf("},\"first_error_reply\":");
    if (g.first_error_reply[0]) print_json_string(g.first_error_reply);
    else printf("null");
    printf(",\"errors_all_phases\":%" PRIu64 ",\"protocol_errors\":%" PRIu64 ",\"unmatched_responses\":%" PRIu64
           ",\"sent_total\":%" PRIu64 ",\"completed_total\":%" PRIu64 ",\"measured_issued\":%" PRIu64
           ",\"measured_completed\":%" PRIu64 ",",
           g.errors_all_phases, g.protocol_errors, g.unmatched, g.sent_total, g.completed_total, g.measured_issued,
           g.measured_completed);
    print_latency_json("latency_us", &st->all, 0);
    print_latency_json("read_latency_us", &st->read, 0);
    print_latency_json("write_latency_us", &st->write, 0);
    printf("\"loadgen_cpu_us_per_op\":%.3f,\"loadgen_cpu_pct\":%.1f,", cpu_us_per_op, cpu_pct);
    if (server_known)
      printf("\"server_cpu_us_per_op\":%.3f,\"server_cpu_pct\":%.1f,", ops ? (double)server_us / ops : 0.0,
             seconds > 0 ? server_us / (seconds * 1e6) * 100 : 0.0);
    else printf("\"server_cpu_us_per_op\":null,\"server_cpu_pct\":null,");
    // Every process on the machine together, in % of one core: more than loadgen + server means
    // something else competed for the CPUs during the measurement.
    if (machine_known) printf("\"machine_cpu_pct\":%.1f,", (machine_us / (seconds * 1e6)) * 100);
    else printf("\"machine_cpu_pct\":null,");
    printf("\"routing\":\"%s\",\"tls\":%s,\"pushes\":%" PRIu64 ",", opt.routing_partition ? "partition" : "front",
           opt.tls ? "true" : "false", g.pushes);
    if (opt.routing_partition && g.map_read) {
      printf("\"map\":{\"version\":%u,\"workers\":%u,\"connections_per_worker\":[", g.map.version, g.map.worker_count);
      for (uint32_t w = 0; w < g.map.worker_count; w++) printf("%s%u", w ? "," : "", g.worker_connections[w]);
      printf("],\"keys_per_worker\":[");
      for (uint32_t w = 0; w < g.map.worker_count; w++) printf("%s%" PRIu64, w ? "," : "", g.worker_key_count[w]);
      printf("],\"ports\":[");
      for (uint32_t w = 0; w < g.map.worker_count; w++) printf("%s%d", w ? "," : "", g.map.ports[w]);
      printf("]},");
    }
    print_server_threads_json();
    if (opt.prefill)
      printf("\"prefill\":{\"keys\":%" PRIu64 ",\"seconds\":%.3f,\"keys_per_sec\":%.0f,\"errors\":%" PRIu64 "}}\n",
             g.prefill_completed, prefill_s, prefill_s > 0 ? g.prefill_completed / prefill_s : 0.0, g.prefill_errors);
    else printf("\"prefill\":null}\n");
    return;
  }
  printf("loadgen %s %s:%d  %u connections  inflight %u  batch %u  keys %" PRIu64 " (%s)  value %u B  reads %u%%\n",
         PROTOCOL_NAMES[opt.protocol], opt.host, opt.port, opt.connections, opt.inflight, opt.batch, opt.keys,
         opt.protocol != PROTOCOL_AERIE || opt.string_keys ? "string" : "int",
         opt.value_bytes, opt.read_pct);
  if (opt.rate > 0) printf("paced      at most %.0f requests/s\n", opt.rate);
  if (opt.prefill)
    printf("prefill    %" PRIu64 " keys in %.2f s (%.0f/s), %" PRIu64 " errors\n", g.prefill_completed, prefill_s,
           prefill_s > 0 ? g.prefill_completed / prefill_s : 0.0, g.prefill_errors);
  if (g.measured) {
    printf("measured   %.2f s: %.0f ops/s (reads %.0f/s, writes %.0f/s), misses %" PRIu64 ", errors %" PRIu64 "\n",
           seconds, ops * per_s, st->reads * per_s, st->writes * per_s, st->misses, st->errors);
    for (int code = 0; code < CODES_TRACKED; code++)
      if (st->errors_by_code[code]) printf("           code %d: %" PRIu64 "\n", code, st->errors_by_code[code]);
    if (g.first_error_reply[0]) printf("           first error reply: %s\n", g.first_error_reply);
    const hist_t *hs[] = {&st->all, &st->read, &st->write};
    const char *names[] = {"all", "reads", "writes"};
    for (int i = 0; i < 3; i++)
      printf("latency µs %-6s p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", names[i],
             us(hist_percentile(hs[i], 50)), us(hist_percentile(hs[i], 90)), us(hist_percentile(hs[i], 99)),
             us(hist_percentile(hs[i], 99.9)), us(hs[i]->max_ns));
    printf("cpu        loadgen %.2f µs/op, %.0f%% of one core", cpu_us_per_op, cpu_pct);
    if (server_known)
      printf("; server %.2f µs/op, %.0f%% of one core", ops ? (double)server_us / ops : 0.0,
             seconds > 0 ? server_us / (seconds * 1e6) * 100 : 0.0);
    if (machine_known) printf("; whole machine %.0f%% of one core", machine_us / (seconds * 1e6) * 100);
    printf("\n");
  }
  if (opt.routing_partition && g.map_read) {
    printf("routing    partition map version %u, %u workers; connections per worker:", g.map.version, g.map.worker_count);
    for (uint32_t w = 0; w < g.map.worker_count; w++) printf(" %u (port %d)", g.worker_connections[w], g.map.ports[w]);
    printf("\n");
  }
  if (g.pushes) printf("pushes     %" PRIu64 " map-change pushes\n", g.pushes);
  printf("requests   sent %" PRIu64 ", answered %" PRIu64 ", unmatched %" PRIu64 ", protocol errors %" PRIu64 "\n",
         g.sent_total, g.completed_total, g.unmatched, g.protocol_errors);
  if (g.failure[0]) printf("FAILED     %s\n", g.failure);
}

// ---- options ----

static uint64_t parse_u64(const char *name, const char *text, uint64_t min, uint64_t max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || *end || text[0] == '-' || v < min || v > max)
    die_usage("--%s must be an integer from %" PRIu64 " to %" PRIu64, name, min, max);
  return v;
}

static double parse_seconds(const char *name, const char *text) {
  char *end;
  double v = strtod(text, &end);
  if (*end || !(v >= 0 && v <= 86400)) die_usage("--%s must be seconds from 0 to 86400", name);
  return v;
}

static void usage(void) {
  printf(
      "usage: loadgen [options]\n"
      "  --protocol P        aerie (WebSocket + msgpack), redis (RESP) or memcached (text) (aerie)\n"
      "  --host H            server address (127.0.0.1)\n"
      "  --port P            server port (3000)\n"
      "  --connections N     connections (50)\n"
      "  --inflight N        requests in flight per connection (1 = unpipelined)\n"
      "  --batch N           requests sent together (1) when N slots are free: one frame for aerie,\n"
      "                      N commands in one write for redis and memcached (redis-benchmark -P N)\n"
      "  --keys N            key space 0..N-1 (1000000)\n"
      "  --value-bytes N     bytes of the bin written by PUT (100)\n"
      "  --read-pct N        share of GETs, the rest PUTs (50)\n"
      "  --duration S        measured seconds (10); with --prefill, 0 = prefill only\n"
      "  --count N           measure exactly N requests instead of a duration\n"
      "  --rate R            send at most R requests/s in all (open loop, from the warmup on); 0 = no limit\n"
      "  --warmup S          unmeasured seconds before measuring (1)\n"
      "  --timeout S         give up a --count run after S seconds (300)\n"
      "  --ns NAME --set NAME namespace (test) and set (b); redis and memcached keys are \"<set>:<n>\"\n"
      "  --string-keys       aerie: decimal string keys instead of integers\n"
      "  --prefill           PUT every key once, pipelined, before the warmup\n"
      "  --server-pid PID    also report that process's CPU per op (/proc/PID/stat)\n"
      "  --seed N            random seed for keys and operations\n"
      "  --progress          print ops/s every second to stderr\n"
      "  --progress-ms N     print ops/s every N ms instead (implies --progress)\n"
      "  --json              print one JSON object instead of the text report\n"
      "  --routing R         aerie: front (every connection to --port) or partition: read the partition\n"
      "                      map from HELLO on --port, spread the connections over the worker endpoints\n"
      "                      and send each request to its key's master (front)\n"
      "  --tls               TLS on every connection (wss:// for aerie); the server's certificate must name --host\n"
      "  --ca FILE           verify the server with this CA (PEM) instead of the system's\n"
      "  --cert FILE --key FILE  client certificate and key (PEM) for a server that asks for one\n"
      "environment: AERIE_TOKEN  a session token sent in HELLO, for a node with security enabled\n"
      "exit status: 0 ok, 1 bad options, 2 failure (disconnect, protocol error, timeout)\n");
}

static void parse_options(int argc, char **argv) {
  enum { O_HOST = 256, O_PORT, O_CONN, O_INFLIGHT, O_BATCH, O_KEYS, O_VALUE, O_READ, O_DURATION, O_COUNT,
         O_WARMUP, O_TIMEOUT, O_NS, O_SET, O_STRING_KEYS, O_PREFILL, O_PID, O_SEED, O_PROGRESS, O_JSON, O_HELP, O_PROTOCOL, O_RATE, O_PROGRESS_MS,
         O_ROUTING, O_TLS, O_CA, O_CERT, O_KEY };
  static const struct option longs[] = {
      {"protocol", 1, 0, O_PROTOCOL}, {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT}, {"connections", 1, 0, O_CONN},
      {"inflight", 1, 0, O_INFLIGHT}, {"batch", 1, 0, O_BATCH}, {"keys", 1, 0, O_KEYS},
      {"value-bytes", 1, 0, O_VALUE}, {"read-pct", 1, 0, O_READ}, {"duration", 1, 0, O_DURATION},
      {"count", 1, 0, O_COUNT}, {"warmup", 1, 0, O_WARMUP}, {"timeout", 1, 0, O_TIMEOUT}, {"ns", 1, 0, O_NS},
      {"set", 1, 0, O_SET}, {"string-keys", 0, 0, O_STRING_KEYS}, {"prefill", 0, 0, O_PREFILL},
      {"server-pid", 1, 0, O_PID}, {"seed", 1, 0, O_SEED}, {"progress", 0, 0, O_PROGRESS},
      {"json", 0, 0, O_JSON}, {"help", 0, 0, O_HELP}, {"rate", 1, 0, O_RATE}, {"progress-ms", 1, 0, O_PROGRESS_MS},
      {"routing", 1, 0, O_ROUTING}, {"tls", 0, 0, O_TLS}, {"ca", 1, 0, O_CA}, {"cert", 1, 0, O_CERT}, {"key", 1, 0, O_KEY},
      {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    switch (o) {
      case O_PROTOCOL:
        if (strcmp(optarg, "aerie") == 0) opt.protocol = PROTOCOL_AERIE;
        else if (strcmp(optarg, "redis") == 0) opt.protocol = PROTOCOL_REDIS;
        else if (strcmp(optarg, "memcached") == 0) opt.protocol = PROTOCOL_MEMCACHED;
        else die_usage("--protocol must be aerie, redis or memcached");
        break;
      case O_HOST: opt.host = optarg; break;
      case O_PORT: opt.port = (int)parse_u64("port", optarg, 1, 65535); break;
      case O_CONN: opt.connections = (uint32_t)parse_u64("connections", optarg, 1, CONNECTIONS_MAX); break;
      case O_INFLIGHT: opt.inflight = (uint32_t)parse_u64("inflight", optarg, 1, INFLIGHT_MAX); break;
      case O_RATE: opt.rate = (double)parse_u64("rate", optarg, 1, RATE_MAX); break;
      case O_BATCH: opt.batch = (uint32_t)parse_u64("batch", optarg, 1, BATCH_MAX); break;
      case O_KEYS: opt.keys = parse_u64("keys", optarg, 1, 1ull << 40); break;
      case O_VALUE: opt.value_bytes = (uint32_t)parse_u64("value-bytes", optarg, 0, VALUE_BYTES_MAX); break;
      case O_READ: opt.read_pct = (uint32_t)parse_u64("read-pct", optarg, 0, 100); break;
      case O_DURATION: opt.duration_s = parse_seconds("duration", optarg); break;
      case O_COUNT: opt.count = parse_u64("count", optarg, 1, 1ull << 40); break;
      case O_WARMUP: opt.warmup_s = parse_seconds("warmup", optarg); break;
      case O_TIMEOUT: opt.timeout_s = parse_seconds("timeout", optarg); break;
      case O_NS: opt.ns = optarg; break;
      case O_SET: opt.set = optarg; break;
      case O_STRING_KEYS: opt.string_keys = 1; break;
      case O_PREFILL: opt.prefill = 1; break;
      case O_PID: opt.server_pid = (int)parse_u64("server-pid", optarg, 1, 1u << 30); break;
      case O_SEED: opt.seed = parse_u64("seed", optarg, 1, UINT64_MAX); break;
      case O_PROGRESS: opt.progress = 1; break;
      case O_PROGRESS_MS:
        opt.progress = 1;
        opt.progress_ms = atoi(optarg);
        if (opt.progress_ms < 10 || opt.progress_ms > 60000) {
          fprintf(stderr, "loadgen: --progress-ms must be 10..60000\n");
          exit(1);
        }
        break;
      case O_JSON: opt.json = 1; break;
      case O_ROUTING:
        if (strcmp(optarg, "partition") == 0) opt.routing_partition = 1;
        else if (strcmp(optarg, "front") == 0) opt.routing_partition = 0;
        else die_usage("--routing must be front or partition");
        break;
      case O_TLS: opt.tls = 1; break;
      case O_CA: opt.ca_file = optarg; break;
      case O_CERT: opt.cert_file = optarg; break;
      case O_KEY: opt.key_file = optarg; break;
      case O_HELP: usage(); exit(0);
      default: die_usage("unknown option");
    }
  }
  if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);
  if (opt.count > 0 && opt.duration_s >= 0) die_usage("--count and --duration exclude each other");
  if (opt.count == 0 && opt.duration_s < 0) opt.duration_s = 10;
  if (opt.count == 0 && opt.duration_s == 0 && !opt.prefill) die_usage("--duration 0 only makes sense with --prefill");
  if (opt.batch > opt.inflight) die_usage("--batch %u needs --inflight of at least %u", opt.batch, opt.batch);
  if (strlen(opt.ns) == 0 || strlen(opt.ns) > NAME_BYTES_MAX || strlen(opt.set) > NAME_BYTES_MAX)
    die_usage("--ns must be 1 to %d bytes and --set at most %d", NAME_BYTES_MAX, NAME_BYTES_MAX);
  if (opt.routing_partition && opt.protocol != PROTOCOL_AERIE) die_usage("--routing partition is for --protocol aerie");
  if (opt.routing_partition && opt.keys > ROUTED_KEYS_MAX) die_usage("--routing partition takes at most %llu --keys", ROUTED_KEYS_MAX);
  if (!opt.tls && (opt.ca_file || opt.cert_file || opt.key_file)) die_usage("--ca, --cert and --key need --tls");
  for (const char *p = opt.set; *p; p++) /* memcached keys may not hold spaces or control characters */
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) die_usage("--set may not contain spaces or control characters");
}

static void on_signal(int signo) {
  (void)signo;
  stop_requested = 1;
}

int main(int argc, char **argv) {
  parse_options(argc, argv);
  g.rng = opt.seed;
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < opt.connections + 16) {
    files.rlim_cur = files.rlim_max < opt.connections + 16 ? files.rlim_max : opt.connections + 16;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  g.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (g.epoll_fd < 0) {
    fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
    return 2;
  }
  prepare_encoding();
  tls_setup();
  run();
  report();
  fflush(stdout);
  if (g.failure[0]) {
    fprintf(stderr, "loadgen: %s\n", g.failure);
    return 2;
  }
  return 0;
}
