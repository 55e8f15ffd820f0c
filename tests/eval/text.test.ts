// Character error rate and transcript normalisation: known answers on tiny strings.

import { describe, expect, it } from 'vitest';
import { characterErrorRate, characterErrors, levenshtein, normalizeTranscript } from '../../src/eval/text.js';

describe('transcript normalisation', () => {
  it('keeps lowercase letters and single spaces only', () => {
    expect(normalizeTranscript("  The Birch canoe, slid!  Don't   STOP. ")).toBe('the birch canoe slid dont stop');
    expect(normalizeTranscript('café-au-lait 42')).toBe('cafe au lait');
    expect(normalizeTranscript('...')).toBe('');
  });
});

describe('levenshtein', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('abc', '')).toBe(3);
    expect(levenshtein('flaw', 'lawn')).toBe(2);
    expect(levenshtein('same', 'same')).toBe(0);
  });
});

describe('character error rate', () => {
  it('is edits over the normalised reference length', () => {
    expect(characterErrorRate('The cat.', 'the bat')).toBeCloseTo(1 / 7, 12);
    expect(characterErrorRate('The birch canoe slid on the smooth planks.', 'THE BIRCH CANOE SLID ON THE SMOOTH PLANKS')).toBe(0);
    expect(characterErrorRate('abcd', '')).toBe(1);
    expect(characterErrorRate('a', 'abc')).toBe(2); // insertions can push CER above 1
    expect(characterErrors('a b', 'ab')).toEqual({ edits: 1, referenceChars: 3 });
    expect(characterErrorRate('', '')).toBe(0);
  });
});
