// CycleDiffusion: the cycle term trains the decoder through the B → A reverse pass (gradient checked against a
// finite difference on a tiny model), the A → B pass and the encoder take none, and a tiny run on a built corpus
// writes a model file that converts under its own family.

import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { TRAINERS } from '../../src/engine/trainers.js';
import { convertPass, cycleDiffusionLoss, cycleLoss, drawCycleNoise, resolveCycleDiffusionConfig } from '../../src/models/cycleDiffusion/model.js';
import { prepareCycleDiffusionTraining } from '../../src/models/cycleDiffusion/train.js';
import { loadMelConverter } from '../../src/models/cycleDiffusion/convert.js';
import { batchCondition, createDiffVc, frozen, type DiffVcBatch, type DiffVcConfig } from '../../src/models/diffVc/model.js';
import { loadDiffVc, saveDiffVc } from '../../src/models/diffVc/convert.js';
import { Rng } from '../../src/nn/module.js';
import { TEST_VOICES } from '../corpus/render.js';
import { syntheticBatch, tinyCondition, TINY_DIFFVC_CONFIG, TINY_SPEAKER_VECTORS } from './diffVcFixtures.js';
import { useWasm } from '../nn/helpers.js';

const cycleConfig = resolveCycleDiffusionConfig({ cycleSteps: 3 });

/** A synthetic batch whose items convert to the other tiny voice. */
function cycleBatch(seed: number, config: DiffVcConfig = TINY_DIFFVC_CONFIG): DiffVcBatch {
  const batch = syntheticBatch(2, 16, seed, config);
  const swapped = new Float32Array([...TINY_SPEAKER_VECTORS.subarray(4, 8), ...TINY_SPEAKER_VECTORS.subarray(0, 4)]);
  return { ...batch, target: tinyCondition(2, 16, swapped, config, seed + 1) };
}

beforeAll(async () => {
  await useWasm();
});

describe('CycleDiffusion cycle term', () => {
  it('has a non-zero gradient in the decoder that matches a finite difference, and none in the encoder', () => {
    const model = createDiffVc(TINY_DIFFVC_CONFIG, { seed: 3 });
    const batch = cycleBatch(5);
    const noise = drawCycleNoise(new Rng(8), [2, 16, 80], cycleConfig.cycleSteps);
    const decoderVars = model.decoder.parameters();
    const encoderVars = model.encoder.parameters();
    const { value, grads } = tf.variableGrads(() => cycleLoss(model, batch, noise, cycleConfig).loss, [...decoderVars, ...encoderVars]);
    value.dispose();
    const decoderNorm = Math.sqrt(decoderVars.reduce((s, v) => s + tf.sum(tf.square(grads[v.name]!)).dataSync()[0]!, 0));
    expect(decoderNorm).toBeGreaterThan(1e-4);
    for (const v of encoderVars) expect(grads[v.name] === undefined || tf.max(tf.abs(grads[v.name]!)).dataSync()[0]! === 0).toBe(true);

    // The loss as a function of the decoder weights with x̂_B held fixed (the A → B pass carries no gradient).
    const converted = tf.tidy(() => {
      const encode = (x: tf.Tensor3D): tf.Tensor3D => frozen(() => model.encoder.forward(x), x);
      return convertPass(model, batch.mel, encode, batch.target!, noise, cycleConfig);
    });
    const lossAt = (): number =>
      tf.tidy(() => {
        const encode = (x: tf.Tensor3D): tf.Tensor3D => frozen(() => model.encoder.forward(x), x);
        const back = convertPass(model, converted, encode, batchCondition(batch), noise, cycleConfig);
        return tf.mean(tf.abs(tf.sub(back, batch.mel))).dataSync()[0]!;
      });
    // Directional derivative along a random unit direction over every decoder weight.
    const rng = new Rng(21);
    const direction = decoderVars.map((v) => tf.tensor(Float32Array.from({ length: v.size }, () => rng.normal()), v.shape));
    const norm = Math.sqrt(direction.reduce((s, d) => s + tf.sum(tf.square(d)).dataSync()[0]!, 0));
    const original = decoderVars.map((v) => v.clone());
    const shift = (epsilon: number): void => decoderVars.forEach((v, i) => v.assign(tf.add(original[i]!, tf.mul(direction[i]!, epsilon / norm))));
    const epsilon = 1e-2;
    shift(epsilon);
    const plus = lossAt();
    shift(-epsilon);
    const minus = lossAt();
    shift(0);
    const numeric = (plus - minus) / (2 * epsilon);
    const analytic = decoderVars.reduce((s, v, i) => s + tf.sum(tf.mul(grads[v.name]!, direction[i]!)).dataSync()[0]!, 0) / norm;
    expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
    expect(Math.abs(numeric - analytic)).toBeLessThan(0.05 * Math.abs(analytic) + 1e-4);
    tf.dispose([converted, ...direction, ...original, ...Object.values(grads)]);
    tf.dispose(batch as unknown as tf.TensorContainer);
    model.dispose();
  });

  it('adds the cycle term to the score loss and refuses a batch without a conversion target', () => {
    const model = createDiffVc(TINY_DIFFVC_CONFIG, { seed: 4 });
    const batch = cycleBatch(6);
    const before = tf.memory().numTensors;
    const [total, score, cycle] = tf.tidy(() => {
      const { total: t, parts } = cycleDiffusionLoss(model, batch, new Rng(1), cycleConfig);
      return [t, parts['score']!, parts['cycle']!].map((x) => x.dataSync()[0]!);
    });
    expect(tf.memory().numTensors).toBe(before); // the noise and both passes live inside the caller's tidy
    expect(Number.isFinite(cycle!)).toBe(true);
    expect(cycle!).toBeGreaterThan(0);
    expect(total!).toBeCloseTo(score! + cycle!, 4);
    const { target: _target, ...plain } = batch;
    expect(() => cycleLoss(model, plain, drawCycleNoise(new Rng(2), [2, 16, 80], 3), cycleConfig)).toThrow(/conversion target/);
    expect(() => resolveCycleDiffusionConfig({ cycleSteps: 0 })).toThrow(/cycleSteps/);
    expect(() => resolveCycleDiffusionConfig({ solver: 'pf' as never })).toThrow(/solver/);
    tf.dispose(batch as unknown as tf.TensorContainer);
    model.dispose();
  });
});

describe('CycleDiffusion training run', () => {
  const home = mkdtempSync(join(tmpdir(), 'timbre-cyclediffusion-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('fine-tunes a DiffVC on a tiny corpus and writes a CycleDiffusion file that converts', async () => {
    await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
    const base = join(home, 'diffvc.timbre');
    const config = { ...(TRAINERS.diffvc.tinyConfig as object), speakerDims: 4 } as Partial<DiffVcConfig>;
    const model = createDiffVc(config, { seed: 1 });
    const voices = [...TEST_VOICES];
    const vectors = new Float32Array(voices.length * 4).map((_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0));
    const tables = { logF0: new Float32Array(voices.length).fill(Math.log(150)), reference: new Float32Array(voices.length * 160) };
    await saveDiffVc(base, { model, voices, speakerVectors: vectors, voiceTables: tables, trainingDataHash: 'tiny' }, { overwrite: true });
    const before = model.decoder.getWeights();
    model.dispose();

    const lines: string[] = [];
    const run = await prepareCycleDiffusionTraining({
      home,
      init: base,
      steps: 2,
      batchSize: 2,
      seed: 0,
      workers: 1,
      runDir: join(home, 'run'),
      resume: false,
      logEvery: 1,
      validateEvery: 0,
      checkpointEvery: 0,
      config: { ...(TRAINERS.cyclediffusion.tinyConfig as object) },
      log: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toMatch(/gradient through the B → A pass/);
    const result = await run.trainer.run();
    expect(result.history.every((row) => Number.isFinite(row['cycle']!) && Number.isFinite(row['score']!))).toBe(true);
    const out = join(home, 'cyclediffusion.timbre');
    await run.finish(result, out, { overwrite: false, command: 'test', trainingSeconds: 1 });
    await run.dispose();

    await expect(loadDiffVc(out)).rejects.toThrow(/kind is "cycleDiffusion"/); // not a DiffVC file
    const converter = await loadMelConverter(out);
    expect(converter.family).toBe('cyclediffusion');
    expect(converter.label).toMatch(/^CycleDiffusion/);
    const changed = [...before].some(([name, w]) => {
      const after = (converter.model.decoder.getWeights().get(name)!.data as Float32Array);
      return w.data.some((v, i) => Math.abs(v - after[i]!) > 1e-7);
    });
    expect(changed).toBe(true);
    const source = { frames: 30, mels: 80, data: new Float32Array(30 * 80).fill(-5) };
    expect((await converter.convert(source, { voiceId: voices[0]! }, { settings: { steps: 2 } })).frames).toBe(30);
    converter.dispose();
  }, 60_000);
});
