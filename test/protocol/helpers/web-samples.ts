// The values web-bytes.test.ts encodes both with Node's Buffer and without it: every branch of
// src/bytes.ts the Writer, Reader and digest take (short and long, ASCII and not, surrogate pairs,
// floats, 64-bit integers, bins).
import type { BinValue } from '../../../src/protocol/ops';

export function samples(): BinValue[] {
  return [
    'a',
    'hello',
    'héllo wörld, ünïcode',
    '日本語のテキスト'.repeat(20),
    '😀 emoji pair 😀',
    'x'.repeat(70_000),
    '😀é日'.repeat(600),
    1.5,
    -0.25,
    1e300,
    Number.MIN_VALUE,
    2 ** 40,
    -(2 ** 40),
    2n ** 62n,
    -(2n ** 63n),
    2n ** 63n - 1n,
    Uint8Array.from([0, 1, 2, 250]),
    { bin: 'ß', n: [1, 2.5, 'ç'] },
    new Map<string | number, BinValue>([
      [1, 'one'],
      [2 ** 40, 'big'],
    ]),
  ];
}

export function digestInputs(): Array<[string | null, string | number | bigint | Uint8Array]> {
  return [
    ['demo', 'key'],
    ['demo', 1],
    ['demo', -7],
    ['demo', 2n ** 62n],
    ['sét', 'ключ'],
    [null, Uint8Array.from([9, 8, 7])],
  ];
}
