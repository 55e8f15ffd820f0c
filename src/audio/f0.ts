// Fundamental frequency (F0) by YIN (de Cheveigné & Kawahara 2002), one estimate per mel frame.
// Frame t is centred on sample t·hop + hop/2, like stft.ts, so frames = floor(n / hop) and F0 lines up with the log-mel.

import { RealFft } from './realFft.js';
import { checkFloat32Array, checkInteger, checkNumber } from './validate.js';
import { InvalidArgumentError } from './errors.js';

/** F0 per frame; f0Hz is 0 where `voiced` is 0. */
export interface F0Track {
  f0Hz: Float32Array; // [frames]
  voiced: Uint8Array; // [frames], 1 = voiced
  hopSamples: number;
  sampleRateHz: number;
}

/** Options of `estimateF0`. */
export interface F0Options {
  /** Lowest F0 searched, Hz; default 60. */
  fMinHz?: number;
  /** Highest F0 searched, Hz; default 500. */
  fMaxHz?: number;
  /** Hop between frames, samples; default 256 (the mel hop). */
  hopSamples?: number;
  /** YIN threshold on the cumulative mean normalised difference: the first dip below it is taken, and a frame is voiced when its dip is below it; default 0.15. */
  threshold?: number;
}

/** Frames whose RMS is below this (−80 dBFS) are unvoiced without analysis. */
const SILENCE_RMS = 1e-4;

/** YIN F0 of mono samples at `sampleRateHz`: frames = floor(n / hop), parabolic interpolation of the dip. */
export function estimateF0(samples: Float32Array, sampleRateHz: number, options: F0Options = {}): F0Track {
  checkFloat32Array('samples', samples);
  checkInteger('sampleRateHz', sampleRateHz, 1000, 1_000_000);
  const fMinHz = options.fMinHz ?? 60;
  const fMaxHz = options.fMaxHz ?? 500;
  const hopSamples = options.hopSamples ?? 256;
  const threshold = options.threshold ?? 0.15;
  checkNumber('fMinHz', fMinHz, 1);
  checkNumber('fMaxHz', fMaxHz, 1, sampleRateHz / 4);
  if (fMaxHz <= fMinHz) throw new InvalidArgumentError(`fMaxHz (${fMaxHz}) must be above fMinHz (${fMinHz})`);
  checkInteger('hopSamples', hopSamples, 1);
  checkNumber('threshold', threshold, 0, 1);

  const lagMin = Math.max(2, Math.floor(sampleRateHz / fMaxHz));
  const lagMax = Math.ceil(sampleRateHz / fMinHz);
  const lagLimit = lagMax + 1; // one past lagMax for the parabola
  let size = 4;
  while (size < 2 * lagLimit + 2) size *= 2;
  const width = size - lagLimit; // integration window W ≥ lagMax
  const frames = Math.floor(samples.length / hopSamples);
  const f0Hz = new Float32Array(frames);
  const voiced = new Uint8Array(frames);
  if (frames === 0) return { f0Hz, voiced, hopSamples, sampleRateHz };

  // Zero-pad a frame each side; the analysis frame of t starts near c − size/2 in padded coordinates, with c = t·hop + hop/2 + size.
  const padded = new Float64Array(samples.length + 2 * size + hopSamples);
  padded.set(samples, size);
  const energy = new Float64Array(padded.length + 1); // energy[i] = Σ_{j<i} padded[j]²
  for (let i = 0; i < padded.length; i++) energy[i + 1] = energy[i] + padded[i] * padded[i];

  const fft = new RealFft(size);
  const bins = fft.bins;
  const head = new Float64Array(size); // first W samples, zero-padded
  const aRe = new Float64Array(bins);
  const aIm = new Float64Array(bins);
  const bRe = new Float64Array(bins);
  const bIm = new Float64Array(bins);
  const corr = new Float64Array(size);
  const cmnd = new Float64Array(lagLimit + 1); // cumulative mean normalised difference d'(τ)
  const silenceEnergy = SILENCE_RMS * SILENCE_RMS * size;

  /** YIN on padded[start .. start + size): the interpolated lag of the first dip below threshold, or −1. */
  const analyse = (start: number): number => {
    const frame = padded.subarray(start, start + size);
    for (let i = 0; i < width; i++) head[i] = frame[i];
    fft.forward(head, aRe, aIm);
    fft.forward(frame, bRe, bIm);
    // r(τ) = Σ_{j<W} x_j x_{j+τ} = IDFT(conj(A)·B); no circular wrap since W + lagLimit = size.
    for (let k = 0; k < bins; k++) {
      const re = aRe[k] * bRe[k] + aIm[k] * bIm[k];
      const im = aRe[k] * bIm[k] - aIm[k] * bRe[k];
      bRe[k] = re;
      bIm[k] = im;
    }
    fft.inverse(bRe, bIm, 0, corr);
    const e0 = energy[start + width] - energy[start];
    cmnd[0] = 1;
    let running = 0;
    for (let lag = 1; lag <= lagLimit; lag++) {
      const eLag = energy[start + lag + width] - energy[start + lag];
      const d = Math.max(0, e0 + eLag - 2 * corr[lag]);
      running += d;
      cmnd[lag] = running > 0 ? (d * lag) / running : 1;
    }
    for (let lag = lagMin; lag <= lagMax; lag++) {
      if (cmnd[lag] < threshold) {
        while (lag + 1 <= lagMax && cmnd[lag + 1] < cmnd[lag]) lag++;
        const a = cmnd[lag - 1];
        const b = cmnd[lag];
        const c = cmnd[lag + 1];
        const denom = a - 2 * b + c;
        return lag + (denom > 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / denom)) : 0);
      }
    }
    return -1;
  };

  for (let t = 0; t < frames; t++) {
    const centre = size + t * hopSamples + Math.floor(hopSamples / 2);
    const start = centre - size / 2;
    if (energy[start + size] - energy[start] < silenceEnergy) continue;
    let lag = analyse(start);
    if (lag < 0) continue;
    // d(τ) compares x_j with x_{j+τ} for j in [start, start + W): its time centre is start + (W + τ)/2, which lies
    // before the frame centre for short lags. Re-centre on the lag found and analyse again, else a glide lags behind.
    const recentred = analyse(centre - Math.round((width - 1 + lag) / 2));
    if (recentred > 0) lag = recentred;
    f0Hz[t] = sampleRateHz / lag;
    voiced[t] = 1;
  }
  return { f0Hz, voiced, hopSamples, sampleRateHz };
}

/** Summary of voiced frames: median, 5th (minHz) and 95th (maxHz) percentiles; all NaN when no frame is voiced. */
export function f0Summary(track: F0Track): { medianHz: number; minHz: number; maxHz: number; voicedFraction: number } {
  const values: number[] = [];
  for (let i = 0; i < track.voiced.length; i++) if (track.voiced[i]) values.push(track.f0Hz[i]);
  const voicedFraction = track.voiced.length > 0 ? values.length / track.voiced.length : 0;
  if (values.length === 0) return { medianHz: Number.NaN, minHz: Number.NaN, maxHz: Number.NaN, voicedFraction };
  values.sort((x, y) => x - y);
  return {
    medianHz: percentile(values, 50),
    minHz: percentile(values, 5),
    maxHz: percentile(values, 95),
    voicedFraction,
  };
}

/** Percentile of sorted values with linear interpolation (numpy's default). */
function percentile(sorted: number[], p: number): number {
  const pos = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
