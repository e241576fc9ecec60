// Shared test helpers for the protocol tests (not a test itself): a seeded random source, a random
// BinValue generator, and a canonical form that compares decoded values by meaning.

import type { BinValue } from '../../src/protocol/ops';
import { prng } from './prng';

export { testSeed } from './prng';

/** Integer-valued draws over the shared mulberry32 generator (same seed, same sequence). */
export class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  /** The generator's 32-bit output: its float is exactly this over 2^32. */
  uint32(): number {
    return this.next() * 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return this.uint32() % n;
  }

  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) out[i] = this.below(256);
    return out;
  }
}

const INTERESTING_INTS: Array<number | bigint> = [
  0,
  1,
  31,
  32,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53) + 1,
  2n ** 53n,
  -(2n ** 53n),
  2n ** 63n - 1n,
  -(2n ** 63n),
];
const STRINGS = ['', 'a', 'bin', 'héllo', '日本語', '😀 emoji', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300)];

/** A random value up to `depthLeft` containers deep. */
export function randomValue(r: Random, depthLeft: number): BinValue {
  switch (r.below(depthLeft > 0 ? 12 : 9)) {
    case 0:
      return null;
    case 1:
      return r.below(2) === 0;
    case 2:
      return INTERESTING_INTS[r.below(INTERESTING_INTS.length)];
    case 3:
      return r.below(2) === 0 ? r.below(1000) - 500 : (r.uint32() - 0x8000_0000) * 4099;
    case 4:
      return (r.uint32() / 7) * (r.below(2) === 0 ? 1 : -1e-9);
    case 5:
      return STRINGS[r.below(STRINGS.length)];
    case 6:
      return String.fromCodePoint(...Array.from({ length: r.below(8) }, () => 0x20 + r.below(0x2000)));
    case 7:
      return r.bytes(r.below(40));
    case 8:
      return r.below(3) === 0 ? 1.5 : -0.25;
    case 9:
      return Array.from({ length: r.below(5) }, () => randomValue(r, depthLeft - 1));
    case 10: {
      const object: { [key: string]: BinValue } = {};
      for (let i = r.below(5); i > 0; i--) object[`k${r.below(20)}`] = randomValue(r, depthLeft - 1);
      return object;
    }
    default: {
      const map = new Map<string | number | bigint, BinValue>();
      for (let i = r.below(5); i > 0; i--) {
        const key = r.below(3) === 0 ? `s${r.below(10)}` : r.below(200) - 100;
        map.set(key, randomValue(r, depthLeft - 1));
      }
      return map;
    }
  }
}

/**
 * A string that is equal for two values exactly when Aerie treats them as the same value: an
 * integer is the same whether it is a number or a bigint, a map the same whether it is a plain
 * object or a Map, key order does not matter, and -0 stays distinct from 0.
 */
export function canon(value: unknown): string {
  if (value === null) return 'nil';
  switch (typeof value) {
    case 'boolean':
      return String(value);
    case 'bigint':
      return `i${value}`;
    case 'number':
      if (Object.is(value, -0)) return 'f-0';
      return Number.isInteger(value) ? `i${BigInt(value)}` : `f${value}`;
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      return `?${typeof value}`;
  }
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return `[${value.map(canon).join(',')}]`;
  const entries = value instanceof Map ? [...value] : Object.entries(value as object);
  return `{${entries
    .map(([k, v]) => `${canon(k)}:${canon(v)}`)
    .sort()
    .join(',')}}`;
}
