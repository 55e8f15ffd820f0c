// CycleDiffusion: DiffVC's score decoder fine-tuned with a cycle-consistency term beside its score-matching loss,
// L = L_score + λ_cyc · L1(x̃_A, x_A): x̂_B is the reverse process of x_A under another voice B (no gradient), x̃_A
// the reverse process of x̂_B, re-diffused with the same noise, under A again; the gradient flows through that
// B → A pass (all its solver steps). The encoder stays as DiffVC trained it.

import * as tf from '@tensorflow/tfjs';
import type { DiffusionSolver } from '../converter.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { Rng } from '../../nn/module.js';
import { batchCondition, frozen, scoreLoss, zeroTouch, type DiffVc, type DiffVcBatch, type DiffVcCondition } from '../diffVc/model.js';
import { gamma, normalArray, reverseDiffusion } from '../diffVc/sde.js';

/** Every hyperparameter of the fine-tuning; saved in the model file next to the DiffVC config. */
export interface CycleDiffusionConfig {
  /** λ_cyc, the weight of the cycle term. */
  readonly cycleWeight: number;
  /** Reverse steps of each pass of the cycle (the paper: 6). */
  readonly cycleSteps: number;
  readonly solver: DiffusionSolver;
  /** AdamW: peak learning rate (linear warmup, cosine decay to 10 %), warmup steps, weight decay, gradient clip. */
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
}

/** Defaults as the method's authors trained (Adam 3e-5, clip 1, 6 ML steps per pass, λ_cyc 1). */
export const DEFAULT_CYCLE_DIFFUSION_CONFIG: CycleDiffusionConfig = Object.freeze({
  cycleWeight: 1,
  cycleSteps: 6,
  solver: 'ml',
  learningRate: 3e-5,
  warmupSteps: 20,
  weightDecay: 0,
  clipNorm: 1,
});

/** Merges overrides into the defaults and checks them, naming the field. */
export function resolveCycleDiffusionConfig(overrides: Partial<CycleDiffusionConfig> = {}): CycleDiffusionConfig {
  const c: CycleDiffusionConfig = { ...DEFAULT_CYCLE_DIFFUSION_CONFIG, ...overrides };
  const bad = (what: string): never => {
    throw new ShapeMismatchError(`CycleDiffusionConfig.${what}`);
  };
  if (!(c.cycleWeight >= 0)) bad(`cycleWeight must be ≥ 0, received ${c.cycleWeight}`);
  if (!Number.isInteger(c.cycleSteps) || c.cycleSteps < 1 || c.cycleSteps > 100) bad(`cycleSteps must be a whole number in [1, 100], received ${c.cycleSteps}`);
  if (c.solver !== 'ml' && c.solver !== 'euler') bad(`solver must be "ml" or "euler", received ${String(c.solver)}`);
  if (!(c.learningRate > 0) || !(c.clipNorm > 0)) bad(`learningRate and clipNorm must be positive, received ${c.learningRate}, ${c.clipNorm}`);
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) bad(`warmupSteps must be a whole number ≥ 0, received ${c.warmupSteps}`);
  if (!(c.weightDecay >= 0)) bad(`weightDecay must be ≥ 0, received ${c.weightDecay}`);
  return c;
}

/** Masked mean absolute difference per valid value. */
function maskedL1(a: tf.Tensor3D, b: tf.Tensor3D, mask: tf.Tensor3D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tf.abs(tf.sub(a, b)), mask)), tf.mul(tf.sum(mask), a.shape[2])) as tf.Scalar;
}

/** The noise one cycle uses: the terminal sample's z and one z per reverse step, shared by both passes. */
export interface CycleNoise {
  readonly start: tf.Tensor3D;
  readonly steps: readonly tf.Tensor3D[];
}

/** Draws a cycle's noise for `shape` [B, T, mels] from `rng`. */
export function drawCycleNoise(rng: Rng, shape: readonly [number, number, number], steps: number): CycleNoise {
  const n = shape[0] * shape[1] * shape[2];
  const draw = (): tf.Tensor3D => tf.tensor3d(normalArray(rng, n), [...shape]);
  return { start: draw(), steps: Array.from({ length: steps }, draw) };
}

/**
 * One reverse pass from `x` (normalised, [B, T, mels]) to the voice of `condition`, as DiffVC converts: μ = encode(x),
 * X_1 = γ(0,1)·x + (1 − γ(0,1))·μ + z, then `cycleSteps` solver steps. Differentiable in the decoder's weights.
 */
export function convertPass(model: DiffVc, x: tf.Tensor3D, encode: (x: tf.Tensor3D) => tf.Tensor3D, condition: DiffVcCondition, noise: CycleNoise, c: CycleDiffusionConfig): tf.Tensor3D {
  const mean = encode(x);
  const w = gamma(model.config, 0, 1);
  const start = tf.add(tf.add(tf.mul(x, w), tf.mul(mean, 1 - w)), noise.start) as tf.Tensor3D;
  return reverseDiffusion(model, { start, mean, condition, steps: c.cycleSteps, solver: c.solver, noises: noise.steps });
}

/**
 * The cycle term L1(x̃_A, x_A) of a batch whose items carry a conversion target (`batch.target`): x̂_B = pass(x_A → B)
 * with no gradient, x̃_A = pass(x̂_B → A) with the same noise and the gradient through all its steps. The encoder is
 * frozen in both (`frozen`), so only the decoder learns from it.
 */
export function cycleLoss(model: DiffVc, batch: DiffVcBatch, noise: CycleNoise, c: CycleDiffusionConfig): { loss: tf.Scalar; converted: tf.Tensor3D } {
  const target = batch.target;
  if (target === undefined) throw new ShapeMismatchError('cycleLoss: the batch has no conversion target (batch.target)');
  const encode = (x: tf.Tensor3D): tf.Tensor3D => frozen(() => model.encoder.forward(x), x);
  const converted = frozen(() => convertPass(model, batch.mel, encode, target, noise, c), batch.mel);
  const back = convertPass(model, converted, encode, batchCondition(batch), noise, c);
  return { loss: maskedL1(back, batch.mel, batch.mask), converted };
}

/** The fine-tuning objective: DiffVC's score matching (μ from `batch.meanSource`) plus λ_cyc times the cycle term. */
export function cycleDiffusionLoss(model: DiffVc, batch: DiffVcBatch, rng: Rng, c: CycleDiffusionConfig): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const mean = frozen(() => model.encoder.forward(batch.meanSource), batch.meanSource);
  const score = scoreLoss(model, batch, mean, rng);
  // The encoder takes no gradient (frozen above); a zero that touches it keeps the optimizer's variable list whole.
  const encoderZero = zeroTouch(model.encoder);
  if (c.cycleWeight === 0) return { total: tf.add(score, encoderZero) as tf.Scalar, parts: { score, cycle: tf.scalar(Number.NaN) } };
  const [b, frames, mels] = batch.mel.shape;
  const noise = drawCycleNoise(rng, [b, frames, mels], c.cycleSteps);
  const { loss: cycle } = cycleLoss(model, batch, noise, c);
  return { total: tf.addN([score, tf.mul(cycle, c.cycleWeight), encoderZero]) as tf.Scalar, parts: { score, cycle } };
}
