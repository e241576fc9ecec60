'use strict';
// Calibration server, not product code: the least a Node server of Redis's protocol can do.
// `net` and a Map; RESP arrays of bulk strings, GET and SET, every reply of one read written in one
// write. run.js measures it beside Redis so the table shows Node's own floor per core (issue 12).
// Usage: node resp-map.js --port P
const net = require('node:net');
const { parseArgs } = require('node:util');

const BUFFERED_BYTES_MAX = 64 * 1024 * 1024;
const { values } = parseArgs({ options: { port: { type: 'string' } } });
const records = new Map();
const OK = Buffer.from('+OK\r\n');
const NIL = Buffer.from('$-1\r\n');
const UNKNOWN = Buffer.from('-ERR unknown command\r\n');

/** One `$<n>\r\n<bytes>\r\n` at `at`: [bytes, next] or null while incomplete. */
function bulk(buf, at) {
  const eol = buf.indexOf(13, at);
  if (eol < 0 || eol + 1 >= buf.length) return null;
  const size = Number(buf.latin1Slice(at + 1, eol));
  const start = eol + 2;
  if (buf.length < start + size + 2) return null;
  return [buf.subarray(start, start + size), start + size + 2];
}

/** Whole commands from `at`; returns where the unread rest begins. */
function serve(buf, replies) {
  let at = 0;
  while (at < buf.length) {
    const eol = buf.indexOf(13, at);
    if (eol < 0 || eol + 1 >= buf.length) break;
    const argc = Number(buf.latin1Slice(at + 1, eol));
    const args = [];
    let next = eol + 2;
    for (let i = 0; i < argc && next !== -1; i++) {
      const b = bulk(buf, next);
      if (b === null) next = -1;
      else [args[i], next] = [b[0], b[1]];
    }
    if (next === -1) break;
    at = next;
    const command = args[0].latin1Slice().toUpperCase();
    if (command === 'GET') {
      const v = records.get(args[1].latin1Slice());
      replies.push(v === undefined ? NIL : Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]));
    } else if (command === 'SET') {
      records.set(args[1].latin1Slice(), Buffer.from(args[2]));
      replies.push(OK);
    } else replies.push(UNKNOWN);
  }
  return at;
}

net
  .createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const replies = [];
      pending = buf.subarray(serve(buf, replies));
      if (pending.length > BUFFERED_BYTES_MAX) socket.destroy();
      if (replies.length) socket.write(replies.length === 1 ? replies[0] : Buffer.concat(replies));
    });
    socket.on('error', () => socket.destroy());
  })
  .listen(Number(values.port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
