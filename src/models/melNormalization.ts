// Per-mel-bin normalisation of log-mels, (x − mean) / std with the corpus train split's statistics: what every model
// family applies to its input and undoes on its output, and how a model file stores it.

import type { JsonValue } from '../nn/modelFile.js';

/** Per-mel-bin statistics, applied as (x − mean) / std. */
export interface MelNormalization {
  readonly mean: Float32Array; // [mels]
  readonly std: Float32Array; // [mels]
}

/** Identity normalisation (tests and synthetic data). */
export function identityNormalization(mels = 80): MelNormalization {
  return { mean: new Float32Array(mels), std: new Float32Array(mels).fill(1) };
}

/** The header form of a normalisation: `{ mean: number[], std: number[] }`. */
export function normalizationToJson(normalization: MelNormalization): JsonValue {
  return { mean: [...normalization.mean], std: [...normalization.std] };
}

/** A header's normalisation, or null unless it holds `mels` finite means and positive stds. */
export function normalizationFromJson(json: JsonValue | undefined, mels: number): MelNormalization | null {
  const value = json as { mean?: unknown; std?: unknown } | null | undefined;
  const numbers = (a: unknown): a is number[] => Array.isArray(a) && a.length === mels && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!numbers(value?.mean) || !numbers(value?.std) || value.std.some((s) => !(s > 0))) return null;
  return { mean: Float32Array.from(value.mean), std: Float32Array.from(value.std) };
}

/** Undoes the normalisation of `frames` × mels values (a network's output), clamped below at `floor` (the log floor). */
export function denormalizeLogMel(data: Float32Array, frames: number, normalization: MelNormalization, floor: number): Float32Array {
  const mels = normalization.mean.length;
  const out = new Float32Array(frames * mels);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < mels; m++) out[t * mels + m] = Math.max(floor, data[t * mels + m]! * normalization.std[m]! + normalization.mean[m]!);
  }
  return out;
}
