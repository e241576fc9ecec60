// Proves that decoding, skipping and encoding values call the thread's walk hook once every
// WALK_BEAT_VALUES values visited (a worker beats its heartbeat there), and that without a hook
// nothing is called.
import t from 'tap';
import { WALK_BEAT_VALUES } from '../../src/constants';
import { Reader } from '../../src/protocol/reader';
import { setWalkBeat } from '../../src/protocol/walk-beat';
import { Writer } from '../../src/protocol/writer';

t.test('every walk over values beats once per WALK_BEAT_VALUES values', async (t) => {
  // A list and its elements: exactly 4 × WALK_BEAT_VALUES values.
  const list = Array.from({ length: 4 * WALK_BEAT_VALUES - 1 }, (_, i) => i & 0x7f);
  const w = new Writer();
  let beats = 0;
  setWalkBeat(() => beats++);
  t.teardown(() => setWalkBeat(null));
  w.writeValue(list);
  t.equal(beats, 4, 'encoding');
  const bytes = w.copy();
  new Reader(bytes).skipValue();
  t.equal(beats, 8, 'skipping');
  t.same(new Reader(bytes).readValue(), list);
  t.equal(beats, 12, 'decoding');

  setWalkBeat(null);
  new Reader(bytes).skipValue();
  w.reset();
  w.writeValue(list);
  t.equal(beats, 12, 'no hook: nothing is called');
});
