// The Aerie TypeScript SDK: everything an application imports.
//
//   import { connect, Key, ops } from 'aerie-kv/client';   // Node (ESM or CommonJS), browsers, Deno, Bun
//   const client = await connect({ hosts: '127.0.0.1:3000' });
//   await client.put(new Key('test', 'demo', 'k1'), { n: 1 });

export { connect, Client } from './client';
export type { ClientEvents, ClientState, ConnectionEvent, SnapshotCreated, SnapshotInfo, SnapshotRestored, WorkerRestarted } from './client';
export type { ClientOptions, ClientTls, Routing } from './options';
export type { EndpointState } from './partition-routing';
export type { ServerInfo } from './connection';
export type { NodeInfo, NamespaceInfo, NamespaceDiskInfo, WorkerInfo } from './info';
export { Key } from './key';
export type { DigestOnly } from './key';
export { ops, lists, maps } from './operations';
export type { OperateOp, MapKey, Increment } from './operations';
export type {
  BinsInput,
  BinsShape,
  BasePolicy,
  ReadPolicy,
  WritePolicy,
  OperatePolicy,
  GenerationCheckPolicy,
  RecordMeta,
  CommitLevel,
  ExistsPolicy,
  ExistsName,
  GenerationPolicy,
  GenPolicyName,
} from './policy';
export type { Progress, ProgressCallback, ProgressPolicy, VerifyPolicy } from './progress';
export type { AerieRecord, ExistsResult, OperateResult, RecordMetadata, ScanPage } from './records';
export { ScanStream } from './scan';
export type { ScanOptions } from './scan';
export { CLIENT_VERSION } from './version';
export { users, roles } from './auth';
export type { UserInfo, RoleInfo } from './auth';
export { AerieError, Status, statusName } from '../errors';
export { Exists, GenPolicy, Ttl, OpType } from '../protocol/ops';
export type { BinValue, Bins, UserKey } from '../protocol/ops';
