// Every limit Aerie enforces lives here, with the relationships between them asserted at load.
// Names carry their unit last (…Bytes, …Ms, …Count). Config may lower or raise the ones marked
// "configurable", within the bounds given here; nothing defaults to Infinity.

/** Aerospike's partition count; a digest maps to one of them. */
export const PARTITION_COUNT = 4096;
/** RIPEMD-160 digest length. */
export const DIGEST_BYTES = 20;

// ---- record model (Aerospike's limits) ----
export const BIN_NAME_BYTES_MAX = 15;
export const SET_NAME_BYTES_MAX = 63;
export const NAMESPACE_NAME_BYTES_MAX = 31;
/** Set ids are 12 bits in the index, as in Aerospike; id 0 means "no set". */
export const SETS_PER_NAMESPACE_MAX = 4095;
export const BINS_PER_RECORD_MAX = 4096;
/** Default max-record-size (configurable per namespace, up to RECORD_BYTES_CEILING). */
export const RECORD_BYTES_MAX_DEFAULT = 1024 * 1024;
export const RECORD_BYTES_CEILING = 8 * 1024 * 1024;
/** Nesting depth of lists and maps inside a bin, and of any decoded peer value. */
export const VALUE_DEPTH_MAX = 32;
/** A user key of type string or bytes. */
export const USER_KEY_BYTES_MAX = 1024;
/** Generation is 16 bits and wraps 65535 -> 1; 0 means "no record". */
export const GENERATION_MAX = 0xffff;
/** Aerospike's citrusleaf epoch (2010-01-01T00:00:00Z) in Unix seconds; void-times count from it. */
export const CITRUSLEAF_EPOCH_SEC = 1262304000;
/** Largest TTL accepted (10 years), as Aerospike's max-ttl default. */
export const TTL_SEC_MAX = 10 * 365 * 24 * 3600;

// ---- wire and sessions (configurable in config.service) ----
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
export const REQUESTS_PER_FRAME_MAX = 4096;
export const IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT = 8192;
export const CONNECTIONS_MAX_DEFAULT = 10000;
/**
 * Answer bytes one connection may hold at once (configurable as service.sendBufferBytesMax):
 * requests in flight at their answers' bounds, the frame being built and its socket's queue.
 * Past it, the connection's further requests wait (docs/protocol.md §10).
 */
export const SEND_BUFFER_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/**
 * A socket must finish its WebSocket upgrade within this long (configurable, service.handshakeTimeoutMs),
 * and then send HELLO within the next (service.helloTimeoutMs): a slow-loris socket holds a
 * descriptor for no longer than both.
 */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5000;
/**
 * The primary times one direct read in this many for /metrics' latency histogram (a power of
 * two); the rest are counted only. A clock read costs about 0.2 µs on the VMs measured, two per
 * read would be 2-3 % of the primary's CPU per read (docs/benchmarks.md).
 */
export const DIRECT_READ_TIMING_EVERY = 8;
/** Sockets the admin port (service.adminPort: probes and scrapes, no clients) holds at once. */
export const ADMIN_CONNECTIONS_MAX = 64;
export const HELLO_TIMEOUT_MS_DEFAULT = 5000;
/** The admin page's feed (WATCH, src/ops/admin/): how often the primary samples and pushes. */
export const ADMIN_FEED_INTERVAL_MS = 1000;
/** Per-second request samples the primary keeps for the admin page's charts: five minutes. */
export const ADMIN_HISTORY_SAMPLES = 300;
/** Recent log events (faults, failovers, rebuilds, …) the primary keeps for the admin page. */
export const ADMIN_EVENTS_MAX = 200;
/** Connections subscribed to the admin feed at once; more are refused with QUOTA_EXCEEDED. */
export const ADMIN_WATCHERS_MAX = 16;
/** A watcher whose socket holds more unsent bytes than this skips pushes until it reads. */
export const ADMIN_PUSH_BACKLOG_BYTES_MAX = 256 * 1024;
/** Replication lag as a time (/metrics): each channel's written position is sampled this often… */
export const REPLICATION_LAG_SAMPLE_MS = 100;
/** …and this many samples are kept, so a lag reads exactly up to their span (6.4 s), as that span past it. */
export const REPLICATION_LAG_SAMPLES = 64;
/** The admin page's files are read once; none is larger than this. */
export const ADMIN_PAGE_FILE_BYTES_MAX = 4 * 1024 * 1024;
/** The highest TCP port (service.port, service.workerPorts). */
export const PORT_MAX = 65535;

// ---- worker endpoints (src/worker/endpoint.ts, docs/protocol.md §13) ----
/**
 * A respawned worker listens on its predecessor's port again; the kernel may still hold it for a
 * moment after the thread's sockets closed, so binding is retried this often, this far apart.
 */
export const ENDPOINT_LISTEN_ATTEMPTS_MAX = 20;
export const ENDPOINT_LISTEN_RETRY_MS = 50;
/**
 * Requests a worker endpoint has forwarded to the primary and not yet had answered (each
 * connection's in-flight limit bounds them too; this bounds the thread's table whatever the
 * connection count). Past it a request is answered DEVICE_OVERLOAD (18), not sent.
 */
export const FORWARDS_IN_FLIGHT_MAX = 65536;
/**
 * Bytes of each ring between a worker's endpoint and the primary, one per direction per thread
 * (src/shm/pipe.ts): forwarded requests one way, their answers the other. A message larger than
 * half of it crosses in chunks, so this only sizes the memory a busy forwarding path touches.
 */
export const FORWARD_PIPE_BYTES = 4 * 1024 * 1024;
/**
 * Bytes of forwarded requests a worker's endpoint may hold while its pipe to the primary is full
 * (the primary is behind). Past it a request is answered DEVICE_OVERLOAD (18), not sent.
 */
export const FORWARD_QUEUED_BYTES_MAX = 64 * 1024 * 1024;
/**
 * Requests a worker endpoint serves itself and has not answered yet (queued for its loop, or
 * waiting for the group commit or its replicas: src/worker/local-writes.ts). Past it a request is
 * answered DEVICE_OVERLOAD (18), not applied.
 */
export const ENDPOINT_LOCAL_IN_FLIGHT_MAX = 65536;
/**
 * Answer bytes a worker holds for the requests of one batch it served itself until the batch's
 * group commit: past it the batch ends (the next request's answer, at most a ring message, fits).
 */
export const ENDPOINT_LOCAL_ANSWER_BYTES = 1024 * 1024;

// ---- file descriptors (src/primary/descriptors.ts, README "Connections and file descriptors") ----
/**
 * Descriptors kept free for everything but client sockets, beyond those open when the node
 * starts listening: log and snapshot files, backups, config reads, a verify or compaction job.
 */
export const DESCRIPTORS_RESERVE_BASE = 64;
/** Per worker thread: its event loop's descriptors (about 5 measured), twice over while a replacement starts, with room. */
export const DESCRIPTORS_RESERVE_PER_WORKER = 16;
/** Per worker and file namespace: its open log segments, a compaction's output, a snapshot part. */
export const DESCRIPTORS_RESERVE_PER_FILE_STORE = 8;
/** Answer bytes the whole node may hold at once, over all connections (service.answerBytesMax). */
export const ANSWER_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;
/** An answer's bytes around a record's bins: [id, code, {gen, ttl, bins}] headers and keys. */
export const ANSWER_ENVELOPE_BYTES = 64;
/** One batch element's bytes around its bins: [code, gen, ttl, bins]. */
export const BATCH_ELEMENT_ENVELOPE_BYTES = 32;
/** The bound reserved for an answer that carries no record (a write's {gen, ttl}, PING, an error). */
export const ANSWER_SMALL_BYTES = 256;
/** The bound reserved for INFO, VERIFY and SNAPSHOT answers (reports of bounded length). */
export const ANSWER_ADMIN_BYTES = 1024 * 1024;
/**
 * A request body's bytes beyond its record (namespace, set, key, digest, policies): a body larger
 * than the namespace's recordBytesMax plus this cannot hold a storable record, and is refused
 * RECORD_TOO_BIG before it reaches a worker's ring.
 */
export const REQUEST_BODY_OVERHEAD_BYTES = USER_KEY_BYTES_MAX + 4096;
/**
 * While the node's answer budget is short, a connection whose socket has sent none of its queued
 * answers for this long is taken for one that does not read, and closed (1013), largest first.
 */
export const ANSWER_STALL_MS = 1000;
/** Smallest answer frame a client may announce in HELLO (`maxFrameBytes`). */
export const CLIENT_FRAME_BYTES_MIN = 64 * 1024;
/** A session's answer buffer grown past this is dropped after its frame is sent, not kept. */
export const SESSION_OUT_KEEP_BYTES = 1024 * 1024;
export const BATCH_KEYS_MAX = 5000;
export const SCAN_PAGE_RECORDS_MAX = 10_000;
export const SCAN_PAGE_RECORDS_DEFAULT = 1000;
/** A scan page stops growing past this many bytes of records. */
export const SCAN_PAGE_BYTES_MAX = 2 * 1024 * 1024;

// ---- request cost (docs/protocol.md, "Request cost") ----
/**
 * One cost unit: one bin, list element or map entry visited or copied, or this many bytes of a
 * string or bytes value.
 */
export const COST_UNIT_BYTES = 64;
/**
 * Cost units one OPERATE may spend. Each op is charged before it runs, from the record as it
 * stands; the call is refused with QUOTA_EXCEEDED before the op that would pass the budget (it
 * works on a copy, so nothing is applied). Sized so that a call at the budget takes well under
 * the heartbeat timeout here (docs/protocol.md gives the figure).
 */
export const OPERATE_COST_UNITS_MAX = 1 << 20;
/**
 * On top of OPERATE_COST_UNITS_MAX, a call may spend this many units per byte of the record it
 * operates on: enough to copy the record's widest possible map once (a map entry takes at least
 * 4 bytes and its copy 16 units), so that any single op on any record fits the budget, while
 * repeating such work is refused.
 */
export const OPERATE_COST_UNITS_PER_RECORD_BYTE = 4;
/** A call beats its worker's heartbeat each time it has spent this many more units. */
export const OPERATE_BEAT_UNITS = 1 << 15;
/**
 * A worker ends a drain of its request ring once this long has passed since it began: it
 * publishes the answers so far and beats its heartbeat, whatever the requests cost.
 */
export const WORKER_DRAIN_MS_MAX = 20;
/**
 * A walk of msgpack values (decoding, skipping, validating or encoding one) calls its thread's
 * progress hook each time it has visited this many more values (src/protocol/walk-beat.ts): a
 * worker beats its heartbeat there, so a frame of millions of values (16 MiB of one-byte elements)
 * is slow work, not a hang. About 3 ms of decoding here; a beat costs about a microsecond.
 */
export const WALK_BEAT_VALUES = 1 << 14;

// ---- threads and rings ----
export const WORKERS_MAX = 64;
/** Bytes of each primary<->worker ring's data region (power of two). */
export const RING_BYTES = 32 * 1024 * 1024;
/** A single ring message may not exceed this; a record plus its envelope always fits. */
export const RING_MESSAGE_BYTES_MAX = RING_BYTES / 2;
/** How stale INFO's per-namespace figures from a worker may be. */
export const WORKER_STATS_INTERVAL_MS = 50;
/** Control messages wait for a worker's event loop: under sustained load it is visited at least this often. */
export const WORKER_CONTROL_YIELD_MS = 10;
/** Requests between heartbeats inside one drain (a power of two). */
export const WORKER_HEARTBEAT_EVERY_REQUESTS = 256;

// ---- the primary's start and stop (src/primary/node.ts, descriptors.ts) ----
/** How long shutdown waits for requests in flight before closing connections anyway. */
export const SHUTDOWN_DRAIN_MS = 5000;
/** How often shutdown looks whether every connection drained. */
export const SHUTDOWN_POLL_MS = 5;
/** How long the prlimit call may take before start-up goes on without it. */
export const PRLIMIT_TIMEOUT_MS = 2000;
// ---- replication (docs/replication.md) ----
/** Copies of each partition unless a namespace says otherwise (capped at the workers). */
export const REPLICATION_FACTOR_DEFAULT = 2;
export const REPLICATION_FACTOR_MAX = 4;
/**
 * Bytes of each master->replica channel's data region. A channel also journals a dead replica's
 * writes until it returns (then only the partitions it mastered are copied); past this the
 * journal overflows and the replica is copied whole.
 */
export const REPL_RING_BYTES = 32 * 1024 * 1024;
/** The smallest channel `workers.replicationChannelBytes` allows (at least twice a largest record). */
export const REPL_RING_BYTES_MIN = 64 * 1024;
/** A record image's bytes beyond its key and bins (header, with room to spare). */
export const REPL_MESSAGE_OVERHEAD_BYTES = 64;
/** Replication messages a worker applies from one channel per loop turn, before its requests. */
export const REPL_DRAIN_MESSAGES_MAX = 4096;
/** Index slots a master walks per loop turn while it copies partitions to a rebuilding worker. */
export const MIGRATE_STEP_SLOTS = 4096;
/**
 * A migration appends images only while its channel holds less than this unapplied: live writes
 * share the channel, and a write waiting for its replica waits behind whatever is queued there.
 */
export const MIGRATE_CHANNEL_BYTES_MAX = 1024 * 1024;
/** Partitions copied per migration round; progress in INFO moves by this step. */
export const MIGRATE_PARTITIONS_PER_ROUND = 256;
/** A migration round not answered in this long is failed (a round of a large store takes minutes at most). */
export const MIGRATE_ROUND_TIMEOUT_MS = 10 * 60_000;
/** Requests the primary holds for partitions changing master (failover, handoff) before refusing. */
export const HELD_REQUESTS_MAX = 65536;
/**
 * How often the primary checks moves and rebuilds in progress when nothing else prompts it (every
 * replica acknowledgement does): short, since a move holds its partitions' requests.
 */
export const FAILOVER_TICK_MS = 2;
/** A partition changing master is held at most this long; its held requests then fail unavailable. */
export const HOLD_TIMEOUT_MS = 5000;
/** A write waiting for its replicas is answered in doubt (TIMEOUT) after this long. */
export const REPLICA_ACK_TIMEOUT_MS = 5000;

/** Requests the primary holds for a worker whose ring is full, before answering DEVICE_OVERLOAD. */
export const WORKER_BACKLOG_MAX = 65536;
/**
 * A repeated condition logged as an episode (a namespace refusing writes for memory): a line with
 * its count so far this often while it lasts, besides the lines at its beginning and end.
 */
export const LOG_EPISODE_PERIOD_MS = 60_000;
/** Requests in flight on the primary at once (its request-slot table). */
export const REQUEST_SLOTS_MAX = 1 << 20;
/**
 * How long a worker polls an empty ring before it sleeps. Measured A/B (docs/benchmarks.md): with
 * three threads and a load generator on two cores, a 50 µs spin took the CPU the primary needed,
 * and not spinning gave +16 % unpipelined (pinned or not) and +3 % with 16 in flight.
 */
export const RING_SPIN_MS = 0;
/**
 * An idle worker blocks in Atomics.wait at most this long at a time, then looks at its event loop
 * (timers, control messages) and heartbeat; a request or the primary's wake ends the wait at once.
 */
export const WORKER_SYNC_WAIT_MS = 10;
/**
 * A worker with nothing to do for WORKER_IDLE_AFTER_MS sleeps in its event loop (Atomics.waitAsync)
 * up to WORKER_IDLE_WAIT_MS at a time (at most a fifth of supervisor.heartbeatTimeoutMs), instead
 * of waking every WORKER_SYNC_WAIT_MS: an idle node measured 2.5 % of a core per worker thread
 * with 100 wakes a second (docs/benchmarks.md, "An idle node"). A request, a replication message
 * or a control message ends the sleep at once, as before.
 */
export const WORKER_IDLE_AFTER_MS = 1000;
export const WORKER_IDLE_WAIT_MS = 100;
/** A sleeping worker wakes at least this often to run timers (expiry, stats). */
export const WORKER_IDLE_WAKE_MS = 50;
/** A worker yields to its event loop after this many requests in one drain. */
export const WORKER_DRAIN_BATCH_MAX = 4096;

// ---- index and arena ----
export const INDEX_SLOT_BYTES = 32;
/** The index table's header before its slots (counts, capacity, flags). */
export const INDEX_HEADER_BYTES = 64;
export const INDEX_SLOTS_INITIAL = 1 << 14;
/** Grow (double) the index when live + tombstone slots pass this share of capacity. */
export const INDEX_LOAD_MAX = 0.75;
/** A rehash reports progress (the worker's heartbeat) every this many slots; a power of two. */
export const INDEX_REHASH_PROGRESS_SLOTS = 1 << 16;
export const INDEX_SLOTS_MAX = 1 << 30;
/** Arena block size: every record must fit in one block. */
export const ARENA_BLOCK_BYTES = 16 * 1024 * 1024;
/** Blocks per arena (location = block index << 21 | offset / 8). */
export const ARENA_BLOCKS_MAX = 2048;
/** A sealed block whose live bytes fall below this share is defragmented. */
export const ARENA_DEFRAG_LIVE_PCT = 50;
/** Expiry sweep: slots examined per worker tick. */
export const EXPIRY_SWEEP_SLOTS_PER_TICK = 65536;
export const EXPIRY_SWEEP_INTERVAL_MS = 1000;

// ---- namespaces (configurable per namespace) ----
export const NAMESPACES_MAX = 32;
export const NAMESPACE_MEMORY_BYTES_DEFAULT = 4 * 1024 * 1024 * 1024;
export const STOP_WRITES_PCT_DEFAULT = 90;

// ---- client SDK ----
export const CLIENT_TIMEOUT_MS_DEFAULT = 5000;
export const CLIENT_CONNECT_TIMEOUT_MS_DEFAULT = 5000;
export const CLIENT_IN_FLIGHT_MAX_DEFAULT = 4096;
/** Calls the SDK queues while disconnected or at its in-flight cap, before failing them. */
export const CLIENT_QUEUE_MAX_DEFAULT = 100_000;
export const CLIENT_RECONNECT_DELAY_MS_MIN = 50;
export const CLIENT_RECONNECT_DELAY_MS_MAX = 2000;

function assert(cond: boolean, what: string): void {
  if (!cond) throw new Error(`constants: ${what}`);
}
assert((RING_BYTES & (RING_BYTES - 1)) === 0, 'RING_BYTES is a power of two');
assert((FORWARD_PIPE_BYTES & (FORWARD_PIPE_BYTES - 1)) === 0 && FORWARD_PIPE_BYTES <= RING_BYTES, 'FORWARD_PIPE_BYTES is a power of two no larger than a ring');
assert((DIRECT_READ_TIMING_EVERY & (DIRECT_READ_TIMING_EVERY - 1)) === 0, 'DIRECT_READ_TIMING_EVERY is a power of two: the router masks its count');
assert(RING_MESSAGE_BYTES_MAX >= RECORD_BYTES_CEILING + 64 * 1024, 'a largest record fits in a ring message');
assert(ARENA_BLOCK_BYTES >= RECORD_BYTES_CEILING + 4096, 'a largest record fits in one arena block');
assert(ARENA_BLOCK_BYTES / 8 <= 1 << 21, 'block offsets fit in 21 bits of a location');
assert(ARENA_BLOCKS_MAX <= 1 << 11, 'block indexes fit in 11 bits of a location');
assert(SCAN_PAGE_BYTES_MAX + RECORD_BYTES_CEILING < RING_MESSAGE_BYTES_MAX, 'a scan page fits in a ring message');
assert(FRAME_BYTES_MAX_DEFAULT >= RECORD_BYTES_CEILING + 64 * 1024, 'a largest record fits in a default frame');
assert(RECORD_BYTES_CEILING + REQUEST_BODY_OVERHEAD_BYTES + 64 <= RING_MESSAGE_BYTES_MAX - 4, 'a request the record check lets through fits a ring message');
assert(SEND_BUFFER_BYTES_MAX_DEFAULT <= ANSWER_BYTES_MAX_DEFAULT, 'one connection fits in the node-wide answer budget');
assert(SEND_BUFFER_BYTES_MAX_DEFAULT >= FRAME_BYTES_MAX_DEFAULT, 'a connection can hold one full answer frame');

// ---- storage: the on-disk log (src/storage) ----
/** First word of every log record; never 0 (zero fill) and never a plausible length. */
export const LOG_MAGIC = 0xae1e_0c01;
/** Format version byte of the records this build writes (and the only one it reads). */
export const LOG_FORMAT_VERSION = 1;
/** Bytes of a log record before its key and bins (see log-record.ts for the layout). */
export const LOG_RECORD_HEADER_BYTES = 72;
/** Records start on 8-byte boundaries; the padding after a record is zero. */
export const LOG_RECORD_ALIGN_BYTES = 8;
/**
 * The largest log record any build may write or read: header, the largest user key and the
 * largest record Aerie accepts. A length field above this is corruption, never an allocation.
 */
export const LOG_RECORD_BYTES_MAX = LOG_RECORD_HEADER_BYTES + USER_KEY_BYTES_MAX + RECORD_BYTES_CEILING;
/** Sequences are JS numbers: exact up to 2^53, i.e. centuries at a million writes per second. */
export const LOG_SEQUENCE_MAX = Number.MAX_SAFE_INTEGER;

/** Segment file size (configurable per namespace, between the bounds below). */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Tests use small segments to exercise roll-over; a segment must still hold one record. */
export const SEGMENT_BYTES_MIN = 4096;
export const SEGMENT_BYTES_MAX = 1024 * 1024 * 1024;
/** Segment numbers are written with this many digits: `seg-000000000001.log`. */
export const SEGMENT_NUMBER_DIGITS = 12;
export const SEGMENT_NUMBER_MAX = 10 ** SEGMENT_NUMBER_DIGITS - 1;

/** Key plus bins bytes a writer accepts unless configured otherwise (the namespace's max-record-size). */
export const LOG_RECORD_DATA_BYTES_MAX_DEFAULT = RECORD_BYTES_MAX_DEFAULT + USER_KEY_BYTES_MAX;
/**
 * The writer's append buffer, allocated once at open. Appends that do not fit are written out
 * (without a sync) to make room, so this bounds memory, not the size of a group commit.
 */
export const WRITE_BUFFER_BYTES_DEFAULT = 2 * 1024 * 1024;
/** flush-ms bounds: the documented loss window of acknowledged writes. */
export const FLUSH_MS_MIN = 1;
export const FLUSH_MS_MAX = 60_000;

/** Recovery reads segments in chunks of this size; the buffer grows only for a larger record. */
export const RECOVERY_READ_CHUNK_BYTES = 1024 * 1024;
/** Recovery calls onProgress after about this many bytes. */
export const RECOVERY_PROGRESS_BYTES = 64 * 1024 * 1024;

/** A sealed segment whose live bytes fall below this share is a compaction candidate. */
export const COMPACTION_LIVE_RATIO_MAX_DEFAULT = 0.5;
/** Segments one compaction job rewrites at most. */
export const COMPACTION_SEGMENTS_PER_JOB_MAX = 64;

assert(LOG_RECORD_HEADER_BYTES % LOG_RECORD_ALIGN_BYTES === 0, 'the header keeps key bytes 8-aligned');
assert(SEGMENT_BYTES_DEFAULT >= LOG_RECORD_BYTES_MAX + LOG_RECORD_ALIGN_BYTES, 'a default segment holds the largest record');
assert(SEGMENT_BYTES_MAX <= 0xffff_ffff, 'segment offsets fit the u32 durableBytes field');
assert(SEGMENT_BYTES_MIN % LOG_RECORD_ALIGN_BYTES === 0, 'segment sizes are 8-aligned');
assert(WRITE_BUFFER_BYTES_DEFAULT >= LOG_RECORD_HEADER_BYTES + LOG_RECORD_DATA_BYTES_MAX_DEFAULT + LOG_RECORD_ALIGN_BYTES, 'the default buffer holds a default-size record');
assert(RECOVERY_READ_CHUNK_BYTES >= LOG_RECORD_HEADER_BYTES, 'a read chunk holds a header');
assert(LOG_RECORD_BYTES_MAX <= 0xffff_ffff, 'record lengths fit u32');

// ---- free space on a log's device (src/storage/disk-space.ts) ----
/**
 * A file namespace stops writes once its device's free space falls under the reserve:
 * max(diskMinFreeBytes, diskMinFreePct of the device), as Aerospike's stop-writes-avail-pct does.
 * The reserve is what deletes and truncates (a 72-byte tombstone or marker each), compaction and
 * the other workers' unseen appends still write into.
 */
export const DISK_MIN_FREE_BYTES_DEFAULT = 4 * 1024 * 1024;
export const DISK_MIN_FREE_PCT_DEFAULT = 5;
/** Deletes and truncates are refused too once free space falls under this share of the reserve. */
export const DISK_DELETE_FLOOR_PCT = 25;
/**
 * Writes stopped for the disk resume only once free space is this share above the reserve: free
 * space hovering at the reserve (a compaction deleting a segment, the node's own appends) would
 * otherwise flip the state on every check, each flip a log line and a different answer to INFO.
 */
export const DISK_RESUME_MARGIN_PCT = 10;
/**
 * A worker re-reads its device's free space (statfs, a few µs) after appending this much, and at
 * least every DISK_CHECK_INTERVAL_MS: between two reads it counts its own appends against the
 * last figure. Every worker of a node may append this much unseen by the others, so the reserve
 * should exceed workers × this (it does by far at the defaults).
 */
export const DISK_CHECK_APPENDED_BYTES = 64 * 1024;
export const DISK_CHECK_INTERVAL_MS = 500;
/**
 * While a log's write failed for want of space (ENOSPC) its unwritten records stay in its buffer,
 * which may grow past its size by at most this much (the records of a drain already under way),
 * until space returns and they are written. Past it the writer fails for good.
 */
export const STALLED_LOG_BYTES_MAX = 64 * 1024 * 1024;

assert(DISK_CHECK_APPENDED_BYTES * 16 <= DISK_MIN_FREE_BYTES_DEFAULT, 'the default reserve covers 16 workers appending unseen');
assert(DISK_DELETE_FLOOR_PCT > 0 && DISK_DELETE_FLOOR_PCT < 100, 'deletes stop after writes, before the device is full');

// ---- backup files (src/backup) ----
/**
 * Largest body of one frame of a backup file: a record's bins (at most RECORD_BYTES_CEILING, as
 * the node stores them), its user key, set name, digest, and a little msgpack around them. A
 * length field above this is corruption, never an allocation.
 */
export const BACKUP_FRAME_BYTES_MAX = RECORD_BYTES_CEILING + USER_KEY_BYTES_MAX + 64 * 1024;
/** Records per scan page a backup asks for; one page is encoded while the next is fetched. */
export const BACKUP_SCAN_PAGE_RECORDS = 5000;
/**
 * A backup whose scan is overtaken (SCAN_ABORT: partitions moved, an index rehashed) starts over
 * this many times in all before it fails: each new attempt is a complete scan from the start.
 */
export const BACKUP_SCAN_ATTEMPTS_MAX = 5;
/** A backup hands the file stream chunks of about this size (and its stream buffers about as much). */
export const BACKUP_WRITE_CHUNK_BYTES = 1024 * 1024;
/** Restore reads the file in chunks of this size; the buffer grows only for a larger frame. */
export const BACKUP_READ_CHUNK_BYTES = 1024 * 1024;
/** Puts a restore keeps in flight unless told otherwise, and the most it accepts. */
export const BACKUP_RESTORE_IN_FLIGHT_DEFAULT = 64;
export const BACKUP_RESTORE_IN_FLIGHT_MAX = 4096;
/**
 * Record bytes a restore keeps in flight at most, whatever the count: 64 puts of the largest
 * records would otherwise hold half a GiB. One record is always let through.
 */
export const BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX = 32 * 1024 * 1024;
/** Failed or in-doubt writes a restore report describes one by one (the rest are only counted). */
export const BACKUP_RESTORE_ERRORS_KEPT_MAX = 10;
/** A restore reports progress after about this many records. */
export const BACKUP_RESTORE_PROGRESS_RECORDS = 1000;

assert(BACKUP_FRAME_BYTES_MAX <= 0xffff_ffff, 'backup frame lengths fit u32');
assert(BACKUP_FRAME_BYTES_MAX >= RECORD_BYTES_CEILING + USER_KEY_BYTES_MAX + SET_NAME_BYTES_MAX + DIGEST_BYTES + 64, 'a largest record fits in a backup frame');
assert(BACKUP_SCAN_PAGE_RECORDS <= SCAN_PAGE_RECORDS_MAX, 'backup pages are valid scan pages');
assert(BACKUP_RESTORE_IN_FLIGHT_DEFAULT <= BACKUP_RESTORE_IN_FLIGHT_MAX, 'the default restore concurrency is allowed');

// ---- snapshots (src/snapshot, src/primary/snapshots.ts) ----
/** The manifest format a node writes and reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** A snapshot copies a worker's memory in chunks of this size, advancing its heartbeat between. */
export const SNAPSHOT_COPY_CHUNK_BYTES = 32 * 1024 * 1024;
/** How long the primary waits for a worker to answer a snapshot or restore step. */
export const SNAPSHOT_STEP_TIMEOUT_MS = 30_000;
/**
 * Longest a worker holds its requests between swapping in a restored store and the primary's
 * commit; past it the worker swaps back on its own (the primary gave up long before).
 */
export const RESTORE_PAUSE_MS_MAX = 10_000;
/** The primary aborts a restore whose swap-to-commit window would outlast this. */
export const RESTORE_COMMIT_TIMEOUT_MS = 5_000;
assert(RESTORE_COMMIT_TIMEOUT_MS < RESTORE_PAUSE_MS_MAX, 'the primary gives up before a paused worker does');
/**
 * Truncates of one namespace that may wait on the primary while a snapshot restore swaps its
 * stores (src/primary/truncate-gate.ts); past it they fail DEVICE_OVERLOAD, never sent.
 */
export const RESTORE_TRUNCATES_WAITING_MAX = 1024;
/**
 * How long a restore's answer waits for the replicas to be copied from the restored masters
 * (about 1 s per million records); past it the answer says `replicasInSync: false` and the copy
 * goes on. Well under the SDK's default timeout, which the restore itself also spends.
 */
export const RESTORE_RESYNC_WAIT_MS = 2_000;

// ---- log compaction (src/jobs/compaction.ts, src/primary/compaction-scheduler.ts) ----
/** How often each file namespace's logs are compacted (configurable; 0 = never). */
export const COMPACTION_INTERVAL_MS_DEFAULT = 60_000;
export const COMPACTION_INTERVAL_MS_MIN = 100;
export const COMPACTION_INTERVAL_MS_MAX = 86_400_000;
/**
 * How long a job waits for the log to make durable every write it saw in the store, before it
 * gives up (nothing changed) and retries at the next interval. A flush-ms namespace adds flushMs.
 */
export const COMPACTION_DURABLE_WAIT_MS = 10_000;
/** How often a waiting job re-reads the watermarks. */
export const COMPACTION_POLL_MS = 2;
/** Reads of one store entry under its seqlock before the job calls it unknown (and keeps the record). */
export const COMPACTION_SEQLOCK_ATTEMPTS = 64;
/** A job's output buffer; it grows only for a larger record, up to LOG_RECORD_BYTES_MAX. */
export const COMPACTION_WRITE_BUFFER_BYTES = 1024 * 1024;
/**
 * Removed digests a job tracks per run, to keep only each one's last removal record; past this,
 * every further removal record of the run is kept as a tombstone (always correct, less compact).
 */
export const COMPACTION_REMOVALS_PER_RUN_MAX = 1_000_000;

assert(COMPACTION_INTERVAL_MS_MIN <= COMPACTION_INTERVAL_MS_DEFAULT && COMPACTION_INTERVAL_MS_DEFAULT <= COMPACTION_INTERVAL_MS_MAX, 'the default compaction interval is allowed');
assert(COMPACTION_WRITE_BUFFER_BYTES >= LOG_RECORD_HEADER_BYTES && COMPACTION_WRITE_BUFFER_BYTES % LOG_RECORD_ALIGN_BYTES === 0, 'a compaction buffer holds a header, 8-aligned');
assert(COMPACTION_POLL_MS < COMPACTION_DURABLE_WAIT_MS, 'a job polls more than once before giving up');

// ---- repair (src/primary/verify-repair.ts) ----
/** Writes a worker tracks while a repair reads the log; past it the repair changes nothing. */
export const REPAIR_WATCH_DIGESTS_MAX = 100_000;
/** Damaged records one repair pass fixes per worker (the verify report lists at most this many). */
export const REPAIR_PROBLEMS_MAX = 100;
/** Damaged records a verify report lists, per worker and over the node (the rest are counted). */
export const VERIFY_PROBLEMS_LISTED_MAX = 100;
assert(REPAIR_PROBLEMS_MAX <= VERIFY_PROBLEMS_LISTED_MAX, 'a repair pass fixes only problems a report listed');

// ---- the background job pool (src/jobs/pool.ts) ----
/** Pool threads: jobs are rare and long; one keeps them off the workers' cores. */
export const JOB_THREADS_MAX = 1;
/** Jobs queued for the pool before a new one is refused. */
export const JOB_QUEUE_MAX = 64;
/** An idle pool thread ends after this. */
export const JOB_IDLE_TIMEOUT_MS = 30_000;

// ---- progress of long admin operations (VERIFY, SNAPSHOT create and restore; docs/protocol.md, "Progress") ----
/** A request that asked for progress gets a push at most this often while it runs (and one as it ends). */
export const PROGRESS_PUSH_INTERVAL_MS = 250;
/**
 * A background job stores its count of records done once per this many records (and at its end),
 * so counting costs a mask test per record. A power of two.
 */
export const JOB_PROGRESS_STRIDE_RECORDS = 1024;
assert((JOB_PROGRESS_STRIDE_RECORDS & (JOB_PROGRESS_STRIDE_RECORDS - 1)) === 0, 'the progress stride is a power of two (a mask decides)');

// ---- offline verify and repair (src/offline) ----
/** Bytes of one damaged region whose record headers are read to say what it held. */
export const OFFLINE_WALK_BYTES_MAX = 64 * 1024 * 1024;
/** Record headers listed per damaged region; past it the region's contents are counted by sequence. */
export const OFFLINE_HEADERS_LISTED_MAX = 10_000;
/** Damaged digests one offline pass looks for in the other copies on disk. */
export const OFFLINE_DIGESTS_TRACKED_MAX = 100_000;
/** Records per worker an offline fallback to an older base snapshot replays in memory to check it. */
export const OFFLINE_FALLBACK_RECORDS_MAX = 5_000_000;
/** The lock file a node keeps in each file namespace's data directory while it runs. */
export const DATA_LOCK_FILE = 'aerie.lock';

// ---- fault injection (src/worker/faults.ts) ----
/** How long the 'lag' fault blocks a worker's event loop while its heartbeat keeps beating. */
export const FAULT_LAG_MS = 2000;
/** Requests a worker died applying that the node remembers and refuses (src/primary/quarantine.ts). */
export const QUARANTINED_REQUESTS_MAX = 64;
/** `aerie worker restart` waits this long for the worker to be up before answering TIMEOUT. */
export const WORKER_RESTART_TIMEOUT_MS = 60_000;

// ---- direct reads (src/primary/direct-reads.ts) ----
/** Reads of a record that keeps changing under the seqlock before the primary hands it to the worker. */
export const DIRECT_READ_ATTEMPTS = 3;

// ---- security (src/security, docs/security.md) ----
/** scrypt cost of a stored password hash: N = 2^14, r 8, p 1 is 16 MiB and ~50 ms per hash here. */
export const SCRYPT_COST_N = 16384;
export const SCRYPT_BLOCK_SIZE_R = 8;
export const SCRYPT_PARALLEL_P = 1;
export const SCRYPT_SALT_BYTES = 16;
export const SCRYPT_KEY_BYTES = 32;
/** scrypt's memory bound: 128 * N * r bytes plus room; node:crypto refuses past maxmem. */
export const SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024;
/** Password hashes computed at once (each holds SCRYPT 16 MiB): more logins wait for a turn. */
export const PASSWORD_HASHES_IN_FLIGHT_MAX = 2;
/** Logins waiting for a hash turn before new ones are refused with QUOTA_EXCEEDED (83). */
export const PASSWORD_HASHES_WAITING_MAX = 256;
export const PASSWORD_BYTES_MIN = 8;
export const PASSWORD_BYTES_MAX = 1024;
export const USER_NAME_BYTES_MAX = 63;
export const ROLE_NAME_BYTES_MAX = 63;
export const USERS_MAX = 10_000;
export const ROLES_MAX = 1000;
export const ROLES_PER_USER_MAX = 64;
export const PRIVILEGES_PER_ROLE_MAX = 256;
/** Addresses or subnets in one role's allow-list. */
export const ALLOWLIST_ENTRIES_MAX = 256;
/** The largest read or write quota a role may carry, in records per second (a quota word counts 32 bits a second). */
export const QUOTA_RECORDS_PER_SECOND_MAX = 1_000_000_000;
/** A session token's default lifetime (security.tokenTtlMs). */
export const TOKEN_TTL_MS_DEFAULT = 60 * 60 * 1000;
export const TOKEN_TTL_MS_MIN = 1000;
export const TOKEN_TTL_MS_MAX = 7 * 24 * 60 * 60 * 1000;
/** A token's longest text accepted in HELLO: payload and signature in base64url. */
export const TOKEN_CHARS_MAX = 1024;
export const TOKEN_SECRET_BYTES = 32;
/** The first failed login from an address delays that address's next login by this; each more doubles it. */
export const LOGIN_FAIL_DELAY_MS_BASE = 100;
export const LOGIN_FAIL_DELAY_MS_MAX = 10_000;
/** An address with no failed login for this long is forgotten (its failures count from zero). */
export const LOGIN_FAIL_FORGET_MS = 10 * 60 * 1000;
/** Addresses the login throttle remembers; past it the one quietest longest is forgotten. */
export const LOGIN_THROTTLE_ADDRESSES_MAX = 10_000;
/** Logins from one address waiting out its delay; more are refused with QUOTA_EXCEEDED (83). */
export const LOGINS_WAITING_PER_ADDRESS_MAX = 8;
/** Origins and hosts listed in service.allowedOrigins / allowedHosts. */
export const ALLOWED_ORIGINS_MAX = 256;
/** The users file (src/security/users-store.ts) is read whole: a bound on its size. */
export const USERS_FILE_BYTES_MAX = 64 * 1024 * 1024;
/** The audit file (security.auditFile) is rotated past this size by default: file → file.1 → … */
export const AUDIT_FILE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Rotated audit files kept besides the current one. */
export const AUDIT_FILES_KEPT = 5;
/** Audit lines waiting for the disk; past it lines are dropped and counted (INFO security.auditDropped). */
export const AUDIT_QUEUE_LINES_MAX = 10_000;
/** An audit line's client-given fields (user, target) are cut to this many characters. */
export const AUDIT_FIELD_CHARS_MAX = 200;
