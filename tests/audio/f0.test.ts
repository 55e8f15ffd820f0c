import { describe, expect, it } from 'vitest';
import { estimateF0, f0Summary, type F0Track } from '../../src/audio/f0.js';
import { glideFrequency, harmonicGlide, harmonicTone, noise, sine } from './signals.js';

const SR = 22050;

/** Voiced frames away from the edges, and the worst relative error against `truth(centreSample)`. */
function check(track: F0Track, truth: (centre: number) => number): { voiced: number; worst: number; frames: number } {
  let voiced = 0;
  let worst = 0;
  const frames = track.f0Hz.length;
  for (let t = 2; t < frames - 2; t++) {
    if (!track.voiced[t]) continue;
    voiced++;
    const expected = truth(t * track.hopSamples + track.hopSamples / 2);
    worst = Math.max(worst, Math.abs(track.f0Hz[t] - expected) / expected);
  }
  return { voiced: voiced / (frames - 4), worst, frames };
}

describe('estimateF0', () => {
  for (const hz of [70, 110, 220, 400]) {
    it(`finds a ${hz} Hz sine within 1 %`, () => {
      const r = check(estimateF0(sine(hz, SR, 8192), SR), () => hz);
      expect(r.voiced).toBe(1);
      expect(r.worst).toBeLessThan(0.01);
    });
  }

  for (const hz of [75, 130, 260, 390]) {
    it(`finds the fundamental of a harmonic-rich ${hz} Hz tone within 1 % (no octave errors)`, () => {
      const r = check(estimateF0(harmonicTone(hz, SR, 8192, 12), SR), () => hz);
      expect(r.voiced).toBe(1);
      expect(r.worst).toBeLessThan(0.01);
    });
  }

  it('follows a linear glide from 70 to 400 Hz within 1 %', () => {
    const n = SR * 2;
    const r = check(estimateF0(harmonicGlide(70, 400, SR, n), SR), (c) => glideFrequency(70, 400, n, c));
    expect(r.voiced).toBeGreaterThan(0.97);
    expect(r.worst).toBeLessThan(0.01);
  });

  it('marks white noise and silence unvoiced, with f0 0', () => {
    for (const x of [noise(8192, 5), new Float32Array(8192)]) {
      const track = estimateF0(x, SR);
      expect(track.voiced.every((v) => v === 0)).toBe(true);
      expect(track.f0Hz.every((v) => v === 0)).toBe(true);
    }
  });

  it('has floor(n / hop) frames, like the log-mel', () => {
    for (const n of [0, 255, 256, 1000, 5000]) expect(estimateF0(new Float32Array(n), SR).f0Hz.length).toBe(Math.floor(n / 256));
    expect(estimateF0(new Float32Array(1000), 16000, { hopSamples: 160 }).f0Hz.length).toBe(6);
  });

  it('respects fMinHz / fMaxHz', () => {
    const track = estimateF0(sine(100, SR, 8192), SR, { fMinHz: 150, fMaxHz: 500 });
    expect(track.f0Hz.filter((v) => v > 0 && Math.abs(v - 100) < 5)).toHaveLength(0);
  });

  it('rejects fMaxHz ≤ fMinHz', () => {
    expect(() => estimateF0(new Float32Array(1024), SR, { fMinHz: 300, fMaxHz: 200 })).toThrow(/fMaxHz \(200\) must be above fMinHz \(300\)/);
  });
});

describe('f0Summary', () => {
  it('gives the median and 5th/95th percentiles of voiced frames and the voiced fraction', () => {
    const f0Hz = Float32Array.from({ length: 100 }, (_, i) => (i < 20 ? 0 : 100 + i));
    const voiced = Uint8Array.from(f0Hz, (v) => (v > 0 ? 1 : 0));
    const s = f0Summary({ f0Hz, voiced, hopSamples: 256, sampleRateHz: SR });
    expect(s.voicedFraction).toBeCloseTo(0.8, 10);
    expect(s.medianHz).toBeCloseTo(159.5, 5);
    expect(s.minHz).toBeCloseTo(123.95, 5);
    expect(s.maxHz).toBeCloseTo(195.05, 5);
  });

  it('returns NaN statistics when nothing is voiced', () => {
    const s = f0Summary(estimateF0(new Float32Array(4096), SR));
    expect(s).toEqual({ medianHz: Number.NaN, minHz: Number.NaN, maxHz: Number.NaN, voicedFraction: 0 });
  });
});
