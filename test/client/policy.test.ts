// Proves that policies accept the numeric enums and the readable names, map to exactly the wire
// fields the caller set, and reject everything else client-side with PARAMETER.
import t from 'tap';
import { cleanBins, generationFields, retriesOf, timeoutOf, toExistsCode, toGenPolicyCode, writeFields } from '../../src/client/policy';
import { Status } from '../../src/errors';
import { Exists, GenPolicy } from '../../src/protocol/ops';

t.test('exists policy names and codes', async (t) => {
  t.equal(toExistsCode('update'), Exists.UPDATE);
  t.equal(toExistsCode('update-only'), Exists.UPDATE_ONLY);
  t.equal(toExistsCode('replace'), Exists.REPLACE);
  t.equal(toExistsCode('replace-only'), Exists.REPLACE_ONLY);
  t.equal(toExistsCode('create-only'), Exists.CREATE_ONLY);
  for (const code of Object.values(Exists)) t.equal(toExistsCode(code), code);
  for (const bad of ['create', 'UPDATE', 5, -1, null, 'toString', '__proto__']) {
    t.throws(() => toExistsCode(bad), { code: Status.PARAMETER }, String(bad));
  }
});

t.test('generation policy names and codes', async (t) => {
  t.equal(toGenPolicyCode('none'), GenPolicy.NONE);
  t.equal(toGenPolicyCode('eq'), GenPolicy.EXPECT_GEN_EQUAL);
  t.equal(toGenPolicyCode('gt'), GenPolicy.EXPECT_GEN_GT);
  for (const code of Object.values(GenPolicy)) t.equal(toGenPolicyCode(code), code);
  for (const bad of ['ge', 3, true, 'constructor']) t.throws(() => toGenPolicyCode(bad), { code: Status.PARAMETER }, String(bad));
});

t.test('write fields carry only what was set', async (t) => {
  t.same(writeFields(undefined, undefined), {});
  t.same(writeFields({ ttl: 60 }, {}), { ttl: 60 });
  t.same(writeFields({ ttl: -1, gen: 3 }, { exists: 'create-only', genPolicy: 'eq', sendKey: true }), {
    ttl: -1,
    gen: 3,
    exists: Exists.CREATE_ONLY,
    genPolicy: GenPolicy.EXPECT_GEN_EQUAL,
    sendKey: true,
  });
  t.same(writeFields({}, { genPolicy: 'none' }), { genPolicy: GenPolicy.NONE });
  t.same(generationFields({ gen: 2, genPolicy: 'gt' }), { gen: 2, genPolicy: GenPolicy.EXPECT_GEN_GT });
  t.same(generationFields(undefined), {});
});

t.test('bad meta and policies fail with PARAMETER', async (t) => {
  t.throws(() => writeFields({ ttl: 1.5 }, undefined), { code: Status.PARAMETER });
  t.throws(() => writeFields({ ttl: -3 }, undefined), { code: Status.PARAMETER });
  t.throws(() => writeFields({ ttl: 11 * 365 * 24 * 3600 }, undefined), { code: Status.PARAMETER });
  t.throws(() => writeFields({ gen: 70000 }, undefined), { code: Status.PARAMETER });
  t.throws(() => writeFields({}, { genPolicy: 'eq' }), { code: Status.PARAMETER }, 'eq without gen');
  t.throws(() => writeFields({}, { sendKey: 'yes' as never }), { code: Status.PARAMETER });
  t.throws(() => generationFields({ genPolicy: 'gt' }), { code: Status.PARAMETER });
  t.throws(() => timeoutOf({ timeoutMs: 0 }, 100), { code: Status.PARAMETER });
  t.throws(() => retriesOf({ maxRetries: -1 }, 2), { code: Status.PARAMETER });
  t.equal(timeoutOf(undefined, 100), 100);
  t.equal(timeoutOf({ timeoutMs: 7 }, 100), 7);
  t.equal(retriesOf({}, 2), 2);
  t.equal(retriesOf({ maxRetries: 0 }, 2), 0);
});

t.test('bins drop undefined like JSON and check names', async (t) => {
  t.same(cleanBins({ a: 1, b: undefined, c: null }), { a: 1, c: null });
  t.throws(() => cleanBins({ 'sixteen-bytes-xx': 1 }), { code: Status.BIN_NAME_TOO_LONG });
  t.throws(() => cleanBins([1, 2]), { code: Status.PARAMETER });
  t.throws(() => cleanBins(new Map()), { code: Status.PARAMETER });
  t.throws(() => cleanBins(null), { code: Status.PARAMETER });
  t.throws(() => cleanBins('x'), { code: Status.PARAMETER });
});
