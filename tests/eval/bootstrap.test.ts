// The paired bootstrap of a CER difference: exact difference, an interval that is zero-width when the two agree on every
// item, that stays off zero for a difference on every item, that spans zero for one item's luck, and repeats.

import { describe, expect, it } from 'vitest';
import { pairedRateDifference } from '../../src/eval/bootstrap.js';

describe('pairedRateDifference', () => {
  const sizes = Array.from({ length: 40 }, (_, i) => 20 + (i % 7));

  it('is zero with a zero-width interval when both have the same errors on every item', () => {
    const errors = sizes.map((s, i) => (i * 3) % s);
    expect(pairedRateDifference(errors, errors, sizes)).toMatchObject({ difference: 0, low: 0, high: 0, level: 0.95, resamples: 2000 });
  });

  it('stays above zero when A makes two more errors on every item', () => {
    const b = sizes.map((s, i) => (i * 5) % 9);
    const a = b.map((e) => e + 2);
    const d = pairedRateDifference(a, b, sizes);
    const total = sizes.reduce((x, y) => x + y, 0);
    expect(d.difference).toBeCloseTo((2 * sizes.length) / total, 12);
    expect(d.low).toBeGreaterThan(0);
    expect(d.high).toBeGreaterThanOrEqual(d.difference);
    expect(d.low).toBeLessThanOrEqual(d.difference);
  });

  it('spans zero when the difference is one item\'s luck, and repeats with the same seed', () => {
    const b = sizes.map(() => 5);
    const a = b.map((e, i) => (i === 7 ? e + 10 : e));
    const d = pairedRateDifference(a, b, sizes);
    expect(d.difference).toBeGreaterThan(0);
    expect(d.low).toBeLessThanOrEqual(0);
    expect(d.high).toBeGreaterThan(d.difference);
    expect(pairedRateDifference(a, b, sizes)).toEqual(d);
  });

  it('refuses errors and sizes of different lengths', () => {
    expect(() => pairedRateDifference([1], [1, 2], [3, 4])).toThrow(/1 and 2 errors for 2 items/);
  });
});
