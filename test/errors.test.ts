// Proves that docs/errors.md documents exactly the codes in Status, under the same names, and that
// AerieError's name, statusName and plain form carry the code.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AerieError, Status, allStatusCodes, statusName } from '../src/errors';

/** The rows of the codes table: `| code | NAME | meaning |`. */
function documentedCodes(): Map<number, string> {
  // Compiled to dist/test, run from the repository root or from dist/test: find docs either way.
  const candidates = [join(__dirname, '..', '..', 'docs', 'errors.md'), join(__dirname, '..', 'docs', 'errors.md')];
  const path = candidates.find((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  });
  if (path === undefined) throw new Error(`docs/errors.md not found from ${__dirname}`);
  const rows = new Map<number, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const row = /^\|\s*(-?\d+)\s*\|\s*`?([A-Z0-9_]+)`?\s*\|/.exec(line);
    if (row === null) continue;
    const code = Number(row[1]);
    if (rows.has(code)) throw new Error(`docs/errors.md lists code ${code} twice`);
    rows.set(code, row[2]);
  }
  return rows;
}

t.test('every Status code is in docs/errors.md under its name', async (t) => {
  const documented = documentedCodes();
  for (const { code, name } of allStatusCodes()) {
    t.equal(documented.get(code), name, `code ${code} ${name}`);
  }
});

t.test('docs/errors.md lists no code that Status lacks', async (t) => {
  const known = new Set(allStatusCodes().map((c) => c.code));
  for (const [code, name] of documentedCodes()) t.ok(known.has(code), `documented ${code} ${name} exists`);
});

t.test('codes and names are one-to-one', async (t) => {
  const codes = Object.values(Status);
  t.equal(new Set(codes).size, codes.length, 'no two names share a code');
  t.equal(allStatusCodes().length, codes.length);
});

t.test('AerieError carries its code through name, statusName and toJSON', async (t) => {
  const err = new AerieError(Status.KEY_NOT_FOUND, 'no such record');
  t.ok(err instanceof Error);
  t.equal(err.code, 2);
  t.equal(err.name, 'AerieError[KEY_NOT_FOUND]');
  t.equal(err.inDoubt, false);
  t.same(err.toJSON(), { code: 2, message: 'no such record', inDoubt: false });
  t.same(JSON.parse(JSON.stringify(err)), { code: 2, message: 'no such record', inDoubt: false });

  const doubtful = new AerieError(Status.TIMEOUT_CLIENT, undefined, true);
  t.equal(doubtful.message, 'TIMEOUT_CLIENT', 'the message defaults to the name');
  t.same(doubtful.toJSON(), { code: -9, message: 'TIMEOUT_CLIENT', inDoubt: true });

  t.equal(statusName(Status.PARAMETER), 'PARAMETER');
  t.equal(statusName(-10), 'CONNECTION_CLOSED');
  t.equal(statusName(9999), 'UNKNOWN_9999');
  t.equal(new AerieError(9999).name, 'AerieError[UNKNOWN_9999]');
});
