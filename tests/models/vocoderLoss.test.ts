// The vocoder's objective on a tiny config: STFT distance of a signal to itself and to noisy copies, gradients that are
// finite and match finite differences, a few optimizer steps that lower the loss on a fixed batch, no tensor leaks.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { Rng } from '../../src/nn/module.js';
import { Trainer } from '../../src/nn/train.js';
import { DftStft } from '../../src/models/vocoder/dft.js';
import {
  createVocoder,
  DEFAULT_VOCODER_CONFIG,
  lossOffset,
  stftDistance,
  stftMagnitude,
  vocoderGflopsPerSecond,
  VOCODER_BINS,
  VocoderObjective,
  type VocoderBatch,
} from '../../src/models/vocoder/model.js';
import { logMelToLinearMagnitude } from '../../src/audio/mel.js';
import { vocoderItem } from '../../src/models/vocoder/train.js';
import { useWasm } from '../nn/helpers.js';
import { fixtureBatch, HOP, speechFixture, statsOf, TINY, TINY_LOSS } from './vocoderFixtures.js';

const fixture = speechFixture(1.2);
const NORM = statsOf(fixture.mel);
const FRAMES = 12;

beforeAll(async () => {
  await useWasm();
});

/** Multi-resolution STFT distance (mean of SC + log-magnitude L1) of a waveform crop to the fixture's crop at `start`. */
function distanceToFixture(wave: Float32Array, start: number): number {
  const item = vocoderItem(fixture.samples, fixture.mel, start, FRAMES, TINY_LOSS);
  return tf.tidy(() => {
    const y = tf.tensor2d(wave, [1, wave.length]);
    const terms = TINY_LOSS.stftSizes.map((nFft, r) => {
      const ops = new DftStft(nFft);
      const { re, im } = ops.stft(y, lossOffset(nFft));
      const target = tf.tensor(item.stftMagnitudes[r]!, re.shape);
      const d = stftDistance(stftMagnitude(re, im), target);
      ops.dispose();
      return tf.add(d.convergence, d.logMagnitude);
    });
    return tf.addN(terms).dataSync()[0]! / terms.length;
  });
}

describe('STFT loss', () => {
  it('is ~0 for the signal itself and grows with added noise', () => {
    const start = 20;
    const clean = fixture.samples.slice(start * HOP, (start + FRAMES) * HOP);
    const rng = new Rng(1);
    const noisy = (level: number) => clean.map((v) => v + level * rng.normal());
    const d0 = distanceToFixture(clean, start);
    const d1 = distanceToFixture(noisy(0.003), start);
    const d2 = distanceToFixture(noisy(0.03), start);
    const d3 = distanceToFixture(noisy(0.3), start);
    expect(d0).toBeLessThan(1e-3);
    expect(d1).toBeGreaterThan(d0 + 0.01);
    expect(d2).toBeGreaterThan(d1 + 0.05);
    expect(d3).toBeGreaterThan(d2 + 0.05);
  });

  it('of another stretch of the same signal is large', () => {
    const other = fixture.samples.slice(50 * HOP, (50 + FRAMES) * HOP);
    expect(distanceToFixture(other, 20)).toBeGreaterThan(0.5);
  });
});

describe.each(['waveform', 'magnitude'] as const)('VocoderObjective (%s)', (objectiveKind) => {
  const LOSS = { ...TINY_LOSS, objective: objectiveKind };
  // For the finite differences of the magnitude objective its ln|S| L1 (≈ 2, the same term the waveform objective checks)
  // is left out: beside it float32 cannot resolve the small loss changes of the other two.
  const GRADIENT_LOSS = objectiveKind === 'waveform' ? LOSS : { ...LOSS, amplitudeWeight: 0 };
  it('names its parts, and every gradient is finite and matches a central finite difference', () => {
    const net = createVocoder(TINY, NORM, 2);
    const objective = new VocoderObjective(net, GRADIENT_LOSS);
    const batch = fixtureBatch(fixture, [3, 30], FRAMES);
    const lossValue = () => tf.tidy(() => objective.lossOf(batch).total.dataSync()[0]!);
    const parts = tf.tidy(() => Object.fromEntries(Object.entries(objective.lossOf(batch).parts).map(([k, v]) => [k, v.dataSync()[0]!])));
    expect(Object.keys(parts).sort()).toEqual(objectiveKind === 'waveform' ? ['amp', 'cons', 'gd', 'iaf', 'ip', 'mel', 'stft'] : ['amp', 'mel', 'stft']);
    for (const v of Object.values(parts)) expect(Number.isFinite(v) && v >= 0).toBe(true);
    const params = net.namedParameters();
    const { value, grads } = tf.variableGrads(() => objective.lossOf(batch).total, [...params.values()]);
    value.dispose();
    for (const [name, p] of params) {
      // The magnitude objective does not reach the phase head (its phase comes from the magnitude at conversion).
      if (objectiveKind === 'magnitude' && name.startsWith('phaseHead')) {
        expect(grads[p.name], `${name} has no gradient`).toBeUndefined();
        continue;
      }
      const g = grads[p.name]!.dataSync();
      expect(g.every(Number.isFinite), `gradient of ${name} is finite`).toBe(true);
    }
    const checked = ['inputConv.weight', 'blocks.0.dwWeight', 'blocks.0.pw1.weight', 'blocks.0.scale', 'magnitudeHead.weight', 'outputNorm.gamma'];
    for (const name of objectiveKind === 'waveform' ? [...checked, 'phaseHead.weight'] : checked) {
      const p = params.get(name)!;
      const g = grads[p.name]!.dataSync();
      let k = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[k]!)) k = i;
      const original = p.dataSync().slice();
      // The unit-vector phase head is strongly curved (2e-3 is already outside its linear range); the magnitude loss is
      // smooth, and its smaller gradients need a step whose loss change float32 resolves.
      const eps = objectiveKind === 'waveform' ? 5e-4 : 3e-3;
      const at = (delta: number) => {
        const moved = original.slice();
        moved[k] = original[k]! + delta;
        tf.tidy(() => p.assign(tf.tensor(moved, p.shape)));
        return lossValue();
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => p.assign(tf.tensor(original, p.shape)));
      // The magnitude loss is smaller and smoother: smaller gradients, checked with a tighter absolute tolerance.
      const [smallest, slack] = objectiveKind === 'waveform' ? [1e-3, 5e-3] : [1e-4, 1e-4];
      expect(Math.abs(g[k]!), `${name} has a gradient`).toBeGreaterThan(smallest);
      expect(Math.abs(fd - g[k]!), `${name}[${k}]: finite difference ${fd}, gradient ${g[k]}`).toBeLessThan(0.03 * Math.abs(g[k]!) + slack);
    }
    tf.dispose(Object.values(grads));
    tf.dispose(batch as unknown as tf.TensorContainer);
    objective.dispose();
    net.dispose();
  });

  it('refuses crops too short for its STFTs (waveform) or shorter than their targets (magnitude)', () => {
    const net = createVocoder(TINY, NORM, 0);
    const objective = new VocoderObjective(net, LOSS);
    const batch = fixtureBatch(fixture, [0], 12);
    const short: VocoderBatch = { ...batch, mel: tf.slice(batch.mel, [0, 0, 0], [1, 4, MEL_CONFIG.melBins]) };
    expect(() => objective.lossOf(short)).toThrow(objectiveKind === 'waveform' ? /crops need ≥ 8 frames/ : /the targets have 12 frames, the input 4/);
    tf.dispose([batch as unknown as tf.TensorContainer, short.mel]);
    objective.dispose();
    net.dispose();
  });
});

describe('training', () => {
  it('lowers the loss on a fixed batch in a few AdamW steps and leaks no tensors per step', async () => {
    const net = createVocoder(TINY, NORM, 1);
    const objective = new VocoderObjective(net, TINY_LOSS);
    const starts = [5, 45];
    const trainer = new Trainer({
      model: net,
      lossFn: (b: VocoderBatch) => objective.lossOf(b),
      train: { size: 1, getBatch: () => fixtureBatch(fixture, starts, FRAMES) },
      batchSize: 1,
      totalSteps: 1,
      logEvery: 1,
      checkpointEvery: 0,
      optimizer: { learningRate: 1e-2 },
    });
    const probe = fixtureBatch(fixture, starts, FRAMES);
    const loss = () => tf.tidy(() => objective.lossOf(probe).total.dataSync()[0]!);
    const before = loss();
    await trainer.run(); // first step creates the optimizer moments and the objective's constants
    const tensors = tf.memory().numTensors;
    (trainer.options as { totalSteps: number }).totalSteps = 12;
    await trainer.run();
    expect(tf.memory().numTensors).toBe(tensors);
    const after = loss();
    expect(after).toBeLessThan(0.9 * before);
    await trainer.dispose();
    tf.dispose(probe as unknown as tf.TensorContainer);
    objective.dispose();
    net.dispose();
  });
});

describe('budget', () => {
  it('the default config costs under 1 GFLOP per second of audio (0.644) with 3.7 M parameters', () => {
    expect(vocoderGflopsPerSecond(DEFAULT_VOCODER_CONFIG)).toBeCloseTo(0.644, 3);
    const net = createVocoder(DEFAULT_VOCODER_CONFIG, NORM, 0);
    expect(net.parameterCount()).toBe(3716611);
    net.dispose();
  });
});

describe('correctionFromHz', () => {
  it('leaves ln|S| below the cut-off at the mel pseudo-inverse prior and corrects the bins above it', () => {
    const net = createVocoder(TINY, NORM, 4);
    const cut = createVocoder({ ...TINY, correctionFromHz: 500 }, NORM, 4); // same seed: same weights
    const plain = tf.tidy(() => net.forwardLogMagnitude(tf.tensor3d(fixture.mel.data.subarray(0, 20 * 80), [1, 20, 80])).dataSync());
    const masked = tf.tidy(() => cut.forwardLogMagnitude(tf.tensor3d(fixture.mel.data.subarray(0, 20 * 80), [1, 20, 80])).dataSync());
    const linear = logMelToLinearMagnitude({ frames: 20, mels: 80, data: fixture.mel.data.subarray(0, 20 * 80) }, MEL_CONFIG, { iterations: 0 });
    const firstCorrected = Math.ceil((500 * MEL_CONFIG.nFft) / MEL_CONFIG.sampleRateHz); // bin 24 = 516.8 Hz
    let below = 0;
    let above = 0;
    for (let t = 0; t < 20; t++) {
      for (let k = 0; k < VOCODER_BINS; k++) {
        const i = t * VOCODER_BINS + k;
        if (k < firstCorrected) below = Math.max(below, Math.abs(masked[i]! - Math.log(Math.max(linear[i]!, 1e-5))));
        else above = Math.max(above, Math.abs(masked[i]! - plain[i]!));
      }
    }
    expect(below).toBeLessThan(1e-3);
    expect(above).toBeLessThan(1e-5);
    expect(() => createVocoder({ ...TINY, correctionFromHz: -1 }, NORM)).toThrow(/correctionFromHz must be a number/);
    net.dispose();
    cut.dispose();
  });
});
