// Level measurements in dBFS and peak normalisation, for meters, warnings (silence, clipping) and export gain.
// dBFS is relative to a full-scale sample value of 1; silence measures −Infinity.

import { checkFloat32Array, checkNumber } from './validate.js';

/** Sample magnitude from which a sample counts as clipped. */
export const CLIP_LEVEL = 0.999;

/** Peak level, dBFS: 20·log10(max |x|); −Infinity for silence or empty input. */
export function peakDb(samples: Float32Array): number {
  checkFloat32Array('samples', samples);
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]);
    if (a > peak) peak = a;
  }
  return 20 * Math.log10(peak);
}

/** RMS level, dBFS: 20·log10(sqrt(mean x²)) (a full-scale sine measures −3.01); −Infinity for silence or empty input. */
export function rmsDb(samples: Float32Array): number {
  checkFloat32Array('samples', samples);
  if (samples.length === 0) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return 10 * Math.log10(sum / samples.length);
}

/** Fraction (0..1) of samples with |x| ≥ `level` (default CLIP_LEVEL = 0.999); 0 for empty input. */
export function clippedFraction(samples: Float32Array, level = CLIP_LEVEL): number {
  checkFloat32Array('samples', samples);
  checkNumber('level', level, 0);
  if (samples.length === 0) return 0;
  let count = 0;
  for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i]) >= level) count++;
  return count / samples.length;
}

/**
 * True when more than `maxFraction` (default 0.001, i.e. 0.1 %) of samples sit at |x| ≥ `level` (default 0.999).
 * A sine peaking exactly at 0 dBFS spends ~3 % of its samples there and so counts as clipped, which is intended.
 */
export function isClipped(samples: Float32Array, options: { level?: number; maxFraction?: number } = {}): boolean {
  const maxFraction = options.maxFraction ?? 0.001;
  checkNumber('maxFraction', maxFraction, 0, 1);
  return clippedFraction(samples, options.level ?? CLIP_LEVEL) > maxFraction;
}

/** Copy of `samples` scaled so that its peak is `targetDb` dBFS; silence is returned as an unscaled copy. */
export function normalizePeak(samples: Float32Array, targetDb: number): Float32Array {
  checkNumber('targetDb', targetDb, -200, 40);
  const peak = peakDb(samples);
  const out = new Float32Array(samples.length);
  if (!Number.isFinite(peak)) {
    out.set(samples);
    return out;
  }
  const gain = 10 ** ((targetDb - peak) / 20);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * gain;
  return out;
}
