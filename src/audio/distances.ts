// Objective distances: between two log-mel spectrograms, mel-cepstral distortion (MCD) and log-spectral distance, both
// aligned by DTW by default so a conversion is not penalised for small timing differences; between a waveform and a
// reference of the same timing (a vocoder against the recording), multi-resolution STFT and log-spectral distances.

import { checkLogMel, type LogMel } from './mel.js';
import { dtwPath } from './dtw.js';
import { InvalidArgumentError } from './errors.js';
import { magnitudes, stft } from './stft.js';
import { checkFloat32Array, checkInteger } from './validate.js';

/** Options of the distances: `align` (default true) pairs frames by DTW; false pairs frame i with frame i up to the shorter length. */
export interface DistanceOptions {
  align?: boolean;
}

const DB_PER_NEPER = 10 / Math.LN10;
const cosineCache = new Map<string, Float64Array>();

/**
 * Mel-cepstrum: c_k = (1/N)·Σ_n ln M_n·cos(πk(2n+1)/2N) of each natural-log mel frame (N bins), coefficients
 * 1..order (c0, the frame energy, is excluded so loudness does not count). This scaling makes ln M(ω) ≈
 * c0 + 2·Σ c_k·cos(kω), the cepstrum convention behind the usual MCD formula, so MCD values are comparable
 * with published ones (an orthonormal DCT would inflate them by √(2N) ≈ 12.6). Returns [frames × order].
 */
export function melCepstrum(logMel: LogMel, order = 24): Float32Array {
  checkLogMel(logMel);
  const mels = logMel.mels;
  checkInteger('order', order, 1, mels - 1);
  const key = `${mels}/${order}`;
  let basis = cosineCache.get(key); // [order × mels]
  if (basis === undefined) {
    basis = new Float64Array(order * mels);
    const scale = 1 / mels;
    for (let k = 1; k <= order; k++) {
      for (let n = 0; n < mels; n++) basis[(k - 1) * mels + n] = scale * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * mels));
    }
    cosineCache.set(key, basis);
  }
  const frames = logMel.frames;
  const out = new Float32Array(frames * order); // [frames × order]
  for (let t = 0; t < frames; t++) {
    const row = t * mels;
    for (let k = 0; k < order; k++) {
      let acc = 0;
      const b = k * mels;
      for (let n = 0; n < mels; n++) acc += basis[b + n] * logMel.data[row + n];
      out[t * order + k] = acc;
    }
  }
  return out;
}

/**
 * Mel-cepstral distortion, dB: mean over frame pairs of (10/ln 10)·sqrt(2·Σ_{k=1..24} (c_a,k − c_b,k)²) on
 * `melCepstrum(·, 24)`. With align (default), pairs come from DTW on the cepstra.
 */
export function melCepstralDistortion(a: LogMel, b: LogMel, options: DistanceOptions = {}): number {
  checkSameMels(a, b);
  const order = Math.min(24, a.mels - 1);
  const ca = melCepstrum(a, order);
  const cb = melCepstrum(b, order);
  return meanOverPairs(ca, a.frames, cb, b.frames, order, options.align ?? true, (sq) => DB_PER_NEPER * Math.sqrt(2 * sq));
}

/**
 * Log-spectral distance, dB: mean over frame pairs of the RMS over mel bins of 20·log10(A/B), i.e.
 * (20/ln 10)·(ln A − ln B) on the natural-log mels. With align (default), pairs come from DTW on the log-mels.
 */
export function logSpectralDistance(a: LogMel, b: LogMel, options: DistanceOptions = {}): number {
  checkSameMels(a, b);
  const dbPerLnUnit = 20 / Math.LN10;
  return meanOverPairs(a.data, a.frames, b.data, b.frames, a.mels, options.align ?? true, (sq) => dbPerLnUnit * Math.sqrt(sq / a.mels));
}

function checkSameMels(a: LogMel, b: LogMel): void {
  checkLogMel(a);
  checkLogMel(b);
  if (a.mels !== b.mels) throw new InvalidArgumentError(`log-mels differ in mel bins: ${a.mels} vs ${b.mels}`);
  if (a.frames === 0 || b.frames === 0) throw new InvalidArgumentError(`cannot compare an empty log-mel (${a.frames} vs ${b.frames} frames)`);
}

/** Mean of perPair(Σ_k (a_k − b_k)²) over frame pairs, from DTW or index by index. */
function meanOverPairs(
  a: Float32Array,
  aFrames: number,
  b: Float32Array,
  bFrames: number,
  dims: number,
  align: boolean,
  perPair: (squaredDistance: number) => number,
): number {
  let pathA: Int32Array;
  let pathB: Int32Array;
  if (align) ({ pathA, pathB } = dtwPath(a, aFrames, b, bFrames, dims));
  else {
    const n = Math.min(aFrames, bFrames);
    pathA = new Int32Array(n).map((_, i) => i);
    pathB = pathA;
  }
  let total = 0;
  for (let p = 0; p < pathA.length; p++) {
    const ra = pathA[p] * dims;
    const rb = pathB[p] * dims;
    let sq = 0;
    for (let k = 0; k < dims; k++) {
      const d = a[ra + k] - b[rb + k];
      sq += d * d;
    }
    total += perPair(sq);
  }
  return total / pathA.length;
}

/** STFT sizes of `multiResolutionStftDistance` (hop = size / 4, Hann window of the full size). */
export const MULTI_RESOLUTION_STFT_SIZES: readonly number[] = Object.freeze([512, 1024, 2048]);

/** Magnitude floor of the waveform distances, so silence in both signals counts as equal. */
const MAGNITUDE_FLOOR = 1e-5;

/** |STFT| [frames × bins] of the first `length` samples. */
function magnitudeFrames(samples: Float32Array, length: number, nFft: number): { frames: number; bins: number; magnitude: Float32Array } {
  const spectrum = stft(samples.subarray(0, length), { nFft, windowSamples: nFft, hopSamples: nFft / 4 });
  return { frames: spectrum.frames, bins: spectrum.bins, magnitude: magnitudes(spectrum) };
}

function checkWaveforms(reference: Float32Array, estimate: Float32Array, minimum: number): number {
  checkFloat32Array('reference', reference);
  checkFloat32Array('estimate', estimate);
  const length = Math.min(reference.length, estimate.length);
  if (length < minimum) throw new InvalidArgumentError(`waveform distance: ${length} common samples, at least ${minimum} needed`);
  return length;
}

/**
 * Multi-resolution STFT distance of a waveform from a reference of the same timing (a vocoder's output against the
 * recording; samples paired index by index over the common length): per STFT size, spectral convergence
 * ‖|R| − |E|‖_F / ‖|R|‖_F plus the mean |ln|R| − ln|E||, averaged over `MULTI_RESOLUTION_STFT_SIZES`. 0 for equal signals.
 */
export function multiResolutionStftDistance(reference: Float32Array, estimate: Float32Array, sizes: readonly number[] = MULTI_RESOLUTION_STFT_SIZES): number {
  const length = checkWaveforms(reference, estimate, Math.max(...sizes) / 4);
  let total = 0;
  for (const nFft of sizes) {
    const r = magnitudeFrames(reference, length, nFft).magnitude;
    const e = magnitudeFrames(estimate, length, nFft).magnitude;
    let difference = 0;
    let energy = 0;
    let logDistance = 0;
    for (let i = 0; i < r.length; i++) {
      const d = r[i]! - e[i]!;
      difference += d * d;
      energy += r[i]! * r[i]!;
      logDistance += Math.abs(Math.log(Math.max(r[i]!, MAGNITUDE_FLOOR)) - Math.log(Math.max(e[i]!, MAGNITUDE_FLOOR)));
    }
    total += Math.sqrt(difference) / Math.max(Math.sqrt(energy), MAGNITUDE_FLOOR) + logDistance / r.length;
  }
  return total / sizes.length;
}

/**
 * Log-spectral distance of a waveform from a reference of the same timing, dB: mean over STFT frames (1024 samples,
 * hop 256) of the RMS over linear-frequency bins of 20·log10(|R| / |E|), magnitudes floored at 1e-5.
 */
export function waveformLogSpectralDistance(reference: Float32Array, estimate: Float32Array, nFft = 1024): number {
  const length = checkWaveforms(reference, estimate, nFft / 4);
  const r = magnitudeFrames(reference, length, nFft);
  const e = magnitudeFrames(estimate, length, nFft).magnitude;
  const dbPerLnUnit = 20 / Math.LN10;
  let total = 0;
  for (let t = 0; t < r.frames; t++) {
    let sq = 0;
    for (let k = 0; k < r.bins; k++) {
      const i = t * r.bins + k;
      const d = Math.log(Math.max(r.magnitude[i]!, MAGNITUDE_FLOOR)) - Math.log(Math.max(e[i]!, MAGNITUDE_FLOOR));
      sq += d * d;
    }
    total += dbPerLnUnit * Math.sqrt(sq / r.bins);
  }
  return total / r.frames;
}
