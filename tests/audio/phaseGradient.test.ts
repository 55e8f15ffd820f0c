// Phase-gradient heap integration: from the true STFT magnitude of harmonic and gliding tones it rebuilds a waveform
// whose spectrum and F0 match the original, far closer than random phase; fed in blocks it gives the whole-signal
// result exactly; bad input is refused by name.

import { describe, expect, it } from 'vitest';
import { multiResolutionStftDistance } from '../../src/audio/distances.js';
import { estimateF0 } from '../../src/audio/f0.js';
import { mulberry32 } from '../../src/audio/griffinLim.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { PhaseGradientReconstruction, phaseFromLogMagnitude } from '../../src/audio/phaseGradient.js';
import { istft, magnitudes, stft } from '../../src/audio/stft.js';
import { f0Agreement } from '../../src/eval/pitch.js';
import { harmonicGlide, harmonicTone } from './signals.js';

const SR = MEL_CONFIG.sampleRateHz;

function logMagnitudeOf(samples: Float32Array): { log: Float32Array; magnitude: Float32Array; frames: number; bins: number } {
  const spectrum = stft(samples);
  const magnitude = magnitudes(spectrum);
  return { log: magnitude.map((v) => Math.log(Math.max(v, 1e-7))), magnitude, frames: spectrum.frames, bins: spectrum.bins };
}

function rebuild(magnitude: Float32Array, phase: Float32Array, frames: number, bins: number, length: number): Float32Array {
  const real = new Float32Array(magnitude.length);
  const imag = new Float32Array(magnitude.length);
  for (let i = 0; i < magnitude.length; i++) {
    real[i] = magnitude[i]! * Math.cos(phase[i]!);
    imag[i] = magnitude[i]! * Math.sin(phase[i]!);
  }
  return istft({ frames, bins, real, imag }, length);
}

describe('phaseFromLogMagnitude', () => {
  for (const [name, signal] of [
    ['a 150 Hz harmonic tone', harmonicTone(150, SR, SR, 20)],
    ['a tone gliding 110 → 220 Hz', harmonicGlide(110, 220, SR, SR)],
  ] as const) {
    it(`rebuilds ${name} with its spectrum and F0`, () => {
      const { log, magnitude, frames, bins } = logMagnitudeOf(signal);
      const rebuilt = rebuild(magnitude, phaseFromLogMagnitude(log, frames, MEL_CONFIG), frames, bins, signal.length);
      const random = mulberry32(1);
      const noisy = rebuild(magnitude, Float32Array.from(magnitude, () => 2 * Math.PI * random()), frames, bins, signal.length);
      const distance = multiResolutionStftDistance(signal, rebuilt);
      expect(distance).toBeLessThan(0.5);
      expect(distance).toBeLessThan(0.5 * multiResolutionStftDistance(signal, noisy));
      const range = { fMinHz: 60, fMaxHz: 400 };
      const pitch = f0Agreement(estimateF0(signal, SR, range).f0Hz, estimateF0(rebuilt, SR, range).f0Hz);
      expect(pitch.centsError).toBeLessThan(10);
      expect(pitch.voicingError).toBeLessThan(0.05);
    });
  }

  it('gives the same phases fed in blocks (with one frame of lookahead) as over the whole signal', () => {
    const { log, frames, bins } = logMagnitudeOf(harmonicGlide(120, 180, SR, SR / 2));
    const whole = phaseFromLogMagnitude(log, frames, MEL_CONFIG, { seed: 4 });
    const streaming = new PhaseGradientReconstruction(MEL_CONFIG, { seed: 4 });
    const parts: Float32Array[] = [];
    for (let start = 0; start < frames; start += 7) {
      const count = Math.min(7, frames - start);
      const next = start + count < frames ? log.subarray((start + count) * bins, (start + count + 1) * bins) : null;
      parts.push(streaming.phases(log.subarray(start * bins, (start + count) * bins), count, next));
    }
    const joined = new Float32Array(frames * bins);
    let offset = 0;
    for (const p of parts) {
      joined.set(p, offset);
      offset += p.length;
    }
    expect(joined).toEqual(whole);
  });

  it('refuses too few log-magnitudes, a short lookahead and a non-negative tolerance', () => {
    const r = new PhaseGradientReconstruction(MEL_CONFIG);
    expect(() => r.phases(new Float32Array(10), 1, null)).toThrow(/1 frames need 513 log-magnitudes/);
    expect(() => r.phases(new Float32Array(513), 1, new Float32Array(3))).toThrow(/lookahead holds 3 values/);
    expect(() => new PhaseGradientReconstruction(MEL_CONFIG, { toleranceNepers: 0 })).toThrow(/toleranceNepers must be a negative number/);
  });
});
