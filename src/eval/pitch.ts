// Pitch agreement of a conversion with its target: the difference of mean log-F0 over voiced frames, in semitones.
// Mean log2 F0 (not mean Hz) so an octave error counts the same at any register.

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
