// The corpus text: the 720 public-domain Harvard sentences (72 lists × 10), read from
// assets/corpus/harvard-sentences.txt, each with a stable id `hLL-SS` (list, sentence, 1-based).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

/** One sentence of the corpus; `id` is stable across releases (`h01-01` … `h72-10`). */
export interface CorpusSentence {
  readonly id: string;
  /** Harvard list number, 1–72. */
  readonly list: number;
  /** Position within the list, 1–10. */
  readonly index: number;
  readonly text: string;
}

const SENTENCES_PER_LIST = 10;

/** Candidate locations: next to the sources (tsx, tests) and next to the compiled output (dist/). */
const CANDIDATES = ['../../assets/corpus/harvard-sentences.txt', '../../../assets/corpus/harvard-sentences.txt'];

let cached: readonly CorpusSentence[] | undefined;

/** Parses the sentence file format: one sentence a line, `#` comments and blank lines ignored. */
export function parseSentences(text: string): CorpusSentence[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return lines.map((line, i) => {
    const list = Math.floor(i / SENTENCES_PER_LIST) + 1;
    const index = (i % SENTENCES_PER_LIST) + 1;
    return { id: `h${String(list).padStart(2, '0')}-${String(index).padStart(2, '0')}`, list, index, text: line };
  });
}

/** All corpus sentences in list order (720), read once from assets/corpus. */
export function loadSentences(): readonly CorpusSentence[] {
  if (cached !== undefined) return cached;
  for (const candidate of CANDIDATES) {
    let text: string;
    try {
      text = readFileSync(fileURLToPath(new URL(candidate, import.meta.url)), 'utf8');
    } catch {
      continue;
    }
    cached = Object.freeze(parseSentences(text));
    return cached;
  }
  throw new Error(`corpus sentence list not found (looked for ${CANDIDATES.join(', ')} next to ${import.meta.url})`);
}

/** sha256 (hex) of the sentence ids and texts: changes when the text list changes. */
export function sentenceListHash(sentences: readonly CorpusSentence[]): string {
  const hash = createHash('sha256');
  for (const sentence of sentences) hash.update(`${sentence.id}\t${sentence.text}\n`);
  return hash.digest('hex');
}
