// AdamW with decoupled weight decay, learning-rate schedules and global-norm gradient clipping.
// State (moments + step) round-trips through plain Float32Arrays so checkpoints resume bit-exactly.

import * as tf from '@tensorflow/tfjs';
import { ShapeMismatchError } from './errors.js';
import type { WeightArray } from './module.js';

/** Learning rate as a function of the (1-based) step being taken. */
export type LearningRateSchedule = (step: number) => number;

/** A constant learning rate. */
export function constantSchedule(learningRate: number): LearningRateSchedule {
  return () => learningRate;
}

/** Linear warmup from 0 to `peak` over `warmupSteps`, then cosine decay to `minimum` (default 0.1·peak) at `totalSteps`. */
export function warmupCosineSchedule(options: { peak: number; warmupSteps: number; totalSteps: number; minimum?: number }): LearningRateSchedule {
  const { peak, warmupSteps, totalSteps } = options;
  const minimum = options.minimum ?? peak * 0.1;
  return (step) => {
    if (step <= warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minimum + 0.5 * (peak - minimum) * (1 + Math.cos(Math.PI * progress));
  };
}

/** AdamW settings; defaults: betas 0.9/0.999, eps 1e-8, weight decay 0.01 on rank ≥ 2 weights, no clipping. */
export interface AdamWOptions {
  readonly learningRate: number | LearningRateSchedule;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
  /** Clip gradients to this global L2 norm before the update (off when absent). */
  readonly clipNorm?: number;
  /** Which parameters decay; default: rank ≥ 2 (weights, not biases or norm gains). */
  readonly decays?: (name: string, variable: tf.Variable) => boolean;
}

/** Serialisable optimizer state: the step count and first/second moments by parameter name. */
export interface OptimizerState {
  readonly step: number;
  readonly m: ReadonlyMap<string, WeightArray>;
  readonly v: ReadonlyMap<string, WeightArray>;
}

/** What one `apply` did: the pre-clipping global gradient norm (a tensor, read lazily) and the learning rate used. */
export interface UpdateInfo {
  readonly learningRate: number;
  readonly gradNorm: tf.Scalar;
}

/** `AdamWOptions` with every default filled in (the learning rate is the schedule, kept apart). */
type AdamWSettings = Required<Omit<AdamWOptions, 'learningRate' | 'clipNorm'>> & { readonly clipNorm: number | undefined };

function adamWSettings(options: AdamWOptions): AdamWSettings {
  return {
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.01,
    clipNorm: options.clipNorm,
    decays: options.decays ?? ((_: string, p: tf.Variable) => p.rank >= 2),
  };
}

/** AdamW over a fixed, named set of variables. */
export class AdamW {
  private readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly schedule: LearningRateSchedule;
  private readonly settings: AdamWSettings;
  /** Number of updates applied so far. */
  step = 0;

  constructor(params: ReadonlyMap<string, tf.Variable>, options: AdamWOptions) {
    this.params = params;
    this.settings = adamWSettings(options);
    this.schedule = typeof options.learningRate === 'number' ? constantSchedule(options.learningRate) : options.learningRate;
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Learning rate of the next update. */
  nextLearningRate(): number {
    return this.schedule(this.step + 1);
  }

  /** Applies one update from gradients by parameter name (every parameter must have one); caller disposes `grads` and `gradNorm`. */
  apply(grads: ReadonlyMap<string, tf.Tensor>): UpdateInfo {
    if (this.host) throw new ShapeMismatchError('AdamW: apply() after applyToArrays(); one optimizer uses one path');
    for (const name of this.params.keys()) if (!grads.has(name)) throw new ShapeMismatchError(`AdamW: no gradient for parameter "${name}"`);
    const step = ++this.step;
    const learningRate = this.schedule(step);
    const { beta1, beta2, epsilon: eps, weightDecay, decays, clipNorm: clip } = this.settings;
    const gradNorm = tf.tidy(() => {
      const squares = [...this.params.keys()].map((name) => tf.sum(tf.square(grads.get(name)!)));
      const norm = tf.sqrt(squares.length === 1 ? squares[0]! : tf.addN(squares)) as tf.Scalar;
      // scale = min(1, clip / norm), kept on device so clipping costs no read-back
      const scale = clip === undefined ? null : tf.minimum(1, tf.div(clip, tf.add(norm, 1e-6)));
      const correction1 = 1 - Math.pow(beta1, step);
      const correction2 = 1 - Math.pow(beta2, step);
      for (const [name, p] of this.params) {
        const g = scale ? tf.mul(grads.get(name)!, scale) : grads.get(name)!;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.div(mNew, correction1), tf.add(tf.sqrt(tf.div(vNew, correction2)), eps));
        const decayed = weightDecay > 0 && decays(name, p) ? tf.mul(p, 1 - learningRate * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, learningRate)));
      }
      return norm;
    });
    return { learningRate, gradNorm };
  }

  /**
   * The same update on host arrays, for data-parallel training where weights and gradients already live in JS:
   * updates `weights` in place and skips device round trips. Moments move to the host on first use.
   */
  applyToArrays(
    weights: ReadonlyMap<string, Float32Array>,
    grads: ReadonlyMap<string, Float32Array>,
    /** Σ g² over all of `grads` when the caller already has it (skips that pass). */
    gradSquaredSum?: number,
  ): { learningRate: number; gradNorm: number } {
    const host = this.hostMoments();
    const step = ++this.step;
    const learningRate = this.schedule(step);
    const { beta1, beta2, epsilon: eps, weightDecay, decays, clipNorm: clip } = this.settings;
    for (const name of this.params.keys()) if (!grads.has(name)) throw new ShapeMismatchError(`AdamW: no gradient for parameter "${name}"`);
    let sumSquares = gradSquaredSum ?? 0;
    if (gradSquaredSum === undefined) {
      for (const name of this.params.keys()) {
        const g = grads.get(name)!;
        for (let i = 0; i < g.length; i++) sumSquares += g[i]! * g[i]!;
      }
    }
    const gradNorm = Math.sqrt(sumSquares);
    const scale = clip === undefined ? 1 : Math.min(1, clip / (gradNorm + 1e-6));
    const c1 = 1 / (1 - Math.pow(beta1, step));
    const c2 = 1 / (1 - Math.pow(beta2, step));
    for (const [name, variable] of this.params) {
      const p = weights.get(name)!;
      const g = grads.get(name)!;
      const m = host.m.get(name)!;
      const v = host.v.get(name)!;
      if (p.length !== m.length || g.length !== m.length) throw new ShapeMismatchError(`AdamW: "${name}" has ${p.length} weights and ${g.length} gradients, expected ${m.length}`);
      const keep = weightDecay > 0 && decays(name, variable) ? 1 - learningRate * weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * scale;
        const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
        const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
        p[i] = p[i]! * keep - (learningRate * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
      }
    }
    return { learningRate, gradNorm };
  }

  private host: { m: Map<string, Float32Array>; v: Map<string, Float32Array> } | undefined;

  private hostMoments(): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    if (!this.host) {
      const read = (vars: Map<string, tf.Variable>) => new Map([...vars].map(([name, t]) => [name, (t.dataSync() as Float32Array).slice()] as const));
      this.host = { m: read(this.m), v: read(this.v) };
    }
    return this.host;
  }

  /** Copies the state out (for checkpoints). */
  getState(): OptimizerState {
    if (this.host) {
      const copy = (arrays: Map<string, Float32Array>) =>
        new Map([...arrays].map(([name, a]) => [name, { data: a.slice(), shape: [...this.params.get(name)!.shape] }] as const));
      return { step: this.step, m: copy(this.host.m), v: copy(this.host.v) };
    }
    const read = (vars: Map<string, tf.Variable>) =>
      new Map([...vars].map(([name, t]) => [name, { data: t.dataSync() as Float32Array, shape: [...t.shape] }] as const));
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  /** Restores a state from `getState()`; names and shapes must match this optimizer's parameters. */
  setState(state: OptimizerState): void {
    for (const [which, source, target] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
      for (const [name, t] of target) {
        const w = source.get(name);
        if (!w || w.data.length !== t.size) throw new ShapeMismatchError(`optimizer state: moment ${which} of "${name}" is missing or has ${w?.data.length ?? 0} values, expected ${t.size}`);
        tf.tidy(() => t.assign(tf.tensor(w.data, t.shape, 'float32')));
      }
    }
    this.host = undefined;
    this.step = state.step;
  }

  /** Frees the moment variables (not the parameters). */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
