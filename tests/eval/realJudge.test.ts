// The equal-error rate of a verifier: where false accepts and false rejects cross.

import { describe, expect, it } from 'vitest';
import { equalErrorRate } from '../../src/eval/realJudge.js';

describe('equalErrorRate', () => {
  it('is 0 when every genuine score beats every impostor score, 1 when the order is reversed', () => {
    expect(equalErrorRate([0.9, 0.8, 0.7], [0.1, 0.2, 0.3])).toBe(0);
    expect(equalErrorRate([0.1, 0.2], [0.8, 0.9])).toBe(1);
  });

  it('finds the crossing of an overlap: one genuine below one impostor of four each gives 25 %', () => {
    expect(equalErrorRate([0.9, 0.8, 0.7, 0.35], [0.4, 0.3, 0.2, 0.1])).toBeCloseTo(0.25, 10);
  });

  it('treats tied scores as one threshold, and is NaN without trials of both kinds', () => {
    expect(equalErrorRate([0.5, 0.5], [0.5, 0.5])).toBeCloseTo(0.5, 10);
    expect(equalErrorRate([], [0.1])).toBeNaN();
    expect(equalErrorRate([0.1], [])).toBeNaN();
  });
});
