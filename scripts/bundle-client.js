'use strict';
// Builds the SDK's ES module: one file, dist/client/aerie-client.mjs, bundled by esbuild from
// src/client/index.ts, for Node's `import` and for browsers (package.json `exports`:
// aerie-kv/client). It holds no Node module: the `ws` fallback is loaded by a variable name
// at run time, only where there is no standard WebSocket (src/client/websocket.ts). Its types
// are the tsc build's, re-exported by a two-line .d.mts. The CommonJS build is tsc's own
// (dist/src/client/). Run after `tsc -p .`; `node scripts/bundle-client.js [outDir]`.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'src', 'client', 'index.ts');
const OUT_DIR_DEFAULT = path.join(ROOT, 'dist', 'client');
const BUNDLE_NAME = 'aerie-client.mjs';

/** Bundles the client into `outDir`; answers the bundle's path. Throws when esbuild reports an error. */
async function bundleClient(outDir = OUT_DIR_DEFAULT) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, BUNDLE_NAME);
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    // Neutral: no Node built-ins are assumed or polyfilled; the bundle fails to build if the
    // client ever imports one, which is what keeps it loadable in a browser.
    platform: 'neutral',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'silent',
  });
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join('; ')}`);
  const typesFrom = path
    .relative(outDir, path.join(ROOT, 'dist', 'src', 'client', 'index.js'))
    .split(path.sep)
    .join('/');
  fs.writeFileSync(
    path.join(outDir, 'aerie-client.d.mts'),
    `// The ES module's types: the same declarations as the CommonJS build.\nexport * from '${typesFrom.startsWith('.') ? typesFrom : `./${typesFrom}`}';\n`,
  );
  return outFile;
}

module.exports = { bundleClient, BUNDLE_NAME };

if (require.main === module) {
  bundleClient(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2])).then(
    (file) => console.log(`client bundle: ${path.relative(process.cwd(), file)}`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
