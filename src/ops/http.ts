// The node's plain HTTP answers, on the front port beside the WebSocket upgrade (and on
// service.adminPort when set): /livez, /readyz, /metrics, and the admin page at / and /admin
// (src/ops/admin/). Anything else is refused with a code that says why.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminPage, ADMIN_PAGE_PATHS } from './admin/page-files';
import { answerLivez } from './livez';
import { MetricsEndpoint } from './metrics';
import { answerReadyz } from './readyz';
import type { OpsSources } from './sources';

const HTTP_NOT_FOUND = 404;
const HTTP_METHOD_NOT_ALLOWED = 405;

export const OPS_PATHS = ['/livez', '/readyz', '/metrics'] as const;

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function opsHandler(sources: OpsSources): HttpHandler {
  const metrics = new MetricsEndpoint(sources);
  const page = new AdminPage(sources.frontPort);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const known = ADMIN_PAGE_PATHS.includes(path) || (OPS_PATHS as readonly string[]).includes(path);
    if (!known) {
      res.writeHead(HTTP_NOT_FOUND, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: try /admin, ${OPS_PATHS.join(', ')}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(HTTP_METHOD_NOT_ALLOWED, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET or HEAD only\n');
      return;
    }
    if (path === '/livez') answerLivez(res);
    else if (path === '/readyz') answerReadyz(res, sources);
    else if (path === '/metrics') void metrics.answer(res, req.method === 'HEAD');
    else page.answer(path, res, req.method === 'HEAD');
  };
}
