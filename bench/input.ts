// The speech the speed benchmarks convert: ≥ 10 s of a corpus voice's test-split utterances (espeak-ng renders them
// when there is no built corpus), as WAV bytes.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resample } from '../src/audio/resample.js';
import { MEL_CONFIG } from '../src/audio/melConfig.js';
import { decodeWav, encodeWav } from '../src/audio/wav.js';
import { readCorpusManifest } from '../src/corpus/dataset.js';
import { loadSentences } from '../src/corpus/sentences.js';
import { assignSplits } from '../src/corpus/split.js';
import { renderSentence } from '../src/corpus/synth.js';
import { corpusVoice } from '../src/corpus/voices.js';
import { timbrePaths } from '../src/io/paths.js';

/** Voice of the input speech (a corpus voice that is no model's target here). */
export const SOURCE_VOICE = 'espeak-m3';
/** Shortest input, seconds: test-split utterances are joined until it is reached. */
const MIN_INPUT_SECONDS = 10;
export interface Input {
  wav: Uint8Array;
  seconds: number;
  description: string;
}

/** Test-split utterances of SOURCE_VOICE from the corpus, joined to ≥ MIN_INPUT_SECONDS; espeak-ng renders them when there is no corpus. */
export async function loadInput(home: string | undefined): Promise<Input> {
  const rate = MEL_CONFIG.sampleRateHz;
  const clips: Float32Array[] = [];
  let seconds = 0;
  let description: string;
  const root = timbrePaths(home).corpus;
  let manifest: ReturnType<typeof readCorpusManifest> | undefined;
  try {
    manifest = readCorpusManifest(root);
  } catch {
    manifest = undefined;
  }
  const utterances = manifest?.utterances.filter((u) => u.voice === SOURCE_VOICE && u.split === 'test') ?? [];
  if (utterances.length > 0) {
    const used: string[] = [];
    for (const u of utterances) {
      if (seconds >= MIN_INPUT_SECONDS) break;
      const decoded = decodeWav(new Uint8Array(await readFile(join(root, ...u.wav.path.split('/')))), { sourceName: u.wav.path });
      clips.push(resample(decoded.samples, decoded.sampleRateHz, rate));
      seconds += clips[clips.length - 1]!.length / rate;
      used.push(u.sentence);
    }
    description = `${used.length} test-split utterances of ${SOURCE_VOICE} from the corpus (${used.join(', ')})`;
  } else {
    const sentences = loadSentences();
    const splits = assignSplits(sentences.map((s) => s.id));
    const used: string[] = [];
    for (const sentence of sentences.filter((s) => splits.get(s.id) === 'test')) {
      if (seconds >= MIN_INPUT_SECONDS) break;
      const speech = await renderSentence(corpusVoice(SOURCE_VOICE), sentence.text);
      clips.push(resample(speech.samples, speech.sampleRateHz, rate));
      seconds += clips[clips.length - 1]!.length / rate;
      used.push(sentence.id);
    }
    description = `${used.length} test-split sentences rendered now with espeak-ng as ${SOURCE_VOICE} (no built corpus at ${root}) (${used.join(', ')})`;
  }
  const joined = new Float32Array(clips.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const clip of clips) {
    joined.set(clip, at);
    at += clip.length;
  }
  return { wav: encodeWav(joined, rate), seconds: joined.length / rate, description };
}

