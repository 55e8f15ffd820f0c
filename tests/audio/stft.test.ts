import { describe, expect, it } from 'vitest';
import { hannWindow, istft, magnitudes, reflectPad, stft, stftFrameCount } from '../../src/audio/stft.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { noise, rmsError, sine, speechLike } from './signals.js';

const SR = 22050;

describe('stft', () => {
  it('has floor(n / hop) frames of nFft/2 + 1 bins', () => {
    for (const n of [0, 255, 256, 257, 1000, 4096]) {
      const spec = stft(new Float32Array(n));
      expect(spec.frames).toBe(Math.floor(n / 256));
      expect(stftFrameCount(n)).toBe(spec.frames);
      expect(spec.bins).toBe(513);
      expect(spec.real.length).toBe(spec.frames * 513);
    }
  });

  it('puts a bin-centred sine in its bin with magnitude A·Σw/2', () => {
    const bin = 40;
    const x = sine((bin * SR) / 1024, SR, 8192, 0.5);
    const spec = stft(x);
    const mags = magnitudes(spec);
    const t = 10;
    let best = 0;
    for (let k = 0; k < 513; k++) if (mags[t * 513 + k] > mags[t * 513 + best]) best = k;
    expect(best).toBe(bin);
    expect(mags[t * 513 + bin]).toBeCloseTo((0.5 * 512) / 2, 1); // Σ periodic Hann(1024) = 512
  });

  it('centres frame t on sample t·hop + hop/2', () => {
    const x = new Float32Array(4096);
    x[5 * 256 + 128] = 1; // an impulse at the centre of frame 5: its DC bin equals the window peak, 1
    const spec = stft(x);
    expect(spec.real[5 * 513]).toBeCloseTo(1, 6);
    expect(Math.abs(spec.real[4 * 513])).toBeLessThan(0.51);
  });

  it('reflect-pads without repeating the edge sample', () => {
    expect(Array.from(reflectPad(new Float32Array([1, 2, 3, 4]), 2, 3))).toEqual([3, 2, 1, 2, 3, 4, 3, 2, 1]);
  });

  it('uses a periodic Hann window', () => {
    const w = hannWindow(8, 8);
    expect(Array.from(w).map((v) => +v.toFixed(6))).toEqual([0, 0.146447, 0.5, 0.853553, 1, 0.853553, 0.5, 0.146447]);
  });

  it('does not modify its input', () => {
    const x = noise(2048);
    const copy = Float32Array.from(x);
    stft(x);
    expect(x).toEqual(copy);
  });
});

describe('istft', () => {
  for (const [name, x] of [
    ['white noise', noise(SR / 2, 7)],
    ['a speech-like signal', speechLike(SR, SR / 2)],
  ] as const) {
    it(`reconstructs ${name} from its STFT to < 1e-4 RMS error over every sample`, () => {
      const y = istft(stft(x), x.length);
      expect(y.length).toBe(x.length);
      expect(rmsError(x, y)).toBeLessThan(1e-4);
    });
  }

  it('reconstructs a length that is not a multiple of the hop, including the tail', () => {
    const x = noise(5000, 3);
    const y = istft(stft(x), x.length);
    expect(rmsError(x, y, 4900, 5000)).toBeLessThan(1e-4);
  });

  it('round-trips with a window shorter than nFft', () => {
    const config = { nFft: 1024, windowSamples: 800, hopSamples: 200 };
    const x = noise(6000, 4);
    expect(rmsError(x, istft(stft(x, config), x.length, config))).toBeLessThan(1e-4);
  });

  it('round-trips an input shorter than the padding (reflection folds back and forth)', () => {
    const x = noise(300, 11);
    const spec = stft(x);
    expect(spec.frames).toBe(1);
    expect(rmsError(x, istft(spec, x.length))).toBeLessThan(1e-4);
  });

  it('rejects a spectrogram whose bins do not match nFft', () => {
    const spec = stft(noise(4096), MEL_CONFIG);
    expect(() => istft(spec, 4096, { nFft: 512, windowSamples: 512, hopSamples: 128 })).toThrow(/513 bins, expected nFft\/2 \+ 1 = 257/);
  });
});
