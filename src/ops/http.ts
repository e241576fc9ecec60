// The node's plain HTTP answers, on the front port beside the WebSocket upgrade (and on
// service.adminPort when set): /livez, /readyz, /metrics. Anything else is refused with a code
// that says why; `/` keeps telling a browser that clients speak WebSocket.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerLivez } from './livez';
import { MetricsEndpoint } from './metrics';
import { answerReadyz } from './readyz';
import type { OpsSources } from './sources';

const HTTP_NOT_FOUND = 404;
const HTTP_METHOD_NOT_ALLOWED = 405;
const HTTP_UPGRADE_REQUIRED = 426;

export const OPS_PATHS = ['/livez', '/readyz', '/metrics'] as const;

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function opsHandler(sources: OpsSources): HttpHandler {
  const metrics = new MetricsEndpoint(sources);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const known = path === '/' || (OPS_PATHS as readonly string[]).includes(path);
    if (!known) {
      res.writeHead(HTTP_NOT_FOUND, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: try ${OPS_PATHS.join(', ')}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(HTTP_METHOD_NOT_ALLOWED, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET or HEAD only\n');
      return;
    }
    if (path === '/livez') answerLivez(res);
    else if (path === '/readyz') answerReadyz(res, sources);
    else if (path === '/metrics') void metrics.answer(res, req.method === 'HEAD');
    else res.writeHead(HTTP_UPGRADE_REQUIRED, { 'content-type': 'text/plain' }).end('Aerie speaks WebSocket only\n');
  };
}
