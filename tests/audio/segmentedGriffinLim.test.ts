import { describe, expect, it } from 'vitest';
import { griffinLim } from '../../src/audio/griffinLim.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { phaseFromLogMagnitude } from '../../src/audio/phaseGradient.js';
import { SegmentedGriffinLim } from '../../src/audio/segmentedGriffinLim.js';
import { stft } from '../../src/audio/stft.js';

/** A chirp with noise bursts: harmonics that move and noise, 1.5 s. */
function testSignal(): Float32Array {
  const sr = MEL_CONFIG.sampleRateHz;
  const x = new Float32Array(Math.round(1.5 * sr) + 77);
  let seed = 1;
  for (let i = 0; i < x.length; i++) {
    const t = i / sr;
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = 0.3 * Math.sin(2 * Math.PI * (120 * t + 60 * t * t)) + 0.2 * Math.sin(2 * Math.PI * (240 * t + 120 * t * t)) + (Math.floor(t * 4) % 2 === 1 ? 0.05 * (seed / 2 ** 32 - 0.5) : 0);
  }
  return x;
}

describe('SegmentedGriffinLim', () => {
  const x = testSignal();
  const spec = stft(x, MEL_CONFIG);
  const bins = MEL_CONFIG.nFft / 2 + 1;
  const magnitude = new Float32Array(spec.frames * bins);
  for (let i = 0; i < magnitude.length; i++) magnitude[i] = Math.hypot(spec.real[i]!, spec.imag[i]!);
  const phase = phaseFromLogMagnitude(magnitude.map((m) => Math.log(Math.max(m, 1e-5))), spec.frames, MEL_CONFIG);

  for (const iterations of [1, 2]) {
    it(`equals one pass over the whole signal when fed in pieces and refined in short segments (${iterations} iteration${iterations > 1 ? 's' : ''})`, () => {
      const whole = griffinLim(magnitude, spec.frames, { iterations, initialPhase: phase, lengthSamples: x.length });
      const segmented = new SegmentedGriffinLim({ iterations, segmentFrames: 17 });
      for (let t = 0; t < spec.frames; t += 23) {
        const n = Math.min(23, spec.frames - t);
        segmented.push(magnitude.subarray(t * bins, (t + n) * bins), phase.subarray(t * bins, (t + n) * bins), n);
      }
      const out = segmented.finish(x.length);
      expect(out.length).toBe(x.length);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(out[i]! - whole[i]!));
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('makes PGHI phase more consistent: the re-analysed magnitude moves closer to the target', () => {
    const distance = (samples: Float32Array) => {
      const re = stft(samples, MEL_CONFIG);
      let num = 0;
      let den = 0;
      for (let i = 0; i < magnitude.length; i++) {
        num += (Math.hypot(re.real[i]!, re.imag[i]!) - magnitude[i]!) ** 2;
        den += magnitude[i]! ** 2;
      }
      return Math.sqrt(num / den);
    };
    const pghiOnly = griffinLim(magnitude, spec.frames, { iterations: 0, initialPhase: phase, lengthSamples: x.length });
    const refined = new SegmentedGriffinLim({ iterations: 1 });
    refined.push(magnitude, phase, spec.frames);
    expect(distance(refined.finish(x.length))).toBeLessThan(0.8 * distance(pghiOnly));
  });

  it('refuses bad use with named errors', () => {
    expect(() => new SegmentedGriffinLim({ iterations: 0 })).toThrow(/iterations/);
    const s = new SegmentedGriffinLim({ iterations: 1 });
    expect(() => s.push(new Float32Array(10), new Float32Array(10), 1)).toThrow(/magnitudes and phases/);
    s.finish(0);
    expect(() => s.finish(0)).toThrow(/twice/);
  });
});
