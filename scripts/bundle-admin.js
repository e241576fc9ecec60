'use strict';
// Builds the admin page into dist/admin/: index.html and admin.css as written in src/admin-page/, and
// admin.js bundled by esbuild from src/admin-page/main.ts with the SDK's codec it imports. The node
// serves these files at / and /admin (src/ops/admin/page-files.ts); the package ships them, so
// the page needs nothing from the network. Run after `tsc -p .`;
// `node scripts/bundle-admin.js [outDir]`.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PAGE_DIR = path.join(ROOT, 'src', 'admin-page');
const OUT_DIR_DEFAULT = path.join(ROOT, 'dist', 'admin');

/** Bundles the page into `outDir`; answers the directory. Throws when esbuild reports an error. */
async function bundleAdmin(outDir = OUT_DIR_DEFAULT) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(PAGE_DIR, 'main.ts')],
    outfile: path.join(outDir, 'admin.js'),
    bundle: true,
    format: 'esm',
    // A browser page: a Node built-in imported by mistake fails the build instead of loading.
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join('; ')}`);
  for (const file of ['index.html', 'admin.css']) fs.copyFileSync(path.join(PAGE_DIR, file), path.join(outDir, file));
  return outDir;
}

module.exports = { bundleAdmin };

if (require.main === module) {
  bundleAdmin(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2])).then(
    (dir) => console.log(`admin page: ${path.relative(process.cwd(), dir)}`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
