// Intelligibility scoring: transcript normalisation and character error rate (Levenshtein over characters).
// Pure functions over strings, so the numbers are checkable by hand.

/** Lowercase letters and single spaces only: apostrophes vanish ("don't" → "dont"), other symbols become spaces. */
export function normalizeTranscript(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/['’]/g, '')
    .replace(/[^a-z]+/g, ' ')
    .trim();
}

/** Levenshtein distance (unit-cost insertions, deletions, substitutions) between two strings, by UTF-16 unit. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

/** Edits and reference length of one hypothesis after normalising both; CER = edits / referenceChars. */
export interface CharacterErrors {
  readonly edits: number;
  readonly referenceChars: number;
}

/** Character edits of `hypothesis` against `reference`, both normalised with `normalizeTranscript`. */
export function characterErrors(reference: string, hypothesis: string): CharacterErrors {
  const ref = normalizeTranscript(reference);
  const hyp = normalizeTranscript(hypothesis);
  return { edits: levenshtein(ref, hyp), referenceChars: ref.length };
}

/** Character error rate of one utterance: Levenshtein(normalised ref, normalised hyp) ÷ normalised reference length. */
export function characterErrorRate(reference: string, hypothesis: string): number {
  const { edits, referenceChars } = characterErrors(reference, hypothesis);
  return referenceChars === 0 ? (edits === 0 ? 0 : Number.POSITIVE_INFINITY) : edits / referenceChars;
}
