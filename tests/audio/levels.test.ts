import { describe, expect, it } from 'vitest';
import { clippedFraction, isClipped, normalizePeak, peakDb, rmsDb } from '../../src/audio/levels.js';
import { sine } from './signals.js';

describe('levels', () => {
  it('measures a half-scale sine at −6.02 dBFS peak and −9.03 dBFS RMS', () => {
    const x = sine(1000, 22050, 22050, 0.5);
    expect(peakDb(x)).toBeCloseTo(-6.02, 2);
    expect(rmsDb(x)).toBeCloseTo(-9.03, 2);
  });

  it('measures silence and empty input as −Infinity', () => {
    expect(peakDb(new Float32Array(10))).toBe(Number.NEGATIVE_INFINITY);
    expect(rmsDb(new Float32Array(0))).toBe(Number.NEGATIVE_INFINITY);
  });

  it('reports the fraction of samples at full scale and calls > 0.1 % clipped', () => {
    const x = sine(100, 22050, 22050, 0.9);
    expect(clippedFraction(x)).toBe(0);
    expect(isClipped(x)).toBe(false);
    const hard = x.map((v) => Math.max(-0.5, Math.min(0.5, v)) * 2);
    expect(clippedFraction(hard)).toBeGreaterThan(0.3);
    expect(isClipped(hard)).toBe(true);
  });

  it('normalises the peak to the target without touching the input', () => {
    const x = sine(300, 22050, 2205, 0.25);
    const y = normalizePeak(x, -1);
    expect(peakDb(y)).toBeCloseTo(-1, 5);
    expect(peakDb(x)).toBeCloseTo(-12.04, 2);
    expect(normalizePeak(new Float32Array(3), -1)).toEqual(new Float32Array(3));
  });
});
