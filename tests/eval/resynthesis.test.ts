// The resynthesis table on a 3-voice × 6-sentence corpus: a vocoder that gives back the recording itself scores zero
// distances and the recordings' own CER, Griffin-Lim scores worse, and the table names every voice and vocoder.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { griffinLimVocoder, type Vocoder } from '../../src/audio/griffinLim.js';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import type { SpeechRecognizer } from '../../src/eval/asr.js';
import { formatResynthesisTable, runResynthesisEvaluation } from '../../src/eval/resynthesis.js';
import { TEST_VOICES } from '../corpus/render.js';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'timbre-resynthesis-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 6 }); // h01-06 is a test sentence
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('runResynthesisEvaluation', () => {
  it('scores a perfect vocoder at zero and Griffin-Lim above it, per voice', async () => {
    const dataset = openCorpusDataset({ home, split: 'test' });
    // "Vocodes" by returning the recording whose log-mel it was given (looked up by its values).
    const key = (data: Float32Array) => data.join(',');
    const recordings = new Map(dataset.utterances.map((u) => [key(dataset.mel(u.voice, u.sentence).data), dataset.samples(u.voice, u.sentence)]));
    const perfect: Vocoder = async (mel) => recordings.get(key(mel.data))!;
    let heard = 0;
    const recognizer: SpeechRecognizer = { name: 'fixed', transcribe: async () => (heard++, 'a b'), dispose: async () => {} };
    const report = await runResynthesisEvaluation({
      home,
      recognizer,
      vocoders: [
        { name: 'recording', vocode: perfect },
        { name: 'griffin-lim 8', vocode: griffinLimVocoder(8) },
      ],
    });
    expect(report.corpus.sentences).toEqual(['h01-06']);
    expect(report.voices.map((v) => v.voice).sort()).toEqual([...TEST_VOICES].sort());
    expect(heard).toBe(3 * 3); // the recordings and both vocoders, for each voice
    for (const { metrics } of report.voices) {
      const [same, griffinLim] = metrics;
      expect(same!.multiResolutionStft).toBe(0);
      expect(same!.logSpectralDistanceDb).toBe(0);
      expect(same!.voicingError).toBe(0);
      expect(same!.f0ErrorCents).toBe(0);
      expect(same!.cer).toBeCloseTo(report.recordingCer, 10);
      expect(griffinLim!.multiResolutionStft).toBeGreaterThan(0.1);
      expect(griffinLim!.logSpectralDistanceDb).toBeGreaterThan(1);
      expect(griffinLim!.utterances).toBe(1);
    }
    // The same transcript everywhere: Griffin-Lim's CER equals the recording vocoder's, with nothing to resample.
    expect(report.cerDifferences).toEqual([expect.objectContaining({ vocoder: 'griffin-lim 8', baseline: 'recording', difference: 0, low: 0, high: 0 })]);
    expect(report.utterances).toHaveLength(3);
    for (const u of report.utterances) expect(u).toMatchObject({ sentence: 'h01-06', recordingEdits: u.edits[0], edits: [u.edits[0], u.edits[0]] });
    for (const { cerDifferences } of report.voices) expect(cerDifferences).toEqual([expect.objectContaining({ vocoder: 'griffin-lim 8', difference: 0 })]);
    const table = formatResynthesisTable(report);
    expect(table).toContain(`per voice: ${report.voices[0]!.voice} +0.0 (+0.0 … +0.0);`);
    expect(table).toContain('CER griffin-lim 8 − recording: +0.0 points (95 % paired bootstrap interval over utterances +0.0 … +0.0)');
    for (const voice of TEST_VOICES) expect(table).toContain(`| ${voice} | griffin-lim 8 |`);
    expect(table).toContain('| **all** | recording | 0.000 | 0.00 | 0.0 | 0.0 % |');
  });

  it('gives the same figures with the recogniser running several calls at a time, answers arriving out of order', async () => {
    // A transcript that depends on the audio (so vocoders and utterances differ), answered after a delay that does too.
    const transcriptOf = (samples: Float32Array): string => {
      let energy = 0;
      for (const x of samples) energy += x * x;
      const words = ['a', 'bell', 'rang', 'the', 'birch', 'canoe'];
      return words.slice(0, 1 + (Math.floor(energy * 1000) % words.length)).join(' ');
    };
    const recognizer = (): SpeechRecognizer => ({
      name: 'energy',
      transcribe: async (samples) => {
        await new Promise((resolve) => setTimeout(resolve, samples.length % 7));
        return transcriptOf(samples);
      },
      dispose: async () => {},
    });
    const run = (asrJobs: number) =>
      runResynthesisEvaluation({ home, recognizer: recognizer(), asrJobs, vocoders: [{ name: 'griffin-lim 2', vocode: griffinLimVocoder(2) }, { name: 'griffin-lim 4', vocode: griffinLimVocoder(4) }] });
    const [alone, together] = [await run(1), await run(3)];
    expect(together.recordingCer).toBe(alone.recordingCer);
    expect(together.cerDifferences).toEqual(alone.cerDifferences);
    expect(together.utterances).toEqual(alone.utterances);
    expect(new Set(alone.utterances.flatMap((u) => u.edits)).size).toBeGreaterThan(1); // the transcripts do differ
    expect(together.voices.map((v) => v.metrics.map((m) => m.cer))).toEqual(alone.voices.map((v) => v.metrics.map((m) => m.cer)));
    const failing: SpeechRecognizer = { name: 'broken', transcribe: async () => Promise.reject(new Error('recogniser crashed')), dispose: async () => {} };
    await expect(runResynthesisEvaluation({ home, recognizer: failing, asrJobs: 2, vocoders: [{ name: 'griffin-lim 2', vocode: griffinLimVocoder(2) }] })).rejects.toThrow('recogniser crashed');
    await expect(runResynthesisEvaluation({ home, recognizer: failing, asrJobs: 0, vocoders: [] })).rejects.toThrow(/asrJobs must be a whole number/);
  });
});
