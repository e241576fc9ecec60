// Proves the SDK runs in a real browser: the esbuild bundle, loaded by examples/browser's page in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), does put, get,
// operate, batchGet and scan against a real node, routed by partition over a connection to each
// worker's endpoint, fails with a coded AerieError, and reconnects by itself after the node
// restarts on the same port.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeConfig } from '../../src/config';
import { Status } from '../../src/errors';
import { startNode, type AerieNode } from '../../src/primary/node';
import { testNodeConfig } from '../helpers/node';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.join(__dirname, '..', '..', '..');
const STEP_TIMEOUT_MS = 30_000;

/* eslint-disable @typescript-eslint/no-require-imports -- plain JS modules outside src/ */
const { bundleClient } = require(path.join(ROOT, 'scripts', 'bundle-client.js')) as { bundleClient(outDir: string): Promise<string> };
const { createPageServer } = require(path.join(ROOT, 'examples', 'browser', 'serve.js')) as { createPageServer(o: { bundleFile: string }): Server };

function nodeConfig(port: number, pageOrigin: string): NodeConfig {
  const config = testNodeConfig((c) => {
    c.service.port = port;
  });
  // The Origin check (docs/security.md) lets only this page's upgrades in.
  config.service.allowedOrigins = [pageOrigin];
  return config;
}

const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`;

t.test('the browser bundle in headless Chromium: calls, a coded error, a reconnect', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-browser-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bundleFile = await bundleClient(dir);
  t.notMatch(fs.readFileSync(bundleFile, 'utf8'), /from ["']node:|require\(["']/, 'the bundle imports no Node module');

  const pages = createPageServer({ bundleFile });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => pages.close(() => resolve())));
  const pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

  let node: AerieNode = await startNode(nodeConfig(0, pageOrigin));
  const port = node.address.port;
  t.teardown(() => node.close());

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: STEP_TIMEOUT_MS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${pageOrigin}/?node=127.0.0.1:${port}`);
  await page.waitForFunction(() => (globalThis as unknown as { aerie?: unknown }).aerie !== undefined);

  const calls = await page.evaluate(async (hosts) => {
    type Sdk = typeof import('../../src/client/index');
    const { connect, Key, ops, AerieError } = (globalThis as unknown as { aerie: Sdk }).aerie;
    const client = await connect({ hosts, timeoutMs: 10_000 });
    const events: string[] = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', () => events.push('disconnected'));
    client.on('error', () => undefined); // failed attempts while the node is down
    Object.assign(globalThis, { client, events });
    const key = (name: string) => new Key('test', 'browser', name);
    const put = await client.put(key('ada'), { name: 'Ada', visits: 1, bytes: new Uint8Array([1, 2, 255]), score: 2.5, big: 2n ** 60n });
    const got = await client.get<{ name: string; visits: number; bytes: Uint8Array; score: number; big: bigint }>(key('ada'));
    const operated = await client.operate(key('ada'), [ops.incr('visits', 1), ops.read('visits')]);
    await client.put(key('bob'), { name: 'Bob' });
    const batch = await client.batchGet([key('ada'), key('nobody'), key('bob')]);
    const scanned = await client.scan('test', 'browser').toArray();
    let error: { code: number; isAerieError: boolean } | null = null;
    try {
      await client.put(key('ada'), { name: 'again' }, undefined, { exists: 'create-only' });
    } catch (e) {
      error = { code: (e as { code: number }).code, isAerieError: e instanceof AerieError };
    }
    return {
      put,
      bins: { ...got.bins, bytes: [...got.bins.bytes], bytesIsUint8Array: got.bins.bytes instanceof Uint8Array, big: String(got.bins.big) },
      visits: operated.bins.visits,
      batch: batch.map((r) => (r === null ? null : r.bins.name)),
      scannedNames: scanned.map((r) => r.bins.name).sort(),
      error,
      digestLength: key('ada').digest.length,
      endpointsConnected: client.routes.endpoints.map((e) => e.connected),
      hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined',
    };
  }, `127.0.0.1:${port}`);

  t.equal(calls.hasBuffer, false, 'the page has no Buffer: the web path of src/bytes.ts ran');
  t.same(calls.put, { gen: 1, ttl: -1 });
  t.same(calls.bins, { name: 'Ada', visits: 1, bytes: [1, 2, 255], bytesIsUint8Array: true, score: 2.5, big: String(2n ** 60n) });
  t.equal(calls.visits, 2, 'operate incremented and read');
  t.same(calls.batch, ['Ada', null, 'Bob'], 'batchGet: a record per key, null where missing');
  t.same(calls.scannedNames, ['Ada', 'Bob']);
  t.same(calls.error, { code: Status.KEY_EXISTS, isAerieError: true }, 'a refused write fails with its code');
  t.equal(calls.digestLength, 20);
  t.same(calls.endpointsConnected, [true, true], "connected to each worker's endpoint from the page");

  // The node goes away; the page's client notices, and comes back once a node listens again.
  await node.close();
  await page.waitForFunction(() => (globalThis as unknown as { events: string[] }).events.includes('disconnected'));
  node = await startNode(nodeConfig(port, pageOrigin));
  const after = await page.evaluate(async () => {
    type Sdk = typeof import('../../src/client/index');
    const { Key } = (globalThis as unknown as { aerie: Sdk }).aerie;
    const { client, events } = globalThis as unknown as { client: InstanceType<Sdk['Client']>; events: string[] };
    const key = new Key('test', 'browser', 'ada');
    const exists = await client.exists(key); // queued while disconnected, sent once reconnected
    await client.put(key, { name: 'Ada', visits: 10 });
    const { bins } = await client.get(key);
    await client.close();
    return { exists, visits: bins.visits, events, state: client.state };
  });
  t.same(after, { exists: null, visits: 10, events: ['disconnected', 'connected'], state: 'closed' }, 'reconnected to the new (empty, in-memory) node');
  t.same(pageErrors, [], 'no uncaught error in the page');
});
