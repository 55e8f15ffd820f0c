// DiffVC on tiny configs: shapes, the forward SDE's closed forms, both reverse solvers against an exact score,
// two-stage training lowering its losses without leaking tensors, model-file round trip, refusals and cancel.

import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import type { LogMel } from '../../src/audio/mel.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { conditioningEncoderPath, conversionPitch, loadDiffVc, loadMelConverter } from '../../src/models/diffVc/convert.js';
import { saveSpeakerEncoder } from '../../src/models/speakerEncoder/convert.js';
import { createSpeakerEncoder, resolveSpeakerEncoderConfig, SpeakerJudge } from '../../src/models/speakerEncoder/model.js';
import { referenceStatistics, resolveStoredDiffVcConfig, createDiffVc, DiffVcObjective, DIFFVC_KIND, DIFFVC_KIND_VERSION, encoderLoss, resolveDiffVcConfig, scoreLoss, type DiffVcBatch } from '../../src/models/diffVc/model.js';
import { beta, marginal, reverseStepCoefficients, solveReverse } from '../../src/models/diffVc/sde.js';
import { twoStageSchedule } from '../../src/models/diffVc/train.js';
import { harmonicTemplates } from '../../src/models/pitch.js';
import { tinyCondition } from './diffVcFixtures.js';
import { ModelMismatchError } from '../../src/nn/errors.js';
import { saveModelFile } from '../../src/nn/modelFile.js';
import { Rng } from '../../src/nn/module.js';
import { Trainer } from '../../src/nn/train.js';
import { useWasm } from '../nn/helpers.js';
import { syntheticBatch, TINY_DIFFVC_CONFIG, TINY_DIFFVC_VOICES, TINY_SPEAKER_VECTORS, writeTinyDiffVc } from './diffVcFixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'timbre-diffvc-'));
beforeAll(useWasm);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = TINY_DIFFVC_CONFIG;

function sourceMel(frames: number, seed = 3): LogMel {
  const rng = new Rng(seed);
  const data = new Float32Array(frames * 80);
  for (let i = 0; i < data.length; i++) data[i] = -4 + rng.normal();
  return { frames, mels: 80, data };
}

describe('DiffVC forward', () => {
  it('maps [B, T, 80] to an average voice and a noise estimate of the same shape', () => {
    const model = createDiffVc(config, { seed: 1 });
    tf.tidy(() => {
      const x = tf.randomNormal([2, 24, 80]) as tf.Tensor3D;
      const mean = model.encode(x);
      expect(mean.shape).toEqual([2, 24, 80]);
      const eps = model.predictNoise(x, mean, tf.tensor1d([0.3, 0.9]), tinyCondition(2, 24, TINY_SPEAKER_VECTORS));
      expect(eps.shape).toEqual([2, 24, 80]);
      expect(() => model.predictNoise(tf.zeros([1, 23, 80]) as tf.Tensor3D, tf.zeros([1, 23, 80]) as tf.Tensor3D, tf.tensor1d([0.5]), tinyCondition(1, 23, new Float32Array(4)))).toThrow(/multiple of 2/);
      expect(() => model.predictNoise(x, mean, tf.tensor1d([0.3, 0.9]), { ...tinyCondition(2, 24, TINY_SPEAKER_VECTORS), speaker: tf.zeros([2, 5]) as tf.Tensor2D })).toThrow(/\[2, 4\]/);
      expect(() => model.predictNoise(x, mean, tf.tensor1d([0.3, 0.9]), { speaker: tf.tensor2d(TINY_SPEAKER_VECTORS, [2, 4]) })).toThrow(/reference statistics must be \[2, 160\]/);
    });
    model.dispose();
  });

  it('conditions the score on the speaker vector and the time', () => {
    const model = createDiffVc(config, { seed: 2 });
    const diffs = tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 80], 0, 1, 'float32', 4) as tf.Tensor3D;
      const a = model.predictNoise(x, x, tf.tensor1d([0.5]), tinyCondition(1, 16, TINY_SPEAKER_VECTORS.subarray(0, 4)));
      const b = model.predictNoise(x, x, tf.tensor1d([0.5]), tinyCondition(1, 16, TINY_SPEAKER_VECTORS.subarray(4, 8)));
      const c = model.predictNoise(x, x, tf.tensor1d([0.9]), tinyCondition(1, 16, TINY_SPEAKER_VECTORS.subarray(0, 4)));
      return [tf.mean(tf.abs(tf.sub(a, b))).dataSync()[0]!, tf.mean(tf.abs(tf.sub(a, c))).dataSync()[0]!];
    });
    expect(diffs[0]).toBeGreaterThan(1e-4);
    expect(diffs[1]).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('refuses a config with bad sizes, naming the field', () => {
    expect(() => resolveDiffVcConfig({ cropFrames: 30 })).toThrow(/cropFrames/);
    expect(() => resolveDiffVcConfig({ normGroups: 7 })).toThrow(/normGroups/);
    expect(() => resolveDiffVcConfig({ betaMax: 0.01 })).toThrow(/betaMin/);
    expect(() => resolveDiffVcConfig({ encoderFraction: 2 })).toThrow(/encoderFraction/);
  });
});

describe('forward SDE', () => {
  it('has the closed-form mean weight and variance of dX = ½β(μ − X)dt + √β dW', () => {
    // Integrate the moment ODEs dm/dt = ½β(μ − m), dv/dt = β(1 − v) finely from m = x0, v = 0.
    const x0 = 2;
    const mu = -1;
    let m = x0;
    let v = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const t = (i + 0.5) / n;
      const b = beta(config, t);
      m += (0.5 * b * (mu - m)) / n;
      v += (b * (1 - v)) / n;
      if (i + 1 === n / 4 || i + 1 === n) {
        const closed = marginal(config, (i + 1) / n);
        expect(m).toBeCloseTo(closed.x0Weight * x0 + (1 - closed.x0Weight) * mu, 4);
        expect(v).toBeCloseTo(closed.variance, 4);
      }
    }
    // The end of the process is N(μ, I) to within γ(0, 1) ≈ 0.0066.
    expect(marginal(config, 1).x0Weight).toBeLessThan(0.007);
    expect(marginal(config, 1).variance).toBeGreaterThan(0.9999);
  });

  it('gives the ML solver a deterministic last step and Euler–Maruyama its textbook coefficients', () => {
    expect(reverseStepCoefficients(config, 1 / 6, 1 / 6, 'ml').sigma).toBe(0);
    const em = reverseStepCoefficients(config, 0.5, 0.1, 'euler');
    const b = beta(config, 0.5) * 0.1;
    expect(em).toEqual({ a: 1 + 0.5 * b, b, sigma: Math.sqrt(b) });
    // As h → 0 the ML step approaches the Euler–Maruyama step.
    const ml = reverseStepCoefficients(config, 0.5, 1e-4, 'ml');
    const eu = reverseStepCoefficients(config, 0.5, 1e-4, 'euler');
    expect(ml.a).toBeCloseTo(eu.a, 6);
    expect(ml.b / eu.b).toBeCloseTo(1, 3);
    expect(ml.sigma / eu.sigma).toBeCloseTo(1, 2);
  });
});

describe('reverse solvers with the exact score', () => {
  // X_0 ~ N(m0, s0²) per value; then X_t ~ N(w m0 + (1 − w)μ, w² s0² + 1 − w²) and its score is exact.
  const m0 = 1.5;
  const s0 = 0.5;
  const mu = -0.5;
  const n = 20_000;

  async function sample(steps: number, solver: 'ml' | 'euler', seed = 5): Promise<{ mean: number; variance: number }> {
    const rng = new Rng(seed);
    const { x0Weight: w1, variance: l1 } = marginal(config, 1);
    const sd1 = Math.sqrt(w1 * w1 * s0 * s0 + l1);
    const start = new Float32Array(n);
    for (let i = 0; i < n; i++) start[i] = w1 * m0 + (1 - w1) * mu + sd1 * rng.normal();
    const startT = tf.tensor2d(start, [1, n]);
    const meanT = tf.fill([1, n], mu);
    const x = await solveReverse({
      start: startT,
      mean: meanT,
      schedule: config,
      steps,
      solver,
      rng,
      score: (xt, t) => {
        const { x0Weight: w, variance: l } = marginal(config, t);
        return tf.div(tf.sub(xt, w * m0 + (1 - w) * mu), -(w * w * s0 * s0 + l));
      },
    });
    const values = x.dataSync() as Float32Array;
    tf.dispose([x, startT, meanT]);
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / n;
    let sq = 0;
    for (const v of values) sq += (v - mean) ** 2;
    return { mean, variance: sq / n };
  }

  it('ML lands on the data mean at any step count, its variance growing towards the data variance with steps', async () => {
    for (const steps of [1, 2, 6]) expect(Math.abs((await sample(steps, 'ml')).mean - m0), `${steps} steps`).toBeLessThan(0.02);
    // Each ML step is the bridge's mean given the Tweedie estimate of X_0, so finite steps under-disperse
    // (the recursion of the variance gives 0.31, 0.70, 0.88 of s0² at 6, 30, 100 steps).
    const ratios = [];
    for (const steps of [6, 30, 100]) ratios.push((await sample(steps, 'ml')).variance / (s0 * s0));
    expect(ratios[0]).toBeCloseTo(0.31, 1);
    expect(ratios[1]).toBeCloseTo(0.7, 1);
    expect(ratios[2]).toBeCloseTo(0.88, 1);
    expect((await sample(100, 'ml')).mean).toBeCloseTo(m0, 1);
  });

  it('Euler–Maruyama converges to the same mean as its steps grow', async () => {
    const few = Math.abs((await sample(4, 'euler')).mean - m0);
    const many = await sample(100, 'euler');
    expect(Math.abs(many.mean - m0)).toBeLessThan(few);
    expect(Math.abs(many.mean - m0)).toBeLessThan(0.05);
    expect(many.variance / (s0 * s0)).toBeGreaterThan(0.8);
    expect(many.variance / (s0 * s0)).toBeLessThan(1.25);
  });
});

describe('DiffVC training', () => {
  it('lowers the encoder loss in stage 1 and the score loss in stage 2, leaking no tensors', async () => {
    const model = createDiffVc(config, { seed: 3 });
    const fixed = syntheticBatch(4, 16, 11);
    const encoderSteps = 12;
    const totalSteps = 30;
    const measure = (): { encoder: number; score: number } =>
      tf.tidy(() => {
        const { loss, mean } = encoderLoss(model, fixed);
        return { encoder: loss.dataSync()[0]!, score: scoreLoss(model, fixed, mean, new Rng(99)).dataSync()[0]! };
      });
    const before = measure();
    const objective = new DiffVcObjective(model, encoderSteps);
    const trainer = new Trainer<DiffVcBatch>({
      model,
      lossFn: (batch, ctx) => objective.loss(batch, ctx),
      train: { size: 4, getBatch: () => syntheticBatch(4, 16, 11) },
      batchSize: 4,
      totalSteps,
      logEvery: 1,
      optimizer: { learningRate: twoStageSchedule(config, totalSteps, encoderSteps), decays: (name, v) => v.rank >= 2 && !name.startsWith('encoder.') },
    });
    const counts: number[] = [];
    const logged: Record<string, number>[] = [];
    trainer.on('step', (e) => {
      counts.push(tf.memory().numTensors);
      logged.push({ ...e.losses });
    });
    const encoderBefore = new Map([...model.encoder.getWeights()].map(([k, w]) => [k, w.data.slice()]));
    let encoderAtSwitch: Map<string, Float32Array> | undefined;
    trainer.on('step', (e) => {
      if (e.step === encoderSteps) encoderAtSwitch = new Map([...model.encoder.getWeights()].map(([k, w]) => [k, w.data.slice()]));
    });
    await trainer.run();
    objective.settle();
    const after = measure();
    expect(after.encoder).toBeLessThan(0.8 * before.encoder);
    expect(after.score).toBeLessThan(before.score);
    // Stage 1 logs the encoder loss (score not computed), stage 2 both.
    expect(Number.isNaN(logged[0]!['score'])).toBe(true);
    expect(Number.isFinite(logged[totalSteps - 1]!['score'])).toBe(true);
    // The encoder moves in stage 1; stage 2 uses the copy taken at the switch, which `settle` puts back.
    const drift = (a: Map<string, Float32Array>, b: Map<string, Float32Array>): number => {
      let d = 0;
      for (const [k, v] of a) for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i]! - b.get(k)![i]!));
      return d;
    };
    expect(objective.encoderFrozen).toBe(true);
    objective.settle();
    const encoderAfter = new Map([...model.encoder.getWeights()].map(([k, w]) => [k, w.data.slice()]));
    expect(drift(encoderBefore, encoderAtSwitch!)).toBeGreaterThan(1e-2);
    expect(drift(encoderAtSwitch!, encoderAfter)).toBe(0);
    // A steady tensor count within each stage; the switch adds exactly the encoder copy's variables.
    expect(new Set(counts.slice(0, encoderSteps)).size).toBe(1);
    expect(new Set(counts.slice(encoderSteps)).size).toBe(1);
    expect(counts[encoderSteps]! - counts[encoderSteps - 1]!).toBe(model.encoder.parameters().length);
    await trainer.dispose();
    objective.dispose();
    tf.dispose(fixed as unknown as tf.TensorContainer);
    model.dispose();
  }, 30_000);
});

describe('DiffVC model file and converter', () => {
  const path = join(dir, 'tiny.timbre');
  beforeAll(() => writeTinyDiffVc(path));

  it('round-trips: a loaded file converts identically for a fixed seed, differently for another', async () => {
    const a = await loadMelConverter(path);
    const b = await loadMelConverter(path);
    expect(a.family).toBe('diffvc');
    expect(a.targetVoices).toEqual([...TINY_DIFFVC_VOICES, '*']); // reads reference statistics: any voice given a reference
    expect(a.voices).toEqual([...TINY_DIFFVC_VOICES]);
    expect(a.rendersPitch).toBe(true);
    expect(a.label).toBe('DiffVC (2 voices)');
    const src = sourceMel(37);
    const settings = { steps: 3, solver: 'ml' as const, seed: 4 };
    const x = await a.convert(src, { voiceId: 'voice-b' }, { settings });
    const y = await b.convert(src, { voiceId: 'voice-b' }, { settings });
    expect(x.frames).toBe(37);
    expect(x.data).toEqual(y.data);
    expect(x.data.every(Number.isFinite)).toBe(true);
    const z = await a.convert(src, { voiceId: 'voice-b' }, { settings: { ...settings, seed: 5 } });
    expect(z.data).not.toEqual(x.data);
    const euler = await a.convert(src, { voiceId: 'voice-a' }, { settings: { steps: 2, solver: 'euler' } });
    expect(euler.frames).toBe(37);
    const loaded = await loadDiffVc(path);
    expect(loaded.speakerVectors).toEqual(TINY_SPEAKER_VECTORS);
    expect(loaded.trainingDataHash).toBe('synthetic');
    loaded.model.dispose();
    a.dispose();
    b.dispose();
  });

  it('reports progress per solver step, leaks no tensors, and stops when cancelled between steps', async () => {
    const converter = await loadMelConverter(path);
    const src = sourceMel(20);
    await converter.convert(src, { voiceId: 'voice-a' }, { settings: { steps: 2 } });
    const tensors = tf.memory().numTensors;
    const fractions: number[] = [];
    await converter.convert(src, { voiceId: 'voice-a' }, { settings: { steps: 5 }, onProgress: (f) => fractions.push(f) });
    expect(fractions).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(tf.memory().numTensors).toBe(tensors);
    const controller = new AbortController();
    const seen: number[] = [];
    const run = converter.convert(src, { voiceId: 'voice-a' }, {
      settings: { steps: 10 },
      signal: controller.signal,
      onProgress: (f) => {
        seen.push(f);
        if (seen.length === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(tensors);
    converter.dispose();
  });

  it('converts a long input in chunks, progress running over all of them', async () => {
    const converter = await loadMelConverter(path);
    const fractions: number[] = [];
    const out = await converter.convert(sourceMel(1100), { voiceId: 'voice-b' }, { settings: { steps: 2 }, onProgress: (f) => fractions.push(f) });
    expect(out.frames).toBe(1100);
    expect(out.data.every(Number.isFinite)).toBe(true);
    expect(fractions).toEqual([0.25, 0.5, 0.75, 1]);
    converter.dispose();
  });

  it('refuses unknown voices and bad settings; converts to a voice it does not list from its embedding and reference mels', async () => {
    const converter = await loadMelConverter(path);
    const src = sourceMel(8);
    await expect(converter.convert(src, { voiceId: 'nobody' })).rejects.toMatchObject({ code: 'VOICE_NOT_FOUND' });
    await expect(converter.convert(src, { voiceId: 'voice-a' }, { settings: { steps: 0 } })).rejects.toThrow(/steps/);
    await expect(converter.convert(src, { voiceId: 'voice-a' }, { settings: { steps: 101 } })).rejects.toThrow(/steps/);
    await expect(converter.convert(src, { voiceId: 'voice-a' }, { settings: { solver: 'pf' as never } })).rejects.toThrow(/solver/);
    await expect(converter.convert(src, { voiceId: 'other', speakerEmbedding: new Float32Array(3), referenceMels: [sourceMel(900, 5)] })).rejects.toThrow(/4 finite values/);
    await expect(converter.convert(src, { voiceId: 'other', speakerEmbedding: new Float32Array([0, 0.6, 0.8, 0]) })).rejects.toThrow(/reference recordings/);
    const embedding = new Float32Array([0, 0.6, 0.8, 0]);
    // 64 frames are 0.74 s; a voice is heard from ≥ 10 s (862 frames), in one clip or several.
    await expect(converter.convert(src, { voiceId: 'other', speakerEmbedding: embedding, referenceMels: [sourceMel(64, 5)] })).rejects.toMatchObject({ code: 'REFERENCE_TOO_SHORT' });
    await expect(converter.convert(src, { voiceId: 'other', speakerEmbedding: embedding, referenceMels: [sourceMel(400, 5), sourceMel(400, 6)] })).rejects.toThrow(/9\.3 s; give at least 10 s/);
    const given = await converter.convert(src, { voiceId: 'other', speakerEmbedding: embedding, referenceMels: [sourceMel(500, 5), sourceMel(400, 6)] });
    const stored = await converter.convert(src, { voiceId: 'voice-b' });
    expect(given.data.every(Number.isFinite)).toBe(true);
    expect(given.data).not.toEqual(stored.data); // same d-vector, other reference statistics and F0
    converter.dispose();
  });

  it('embeds a voice it does not list with its own conditioning encoder (beside the model file), not with the given embedding', async () => {
    const folder = join(dir, 'conditioned');
    mkdirSync(folder, { recursive: true });
    const modelPath = join(folder, 'model.timbre');
    await writeTinyDiffVc(modelPath);
    const encoder = createSpeakerEncoder(resolveSpeakerEncoderConfig({ channels: [8, 8], strides: [1, 2], normGroups: 4, hiddenDims: 8, embeddingDims: 4 }), { seed: 3 });
    const encoderPath = conditioningEncoderPath(modelPath);
    expect(encoderPath).toBe(join(folder, 'model.speaker-encoder.timbre'));
    await saveSpeakerEncoder(encoderPath, { encoder, judge: new SpeakerJudge(['voice-a'], new Float32Array([1, 0, 0, 0])), trainingDataHash: 'synthetic', validationMetrics: {} }, { overwrite: true });
    const refs = [sourceMel(500, 5), sourceMel(400, 6)];
    const own = encoder.embedReference(refs);
    encoder.dispose();
    const conditioned = await loadMelConverter(modelPath);
    const plain = await loadMelConverter(path); // same weights (seed 1), no encoder beside it
    expect(conditioned.embedsReferences).toBe(true);
    expect(plain.embedsReferences).toBe(false);
    const src = sourceMel(8);
    const other = new Float32Array([1, 0, 0, 0]);
    const byOwn = await conditioned.convert(src, { voiceId: 'other', speakerEmbedding: other, referenceMels: refs });
    expect(conditioned.speakerVector({ voiceId: 'other', speakerEmbedding: other, referenceMels: refs })).toEqual(own);
    expect(byOwn.data).toEqual((await plain.convert(src, { voiceId: 'other', speakerEmbedding: own, referenceMels: refs })).data);
    expect(byOwn.data).not.toEqual((await plain.convert(src, { voiceId: 'other', speakerEmbedding: other, referenceMels: refs })).data);
    // The engine lists the folder's one converter under the folder's name; the encoder beside it is no model.
    const registry = new ModelRegistry({ searchDirs: [{ dir, origin: 'user' }] });
    expect((await registry.list()).filter((m) => m.id.startsWith('user/conditioned')).map((m) => m.id)).toEqual(['user/conditioned']);
    await registry.dispose();
    conditioned.dispose();
    plain.dispose();
  });

  it('refuses a file of another kind, version or feature config', async () => {
    const weights = new Map([['w', { data: new Float32Array([1]), shape: [1] }]]);
    const header = { hyperparameters: {}, speakers: [], normalization: null, trainingDataHash: 'x', validationMetrics: {}, extra: {} };
    const vae = join(dir, 'vae.timbre');
    await saveModelFile(vae, { ...header, kind: 'vae', kindVersion: 1, melConfig: MEL_CONFIG }, weights, { overwrite: true });
    await expect(loadDiffVc(vae)).rejects.toBeInstanceOf(ModelMismatchError);
    const newer = join(dir, 'newer.timbre');
    await saveModelFile(newer, { ...header, kind: DIFFVC_KIND, kindVersion: DIFFVC_KIND_VERSION + 1, melConfig: MEL_CONFIG }, weights, { overwrite: true });
    await expect(loadDiffVc(newer)).rejects.toBeInstanceOf(ModelMismatchError);
    const otherMels = join(dir, 'mels.timbre');
    await saveModelFile(otherMels, { ...header, kind: DIFFVC_KIND, kindVersion: DIFFVC_KIND_VERSION, melConfig: { ...MEL_CONFIG, melBins: 64 } }, weights, { overwrite: true });
    await expect(loadDiffVc(otherMels)).rejects.toBeInstanceOf(ModelMismatchError);
  });

  it('is listed by the engine as an available DiffVC model with its voices', async () => {
    const models = join(dir, 'models');
    mkdirSync(join(models, 'diffvc'), { recursive: true });
    await writeTinyDiffVc(join(models, 'diffvc', 'model.timbre'));
    const registry = new ModelRegistry({ searchDirs: [{ dir: models, origin: 'user' }] });
    const info = (await registry.list()).find((m) => m.family === 'diffvc')!;
    expect(info).toMatchObject({ id: 'user/diffvc', available: true, targetVoices: [...TINY_DIFFVC_VOICES, '*'], label: 'DiffVC (2 voices)' });
    expect(info.settings.map((s) => s.key)).toContain('solver');
    const converter = await registry.converter('user/diffvc');
    expect(converter.family).toBe('diffvc');
    const out = await converter.convert(sourceMel(12), { voiceId: 'voice-a' }, { settings: { steps: 2 } });
    expect(out.frames).toBe(12);
    await registry.dispose();
  });
});

describe('DiffVC conditioning inputs', () => {
  it('reference statistics: per-bin mean and spread of the normalised log-mel over non-silent frames', () => {
    const floor = Math.log(MEL_CONFIG.logFloor);
    const frames = 4;
    const data = new Float32Array(frames * 80);
    for (let m = 0; m < 80; m++) {
      data[m] = 1; // frame 0: 1 everywhere
      data[80 + m] = 3; // frame 1: 3 everywhere
      data[2 * 80 + m] = floor; // frames 2, 3: silence, left out
      data[3 * 80 + m] = floor + 1;
    }
    const norm = { mean: new Float32Array(80).fill(1), std: new Float32Array(80).fill(2) };
    const stats = referenceStatistics([{ frames, mels: 80, data }], norm);
    expect(stats).toHaveLength(160);
    expect(stats[0]).toBeCloseTo(0.5, 6); // normalised values 0 and 1
    expect(stats[80]).toBeCloseTo(0.5, 6);
    expect(() => referenceStatistics([{ frames: 2, mels: 80, data: new Float32Array(160).fill(floor) }], norm)).toThrow(/silent/);
  });

  it('asks for the source F0 moved to the target mean', () => {
    // A harmonic log-mel at 110 Hz (the templates pitch.ts matches), converted toward a 220 Hz voice: shift one octave.
    const f0 = new Float32Array(40).fill(110);
    const mel = { frames: 40, mels: 80, data: new Float32Array(40 * 80) };
    const templates = harmonicTemplates(f0);
    for (let i = 0; i < mel.data.length; i++) mel.data[i] = -2 + 2 * templates[i]!;
    const pitch = conversionPitch(mel, Math.log(220));
    expect(pitch.f0Hz.filter((f) => f > 0).length).toBeGreaterThan(30);
    expect(pitch.shiftNepers).toBeCloseTo(Math.log(2), 1);
    expect(conversionPitch(mel, Number.NaN).shiftNepers).toBe(0);
    // The app's pitch settings: keep the source's pitch, and shift by semitones on top.
    expect(conversionPitch(mel, Math.log(220), { pitch: 'source' }).shiftNepers).toBe(0);
    expect(conversionPitch(mel, Math.log(220), { pitch: 'source', semitones: -12 }).shiftNepers).toBeCloseTo(-Math.log(2), 6);
    expect(conversionPitch(mel, Math.log(220), { semitones: 12 }).shiftNepers).toBeCloseTo(2 * Math.log(2), 1);
    expect(() => conversionPitch(mel, Math.log(220), { semitones: 30 })).toThrow(/semitones must be a number in \[-24, 24\]/);
    expect(() => conversionPitch(mel, Math.log(220), { pitch: 'up' as never })).toThrow(/pitch must be "target" or "source"/);
  });

  it('refuses a missing pitch or reference input when the config asks for them', () => {
    const model = createDiffVc(config, { seed: 1 });
    tf.tidy(() => {
      const x = tf.zeros([1, 16, 80]) as tf.Tensor3D;
      const full = tinyCondition(1, 16, TINY_SPEAKER_VECTORS.subarray(0, 4));
      expect(() => model.predictNoise(x, x, tf.tensor1d([0.5]), { speaker: full.speaker, reference: full.reference! })).toThrow(/pitch features must be \[1, 16, 82\]/);
      expect(() => model.predictNoise(x, x, tf.tensor1d([0.5]), { ...full, pitch: tf.zeros([1, 8, 82]) as tf.Tensor3D })).toThrow(/pitch features/);
    });
    model.dispose();
  });

  it('reads a version-2 file (no pitch or reference input) as that version was built', () => {
    const { pitchInput: _p, referenceInput: _r, crossVoiceShare: _c, ...version2 } = TINY_DIFFVC_CONFIG;
    const stored = resolveStoredDiffVcConfig(version2, 2);
    expect(stored.pitchInput).toBe(false);
    expect(stored.referenceInput).toBe(false);
    expect(resolveStoredDiffVcConfig({} as never, 3).pitchInput).toBe(true);
  });
});
