// GET /readyz: 200 when the node should be sent traffic, else 503; both with a JSON body
// {ready, reasons: [{code, message}]} (src/ops/readiness.ts says which reasons exist).

import type { ServerResponse } from 'node:http';
import { notReadyReasons } from './readiness';
import type { OpsSources } from './sources';

const HTTP_OK = 200;
const HTTP_SERVICE_UNAVAILABLE = 503;

export function answerReadyz(res: ServerResponse, sources: OpsSources): void {
  const reasons = notReadyReasons(sources.readiness());
  const ready = reasons.length === 0;
  res.writeHead(ready ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify({ ready, reasons })}\n`);
}
