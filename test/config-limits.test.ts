// Proves the configuration refuses size limits that could never be reached in order (a record
// larger than any frame can carry, budgets smaller than one frame), naming the field.
import t from 'tap';
import { parseConfig } from '../src/config';
import { AerieError, Status } from '../src/errors';

const refusal = (raw: unknown): string => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof AerieError && err.code === Status.PARAMETER) return err.message;
    throw err;
  }
  return 'accepted';
};

t.test('the defaults agree', async (t) => {
  const c = parseConfig({});
  t.ok(c.service.frameBytesMax >= c.namespaces[0].recordBytesMax, 'a frame carries a largest record');
  t.ok(c.service.sendBufferBytesMax >= c.service.frameBytesMax, 'a connection holds a frame');
  t.ok(c.service.answerBytesMax >= c.service.sendBufferBytesMax, 'the node holds a connection');
});

t.test('limits that cannot be reached through a smaller one are refused', async (t) => {
  const mib = 1024 * 1024;
  t.match(refusal({ service: { frameBytesMax: 4 * mib }, namespaces: [{ name: 'a', recordBytesMax: 4 * mib }] }), /service\.frameBytesMax: must be at least namespaces\[0\]\.recordBytesMax/);
  t.equal(refusal({ service: { frameBytesMax: 5 * mib }, namespaces: [{ name: 'a', recordBytesMax: 4 * mib }] }), 'accepted');
  t.match(refusal({ service: { sendBufferBytesMax: 8 * mib } }), /service\.sendBufferBytesMax: must be at least service\.frameBytesMax/);
  t.match(refusal({ service: { answerBytesMax: 32 * mib } }), /service\.answerBytesMax: must be at least service\.sendBufferBytesMax/);
  t.equal(refusal({ service: { frameBytesMax: 2 * mib, sendBufferBytesMax: 2 * mib, answerBytesMax: 2 * mib }, namespaces: [{ name: 'a', recordBytesMax: mib }] }), 'accepted');
});
