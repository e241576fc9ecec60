// Node's HTTP server reads a new connection's bytes straight into its C++ parser (parser.consume).
// In a worker thread being terminated (a hung worker, src/primary/worker-handle.ts kill) that path
// aborts the whole process when bytes are waiting on such a socket: the parser's read callback
// calls ToLocalChecked on a property read that termination empties (node_http_parser.cc
// OnStreamRead, Node 20: "FATAL ERROR: v8::ToLocalChecked Empty MaybeLocal"), and every worker and
// client goes with it. A 'data' listener makes the server parse in JS instead (http's listener
// wrapper unconsumes the parser), where termination only ends the callback; the listener goes
// again at once. Only the upgrade request is read this way: after it, ws reads the socket in JS
// anyway, so no frame pays for it.

import type { Socket } from 'node:net';
import type { EndpointServer } from '../security/tls';

const noData = (): void => undefined;

/** `tls`: the server is HTTPS (its parser takes sockets at 'secureConnection'). */
export function parseHandshakesInJs(server: EndpointServer, tls: boolean): void {
  // Registered after the server's own listener (its constructor's), so the parser is attached.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    socket.on('data', noData);
    socket.removeListener('data', noData);
  });
}
