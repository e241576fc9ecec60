// The package's public surface: the client SDK for applications, and the node itself for
// programs that embed it.

export * from './client/index';
export { Status as status } from './errors';
export { startNode } from './primary/node';
export type { AerieNode } from './primary/node';
export { loadConfig, parseConfig, DEFAULT_CONFIG_PATH } from './config';
export type { NodeConfig, NamespaceConfig } from './config';
