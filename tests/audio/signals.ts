// Deterministic synthetic test signals: tones, harmonic tones, glides, noise, and a speech-like vowel sequence.
// Shared by the audio tests; every generator takes its length in samples and its rate in Hz.

import { mulberry32 } from '../../src/audio/griffinLim.js';

/** Sine of `frequencyHz` with amplitude `amplitude`. */
export function sine(frequencyHz: number, sampleRateHz: number, lengthSamples: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: lengthSamples }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRateHz));
}

/** Sum of `harmonics` harmonics of f0 with 1/k amplitudes, peak around `amplitude`. */
export function harmonicTone(f0Hz: number, sampleRateHz: number, lengthSamples: number, harmonics = 10, amplitude = 0.3): Float32Array {
  const out = new Float32Array(lengthSamples);
  for (let k = 1; k <= harmonics && k * f0Hz < sampleRateHz / 2; k++) {
    for (let i = 0; i < lengthSamples; i++) out[i] += (amplitude / k) * Math.sin((2 * Math.PI * k * f0Hz * i) / sampleRateHz + k);
  }
  return out;
}

/** Instantaneous frequency of a linear glide from f0 to f1 over `lengthSamples`, at sample i. */
export function glideFrequency(f0Hz: number, f1Hz: number, lengthSamples: number, i: number): number {
  return f0Hz + ((f1Hz - f0Hz) * i) / lengthSamples;
}

/** Harmonic tone (3 harmonics) whose F0 glides linearly from f0 to f1. */
export function harmonicGlide(f0Hz: number, f1Hz: number, sampleRateHz: number, lengthSamples: number): Float32Array {
  const out = new Float32Array(lengthSamples);
  let phase = 0;
  for (let i = 0; i < lengthSamples; i++) {
    out[i] = 0.3 * Math.sin(phase) + 0.15 * Math.sin(2 * phase) + 0.1 * Math.sin(3 * phase);
    phase += (2 * Math.PI * glideFrequency(f0Hz, f1Hz, lengthSamples, i + 0.5)) / sampleRateHz;
  }
  return out;
}

/** Uniform white noise in [−amplitude, amplitude]. */
export function noise(lengthSamples: number, seed = 1, amplitude = 0.3): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: lengthSamples }, () => amplitude * (2 * random() - 1));
}

/** Speech-like signal: a vibrato pulse train through two formant resonators that move, plus a little noise. */
export function speechLike(sampleRateHz: number, lengthSamples: number, seed = 3): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(lengthSamples);
  let phase = 0;
  const state = [0, 0, 0, 0];
  for (let i = 0; i < lengthSamples; i++) {
    const t = i / sampleRateHz;
    const f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.7 * t) + 5 * Math.sin(2 * Math.PI * 5 * t);
    phase += f0 / sampleRateHz;
    let excitation = 0;
    if (phase >= 1) {
      phase -= 1;
      excitation = 1;
    }
    excitation += 0.02 * (2 * random() - 1);
    const formants = [500 + 300 * Math.sin(2 * Math.PI * 1.3 * t), 1500 + 700 * Math.sin(2 * Math.PI * 0.9 * t)];
    let y = 0;
    for (let f = 0; f < 2; f++) {
      const r = 0.97;
      const w = (2 * Math.PI * formants[f]) / sampleRateHz;
      const v = excitation + 2 * r * Math.cos(w) * state[2 * f] - r * r * state[2 * f + 1];
      state[2 * f + 1] = state[2 * f];
      state[2 * f] = v;
      y += v;
    }
    out[i] = 0.02 * y;
  }
  return out;
}

/** Root-mean-square of a − b over [from, to). */
export function rmsError(a: Float32Array, b: Float32Array, from = 0, to = Math.min(a.length, b.length)): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum / (to - from));
}

/** Amplitude of the component of x at `frequencyHz` (single-bin DFT, Hann window). */
export function toneAmplitude(x: Float32Array, frequencyHz: number, sampleRateHz: number): number {
  let re = 0;
  let im = 0;
  let wsum = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    const a = (2 * Math.PI * frequencyHz * i) / sampleRateHz;
    re += w * x[i] * Math.cos(a);
    im -= w * x[i] * Math.sin(a);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}
