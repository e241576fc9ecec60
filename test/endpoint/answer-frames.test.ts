// Proves an answer frame always decodes whole with exactly its announced count: answers that
// cannot be encoded or do not fit are rolled back and answered with their code, and frames are
// split to stay within the client's limit.
import t from 'tap';
import { AnswerFrames } from '../../src/endpoint/answer-frames';
import { Status } from '../../src/errors';
import { Reader } from '../../src/protocol/reader';

const LIMIT = 1024;

function harness(): { frames: AnswerFrames; sent: unknown[][][]; flush(): void } {
  const sent: unknown[][][] = [];
  let frames: AnswerFrames | null = null;
  const send = () => {
    const bytes = Buffer.from(frames!.close());
    if (bytes.length > LIMIT) throw new Error(`frame of ${bytes.length} bytes`);
    const r = new Reader(bytes);
    const count = r.readArrayHeader();
    const answers: unknown[][] = [];
    for (let i = 0; i < count; i++) answers.push(r.readValue() as unknown[]);
    if (!r.atEnd()) throw new Error('trailing bytes');
    sent.push(answers);
  };
  frames = new AnswerFrames(LIMIT, () => {}, send);
  return { frames, sent, flush: () => frames!.isOpen && send() };
}

t.test('an answer that cannot be encoded is rolled back and answered SERVER_ERROR', async (t) => {
  const { frames, sent, flush } = harness();
  frames.writeValue(1, 0, { ok: true });
  frames.writeValue(2, 0, { a: 1, bad: () => 1 });
  frames.writeValue(3, 0, null);
  flush();
  t.same(
    sent.map((f) => f.map((a) => [a[0], a[1]])),
    [
      [
        [1, 0],
        [2, Status.SERVER_ERROR],
        [3, 0],
      ],
    ],
  );
});

t.test('an answer larger than a frame is RECORD_TOO_BIG; others are split across frames', async (t) => {
  const { frames, sent, flush } = harness();
  frames.writeValue(1, 0, 'x'.repeat(2000));
  for (let id = 2; id < 12; id++) frames.writeValue(id, 0, 'y'.repeat(300));
  flush();
  const answers = sent.flat();
  t.same(
    answers.map((a) => a[0]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    'every id answered once, in order',
  );
  t.equal(answers[0][1], Status.RECORD_TOO_BIG);
  t.ok(
    answers.slice(1).every((a) => a[1] === 0),
    'the rest succeed',
  );
  t.ok(sent.length >= 4, `${sent.length} frames of at most ${LIMIT} bytes`);
  t.notOk(frames.room(LIMIT), 'room for a body as large as the frame is refused');
});

t.test('a smaller announced limit sends the open frame first', async (t) => {
  const { frames, sent } = harness();
  frames.writeValue(1, 0, 'z');
  frames.setBytesMax(512);
  t.same(
    sent.map((f) => f.map((a) => a[0])),
    [[1]],
  );
  t.equal(frames.bytesMax, 512);
});
