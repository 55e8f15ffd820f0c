// The neural vocoder at conversion time: output length, range and DC; chunked equals one pass; cancellation; model
// files that round-trip (same output) and refusals of other kinds, corrupt, truncated and mismatched files.

import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogMel } from '../../src/audio/mel.js';
import { multiResolutionStftDistance } from '../../src/audio/distances.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import type { Vocoder } from '../../src/audio/griffinLim.js';
import type { TrainerEntry } from '../../src/engine/trainers.js';
import { InvalidModelFileError, ModelMismatchError } from '../../src/nn/errors.js';
import { readModelFile, saveModelFile } from '../../src/nn/modelFile.js';
import { loadInstalledVocoder, loadVocoderModel, NeuralVocoder, saveVocoderModel, VOCODER_KIND } from '../../src/models/vocoder/convert.js';
import { shippedVocoderPath } from '../../src/models/vocoder/files.js';
import { createVocoder, vocoderContextFrames, type VocoderConfig } from '../../src/models/vocoder/model.js';
import { familyEntry } from '../../src/models/registry.js';
import { useWasm } from '../nn/helpers.js';
import { HOP, speechFixture, statsOf, TINY } from './vocoderFixtures.js';

const fixture = speechFixture(1.5);
const NORM = statsOf(fixture.mel);
/** Two blocks of width 8: context 3 frames each side. */
const SMALL: VocoderConfig = { ...TINY, blocks: 2 };
const dir = mkdtempSync(join(tmpdir(), 'timbre-vocoder-'));

beforeAll(async () => {
  await useWasm();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dc = (x: Float32Array) => Math.abs(x.reduce((s, v) => s + v, 0) / x.length);
const peak = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('NeuralVocoder.vocode', () => {
  it('gives the requested length, samples in [−1, 1] and no DC, also when the mel asks for clipping', async () => {
    const vocoder = new NeuralVocoder(createVocoder(SMALL, NORM, 1), { config: SMALL, normalization: NORM, trainingDataHash: '' });
    const frames = fixture.mel.frames;
    for (const lengthSamples of [frames * HOP, frames * HOP + 200, frames * HOP - 300, 0]) {
      const out = await vocoder.vocode(fixture.mel, { lengthSamples });
      expect(out.length).toBe(lengthSamples);
      if (lengthSamples === 0) continue;
      expect(out.every(Number.isFinite)).toBe(true);
      expect(peak(out)).toBeLessThanOrEqual(1);
      expect(peak(out)).toBeGreaterThan(1e-3); // it says something
      expect(dc(out)).toBeLessThan(0.01);
    }
    // 8 nepers louder than the recording (≈ ×3000): the clamp must hold, DC stays small.
    const loud: LogMel = { ...fixture.mel, data: fixture.mel.data.map((v) => v + 8) };
    const out = await vocoder.vocode(loud, { lengthSamples: frames * HOP });
    expect(peak(out)).toBeLessThanOrEqual(1);
    expect(out.filter((v) => Math.abs(v) === 1).length).toBeGreaterThan(0);
    expect(dc(out)).toBeLessThan(0.01);
    expect((await vocoder.vocode({ frames: 0, mels: 80, data: new Float32Array(0) }, { lengthSamples: 10 })).length).toBe(10);
    vocoder.dispose();
  });

  for (const phase of ['gradient', 'network'] as const) {
    it(`in chunks gives what one pass gives (the overlap covers the receptive field), ${phase} phase`, async () => {
      const net = createVocoder(SMALL, NORM, 2);
      const info = { config: SMALL, normalization: NORM, trainingDataHash: '' };
      expect(vocoderContextFrames(SMALL)).toBe(3);
      const whole = await new NeuralVocoder(net, info, { chunkFrames: 1024, phase }).vocode(fixture.mel, { lengthSamples: fixture.samples.length });
      const chunked = await new NeuralVocoder(net, info, { chunkFrames: 17, phase }).vocode(fixture.mel, { lengthSamples: fixture.samples.length });
      let diff = 0;
      for (let i = 0; i < whole.length; i++) diff = Math.max(diff, Math.abs(whole[i]! - chunked[i]!));
      // The network's float32 rounding differs with the pass length; the integrated phase carries it a little further.
      expect(diff).toBeLessThan((phase === 'gradient' ? 1e-4 : 1e-5) * Math.max(1e-3, peak(whole)) + 1e-7);
      // Too little overlap would change the output: the check above can fail.
      expect(() => new NeuralVocoder(net, info, { chunkFrames: 6 })).toThrow(/above twice the context/);
      net.dispose();
    });
  }

  it('takes its phase from the log-magnitude by default and from the phase head on request; refuses other sources', async () => {
    const net = createVocoder(SMALL, NORM, 2);
    const info = { config: SMALL, normalization: NORM, trainingDataHash: '' };
    const gradient = new NeuralVocoder(net, info);
    expect(gradient.phase).toBe('gradient');
    const a = await gradient.vocode(fixture.mel, { lengthSamples: 4000 });
    const b = await new NeuralVocoder(net, info, { phase: 'network' }).vocode(fixture.mel, { lengthSamples: 4000 });
    expect(a).not.toEqual(b);
    expect(() => new NeuralVocoder(net, info, { phase: 'random' as 'gradient' })).toThrow(/phase must be one of gradient, network/);
    // One Griffin-Lim iteration after the phase-gradient phase by default; none asked, none run; the phase head needs none.
    expect(gradient.refineIterations).toBe(1);
    const pghiOnly = await new NeuralVocoder(net, info, { refineIterations: 0 }).vocode(fixture.mel, { lengthSamples: 4000 });
    expect(pghiOnly).not.toEqual(a);
    expect(new NeuralVocoder(net, info, { phase: 'network' }).refineIterations).toBe(0);
    for (const bad of [-1, 1.5, 101]) expect(() => new NeuralVocoder(net, info, { refineIterations: bad })).toThrow(/refineIterations must be a whole number 0–100/);
    net.dispose();
  });

  it('stops when its signal is aborted, and refuses a log-mel of another width', async () => {
    const vocoder = new NeuralVocoder(createVocoder(SMALL, NORM, 1), { config: SMALL, normalization: NORM, trainingDataHash: '' }, { chunkFrames: 17 });
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    await expect(vocoder.vocode(fixture.mel, { lengthSamples: 100, signal: controller.signal })).rejects.toThrow('user cancelled');
    await expect(vocoder.vocode({ frames: 2, mels: 40, data: new Float32Array(80) }, { lengthSamples: 512 })).rejects.toThrow(/expected 80/);
    const tensors = tf.memory().numTensors;
    await vocoder.vocode(fixture.mel, { lengthSamples: 4000 });
    expect(tf.memory().numTensors).toBe(tensors);
    vocoder.dispose();
    await expect(vocoder.vocode(fixture.mel, { lengthSamples: 100 })).rejects.toThrow(/disposed/);
  });

  it('is the engine pipeline’s Vocoder, and timbre train vocoder is registered', () => {
    const vocoder = new NeuralVocoder(createVocoder(SMALL, NORM, 1), { config: SMALL, normalization: NORM, trainingDataHash: '' });
    const asPipeline: Vocoder = vocoder.vocode; // type-checked by tsc
    const entry: TrainerEntry = familyEntry('vocoder')!.trainer;
    expect(familyEntry('vocoder')!.family).toBeNull(); // it converts no voice: no lane, no eval row
    expect(typeof asPipeline).toBe('function');
    expect(entry.defaults.batchSize).toBeGreaterThan(0);
    vocoder.dispose();
  });
});

describe('vocoder model file', () => {
  it('round-trips: float32 gives the same output exactly, float16 nearly; config, normalisation and hash survive', async () => {
    const net = createVocoder(SMALL, NORM, 5);
    const reference = await new NeuralVocoder(net, { config: SMALL, normalization: NORM, trainingDataHash: 'abc' }).vocode(fixture.mel, { lengthSamples: 6000 });
    const path32 = join(dir, 'v32.timbre');
    const path16 = join(dir, 'v16.timbre');
    await saveVocoderModel(path32, net, { trainingDataHash: 'abc123', validationMetrics: { mel: 0.5 }, training: { steps: 3 } }, { storage: 'float32' });
    await saveVocoderModel(path16, net, { trainingDataHash: 'abc123' });
    await expect(saveVocoderModel(path32, net, { trainingDataHash: 'x' })).rejects.toThrow(/exists/);
    const loaded = await loadVocoderModel(path32);
    expect(loaded.info.config).toEqual(SMALL);
    expect([...loaded.info.normalization.mean]).toEqual([...NORM.mean]);
    expect(loaded.info.trainingDataHash).toBe('abc123');
    expect(loaded.info.validationMetrics).toEqual({ mel: 0.5 });
    expect(loaded.info.training).toEqual({ steps: 3 });
    expect(await loaded.vocode(fixture.mel, { lengthSamples: 6000 })).toEqual(reference);
    const half = await loadVocoderModel(path16);
    const out16 = await half.vocode(fixture.mel, { lengthSamples: 6000 });
    // The integrated phase carries float16's rounding along, so the spectra are compared, not the samples.
    expect(multiResolutionStftDistance(reference, out16)).toBeLessThan(0.05);
    expect((await readModelFile(path16)).header.kind).toBe(VOCODER_KIND);
    [loaded, half].forEach((v) => v.dispose());
    net.dispose();
  });

  it('refuses another kind, a corrupt or truncated file, and a config its weights do not fit', async () => {
    const net = createVocoder(SMALL, NORM, 5);
    const good = join(dir, 'good.timbre');
    await saveVocoderModel(good, net, { trainingDataHash: '' }, { storage: 'float32' });
    const { header, weights } = await readModelFile(good);
    const other = join(dir, 'other.timbre');
    await saveModelFile(other, { ...header, kind: 'cyclegan' }, weights);
    await expect(loadVocoderModel(other)).rejects.toThrow(ModelMismatchError);
    await expect(loadVocoderModel(other)).rejects.toThrow(/kind is "cyclegan", expected "vocoder"/);
    const bytes = readFileSync(good);
    const corrupt = join(dir, 'corrupt.timbre');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10] ^= 0xff;
    writeFileSync(corrupt, flipped);
    await expect(loadVocoderModel(corrupt)).rejects.toThrow(InvalidModelFileError);
    await expect(loadVocoderModel(corrupt)).rejects.toThrow(/checksum/);
    const truncated = join(dir, 'truncated.timbre');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await expect(loadVocoderModel(truncated)).rejects.toThrow(/truncated/);
    const wider = join(dir, 'wider.timbre');
    await saveModelFile(wider, { ...header, hyperparameters: { ...header.hyperparameters, width: 16 } }, weights);
    await expect(loadVocoderModel(wider)).rejects.toThrow(ModelMismatchError);
    await expect(loadVocoderModel(wider)).rejects.toThrow(/expected shape/);
    const noConfig = join(dir, 'noconfig.timbre');
    const { blocks: _dropped, ...rest } = header.hyperparameters as Record<string, number>;
    await saveModelFile(noConfig, { ...header, hyperparameters: rest }, weights);
    await expect(loadVocoderModel(noConfig)).rejects.toThrow(/lacks blocks/);
    // A home with no vocoder of its own falls back to the shipped one; without that either, it says how to get one.
    if (existsSync(shippedVocoderPath())) (await loadInstalledVocoder(join(dir, 'empty-home'))).dispose();
    else await expect(loadInstalledVocoder(join(dir, 'empty-home'))).rejects.toThrow(/timbre train vocoder/);
    net.dispose();
  });
});
