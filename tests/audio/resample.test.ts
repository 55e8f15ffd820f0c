import { describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { sine, toneAmplitude } from './signals.js';

/** Frequency of a tone from its zero crossings (linear interpolation), away from the edges. */
function zeroCrossingHz(x: Float32Array, sampleRateHz: number): number {
  const crossings: number[] = [];
  for (let i = 200; i < x.length - 200; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) crossings.push(i - 1 + x[i - 1] / (x[i - 1] - x[i]));
  }
  return ((crossings.length - 1) * sampleRateHz) / (crossings[crossings.length - 1] - crossings[0]);
}

describe('resample', () => {
  for (const [from, to] of [
    [44100, 22050],
    [48000, 22050],
    [16000, 22050],
    [22050, 8000],
    [8000, 22050],
  ] as const) {
    it(`keeps a 1 kHz tone at 1 kHz and its level from ${from} to ${to} Hz`, () => {
      const x = sine(1000, from, Math.round(from * 0.1), 0.5);
      const y = resample(x, from, to);
      expect(y.length).toBe(Math.round((x.length * to) / from));
      expect(zeroCrossingHz(y, to)).toBeCloseTo(1000, 1);
      expect(toneAmplitude(y.subarray(100, y.length - 100), 1000, to)).toBeCloseTo(0.5, 2);
    });
  }

  for (const [from, to, toneHz] of [
    [44100, 22050, 15000],
    [48000, 22050, 11500],
    [22050, 8000, 5000],
  ] as const) {
    it(`attenuates a ${toneHz} Hz tone above the new Nyquist by ≥ 60 dB (${from} → ${to} Hz)`, () => {
      const x = sine(toneHz, from, Math.round(from * 0.1), 0.5);
      const y = resample(x, from, to);
      const aliasHz = to - toneHz; // where the tone would fold to
      const inner = y.subarray(200, y.length - 200);
      const residual = Math.max(toneAmplitude(inner, aliasHz, to), Math.sqrt(inner.reduce((s, v) => s + v * v, 0) / inner.length) * Math.SQRT2);
      expect(20 * Math.log10(residual / 0.5)).toBeLessThan(-60);
    });
  }

  it('works for rates whose ratio needs interpolated phases (44101 → 22050 Hz)', () => {
    const x = sine(1000, 44101, 4410, 0.5);
    const y = resample(x, 44101, 22050);
    expect(y.length).toBe(Math.round((4410 * 22050) / 44101));
    expect(zeroCrossingHz(y, 22050)).toBeCloseTo(1000, 1);
  });

  it('returns an equal copy when the rates are equal', () => {
    const x = new Float32Array([0.1, -0.2, 0.3]);
    const y = resample(x, 22050, 22050);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });

  it('handles empty and one-sample inputs', () => {
    expect(resample(new Float32Array(0), 44100, 22050).length).toBe(0);
    expect(resample(new Float32Array([1]), 8000, 22050).length).toBe(3);
  });

  it('does not modify its input', () => {
    const x = sine(440, 48000, 1000);
    const copy = Float32Array.from(x);
    resample(x, 48000, 22050);
    expect(x).toEqual(copy);
  });

  it('rejects non-integer or non-positive rates', () => {
    expect(() => resample(new Float32Array(4), 0, 22050)).toThrow(/fromHz must be an integer/);
    expect(() => resample(new Float32Array(4), 44100, 22050.5)).toThrow(/toHz/);
  });
});
