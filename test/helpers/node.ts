// Starts a real node (real worker threads, real socket on a free loopback port) for a test, with
// config overrides, and a connected SDK client; tears both down when the test ends.

import type { Test } from 'tap';
import { loadConfig, type NodeConfig } from '../../src/config';
import { startNode, type AerieNode } from '../../src/primary/node';
import { connect, type Client } from '../../src/client/index';
import { waitForValue } from './wait';

export interface TestNode {
  node: AerieNode;
  client: Client;
  url: string;
}

export type ConfigPatch = (c: NodeConfig) => void;

/** The configuration test nodes run with: a free port, 2 workers, memory namespaces, then `patch`. */
export function testNodeConfig(patch?: ConfigPatch): NodeConfig {
  const config = loadConfig();
  config.service.port = 0;
  config.log.level = 'warn';
  config.workers.count = 2;
  // Tests run in memory unless they ask for files (and then name their own directory).
  for (const ns of config.namespaces) ns.storage = 'memory';
  // On a loaded CI machine a healthy worker can miss a 500 ms heartbeat; tests that exercise
  // hang detection set their own timeout.
  config.supervisor.heartbeatTimeoutMs = 5000;
  patch?.(config);
  return config;
}

export async function startTestNode(t: Test, patch?: ConfigPatch): Promise<TestNode> {
  const node = await startNode(testNodeConfig(patch));
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  return { node, client, url: `ws://127.0.0.1:${node.address.port}` };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until every worker is up and none has restarted for `quietMs` (longer than the heartbeat
 * timeout, so a worker hung by a last fault has been caught and restarted by then); fails the test
 * when that does not happen within `timeoutMs`.
 */
export async function waitStable(client: Client, quietMs: number, timeoutMs = 30_000): Promise<void> {
  let stableSince = Date.now();
  let lastRestarts = -1;
  await waitForValue(async () => (await client.info()).workers as { state: string; restarts: number }[], (ws) => {
    const restarts = ws.reduce((a, w) => a + w.restarts, 0);
    if (restarts !== lastRestarts || !ws.every((w) => w.state === 'up')) {
      stableSince = Date.now();
      lastRestarts = restarts;
    }
    return Date.now() - stableSince > quietMs;
  }, { what: `every worker up with no restart for ${quietMs} ms`, timeoutMs, intervalMs: 50 });
}
