// Proves the shell's parsing (quotes, integer and string keys, the JSON rest of a put line) and
// that piped commands run in order against a node, print readable answers and errors, and set
// the exit code; the node here is the scripted mock with a small in-memory store.
import t from 'tap';
import { main } from '../../src/cli/main';
import { parseUserKey, tokenize } from '../../src/cli/shell-commands';
import { Key } from '../../src/client';
import { Status } from '../../src/errors';
import { Op, OpType } from '../../src/protocol/ops';
import { MockNode, type MockRequest } from '../helpers/scripted-node';
import { captureIo as capture } from '../helpers/cli-io';

t.test('tokenizing', async (t) => {
  t.same(
    tokenize(`get test demo "1" 'two words' a\\"b "q\\"x"`).map((tok) => [tok.text, tok.quoted]),
    [
      ['get', false],
      ['test', false],
      ['demo', false],
      ['1', true],
      ['two words', true],
      ['a\\"b', false],
      ['q"x', true],
    ],
  );
  t.same(
    tokenize('  put  t  s  k  {"a": 1}').map((tok) => tok.text),
    ['put', 't', 's', 'k', '{"a":', '1}'],
  );
  t.equal(tokenize('put t s k {"a": 1}')[3].end, 9, 'the put command takes the line after the key');
  t.throws(() => tokenize('get "open'), { code: Status.PARAMETER });
  t.same(tokenize(''), []);
});

t.test('keys', async (t) => {
  const key = (text: string) => parseUserKey(tokenize(text)[0]);
  t.equal(key('42'), 42);
  t.equal(key('-7'), -7);
  t.equal(key('"42"'), '42');
  t.equal(key('9007199254740993'), 9007199254740993n, 'beyond 2^53 becomes a bigint');
  t.equal(key('4x'), '4x');
  t.equal(key('1.5'), '1.5', 'not an integer: a string key');
});

/** A tiny store behind the mock node, keyed by digest, enough for the shell's commands. */
function storeNode(): Promise<MockNode> {
  const records = new Map<string, { gen: number; bins: Record<string, unknown> }>();
  const id = (body: { ns: string; set?: string; key: string | number }) => Buffer.from(new Key(body.ns, body.set ?? null, body.key).digest).toString('hex');
  return MockNode.start({
    onRequest: (r: MockRequest) => {
      const body = r.body as { ns: string; set?: string; key: string | number; bins?: Record<string, unknown>; ops?: unknown[][] };
      const record = r.op === Op.INFO || r.op === Op.SCAN ? undefined : records.get(id(body));
      switch (r.op) {
        case Op.PUT: {
          const next = { gen: (record?.gen ?? 0) + 1, bins: { ...record?.bins, ...body.bins } };
          records.set(id(body), next);
          return r.reply(0, { gen: next.gen, ttl: -1 });
        }
        case Op.GET:
          return record ? r.reply(0, { gen: record.gen, ttl: -1, bins: record.bins }) : r.reply(Status.KEY_NOT_FOUND, null);
        case Op.EXISTS:
          return record ? r.reply(0, { gen: record.gen, ttl: -1 }) : r.reply(Status.KEY_NOT_FOUND, null);
        case Op.REMOVE:
          return records.delete(id(body)) ? r.reply(0, null) : r.reply(Status.KEY_NOT_FOUND, null);
        case Op.OPERATE: {
          const [[, bin, n]] = body.ops as [number, string, number][];
          const next = { gen: (record?.gen ?? 0) + 1, bins: { ...record?.bins, [bin]: ((record?.bins[bin] as number) ?? 0) + n } };
          records.set(id(body), next);
          t.equal(body.ops![1][0], OpType.READ);
          return r.reply(0, { gen: next.gen, ttl: -1, results: [null, next.bins[bin]] });
        }
        case Op.SCAN:
          return r.reply(0, {
            records: [
              [Buffer.alloc(20, 1), 'demo', 'k', 1, -1, { a: 1 }],
              [Buffer.alloc(20, 2), null, null, 2, 30, {}],
            ],
            cursor: null,
          });
        case Op.INFO:
          return r.reply(0, { node: 'aerie', version: '0.1.0', namespaces: [{ name: 'test', records: 3 }], workers: [] });
        default:
          return r.reply(Status.UNSUPPORTED_FEATURE, { message: 'not in the mock' });
      }
    },
  });
}

t.test('piped commands', async (t) => {
  const node = await storeNode();
  t.teardown(() => node.close());
  const { io, out } = capture(
    [
      '# a comment, then a blank line',
      '',
      'put test demo 1 {"name": "Ada", "n": 1}',
      'get test demo 1',
      'get test demo "1"',
      'exists test demo 1',
      'incr test demo 1 n 41',
      'scan test demo 10',
      'remove test demo 1',
      'exists test demo 1',
      'frobnicate',
      'touch test demo 1',
      'info',
      'quit',
      'get test demo 1',
    ].join('\n'),
  );
  const code = await main(['shell', '--host', node.host], io);
  t.equal(code, 1, 'some commands failed');
  const text = out();
  t.match(text, 'ok (gen 1, ttl never)\ngen 1, ttl never\n{\n  "name": "Ada",\n  "n": 1\n}\n');
  t.match(text, 'error 2 KEY_NOT_FOUND\n', 'the string key "1" is another record');
  t.match(text, 'exists (gen 1, ttl never)\n');
  t.match(text, 'n = 42 (gen 2)\n');
  t.match(text, /SET\s+KEY\s+GEN\s+TTL\s+BINS\ndemo\s+"k"\s+1\s+never\s+\{"a": 1\}\n-\s+digest:0202/);
  t.match(text, '(2 records)');
  t.match(text, 'removed\nnot found\n');
  t.match(text, 'error 4 PARAMETER: unknown command: frobnicate (try help)\n');
  t.match(text, 'error 4 PARAMETER: usage: touch <ns> <set> <key> <ttl>\n');
  t.match(text, /node\s+aerie 0\.1\.0/);
  t.equal(node.requests.filter((r) => r.op === Op.GET).length, 2, 'nothing runs after quit');
  const put = node.requests.find((r) => r.op === Op.PUT)!;
  t.same(put.body, { ns: 'test', set: 'demo', key: 1, bins: { name: 'Ada', n: 1 }, sendKey: true });
});

t.test('a clean script exits 0', async (t) => {
  const node = await storeNode();
  t.teardown(() => node.close());
  const { io, out } = capture('put test demo k {"a": 1}\nhelp\n');
  t.equal(await main(['shell', '--host', node.host], io), 0);
  t.match(out(), 'incr <ns> <set> <key> <bin> <n>');
});
