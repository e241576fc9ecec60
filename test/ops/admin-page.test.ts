// Proves the admin page works in a real browser (Debian's /usr/bin/chromium driven by
// playwright-core) against a real node: served at /admin, it goes live over its WebSocket feed,
// shows both workers, the partition grid, requests and namespaces; a crash injected from the
// page's fault drill turns the crashed worker's partitions over to replicas on the grid, and the
// page then shows the worker back (restarted once) and the grid whole again. Set
// AERIE_ADMIN_SCREENSHOT=docs/admin-page.png to save the screenshot docs/operations.md shows.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Key } from '../../src/client/index';
import { PARTITION_COUNT } from '../../src/constants';
import { ADMIN_PAGE_DIR } from '../../src/ops/admin/page-files';
import { startTestNode } from '../helpers/node';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 30_000;
/** The crashed worker stays down this long, so the page's once-a-second feed sees the failover. */
const RESTART_DELAY_MS = 4000;

const skip = !fs.existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`
  : !fs.existsSync(path.join(ADMIN_PAGE_DIR, 'admin.js'))
    ? 'the admin page is not built: node scripts/bundle-admin.js'
    : false;

interface GridCounts {
  master: number;
  replica: number;
  migrating: number;
  unavailable: number;
}

/** The little of the page's globals the predicates below read. */
interface PageGlobals {
  document: {
    getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  };
}

t.test('the admin page in headless Chromium: live view, a crash drill, the worker back', { skip }, async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = RESTART_DELAY_MS;
    c.supervisor.restartDelayMsMax = RESTART_DELAY_MS;
  });
  // Some traffic for the charts, until the test ends (failures during the failover are expected).
  let writing = true;
  const load = (async () => {
    for (let i = 0; writing; i++) {
      await Promise.all([client.put(new Key('test', 'admin', i % 500), { i }), client.get(new Key('test', 'admin', (i * 7) % 500))]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  t.teardown(async () => {
    writing = false;
    await load;
  });

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: STEP_TIMEOUT_MS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  const origin = `http://127.0.0.1:${node.address.port}`;
  await page.goto(`${origin}/admin`);
  await page.waitForSelector('#status[data-state="live"]');
  await page.waitForSelector('#workers tr[data-worker="0"][data-state="up"]');
  await page.waitForSelector('#workers tr[data-worker="1"][data-state="up"]');
  t.pass('both workers shown up');
  // The page writes the grid's counts per state as data attributes of #grid-summary.
  const grid = async (): Promise<GridCounts> => {
    const d = await page.$eval('#grid-summary', (e) => ({ ...(e as unknown as { dataset: Record<string, string> }).dataset }));
    return { master: Number(d.master), replica: Number(d.replica), migrating: Number(d.migrating), unavailable: Number(d.unavailable) };
  };
  // Predicates are functions, never strings: a string is eval'd in the page on each poll, which
  // the page's Content-Security-Policy (no 'unsafe-eval') refuses once a first look fails.
  // (This build has no DOM types: the page's document is typed by hand.)
  const gridAtLeast = (state: keyof GridCounts, least: number) =>
    page.waitForFunction(([s, n]) => Number((globalThis as unknown as PageGlobals).document.getElementById('grid-summary')?.dataset[s] ?? -1) >= n, [state, least] as [string, number]);
  t.same(await grid(), { master: PARTITION_COUNT, replica: 0, migrating: 0, unavailable: 0 }, 'every partition on its master');
  await page.waitForSelector('#ops tr[data-op="put"]');
  await page.waitForSelector('#namespaces tr[data-namespace="test"]');
  t.ok(await page.$('#fault-run'), 'the fault drill is offered (faultInjection on, no security)');
  t.ok(await page.$('button[data-restart="1"]'), 'worker restart is offered');

  // The drill: crash worker 1 from the page.
  await page.selectOption('#fault-worker', '1');
  await page.selectOption('#fault-kind', 'crash');
  await page.click('#fault-run');
  await page.waitForSelector('#action-result[data-code="0"]');
  await page.waitForSelector('#workers tr[data-worker="1"]:not([data-state="up"])');
  await gridAtLeast('replica', 1);
  const during = await grid();
  t.ok(during.replica > 0 && during.master < PARTITION_COUNT, `the grid shows worker 1's partitions served by replicas (${JSON.stringify(during)})`);
  t.equal(during.unavailable, 0, 'replicas serve every partition: none unavailable');
  await page.waitForFunction(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#events li')).some((li) => /worker 1/.test(li.textContent ?? '')));
  t.pass('the events list names worker 1');
  if (process.env.AERIE_ADMIN_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.AERIE_ADMIN_SCREENSHOT, fullPage: true });

  await page.waitForSelector('#workers tr[data-worker="1"][data-state="up"][data-restarts="1"]');
  t.pass('worker 1 is shown back, restarted once');
  await gridAtLeast('master', PARTITION_COUNT);
  t.same(await grid(), { master: PARTITION_COUNT, replica: 0, migrating: 0, unavailable: 0 }, 'the grid is whole again');

  t.same(
    requests.filter((u) => !u.startsWith(origin)),
    [],
    'the page loaded nothing from anywhere but the node',
  );
  t.same(pageErrors, [], 'no uncaught error in the page');
});
