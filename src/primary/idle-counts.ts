// Records per partition of a worker whose thread is not running, counted from the index it left in
// shared memory. A dead worker's last published figures still count as its own the partitions its
// replicas have since taken over, so INFO must not add them to the replicas' (issue 9: 41,303
// records shown for 27,466). The count walks the whole index, so it is made once per death: no
// thread changes that memory until the next one starts.

import { PARTITION_COUNT } from '../constants';
import { IndexTable } from '../shm/index-table';
import type { PartitionMap } from '../partition/map';
import type { WorkerHandle } from './worker-handle';

interface Counted {
  downAtMs: number;
  counts: Int32Array;
}

const counted = new WeakMap<SharedArrayBuffer, Counted>();

/** Live records per partition in the index `h` left for namespace `ns` (null: it has none). */
function countsLeft(h: WorkerHandle, ns: number): Int32Array | null {
  const sab = h.stores[ns]?.indexSab ?? null;
  if (sab === null) return null;
  const known = counted.get(sab);
  if (known !== undefined && known.downAtMs === h.lastDownAtMs) return known.counts;
  let counts: Int32Array;
  try {
    counts = IndexTable.attach(sab).partitionCounts;
  } catch {
    return null; // a header the dead thread left half written: nothing trustworthy to count
  }
  counted.set(sab, { downAtMs: h.lastDownAtMs, counts });
  return counts;
}

/** Records of namespace `ns` in the partitions `h` masters now, counted from the memory it left. */
export function masterRecordsLeft(h: WorkerHandle, ns: number, map: PartitionMap): number {
  const counts = countsLeft(h, ns);
  if (counts === null) return 0;
  let sum = 0;
  for (let p = 0; p < PARTITION_COUNT; p++) if (map.master(ns, p) === h.index) sum += counts[p];
  return sum;
}
