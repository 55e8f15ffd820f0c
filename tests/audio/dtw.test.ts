import { describe, expect, it } from 'vitest';
import { alignToReference, dtwPath } from '../../src/audio/dtw.js';
import { mulberry32 } from '../../src/audio/griffinLim.js';

/** [frames × dims] random features. */
function features(frames: number, dims: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: frames * dims }, () => random());
}

/** b[i] = a[map(i)] for a time warp `map`. */
function warp(a: Float32Array, dims: number, frames: number, map: (i: number) => number): Float32Array {
  const out = new Float32Array(frames * dims);
  for (let i = 0; i < frames; i++) out.set(a.subarray(map(i) * dims, map(i) * dims + dims), i * dims);
  return out;
}

describe('dtwPath', () => {
  it('aligns a sequence with itself along the diagonal at zero cost', () => {
    const a = features(20, 3, 1);
    const { pathA, pathB, cost } = dtwPath(a, 20, a, 20, 3);
    expect(Array.from(pathA)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Array.from(pathB)).toEqual(Array.from(pathA));
    expect(cost).toBe(0);
  });

  it('recovers a known time warp (every frame doubled) at zero cost', () => {
    const a = features(15, 4, 2);
    const b = warp(a, 4, 30, (i) => Math.floor(i / 2));
    const { pathA, pathB, cost } = dtwPath(a, 15, b, 30, 4);
    expect(cost).toBeCloseTo(0, 6);
    for (let p = 0; p < pathA.length; p++) expect(pathA[p]).toBe(Math.floor(pathB[p] / 2));
  });

  it('returns a monotone, continuous path from corner to corner with the Euclidean cost', () => {
    const a = features(17, 2, 3);
    const b = features(11, 2, 4);
    const { pathA, pathB, cost } = dtwPath(a, 17, b, 11, 2);
    expect([pathA[0], pathB[0]]).toEqual([0, 0]);
    expect([pathA[pathA.length - 1], pathB[pathB.length - 1]]).toEqual([16, 10]);
    let sum = 0;
    for (let p = 0; p < pathA.length; p++) {
      if (p > 0) {
        const da = pathA[p] - pathA[p - 1];
        const db = pathB[p] - pathB[p - 1];
        expect(da === 0 && db === 0).toBe(false);
        expect(da >= 0 && da <= 1 && db >= 0 && db <= 1).toBe(true);
      }
      sum += Math.hypot(a[pathA[p] * 2] - b[pathB[p] * 2], a[pathA[p] * 2 + 1] - b[pathB[p] * 2 + 1]);
    }
    expect(cost).toBeCloseTo(sum, 4);
  });

  it('keeps the path inside a Sakoe-Chiba band', () => {
    const a = features(40, 2, 5);
    const b = features(40, 2, 6);
    const { pathA, pathB } = dtwPath(a, 40, b, 40, 2, { band: 3 });
    for (let p = 0; p < pathA.length; p++) expect(Math.abs(pathA[p] - pathB[p])).toBeLessThanOrEqual(3);
  });

  it('aligns 1000 × 1000 frames of 24 dims well under a second', () => {
    const a = features(1000, 24, 7);
    const b = features(1000, 24, 8);
    const started = performance.now();
    dtwPath(a, 1000, b, 1000, 24);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects features whose length is not frames × dims', () => {
    expect(() => dtwPath(new Float32Array(5), 2, new Float32Array(6), 2, 3)).toThrow(/a must have 6 elements, got 5/);
  });
});

describe('alignToReference', () => {
  it('warps the other sequence onto the reference timing, averaging frames mapped to one reference frame', () => {
    const ref = Float32Array.from([0, 1, 2, 3]); // [4 × 1]
    const other = Float32Array.from([0, 0.9, 1.1, 2, 2, 3]); // slower: frame 1 of ref spans two frames
    const aligned = alignToReference(ref, 4, other, 6, 1);
    expect(aligned.length).toBe(4);
    expect(aligned[0]).toBeCloseTo(0, 6);
    expect(aligned[1]).toBeCloseTo(1, 6);
    expect(aligned[2]).toBeCloseTo(2, 6);
    expect(aligned[3]).toBeCloseTo(3, 6);
  });
});
