// Slaney mel filterbank (as librosa.filters.mel(htk=False, norm='slaney')) and the log-mel features of Timbre.
// Features are ln(max(mel · |STFT|, logFloor)) of magnitudes (not power), framed as in stft.ts.

import { MEL_CONFIG, type MelConfig } from './melConfig.js';
import { InvalidArgumentError } from './errors.js';
import { reflectPad, StftEngine, stftFrameCount } from './stft.js';
import { checkFloat32Array, checkInteger, checkNumber } from './validate.js';

/** Log-mel spectrogram: natural log of mel-filtered STFT magnitudes. */
export interface LogMel {
  frames: number;
  mels: number;
  data: Float32Array; // [frames × mels], row-major
}

const F_SP = 200 / 3; // Hz per mel in the linear part of the Slaney scale
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP; // 15
const LOG_STEP = Math.log(6.4) / 27;

/** Hz → mel on the Slaney scale (linear below 1 kHz, logarithmic above), as librosa.hz_to_mel(htk=False). */
export function hzToMelSlaney(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

/** Mel (Slaney scale) → Hz, the inverse of `hzToMelSlaney`. */
export function melToHzSlaney(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/** Nonzero part of each mel filter: weights[m] applies to bins start[m] .. start[m] + weights[m].length − 1. */
export interface SparseFilterbank {
  mels: number;
  bins: number;
  start: Int32Array; // [mels]
  weights: Float64Array[]; // [mels][nonzero bins]
  /** One past the highest bin any filter touches. */
  maxBin: number;
}

const sparseCache = new Map<string, SparseFilterbank>();

function configKey(c: MelConfig): string {
  return [c.sampleRateHz, c.nFft, c.melBins, c.fMinHz, c.fMaxHz, c.melScale, c.melNorm].join('/');
}

function checkMelConfig(config: MelConfig): void {
  checkInteger('sampleRateHz', config.sampleRateHz, 1);
  checkInteger('melBins', config.melBins, 1);
  checkNumber('fMinHz', config.fMinHz, 0);
  checkNumber('fMaxHz', config.fMaxHz, config.fMinHz, config.sampleRateHz / 2);
  if (config.fMaxHz <= config.fMinHz) {
    throw new InvalidArgumentError(`fMaxHz (${config.fMaxHz}) must be above fMinHz (${config.fMinHz})`);
  }
  if (config.melScale !== 'slaney' || config.melNorm !== 'slaney') {
    throw new InvalidArgumentError(`only the Slaney mel scale and norm are supported, got ${config.melScale}/${config.melNorm}`);
  }
  checkNumber('logFloor', config.logFloor, Number.MIN_VALUE);
}

/** The filterbank in sparse form, computed in float64 and cached per config (shared: do not modify). */
export function sparseMelFilterbank(config: MelConfig = MEL_CONFIG): SparseFilterbank {
  const key = configKey(config);
  const cached = sparseCache.get(key);
  if (cached !== undefined) return cached;
  checkMelConfig(config);
  const mels = config.melBins;
  const bins = config.nFft / 2 + 1;
  if (!Number.isInteger(bins) || bins < 3) throw new InvalidArgumentError(`nFft must be an even number ≥ 4, got ${config.nFft}`);
  const melMin = hzToMelSlaney(config.fMinHz);
  const melMax = hzToMelSlaney(config.fMaxHz);
  const edgesHz = new Float64Array(mels + 2);
  for (let i = 0; i < mels + 2; i++) edgesHz[i] = melToHzSlaney(melMin + ((melMax - melMin) * i) / (mels + 1));
  const start = new Int32Array(mels);
  const weights: Float64Array[] = [];
  let maxBin = 0;
  for (let m = 0; m < mels; m++) {
    const lowHz = edgesHz[m];
    const centreHz = edgesHz[m + 1];
    const highHz = edgesHz[m + 2];
    const enorm = 2 / (highHz - lowHz); // Slaney norm: constant area per filter
    const row: number[] = [];
    let first = -1;
    for (let k = 0; k < bins; k++) {
      const fHz = (k * config.sampleRateHz) / config.nFft;
      const lower = (fHz - lowHz) / (centreHz - lowHz);
      const upper = (highHz - fHz) / (highHz - centreHz);
      const w = Math.max(0, Math.min(lower, upper)) * enorm;
      if (w > 0) {
        if (first < 0) first = k;
        // Zeros inside the support cannot occur for a triangle, so the row stays contiguous.
        row.push(w);
      } else if (first >= 0) break;
    }
    start[m] = Math.max(first, 0);
    weights.push(Float64Array.from(row));
    if (first >= 0) maxBin = Math.max(maxBin, first + row.length);
  }
  const fb: SparseFilterbank = { mels, bins, start, weights, maxBin };
  sparseCache.set(key, fb);
  return fb;
}

/** Dense Slaney mel filterbank; equals librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'). */
export function melFilterbank(config: MelConfig = MEL_CONFIG): Float32Array {
  const fb = sparseMelFilterbank(config);
  const out = new Float32Array(fb.mels * fb.bins); // [mels × bins], row-major
  for (let m = 0; m < fb.mels; m++) {
    const w = fb.weights[m];
    const base = m * fb.bins + fb.start[m];
    for (let i = 0; i < w.length; i++) out[base + i] = w[i];
  }
  return out;
}

/** Log-mel spectrogram of mono samples at config.sampleRateHz; frames = floor(n / hopSamples). */
export function logMelSpectrogram(samples: Float32Array, config: MelConfig = MEL_CONFIG): LogMel {
  checkFloat32Array('samples', samples);
  const fb = sparseMelFilterbank(config);
  const engine = new StftEngine(config);
  const frames = stftFrameCount(samples.length, config);
  const mels = fb.mels;
  const data = new Float32Array(frames * mels); // [frames × mels]
  if (frames === 0) return { frames, mels, data };
  const padded = reflectPad(samples, engine.padLeft, engine.padRight);
  const { nFft, hopSamples, logFloor } = config;
  const w = engine.window;
  const frame = new Float64Array(nFft);
  const mag = new Float64Array(fb.bins);
  const maxBin = fb.maxBin;
  for (let t = 0; t < frames; t++) {
    const offset = t * hopSamples;
    for (let i = 0; i < nFft; i++) frame[i] = padded[offset + i] * w[i];
    engine.fft.forwardMagnitudes(frame, mag, maxBin);
    melRow(fb, mag, data, t * mels, logFloor);
  }
  return { frames, mels, data };
}

/** Log-mel of linear magnitudes [frames × bins] (e.g. from `magnitudes(stft(x))`). */
export function linearToLogMel(linear: Float32Array, frames: number, config: MelConfig = MEL_CONFIG): LogMel {
  const fb = sparseMelFilterbank(config);
  checkInteger('frames', frames, 0);
  checkFloat32Array('linear magnitudes', linear, frames * fb.bins);
  const data = new Float32Array(frames * fb.mels); // [frames × mels]
  const row = new Float64Array(fb.bins);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < fb.maxBin; k++) row[k] = linear[t * fb.bins + k];
    melRow(fb, row, data, t * fb.mels, config.logFloor);
  }
  return { frames, mels: fb.mels, data };
}

function melRow(fb: SparseFilterbank, mag: Float64Array, out: Float32Array, offset: number, logFloor: number): void {
  for (let m = 0; m < fb.mels; m++) {
    const wts = fb.weights[m];
    const s = fb.start[m];
    let acc = 0;
    for (let i = 0; i < wts.length; i++) acc += wts[i] * mag[s + i];
    out[offset + m] = Math.log(acc > logFloor ? acc : logFloor);
  }
}

const pinvCache = new Map<string, Float32Array>();

/** Moore–Penrose pseudo-inverse of the filterbank, Mᵀ(MMᵀ)⁻¹ with a tiny ridge: [bins × mels], row-major. */
export function melPseudoInverse(config: MelConfig = MEL_CONFIG): Float32Array {
  return Float32Array.from(cachedPseudoInverse(config));
}

function cachedPseudoInverse(config: MelConfig): Float32Array {
  const key = configKey(config);
  const cached = pinvCache.get(key);
  if (cached !== undefined) return cached;
  const fb = sparseMelFilterbank(config);
  const { mels, bins } = fb;
  // Gram matrix G = M·Mᵀ [mels × mels]; hand-written Cholesky because it is 80×80 and we have no linear-algebra package.
  const dense = new Float64Array(mels * bins);
  for (let m = 0; m < mels; m++) fb.weights[m].forEach((w, i) => (dense[m * bins + fb.start[m] + i] = w));
  const g = new Float64Array(mels * mels);
  let trace = 0;
  for (let a = 0; a < mels; a++) {
    for (let b = 0; b <= a; b++) {
      let acc = 0;
      for (let k = 0; k < bins; k++) acc += dense[a * bins + k] * dense[b * bins + k];
      g[a * mels + b] = acc;
      g[b * mels + a] = acc;
    }
    trace += g[a * mels + a];
  }
  const ridge = (1e-10 * trace) / mels;
  for (let a = 0; a < mels; a++) g[a * mels + a] += ridge;
  const l = cholesky(g, mels);
  // P = Mᵀ G⁻¹ → each row P[k,:] solves G·p = M[:,k].
  const pinv = new Float32Array(bins * mels); // [bins × mels]
  const rhs = new Float64Array(mels);
  for (let k = 0; k < bins; k++) {
    let any = false;
    for (let m = 0; m < mels; m++) {
      rhs[m] = dense[m * bins + k];
      if (rhs[m] !== 0) any = true;
    }
    if (!any) continue;
    choleskySolve(l, mels, rhs);
    for (let m = 0; m < mels; m++) pinv[k * mels + m] = rhs[m];
  }
  pinvCache.set(key, pinv);
  return pinv;
}

/**
 * Linear magnitudes [frames × bins] whose mel projection best matches exp(logMel): pseudo-inverse, clamped positive,
 * then `iterations` multiplicative non-negative least-squares updates (default 8; 0 = pseudo-inverse only).
 */
export function logMelToLinearMagnitude(logMel: LogMel, config: MelConfig = MEL_CONFIG, options: { iterations?: number } = {}): Float32Array {
  const fb = sparseMelFilterbank(config);
  checkLogMel(logMel, fb.mels);
  const iterations = options.iterations ?? 8; // more barely changes Griffin-Lim output, and each costs ~30 ms per minute
  checkInteger('iterations', iterations, 0, 10000);
  const pinv = cachedBandedPseudoInverse(config, fb);
  const { mels, bins, maxBin } = fb;
  const frames = logMel.frames;
  const out = new Float32Array(frames * bins); // [frames × bins]
  const y = new Float64Array(mels);
  const x = new Float64Array(bins);
  const numer = new Float64Array(bins); // Mᵀy
  const my = new Float64Array(mels); // M·x
  const denom = new Float64Array(bins); // MᵀM·x
  const floor = config.logFloor * 1e-3;
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < mels; m++) y[m] = Math.exp(logMel.data[t * mels + m]);
    // x = P·y as a sum of the banded columns of P (contiguous axpy loops over the significant bins only).
    x.fill(0, 0, maxBin);
    for (let m = 0; m < mels; m++) {
      const ym = y[m];
      const band = pinv.values[m];
      const s = pinv.start[m];
      for (let i = 0; i < band.length; i++) x[s + i] += ym * band[i];
    }
    for (let k = 0; k < maxBin; k++) if (!(x[k] > floor)) x[k] = floor;
    if (iterations > 0) {
      numer.fill(0, 0, maxBin);
      transposeApply(fb, y, numer);
      for (let it = 0; it < iterations; it++) {
        applyFilterbank(fb, x, my);
        denom.fill(0, 0, maxBin);
        transposeApply(fb, my, denom);
        for (let k = 0; k < maxBin; k++) x[k] = denom[k] > 0 ? (x[k] * numer[k]) / denom[k] : 0;
      }
    }
    const base = t * bins;
    for (let k = 0; k < maxBin; k++) out[base + k] = x[k];
  }
  return out;
}

/** Pᵀ as one contiguous band per mel: entries below 1e-7 of the largest are dropped (P decays fast away from the filter). */
interface BandedPseudoInverse {
  start: Int32Array; // [mels], first bin of each band
  values: Float64Array[]; // [mels][band length]
}

const bandedCache = new Map<string, BandedPseudoInverse>();

function cachedBandedPseudoInverse(config: MelConfig, fb: SparseFilterbank): BandedPseudoInverse {
  const key = configKey(config);
  let banded = bandedCache.get(key);
  if (banded === undefined) {
    const pinv = cachedPseudoInverse(config); // [bins × mels]
    let largest = 0;
    for (const v of pinv) largest = Math.max(largest, Math.abs(v));
    const cutoff = 1e-7 * largest;
    const start = new Int32Array(fb.mels);
    const values: Float64Array[] = [];
    for (let m = 0; m < fb.mels; m++) {
      let lo = -1;
      let hi = -1;
      for (let k = 0; k < fb.maxBin; k++) {
        if (Math.abs(pinv[k * fb.mels + m]) > cutoff) {
          if (lo < 0) lo = k;
          hi = k;
        }
      }
      start[m] = Math.max(lo, 0);
      const band = new Float64Array(lo < 0 ? 0 : hi - lo + 1);
      for (let i = 0; i < band.length; i++) band[i] = pinv[(lo + i) * fb.mels + m];
      values.push(band);
    }
    banded = { start, values };
    bandedCache.set(key, banded);
  }
  return banded;
}

function applyFilterbank(fb: SparseFilterbank, x: Float64Array, out: Float64Array): void {
  for (let m = 0; m < fb.mels; m++) {
    const w = fb.weights[m];
    const s = fb.start[m];
    let acc = 0;
    for (let i = 0; i < w.length; i++) acc += w[i] * x[s + i];
    out[m] = acc;
  }
}

function transposeApply(fb: SparseFilterbank, y: Float64Array, out: Float64Array): void {
  for (let m = 0; m < fb.mels; m++) {
    const w = fb.weights[m];
    const s = fb.start[m];
    const v = y[m];
    for (let i = 0; i < w.length; i++) out[s + i] += w[i] * v;
  }
}

/** Throws unless `logMel` is well formed with `mels` bins. */
export function checkLogMel(logMel: LogMel, mels?: number): void {
  if (logMel === null || typeof logMel !== 'object') throw new InvalidArgumentError('logMel must be a LogMel object');
  checkInteger('logMel.frames', logMel.frames, 0);
  checkInteger('logMel.mels', logMel.mels, 1);
  if (mels !== undefined && logMel.mels !== mels) {
    throw new InvalidArgumentError(`logMel has ${logMel.mels} mel bins, expected ${mels}`);
  }
  checkFloat32Array('logMel.data', logMel.data, logMel.frames * logMel.mels);
}

function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (sum <= 0) throw new InvalidArgumentError('mel filterbank is rank-deficient (some filter covers no FFT bin); use fewer mels or a larger nFft');
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j];
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * b[k];
    b[i] = sum / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * b[k];
    b[i] = sum / l[i * n + i];
  }
}
