// Test helper: renders a few sentences with a few corpus voices (no cache), shared by the alignment tests.

import { loadSentences } from '../../src/corpus/sentences.js';
import { processUtterance, type ProcessedUtterance } from '../../src/corpus/process.js';
import { renderSentence } from '../../src/corpus/synth.js';
import { corpusVoice } from '../../src/corpus/voices.js';

/** Three clearly different voices: a female unit-selection voice, a male diphone voice, a female formant voice. */
export const TEST_VOICES = ['flite-slt', 'festival-ked', 'espeak-f2'] as const;

/** Processed utterances [voice][sentence] of the first `sentences` Harvard sentences. */
export async function renderSubset(voices: readonly string[] = TEST_VOICES, sentences = 3): Promise<ProcessedUtterance[][]> {
  const texts = loadSentences().slice(0, sentences);
  return Promise.all(
    voices.map(async (id) => {
      const out: ProcessedUtterance[] = [];
      for (const sentence of texts) {
        const speech = await renderSentence(corpusVoice(id), sentence.text);
        out.push(processUtterance(speech.samples, speech.sampleRateHz));
      }
      return out;
    }),
  );
}
