// DiffVC's stochastic process: the forward SDE dX = ½β(t)(μ − X)dt + √β(t) dW, its closed forms, and the reverse
// solvers (Euler–Maruyama and Popov et al.'s maximum-likelihood solver) for conversion and for training through them.

import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { DiffusionSolver } from '../converter.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { Rng } from '../../nn/module.js';
import type { DiffVc, DiffVcCondition, DiffVcConfig } from './model.js';

// ---------------------------------------------------------------------------------------------------------------
// The forward SDE dX = ½β(t)(μ − X)dt + √β(t) dW and its closed forms (Grad-TTS / DiffVC).

/** The noise schedule's two constants. */
export type NoiseSchedule = Pick<DiffVcConfig, 'betaMin' | 'betaMax'>;

/** β(t). */
export function beta(schedule: NoiseSchedule, t: number): number {
  return schedule.betaMin + (schedule.betaMax - schedule.betaMin) * t;
}

/** ∫ₛᵗ β(u) du. */
export function betaIntegral(schedule: NoiseSchedule, s: number, t: number): number {
  return (schedule.betaMin + 0.5 * (schedule.betaMax - schedule.betaMin) * (t + s)) * (t - s);
}

/** γ(s, t) = exp(−½ ∫ₛᵗ β): how much of X_s survives in the mean of X_t. */
export function gamma(schedule: NoiseSchedule, s: number, t: number): number {
  return Math.exp(-0.5 * betaIntegral(schedule, s, t));
}

/** X_t | X_0 ~ N(w·X_0 + (1 − w)·μ, variance·I) with w = γ(0, t), variance = 1 − γ(0, t)². */
export function marginal(schedule: NoiseSchedule, t: number): { x0Weight: number; variance: number } {
  const w = gamma(schedule, 0, t);
  return { x0Weight: w, variance: 1 - w * w };
}

/**
 * One reverse step from t to t − h as x' = μ + a·(x − μ) + b·score + σ·z, z ~ N(0, I).
 * Euler–Maruyama: a = 1 + ½β(t)h, b = β(t)h, σ = √(β(t)h).
 * ML (Popov et al., Theorem 1): the posterior mean of X_{t−h} given X_t and the Tweedie estimate of X_0, i.e.
 * a = 1 + ½β(t)h + ω, b = (1 + κ)β(t)h, σ² = (1 − γ(0,s)²)(1 − γ(s,t)²)/(1 − γ(0,t)²) with s = t − h, where
 * κ = γ(0,s)(1 − γ(s,t)²)/(γ(0,t)β(t)h) − 1 and ω = ν(s,t)/γ(0,t) + μ(s,t) − (1 + ½β(t)h).
 */
export function reverseStepCoefficients(schedule: NoiseSchedule, t: number, h: number, solver: DiffusionSolver): { a: number; b: number; sigma: number } {
  const bh = beta(schedule, t) * h;
  if (solver === 'euler') return { a: 1 + 0.5 * bh, b: bh, sigma: Math.sqrt(bh) };
  const s = Math.max(0, t - h);
  const g0s = gamma(schedule, 0, s);
  const g0t = gamma(schedule, 0, t);
  const gst = gamma(schedule, s, t);
  const lamS = 1 - g0s * g0s;
  const lamT = 1 - g0t * g0t;
  const lamST = 1 - gst * gst;
  const muST = (gst * lamS) / lamT; // weight of (X_t − μ) in the bridge's mean
  const nuST = (g0s * lamST) / lamT; // weight of (X_0 − μ)
  const kappa = (g0s * lamST) / (g0t * bh) - 1;
  const omega = nuST / g0t + muST - (1 + 0.5 * bh);
  return { a: 1 + 0.5 * bh + omega, b: (1 + kappa) * bh, sigma: Math.sqrt(Math.max(0, (lamS * lamST) / lamT)) };
}

/** Score of X_t in the network's parametrisation: it predicts the noise ε of X_t, so score = −ε / √(1 − γ(0,t)²). */
export function scoreScale(schedule: NoiseSchedule, t: number): number {
  return -1 / Math.sqrt(marginal(schedule, t).variance);
}

/** What `solveReverse` needs: the terminal sample, μ, the score at (x, t), and its settings. */
export interface ReverseSolveOptions {
  /** Start X_1 (e.g. μ + N(0, I)) and the terminal mean μ; same shape. Not disposed. */
  readonly start: tf.Tensor;
  readonly mean: tf.Tensor;
  /** ∇ log p_t(x); runs inside a tidy, so it may create tensors freely. */
  readonly score: (x: tf.Tensor, t: number) => tf.Tensor;
  readonly schedule: NoiseSchedule;
  readonly steps: number;
  readonly solver: DiffusionSolver;
  /** Noise source (seeded). */
  readonly rng: Rng;
  /** Called after each step with (done, total); the solver yields to the event loop after it. */
  readonly onStep?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** Integrates the reverse SDE from t = 1 to 0 in `steps` equal steps; returns X_0 (the caller disposes it). */
export async function solveReverse(options: ReverseSolveOptions): Promise<tf.Tensor> {
  const { steps, solver, schedule, rng } = options;
  checkSolverSettings(steps, solver);
  const h = 1 / steps;
  let x = tf.clone(options.start);
  try {
    for (let i = 0; i < steps; i++) {
      if (options.signal?.aborted) throw new InvalidArgumentError('the conversion was cancelled', 'CANCELLED');
      const t = 1 - i * h;
      const { a, b, sigma } = reverseStepCoefficients(schedule, t, h, solver);
      const noise = sigma > 0 ? normalArray(rng, x.size) : null;
      const next = tf.tidy(() => {
        const s = options.score(x, t);
        let y = tf.add(tf.add(options.mean, tf.mul(tf.sub(x, options.mean), a)), tf.mul(s, b));
        if (noise) y = tf.add(y, tf.mul(tf.tensor(noise, x.shape), sigma));
        return y;
      });
      x.dispose();
      x = next;
      options.onStep?.(i + 1, steps);
      await new Promise((r) => setTimeout(r, 0));
    }
    return x;
  } catch (err) {
    x.dispose();
    throw err;
  }
}

/**
 * The reverse SDE from t = 1 to 0 in `steps` equal steps as one differentiable graph (CycleDiffusion trains through
 * it): x ← μ + a·(x − μ) + b·s_θ(x, t) + σ·z_k, with `noises[k]` the z of step k (same shape as `start`; unused where
 * σ = 0, e.g. the ML solver's last step). The caller owns the result and runs it inside a tidy or a gradient scope.
 */
export function reverseDiffusion(
  model: DiffVc,
  run: { readonly start: tf.Tensor3D; readonly mean: tf.Tensor3D; readonly condition: DiffVcCondition; readonly steps: number; readonly solver: DiffusionSolver; readonly noises: readonly tf.Tensor3D[] },
): tf.Tensor3D {
  const { steps, solver, mean } = run;
  checkSolverSettings(steps, solver);
  if (run.noises.length !== steps) throw new ShapeMismatchError(`reverseDiffusion: ${run.noises.length} noise tensors for ${steps} steps`);
  const h = 1 / steps;
  let x = run.start;
  for (let i = 0; i < steps; i++) {
    const t = 1 - i * h;
    const { a, b, sigma } = reverseStepCoefficients(model.config, t, h, solver);
    const score = model.score(x, mean, t, run.condition);
    let y = tf.add(tf.add(mean, tf.mul(tf.sub(x, mean), a)), tf.mul(score, b)) as tf.Tensor3D;
    if (sigma > 0) y = tf.add(y, tf.mul(run.noises[i]!, sigma)) as tf.Tensor3D;
    x = y;
  }
  return x;
}

export function checkSolverSettings(steps: number, solver: DiffusionSolver): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 100) throw new InvalidArgumentError(`steps must be a whole number in [1, 100], got ${String(steps)}`);
  if (solver !== 'ml' && solver !== 'euler') throw new InvalidArgumentError(`solver must be "ml" or "euler", got ${String(solver)}`);
}

/** `n` standard normals from `rng`. */
export function normalArray(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}
