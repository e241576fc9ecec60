// GET /livez: the process answers. Nothing else is checked, so an orchestrator restarts the node
// only when its primary thread no longer runs its event loop, never for a state it can leave
// (that is /readyz's job).

import type { ServerResponse } from 'node:http';

export function answerLivez(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('ok\n');
}
