// Deterministic choice of source → target voice pairs: rings over the voice list, so the first n pairs use every
// voice once as source and once as target before any voice repeats.

import { EvalSetupError } from './errors.js';

/** Default voices: two recorded-speaker voices (female flite-slt, male festival-ked) and two espeak-ng voices (f2, m3). */
export const DEFAULT_EVAL_VOICES: readonly string[] = Object.freeze(['flite-slt', 'festival-ked', 'espeak-f2', 'espeak-m3']);

/** Default number of pairs: one ring over the default voices (slt→ked, ked→f2, f2→m3, m3→slt). */
export const DEFAULT_EVAL_PAIRS = 4;

/** One conversion direction. */
export interface VoicePair {
  readonly source: string;
  readonly target: string;
}

/** Every ordered pair, ring by ring: offset k = 1 … n−1, voice i → voice (i + k) mod n; the first `count` of them. */
export function selectPairs(voices: readonly string[], count: number): VoicePair[] {
  if (new Set(voices).size !== voices.length) throw new EvalSetupError(`--voices lists a voice twice: ${voices.join(', ')}`);
  if (voices.length < 2) throw new EvalSetupError(`eval needs at least 2 voices, received ${voices.length} (${voices.join(', ')})`);
  const max = voices.length * (voices.length - 1);
  if (!Number.isInteger(count) || count < 1 || count > max) throw new EvalSetupError(`--pairs must be 1–${max} for ${voices.length} voices, received ${count}`);
  const pairs: VoicePair[] = [];
  for (let k = 1; k < voices.length && pairs.length < count; k++) {
    for (let i = 0; i < voices.length && pairs.length < count; i++) pairs.push({ source: voices[i]!, target: voices[(i + k) % voices.length]! });
  }
  return pairs;
}
