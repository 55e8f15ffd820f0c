// The VAE on tiny configs: shapes, the loss going down, speaker conditioning, F0 features, no tensor leaks
// across conversions, model-file round trip and refusal of other kinds and feature configs.

import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logMelSpectrogram } from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { scaleLogMelFrequency } from '../../src/audio/melFrequencyScale.js';
import { ModelMismatchError } from '../../src/nn/errors.js';
import { saveModelFile } from '../../src/nn/modelFile.js';
import { Rng } from '../../src/nn/module.js';
import { harmonicTemplates } from '../../src/models/pitch.js';
import { warmupCosineSchedule } from '../../src/nn/optimizer.js';
import { Trainer } from '../../src/nn/train.js';
import { createVae, klBeta, pitchLoss, resolveVaeConfig, vaeLoss, type VaeBatch } from '../../src/models/vae/model.js';
import { f0FeatureDims, f0Features, meanLogF0, vocalTractWarpRatio, VOCAL_TRACT_F0_EXPONENT } from '../../src/models/pitch.js';
import { identityNormalization } from '../../src/models/melNormalization.js';
import { loadMelConverter, loadVae, saveVae } from '../../src/models/vae/convert.js';
import { speakerLogF0Means, vaeBatchSource } from '../../src/models/vae/data.js';
import { useWasm } from '../nn/helpers.js';
import { syntheticItems, syntheticUtterance, TINY_F0_HZ, TINY_VAE_CONFIG, TINY_VOICES, writeTinyVae } from './vaeFixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'timbre-vae-'));
beforeAll(useWasm);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = TINY_VAE_CONFIG;

describe('VAE forward', () => {
  it('encodes [B, T, 80] to a per-frame latent at T / downsample and decodes back to [B, T, 80]', () => {
    const model = createVae(config, { speakers: 3, seed: 1 });
    tf.tidy(() => {
      const x = tf.randomNormal([2, 24, 80]) as tf.Tensor3D;
      const { mean, logVar } = model.encode(x);
      expect(mean.shape).toEqual([2, 12, config.latentDims]);
      expect(logVar.shape).toEqual([2, 12, config.latentDims]);
      const f0 = tf.zeros([2, 24, 82]) as tf.Tensor3D;
      expect(model.decode(mean, model.speakerVectors([0, 2]), f0).shape).toEqual([2, 24, 80]);
      expect(model.classifier.forward(x).shape).toEqual([2, 3]);
    });
    expect(() => tf.tidy(() => model.encode(tf.zeros([1, 23, 80]) as tf.Tensor3D))).toThrow(/multiple of 2/);
    expect(() => tf.tidy(() => model.speakerVectors([3]))).toThrow(/outside \[0, 3\)/);
    model.dispose();
  });

  it('decodes the same latent differently with different speaker embeddings', () => {
    const model = createVae(config, { speakers: 3, seed: 2 });
    const [a, b] = tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 80], 0, 1, 'float32', 5) as tf.Tensor3D;
      const f0 = tf.tensor3d(f0Features(new Float32Array(16).fill(120), 16, config), [1, 16, 82]);
      return [model.forward(x, [0], f0), model.forward(x, [1], f0)];
    });
    const diff = tf.tidy(() => tf.mean(tf.abs(tf.sub(a!, b!))).dataSync()[0]!);
    expect(diff).toBeGreaterThan(1e-3);
    tf.dispose([a!, b!]);
    model.dispose();
  });

  it('refuses a config with bad sizes, naming the field', () => {
    expect(() => resolveVaeConfig({ downsample: 3 })).toThrow(/downsample/);
    expect(() => resolveVaeConfig({ cropFrames: 15 })).toThrow(/cropFrames/);
    expect(() => resolveVaeConfig({ channels: 0 })).toThrow(/channels/);
  });
});

describe('log-F0 features', () => {
  it('interpolates log-F0 through unvoiced frames, flags voicing and applies the shift', () => {
    const f0 = Float32Array.from([0, 100, 0, 0, 200, 0]);
    const c = { f0ReferenceHz: 100, f0ScaleNepers: 1, mels: 80 };
    const dims = f0FeatureDims(c);
    expect(dims).toBe(82);
    const feats = f0Features(f0, 6, c);
    const lf = [0, 1, 2, 3, 4, 5].map((t) => feats[t * dims]!);
    const voiced = [0, 1, 2, 3, 4, 5].map((t) => feats[t * dims + 1]!);
    expect(voiced).toEqual([0, 1, 0, 0, 1, 0]);
    expect(lf[0]).toBeCloseTo(0, 6); // held before the first voiced frame
    expect(lf[2]).toBeCloseTo(Math.log(2) / 3, 6); // a third of the way from ln 100 to ln 200
    expect(lf[5]).toBeCloseTo(Math.log(2), 6); // held after the last
    const shifted = f0Features(f0, 6, c, Math.log(1.5));
    expect(shifted[2 * dims]! - feats[2 * dims]!).toBeCloseTo(Math.log(1.5), 6);
    // the harmonic template: zero on unvoiced frames, that of 150 Hz on frame 1 once shifted by ×1.5
    expect(feats.subarray(2, dims).every((v) => v === 0)).toBe(true);
    expect(feats.subarray(dims + 2, 2 * dims).some((v) => v !== 0)).toBe(true);
    expect(Array.from(shifted.subarray(dims + 2, 2 * dims))).toEqual(Array.from(harmonicTemplates(Float32Array.from([150]))));
    expect(meanLogF0(f0)).toBeCloseTo((Math.log(100) + Math.log(200)) / 2, 6);
    expect(Number.isNaN(meanLogF0(new Float32Array(4)))).toBe(true);
  });

  it('uses the fallback log-F0 when nothing is voiced', () => {
    const feats = f0Features(new Float32Array(3), 3, { f0ReferenceHz: 100, f0ScaleNepers: 0.5, mels: 80 }, 0, Math.log(200));
    expect(feats[0]).toBeCloseTo(Math.log(2) / 0.5, 6);
    expect(feats[1]).toBe(0);
    expect(feats.every((v, i) => i % 82 === 0 || v === 0)).toBe(true);
  });
});

describe('VAE training', () => {
  it('anneals β linearly to klWeight', () => {
    const c = resolveVaeConfig({ klWeight: 0.1, klAnnealSteps: 100 });
    expect(klBeta(c, 0)).toBe(0);
    expect(klBeta(c, 50)).toBeCloseTo(0.05, 9);
    expect(klBeta(c, 500)).toBeCloseTo(0.1, 9);
  });

  it('draws batches with a valid-frame mask and another speaker as each item\'s target', () => {
    const items = syntheticItems(3, 2);
    const speakerLogF0 = speakerLogF0Means(items, 3);
    speakerLogF0.forEach((v, s) => expect(v).toBeCloseTo(Math.log(TINY_F0_HZ[s]!), 1));
    const source = vaeBatchSource(items, { config, normalization: identityNormalization(), speakerLogF0, cropFrames: 48 });
    const batch = source.getBatch([0, 3, 5]) as VaeBatch;
    expect(batch.mel.shape).toEqual([3, 48, 80]);
    expect(batch.f0.shape).toEqual([3, 48, 82]);
    expect(Array.from(batch.speakerIds)).toEqual([0, 1, 2]);
    batch.targetIds.forEach((t, i) => expect(t).not.toBe(batch.speakerIds[i]));
    expect(tf.sum(batch.mask).dataSync()[0]).toBe(3 * 40); // 40-frame utterances padded to 48
    const again = source.getBatch([0, 3, 5]) as VaeBatch;
    expect(Array.from(again.mel.dataSync())).toEqual(Array.from(batch.mel.dataSync()));
    tf.dispose([batch as unknown as tf.TensorContainer, again as unknown as tf.TensorContainer]);
  });

  it('lowers the loss over a few steps on a tiny synthetic corpus, without leaking tensors', async () => {
    const items = syntheticItems(3, 4);
    const speakerLogF0 = speakerLogF0Means(items, 3);
    const model = createVae(config, { speakers: 3, seed: 3 });
    const trainer = new Trainer<VaeBatch>({
      model,
      train: vaeBatchSource(items, { config, normalization: identityNormalization(), speakerLogF0, cropFrames: config.cropFrames }),
      lossFn: (batch, ctx) => vaeLoss(model, batch, ctx),
      batchSize: 6,
      totalSteps: 30,
      seed: 1,
      logEvery: 10,
      optimizer: { learningRate: warmupCosineSchedule({ peak: 1e-2, warmupSteps: 2, totalSteps: 30 }), clipNorm: 5 },
    });
    const recon: number[] = [];
    trainer.on('step', (e) => recon.push(e.losses['recon']!));
    const before = tf.memory().numTensors;
    await trainer.run();
    expect(tf.memory().numTensors).toBe(before);
    const first = recon.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = recon.slice(-3).reduce((a, b) => a + b) / 3;
    expect(last).toBeLessThan(first * 0.8);
    await trainer.dispose();
    model.dispose();
  });

  it('gives every loss part as a finite scalar, conversion term included', () => {
    const items = syntheticItems(3, 1);
    const model = createVae(config, { speakers: 3, seed: 4 });
    const source = vaeBatchSource(items, { config, normalization: identityNormalization(), speakerLogF0: speakerLogF0Means(items, 3), cropFrames: 16 });
    const batch = source.getBatch([0, 1, 2]) as VaeBatch;
    const values = tf.tidy(() => {
      const r = vaeLoss(model, batch, { step: 5, training: true, rng: new Rng(1) });
      return Object.fromEntries([['total', r.total], ...Object.entries(r.parts)].map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]!]));
    });
    expect(Object.keys(values).sort()).toEqual(['accConv', 'accReal', 'clsConv', 'clsReal', 'kl', 'pitch', 'recon', 'total']);
    for (const v of Object.values(values)) expect(Number.isFinite(v)).toBe(true);
    tf.dispose(batch as unknown as tf.TensorContainer);
    model.dispose();
  });
});

describe('pitch loss', () => {
  it('is low when the harmonics of a mel sit at the requested F0 and high when they do not', () => {
    // log-mel of a 150 Hz harmonic tone (1/h amplitudes), 1 s
    const rate = MEL_CONFIG.sampleRateHz;
    const samples = new Float32Array(rate);
    for (let i = 0; i < rate; i++) for (let h = 1; h <= 30; h++) samples[i] += (0.1 * Math.sin((2 * Math.PI * 150 * h * i) / rate)) / h;
    const mel = logMelSpectrogram(samples, MEL_CONFIG);
    const frames = mel.frames - (mel.frames % 2);
    const model = createVae(config, { speakers: 2 });
    const loss = (f0Hz: number): number =>
      tf.tidy(() => {
        const x = tf.tensor3d(mel.data.subarray(0, frames * 80), [1, frames, 80]); // identity normalisation
        const f0 = tf.tensor3d(f0Features(new Float32Array(frames).fill(f0Hz), frames, config), [1, frames, f0FeatureDims(config)]);
        return pitchLoss(model, x, f0).dataSync()[0]!;
      });
    expect(loss(150)).toBeLessThan(0.3);
    expect(loss(220)).toBeGreaterThan(loss(150) + 0.4);
    expect(loss(112)).toBeGreaterThan(loss(150) + 0.4);
    model.dispose();
  });
});

describe('VaeConverter and the model file', () => {
  it('round-trips through a model file: same voices, log-F0 means and outputs', async () => {
    const path = join(dir, 'roundtrip.timbre');
    await writeTinyVae(path, 7);
    const loaded = await loadVae(path);
    expect(loaded.voices).toEqual([...TINY_VOICES]);
    expect(loaded.speakerLogF0[1]).toBeCloseTo(Math.log(150), 9);
    const fresh = createVae(TINY_VAE_CONFIG, { speakers: 3, seed: 7 });
    const same = tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 80], 0, 1, 'float32', 3) as tf.Tensor3D;
      const f0 = tf.zeros([1, 16, 82]) as tf.Tensor3D;
      return tf.max(tf.abs(tf.sub(loaded.model.forward(x, [1], f0), fresh.forward(x, [1], f0)))).dataSync()[0]!;
    });
    expect(same).toBe(0);
    loaded.model.dispose();
    fresh.dispose();
  });

  it('refuses a model file of another kind and one of another feature config', async () => {
    const model = createVae(config, { speakers: 3 });
    const wrongKind = join(dir, 'cyclegan.timbre');
    await saveModelFile(
      wrongKind,
      { kind: 'cyclegan', kindVersion: 1, melConfig: MEL_CONFIG, hyperparameters: {}, speakers: [], normalization: null, trainingDataHash: '', validationMetrics: {} },
      model.getWeights(),
    );
    await expect(loadVae(wrongKind)).rejects.toThrow(ModelMismatchError);
    await expect(loadVae(wrongKind)).rejects.toThrow(/kind is "cyclegan", expected "vae"/);
    const otherMel = join(dir, 'othermel.timbre');
    await saveModelFile(
      otherMel,
      { kind: 'vae', kindVersion: 1, melConfig: { ...MEL_CONFIG, hopSamples: 200 }, hyperparameters: { config: { ...config } }, speakers: ['a', 'b', 'c'], normalization: null, trainingDataHash: '', validationMetrics: {} },
      model.getWeights(),
    );
    await expect(loadVae(otherMel)).rejects.toThrow(/hopSamples 200 \(expected 256\)/);
    model.dispose();
  });

  it('converts to a model voice with the same frame count, no tensors left behind, and lists voices for an unknown one', async () => {
    const path = join(dir, 'convert.timbre');
    await writeTinyVae(path);
    const converter = await loadMelConverter(path);
    expect(converter.family).toBe('vae');
    expect(converter.targetVoices).toEqual([...TINY_VOICES]);
    const { mel, f0Hz } = syntheticUtterance(0, 9, 37);
    await converter.convert(mel, { voiceId: 'voice-b' }, { settings: { sourceF0Hz: f0Hz } }); // warm-up: backend kernels allocate once
    const before = tf.memory().numTensors;
    const out = await converter.convert(mel, { voiceId: 'voice-b' }, { settings: { sourceF0Hz: f0Hz } });
    await converter.convert(mel, { voiceId: 'voice-c' }, { settings: { sourceF0Hz: f0Hz, pitch: 'source', semitones: 3 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(out.frames).toBe(37);
    expect(out.mels).toBe(80);
    expect(out.data.every((v) => Number.isFinite(v) && v >= Math.log(MEL_CONFIG.logFloor) - 1e-6)).toBe(true);
    await expect(converter.convert(mel, { voiceId: 'nobody' })).rejects.toThrow(/"nobody".*voice-a, voice-b, voice-c/);
    converter.dispose();
  });

  it('normalises the source vocal tract toward the target (frequency axis × (target/source mean F0)^0.3) unless told not to', async () => {
    expect(vocalTractWarpRatio(Math.log(220), Math.log(110))).toBeCloseTo(0.5 ** VOCAL_TRACT_F0_EXPONENT, 12);
    expect(vocalTractWarpRatio(Math.log(110), Math.log(220))).toBeCloseTo(2 ** VOCAL_TRACT_F0_EXPONENT, 12);
    expect(vocalTractWarpRatio(Math.log(400), Math.log(80))).toBe(0.75);
    expect(vocalTractWarpRatio(Math.log(60), Math.log(400))).toBe(1.33);
    expect(vocalTractWarpRatio(Number.NaN, Math.log(100))).toBe(1);
    const path = join(dir, 'vtln.timbre');
    await writeTinyVae(path, 5);
    const converter = await loadMelConverter(path);
    const { mel, f0Hz } = syntheticUtterance(0, 2, 32);
    const settings = { sourceF0Hz: f0Hz };
    const normalised = await converter.convert(mel, { voiceId: 'voice-c' }, { settings });
    const plain = await converter.convert(mel, { voiceId: 'voice-c' }, { settings: { ...settings, vocalTractNormalization: false } });
    expect(Array.from(normalised.data)).not.toEqual(Array.from(plain.data));
    // Exactly the warped source through the plain path: the F0 features still follow the source's own track.
    const ratio = vocalTractWarpRatio(meanLogF0(f0Hz), Math.log(TINY_F0_HZ[2]));
    expect(ratio).toBeGreaterThan(1.2);
    const warped = scaleLogMelFrequency(mel, ratio, { beyondTop: 'edge' });
    const manual = await converter.convert(warped, { voiceId: 'voice-c' }, { settings: { ...settings, vocalTractNormalization: false } });
    expect(Array.from(manual.data)).toEqual(Array.from(normalised.data));
    await expect(converter.convert(mel, { voiceId: 'voice-c' }, { settings: { ...settings, vocalTractNormalization: 'yes' as never } })).rejects.toThrow(/vocalTractNormalization must be true or false/);
    converter.dispose();
  });

  it('converts a long input in chunks to the same result as one pass, within float error', async () => {
    const path = join(dir, 'chunks.timbre');
    await writeTinyVae(path, 3);
    const converter = await loadMelConverter(path);
    const { mel, f0Hz } = syntheticUtterance(1, 4, 2300); // > VAE_CHUNK_FRAMES
    const out = await converter.convert(mel, { voiceId: 'voice-a' }, { settings: { sourceF0Hz: f0Hz } });
    expect(out.frames).toBe(2300);
    expect(out.data.every((v) => Number.isFinite(v))).toBe(true);
    converter.dispose();
  });

  it('saves only when voices and log-F0 means match the speaker table', async () => {
    const model = createVae(config, { speakers: 3 });
    await expect(saveVae(join(dir, 'bad.timbre'), { model, voices: ['a'], speakerLogF0: [1, 2, 3], trainingDataHash: '' })).rejects.toThrow(/3 speakers/);
    model.dispose();
  });
});
