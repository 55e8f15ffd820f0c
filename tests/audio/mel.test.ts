import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  hzToMelSlaney,
  linearToLogMel,
  logMelSpectrogram,
  logMelToLinearMagnitude,
  melFilterbank,
  melPseudoInverse,
  melToHzSlaney,
} from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { magnitudes, stft } from '../../src/audio/stft.js';
import { harmonicTone, noise, speechLike } from './signals.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/mel_filterbank_slaney_80x513.json', import.meta.url), 'utf8'),
) as { mels: number; bins: number; rows: { start: number; weights: number[] }[] };

describe('Slaney mel scale', () => {
  it('is linear below 1 kHz and logarithmic above, as librosa', () => {
    expect(hzToMelSlaney(1000)).toBeCloseTo(15, 12);
    expect(hzToMelSlaney(200)).toBeCloseTo(3, 12);
    expect(hzToMelSlaney(6400)).toBeCloseTo(42, 12); // 15 + 27 mels per factor 6.4
    for (const hz of [0, 150, 999, 1000, 4321, 8000]) expect(melToHzSlaney(hzToMelSlaney(hz))).toBeCloseTo(hz, 8);
  });
});

describe('melFilterbank', () => {
  it('matches the numpy Slaney filterbank fixture to < 1e-5 absolute, zeros included', () => {
    const fb = melFilterbank(MEL_CONFIG);
    expect(fb.length).toBe(80 * 513);
    const expected = new Float64Array(fixture.mels * fixture.bins);
    fixture.rows.forEach((row, m) => row.weights.forEach((w, i) => (expected[m * fixture.bins + row.start + i] = w)));
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(fb[i] - expected[i]));
    expect(worst).toBeLessThan(1e-5);
    // and not trivially: the filters carry weight
    expect(Math.max(...fb)).toBeGreaterThan(0.02);
  });

  it('has Slaney area normalisation: each filter integrates to ~ 2/bandwidth × bandwidth/2 per Hz', () => {
    const fb = melFilterbank();
    const binHz = 22050 / 1024;
    for (const m of [20, 50, 79]) {
      let area = 0;
      for (let k = 0; k < 513; k++) area += fb[m * 513 + k] * binHz;
      expect(area).toBeCloseTo(1, 1);
    }
  });
});

describe('logMelSpectrogram', () => {
  it('gives [floor(n / hop) × 80] natural-log magnitudes equal to the dense filterbank applied to |STFT|', () => {
    const x = speechLike(22050, 6000);
    const logMel = logMelSpectrogram(x);
    expect(logMel.frames).toBe(Math.floor(6000 / 256));
    expect(logMel.mels).toBe(80);
    const mags = magnitudes(stft(x));
    const fb = melFilterbank();
    for (const t of [0, 7, logMel.frames - 1]) {
      for (const m of [0, 33, 79]) {
        let acc = 0;
        for (let k = 0; k < 513; k++) acc += fb[m * 513 + k] * mags[t * 513 + k];
        expect(logMel.data[t * 80 + m]).toBeCloseTo(Math.log(Math.max(acc, 1e-5)), 4);
      }
    }
  });

  it('clamps silence at ln(1e-5)', () => {
    const logMel = logMelSpectrogram(new Float32Array(2048));
    expect(new Set(logMel.data)).toEqual(new Set([Math.fround(Math.log(1e-5))]));
  });

  it('agrees with linearToLogMel of the STFT magnitudes', () => {
    const x = noise(4096, 9);
    const direct = logMelSpectrogram(x);
    const viaLinear = linearToLogMel(magnitudes(stft(x)), direct.frames);
    for (let i = 0; i < direct.data.length; i++) expect(viaLinear.data[i]).toBeCloseTo(direct.data[i], 4);
  });
});

describe('mel inversion', () => {
  it('melPseudoInverse is a right inverse of the filterbank: M·P ≈ I', () => {
    const fb = melFilterbank();
    const p = melPseudoInverse(); // [513 × 80]
    let worst = 0;
    for (const a of [0, 1, 40, 79]) {
      for (let b = 0; b < 80; b++) {
        let acc = 0;
        for (let k = 0; k < 513; k++) acc += fb[a * 513 + k] * p[k * 80 + b];
        worst = Math.max(worst, Math.abs(acc - (a === b ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });

  for (const [name, x, tolerance] of [
    ['a speech-like signal', speechLike(22050, 8192), 0.01],
    ['a sparse harmonic tone', harmonicTone(150, 22050, 8192), 0.2],
  ] as const) {
    it(`logMelToLinearMagnitude of ${name} is non-negative [frames × bins] and maps back to nearly the same log-mel`, () => {
      const logMel = logMelSpectrogram(x);
      const linear = logMelToLinearMagnitude(logMel);
      expect(linear.length).toBe(logMel.frames * 513);
      expect(linear.every((v) => v >= 0)).toBe(true);
      const again = linearToLogMel(linear, logMel.frames);
      let err = 0;
      let count = 0;
      for (let i = 0; i < logMel.data.length; i++) {
        if (logMel.data[i] > Math.log(1e-3)) {
          err += Math.abs(again.data[i] - logMel.data[i]);
          count++;
        }
      }
      expect(err / count).toBeLessThan(tolerance); // mean |Δ ln| over mel bins above −60 dB
    });
  }

  it('rejects a log-mel with the wrong number of mels', () => {
    expect(() => logMelToLinearMagnitude({ frames: 2, mels: 40, data: new Float32Array(80) })).toThrow(/40 mel bins, expected 80/);
  });
});
