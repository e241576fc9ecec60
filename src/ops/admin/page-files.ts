// GET / and /admin: the admin page, with its script and style, as the build bundled them into
// dist/admin/ (scripts/bundle-admin.js; shipped in the package, no CDN: it works offline). The
// files are read once, on the first request. The page opens a WebSocket to the front port; its
// port is written into the page, so the same page served on service.adminPort finds the node.

import * as fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import * as path from 'node:path';
import { ADMIN_PAGE_FILE_BYTES_MAX } from '../../constants';

/** Where the build writes the page: dist/admin, beside dist/src (this file is dist/src/ops/admin/). */
export const ADMIN_PAGE_DIR = path.join(__dirname, '..', '..', '..', 'admin');
/** The placeholder in index.html that names the front port. */
const PORT_PLACEHOLDER = '%AERIE_FRONT_PORT%';

const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/admin.js': { file: 'admin.js', type: 'text/javascript; charset=utf-8' },
  '/admin/admin.css': { file: 'admin.css', type: 'text/css; charset=utf-8' },
};

export const ADMIN_PAGE_PATHS: readonly string[] = Object.keys(FILES);

/**
 * The page's scripts and styles come from the node only; its WebSocket may go to the front port
 * from the admin port (another origin); no site may frame it (its buttons act on the node).
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export class AdminPage {
  private readonly cache = new Map<string, Buffer | null>();

  constructor(
    private readonly frontPort: () => number,
    private readonly dir = ADMIN_PAGE_DIR,
  ) {}

  answer(urlPath: string, res: ServerResponse, headOnly: boolean): void {
    const entry = FILES[urlPath];
    const body = this.read(entry.file);
    if (body === null) {
      res
        .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        .end('the admin page is not built: run `npm run build` (scripts/bundle-admin.js writes dist/admin/)\n');
      return;
    }
    const out = entry.file === 'index.html' ? Buffer.from(body.toString('utf8').replaceAll(PORT_PLACEHOLDER, String(this.frontPort()))) : body;
    res.writeHead(200, { 'content-type': entry.type, 'content-length': out.length, ...SECURITY_HEADERS }).end(headOnly ? undefined : out);
  }

  private read(file: string): Buffer | null {
    if (this.cache.has(file)) return this.cache.get(file) ?? null;
    let body: Buffer | null = null;
    try {
      const full = path.join(this.dir, file);
      if (fs.statSync(full).size <= ADMIN_PAGE_FILE_BYTES_MAX) body = fs.readFileSync(full);
    } catch {
      body = null; // not built: answered 503, and read again on the next request
    }
    if (body !== null) this.cache.set(file, body);
    return body;
  }
}
