// The node's version (INFO `version`, the HELLO answer), read once at start-up from the package's
// manifest: a typed read of one field, where a require() of the JSON would be untyped.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../assert';

/** package.json at the package root, from dist/src/primary/ where this file runs compiled. */
const MANIFEST_PATH = path.resolve(__dirname, '..', '..', '..', 'package.json');

function readVersion(file: string): string {
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown } | null;
  const version = manifest?.version;
  if (typeof version !== 'string') fail(`${file} has no version string`);
  return version;
}

export const NODE_VERSION: string = readVersion(MANIFEST_PATH);
