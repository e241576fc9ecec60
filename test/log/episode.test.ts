// Proves a log episode: a repeated condition logs one line when it begins, one with its count
// every period while it lasts, and one with its count and length when it ends — never a line per
// occurrence — and that a log's listener sees each event with its fields, even at level silent.
import t from 'tap';
import { createLog, LogEpisode, type LoggedEvent } from '../../src/log';

const SILENT = { level: 'silent' as const, file: null, fd: 1, format: 'json' as const };

t.test('one line per episode boundary, the count on the lines that end or report it', async (t) => {
  const seen: LoggedEvent[] = [];
  const episode = new LogEpisode(
    createLog(SILENT, 'worker 0', (e) => seen.push(e)),
    'stop-writes',
    1000,
  );
  episode.note(5);
  t.equal(seen.length, 0, 'nothing is counted or logged outside an episode');
  episode.begin(0, 'warn', 'refusing', { namespace: 'test' });
  for (let i = 0; i < 10_000; i++) {
    episode.begin(i / 20, 'warn', 'refusing', { namespace: 'test' });
    episode.note();
    episode.tick(i / 20, 'warn', 'still refusing', { namespace: 'test' });
  }
  episode.tick(1000, 'warn', 'still refusing', { namespace: 'test' });
  t.same(
    seen.map((e) => [e.event, e.fields.phase, e.fields.count ?? null]),
    [
      ['stop-writes', 'begin', null],
      ['stop-writes', 'ongoing', 10_000],
    ],
    '10 000 occurrences over 1000 ms: the beginning and one periodic line with the count',
  );
  episode.end(1500, 'info', 'over', { namespace: 'test' });
  episode.end(1600, 'info', 'over', { namespace: 'test' });
  t.same(
    seen.slice(2).map((e) => [e.level, e.fields.phase, e.fields.count, e.fields.durationMs, e.fields.namespace]),
    [['info', 'end', 10_000, 1500, 'test']],
    'one end line with the count and the length',
  );
  t.notOk(episode.active);
  episode.begin(2000, 'warn', 'refusing', {});
  episode.note();
  episode.end(2100, 'info', 'over', {});
  t.equal(seen[seen.length - 1].fields.count, 1, 'a new episode counts afresh');
});
