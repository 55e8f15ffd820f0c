// The evaluation harness on a 3-voice × 6-sentence corpus (one test sentence): baselines behave as references,
// a registered model is loaded, run for every pair with the given settings and disposed, and the table and JSON carry
// every metric, both speaker judges included.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import type { SpeechRecognizer } from '../../src/eval/asr.js';
import { buildCepstralJudge } from '../../src/eval/cepstralJudge.js';
import { corpusMismatchLines, formatEvaluationTable, runEvaluation } from '../../src/eval/evaluate.js';
import { registerEvalModel, resolveEvalSystems } from '../../src/eval/registry.js';
import type { ConversionSettings, MelConverter } from '../../src/models/converter.js';
import { SpeakerJudge, createSpeakerEncoder, DEFAULT_SPEAKER_ENCODER_CONFIG } from '../../src/models/speakerEncoder/model.js';
import { TEST_VOICES } from '../corpus/render.js';
import { useWasm } from '../nn/helpers.js';

let home: string;
beforeAll(async () => {
  await useWasm();
  home = await mkdtemp(join(tmpdir(), 'timbre-eval-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 6 }); // h01-06 is a test sentence
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A recogniser that "hears" a fixed text, so CER is known. */
const fixedRecognizer = (text: string): SpeechRecognizer & { calls: number } => {
  const r = { name: 'fixed', calls: 0, transcribe: async () => (r.calls++, text), dispose: async () => {} };
  return r;
};

describe('runEvaluation', () => {
  it('scores the baselines and a registered model on the test split', async () => {
    const dataset = openCorpusDataset({ home, split: 'test' });
    expect(dataset.sentenceIds()).toEqual(['h01-06']);
    const encoder = createSpeakerEncoder({ ...DEFAULT_SPEAKER_ENCODER_CONFIG, channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8 }, { seed: 3 });
    // A judge whose centroids are each voice's embedding of the test sentence: the vocoded target must come out right.
    const judge = SpeakerJudge.fromEmbeddings(new Map(TEST_VOICES.map((v) => [v, [encoder.embed(dataset.mel(v, 'h01-06'))]])));
    let disposed = 0;
    const converted: string[] = [];
    const settingsSeen: (ConversionSettings | undefined)[] = [];
    const off = registerEvalModel('pass-through', {
      label: 'pass-through (returns the source mel)',
      load: async (context): Promise<MelConverter> => {
        expect(context.targetVoices).toEqual(['festival-ked', 'espeak-f2', 'flite-slt']);
        return {
          family: 'vae',
          label: 'pass-through',
          targetVoices: ['*'],
          convert: async (source, target, options) => {
            settingsSeen.push(options?.settings);
            expect(target.speakerEmbedding).toHaveLength(8);
            expect(target.referenceMels!.length).toBeGreaterThan(0);
            converted.push(target.voiceId);
            return source;
          },
          dispose: () => void disposed++,
        };
      },
    });
    const recognizer = fixedRecognizer('The juice of lemons makes find punch');
    try {
      const settings: ConversionSettings = { steps: 3, solver: 'euler' };
      const report = await runEvaluation({ systems: resolveEvalSystems(['pass-through']), encoder, judge, recognizer, home, voices: [...TEST_VOICES], pairs: 3, settings });
      expect(disposed).toBe(1);
      expect(converted).toEqual(['festival-ked', 'espeak-f2', 'flite-slt']);
      // The settings reach every conversion, with the default seed 0 filled in.
      expect(settingsSeen).toEqual([0, 1, 2].map(() => ({ seed: 0, steps: 3, solver: 'euler' })));
      expect(report.settings).toEqual({ seed: 0, steps: 3, solver: 'euler' });
      // The cepstral judge is fitted on the train split of every corpus voice.
      const train = openCorpusDataset({ home, split: 'train' });
      expect(report.cepstralJudge.voices).toEqual(train.voices.map((v) => v.id));
      expect(report.cepstralJudge.trainUtterances).toBe(train.utterances.length);
      expect(report.pairs.map((p) => `${p.source}>${p.target}`)).toEqual(['flite-slt>festival-ked', 'festival-ked>espeak-f2', 'espeak-f2>flite-slt']);
      expect(report.systems.map((s) => s.name)).toEqual(['pass-through', 'identity', 'vocoded-target']);
      const [model, identity, vocoded] = report.systems.map((s) => s.metrics);
      for (const m of [model!, identity!, vocoded!]) {
        expect(m.utterances).toBe(3);
        expect(m.cer).toBeCloseTo(1 / 36, 10); // "fine" → "find": one edit in 36 characters
      }
      // Identity: transcribed once per source voice (cached), vocoded target once per target, the model every time.
      expect(recognizer.calls).toBe(9);
      expect(vocoded!.mcdDb).toBeLessThan(identity!.mcdDb / 3);
      expect(vocoded!.judgeAccuracy).toBe(1);
      expect(identity!.judgeAccuracy).toBe(0);
      // The second judge agrees: the vocoded target is the target voice, the unconverted source is not.
      expect(vocoded!.cepstralJudgeAccuracy).toBe(1);
      expect(identity!.cepstralJudgeAccuracy).toBe(0);
      expect(model!.cepstralJudgeAccuracy).toBe(0);
      expect(report.systems[2]!.perPair.map((p) => p.metrics.cepstralJudgeAccuracy)).toEqual([1, 1, 1]);
      expect(vocoded!.targetCosine).toBeGreaterThan(identity!.targetCosine);
      expect(vocoded!.logF0ErrorSemitones).toBeLessThan(1);
      expect(identity!.realTimeFactor).toBe(0);
      expect(vocoded!.realTimeFactor).toBeGreaterThan(0);
      // The pass-through model is the source through the vocoder: close to identity, far from the target.
      expect(model!.mcdDb).toBeGreaterThan(vocoded!.mcdDb * 3);
      const table = formatEvaluationTable(report);
      expect(table.split('\n')[0]).toMatch(/^system +MCD dB +logF0 err st +d-vector judge +cepstral judge +cos\(target\) +CER +RTF +n$/);
      expect(table).toMatch(/\nvocoded-target +[\d.]+ +[\d.]+ +100\.0% +100\.0% /);
      expect(table).toMatch(/\nidentity +[\d.]+ +[\d.]+ +0\.0% +0\.0% /);
      expect(table).toMatch(/cepstral judge over 3 \(fitted on \d+ train utterances\)/);
      expect(table).toMatch(/conversion settings: seed 0, steps 3, solver euler/);
      const json = JSON.parse(JSON.stringify(report));
      expect(json.systems[0].perPair).toHaveLength(3);
      expect(json.systems[2].metrics).toMatchObject({ judgeAccuracy: 1, cepstralJudgeAccuracy: 1 });
      expect(json.systems[2].perPair[0].metrics).toHaveProperty('cepstralJudgeAccuracy', 1);
    } finally {
      off();
      encoder.dispose();
    }
  });

  it('refuses voices outside the corpus or either judge, naming them', async () => {
    const encoder = createSpeakerEncoder({ ...DEFAULT_SPEAKER_ENCODER_CONFIG, channels: [8], strides: [1], normGroups: 4, hiddenDims: 8, embeddingDims: 4 });
    const judge = new SpeakerJudge(['flite-slt', 'festival-ked'], new Float32Array(8).fill(0.5));
    const base = { systems: resolveEvalSystems(['identity']), encoder, judge, recognizer: null, home, pairs: 1 };
    await expect(runEvaluation({ ...base, voices: ['flite-slt', 'espeak-m3'] })).rejects.toThrow(/voice "espeak-m3" is not in the corpus/);
    await expect(runEvaluation({ ...base, voices: ['flite-slt', 'espeak-f2'] })).rejects.toThrow(/no centroid for voice "espeak-f2"/);
    const twoVoices = buildCepstralJudge(openCorpusDataset({ home, split: 'train', voices: ['flite-slt', 'espeak-f2'] }));
    await expect(runEvaluation({ ...base, cepstralJudge: twoVoices, voices: ['flite-slt', 'festival-ked'] })).rejects.toThrow(/cepstral judge was not fitted on voice "festival-ked"/);
    encoder.dispose();
  });
});

describe('corpusMismatchLines', () => {
  it('warns for a model trained on another corpus build, notes an unnamed one, and says nothing for a match or a baseline', () => {
    const here = 'a'.repeat(64);
    const system = (name: string, trainingDataHash?: string) => ({ name, ...(trainingDataHash !== undefined ? { trainingDataHash } : {}) }) as Parameters<typeof corpusMismatchLines>[0]['systems'][number];
    const lines = corpusMismatchLines({
      corpus: { root: '/c', manifestHash: here, split: 'test', sentences: [] },
      systems: [system('source'), system('vae', here), system('diffvc', 'b'.repeat(64)), system('cyclegan', '')],
    });
    expect(lines).toEqual([
      `warning: diffvc was trained on corpus bbbbbbbbbbbb…, this corpus is aaaaaaaaaaaa…, another build (its manifest lists the synthesizer versions)`,
      `note: cyclegan's model file does not name its training corpus; scored on corpus aaaaaaaaaaaa…`,
    ]);
  });
});
