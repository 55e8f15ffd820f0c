// DiffVC (Popov et al., ICLR 2022) on normalised log-mel: an average-voice encoder X → X̄, and a score network that
// turns N(X̄, I) back into a target voice's mel by the reverse SDE, solved by Euler–Maruyama or the fast ML solver.

import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../audio/errors.js';
import { checkLogMel, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { shippedModelPath } from '../io/paths.js';
import type { ConversionSettings, ConversionTarget, DiffusionSolver, MelConverter, ModelFamily } from './converter.js';
import { InvalidModelFileError, ShapeMismatchError } from '../nn/errors.js';
import { Conv1d, Dense, glu, GroupNorm, mish, TimeEmbeddingMlp, UpsampleConv1d } from '../nn/layers.js';
import { loadInstalledConverter } from './installed.js';
import type { JsonValue } from '../nn/modelFile.js';
import { identityNormalization, type MelNormalization } from './melNormalization.js';
import { estimateF0FromLogMel, f0FeatureDims, f0Features, meanLogF0, meanLogF0OfMels } from './pitch.js';
import { loadVoiceModelFile, saveVoiceModelFile, storedLabel } from './voiceModelFile.js';
import { Module, Rng, type WeightArray, type WeightMap } from '../nn/module.js';

/** Model-file kind and architecture version of DiffVC. */
export const DIFFVC_KIND = 'diffvc';
export const DIFFVC_KIND_VERSION = 3;
/** Version 2 files (no pitch or reference-statistics input) still load and convert as before. */
export const DIFFVC_OLDER_KIND_VERSIONS: readonly number[] = Object.freeze([2]);

/** Every hyperparameter of DiffVC, its SDE and its training; saved in the model file. */
export interface DiffVcConfig {
  /** Mel bins (80). */
  readonly mels: number;
  /** Average-voice encoder: width, residual gated blocks, their kernel and dilation cycle. */
  readonly encoderChannels: number;
  readonly encoderBlocks: number;
  readonly encoderKernel: number;
  readonly encoderDilations: readonly number[];
  /** Score network (1-D U-Net over frames, mels as channels): base width, width multiple per level, residual blocks per level. */
  readonly decoderChannels: number;
  readonly decoderMults: readonly number[];
  readonly decoderBlocks: number;
  /** GroupNorm groups of the score network (divides every width). */
  readonly normGroups: number;
  /** Sinusoidal time-embedding dims and the width of the (time, speaker) condition vector that FiLMs every block. */
  readonly timeDims: number;
  readonly condDims: number;
  /** Dimensions of the speaker d-vector (the speaker encoder's embedding). */
  readonly speakerDims: number;
  /**
   * The score network also reads frame-level pitch features (`f0Features`: log-F0, voiced flag, harmonic template):
   * in training the utterance's own F0, in conversion the source's F0 moved to the target voice's mean. Without it the
   * decoder has to invent the target's pitch from the d-vector alone (version 2 could not for male targets).
   */
  readonly pitchInput: boolean;
  /** log-F0 scaling of the pitch features: (ln f0 − ln f0ReferenceHz) / f0ScaleNepers. */
  readonly f0ReferenceHz: number;
  readonly f0ScaleNepers: number;
  /**
   * The condition also holds the target voice's reference statistics: per-bin mean and standard deviation of its
   * normalised log-mel over voiced-or-loud frames (`referenceStatistics`), as DiffVC conditions on reference mels.
   */
  readonly referenceInput: boolean;
  /** Training: reference statistics are taken from this many random utterances of the voice (≈ 10 s of speech). */
  readonly referenceUtterances: number;
  /**
   * Training: share of decoder items whose μ is encoded from another voice's rendering of the sentence, DTW-aligned
   * to the utterance, instead of from the utterance itself, so whatever of the source voice μ still carries never
   * matches the target and the decoder must take the voice from its condition.
   */
  readonly crossVoiceShare: number;
  /** Linear noise schedule β(t) = β0 + (β1 − β0)·t on t ∈ [0, 1]. */
  readonly betaMin: number;
  readonly betaMax: number;
  /** Diffusion times are drawn from U(ε, 1 − ε) in training. */
  readonly timeEpsilon: number;
  /** Training crops, frames (a multiple of 2^(levels − 1)). */
  readonly cropFrames: number;
  /** Share of the run's steps that train the encoder (stage 1); the rest train the decoder with the encoder frozen. */
  readonly encoderFraction: number;
  /** AdamW per stage: peak learning rate (linear warmup, cosine decay to 10 %), warmup steps; weight decay and clip shared. */
  readonly encoderLearningRate: number;
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
}

/** The shipped configuration (encoder ≈ 0.75 M, decoder ≈ 2.0 M parameters), sized for CPU training here. */
export const DEFAULT_DIFFVC_CONFIG: DiffVcConfig = Object.freeze({
  mels: 80,
  encoderChannels: 128,
  encoderBlocks: 6,
  encoderKernel: 3,
  encoderDilations: Object.freeze([1, 2, 4]),
  decoderChannels: 80,
  decoderMults: Object.freeze([1, 2, 2]),
  decoderBlocks: 2,
  normGroups: 8,
  timeDims: 64,
  condDims: 128,
  speakerDims: 128,
  pitchInput: true,
  f0ReferenceHz: 140,
  f0ScaleNepers: 0.5,
  referenceInput: true,
  referenceUtterances: 4,
  crossVoiceShare: 0.5,
  betaMin: 0.05,
  betaMax: 20,
  timeEpsilon: 1e-5,
  cropFrames: 128,
  encoderFraction: 0.25,
  encoderLearningRate: 1e-3,
  learningRate: 5e-4,
  warmupSteps: 50,
  weightDecay: 0.01,
  clipNorm: 1,
});

/** The settings a version-2 file lacks, as that version had them. */
const VERSION_2_SETTINGS: Partial<DiffVcConfig> = Object.freeze({ pitchInput: false, referenceInput: false, crossVoiceShare: 0 });

/** A stored config of a file of `kindVersion`, resolved (older versions get the settings they were built with). */
export function resolveStoredDiffVcConfig(stored: Partial<DiffVcConfig>, kindVersion: number): DiffVcConfig {
  return resolveDiffVcConfig(kindVersion === 2 ? { ...VERSION_2_SETTINGS, ...stored } : stored);
}

/** Merges overrides into the default config and checks it, naming the field. */
export function resolveDiffVcConfig(overrides: Partial<DiffVcConfig> = {}): DiffVcConfig {
  const c: DiffVcConfig = { ...DEFAULT_DIFFVC_CONFIG, ...overrides };
  const bad = (what: string): never => {
    throw new ShapeMismatchError(`DiffVcConfig.${what}`);
  };
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  for (const key of ['mels', 'encoderChannels', 'encoderKernel', 'decoderChannels', 'decoderBlocks', 'normGroups', 'timeDims', 'condDims', 'speakerDims', 'cropFrames', 'warmupSteps'] as const) {
    if (!posInt(c[key])) bad(`${key} must be a positive integer, received ${String(c[key])}`);
  }
  if (!Number.isInteger(c.encoderBlocks) || c.encoderBlocks < 0) bad(`encoderBlocks must be a whole number ≥ 0, received ${c.encoderBlocks}`);
  if (!Array.isArray(c.encoderDilations) || c.encoderDilations.length < 1 || !c.encoderDilations.every(posInt)) bad(`encoderDilations must be positive integers, received ${JSON.stringify(c.encoderDilations)}`);
  if (!Array.isArray(c.decoderMults) || c.decoderMults.length < 1 || !c.decoderMults.every(posInt)) bad(`decoderMults must be positive integers, received ${JSON.stringify(c.decoderMults)}`);
  if (c.timeDims % 2 !== 0 || c.timeDims < 4) bad(`timeDims must be even and ≥ 4, received ${c.timeDims}`);
  for (const m of c.decoderMults) if ((c.decoderChannels * m) % c.normGroups !== 0) bad(`normGroups (${c.normGroups}) must divide every decoder width (${c.decoderChannels}·${m})`);
  if (c.encoderChannels % c.normGroups !== 0) bad(`normGroups (${c.normGroups}) must divide encoderChannels (${c.encoderChannels})`);
  if (c.cropFrames % frameMultiple(c) !== 0) bad(`cropFrames (${c.cropFrames}) must be a multiple of ${frameMultiple(c)}`);
  if (!(c.betaMin > 0 && c.betaMax > c.betaMin)) bad(`betaMin/betaMax must satisfy 0 < betaMin < betaMax, received ${c.betaMin}, ${c.betaMax}`);
  if (!(c.timeEpsilon >= 0 && c.timeEpsilon < 0.5)) bad(`timeEpsilon must be in [0, 0.5), received ${c.timeEpsilon}`);
  if (!(c.encoderFraction >= 0 && c.encoderFraction <= 1)) bad(`encoderFraction must be in [0, 1], received ${c.encoderFraction}`);
  for (const key of ['encoderLearningRate', 'learningRate', 'clipNorm'] as const) if (!(c[key] > 0)) bad(`${key} must be positive, received ${c[key]}`);
  if (!(c.weightDecay >= 0)) bad(`weightDecay must be ≥ 0, received ${c.weightDecay}`);
  for (const key of ['pitchInput', 'referenceInput'] as const) if (typeof c[key] !== 'boolean') bad(`${key} must be true or false, received ${String(c[key])}`);
  if (!(c.f0ReferenceHz > 0 && c.f0ScaleNepers > 0)) bad(`f0ReferenceHz and f0ScaleNepers must be positive, received ${c.f0ReferenceHz}, ${c.f0ScaleNepers}`);
  if (!posInt(c.referenceUtterances)) bad(`referenceUtterances must be a positive integer, received ${String(c.referenceUtterances)}`);
  if (!(c.crossVoiceShare >= 0 && c.crossVoiceShare <= 1)) bad(`crossVoiceShare must be in [0, 1], received ${c.crossVoiceShare}`);
  return c;
}

/** Frames of a decoder input must be a multiple of this (one halving per U-Net level below the top). */
export function frameMultiple(config: Pick<DiffVcConfig, 'decoderMults'>): number {
  return 2 ** (config.decoderMults.length - 1);
}

/** Per-mel-bin statistics (the corpus train split's), applied as (x − mean) / std. */
export type DiffVcNormalization = MelNormalization;
export { identityNormalization };

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

function checkSolverSettings(steps: number, solver: DiffusionSolver): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 100) throw new InvalidArgumentError(`steps must be a whole number in [1, 100], got ${String(steps)}`);
  if (solver !== 'ml' && solver !== 'euler') throw new InvalidArgumentError(`solver must be "ml" or "euler", got ${String(solver)}`);
}

/** `n` standard normals from `rng`. */
export function normalArray(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Layers.

/** Pre-norm residual gated block: x + 1×1(GLU(conv_k,dilated(GroupNorm(x)))). [B, T, C] → [B, T, C]. */
class GatedResidual extends Module {
  readonly norm: GroupNorm;
  readonly conv: Conv1d;
  readonly out: Conv1d;

  constructor(rng: Rng, options: { channels: number; kernelSize: number; dilation: number; groups: number }) {
    super();
    const c = options.channels;
    this.norm = this.child('norm', new GroupNorm(rng, { channels: c, groups: options.groups }));
    this.conv = this.child('conv', new Conv1d(rng, { inChannels: c, outChannels: 2 * c, kernelSize: options.kernelSize, dilation: options.dilation }));
    this.out = this.child('out', new Conv1d(rng, { inChannels: c, outChannels: c, kernelSize: 1 }));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.add(x, this.out.forward(glu(this.conv.forward(this.norm.forward(x)))));
  }
}

/** The average-voice encoder: normalised mel → normalised average-voice mel of the same timing. [B, T, mels] → [B, T, mels]. */
export class AverageVoiceEncoder extends Module {
  readonly input: Conv1d;
  readonly blocks: GatedResidual[];
  readonly norm: GroupNorm;
  readonly output: Conv1d;

  constructor(rng: Rng, c: DiffVcConfig) {
    super();
    this.input = this.child('input', new Conv1d(rng, { inChannels: c.mels, outChannels: c.encoderChannels, kernelSize: c.encoderKernel }));
    this.blocks = Array.from({ length: c.encoderBlocks }, (_, i) =>
      this.child(`blocks.${i}`, new GatedResidual(rng, { channels: c.encoderChannels, kernelSize: c.encoderKernel, dilation: c.encoderDilations[i % c.encoderDilations.length]!, groups: c.normGroups })),
    );
    this.norm = this.child('norm', new GroupNorm(rng, { channels: c.encoderChannels, groups: c.normGroups }));
    this.output = this.child('output', new Conv1d(rng, { inChannels: c.encoderChannels, outChannels: c.mels, kernelSize: c.encoderKernel }));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    let h = this.input.forward(x);
    for (const block of this.blocks) h = block.forward(h);
    // The average voice keeps the source's content and timing, so the net predicts a correction of the input.
    return tf.add(x, this.output.forward(mish(this.norm.forward(h))));
  }
}

/** Conv → GroupNorm → FiLM(condition) → Mish → conv → GroupNorm → Mish, plus a (1×1 when widths differ) skip. [B, T, Cin] → [B, T, Cout]. */
class ResBlock extends Module {
  readonly conv1: Conv1d;
  readonly norm1: GroupNorm;
  readonly film: Dense;
  readonly conv2: Conv1d;
  readonly norm2: GroupNorm;
  readonly skip: Conv1d | null;
  readonly outChannels: number;

  constructor(rng: Rng, options: { inChannels: number; outChannels: number; condDims: number; groups: number }) {
    super();
    const { inChannels: cin, outChannels: cout } = options;
    this.outChannels = cout;
    this.conv1 = this.child('conv1', new Conv1d(rng, { inChannels: cin, outChannels: cout, kernelSize: 3 }));
    this.norm1 = this.child('norm1', new GroupNorm(rng, { channels: cout, groups: options.groups }));
    this.film = this.child('film', new Dense(rng, { inFeatures: options.condDims, outFeatures: 2 * cout }));
    this.conv2 = this.child('conv2', new Conv1d(rng, { inChannels: cout, outChannels: cout, kernelSize: 3 }));
    this.norm2 = this.child('norm2', new GroupNorm(rng, { channels: cout, groups: options.groups }));
    this.skip = cin === cout ? null : this.child('skip', new Conv1d(rng, { inChannels: cin, outChannels: cout, kernelSize: 1 }));
  }

  /** x: [B, T, Cin]; cond: [B, condDims] → [B, T, Cout]. */
  forward(x: tf.Tensor3D, cond: tf.Tensor2D): tf.Tensor3D {
    const b = x.shape[0];
    const [scale, shift] = tf.split(this.film.forward(cond).reshape([b, 1, 2 * this.outChannels]), 2, 2) as [tf.Tensor3D, tf.Tensor3D]; // [B, 1, Cout] each
    let h = this.norm1.forward(this.conv1.forward(x));
    h = mish(tf.add(tf.mul(h, tf.add(scale, 1)), shift));
    h = mish(this.norm2.forward(this.conv2.forward(h)));
    return tf.add(h, this.skip ? this.skip.forward(x) : x);
  }
}

/** What the score network is conditioned on besides x_t, μ and t (checked by `DiffVc.predictNoise`). */
export interface DiffVcCondition {
  /** [B, speakerDims]: the target's unit d-vector. */
  readonly speaker: tf.Tensor2D;
  /** [B, 2·mels]: the target's reference statistics (`referenceStatistics`); required when `config.referenceInput`. */
  readonly reference?: tf.Tensor2D;
  /** [B, T, 2 + mels]: pitch features of the wanted F0 (`f0Features`); required when `config.pitchInput`. */
  readonly pitch?: tf.Tensor3D;
}

/** Width of the pitch input per frame (0 when `pitchInput` is off). */
export function pitchDims(config: Pick<DiffVcConfig, 'pitchInput' | 'mels'>): number {
  return config.pitchInput ? f0FeatureDims(config) : 0;
}

/** Width of the reference statistics (0 when `referenceInput` is off). */
export function referenceDims(config: Pick<DiffVcConfig, 'referenceInput' | 'mels'>): number {
  return config.referenceInput ? 2 * config.mels : 0;
}

/**
 * Reference statistics of a voice from some of its log-mels (not normalised): the per-bin mean and standard deviation
 * of the normalised log-mel over frames whose loudest bin is at least 3 nepers above the floor (silence left out, so
 * pauses do not weigh in). [2 · mels]: means, then standard deviations. Throws when no frame qualifies.
 */
export function referenceStatistics(mels: readonly LogMel[], normalization: MelNormalization): Float32Array {
  const stats = statisticsOfSums(mels.map((mel) => referenceSums(mel, normalization)));
  if (stats === null) throw new InvalidArgumentError('the reference audio is silent: no frame rises 3 nepers above the floor');
  return stats;
}

/** Per-bin sums of one log-mel's normalised values and their squares over its non-silent frames (see `referenceStatistics`). */
export interface ReferenceSums {
  readonly sum: Float64Array;
  readonly squares: Float64Array;
  readonly frames: number;
}

/** `ReferenceSums` of one log-mel (not normalised), so several utterances combine without re-reading them. */
export function referenceSums(mel: LogMel, normalization: MelNormalization): ReferenceSums {
  const bins = normalization.mean.length;
  if (mel.mels !== bins) throw new ShapeMismatchError(`reference log-mel has ${mel.mels} bins, expected ${bins}`);
  const sum = new Float64Array(bins);
  const squares = new Float64Array(bins);
  let frames = 0;
  const floor = Math.log(MEL_CONFIG.logFloor);
  for (let t = 0; t < mel.frames; t++) {
    let loudest = floor;
    for (let m = 0; m < bins; m++) loudest = Math.max(loudest, mel.data[t * bins + m]!);
    if (loudest < floor + 3) continue;
    for (let m = 0; m < bins; m++) {
      const v = (mel.data[t * bins + m]! - normalization.mean[m]!) / normalization.std[m]!;
      sum[m] = sum[m]! + v;
      squares[m] = squares[m]! + v * v;
    }
    frames++;
  }
  return { sum, squares, frames };
}

/** Means, then standard deviations [2 · bins] of several `ReferenceSums` together; null when they hold no frame. */
export function statisticsOfSums(parts: readonly ReferenceSums[]): Float32Array | null {
  const bins = parts[0]?.sum.length ?? 0;
  const frames = parts.reduce((n, p) => n + p.frames, 0);
  if (frames === 0) return null;
  const out = new Float32Array(2 * bins);
  for (let m = 0; m < bins; m++) {
    let sum = 0;
    let squares = 0;
    for (const p of parts) {
      sum += p.sum[m]!;
      squares += p.squares[m]!;
    }
    const mean = sum / frames;
    out[m] = mean;
    out[bins + m] = Math.sqrt(Math.max(0, squares / frames - mean * mean));
  }
  return out;
}

/**
 * The score network ε_θ(X_t, μ, t, g): a 1-D U-Net over frames (mels as channels) on [X_t, μ], every block FiLMed by an
 * MLP of the time embedding and the speaker d-vector. [B, T, mels] ×2, t [B], g [B, speakerDims] → ε̂ [B, T, mels].
 */
export class ScoreUNet extends Module {
  readonly time: TimeEmbeddingMlp;
  readonly cond1: Dense;
  readonly cond2: Dense;
  readonly input: Conv1d;
  readonly downBlocks: ResBlock[][];
  readonly downs: Conv1d[];
  readonly mid: ResBlock;
  readonly ups: UpsampleConv1d[];
  readonly upBlocks: ResBlock[][];
  readonly outNorm: GroupNorm;
  readonly output: Conv1d;
  readonly config: DiffVcConfig;

  constructor(rng: Rng, c: DiffVcConfig) {
    super();
    this.config = c;
    const widths = c.decoderMults.map((m) => c.decoderChannels * m);
    const levels = widths.length;
    const common = { condDims: c.condDims, groups: c.normGroups };
    this.time = this.child('time', new TimeEmbeddingMlp(rng, { dims: c.timeDims, hidden: 4 * c.timeDims, out: c.timeDims }));
    this.cond1 = this.child('cond1', new Dense(rng, { inFeatures: c.timeDims + c.speakerDims + referenceDims(c), outFeatures: c.condDims }));
    this.cond2 = this.child('cond2', new Dense(rng, { inFeatures: c.condDims, outFeatures: c.condDims }));
    this.input = this.child('input', new Conv1d(rng, { inChannels: 2 * c.mels + pitchDims(c), outChannels: widths[0]!, kernelSize: 3 }));
    this.downBlocks = widths.map((w, i) => Array.from({ length: c.decoderBlocks }, (_, k) => this.child(`down.${i}.${k}`, new ResBlock(rng, { ...common, inChannels: w, outChannels: w }))));
    this.downs = widths.slice(0, -1).map((w, i) => this.child(`downsample.${i}`, new Conv1d(rng, { inChannels: w, outChannels: widths[i + 1]!, kernelSize: 3, stride: 2 })));
    this.mid = this.child('mid', new ResBlock(rng, { ...common, inChannels: widths[levels - 1]!, outChannels: widths[levels - 1]! }));
    this.ups = widths.slice(0, -1).map((w, i) => this.child(`upsample.${i}`, new UpsampleConv1d(rng, { inChannels: widths[i + 1]!, outChannels: w, kernelSize: 3, factor: 2 })));
    this.upBlocks = widths.slice(0, -1).map((w, i) =>
      Array.from({ length: c.decoderBlocks }, (_, k) => this.child(`up.${i}.${k}`, new ResBlock(rng, { ...common, inChannels: k === 0 ? 2 * w : w, outChannels: w }))),
    );
    this.outNorm = this.child('outNorm', new GroupNorm(rng, { channels: widths[0]!, groups: c.normGroups }));
    this.output = this.child('output', new Conv1d(rng, { inChannels: widths[0]!, outChannels: c.mels, kernelSize: 3 }));
  }

  /** Predicted noise of x_t. xt, mean: [B, T, mels] (T a multiple of `frameMultiple`); t: [B] in (0, 1]; condition: see `DiffVcCondition`. */
  forward(xt: tf.Tensor3D, mean: tf.Tensor3D, t: tf.Tensor1D, condition: DiffVcCondition): tf.Tensor3D {
    const c = this.config;
    const global = [this.time.forward(t), condition.speaker, ...(c.referenceInput ? [condition.reference!] : [])];
    const cond = this.cond2.forward(mish(this.cond1.forward(tf.concat(global, 1) as tf.Tensor2D))); // [B, condDims]
    let h = this.input.forward(tf.concat([xt, mean, ...(c.pitchInput ? [condition.pitch!] : [])], 2) as tf.Tensor3D);
    const skips: tf.Tensor3D[] = [];
    for (let i = 0; i < this.downBlocks.length; i++) {
      for (const block of this.downBlocks[i]!) h = block.forward(h, cond);
      if (i < this.downs.length) {
        skips.push(h);
        h = this.downs[i]!.forward(h);
      }
    }
    h = this.mid.forward(h, cond);
    for (let i = this.ups.length - 1; i >= 0; i--) {
      h = tf.concat([this.ups[i]!.forward(h), skips[i]!], 2) as tf.Tensor3D;
      for (const block of this.upBlocks[i]!) h = block.forward(h, cond);
    }
    return this.output.forward(mish(this.outNorm.forward(h)));
  }
}

/** The whole model: encoder and score network, plus the normalisation both work in. */
export class DiffVc extends Module {
  readonly config: DiffVcConfig;
  readonly normalization: DiffVcNormalization;
  readonly encoder: AverageVoiceEncoder;
  readonly decoder: ScoreUNet;

  constructor(config: DiffVcConfig, rng: Rng, normalization: DiffVcNormalization = identityNormalization(config.mels)) {
    super();
    if (normalization.mean.length !== config.mels || normalization.std.length !== config.mels) {
      throw new ShapeMismatchError(`DiffVC normalisation must hold ${config.mels} means and stds, received ${normalization.mean.length} and ${normalization.std.length}`);
    }
    this.config = config;
    this.normalization = normalization;
    this.encoder = this.child('encoder', new AverageVoiceEncoder(rng, config));
    this.decoder = this.child('decoder', new ScoreUNet(rng, config));
  }

  /** Normalised mel [B, T, mels] → normalised average voice μ [B, T, mels]. */
  encode(x: tf.Tensor3D): tf.Tensor3D {
    this.checkInput(x, 1);
    return this.encoder.forward(x);
  }

  /** Predicted noise ε̂ of x_t (see `ScoreUNet.forward`); T must be a multiple of `frameMultiple(config)`. */
  predictNoise(xt: tf.Tensor3D, mean: tf.Tensor3D, t: tf.Tensor1D, condition: DiffVcCondition): tf.Tensor3D {
    this.checkInput(xt, frameMultiple(this.config));
    if (mean.shape.join() !== xt.shape.join()) throw new ShapeMismatchError(`DiffVC: μ must be [${xt.shape.join(', ')}] like x_t, received [${mean.shape.join(', ')}]`);
    this.checkCondition(condition, xt.shape[0], xt.shape[1]);
    // Skip path: √λ_t·(x_t − μ) is the best linear guess of the noise when X_0 − μ has unit variance (exact as t → 1),
    // so the U-Net learns only the correction. Without it a briefly trained net shrinks ε̂ at large t and the
    // reverse SDE, whose first steps multiply x_t − μ by ≈4.6, diverges.
    const { betaMin, betaMax } = this.config;
    const lambda = tf.sub(1, tf.exp(tf.neg(tf.mul(t, tf.add(betaMin, tf.mul(t, 0.5 * (betaMax - betaMin)))))));
    const skip = tf.mul(tf.sub(xt, mean), tf.sqrt(lambda).reshape([-1, 1, 1]));
    return tf.add(skip, this.decoder.forward(xt, mean, t, condition)) as tf.Tensor3D;
  }

  /** Score ∇ log p_t(x_t) = −ε̂ / √(1 − γ(0,t)²) at one time t for the whole batch. */
  score(xt: tf.Tensor3D, mean: tf.Tensor3D, t: number, condition: DiffVcCondition): tf.Tensor3D {
    const eps = this.predictNoise(xt, mean, tf.fill([xt.shape[0]], t) as tf.Tensor1D, condition);
    return tf.mul(eps, scoreScale(this.config, t));
  }

  private checkCondition(condition: DiffVcCondition, batch: number, frames: number): void {
    const c = this.config;
    const { speaker, reference, pitch } = condition;
    if (speaker.rank !== 2 || speaker.shape[0] !== batch || speaker.shape[1] !== c.speakerDims) {
      throw new ShapeMismatchError(`DiffVC: speaker vectors must be [${batch}, ${c.speakerDims}], received [${speaker.shape.join(', ')}]`);
    }
    if (c.referenceInput && (reference === undefined || reference.rank !== 2 || reference.shape[0] !== batch || reference.shape[1] !== referenceDims(c))) {
      throw new ShapeMismatchError(`DiffVC: reference statistics must be [${batch}, ${referenceDims(c)}], received ${reference ? `[${reference.shape.join(', ')}]` : 'none'}`);
    }
    if (c.pitchInput && (pitch === undefined || pitch.rank !== 3 || pitch.shape[0] !== batch || pitch.shape[1] !== frames || pitch.shape[2] !== pitchDims(c))) {
      throw new ShapeMismatchError(`DiffVC: pitch features must be [${batch}, ${frames}, ${pitchDims(c)}], received ${pitch ? `[${pitch.shape.join(', ')}]` : 'none'}`);
    }
  }

  private checkInput(x: tf.Tensor3D, multiple: number): void {
    if (x.rank !== 3 || x.shape[2] !== this.config.mels) throw new ShapeMismatchError(`DiffVC input must be [batch, frames, ${this.config.mels}], received [${x.shape.join(', ')}]`);
    if (x.shape[1] < multiple || x.shape[1] % multiple !== 0) throw new ShapeMismatchError(`DiffVC input frames must be a positive multiple of ${multiple}, received ${x.shape[1]}`);
  }
}

/** A DiffVC with fresh weights (seed 0 unless given). */
export function createDiffVc(config: Partial<DiffVcConfig> = {}, options: { seed?: number; normalization?: DiffVcNormalization } = {}): DiffVc {
  return new DiffVc(resolveDiffVcConfig(config), new Rng(options.seed ?? 0), options.normalization);
}

// ---------------------------------------------------------------------------------------------------------------
// Losses.

/** One training batch (normalised), disposed by the trainer. */
export interface DiffVcBatch {
  readonly mel: tf.Tensor3D; // [B, T, mels]: the utterance (encoder input, and the decoder's X_0)
  readonly average: tf.Tensor3D; // [B, T, mels]: its average-voice target
  readonly mask: tf.Tensor3D; // [B, T, 1]: 1 on valid frames
  readonly speaker: tf.Tensor2D; // [B, speakerDims]: the voice's unit d-vector
  readonly meanSource: tf.Tensor3D; // [B, T, mels]: what the decoder stage encodes μ from (the utterance, or another voice aligned to it)
  readonly reference?: tf.Tensor2D; // [B, 2·mels]: reference statistics of the voice (config.referenceInput)
  readonly pitch?: tf.Tensor3D; // [B, T, 2 + mels]: pitch features of the utterance's own F0 (config.pitchInput)
  /** CycleDiffusion: another voice per item to convert to — its d-vector, reference statistics, and the item's F0 moved to its mean. */
  readonly target?: DiffVcCondition;
}

/** The condition of a batch's own voice. */
export function batchCondition(batch: DiffVcBatch): DiffVcCondition {
  return { speaker: batch.speaker, ...(batch.reference ? { reference: batch.reference } : {}), ...(batch.pitch ? { pitch: batch.pitch } : {}) };
}

/** Identity forward, zero backward, and nothing of `f` on the gradient tape: runs a frozen net inside a loss. */
export function frozen<T extends tf.Tensor>(f: () => T, like: tf.Tensor): T {
  const g = tf.customGrad((input, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: f(), gradFunc: () => [tf.zerosLike(input as tf.Tensor)] };
  });
  return g(like) as T;
}

/** A zero that touches every parameter of `module`, so a loss that skips it still yields (zero) gradients for it. */
export function zeroTouch(module: Module): tf.Scalar {
  const sums = module.parameters().map((p) => tf.sum(p));
  return tf.mul(sums.length === 1 ? sums[0]! : tf.addN(sums), 0) as tf.Scalar;
}

/** Masked MSE between the encoder's μ and the average-voice target. */
export function encoderLoss(model: DiffVc, batch: DiffVcBatch): { loss: tf.Scalar; mean: tf.Tensor3D } {
  const mean = model.encode(batch.mel);
  const loss = maskedMse(mean, batch.average, batch.mask, model.config.mels);
  return { loss, mean };
}

function maskedMse(a: tf.Tensor3D, b: tf.Tensor3D, mask: tf.Tensor3D, mels: number): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tf.square(tf.sub(a, b)), mask)), tf.mul(tf.sum(mask), mels)) as tf.Scalar;
}

/**
 * Score matching (DiffVC eq. 6 with the network predicting noise): t ~ U(ε, 1 − ε) per item, z ~ N(0, I),
 * X_t = γ(0,t)X_0 + (1 − γ(0,t))μ + √λ_t z, loss = ‖ε̂ − z‖² per valid value, which equals ‖√λ_t·s_θ + z‖².
 */
export function scoreLoss(model: DiffVc, batch: DiffVcBatch, mean: tf.Tensor3D, rng: Rng): tf.Scalar {
  const c = model.config;
  const [b, frames, mels] = batch.mel.shape;
  const times = new Float32Array(b);
  const x0Weight = new Float32Array(b);
  const noiseScale = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const t = c.timeEpsilon + (1 - 2 * c.timeEpsilon) * rng.uniform();
    const m = marginal(c, t);
    times[i] = t;
    x0Weight[i] = m.x0Weight;
    noiseScale[i] = Math.sqrt(m.variance);
  }
  const z = tf.tensor3d(normalArray(rng, b * frames * mels), [b, frames, mels]);
  const w = tf.tensor3d(x0Weight, [b, 1, 1]);
  const xt = tf.add(tf.add(tf.mul(batch.mel, w), tf.mul(mean, tf.sub(1, w))), tf.mul(z, tf.tensor3d(noiseScale, [b, 1, 1]))) as tf.Tensor3D;
  const eps = model.predictNoise(xt, mean, tf.tensor1d(times), batchCondition(batch));
  return maskedMse(eps, z, batch.mask, mels);
}

/**
 * The two-stage objective of a training run. Steps 1 … `encoderSteps` train the encoder (MSE to the average voice;
 * `score` reported as NaN). From the first later step the decoder trains on μ from a copy of the encoder taken then,
 * so Adam's leftover momentum, which still moves the encoder's variables for a few steps, cannot move μ; `settle()`
 * writes that copy back before the model is saved. Validation (`training` false) reports both losses; total = their sum.
 */
export class DiffVcObjective {
  readonly model: DiffVc;
  readonly encoderSteps: number;
  private frozenEncoder: AverageVoiceEncoder | null = null;

  constructor(model: DiffVc, encoderSteps: number) {
    this.model = model;
    this.encoderSteps = encoderSteps;
  }

  /** The encoder the decoder stage uses: the copy once taken, else the model's own. */
  private encoderForDecoder(training: boolean): AverageVoiceEncoder {
    if (training && this.frozenEncoder === null) {
      this.frozenEncoder = new AverageVoiceEncoder(new Rng(0), this.model.config);
      this.frozenEncoder.setWeights(this.model.encoder.getWeights(), 'encoder copy');
    }
    return this.frozenEncoder ?? this.model.encoder;
  }

  /** True once the decoder stage has started in this process. */
  get encoderFrozen(): boolean {
    return this.frozenEncoder !== null;
  }

  loss(batch: DiffVcBatch, ctx: { step: number; training: boolean; rng: Rng }): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
    const { model } = this;
    if (ctx.training && ctx.step <= this.encoderSteps) {
      const { loss } = encoderLoss(model, batch);
      return { total: tf.add(loss, zeroTouch(model.decoder)) as tf.Scalar, parts: { encoder: loss, score: tf.scalar(Number.NaN) } };
    }
    const encoder = this.encoderForDecoder(ctx.training);
    const mean = frozen(() => encoder.forward(batch.meanSource), batch.meanSource);
    const encoderMse = ctx.training ? tf.scalar(Number.NaN) : maskedMse(frozen(() => encoder.forward(batch.mel), batch.mel), batch.average, batch.mask, model.config.mels);
    const score = scoreLoss(model, batch, mean, ctx.rng);
    const total = ctx.training ? (tf.add(score, zeroTouch(model.encoder)) as tf.Scalar) : (tf.add(score, encoderMse) as tf.Scalar);
    return { total, parts: { encoder: encoderMse, score } };
  }

  /** Puts the encoder the decoder trained with back into the model (call before saving). */
  settle(): void {
    if (this.frozenEncoder) this.model.encoder.setWeights(this.frozenEncoder.getWeights(), 'encoder copy');
  }

  dispose(): void {
    this.frozenEncoder?.dispose();
    this.frozenEncoder = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Conversion.

/** Longest stretch converted in one pass, frames (≈ 12 s); longer inputs go in overlapping chunks. */
export const DIFFVC_CHUNK_FRAMES = 1024;
const CHUNK_CONTEXT = 32;

/** A loaded model and the d-vectors of its voices. */
export interface LoadedDiffVc {
  readonly model: DiffVc;
  /** Corpus voices with a stored unit d-vector, model order. */
  readonly voices: readonly string[];
  /** Unit d-vectors [voices × speakerDims], row-major. */
  readonly speakerVectors: Float32Array;
  /** Per voice (version 3): mean ln F0 [voices] and reference statistics [voices × 2·mels]; empty for version 2. */
  readonly voiceTables: DiffVcVoiceTables;
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
  readonly extra: { readonly [key: string]: JsonValue };
}

/** What a version-3 model stores of each voice besides its d-vector (empty arrays for version 2). */
export interface DiffVcVoiceTables {
  /** [voices]: mean ln F0 of the voice's train-split speech (NaN when unknown). */
  readonly logF0: Float32Array;
  /** [voices × 2·mels]: `referenceStatistics` of the voice's train-split speech. */
  readonly reference: Float32Array;
}

/** What a conversion is conditioned on, as plain arrays. */
interface TargetCondition {
  readonly speaker: Float32Array;
  /** Mean ln F0 of the target (NaN when unknown: the source's pitch is kept). */
  readonly logF0: number;
  readonly reference: Float32Array | null;
}

/** The two families whose model files hold a DiffVC: DiffVC itself and its cycle-consistent fine-tuning. */
export type DiffusionFamily = 'diffvc' | 'cyclediffusion';

/** Kind, version and name of each diffusion family's model file. */
export const DIFFUSION_FILE_KINDS: Readonly<Record<DiffusionFamily, { readonly kind: string; readonly kindVersion: number; readonly olderKindVersions: readonly number[]; readonly name: string }>> = {
  diffvc: { kind: DIFFVC_KIND, kindVersion: DIFFVC_KIND_VERSION, olderKindVersions: DIFFVC_OLDER_KIND_VERSIONS, name: 'DiffVC' },
  cyclediffusion: { kind: 'cycleDiffusion', kindVersion: 1, olderKindVersions: [], name: 'CycleDiffusion' },
};

/** Display label of a DiffVC (or CycleDiffusion) model file. */
export function diffVcLabel(voices: readonly string[], family: DiffusionFamily = 'diffvc'): string {
  return `${DIFFUSION_FILE_KINDS[family].name} (${voices.length} voices)`;
}

/**
 * A loaded DiffVC as a `MelConverter`. Targets are the corpus voices whose d-vectors the file stores (the decoder was
 * trained on exactly those vectors). A caller may also pass `target.speakerEmbedding` for a voice the model does not
 * list; it is used as is, but the model does not advertise '*' because the engine hands any-voice models reference
 * mels rather than embeddings, and a decoder trained on a handful of voices renders unseen ones poorly.
 */
export class DiffVcConverter implements MelConverter {
  readonly family: ModelFamily;
  readonly label: string;
  readonly targetVoices: readonly string[];
  readonly model: DiffVc;
  private readonly speakerVectors: Float32Array;
  private readonly voiceTables: DiffVcVoiceTables;
  private disposed = false;

  constructor(loaded: Pick<LoadedDiffVc, 'model' | 'voices' | 'speakerVectors'> & { readonly voiceTables?: DiffVcVoiceTables }, label?: string, family: DiffusionFamily = 'diffvc') {
    this.family = family;
    const { config } = loaded.model;
    const dims = config.speakerDims;
    const voices = loaded.voices.length;
    if (loaded.speakerVectors.length !== voices * dims) {
      throw new ShapeMismatchError(`DiffVcConverter: ${loaded.speakerVectors.length} d-vector values for ${voices} voices of ${dims} dims`);
    }
    const tables = loaded.voiceTables ?? { logF0: new Float32Array(0), reference: new Float32Array(0) };
    if (config.pitchInput && tables.logF0.length !== voices) throw new ShapeMismatchError(`DiffVcConverter: ${tables.logF0.length} mean log-F0 values for ${voices} voices`);
    if (config.referenceInput && tables.reference.length !== voices * referenceDims(config)) {
      throw new ShapeMismatchError(`DiffVcConverter: ${tables.reference.length} reference-statistics values for ${voices} voices of ${referenceDims(config)}`);
    }
    this.model = loaded.model;
    this.targetVoices = [...loaded.voices];
    this.speakerVectors = Float32Array.from(loaded.speakerVectors);
    this.voiceTables = { logF0: Float32Array.from(tables.logF0), reference: Float32Array.from(tables.reference) };
    this.label = label ?? diffVcLabel(loaded.voices, family);
  }

  /**
   * d-vector, mean ln F0 and reference statistics of `target`: the stored ones of a model voice; for another voice
   * `target.speakerEmbedding` and, where the model reads pitch or reference statistics, `target.referenceMels`.
   */
  targetCondition(target: ConversionTarget): TargetCondition {
    const { config, normalization } = this.model;
    const speaker = this.speakerVector(target);
    const index = this.targetVoices.indexOf(target.voiceId);
    const rows = referenceDims(config);
    if (index >= 0) {
      return {
        speaker,
        logF0: config.pitchInput ? this.voiceTables.logF0[index]! : Number.NaN,
        reference: config.referenceInput ? this.voiceTables.reference.slice(index * rows, (index + 1) * rows) : null,
      };
    }
    if (!config.pitchInput && !config.referenceInput) return { speaker, logF0: Number.NaN, reference: null };
    const refs = target.referenceMels;
    if (refs === undefined || refs.length === 0) {
      throw new InvalidArgumentError(`voice "${target.voiceId}" is not one of this DiffVC's voices: give its reference recordings (≥ 10 s) as well as its speaker embedding`, 'VOICE_NOT_FOUND');
    }
    for (const mel of refs) checkLogMel(mel, config.mels);
    return { speaker, logF0: meanLogF0OfMels(refs), reference: config.referenceInput ? referenceStatistics(refs, normalization) : null };
  }

  /** The unit d-vector a conversion to `target` uses: the stored one of a model voice, else `target.speakerEmbedding`. */
  speakerVector(target: ConversionTarget): Float32Array {
    const dims = this.model.config.speakerDims;
    const index = this.targetVoices.indexOf(target.voiceId);
    if (index >= 0) return this.speakerVectors.slice(index * dims, (index + 1) * dims);
    const given = target.speakerEmbedding;
    if (given === undefined) {
      throw new InvalidArgumentError(`voice "${target.voiceId}" is not one of this DiffVC's voices and no speaker embedding was given; it has: ${this.targetVoices.join(', ')}`, 'VOICE_NOT_FOUND');
    }
    if (!(given instanceof Float32Array) || given.length !== dims || !given.every(Number.isFinite)) {
      throw new InvalidArgumentError(`target.speakerEmbedding must be a Float32Array of ${dims} finite values, received ${given?.length ?? 0}`);
    }
    let norm = 0;
    for (const v of given) norm += v * v;
    if (!(norm > 0)) throw new InvalidArgumentError('target.speakerEmbedding must not be all zeros');
    return given.map((v) => v / Math.sqrt(norm));
  }

  /** Source log-mel [frames × 80] → the target voice's log-mel of the same frame count. */
  async convert(
    source: LogMel,
    target: ConversionTarget,
    options: { settings?: ConversionSettings; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {},
  ): Promise<LogMel> {
    if (this.disposed) throw new InvalidArgumentError(`${this.label} has been disposed`);
    checkLogMel(source, this.model.config.mels);
    if (source.frames < 1) throw new InvalidArgumentError('the source log-mel has no frames');
    const settings = options.settings ?? {};
    const steps = settings.steps ?? 6;
    const solver = settings.solver ?? 'ml';
    const seed = settings.seed ?? 0;
    checkSolverSettings(steps, solver);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`seed must be a whole number in [0, 2^32), got ${String(seed)}`);
    const condition = this.targetCondition(target);
    if (options.signal?.aborted) throw new InvalidArgumentError('the conversion was cancelled', 'CANCELLED');
    const pitch = this.model.config.pitchInput ? conversionPitch(source, condition.logF0) : null;
    const rng = new Rng(seed);
    const total = source.frames;
    const chunks = Math.ceil(total / DIFFVC_CHUNK_FRAMES);
    const out = new Float32Array(source.data.length);
    for (let chunk = 0; chunk < chunks; chunk++) {
      const start = chunk * DIFFVC_CHUNK_FRAMES;
      const end = Math.min(total, start + DIFFVC_CHUNK_FRAMES);
      const from = Math.max(0, start - CHUNK_CONTEXT);
      const to = Math.min(total, end + CHUNK_CONTEXT);
      const piece = await this.convertRange(source, from, to, condition, pitch, { steps, solver, rng, signal: options.signal, onStep: (done) => options.onProgress?.((chunk + done / steps) / chunks) });
      out.set(piece.subarray((start - from) * source.mels, (end - from) * source.mels), start * source.mels);
    }
    return { frames: source.frames, mels: source.mels, data: out };
  }

  /** Frames [from, to) converted in one pass: normalise → μ → X_1 = γ(0,1)x + (1 − γ(0,1))μ + z → solver → de-normalise. */
  private async convertRange(
    source: LogMel,
    from: number,
    to: number,
    target: TargetCondition,
    pitch: { readonly f0Hz: Float32Array; readonly shiftNepers: number; readonly fallbackLogF0: number | undefined } | null,
    run: { steps: number; solver: DiffusionSolver; rng: Rng; signal: AbortSignal | undefined; onStep: (done: number) => void },
  ): Promise<Float32Array> {
    const { config, normalization } = this.model;
    const mels = config.mels;
    const frames = to - from;
    const multiple = frameMultiple(config);
    const padded = Math.ceil(frames / multiple) * multiple;
    const floor = Math.log(MEL_CONFIG.logFloor);
    const x = new Float32Array(padded * mels);
    for (let t = 0; t < padded; t++) {
      for (let m = 0; m < mels; m++) {
        const value = t < frames ? source.data[(from + t) * mels + m]! : floor;
        x[t * mels + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
      }
    }
    const noise = normalArray(run.rng, padded * mels);
    const pitchFeatures = pitch ? f0Features(padF0(pitch.f0Hz.subarray(from, to), padded), padded, config, pitch.shiftNepers, pitch.fallbackLogF0) : null;
    const { mean, start } = tf.tidy(() => {
      const xt = tf.tensor3d(x, [1, padded, mels]);
      const mu = this.model.encode(xt);
      const w = gamma(config, 0, 1);
      // DiffVC starts from the forward process's terminal marginal given the source: N(γ(0,1)x + (1 − γ(0,1))μ, I) ≈ N(μ, I).
      const x1 = tf.add(tf.add(tf.mul(xt, w), tf.mul(mu, 1 - w)), tf.tensor3d(noise, [1, padded, mels]));
      return { mean: mu, start: x1 };
    });
    const condition: DiffVcCondition = {
      speaker: tf.tensor2d(target.speaker, [1, config.speakerDims]),
      ...(target.reference ? { reference: tf.tensor2d(target.reference, [1, target.reference.length]) } : {}),
      ...(pitchFeatures ? { pitch: tf.tensor3d(pitchFeatures, [1, padded, pitchDims(config)]) } : {}),
    };
    const conditionTensors = [condition.speaker, ...(condition.reference ? [condition.reference] : []), ...(condition.pitch ? [condition.pitch] : [])];
    let y: tf.Tensor;
    try {
      y = await solveReverse({
        start,
        mean,
        score: (xt, t) => this.model.score(xt as tf.Tensor3D, mean, t, condition),
        schedule: config,
        steps: run.steps,
        solver: run.solver,
        rng: run.rng,
        onStep: run.onStep,
        ...(run.signal ? { signal: run.signal } : {}),
      });
    } finally {
      tf.dispose([mean, start, ...conditionTensors]);
    }
    const data = y.dataSync() as Float32Array;
    y.dispose();
    const out = new Float32Array(frames * mels);
    for (let t = 0; t < frames; t++) {
      for (let m = 0; m < mels; m++) out[t * mels + m] = Math.max(floor, data[t * mels + m]! * normalization.std[m]! + normalization.mean[m]!);
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

/**
 * The F0 the score network is asked for: the source's own (from its log-mel, as in training) moved by the difference of
 * the target's and the source's mean ln F0; unmoved when either mean is unknown.
 */
export function conversionPitch(source: LogMel, targetLogF0: number): { f0Hz: Float32Array; shiftNepers: number; fallbackLogF0: number | undefined } {
  const f0Hz = estimateF0FromLogMel(source);
  const sourceLogF0 = meanLogF0(f0Hz);
  const shiftNepers = Number.isFinite(sourceLogF0) && Number.isFinite(targetLogF0) ? targetLogF0 - sourceLogF0 : 0;
  return { f0Hz, shiftNepers, fallbackLogF0: Number.isFinite(targetLogF0) ? targetLogF0 : undefined };
}

/** `f0Hz` followed by unvoiced frames up to `frames`. */
function padF0(f0Hz: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames);
  out.set(f0Hz.subarray(0, frames));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Model file: encoder + decoder weights, config, normalisation, per-voice unit d-vectors, corpus hash.

const SPEAKER_VECTORS = 'voices.dvectors';
const VOICE_LOG_F0 = 'voices.logF0';
const VOICE_REFERENCE = 'voices.reference';

/** Writes a DiffVC as one `.timbre` file (atomic; `overwrite` to replace). */
export async function saveDiffVc(
  path: string,
  file: {
    model: DiffVc;
    voices: readonly string[];
    speakerVectors: Float32Array;
    voiceTables: DiffVcVoiceTables;
    trainingDataHash: string;
    validationMetrics?: { [key: string]: number };
    extra?: { [key: string]: JsonValue };
  },
  options: { overwrite: boolean; family?: DiffusionFamily } = { overwrite: false },
): Promise<void> {
  const { model, voices, speakerVectors } = file;
  const family = options.family ?? 'diffvc';
  const fileKind = DIFFUSION_FILE_KINDS[family];
  const dims = model.config.speakerDims;
  if (speakerVectors.length !== voices.length * dims) throw new ShapeMismatchError(`saveDiffVc: ${speakerVectors.length} d-vector values for ${voices.length} voices of ${dims} dims`);
  const weights = new Map<string, WeightArray>(model.getWeights());
  weights.set(SPEAKER_VECTORS, { data: speakerVectors, shape: [voices.length, dims] });
  const { config } = model;
  if (config.pitchInput) {
    if (file.voiceTables.logF0.length !== voices.length) throw new ShapeMismatchError(`saveDiffVc: ${file.voiceTables.logF0.length} mean log-F0 values for ${voices.length} voices`);
    weights.set(VOICE_LOG_F0, { data: file.voiceTables.logF0, shape: [voices.length] });
  }
  if (config.referenceInput) {
    if (file.voiceTables.reference.length !== voices.length * referenceDims(config)) throw new ShapeMismatchError(`saveDiffVc: reference statistics must be [${voices.length}, ${referenceDims(config)}]`);
    weights.set(VOICE_REFERENCE, { data: file.voiceTables.reference, shape: [voices.length, referenceDims(config)] });
  }
  await saveVoiceModelFile(
    path,
    {
      kind: fileKind.kind,
      kindVersion: fileKind.kindVersion,
      config: model.config,
      voices,
      normalization: model.normalization,
      trainingDataHash: file.trainingDataHash,
      ...(file.validationMetrics !== undefined ? { validationMetrics: file.validationMetrics } : {}),
      defaultLabel: diffVcLabel(voices, family),
      ...(file.extra !== undefined ? { extra: file.extra } : {}),
      facts: { parameterCount: model.parameterCount(), encoderParameters: model.encoder.parameterCount(), decoderParameters: model.decoder.parameterCount() },
    },
    weights,
    { overwrite: options.overwrite },
  );
}

/** Loads a DiffVC model file, refusing other kinds, versions and feature configs (`ModelMismatchError`). */
export async function loadDiffVc(path: string, family: DiffusionFamily = 'diffvc'): Promise<LoadedDiffVc> {
  const fileKind = DIFFUSION_FILE_KINDS[family];
  const file = await loadVoiceModelFile(path, {
    kind: fileKind.kind,
    kindVersion: fileKind.kindVersion,
    olderKindVersions: fileKind.olderKindVersions,
    family: fileKind.name,
    resolveConfig: (stored, kindVersion) => resolveStoredDiffVcConfig(stored as Partial<DiffVcConfig>, kindVersion),
  });
  const { config, voices, weights } = file;
  const table = (name: string, shape: readonly number[], wanted: boolean): Float32Array => {
    const found = weights.get(name);
    if (!wanted) return new Float32Array(0);
    if (!found || found.shape.join() !== shape.join()) throw new InvalidModelFileError(`${path}: "${name}" must be [${shape.join(', ')}]`);
    return found.data;
  };
  const vectors = table(SPEAKER_VECTORS, [voices.length, config.speakerDims], true);
  const voiceTables = { logF0: table(VOICE_LOG_F0, [voices.length], config.pitchInput), reference: table(VOICE_REFERENCE, [voices.length, referenceDims(config)], config.referenceInput) };
  const tables = new Set([SPEAKER_VECTORS, VOICE_LOG_F0, VOICE_REFERENCE]);
  const model = new DiffVc(config, new Rng(0), file.normalization);
  try {
    model.setWeights(new Map([...weights].filter(([name]) => !tables.has(name))) as WeightMap, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, voices, speakerVectors: vectors, voiceTables, trainingDataHash: file.header.trainingDataHash, validationMetrics: file.header.validationMetrics, extra: file.extra };
}

/** Loads a DiffVC model file as a converter (the model registry's entry point for the 'diffvc' family). */
export async function loadMelConverter(modelPath: string): Promise<DiffVcConverter> {
  const loaded = await loadDiffVc(modelPath);
  const label = storedLabel(loaded.extra);
  return new DiffVcConverter(loaded, label);
}

/** The DiffVC `timbre eval` scores: TIMBRE_HOME/models/diffvc/model.timbre when present, else the shipped one. */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<DiffVcConverter> {
  return loadInstalledConverter({ folder: 'diffvc', label: 'DiffVC', trainCommand: 'timbre train diffvc', load: loadMelConverter }, context);
}

/** The shipped model file, `assets/models/diffvc/model.timbre` (from src/models or dist/src/models). */
export function shippedDiffVcPath(): string {
  return shippedModelPath('diffvc');
}
