'use strict';
// Calibration server, not product code: the least a Node server of Aerie's protocol can do.
// WebSocket (`ws`), frames of msgpack `[id, op, body]` messages answered `[id, code, body]`, HELLO,
// GET and PUT over a JavaScript Map. Answers are gathered per connection and sent as one frame per
// event-loop turn (as Aerie does, and as reference.md's "responses corked per tick" server did):
// without that, a server of this protocol pays a socket write per request frame. run.js measures it beside
// Aerie so the table shows what the layers between Aerie's socket and its data cost (issue 12).
// Usage: node ws-map.js --port P [--tls-cert F --tls-key F [--tls-ca F --request-cert]]
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { parseArgs } = require('node:util');
const { Packr, Unpackr } = require('msgpackr');
const { WebSocketServer } = require('ws');

const FRAME_BYTES_MAX = 16 * 1024 * 1024;
const OK = 0;
const KEY_NOT_FOUND = 2;
const PARAMETER = 4;
const { values } = parseArgs({
  options: { port: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' }, 'request-cert': { type: 'boolean', default: false } },
});
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const records = new Map();
const hello = { node: 'calibration', protocol: 1, namespaces: ['test'] };

function answer(id, op, body) {
  if (op === 1) return [id, OK, hello];
  const name = `${body.set}:${body.key}`;
  if (op === 3) {
    const bins = records.get(name);
    return bins === undefined ? [id, KEY_NOT_FOUND, null] : [id, OK, { gen: 1, ttl: 0, bins }];
  }
  if (op === 2) {
    records.set(name, body.bins);
    return [id, OK, { gen: 1, ttl: 0 }];
  }
  return [id, PARAMETER, null];
}

const tls = values['tls-cert'] !== undefined;
const server = tls
  ? https.createServer({
      cert: fs.readFileSync(values['tls-cert']),
      key: fs.readFileSync(values['tls-key']),
      ...(values['tls-ca'] ? { ca: fs.readFileSync(values['tls-ca']) } : {}),
      requestCert: values['request-cert'],
      rejectUnauthorized: values['request-cert'],
    })
  : http.createServer();
const wss = new WebSocketServer({ server, maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false });
const unsent = new Map(); // socket -> answers not yet written
let flushScheduled = false;

function flush() {
  flushScheduled = false;
  for (const [socket, answers] of unsent) socket.send(packr.pack(answers));
  unsent.clear();
}

wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const messages = unpackr.unpack(data);
    let answers = unsent.get(socket);
    if (answers === undefined) unsent.set(socket, (answers = []));
    for (const m of messages) answers.push(answer(m[0], m[1], m[2]));
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  });
  socket.on('close', () => unsent.delete(socket));
});
server.listen(Number(values.port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
