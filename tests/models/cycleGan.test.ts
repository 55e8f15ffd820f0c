// CycleGAN-VC with the tiniest config: generator shapes and padding, filling-in-frames masks, the GAN step
// (losses move, both nets update, no tensor leaks), bit-exact resume, model-file round trip and refusals.

import * as tf from '@tensorflow/tfjs';
import { f16round } from '@petamoriken/float16';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import type { LogMel } from '../../src/audio/mel.js';
import { scaleLogMelFrequency } from '../../src/audio/melFrequencyScale.js';
import { CycleGanConverter, CycleGanVoiceSet, loadCycleGanModel, loadMelConverter, saveCycleGanModel, type CycleGanModelInfo } from '../../src/models/cycleGan/convert.js';
import { CycleGanGenerator, createCycleGan, cycleGanLoss, fillInFramesMask, paddedFrames, type CycleGanConfig } from '../../src/models/cycleGan/model.js';
import {
  CycleGanTrainer,
  createCycleGanSetupFromDomains,
  DEFAULT_CYCLE_GAN_TRAIN_CONFIG,
  melListCropDomain,
  type CycleGanTrainConfig,
} from '../../src/models/cycleGan/train.js';
import { CheckpointMismatchError, ModelMismatchError, ShapeMismatchError } from '../../src/nn/errors.js';
import { saveModelFile } from '../../src/nn/modelFile.js';
import { Rng } from '../../src/nn/module.js';
import { estimateF0FromLogMel, harmonicTemplates, meanLogF0, vocalTractWarpRatio } from '../../src/models/pitch.js';
import { useWasm } from '../nn/helpers.js';

const MELS = MEL_CONFIG.melBins;
const TINY: CycleGanConfig = {
  mels: MELS,
  genChannels: [4, 4, 4],
  genEdgeKernel: [3, 3],
  genSampleKernel: 3,
  residualChannels: 8,
  residualBlocks: 1,
  residualKernel: 3,
  discChannels: [4, 4],
  discKernel: 3,
};
const TINY_TRAIN: CycleGanTrainConfig = { ...DEFAULT_CYCLE_GAN_TRAIN_CONFIG, cropFrames: 16, maxMaskFrames: 6, learningRateG: 5e-3, learningRateD: 5e-3, secondAdversarial: true };
const NORM = { mean: new Float32Array(MELS).fill(-5), std: new Float32Array(MELS).fill(2) };

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'timbre-cyclegan-'));
  dirs.push(d);
  return d;
};
beforeAll(useWasm);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A speaker-dependent synthetic log-mel: spectral tilt + a moving bump (unnormalised, around −5). */
function syntheticMel(speaker: number, seed: number, frames = 48): LogMel {
  const rng = new Rng(seed * 17 + speaker);
  const data = new Float32Array(frames * MELS);
  const phase = rng.uniform() * 6;
  for (let t = 0; t < frames; t++) {
    const centre = 20 + 15 * Math.sin(phase + t / 5);
    for (let m = 0; m < MELS; m++) data[t * MELS + m] = -4 - (m / MELS) * (2 + 2 * speaker) + 3 * Math.exp(-(((m - centre) / 6) ** 2)) + 0.1 * rng.normal();
  }
  return { frames, mels: MELS, data };
}

function tinySetup(seed = 1, steps = 6) {
  const a = melListCropDomain('voice-a', [0, 1, 2].map((i) => syntheticMel(0, i)), NORM);
  const b = melListCropDomain('voice-b', [0, 1, 2].map((i) => syntheticMel(1, i)), NORM);
  return createCycleGanSetupFromDomains(a, b, NORM, { config: TINY, trainConfig: TINY_TRAIN, seed, steps, corpusHash: 'synthetic' });
}

const info = (targetVoice = 'voice-b'): CycleGanModelInfo => ({ config: TINY, sourceDomain: 'any', sourceVoices: ['voice-a'], targetVoice, normalization: NORM, trainingDataHash: 'synthetic' });

describe('CycleGanGenerator', () => {
  it('returns the input shape for frame counts divisible by 4 or not', () => {
    const g = new CycleGanGenerator(new Rng(1), TINY);
    for (const frames of [1, 7, 13, 16, 30, 64]) {
      const y = tf.tidy(() => {
        const x = tf.randomNormal([2, frames, MELS]) as tf.Tensor3D;
        return g.forward(x, tf.onesLike(x));
      });
      expect(y.shape).toEqual([2, frames, MELS]);
      expect(Number.isFinite(y.sum().dataSync()[0]!)).toBe(true);
      y.dispose();
    }
    expect(paddedFrames(13)).toBe(16);
    g.dispose();
  });

  it('treats padding as filled-in frames: 13 frames give the first 13 outputs of 16 with the last 3 masked', () => {
    const g = new CycleGanGenerator(new Rng(2), TINY);
    const [short, long] = tf.tidy(() => {
      const x = tf.randomNormal([1, 16, MELS], 0, 1, 'float32', 3) as tf.Tensor3D;
      const mask = tf.concat([tf.ones([1, 13, MELS]), tf.zeros([1, 3, MELS])], 1) as tf.Tensor3D;
      const x13 = tf.slice(x, [0, 0, 0], [1, 13, MELS]) as tf.Tensor3D;
      return [g.forward(x13, tf.onesLike(x13)).dataSync(), tf.slice(g.forward(x, mask), [0, 0, 0], [1, 13, MELS]).dataSync()];
    });
    for (let i = 0; i < short.length; i++) expect(short[i]).toBeCloseTo(long[i]!, 5);
    g.dispose();
  });

  it('ignores the input inside a masked span (only the mask tells it what is missing)', () => {
    const g = new CycleGanGenerator(new Rng(3), TINY);
    const [y1, y2] = tf.tidy(() => {
      const x = tf.randomNormal([1, 16, MELS], 0, 1, 'float32', 4) as tf.Tensor3D;
      const mask = tf.concat([tf.ones([1, 5, MELS]), tf.zeros([1, 6, MELS]), tf.ones([1, 5, MELS])], 1) as tf.Tensor3D;
      const noise = tf.mul(tf.sub(1, mask), tf.randomNormal([1, 16, MELS], 0, 5, 'float32', 5)) as tf.Tensor3D;
      return [g.forward(x, mask).dataSync(), g.forward(tf.add(x, noise) as tf.Tensor3D, mask).dataSync()];
    });
    expect(Array.from(y1)).toEqual(Array.from(y2));
    g.dispose();
  });

  it('refuses a mel of the wrong size, quoting it', () => {
    const g = new CycleGanGenerator(new Rng(1), TINY);
    const x = tf.zeros([1, 8, 40]) as tf.Tensor3D;
    expect(() => g.forward(x, x)).toThrow(ShapeMismatchError);
    expect(() => g.forward(x, x)).toThrow(/\[1, 8, 40\]/);
    x.dispose();
    g.dispose();
  });
});

describe('fillInFramesMask', () => {
  it('zeroes one contiguous span of at most maxFrames frames per item, across all mel bins', () => {
    const rng = new Rng(9);
    let sawMask = false;
    for (let trial = 0; trial < 20; trial++) {
      const mask = fillInFramesMask(rng, 3, 16, MELS, 6);
      for (let b = 0; b < 3; b++) {
        const frames = Array.from({ length: 16 }, (_, t) => mask[(b * 16 + t) * MELS]!);
        for (let t = 0; t < 16; t++) for (let k = 0; k < MELS; k++) expect(mask[(b * 16 + t) * MELS + k]).toBe(frames[t]);
        const zeros = frames.map((v, t) => (v === 0 ? t : -1)).filter((t) => t >= 0);
        expect(zeros.length).toBeLessThanOrEqual(6);
        if (zeros.length > 0) {
          sawMask = true;
          expect(zeros[zeros.length - 1]! - zeros[0]!).toBe(zeros.length - 1);
        }
      }
    }
    expect(sawMask).toBe(true);
  });
});

describe('CycleGAN-VC training', () => {
  it('the joint loss gives generators and discriminators their own gradients', () => {
    const model = createCycleGan(TINY, { seed: 4 });
    const x = () => tf.randomNormal([1, 16, MELS]) as tf.Tensor3D;
    const batch = { realA: x(), realB: x(), maskA: tf.ones([1, 16, MELS]) as tf.Tensor3D, maskB: tf.ones([1, 16, MELS]) as tf.Tensor3D };
    const params = model.namedParameters();
    const { grads } = tf.variableGrads(() => cycleGanLoss(model, batch, { cycle: 10, identity: 5, identityOn: true }).total, [...params.values()]);
    // d(total)/d(disc) = d(disc loss)/d(disc) and d(total)/d(gen) = d(gen loss)/d(gen): each net sees only its own objective.
    const part = (key: string, prefix: string) =>
      tf.variableGrads(() => cycleGanLoss(model, batch, { cycle: 10, identity: 5, identityOn: true }).parts[key]!, [...params].filter(([n]) => n.startsWith(prefix)).map(([, v]) => v));
    const discOnly = part('disc', 'disc');
    const genOnly = part('gen', 'gen');
    for (const [prefix, only] of [['discB.', discOnly], ['genAB.', genOnly]] as const) {
      const id = [...params].find(([n]) => n.startsWith(prefix))![1].name;
      const a = grads[id]!.dataSync();
      const b = only.grads[id]!.dataSync();
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
    }
    tf.dispose([...Object.values(genOnly.grads), genOnly.value]);
    tf.dispose([...Object.values(grads), ...Object.values(discOnly.grads), discOnly.value, ...Object.values(batch)]);
    model.dispose();
  });

  it('a step changes both nets and the losses move; no tensors leak across steps', async () => {
    const setup = tinySetup(1, 8);
    const trainer = new CycleGanTrainer({ setup, batchSize: 2, totalSteps: 8, seed: 5, logEvery: 1, checkpointEvery: 0 });
    const before = setup.model.getWeights();
    const losses: Record<string, number>[] = [];
    const tensors: number[] = [];
    trainer.on('step', (e) => {
      losses.push({ ...e.losses });
      tensors.push(tf.memory().numTensors);
    });
    const result = await trainer.run();
    expect(result.step).toBe(8);
    expect(result.cancelled).toBe(false);
    const after = setup.model.getWeights();
    for (const prefix of ['genAB.', 'genBA.', 'discA.', 'discB.', 'disc2A.']) {
      const name = [...before.keys()].find((n) => n.startsWith(prefix))!;
      expect(Array.from(after.get(name)!.data)).not.toEqual(Array.from(before.get(name)!.data));
    }
    for (const l of losses) for (const k of ['total', 'gen', 'disc', 'adv', 'adv2', 'cycle']) expect(Number.isFinite(l[k])).toBe(true);
    // identity is on for the first 30 % of steps only
    expect(losses[0]!['identity']).toBeGreaterThan(0);
    expect(losses[7]!['identity']).toBeUndefined();
    expect(losses[7]!['cycle']).toBeLessThan(losses[0]!['cycle']!);
    expect(new Set(tensors.slice(1)).size).toBe(1);
    await trainer.dispose();
    setup.model.dispose();
  });

  it('resumes bit-exactly from a checkpoint after a cancel, and refuses a checkpoint of other settings', async () => {
    const straightSetup = tinySetup(2, 4);
    const straight = new CycleGanTrainer({ setup: straightSetup, batchSize: 1, totalSteps: 4, seed: 7, logEvery: 1, runDir: tempDir() });
    const expected: number[] = [];
    straight.on('step', (e) => expected.push(e.losses['total']!));
    await straight.run();
    const expectedWeights = straightSetup.model.getWeights();
    await straight.dispose();
    straightSetup.model.dispose();

    const dir = tempDir();
    const firstSetup = tinySetup(2, 4);
    const first = new CycleGanTrainer({ setup: firstSetup, batchSize: 1, totalSteps: 4, seed: 7, logEvery: 1, checkpointEvery: 1, runDir: dir });
    const got: number[] = [];
    first.on('step', (e) => {
      got.push(e.losses['total']!);
      if (e.step === 2) first.cancel();
    });
    expect((await first.run()).cancelled).toBe(true);
    await first.dispose();
    firstSetup.model.dispose();

    const secondSetup = tinySetup(2, 4);
    const second = new CycleGanTrainer({ setup: secondSetup, batchSize: 1, totalSteps: 4, seed: 7, logEvery: 1, checkpointEvery: 1, runDir: dir });
    second.on('step', (e) => got.push(e.losses['total']!));
    const result = await second.run();
    expect(result.step).toBe(4);
    expect(got).toEqual(expected);
    const weights = secondSetup.model.getWeights();
    for (const [name, w] of expectedWeights) expect(Array.from(weights.get(name)!.data)).toEqual(Array.from(w.data));
    await second.dispose();
    secondSetup.model.dispose();

    const otherSetup = tinySetup(2, 4);
    const other = new CycleGanTrainer({ setup: otherSetup, batchSize: 2, totalSteps: 4, seed: 7, runDir: dir });
    await expect(other.run()).rejects.toThrow(CheckpointMismatchError);
    await other.dispose();
    otherSetup.model.dispose();
  });
});

describe('CycleGAN-VC model file and converter', () => {
  it('round-trips the generator and converts raw log-mels of any length without leaking tensors', async () => {
    const path = join(tempDir(), 'model.timbre');
    const g = new CycleGanGenerator(new Rng(6), TINY);
    await saveCycleGanModel(path, g, info(), { storage: 'float32' });
    const { generator, inverse, info: loaded } = await loadCycleGanModel(path);
    expect(inverse).toBeNull();
    expect(loaded.targetVoice).toBe('voice-b');
    expect(loaded.sourceDomain).toBe('any');
    expect(loaded.config).toEqual(TINY);
    const w1 = g.getWeights();
    for (const [name, w] of generator.getWeights()) expect(Array.from(w.data)).toEqual(Array.from(w1.get(name)!.data));
    generator.dispose();
    g.dispose();

    const converter = await loadMelConverter(path);
    expect(converter.family).toBe('cyclegan');
    expect(converter.targetVoices).toEqual(['voice-b']);
    expect(converter.label).toBe('CycleGAN-VC (any → voice-b)');
    const source = syntheticMel(0, 9, 37);
    await converter.convert(source, { voiceId: 'voice-b' }); // warm-up (backend kernels, caches)
    const tensors = tf.memory().numTensors;
    const fractions: number[] = [];
    const out = await converter.convert(source, { voiceId: 'voice-b' }, { onProgress: (f) => fractions.push(f) });
    expect(out.frames).toBe(37);
    expect(out.mels).toBe(MELS);
    expect(out.data.every(Number.isFinite)).toBe(true);
    expect(fractions[fractions.length - 1]).toBe(1);
    await converter.convert(syntheticMel(0, 10, 5), { voiceId: 'voice-b' });
    expect(tf.memory().numTensors).toBe(tensors);
    await expect(converter.convert(source, { voiceId: 'voice-c' })).rejects.toThrow(/converts only to "voice-b"/);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(converter.convert(source, { voiceId: 'voice-b' }, { signal: controller.signal })).rejects.toThrow('stop');
    converter.dispose();
    await expect(converter.convert(source, { voiceId: 'voice-b' })).rejects.toThrow(/disposed/);
  });

  it('stores both generators in float16 by default (half the bytes), and converts back to the source domain with the inverse', async () => {
    const dir = tempDir();
    const forward = new CycleGanGenerator(new Rng(6), TINY);
    const backward = new CycleGanGenerator(new Rng(7), TINY);
    await saveCycleGanModel(join(dir, 'both-ways-32.timbre'), forward, info(), { inverse: backward, storage: 'float32' });
    await saveCycleGanModel(join(dir, 'both-ways.timbre'), forward, info(), { inverse: backward });
    // Half the weight bytes (this tiny net's 64-byte tensor alignment and header keep it above one half).
    const bytes32 = statSync(join(dir, 'both-ways-32.timbre')).size;
    const bytes16 = statSync(join(dir, 'both-ways.timbre')).size;
    expect(bytes16 / bytes32).toBeLessThan(0.65);
    const loaded = await loadCycleGanModel(join(dir, 'both-ways.timbre'));
    for (const [from, to] of [[forward, loaded.generator], [backward, loaded.inverse!]] as const) {
      const original = from.getWeights();
      for (const [name, w] of to.getWeights()) expect(Array.from(w.data)).toEqual(Array.from(original.get(name)!.data, (v) => f16round(v)));
    }
    loaded.generator.dispose();
    loaded.inverse!.dispose();

    const converter = await loadMelConverter(join(dir, 'both-ways.timbre'));
    expect(converter.targetVoices).toEqual(['voice-b', 'any']);
    expect(converter.label).toBe('CycleGAN-VC (any ↔ voice-b)');
    const source = syntheticMel(0, 3, 24);
    const there = await converter.convert(source, { voiceId: 'voice-b' });
    const back = await converter.convert(source, { voiceId: 'any' });
    expect(Array.from(there.data)).not.toEqual(Array.from(back.data));
    // The inverse direction is exactly the inverse generator (compared with a one-way float16 file of it).
    await saveCycleGanModel(join(dir, 'inverse-only.timbre'), backward, info());
    const inverseOnly = await loadMelConverter(join(dir, 'inverse-only.timbre'));
    expect(Array.from((await inverseOnly.convert(source, { voiceId: 'voice-b' })).data)).toEqual(Array.from(back.data));
    await expect(converter.convert(source, { voiceId: 'voice-c' })).rejects.toThrow(/converts only to "voice-b" or "any"/);
    inverseOnly.dispose();
    converter.dispose();
    forward.dispose();
    backward.dispose();
  });

  it('normalises the source vocal tract toward the target when the file stores its mean F0, only on the way there', async () => {
    const dir = tempDir();
    const forward = new CycleGanGenerator(new Rng(6), TINY);
    const backward = new CycleGanGenerator(new Rng(7), TINY);
    const targetLogF0 = Math.log(300);
    await saveCycleGanModel(join(dir, 'vt.timbre'), forward, { ...info(), targetLogF0 }, { inverse: backward });
    await saveCycleGanModel(join(dir, 'plain.timbre'), forward, info(), { inverse: backward });
    forward.dispose();
    backward.dispose();
    const withF0 = await loadMelConverter(join(dir, 'vt.timbre'));
    const without = await loadMelConverter(join(dir, 'plain.timbre'));
    expect(withF0.info.targetLogF0).toBeCloseTo(targetLogF0, 12);
    expect(without.info.targetLogF0).toBeUndefined();
    // A source with a clear 120 Hz harmonic comb, so its F0 is found.
    const frames = 24;
    const data = new Float32Array(frames * MELS);
    const templates = harmonicTemplates(new Float32Array(frames).fill(120));
    for (let i = 0; i < data.length; i++) data[i] = -3 + 2 * templates[i]!;
    const source = { frames, mels: MELS, data };
    const sourceLogF0 = meanLogF0(estimateF0FromLogMel(source));
    expect(Math.exp(sourceLogF0)).toBeGreaterThan(100);
    expect(Math.exp(sourceLogF0)).toBeLessThan(140);
    const on = await withF0.convert(source, { voiceId: 'voice-b' });
    const off = await withF0.convert(source, { voiceId: 'voice-b' }, { settings: { vocalTractNormalization: false } });
    expect(Array.from(on.data)).not.toEqual(Array.from(off.data));
    const warped = scaleLogMelFrequency(source, vocalTractWarpRatio(sourceLogF0, targetLogF0), { beyondTop: 'edge' });
    expect(Array.from((await withF0.convert(warped, { voiceId: 'voice-b' }, { settings: { vocalTractNormalization: false } })).data)).toEqual(Array.from(on.data));
    // An older file (no mean F0) and the way back convert the source as it is.
    expect(Array.from((await without.convert(source, { voiceId: 'voice-b' })).data)).toEqual(Array.from(off.data));
    expect(Array.from((await withF0.convert(source, { voiceId: 'any' })).data)).toEqual(Array.from((await without.convert(source, { voiceId: 'any' })).data));
    await expect(withF0.convert(source, { voiceId: 'voice-b' }, { settings: { vocalTractNormalization: 1 as never } })).rejects.toThrow(/vocalTractNormalization must be true or false/);
    withF0.dispose();
    without.dispose();
  });

  it('a voice set dispatches on the target voice', async () => {
    const dir = tempDir();
    const converters: CycleGanConverter[] = [];
    for (const voice of ['voice-b', 'voice-c']) {
      const g = new CycleGanGenerator(new Rng(voice.length + voice.charCodeAt(6)), TINY);
      await saveCycleGanModel(join(dir, `${voice}.timbre`), g, info(voice));
      g.dispose();
      converters.push(await loadMelConverter(join(dir, `${voice}.timbre`)));
    }
    const set = new CycleGanVoiceSet(converters);
    expect(set.targetVoices).toEqual(['voice-b', 'voice-c']);
    const source = syntheticMel(0, 1, 12);
    const b = await set.convert(source, { voiceId: 'voice-b' });
    const c = await set.convert(source, { voiceId: 'voice-c' });
    expect(Array.from(b.data)).not.toEqual(Array.from(c.data));
    await expect(set.convert(source, { voiceId: 'voice-d' })).rejects.toThrow(ModelMismatchError);
    set.dispose();
  });

  it('refuses a model file of another kind, and one without its pair', async () => {
    const dir = tempDir();
    const g = new CycleGanGenerator(new Rng(1), TINY);
    const meta = { kindVersion: 1, melConfig: MEL_CONFIG, hyperparameters: { ...TINY } as never, speakers: [], normalization: null, trainingDataHash: '', validationMetrics: {} };
    await saveModelFile(join(dir, 'vae.timbre'), { ...meta, kind: 'vae' }, g.getWeights());
    await expect(loadMelConverter(join(dir, 'vae.timbre'))).rejects.toThrow(ModelMismatchError);
    await expect(loadMelConverter(join(dir, 'vae.timbre'))).rejects.toThrow(/kind is "vae", expected "cyclegan"/);
    await saveModelFile(join(dir, 'bare.timbre'), { ...meta, kind: 'cyclegan', normalization: { mean: [...NORM.mean], std: [...NORM.std] } }, g.getWeights());
    await expect(loadMelConverter(join(dir, 'bare.timbre'))).rejects.toThrow(/source domain or target voice/);
    g.dispose();
  });
});
