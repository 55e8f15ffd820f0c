import { describe, expect, it } from 'vitest';
import { griffinLim, griffinLimFromLogMel } from '../../src/audio/griffinLim.js';
import { logMelSpectrogram } from '../../src/audio/mel.js';
import { magnitudes, stft } from '../../src/audio/stft.js';
import { harmonicTone } from './signals.js';

const SR = 22050;

/** Spectral convergence ‖|STFT(y)| − target‖ / ‖target‖. */
function spectralConvergence(target: Float32Array, y: Float32Array): number {
  const m = magnitudes(stft(y));
  let num = 0;
  let den = 0;
  for (let i = 0; i < target.length; i++) {
    num += (m[i] - target[i]) ** 2;
    den += target[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('griffinLim', () => {
  const x = harmonicTone(150, SR, 8192);
  const target = magnitudes(stft(x));
  const frames = Math.floor(x.length / 256);

  it('converges far better than random phase on a harmonic tone', () => {
    const random = spectralConvergence(target, griffinLim(target, frames, { iterations: 0 }));
    const fast = spectralConvergence(target, griffinLim(target, frames, { iterations: 32 }));
    expect(random).toBeGreaterThan(0.5);
    expect(fast).toBeLessThan(0.15);
  });

  it('converges faster with momentum than classic Griffin-Lim', () => {
    const classic = spectralConvergence(target, griffinLim(target, frames, { iterations: 16, momentum: 0 }));
    const fast = spectralConvergence(target, griffinLim(target, frames, { iterations: 16 }));
    expect(fast).toBeLessThan(classic);
  });

  it('is deterministic given the seed, and the seed matters', () => {
    const a = griffinLim(target, frames, { iterations: 4, seed: 7 });
    const b = griffinLim(target, frames, { iterations: 4, seed: 7 });
    const c = griffinLim(target, frames, { iterations: 4, seed: 8 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('returns frames·hop samples by default, or the requested length', () => {
    expect(griffinLim(target, frames, { iterations: 1 }).length).toBe(frames * 256);
    expect(griffinLim(target, frames, { iterations: 1, lengthSamples: x.length }).length).toBe(x.length);
    expect(griffinLim(target, frames, { iterations: 1, lengthSamples: 100 }).length).toBe(100);
  });

  it('rejects magnitudes whose size is not frames × bins', () => {
    expect(() => griffinLim(new Float32Array(100), 2)).toThrow(/magnitudes must have 1026 elements, got 100/);
  });
});

describe('griffinLimFromLogMel', () => {
  it('resynthesises a harmonic tone from its log-mel much better than random phase, at frames·hop ± hop samples', () => {
    const x = harmonicTone(150, SR, 8192);
    const logMel = logMelSpectrogram(x);
    const target = magnitudes(stft(x));
    const y = griffinLimFromLogMel(logMel, { iterations: 32 });
    expect(Math.abs(y.length - logMel.frames * 256)).toBeLessThanOrEqual(256);
    const random = spectralConvergence(target, griffinLimFromLogMel(logMel, { iterations: 0 }));
    const fast = spectralConvergence(target, y);
    expect(fast).toBeLessThan(random / 3);
  });
});

describe('griffinLim from given phases', () => {
  it('with no iterations is the inverse STFT of the magnitude and the given phase; a phase array of the wrong size is refused', () => {
    const signal = harmonicTone(180, 22050, 11025, 12);
    const spectrum = stft(signal);
    const magnitude = magnitudes(spectrum);
    const truePhase = Float32Array.from(magnitude, (_, i) => Math.atan2(spectrum.imag[i]!, spectrum.real[i]!));
    const rebuilt = griffinLim(magnitude, spectrum.frames, { iterations: 0, initialPhase: truePhase, lengthSamples: signal.length });
    let worst = 0;
    for (let i = 0; i < signal.length; i++) worst = Math.max(worst, Math.abs(rebuilt[i]! - signal[i]!));
    expect(worst).toBeLessThan(1e-4);
    expect(() => griffinLim(magnitude, spectrum.frames, { initialPhase: new Float32Array(3) })).toThrow(/initialPhase/);
  });
});
