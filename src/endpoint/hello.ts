// HELLO's answer, the same on every endpoint (the primary's front and each worker's): what the
// node is, its limits, and the partition map a client routes by (docs/protocol.md, The partition
// map). The map is read from shared memory when asked, so any thread answers with the current one.

import * as C from '../constants';
import type { NodeConfig } from '../config';
import { PROTOCOL_VERSION } from '../protocol/ops';
import type { PartitionMap } from '../partition/map';

/** A replica byte that names no worker (a namespace with fewer copies, or none yet). */
export const NO_WORKER = 0xff;

export function helloBody(config: NodeConfig, version: string, map: PartitionMap): unknown {
  return {
    node: 'aerie',
    version,
    protocol: PROTOCOL_VERSION,
    workers: map.workerCount,
    namespaces: config.namespaces.map((ns) => ns.name),
    limits: {
      frameBytesMax: config.service.frameBytesMax,
      requestsPerFrameMax: C.REQUESTS_PER_FRAME_MAX,
      inFlightPerConnectionMax: config.service.inFlightPerConnectionMax,
      batchKeysMax: C.BATCH_KEYS_MAX,
      scanPageRecordsMax: C.SCAN_PAGE_RECORDS_MAX,
      recordBytesMax: Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)),
    },
    map: mapBody(map, config.service.host),
  };
}

/**
 * The map as a client receives it: its version, each worker's endpoint, and per namespace (in
 * HELLO's `namespaces` order) one byte per partition naming its master, then for each further
 * copy one byte per partition naming a replica (the partition's other holders in succession
 * order; NO_WORKER where there is none). The version is read first: a map changed while it is
 * copied carries an older version, and the client hears of the newer one on its next answer.
 */
export function mapBody(map: PartitionMap, host: string): unknown {
  const version = map.version >>> 0;
  const endpoints = new Array<string | null>(map.workerCount);
  for (let w = 0; w < map.workerCount; w++) {
    const port = map.endpointPort(w);
    endpoints[w] = port === 0 ? null : `${host}:${port}`;
  }
  const masters: Buffer[] = [];
  const replicas: Buffer[] = [];
  for (let ns = 0; ns < map.copies.length; ns++) {
    const m = Buffer.allocUnsafe(C.PARTITION_COUNT);
    const r = Buffer.alloc((map.copies[ns] - 1) * C.PARTITION_COUNT, NO_WORKER);
    for (let p = 0; p < C.PARTITION_COUNT; p++) {
      const master = map.master(ns, p);
      m[p] = master;
      let k = 0;
      for (let h = 0; h < map.copies[ns]; h++) {
        const holder = map.holder(ns, p, h);
        if (holder !== master && k < map.copies[ns] - 1) r[k++ * C.PARTITION_COUNT + p] = holder;
      }
    }
    masters.push(m);
    replicas.push(r);
  }
  return { version, endpoints, masters, replicas };
}
