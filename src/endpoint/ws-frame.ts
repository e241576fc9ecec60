// Sends a session's binary answer frame straight to its socket. ws's Sender writes a server frame
// as two buffers (header, payload) through cork/uncork, so every flush went through the stream's
// writev path with its per-buffer bookkeeping. Here the header and payload go out as one buffer
// in one write: +2-5 % unpipelined, nothing pipelined (docs/benchmarks.md). The socket path itself
// (the stream, the syscall, loopback TCP) stays a third of the primary's CPU.
//
// This bypasses ws only where that is safe: the socket is open, no extension is negotiated (the
// node refuses permessage-deflate, so no frame is ever compressed), and ws's sender holds nothing
// queued (it queues only while compressing or reading a Blob, which this node never sends). Frames
// written here are counted in ws.bufferedAmount (the socket's own buffer), which the session
// checks. Anything else falls back to ws.send.

import { WebSocket } from 'ws';

/** The fields of ws 8's WebSocket and Sender this relies on (see the comment above). */
interface WsInternals {
  _socket?: { write(chunk: Uint8Array): boolean } | null;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
  _extensions?: Record<string, unknown>;
}

/** True when the object has any own or inherited enumerable key (no array allocated, unlike Object.keys). */
function hasAny(o: Record<string, unknown>): boolean {
  for (const _ in o) return true;
  return false;
}

/** FIN + binary opcode: one unfragmented binary message. */
const FIN_BINARY = 0x82;

/** Sends payload as one binary message (copied: the caller may reuse it at once). */
export function sendBinary(ws: WebSocket, payload: Uint8Array): void {
  const length = payload.length;
  const w = ws as unknown as WsInternals;
  const socket = w._socket;
  const sender = w._sender;
  if (
    ws.readyState !== WebSocket.OPEN ||
    socket === undefined ||
    socket === null ||
    sender === undefined ||
    sender === null ||
    sender._state !== 0 ||
    sender._queue === undefined ||
    sender._queue.length !== 0 ||
    w._extensions === undefined ||
    hasAny(w._extensions)
  ) {
    ws.send(Buffer.from(payload), { binary: true });
    return;
  }
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_BINARY;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, header);
  socket.write(frame);
}
