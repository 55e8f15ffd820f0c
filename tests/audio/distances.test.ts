import { describe, expect, it } from 'vitest';
import { logSpectralDistance, melCepstralDistortion, melCepstrum } from '../../src/audio/distances.js';
import { logMelSpectrogram, type LogMel } from '../../src/audio/mel.js';
import { resample } from '../../src/audio/resample.js';
import { speechLike } from './signals.js';

const SR = 22050;
const speech = speechLike(SR, SR); // 1 s
const logMel = logMelSpectrogram(speech);

/** Time-stretch by resampling the log-mel frames (nearest frame), keeping the spectra. */
function stretch(x: LogMel, factor: number): LogMel {
  const frames = Math.round(x.frames * factor);
  const data = new Float32Array(frames * x.mels);
  for (let t = 0; t < frames; t++) {
    const src = Math.min(x.frames - 1, Math.floor(t / factor));
    data.set(x.data.subarray(src * x.mels, src * x.mels + x.mels), t * x.mels);
  }
  return { frames, mels: x.mels, data };
}

describe('melCepstrum', () => {
  it('is the orthonormal DCT-II without c0: a constant log-mel has all-zero cepstrum', () => {
    const flat: LogMel = { frames: 2, mels: 80, data: new Float32Array(160).fill(-3) };
    const c = melCepstrum(flat, 24);
    expect(c.length).toBe(48);
    for (const v of c) expect(Math.abs(v)).toBeLessThan(1e-5);
  });

  it('keeps the energy of the non-constant part (Parseval: Σ(x − mean)² = 2N·Σc²) with all coefficients', () => {
    const x = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i) + 0.5);
    const c = melCepstrum({ frames: 1, mels: 8, data: x }, 7);
    const mean = x.reduce((s, v) => s + v, 0) / 8;
    const energy = x.reduce((s, v) => s + (v - mean) ** 2, 0);
    expect(2 * 8 * c.reduce((s, v) => s + v * v, 0)).toBeCloseTo(energy, 4);
  });
});

describe('melCepstralDistortion', () => {
  it('is 0 for identical log-mels, aligned or not', () => {
    expect(melCepstralDistortion(logMel, logMel)).toBe(0);
    expect(melCepstralDistortion(logMel, logMel, { align: false })).toBe(0);
  });

  it('matches (10/ln10)·sqrt(2·Σ Δc²) for a one-frame, one-coefficient difference', () => {
    const a: LogMel = { frames: 1, mels: 80, data: new Float32Array(80) };
    const b: LogMel = { frames: 1, mels: 80, data: new Float32Array(80) };
    // ln M = 2·c1·cos(ω(n)) with c1 = 0.1 → Δc1 = 0.1 (cepstrum convention ln M ≈ c0 + 2·Σ c_k·cos(kω))
    for (let n = 0; n < 80; n++) b.data[n] = 2 * 0.1 * Math.cos((Math.PI * (2 * n + 1)) / 160);
    expect(melCepstralDistortion(a, b, { align: false })).toBeCloseTo((10 / Math.LN10) * Math.sqrt(2 * 0.01), 4);
  });

  it('is much lower for a time-stretched copy with DTW alignment than without', () => {
    const stretched = stretch(logMel, 1.3);
    const aligned = melCepstralDistortion(logMel, stretched);
    const unaligned = melCepstralDistortion(logMel, stretched, { align: false });
    expect(aligned).toBeLessThan(unaligned / 4);
  });

  it('grows with a real spectral difference (speech vs the same speech resampled 10 % higher)', () => {
    const shifted = logMelSpectrogram(resample(speech, SR, Math.round(SR / 1.1)).subarray(0, speech.length));
    expect(melCepstralDistortion(logMel, shifted)).toBeGreaterThan(0.5);
  });

  it('rejects log-mels with different mel counts', () => {
    expect(() => melCepstralDistortion(logMel, { frames: 1, mels: 40, data: new Float32Array(40) })).toThrow(/80 vs 40/);
  });
});

describe('logSpectralDistance', () => {
  it('is 0 for identical log-mels and 20·log10(e^δ) for a uniform ln offset δ', () => {
    expect(logSpectralDistance(logMel, logMel)).toBe(0);
    const louder: LogMel = { ...logMel, data: logMel.data.map((v) => v + 0.5) };
    expect(logSpectralDistance(logMel, louder, { align: false })).toBeCloseTo((20 / Math.LN10) * 0.5, 3);
  });

  it('is much lower for a time-stretched copy with DTW alignment than without', () => {
    const stretched = stretch(logMel, 0.8);
    expect(logSpectralDistance(logMel, stretched)).toBeLessThan(logSpectralDistance(logMel, stretched, { align: false }) / 4);
  });
});
