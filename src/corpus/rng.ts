// Seeded pseudo-random numbers for everything that samples data (crops, batches, pairs):
// mulberry32, so a seed reproduces a batch sequence exactly. Math.random is never used.

/** A seeded generator: `next()` in [0, 1), `int(n)` in [0, n). */
export interface Rng {
  next(): number;
  int(n: number): number;
  /** The state, to resume a sequence later with `createRng(state)`. */
  state(): number;
}

/** mulberry32 generator from a 32-bit seed (any integer; fractions are truncated). */
export function createRng(seed: number): Rng {
  let s = Math.trunc(seed) >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    state: () => s,
  };
}

/** Fisher–Yates shuffle of a copy of `items` with `rng`. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
