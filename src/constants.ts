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
/** A connection whose unsent output exceeds this is closed (1013): it is not reading. */
export const SEND_BUFFER_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** A connection must send hello within this long after opening. */
export const HELLO_TIMEOUT_MS = 10_000;
export const BATCH_KEYS_MAX = 5000;
export const SCAN_PAGE_RECORDS_MAX = 10_000;
export const SCAN_PAGE_RECORDS_DEFAULT = 1000;
/** A scan page stops growing past this many bytes of records. */
export const SCAN_PAGE_BYTES_MAX = 2 * 1024 * 1024;

// ---- threads and rings ----
export const WORKERS_MAX = 64;
/** Bytes of each primary<->worker ring's data region (power of two). */
export const RING_BYTES = 32 * 1024 * 1024;
/** A single ring message may not exceed this; a record plus its envelope always fits. */
export const RING_MESSAGE_BYTES_MAX = RING_BYTES / 2;
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
/** A sleeping worker wakes at least this often to run timers (expiry, stats). */
export const WORKER_IDLE_WAKE_MS = 50;
/** A worker yields to its event loop after this many requests in one drain. */
export const WORKER_DRAIN_BATCH_MAX = 4096;

// ---- index and arena ----
export const INDEX_SLOT_BYTES = 32;
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
assert(RING_MESSAGE_BYTES_MAX >= RECORD_BYTES_CEILING + 64 * 1024, 'a largest record fits in a ring message');
assert(ARENA_BLOCK_BYTES >= RECORD_BYTES_CEILING + 4096, 'a largest record fits in one arena block');
assert(ARENA_BLOCK_BYTES / 8 <= 1 << 21, 'block offsets fit in 21 bits of a location');
assert(ARENA_BLOCKS_MAX <= 1 << 11, 'block indexes fit in 11 bits of a location');
assert(SCAN_PAGE_BYTES_MAX + RECORD_BYTES_CEILING < RING_MESSAGE_BYTES_MAX, 'a scan page fits in a ring message');
assert(FRAME_BYTES_MAX_DEFAULT >= RECORD_BYTES_CEILING + 64 * 1024, 'a largest record fits in a default frame');

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

// ---- backup files (src/backup) ----
/**
 * Largest body of one frame of a backup file: a record's bins (at most RECORD_BYTES_CEILING, as
 * the node stores them), its user key, set name, digest, and a little msgpack around them. A
 * length field above this is corruption, never an allocation.
 */
export const BACKUP_FRAME_BYTES_MAX = RECORD_BYTES_CEILING + USER_KEY_BYTES_MAX + 64 * 1024;
/** Records per scan page a backup asks for; one page is encoded while the next is fetched. */
export const BACKUP_SCAN_PAGE_RECORDS = 5000;
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

// ---- fault injection (src/worker/faults.ts) ----
/** How long the 'lag' fault blocks a worker's event loop while its heartbeat keeps beating. */
export const FAULT_LAG_MS = 2000;

// ---- direct reads (src/primary/direct-reads.ts) ----
/** Reads of a record that keeps changing under the seqlock before the primary hands it to the worker. */
export const DIRECT_READ_ATTEMPTS = 3;
