// Waveform distances of a vocoder's output against the recording: zero for the same signal, known values for a
// scaled copy, larger for a worse copy, and refused when too short.

import { describe, expect, it } from 'vitest';
import { multiResolutionStftDistance, waveformLogSpectralDistance } from '../../src/audio/distances.js';
import { mulberry32 } from '../../src/audio/griffinLim.js';
import { harmonicTone } from './signals.js';

const SR = 22050;
const tone = harmonicTone(140, SR, SR / 2, 30);

describe('waveform distances', () => {
  it('are 0 for the same signal', () => {
    expect(multiResolutionStftDistance(tone, tone)).toBe(0);
    expect(waveformLogSpectralDistance(tone, tone)).toBe(0);
  });

  it('give 20·log10(2) dB and the known convergence for a copy at half the amplitude', () => {
    // White noise, so every bin lies above the magnitude floor at both levels (a tone's empty bins would not).
    const random = mulberry32(3);
    const noise = Float32Array.from({ length: SR / 2 }, () => random() - 0.5);
    const quieter = noise.map((v) => v / 2);
    expect(waveformLogSpectralDistance(noise, quieter)).toBeCloseTo(20 * Math.log10(2), 2);
    // Spectral convergence 0.5 plus mean |ln 2| per resolution.
    expect(multiResolutionStftDistance(noise, quieter)).toBeCloseTo(0.5 + Math.LN2, 2);
  });

  it('grow with added noise', () => {
    const random = mulberry32(5);
    const slightly = tone.map((v) => v + 0.001 * (random() - 0.5));
    const badly = tone.map((v) => v + 0.05 * (random() - 0.5));
    expect(multiResolutionStftDistance(tone, slightly)).toBeLessThan(multiResolutionStftDistance(tone, badly));
    expect(waveformLogSpectralDistance(tone, slightly)).toBeLessThan(waveformLogSpectralDistance(tone, badly));
  });

  it('refuse signals shorter than the largest STFT hop', () => {
    expect(() => multiResolutionStftDistance(tone, new Float32Array(100))).toThrow(/100 common samples, at least 512 needed/);
    expect(() => waveformLogSpectralDistance(new Float32Array(10), tone)).toThrow(/10 common samples/);
  });
});
