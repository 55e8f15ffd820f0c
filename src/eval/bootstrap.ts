// Paired bootstrap of a difference between two pooled error rates measured on the same items (CER of two vocoders on
// the same utterances): how far the measured difference could move by the luck of which items were drawn.

import { mulberry32 } from '../audio/griffinLim.js';

/** A measured difference with its percentile interval. */
export interface RateDifference {
  /** Σ errorsA / Σ size − Σ errorsB / Σ size over every item. */
  readonly difference: number;
  /** Bounds of the central `level` interval of the bootstrap distribution. */
  readonly low: number;
  readonly high: number;
  readonly level: number;
  readonly resamples: number;
}

/**
 * The pooled rate of A minus that of B (errors of each item over its size, summed over items, as CER pools edits over
 * characters), with a percentile interval from resampling items with replacement. Seeded: the same inputs give the
 * same interval.
 */
export function pairedRateDifference(
  errorsA: ArrayLike<number>,
  errorsB: ArrayLike<number>,
  sizes: ArrayLike<number>,
  options: { resamples?: number; level?: number; seed?: number } = {},
): RateDifference {
  const n = sizes.length;
  if (errorsA.length !== n || errorsB.length !== n) throw new RangeError(`pairedRateDifference: ${errorsA.length} and ${errorsB.length} errors for ${n} items`);
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const rate = (pick: (i: number) => number): number => {
    let a = 0;
    let b = 0;
    let size = 0;
    for (let j = 0; j < n; j++) {
      const i = pick(j);
      a += errorsA[i]!;
      b += errorsB[i]!;
      size += sizes[i]!;
    }
    return size > 0 ? (a - b) / size : Number.NaN;
  };
  const difference = rate((j) => j);
  if (n === 0) return { difference, low: Number.NaN, high: Number.NaN, level, resamples: 0 };
  const random = mulberry32(options.seed ?? 1);
  const draws = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) draws[r] = rate(() => Math.floor(random() * n));
  draws.sort();
  const at = (q: number): number => draws[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { difference, low: at((1 - level) / 2), high: at((1 + level) / 2), level, resamples };
}
