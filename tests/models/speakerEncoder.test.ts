// The speaker encoder: unit, deterministic embeddings without tensor leaks; loss falling over a few steps on a
// 3-voice × 3-sentence corpus; the judge's cosine verdicts; the model file round trip.

import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogMel } from '../../src/audio/mel.js';
import { buildCorpus } from '../../src/corpus/build.js';
import { ModelMismatchError, ShapeMismatchError } from '../../src/nn/errors.js';
import { saveModelFile } from '../../src/nn/modelFile.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { Rng } from '../../src/nn/module.js';
import { DEFAULT_SPEAKER_ENCODER_CONFIG, SpeakerJudge, createSpeakerEncoder, type SpeakerEncoderConfig } from '../../src/models/speakerEncoder/model.js';
import { buildSpeakerJudge, createSpeakerEncoderTrainingSetup, evaluateSpeakerJudge, mixedItems, realSpeakerItems } from '../../src/models/speakerEncoder/train.js';
import { importRealSpeech } from '../../src/corpus/realImport.js';
import { REAL_SPEECH_FOLDER } from '../../src/corpus/realManifest.js';
import { openRealSpeech } from '../../src/corpus/realSpeech.js';
import { writeRealFixture } from '../corpus/realFixture.js';
import { loadSpeakerEncoder, saveSpeakerEncoder } from '../../src/models/speakerEncoder/convert.js';
import { Trainer } from '../../src/nn/train.js';
import { TEST_VOICES } from '../corpus/render.js';
import { useWasm } from '../nn/helpers.js';

/** The smallest sensible encoder: two convs, 8-d embedding. */
const TINY: Partial<SpeakerEncoderConfig> = {
  channels: [8, 16],
  strides: [1, 2],
  normGroups: 4,
  hiddenDims: 16,
  embeddingDims: 8,
  minCropFrames: 32,
  maxCropFrames: 64,
  validationCropFrames: 48,
  chunkFrames: 64,
  centroidUtterances: 2,
  warmupSteps: 2,
};
const tinyConfig = (): SpeakerEncoderConfig => ({ ...DEFAULT_SPEAKER_ENCODER_CONFIG, ...TINY });

function randomMel(frames: number, seed: number): LogMel {
  const rng = new Rng(seed);
  return { frames, mels: 80, data: Float32Array.from({ length: frames * 80 }, () => -5 + 2 * rng.normal()) };
}

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

let home: string;
beforeAll(async () => {
  await useWasm();
  home = await mkdtemp(join(tmpdir(), 'timbre-speaker-encoder-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('speaker encoder embeddings', () => {
  it('are unit-norm, deterministic for a seed, and different for different input', () => {
    const a = createSpeakerEncoder(tinyConfig(), { seed: 5 });
    const b = createSpeakerEncoder(tinyConfig(), { seed: 5 });
    const mel = randomMel(150, 1); // longer than chunkFrames: three overlapping chunks
    const ea = a.embed(mel);
    expect(ea).toHaveLength(8);
    expect(norm(ea)).toBeCloseTo(1, 5);
    expect(Array.from(a.embed(mel))).toEqual(Array.from(ea));
    expect(Array.from(b.embed(mel))).toEqual(Array.from(ea));
    expect(Array.from(a.embed(randomMel(150, 2)))).not.toEqual(Array.from(ea));
    expect(norm(a.embed(randomMel(10, 3)))).toBeCloseTo(1, 5); // shorter than one chunk
    a.dispose();
    b.dispose();
  });

  it('leave no tensors behind across embed calls', () => {
    const encoder = createSpeakerEncoder(tinyConfig(), { seed: 1 });
    encoder.embed(randomMel(100, 1)); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) encoder.embed(randomMel(70 + 30 * i, i));
    encoder.embedReference([randomMel(80, 7), randomMel(90, 8)]);
    expect(tf.memory().numTensors).toBe(before);
    encoder.dispose();
  });

  it('refuses mels of another width and empty mels', () => {
    const encoder = createSpeakerEncoder(tinyConfig());
    expect(() => encoder.embed({ frames: 10, mels: 40, data: new Float32Array(400) })).toThrow(/40 mel bins, expected 80/);
    expect(() => encoder.embed({ frames: 0, mels: 80, data: new Float32Array(0) })).toThrow(ShapeMismatchError);
    encoder.dispose();
  });

  it('refuses an inconsistent config, naming the value', () => {
    expect(() => createSpeakerEncoder({ ...tinyConfig(), strides: [1] })).toThrow(/strides must be 2 positive integers/);
    expect(() => createSpeakerEncoder({ ...tinyConfig(), channels: [6, 16] })).toThrow(/divisible by normGroups 4/);
  });
});

describe('speaker encoder training', () => {
  it('lowers the AM-softmax loss over a few steps on a 3-voice corpus', async () => {
    const setup = createSpeakerEncoderTrainingSetup({ home, config: TINY, seed: 1 });
    const probe = async (): Promise<number> => {
      const batch = await setup.train.getBatch(Array.from({ length: setup.train.size }, (_, i) => i));
      const loss = tf.tidy(() => setup.lossFn(batch, { step: 0, rng: new Rng(0), training: false }).total.dataSync()[0]!);
      tf.dispose(batch.mel);
      return loss;
    };
    const before = await probe();
    const trainer = new Trainer({ ...setup, batchSize: 6, totalSteps: 25, seed: 3, optimizer: { learningRate: 5e-3 } });
    const tensors = tf.memory().numTensors;
    const result = await trainer.run();
    expect(tf.memory().numTensors).toBe(tensors);
    const after = await probe();
    expect(result.step).toBe(25);
    expect(after).toBeLessThan(before * 0.7);
    await trainer.dispose();
    setup.model.dispose();
  });
});

describe('speaker encoder training with real speakers', () => {
  it('adds the real-speech set\'s training speakers as classes after the corpus voices, never a held-out one', async () => {
    const fixture = await writeRealFixture();
    const realHome = await mkdtemp(join(tmpdir(), 'timbre-speaker-encoder-real-'));
    try {
      await importRealSpeech({ systemRoot: fixture.root, home: realHome, packageVersion: (p) => `1.0-${p}` });
      const root = join(realHome, REAL_SPEECH_FOLDER);
      const set = openRealSpeech({ root });
      const withTrainClips = set.trainingSpeakers.filter((id) => set.clips({ split: 'train', speakers: [id] }).length > 0);
      expect(withTrainClips.length).toBeGreaterThan(0);
      const setup = createSpeakerEncoderTrainingSetup({ home, realSpeechRoot: root, config: { ...TINY, realSpeakerShare: 0.5 }, seed: 1 });
      expect(setup.realSpeech).toMatchObject({ speakers: set.trainingSpeakers });
      expect(setup.realSpeech!.speakers.some((id) => set.heldOutSpeakers.includes(id))).toBe(false);
      expect(setup.model.classWeights.shape).toEqual([TINY.embeddingDims, TEST_VOICES.length + set.trainingSpeakers.length]);
      // Real items (labels ≥ the corpus voices) repeat up to about half of the training items.
      const batch = await setup.train.getBatch(Array.from({ length: setup.train.size }, (_, i) => i));
      const labels = Array.from(batch.labels);
      const real = labels.filter((l) => l >= TEST_VOICES.length);
      expect(new Set(real).size).toBe(withTrainClips.length);
      expect(real.length / labels.length).toBeGreaterThan(0.3);
      expect(real.length / labels.length).toBeLessThan(0.7);
      tf.dispose(batch.mel);
      // Without the set (or with realSpeakers off) the classes are the corpus voices alone.
      const off = createSpeakerEncoderTrainingSetup({ home, realSpeechRoot: root, config: { ...TINY, realSpeakers: false }, seed: 1 });
      expect(off.realSpeech).toBeNull();
      expect(off.model.classWeights.shape).toEqual([TINY.embeddingDims, TEST_VOICES.length]);
      off.model.dispose();
      setup.model.dispose();
    } finally {
      await rm(realHome, { recursive: true, force: true });
      await rm(fixture.root, { recursive: true, force: true });
    }
  });

  it('joins a speaker\'s words into items of at least the longest crop, and mixes them in at the share asked', () => {
    const word = (id: string, frames: number) => ({ id, frames });
    const clips = [word('s/a', 40), word('s/b', 30), word('s/c', 50), word('s/d', 10)];
    const set = {
      clips: () => clips,
      mel: (id: string) => ({ frames: clips.find((c) => c.id === id)!.frames, mels: 80, data: new Float32Array(clips.find((c) => c.id === id)!.frames * 80) }),
    } as unknown as Parameters<typeof realSpeakerItems>[0];
    const items = realSpeakerItems(set, ['s'], 'train', 7, 64);
    expect(items.map((it) => [it.speakerId, it.mel().frames])).toEqual([
      [7, 70],
      [7, 60],
    ]);
    const corpus = Array.from({ length: 12 }, () => ({ speakerId: 0, mel: () => randomMel(4, 1) }));
    expect(mixedItems(corpus, items, 0.5)).toHaveLength(12 + 6 * 2);
    expect(mixedItems(corpus, items, 0)).toHaveLength(14);
  });
});

describe('speaker judge', () => {
  it('names the voice of the nearest centroid and scores every voice by cosine', () => {
    const judge = SpeakerJudge.fromEmbeddings(
      new Map([
        ['a', [Float32Array.of(1, 0, 0), Float32Array.of(0.8, 0.6, 0)]],
        ['b', [Float32Array.of(0, 0, 2)]],
      ]),
    );
    expect(judge.voices).toEqual(['a', 'b']);
    const ca = judge.centroid('a');
    expect(norm(ca)).toBeCloseTo(1, 6);
    expect(ca[0]! / ca[1]!).toBeCloseTo(1.8 / 0.6, 5);
    const verdict = judge.classify(Float32Array.of(0.1, 0, 1));
    expect(verdict.voice).toBe('b');
    expect(verdict.scores.map((s) => s.voice)).toEqual(['b', 'a']);
    expect(verdict.cosine).toBeCloseTo(1 / Math.sqrt(1.01), 6);
    expect(() => judge.centroid('c')).toThrow(/does not know voice "c"; it knows a, b/);
    expect(() => judge.scores(Float32Array.of(1, 0))).toThrow(/2 values, expected 3/);
  });

  it('round-trips through the model file with identical embeddings, and refuses another kind', async () => {
    const setup = createSpeakerEncoderTrainingSetup({ home, config: TINY, seed: 2 });
    const encoder = setup.model.encoder;
    const judge = buildSpeakerJudge(encoder, setup.trainSet);
    expect(judge.voices).toEqual([...TEST_VOICES]);
    const report = evaluateSpeakerJudge(encoder, judge, setup.trainSet);
    expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(setup.trainSet.utterances.length);
    const path = join(home, 'se.timbre');
    await saveSpeakerEncoder(path, { encoder, judge, trainingDataHash: setup.corpusHash, validationMetrics: { judge_accuracy: report.accuracy } }, { overwrite: false });
    await expect(saveSpeakerEncoder(path, { encoder, judge, trainingDataHash: '', validationMetrics: {} }, { overwrite: false })).rejects.toThrow(/exists/);
    const loaded = await loadSpeakerEncoder(path);
    const mel = setup.trainSet.mel('flite-slt', setup.trainSet.utterances[0]!.sentence);
    expect(Array.from(loaded.encoder.embed(mel))).toEqual(Array.from(encoder.embed(mel)));
    expect(Array.from(loaded.judge.centroids)).toEqual(Array.from(judge.centroids));
    expect(loaded.trainingDataHash).toBe(setup.corpusHash);
    loaded.encoder.dispose();
    setup.model.dispose();

    const other = join(home, 'other.timbre');
    await saveModelFile(other, { kind: 'vocoder', kindVersion: 1, melConfig: MEL_CONFIG, hyperparameters: {}, speakers: [], normalization: null, trainingDataHash: '', validationMetrics: {} }, new Map());
    await expect(loadSpeakerEncoder(other)).rejects.toThrow(ModelMismatchError);
  });
});
