// service.workerPorts: "next" (the default), 0 or a list resolve to one port per worker, and
// every setting that would make two endpoints share a port, or name the wrong number, is refused
// with the field's path.
import t from 'tap';
import { parseConfig, workerPort, type NodeConfig } from '../src/config';
import { AerieError } from '../src/errors';

const refusal = (raw: unknown): string => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof AerieError) return err.message;
    throw err;
  }
  return 'accepted';
};
const ports = (c: NodeConfig, n: number) => Array.from({ length: n }, (_, i) => workerPort(c, i));

t.test('"next" follows service.port, and is ephemeral with it', async (t) => {
  const c = parseConfig({ service: { port: 4000 }, workers: { count: 3 } });
  t.equal(c.service.workerPorts, 'next', 'the default');
  t.same(ports(c, 3), [4001, 4002, 4003]);
  t.same(ports(parseConfig({ service: { port: 0 }, workers: { count: 2 } }), 2), [0, 0]);
});

t.test('0 and an explicit list', async (t) => {
  t.same(ports(parseConfig({ service: { port: 4000, workerPorts: 0 }, workers: { count: 2 } }), 2), [0, 0]);
  t.same(ports(parseConfig({ service: { port: 4000, workerPorts: [5000, 0] }, workers: { count: 2 } }), 2), [5000, 0]);
});

t.test('bad settings are refused with the field', async (t) => {
  t.match(refusal({ service: { workerPorts: 'auto' }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { workerPorts: [5000, 5001] } }), /service\.workerPorts: a list of ports needs workers\.count/);
  t.match(refusal({ service: { workerPorts: [5000] }, workers: { count: 2 } }), /service\.workerPorts: must list 2 ports/);
  t.match(refusal({ service: { workerPorts: [5000, 5000] }, workers: { count: 2 } }), /service\.workerPorts: two endpoints share a port/);
  t.match(refusal({ service: { port: 5000, workerPorts: [5000, 5001] }, workers: { count: 2 } }), /service\.workerPorts: two endpoints share a port/);
  t.match(refusal({ service: { workerPorts: [1.5, 2] }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { workerPorts: [70000, 2] }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { port: 65535 }, workers: { count: 2 } }), /service\.workerPorts: "next" runs past port 65535/);
  t.equal(refusal({ service: { port: 5000, workerPorts: [0, 0] }, workers: { count: 2 } }), 'accepted', 'ephemeral ports never collide');
});
