// A node with security on for a test: the first admin's password in a file, users and the audit
// trail in a temp directory; and the raw HELLO / request helpers the security tests share.

import type { Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Op } from '../../src/protocol/ops';
import { startNode, type AerieNode } from '../../src/primary/node';
import type { NodeConfig } from '../../src/config';
import { rawPeer, type RawPeer } from './raw';
import { testNodeConfig, type ConfigPatch } from './node';

export const ADMIN_PASSWORD = 'admin-secret-31415';
export const USER_PASSWORD = 'user-secret-27182';

export interface SecureNode {
  node: AerieNode;
  config: NodeConfig;
  url: string;
  dir: string;
  auditFile: string;
}

/** Starts a node with security on (and `patch`); closes it and removes its directory when `t` ends. */
export async function startSecureNode(t: Test, patch?: ConfigPatch): Promise<SecureNode> {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-security-'));
  writeFileSync(path.join(dir, 'admin-password'), `${ADMIN_PASSWORD}\n`);
  const config = testNodeConfig((c) => {
    c.security = {
      ...c.security,
      enabled: true,
      adminPasswordFile: path.join(dir, 'admin-password'),
      dataDir: path.join(dir, 'security'),
      auditFile: path.join(dir, 'audit.jsonl'),
    };
    patch?.(c);
  });
  const node = await startNode(config);
  t.teardown(async () => {
    await node.close();
    if (!t.passing() && config.log.file !== null && existsSync(config.log.file)) t.comment(readFileSync(config.log.file, 'utf8').split('\n').slice(-40).join('\n'));
    rmSync(dir, { recursive: true, force: true });
  });
  const scheme = config.service.tls === null ? 'ws' : 'wss';
  return { node, config, url: `${scheme}://127.0.0.1:${node.address.port}`, dir, auditFile: config.security.auditFile! };
}

export interface Login {
  peer: RawPeer;
  code: number;
  body: Record<string, unknown>;
}

/** Opens a raw connection and sends HELLO with `fields`; resolves with the peer and the answer. */
export async function login(url: string, fields: Record<string, unknown>): Promise<Login> {
  const peer = await rawPeer(url, false);
  peer.request(0, Op.HELLO, { protocol: 1, ...fields });
  const [, code, body] = await peer.waitFor(0, 20_000);
  return { peer, code: code as number, body: (body ?? {}) as Record<string, unknown> };
}

let nextId = 1;
/** One request on a raw connection: its code and body. */
export async function ask(peer: RawPeer, op: number, body: unknown): Promise<{ code: number; body: unknown }> {
  const id = nextId++;
  peer.request(id, op, body);
  const [, code, answer] = await peer.waitFor(id, 20_000);
  return { code: code as number, body: answer };
}
