// DiffVC (Popov et al., ICLR 2022) on normalised log-mel: an average-voice encoder X → X̄, and a score network that
// turns N(X̄, I) back into a target voice's mel by the reverse SDE (sde.ts). This file is the model: config, layers,
// forward pass and the two-stage loss (data and runs: train.ts; files and conversion: convert.ts).

import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import { Conv1d, Dense, glu, GroupNorm, mish, TimeEmbeddingMlp, UpsampleConv1d } from '../../nn/layers.js';
import { identityNormalization, type MelNormalization } from '../melNormalization.js';
import { f0FeatureDims } from '../pitch.js';
import { Module, Rng } from '../../nn/module.js';
import { marginal, normalArray, scoreScale } from './sde.js';

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
