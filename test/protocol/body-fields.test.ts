// Proves the body-field table is the one both readers follow: every field the primary routes on
// is read by it and skipped by the worker's parser, every worker field is accepted by the worker,
// and a field in neither list is refused with PARAMETER.

import t from 'tap';
import { Status } from '../../src/errors';
import { PRIMARY_ONLY_FIELDS, RoutingField, WORKER_FIELDS } from '../../src/protocol/body-fields';
import { Reader } from '../../src/protocol/reader';
import { RequestFields, parseBody } from '../../src/protocol/request-body';
import { Writer } from '../../src/protocol/writer';
import { RoutingFields, readRoutingFields } from '../../src/endpoint/routing-fields';

/** A valid value for each field, as a client would send it (bins as names: GET's shape). */
const SAMPLES: Record<string, unknown> = {
  ns: 'test',
  set: 'demo',
  key: 'k',
  digest: Buffer.alloc(20, 7),
  bins: ['a'],
  keys: [],
  cursor: null,
  pageSize: 1,
  beforeMs: 0,
  commitLevel: 'all',
  ops: [],
  ttl: 0,
  gen: 0,
  exists: 0,
  genPolicy: 0,
  sendKey: false,
};

function body(fields: Record<string, unknown>): Buffer {
  const w = new Writer(1 << 12);
  w.writeValue(fields);
  return w.copy() as Buffer;
}

t.test('every field has a sample, so the checks below cover the whole table', async (t) => {
  for (const name of [...Object.keys(RoutingField), ...WORKER_FIELDS]) t.ok(name in SAMPLES, name);
});

t.test('the primary reads each routing field and the worker skips it', async (t) => {
  for (const [name, bit] of Object.entries(RoutingField)) {
    const bytes = body({ [name]: SAMPLES[name] });
    const routing = new RoutingFields();
    readRoutingFields(new Reader(bytes), bytes.length, routing, false);
    t.equal(routing.seen, bit, `${name}: the primary read it`);
    t.equal(routing.other, null, `${name}: not left for the worker`);
    t.doesNotThrow(() => parseBody(new Reader(bytes), bytes.length, new RequestFields(), false), `${name}: the worker accepts it`);
  }
});

t.test('the worker reads each of its fields, and the primary leaves the ones it does not route on', async (t) => {
  for (const name of WORKER_FIELDS) {
    const bytes = body({ [name]: SAMPLES[name] });
    t.doesNotThrow(() => parseBody(new Reader(bytes), bytes.length, new RequestFields(), false), `${name}: the worker accepts it`);
    const routing = new RoutingFields();
    readRoutingFields(new Reader(bytes), bytes.length, routing, false);
    t.equal(routing.other, name in RoutingField ? null : name, `${name}: the primary ${name in RoutingField ? 'reads' : 'skips'} it`);
  }
  t.same(
    [...PRIMARY_ONLY_FIELDS].filter((name) => WORKER_FIELDS.has(name)),
    [],
    'no field is both skipped and read by the worker',
  );
});

t.test('a field in neither list is refused by the worker with PARAMETER', async (t) => {
  const bytes = body({ ttll: 5 });
  t.throws(() => parseBody(new Reader(bytes), bytes.length, new RequestFields(), false), { code: Status.PARAMETER });
  const routing = new RoutingFields();
  readRoutingFields(new Reader(bytes), bytes.length, routing, false);
  t.equal(routing.other, 'ttll', 'the primary leaves it for the worker to refuse');
});
