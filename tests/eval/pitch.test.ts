// Log-F0 error: |mean log2 F0 of converted − of target| × 12 over voiced frames, known answers.

import { describe, expect, it } from 'vitest';
import { f0Agreement, logF0ErrorSemitones, meanLog2F0 } from '../../src/eval/pitch.js';

describe('log-F0 error', () => {
  it('is 12 semitones for an octave and ignores unvoiced (0 Hz) frames', () => {
    expect(logF0ErrorSemitones(Float32Array.of(0, 100, 100, 0), Float32Array.of(200, 0, 200))).toBeCloseTo(12, 10);
    expect(logF0ErrorSemitones(Float32Array.of(200), Float32Array.of(100))).toBeCloseTo(12, 10);
  });

  it('averages log F0, not Hz: 100 and 400 Hz average to 200 Hz', () => {
    expect(meanLog2F0(Float32Array.of(100, 400))).toBeCloseTo(Math.log2(200), 10);
    expect(logF0ErrorSemitones(Float32Array.of(100, 400), Float32Array.of(200, 200, 0))).toBeCloseTo(0, 10);
    expect(logF0ErrorSemitones(Float32Array.of(110), Float32Array.of(100))).toBeCloseTo(12 * Math.log2(1.1), 10);
  });

  it('is NaN when either side has no voiced frame', () => {
    expect(logF0ErrorSemitones(Float32Array.of(0, 0), Float32Array.of(100))).toBeNaN();
    expect(logF0ErrorSemitones(Float32Array.of(100), new Float32Array(0))).toBeNaN();
  });
});

describe('F0 agreement of a resynthesis', () => {
  it('counts cents over frames voiced in both and the share of frames whose voicing differs', () => {
    const reference = Float32Array.of(100, 100, 0, 200, 0);
    const estimate = Float32Array.of(200, 100, 0, 0, 150, 99);
    const a = f0Agreement(reference, estimate);
    expect(a.frames).toBe(5);
    expect(a.centsError).toBeCloseTo(600, 10); // (1200 + 0) / 2
    expect(a.voicingError).toBeCloseTo(2 / 5, 10);
  });

  it('is NaN in cents when no frame is voiced in both', () => {
    expect(f0Agreement(Float32Array.of(0, 100), Float32Array.of(100, 0)).centsError).toBeNaN();
  });
});
