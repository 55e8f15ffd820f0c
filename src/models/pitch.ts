// Pitch on the log-mel itself: the harmonic fine structure an ideal voice at F0 leaves in each mel bin (a template the
// VAE decoder is conditioned on), and F0 estimated from a log-mel by matching those templates (no audio needed).

import { sparseMelFilterbank, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG, type MelConfig } from '../audio/melConfig.js';
import { scaleLogMelFrequency } from '../audio/melFrequencyScale.js';
import { InvalidArgumentError } from '../audio/errors.js';

/** Lowest and highest F0 of the template table, Hz, and its resolution in steps per semitone. */
export const TEMPLATE_F0_MIN_HZ = 50;
export const TEMPLATE_F0_MAX_HZ = 500;
const STEPS_PER_SEMITONE = 16;
/** Cepstral coefficients of the envelope removed from log-mels to leave the fine structure. */
export const FINE_STRUCTURE_COEFFICIENTS = 20;
/** Bins compared when estimating F0: harmonics are resolved by the mel filters only up to about 2 kHz. */
const MATCH_BINS = 40;
/** Aperiodic floor of the ideal comb's magnitude spectrum relative to a harmonic peak (−30 dB), as in real voiced speech. */
const NOISE_FLOOR = 0.03;

interface TemplateTable {
  readonly config: MelConfig;
  readonly count: number;
  readonly mels: number;
  /** [count × mels]: fine structure of the comb at f0 = MIN · 2^(i / (12·STEPS)). */
  readonly fine: Float32Array;
  /** [count]: L2 norm of each template over bins [1, MATCH_BINS). */
  readonly norms: Float32Array;
  /** Orthonormal DCT rows [K × mels] for the envelope. */
  readonly dct: Float64Array;
}

let cached: TemplateTable | undefined;

function dctRows(n: number, k: number): Float64Array {
  const basis = new Float64Array(k * n);
  for (let q = 0; q < k; q++) {
    const scale = q === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let i = 0; i < n; i++) basis[q * n + i] = scale * Math.cos((Math.PI * q * (i + 0.5)) / n);
  }
  return basis;
}

/** Writes row − envelope(row) into `out` (cepstral liftering with the first K DCT coefficients). */
function fineStructure(row: Float32Array | Float64Array, offset: number, mels: number, dct: Float64Array, out: Float64Array): void {
  const k = dct.length / mels;
  out.fill(0);
  for (let q = 0; q < k; q++) {
    let c = 0;
    for (let i = 0; i < mels; i++) c += dct[q * mels + i]! * row[offset + i]!;
    for (let i = 0; i < mels; i++) out[i] = out[i]! + dct[q * mels + i]! * c;
  }
  for (let i = 0; i < mels; i++) out[i] = row[offset + i]! - out[i]!;
}

function templates(config: MelConfig): TemplateTable {
  if (cached?.config === config) return cached;
  const fb = sparseMelFilterbank(config);
  const mels = fb.mels;
  const binHz = config.sampleRateHz / config.nFft;
  const count = Math.floor(12 * STEPS_PER_SEMITONE * Math.log2(TEMPLATE_F0_MAX_HZ / TEMPLATE_F0_MIN_HZ)) + 1;
  const dct = dctRows(mels, FINE_STRUCTURE_COEFFICIENTS);
  const fine = new Float32Array(count * mels);
  const norms = new Float32Array(count);
  const spectrum = new Float64Array(fb.bins);
  const logMel = new Float64Array(mels);
  const row = new Float64Array(mels);
  for (let c = 0; c < count; c++) {
    const f0 = TEMPLATE_F0_MIN_HZ * 2 ** (c / (12 * STEPS_PER_SEMITONE));
    spectrum.fill(NOISE_FLOOR);
    // Each harmonic leaves the Hann window's main lobe, cos²(πδ/4) for |δ| < 2 bins, in the magnitude spectrum.
    for (let h = 1; h * f0 < config.fMaxHz; h++) {
      const centre = (h * f0) / binHz;
      for (let k = Math.max(0, Math.ceil(centre - 2)); k <= Math.min(fb.bins - 1, Math.floor(centre + 2)); k++) {
        spectrum[k] = spectrum[k]! + Math.cos((Math.PI * (k - centre)) / 4) ** 2;
      }
    }
    for (let m = 0; m < mels; m++) {
      const w = fb.weights[m]!;
      let acc = 0;
      for (let i = 0; i < w.length; i++) acc += w[i]! * spectrum[fb.start[m]! + i]!;
      logMel[m] = Math.log(acc);
    }
    fineStructure(logMel, 0, mels, dct, row);
    let norm = 0;
    for (let m = 0; m < mels; m++) {
      fine[c * mels + m] = row[m]!;
      if (m >= 1 && m < MATCH_BINS) norm += row[m]! ** 2;
    }
    norms[c] = Math.sqrt(norm);
  }
  cached = { config, count, mels, fine, norms, dct };
  return cached;
}

/** Index of the template nearest to `f0Hz` (clamped to the table). */
function templateIndex(table: TemplateTable, f0Hz: number): number {
  const i = Math.round(12 * STEPS_PER_SEMITONE * Math.log2(f0Hz / TEMPLATE_F0_MIN_HZ));
  return Math.min(table.count - 1, Math.max(0, i));
}

/**
 * Harmonic fine structure per frame: the log-mel of an ideal harmonic comb at each frame's F0 minus its cepstral
 * envelope (peaks where harmonics fall, troughs between), zeros where f0Hz is 0. [frames × mels].
 */
export function harmonicTemplates(f0Hz: Float32Array, config: MelConfig = MEL_CONFIG): Float32Array {
  const table = templates(config);
  const out = new Float32Array(f0Hz.length * table.mels);
  for (let t = 0; t < f0Hz.length; t++) {
    const f = f0Hz[t]!;
    if (!(f > 0)) continue;
    const i = templateIndex(table, f);
    out.set(table.fine.subarray(i * table.mels, (i + 1) * table.mels), t * table.mels);
  }
  return out;
}

/** Options of `estimateF0FromLogMel`. */
export interface MelF0Options {
  /** Search range, Hz; default 60–400 (the corpus's). */
  readonly fMinHz?: number;
  readonly fMaxHz?: number;
  /** A frame is voiced when its best normalised correlation with a template reaches this; default 0.6 (tuned on the corpus against YIN). */
  readonly threshold?: number;
  readonly config?: MelConfig;
}

/**
 * F0 per frame (Hz, 0 = unvoiced) of a log-mel by matching each frame's fine structure (bins below ~2 kHz) with the
 * harmonic templates, then a 5-frame median over voiced neighbours. Works on any log-mel, converted ones included.
 */
export function estimateF0FromLogMel(logMel: LogMel, options: MelF0Options = {}): Float32Array {
  const config = options.config ?? MEL_CONFIG;
  const table = templates(config);
  const { frames, mels } = logMel;
  if (mels !== table.mels) throw new InvalidArgumentError(`log-mel has ${mels} bins, expected ${table.mels}`);
  const fMin = options.fMinHz ?? 60;
  const fMax = options.fMaxHz ?? 400;
  if (!(fMin >= TEMPLATE_F0_MIN_HZ && fMax <= TEMPLATE_F0_MAX_HZ && fMin < fMax)) {
    throw new InvalidArgumentError(`F0 search range must lie in [${TEMPLATE_F0_MIN_HZ}, ${TEMPLATE_F0_MAX_HZ}] Hz, got ${fMin}–${fMax}`);
  }
  const threshold = options.threshold ?? 0.6;
  const lo = templateIndex(table, fMin);
  const hi = templateIndex(table, fMax);
  const floor = Math.log(config.logFloor);
  const raw = new Float32Array(frames);
  const x = new Float64Array(mels);
  for (let t = 0; t < frames; t++) {
    // Silent frames (the loudest low bin within 3 nepers of the floor) are unvoiced without analysis.
    let loudest = floor;
    for (let m = 0; m < MATCH_BINS; m++) loudest = Math.max(loudest, logMel.data[t * mels + m]!);
    if (loudest < floor + 3) continue;
    fineStructure(logMel.data, t * mels, mels, table.dct, x);
    let xNorm = 0;
    for (let m = 1; m < MATCH_BINS; m++) xNorm += x[m]! ** 2;
    xNorm = Math.sqrt(xNorm);
    if (xNorm === 0) continue;
    let best = -Infinity;
    let bestIndex = -1;
    for (let c = lo; c <= hi; c++) {
      const base = c * mels;
      let dot = 0;
      for (let m = 1; m < MATCH_BINS; m++) dot += x[m]! * table.fine[base + m]!;
      const score = dot / (xNorm * table.norms[c]!);
      if (score > best) {
        best = score;
        bestIndex = c;
      }
    }
    if (best >= threshold) raw[t] = TEMPLATE_F0_MIN_HZ * 2 ** (bestIndex / (12 * STEPS_PER_SEMITONE));
  }
  // Median of log-F0 over voiced frames within ±2 removes isolated octave slips; unvoiced frames stay unvoiced.
  const out = new Float32Array(frames);
  const window: number[] = [];
  for (let t = 0; t < frames; t++) {
    if (!(raw[t]! > 0)) continue;
    window.length = 0;
    for (let u = Math.max(0, t - 2); u <= Math.min(frames - 1, t + 2); u++) if (raw[u]! > 0) window.push(raw[u]!);
    window.sort((a, b) => a - b);
    out[t] = window[window.length >> 1]!;
  }
  return out;
}

/** Mean of ln f0 over voiced frames (f0 > 0); NaN when none is voiced. */
export function meanLogF0(f0Hz: Float32Array): number {
  let sum = 0;
  let n = 0;
  for (const f of f0Hz) {
    if (f > 0) {
      sum += Math.log(f);
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

/**
 * Exponent γ of the vocal-tract length normalisation: the source's frequency axis is scaled by
 * (target mean F0 ÷ source mean F0)^γ before a model reads it, so its formants sit where the target voice's would
 * (formant frequencies scale much less than F0 between speakers: a female/male F0 ratio of ≈ 1.8 goes with formants
 * ≈ 1.2 apart). The VAE's encoder does not remove this scale from z by itself: without it, conversions across sexes
 * kept the source's formants. γ 0.3 was chosen with the VAE on the corpus validation split (6 voice pairs unlike the
 * eval's; 0.25–0.4 within 0.05 dB).
 */
export const VOCAL_TRACT_F0_EXPONENT = 0.3;
/** Bounds of the normalisation's frequency ratio (a child's voice to a low male voice stays inside). */
const VOCAL_TRACT_RATIO_RANGE = [0.75, 1.33] as const;

/** Frequency ratio applied to a source with mean ln F0 `sourceLogF0` to convert to a voice of mean ln F0 `targetLogF0`. */
export function vocalTractWarpRatio(sourceLogF0: number, targetLogF0: number): number {
  if (!Number.isFinite(sourceLogF0) || !Number.isFinite(targetLogF0)) return 1;
  const ratio = Math.exp(VOCAL_TRACT_F0_EXPONENT * (targetLogF0 - sourceLogF0));
  return Math.min(VOCAL_TRACT_RATIO_RANGE[1], Math.max(VOCAL_TRACT_RATIO_RANGE[0], ratio));
}

/**
 * The source log-mel as a model should read it: its frequency axis scaled by `vocalTractWarpRatio` (the top bin
 * continued), or the source itself when `enabled` is false or a mean is unknown. `enabled` must be a boolean or undefined.
 */
export function normalizeVocalTract(source: LogMel, sourceLogF0: number, targetLogF0: number, enabled: unknown = true): LogMel {
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new InvalidArgumentError(`vocalTractNormalization must be true or false, got ${String(enabled)}`);
  const ratio = enabled === false ? 1 : vocalTractWarpRatio(sourceLogF0, targetLogF0);
  return ratio === 1 ? source : scaleLogMelFrequency(source, ratio, { beyondTop: 'edge' });
}

/** Mean ln F0 over the voiced frames of `mels` (F0 from `estimateF0FromLogMel`); NaN when none is voiced. */
export function meanLogF0OfMels(mels: readonly LogMel[]): number {
  return meanLogF0OfTracks(mels.map((mel) => estimateF0FromLogMel(mel)));
}

/** Mean ln F0 over the voiced frames of several F0 tracks together; NaN when none is voiced. */
export function meanLogF0OfTracks(tracks: readonly Float32Array[]): number {
  const all = new Float32Array(tracks.reduce((n, t) => n + t.length, 0));
  let at = 0;
  for (const track of tracks) {
    all.set(track, at);
    at += track.length;
  }
  return meanLogF0(all);
}

// ---------------------------------------------------------------------------------------------------------------
// Frame-level pitch features that condition a decoder (the VAE's, DiffVC's score network).

/** How log-F0 is scaled in the pitch features: (ln f0 − ln f0ReferenceHz) / f0ScaleNepers; `mels` bins of template. */
export interface PitchFeatureConfig {
  readonly f0ReferenceHz: number;
  readonly f0ScaleNepers: number;
  readonly mels: number;
}

/**
 * Width of the decoder's pitch input per frame: normalised log-F0 (interpolated through unvoiced frames), voiced flag,
 * and the harmonic fine structure an ideal voice at that F0 leaves in each mel bin (`harmonicTemplates`, 0 if unvoiced).
 */
export function f0FeatureDims(config: Pick<PitchFeatureConfig, 'mels'>): number {
  return 2 + config.mels;
}

/**
 * Decoder pitch features of an F0 track (Hz, 0 = unvoiced) moved by `shiftNepers`, for `frames` frames: per frame
 * [(ln f0 − ln ref) / scale, voiced, harmonic template (mels)]. log-F0 is linearly interpolated through unvoiced frames
 * (held at the ends; `fallbackLogF0` when nothing is voiced); the template is 0 on unvoiced frames. [frames × (2 + mels)].
 */
export function f0Features(
  f0Hz: Float32Array,
  frames: number,
  config: PitchFeatureConfig,
  shiftNepers = 0,
  fallbackLogF0?: number,
): Float32Array {
  const dims = f0FeatureDims(config);
  const out = new Float32Array(frames * dims);
  const lf = new Float64Array(frames).fill(Number.NaN);
  const shifted = new Float32Array(frames);
  for (let t = 0; t < frames; t++) {
    const f = t < f0Hz.length ? f0Hz[t]! : 0;
    if (f > 0) {
      lf[t] = Math.log(f) + shiftNepers;
      shifted[t] = f * Math.exp(shiftNepers);
    }
  }
  let previous = -1;
  for (let t = 0; t <= frames; t++) {
    if (t < frames && Number.isNaN(lf[t]!)) continue;
    // fill the gap (previous, t)
    for (let g = previous + 1; g < t; g++) {
      if (previous < 0 && t >= frames) lf[g] = (fallbackLogF0 ?? Math.log(config.f0ReferenceHz)) + shiftNepers;
      else if (previous < 0) lf[g] = lf[t]!;
      else if (t >= frames) lf[g] = lf[previous]!;
      else lf[g] = lf[previous]! + ((lf[t]! - lf[previous]!) * (g - previous)) / (t - previous);
    }
    previous = t;
  }
  const ref = Math.log(config.f0ReferenceHz);
  const templates = config.mels === MEL_CONFIG.melBins ? harmonicTemplates(shifted) : new Float32Array(frames * config.mels);
  for (let t = 0; t < frames; t++) {
    out[t * dims] = (lf[t]! - ref) / config.f0ScaleNepers;
    out[t * dims + 1] = shifted[t]! > 0 ? 1 : 0;
    out.set(templates.subarray(t * config.mels, (t + 1) * config.mels), t * dims + 2);
  }
  return out;
}

/**
 * Shift of the converted F0, nepers, for a model that renders F0 (`MelConverter.rendersPitch`): the target's mean
 * minus the source's unless `settings.pitch` is 'source', plus `settings.semitones`. A mean that is not finite (an
 * unvoiced source, an unknown target) moves nothing. Bad settings → `InvalidArgumentError` naming them.
 */
export function convertedPitchShiftNepers(sourceLogF0: number, targetLogF0: number, settings: { readonly pitch?: unknown; readonly semitones?: unknown }): number {
  const pitch = settings.pitch ?? 'target';
  if (pitch !== 'target' && pitch !== 'source') throw new InvalidArgumentError(`pitch must be "target" or "source", got ${String(pitch)}`);
  const semitones = settings.semitones ?? 0;
  if (typeof semitones !== 'number' || !Number.isFinite(semitones) || Math.abs(semitones) > 24) {
    throw new InvalidArgumentError(`semitones must be a number in [-24, 24], got ${String(semitones)}`);
  }
  const toTarget = pitch === 'target' && Number.isFinite(sourceLogF0) && Number.isFinite(targetLogF0) ? targetLogF0 - sourceLogF0 : 0;
  return toTarget + (semitones * Math.LN2) / 12;
}
