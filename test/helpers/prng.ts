// The seeded PRNG every randomized test uses (mulberry32), so a printed seed replays its choices.

/** A generator of floats in [0, 1) fixed by `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed a randomized test runs with: AERIE_SEED when set, else a fresh one (print it). */
export function testSeed(): number {
  const given = process.env.AERIE_SEED ?? process.env.SEED;
  return given !== undefined ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}
