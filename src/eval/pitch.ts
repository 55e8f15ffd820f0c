// Pitch agreement: of a conversion with its target, the difference of mean log-F0 over voiced frames in semitones (mean
// log2 F0, not mean Hz, so an octave error counts the same at any register); of a resynthesis with its recording, frame by
// frame F0 error in cents and voiced/unvoiced disagreement.

/** Mean of log2(F0) over voiced frames (F0 > 0), or NaN when none is voiced. */
export function meanLog2F0(f0Hz: Float32Array): number {
  let sum = 0;
  let count = 0;
  for (const f of f0Hz) {
    if (f > 0 && Number.isFinite(f)) {
      sum += Math.log2(f);
      count++;
    }
  }
  return count > 0 ? sum / count : Number.NaN;
}

/** |mean log2 F0(converted) − mean log2 F0(target)| × 12, semitones; NaN when either has no voiced frame. */
export function logF0ErrorSemitones(convertedF0Hz: Float32Array, targetF0Hz: Float32Array): number {
  return Math.abs(meanLog2F0(convertedF0Hz) - meanLog2F0(targetF0Hz)) * 12;
}

/** How a waveform's F0 track agrees with a reference track of the same timing (frames paired index by index). */
export interface F0Agreement {
  /** Mean |1200·log2(F0_estimate / F0_reference)| over frames voiced in both, cents; NaN when none is. */
  readonly centsError: number;
  /** Share of frames voiced in exactly one of the two tracks. */
  readonly voicingError: number;
  /** Frames compared (the shorter track's length). */
  readonly frames: number;
}

/** F0 error in cents and voiced/unvoiced disagreement of `estimateF0Hz` against `referenceF0Hz` (0 Hz = unvoiced). */
export function f0Agreement(referenceF0Hz: Float32Array, estimateF0Hz: Float32Array): F0Agreement {
  const frames = Math.min(referenceF0Hz.length, estimateF0Hz.length);
  let cents = 0;
  let bothVoiced = 0;
  let disagree = 0;
  for (let t = 0; t < frames; t++) {
    const r = referenceF0Hz[t]!;
    const e = estimateF0Hz[t]!;
    const rv = r > 0 && Number.isFinite(r);
    const ev = e > 0 && Number.isFinite(e);
    if (rv !== ev) disagree++;
    else if (rv) {
      cents += Math.abs(1200 * Math.log2(e / r));
      bothVoiced++;
    }
  }
  return { centsError: bothVoiced > 0 ? cents / bothVoiced : Number.NaN, voicingError: frames > 0 ? disagree / frames : Number.NaN, frames };
}
