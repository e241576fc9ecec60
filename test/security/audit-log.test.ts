// Proves the audit trail writes one JSON line per event in order, rotates by size keeping a
// bounded number of old files, and cuts client-given fields.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as C from '../../src/constants';
import { AuditLog } from '../../src/security/audit-log';

t.test('lines in order, rotated by size', async (t) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'aerie-audit-')), 'audit.jsonl');
  const audit = new AuditLog(file, 4096);
  const events = 400; // about 200 bytes each: several rotations
  for (let i = 0; i < events; i++) {
    audit.record({ action: 'login', user: `u${i}`, client: '127.0.0.1:5', target: i === 0 ? 'x'.repeat(1000) : null, result: i % 2 === 0 ? 0 : 65 });
    if (i % 50 === 0) await audit.flush(); // separate appends, so the size check runs between them
  }
  await audit.flush();
  t.equal(audit.written, events);
  t.equal(audit.dropped, 0);
  t.ok(existsSync(`${file}.1`), 'rotated');
  t.notOk(existsSync(`${file}.${C.AUDIT_FILES_KEPT + 1}`), `at most ${C.AUDIT_FILES_KEPT} old files`);
  const last = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(last.at(-1), { ...last.at(-1), user: `u${events - 1}`, action: 'login', result: 65, resultName: 'INVALID_CREDENTIAL', endpoint: 'primary' });
  const users = last.map((l) => Number(String(l.user).slice(1)));
  t.same(
    users,
    users.slice().sort((a, b) => a - b),
    'in order',
  );
});

t.test('client-given fields are cut', async (t) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'aerie-audit-')), 'audit.jsonl');
  const audit = new AuditLog(file);
  audit.record({ action: 'login', user: 'u'.repeat(5000), client: 'c', result: 60 });
  await audit.flush();
  const line = JSON.parse(readFileSync(file, 'utf8'));
  t.equal(line.user.length, C.AUDIT_FIELD_CHARS_MAX);
  t.equal(line.target, null);
});
