// Time alignment of utterances of the same sentence: DTW on mel-cepstra (c1…c24, so loudness and
// spectral tilt differences do not dominate), then warping full log-mels; and average-voice targets.

import { dtwPath, type DtwPath } from '../audio/dtw.js';
import { melCepstrum } from '../audio/distances.js';
import { InvalidArgumentError } from '../audio/errors.js';
import { checkLogMel, type LogMel } from '../audio/mel.js';

/** Options of the alignment functions. */
export interface AlignOptions {
  /** Mel-cepstral coefficients compared (c1…c_order; c0, the energy, is left out); default 24. */
  order?: number;
  /**
   * Sakoe-Chiba band half-width around the diagonal, frames; default max(32, 25 % of the longer
   * utterance), wide enough for the tempo differences of our voices and ~3× faster than no band.
   */
  band?: number;
}

function bandFor(aFrames: number, bFrames: number, options: AlignOptions): number {
  return options.band ?? Math.max(32, Math.ceil(0.25 * Math.max(aFrames, bFrames)));
}

function checkPair(a: LogMel, b: LogMel): void {
  checkLogMel(a);
  checkLogMel(b);
  if (a.mels !== b.mels) throw new InvalidArgumentError(`log-mels differ in bins: ${a.mels} vs ${b.mels}`);
}

/** Mel-cepstrum c1…c_order of a log-mel: [frames × order]. */
function cepstra(mel: LogMel, options: AlignOptions): { data: Float32Array; order: number } {
  const order = Math.min(options.order ?? 24, mel.mels - 1);
  return { data: melCepstrum(mel, order), order };
}

/** DTW path between two log-mels [frames × mels] of the same sentence, computed on their mel-cepstra. */
export function alignMels(a: LogMel, b: LogMel, options: AlignOptions = {}): DtwPath {
  checkPair(a, b);
  const ca = cepstra(a, options);
  const cb = cepstra(b, options);
  return dtwPath(ca.data, a.frames, cb.data, b.frames, ca.order, { band: bandFor(a.frames, b.frames, options) });
}

/**
 * `other` warped onto the timing of `reference` along `path` (the reference's indices in `referenceIndices`):
 * each reference frame gets the mean of the other's frames mapped to it. Returns [referenceFrames × mels].
 */
export function warpAlongPath(other: LogMel, referenceFrames: number, referenceIndices: Int32Array, otherIndices: Int32Array): LogMel {
  const mels = other.mels;
  const data = new Float32Array(referenceFrames * mels); // [referenceFrames × mels]
  const counts = new Int32Array(referenceFrames);
  for (let p = 0; p < referenceIndices.length; p++) {
    const r = referenceIndices[p]!;
    const o = otherIndices[p]!;
    counts[r]!++;
    for (let k = 0; k < mels; k++) data[r * mels + k]! += other.data[o * mels + k]!;
  }
  for (let r = 0; r < referenceFrames; r++) {
    // A DTW path visits every frame of both sequences, so counts[r] ≥ 1.
    const inv = 1 / counts[r]!;
    for (let k = 0; k < mels; k++) data[r * mels + k]! *= inv;
  }
  return { frames: referenceFrames, mels, data };
}

/** `other` [frames' × mels] DTW-aligned (on mel-cepstra) to `reference`'s timing: [reference.frames × mels]. */
export function alignMelToReference(reference: LogMel, other: LogMel, options: AlignOptions = {}): LogMel {
  const path = alignMels(reference, other, options);
  return warpAlongPath(other, reference.frames, path.pathA, path.pathB);
}

/**
 * Average-voice targets of one sentence: for each utterance i, the frame-wise mean over all utterances
 * (i itself included) of their log-mels aligned to i's timing. `mels[i]` is [frames_i × mels]; the result
 * has one [frames_i × mels] log-mel per input. Each pair is aligned once: n(n−1)/2 DTWs.
 */
export function averageVoiceTargets(mels: readonly LogMel[], options: AlignOptions = {}): LogMel[] {
  if (mels.length === 0) throw new InvalidArgumentError('averageVoiceTargets needs at least one log-mel');
  for (const mel of mels) checkPair(mels[0]!, mel);
  const sums = mels.map((mel) => Float64Array.from(mel.data)); // each starts with its own mel
  const ceps = mels.map((mel) => cepstra(mel, options)); // once per utterance, not once per pair
  for (let i = 0; i < mels.length; i++) {
    for (let j = i + 1; j < mels.length; j++) {
      const [a, b] = [mels[i]!, mels[j]!];
      const path = dtwPath(ceps[i]!.data, a.frames, ceps[j]!.data, b.frames, ceps[i]!.order, { band: bandFor(a.frames, b.frames, options) });
      const jOnI = warpAlongPath(mels[j]!, mels[i]!.frames, path.pathA, path.pathB);
      const iOnJ = warpAlongPath(mels[i]!, mels[j]!.frames, path.pathB, path.pathA);
      for (let k = 0; k < jOnI.data.length; k++) sums[i]![k]! += jOnI.data[k]!;
      for (let k = 0; k < iOnJ.data.length; k++) sums[j]![k]! += iOnJ.data[k]!;
    }
  }
  return mels.map((mel, i) => {
    const data = new Float32Array(mel.data.length);
    const sum = sums[i]!;
    for (let k = 0; k < data.length; k++) data[k] = sum[k]! / mels.length;
    return { frames: mel.frames, mels: mel.mels, data };
  });
}
