'use strict';
// Serves the browser example on 127.0.0.1: index.html and the SDK's browser bundle
// (dist/client/aerie-client.mjs, built by `npm run build`). Any static file server does the same;
// this one needs nothing but Node. test/client/browser.test.ts serves its page with it too.
//
//   npm run build && node examples/browser/serve.js [--port 8080]
//   then open http://127.0.0.1:8080/?node=127.0.0.1:3000

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const PORT_DEFAULT = 8080;

/**
 * An HTTP server (not yet listening) that answers `/` with index.html and `/aerie-client.mjs` with
 * the bundle; everything else is 404. Files are read per request, so a rebuilt bundle is served.
 */
function createPageServer({ bundleFile = path.join(ROOT, 'dist', 'client', 'aerie-client.mjs') } = {}) {
  const routes = {
    '/': { file: path.join(__dirname, 'index.html'), type: 'text/html; charset=utf-8' },
    '/index.html': { file: path.join(__dirname, 'index.html'), type: 'text/html; charset=utf-8' },
    '/aerie-client.mjs': { file: bundleFile, type: 'text/javascript; charset=utf-8' },
  };
  return http.createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://127.0.0.1').pathname];
    if (route === undefined || !fs.existsSync(route.file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(route === undefined ? 'not found' : `missing ${route.file}: run npm run build`);
      return;
    }
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' });
    fs.createReadStream(route.file).pipe(res);
  });
}

module.exports = { createPageServer };

if (require.main === module) {
  const flag = process.argv.indexOf('--port');
  const port = flag === -1 ? PORT_DEFAULT : Number(process.argv[flag + 1]);
  createPageServer().listen(port, '127.0.0.1', () => {
    console.log(`browser example: http://127.0.0.1:${port}/?node=127.0.0.1:3000`);
  });
}
