// The package's public surface: the client SDK for applications, and the node itself for
// programs that embed it.

export * from './client/index';
export { Status as status } from './errors';
export { startNode } from './primary/node';
export type { AerieNode } from './primary/node';
export { loadConfig, parseConfig, DEFAULT_CONFIG_PATH } from './config';
export type { NodeConfig, NamespaceConfig } from './config';
export { backupNamespace } from './backup/backup';
export type { BackupOptions, BackupProgress, BackupResult } from './backup/backup';
export { restoreFile } from './backup/restore';
export type { RestoreOptions, RestoreProgress, RestoreReport } from './backup/restore';
export type { RestorePolicy, RestoreError, RestoreCounts } from './backup/restore-report';
export { checkBackupFile } from './backup/file-reader';
export type { BackupFileSummary } from './backup/file-reader';
export { BackupError } from './backup/backup-error';
export type { BackupFailure } from './backup/backup-error';
export type { BackupHeader } from './backup/format';
