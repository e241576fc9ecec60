// Starts a real node (real worker threads, real socket on a free loopback port) for a test, with
// config overrides, and a connected SDK client; tears both down when the test ends.

import type { Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig, type NodeConfig } from '../../src/config';
import { startNode, type AerieNode } from '../../src/primary/node';
import { connect, type Client, type ClientOptions } from '../../src/client/index';
import { waitForValue } from './wait';

export interface TestNode {
  node: AerieNode;
  client: Client;
  url: string;
}

export type ConfigPatch = (c: NodeConfig) => void;

/** Lines of a test node's log shown when its test fails. */
const LOG_LINES_SHOWN = 60;
let nodesStarted = 0;

/**
 * The configuration test nodes run with: a free port, 2 workers, memory namespaces, the log in a
 * file of its own (AERIE_TEST_LOG=1: on stdout), then `patch`.
 */
export function testNodeConfig(patch?: ConfigPatch): NodeConfig {
  const config = loadConfig();
  config.service.port = 0;
  // The node's log goes to a file, shown only when the test fails (startTestNode).
  const logFile = process.env.AERIE_TEST_LOG === '1' ? null : path.join(tmpdir(), `aerie-test-${process.pid}-${++nodesStarted}.log`);
  config.log.level = 'info';
  config.log.file = logFile;
  config.log.format = 'json';
  config.workers.count = 2;
  // Tests run in memory unless they ask for files (and then name their own directory).
  for (const ns of config.namespaces) ns.storage = 'memory';
  // On a loaded CI machine a healthy worker can miss a 500 ms heartbeat; tests that exercise
  // hang detection set their own timeout.
  config.supervisor.heartbeatTimeoutMs = 5000;
  patch?.(config);
  return config;
}

export async function startTestNode(t: Test, patch?: ConfigPatch, clientOptions?: Partial<ClientOptions>): Promise<TestNode> {
  const config = testNodeConfig(patch);
  const logFile = config.log.file;
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000, ...clientOptions });
  t.teardown(async () => {
    await client.close();
    await node.close();
    if (logFile === null) return;
    if (!t.passing() && fs.existsSync(logFile)) {
      const lines = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n');
      t.comment(`the node's last ${Math.min(lines.length, LOG_LINES_SHOWN)} log lines (${logFile}):\n${lines.slice(-LOG_LINES_SHOWN).join('\n')}`);
    } else fs.rmSync(logFile, { force: true });
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
  await waitForValue(
    async () => (await client.info()).workers as { state: string; restarts: number }[],
    (ws) => {
      const restarts = ws.reduce((a, w) => a + w.restarts, 0);
      if (restarts !== lastRestarts || !ws.every((w) => w.state === 'up')) {
        stableSince = Date.now();
        lastRestarts = restarts;
      }
      return Date.now() - stableSince > quietMs;
    },
    { what: `every worker up with no restart for ${quietMs} ms`, timeoutMs, intervalMs: 50 },
  );
}
