// Speaker-conditioned VAE voice conversion (VAE-VC / ACVAE-VC lineage) on normalised log-mel: a gated-conv encoder of
// the spectral envelope → per-frame latent z; a decoder conditioned on a learned speaker embedding (FiLM) and log-F0.

import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import { checkLogMel, logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { openCorpusDataset, type CorpusDataset, type DatasetUtterance } from '../corpus/dataset.js';
import { manifestHash } from '../corpus/manifest.js';
import { loadVoiceAudio } from '../corpus/userVoices.js';
import { shippedModelPath, timbrePaths } from '../io/paths.js';
import type { ConversionSettings, ConversionTarget, MelConverter, ModelFamily } from './converter.js';
import { InvalidModelFileError, ShapeMismatchError } from '../nn/errors.js';
import { Conv1d, conv1d, Dense, dense, Embedding, glu, GroupNorm, leakyRelu, upsampleNearest1d } from '../nn/layers.js';
import { loadInstalledConverter } from './installed.js';
import type { JsonValue } from '../nn/modelFile.js';
import { identityNormalization, type MelNormalization } from './melNormalization.js';
import { loadVoiceModelFile, saveVoiceModelFile, storedLabel } from './voiceModelFile.js';
import { estimateF0FromLogMel, f0FeatureDims, f0Features, FINE_STRUCTURE_COEFFICIENTS, meanLogF0, normalizeVocalTract } from './pitch.js';

export { f0FeatureDims, f0Features, meanLogF0, VOCAL_TRACT_F0_EXPONENT, vocalTractWarpRatio } from './pitch.js';
import { Module, Rng, type WeightArray, type WeightMap } from '../nn/module.js';
import { warmupCosineSchedule } from '../nn/optimizer.js';
import { createGradientPool } from '../nn/parallel.js';
import { checkConfigOverrides, formatLosses, trainingLoopOptions, type PreparedTrainingRun, type TrainRunSettings } from '../nn/trainRun.js';
import { Trainer, type BatchSource, type LossResult, type StepContext, type TrainingSetup } from '../nn/train.js';
import { type TrainResult } from '../nn/trainingLoop.js';

/** Model-file kind and architecture version of the VAE. */
export const VAE_KIND = 'vae';
export const VAE_KIND_VERSION = 1;

/** Every hyperparameter of the VAE, its loss and its training; saved in the model file. */
export interface VaeConfig {
  /** Mel bins (80). */
  readonly mels: number;
  /** Width of every hidden layer (GLU outputs). */
  readonly channels: number;
  /** Dimensions of z per latent frame. */
  readonly latentDims: number;
  /** Dimensions of the learned speaker embedding. */
  readonly speakerDims: number;
  /** Kernel of the gated convolutions, frames. */
  readonly kernelSize: number;
  /** Time downsampling of z: 1, 2 or 4 latent frames per that many mel frames. */
  readonly downsample: number;
  /** Residual gated blocks of the encoder (after downsampling) and the decoder. */
  readonly encoderBlocks: number;
  readonly decoderBlocks: number;
  /** The encoder sees the log-mel cepstrally smoothed to this many DCT coefficients (pitch harmonics removed); 0 = the full log-mel. */
  readonly envelopeCoefficients: number;
  /** Width of the auxiliary speaker classifier. */
  readonly classifierChannels: number;
  /** log-F0 input of the decoder: (ln f0 − ln f0ReferenceHz) / f0ScaleNepers. */
  readonly f0ReferenceHz: number;
  readonly f0ScaleNepers: number;
  /** β of the KL term after annealing, and the steps of its linear ramp from 0. */
  readonly klWeight: number;
  readonly klAnnealSteps: number;
  /** Weight of the classifier's cross-entropy on real mels (trains the classifier only). */
  readonly classifierWeight: number;
  /** Weight of the cross-entropy of converted mels classified as their target (ACVAE; trains encoder and decoder). */
  readonly conversionClassWeight: number;
  /** Items of each batch (the first ones) decoded a second time with another voice for that term; 0 = all. */
  readonly conversionItems: number;
  /** The second decoding's F0 is the target's mean plus a uniform offset in ±this, semitones, so the decoder learns any pitch. */
  readonly conversionPitchRange: number;
  /** Weight of the pitch loss on that decoding: 1 − correlation of its harmonic fine structure with the requested F0's template. */
  readonly pitchWeight: number;
  /** Training crops, frames (a multiple of `downsample`). */
  readonly cropFrames: number;
  /** AdamW: peak learning rate (linear warmup, cosine decay to 10 %), warmup steps, weight decay, gradient-norm clip. */
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
}

/** The shipped configuration (≈1.5 M parameters); sized for a ≤ 60 min CPU training here. */
export const DEFAULT_VAE_CONFIG: VaeConfig = Object.freeze({
  mels: 80,
  channels: 128,
  latentDims: 16,
  speakerDims: 64,
  kernelSize: 5,
  downsample: 2,
  encoderBlocks: 2,
  decoderBlocks: 4,
  envelopeCoefficients: 20,
  classifierChannels: 64,
  f0ReferenceHz: 140,
  f0ScaleNepers: 0.5,
  klWeight: 0.02,
  klAnnealSteps: 600,
  classifierWeight: 1,
  conversionClassWeight: 0.2,
  conversionItems: 4,
  conversionPitchRange: 6,
  pitchWeight: 1,
  cropFrames: 128,
  learningRate: 1e-3,
  warmupSteps: 100,
  weightDecay: 0.01,
  clipNorm: 5,
});

/** Merges overrides into the default config and checks it. */
export function resolveVaeConfig(overrides: Partial<VaeConfig> = {}): VaeConfig {
  const config: VaeConfig = { ...DEFAULT_VAE_CONFIG, ...overrides };
  const posInt = (key: keyof VaeConfig): void => {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ShapeMismatchError(`VaeConfig.${key} must be a positive integer, received ${String(v)}`);
  };
  for (const key of ['mels', 'channels', 'latentDims', 'speakerDims', 'kernelSize', 'classifierChannels', 'cropFrames', 'klAnnealSteps', 'warmupSteps'] as const) posInt(key);
  if (![1, 2, 4].includes(config.downsample)) throw new ShapeMismatchError(`VaeConfig.downsample must be 1, 2 or 4, received ${config.downsample}`);
  if (config.cropFrames % config.downsample !== 0) throw new ShapeMismatchError(`VaeConfig.cropFrames (${config.cropFrames}) must be a multiple of downsample (${config.downsample})`);
  if (!Number.isInteger(config.envelopeCoefficients) || config.envelopeCoefficients < 0 || config.envelopeCoefficients > config.mels) {
    throw new ShapeMismatchError(`VaeConfig.envelopeCoefficients must be a whole number in [0, ${config.mels}], received ${config.envelopeCoefficients}`);
  }
  for (const key of ['encoderBlocks', 'decoderBlocks', 'conversionItems'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 0) throw new ShapeMismatchError(`VaeConfig.${key} must be a whole number ≥ 0, received ${config[key]}`);
  }
  for (const key of ['f0ReferenceHz', 'f0ScaleNepers', 'learningRate', 'clipNorm'] as const) {
    if (!(config[key] > 0)) throw new ShapeMismatchError(`VaeConfig.${key} must be positive, received ${config[key]}`);
  }
  for (const key of ['klWeight', 'classifierWeight', 'conversionClassWeight', 'weightDecay', 'conversionPitchRange', 'pitchWeight'] as const) {
    if (!(config[key] >= 0)) throw new ShapeMismatchError(`VaeConfig.${key} must be ≥ 0, received ${config[key]}`);
  }
  return config;
}

/** Per-mel-bin input statistics (the corpus train split's), applied as (x − mean) / std. */
export type VaeNormalization = MelNormalization;
export { identityNormalization };

// ---------------------------------------------------------------------------------------------------------------
// Layers.

/** Identity forward, zero backward: uses a net's weights inside a loss without training them there. */
function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: tf.clone(xi as tf.Tensor), gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)] };
  });
  return f(x) as T;
}

/** Conv → (instance norm) → (+ per-frame condition) → (speaker FiLM) → GLU. [B, T, Cin] → [B, ceil(T / stride), Cout]. */
class GatedBlock extends Module {
  readonly conv: Conv1d;
  readonly norm: GroupNorm | null;
  readonly frame: Dense | null;
  readonly film: Dense | null;
  readonly outChannels: number;

  constructor(
    rng: Rng,
    options: { inChannels: number; outChannels: number; kernelSize: number; stride?: number; instanceNorm?: boolean; frameDims?: number; speakerDims?: number },
  ) {
    super();
    const gated = 2 * options.outChannels;
    this.outChannels = options.outChannels;
    this.conv = this.child('conv', new Conv1d(rng, { inChannels: options.inChannels, outChannels: gated, kernelSize: options.kernelSize, stride: options.stride ?? 1 }));
    // Instance norm (one group per channel) strips per-utterance channel statistics, where speaker timbre lives (AdaIN-VC).
    this.norm = options.instanceNorm ? this.child('norm', new GroupNorm(rng, { channels: gated, groups: gated })) : null;
    this.frame = options.frameDims ? this.child('frame', new Dense(rng, { inFeatures: options.frameDims, outFeatures: gated, bias: false })) : null;
    this.film = options.speakerDims ? this.child('film', new Dense(rng, { inFeatures: options.speakerDims, outFeatures: 2 * gated })) : null;
  }

  /** x: [B, T, Cin]; speaker: [B, speakerDims]; frame: [B, T', frameDims] at the output rate → [B, T', Cout]. */
  forward(x: tf.Tensor3D, speaker?: tf.Tensor2D, frame?: tf.Tensor3D): tf.Tensor3D {
    let h = this.conv.forward(x); // [B, T', 2·Cout]
    if (this.norm) h = this.norm.forward(h);
    if (this.frame && frame) h = tf.add(h, this.frame.forward(frame));
    if (this.film && speaker) {
      const gated = 2 * this.outChannels;
      const gb = this.film.forward(speaker).reshape([speaker.shape[0], 1, 2 * gated]); // [B, 1, 2·2·Cout]
      const [gamma, beta] = tf.split(gb, 2, 2);
      h = tf.add(tf.mul(h, tf.add(gamma!, 1)), beta!);
    }
    return glu(h);
  }
}

/** Envelope mel → (mean, log-variance) of z. [B, T, mels] → 2 × [B, T / downsample, latentDims]. */
class VaeEncoder extends Module {
  readonly input: GatedBlock;
  readonly down: GatedBlock | null;
  readonly blocks: GatedBlock[];
  readonly output: Conv1d;

  constructor(rng: Rng, c: VaeConfig) {
    super();
    this.input = this.child('input', new GatedBlock(rng, { inChannels: c.mels, outChannels: c.channels, kernelSize: c.kernelSize, instanceNorm: true }));
    this.down =
      c.downsample > 1
        ? this.child('down', new GatedBlock(rng, { inChannels: c.channels, outChannels: c.channels, kernelSize: 2 * c.downsample, stride: c.downsample, instanceNorm: true }))
        : null;
    this.blocks = Array.from({ length: c.encoderBlocks }, (_, i) =>
      this.child(`blocks.${i}`, new GatedBlock(rng, { inChannels: c.channels, outChannels: c.channels, kernelSize: c.kernelSize, instanceNorm: true })),
    );
    this.output = this.child('output', new Conv1d(rng, { inChannels: c.channels, outChannels: 2 * c.latentDims, kernelSize: 3 }));
  }

  forward(x: tf.Tensor3D): { mean: tf.Tensor3D; logVar: tf.Tensor3D } {
    let h = this.input.forward(x);
    if (this.down) h = this.down.forward(h);
    for (const block of this.blocks) h = tf.add(h, block.forward(h));
    const [mean, logVar] = tf.split(this.output.forward(h), 2, 2) as [tf.Tensor3D, tf.Tensor3D];
    return { mean, logVar: tf.clipByValue(logVar, -10, 4) };
  }
}

/** z (upsampled) + log-F0 features, speaker FiLM at every block → normalised mel. */
class VaeDecoder extends Module {
  readonly input: GatedBlock;
  readonly blocks: GatedBlock[];
  readonly output: Conv1d;
  readonly downsample: number;

  constructor(rng: Rng, c: VaeConfig) {
    super();
    this.downsample = c.downsample;
    const common = { outChannels: c.channels, kernelSize: c.kernelSize, frameDims: f0FeatureDims(c), speakerDims: c.speakerDims };
    this.input = this.child('input', new GatedBlock(rng, { ...common, inChannels: c.latentDims + f0FeatureDims(c) }));
    this.blocks = Array.from({ length: c.decoderBlocks }, (_, i) => this.child(`blocks.${i}`, new GatedBlock(rng, { ...common, inChannels: c.channels })));
    this.output = this.child('output', new Conv1d(rng, { inChannels: c.channels, outChannels: c.mels, kernelSize: c.kernelSize }));
  }

  /** z: [B, T / d, latent]; speaker: [B, speakerDims]; f0: [B, T, 2 + mels] → [B, T, mels]. */
  forward(z: tf.Tensor3D, speaker: tf.Tensor2D, f0: tf.Tensor3D): tf.Tensor3D {
    const up = upsampleNearest1d(z, this.downsample); // [B, T, latent]
    let h = this.input.forward(tf.concat([up, f0], 2), speaker, f0);
    for (const block of this.blocks) h = tf.add(h, block.forward(h, speaker, f0));
    return this.output.forward(h);
  }
}

/** Auxiliary speaker classifier on normalised mel: three strided convs, mean over time, dense. [B, T, mels] → [B, speakers]. */
class SpeakerClassifier extends Module {
  readonly convs: Conv1d[];
  readonly output: Dense;

  constructor(rng: Rng, c: VaeConfig, speakers: number) {
    super();
    const widths = [c.mels, c.classifierChannels, c.classifierChannels, c.classifierChannels];
    this.convs = [0, 1, 2].map((i) =>
      this.child(`convs.${i}`, new Conv1d(rng, { inChannels: widths[i]!, outChannels: widths[i + 1]!, kernelSize: i === 2 ? 3 : 5, stride: 2, init: 'he' })),
    );
    this.output = this.child('output', new Dense(rng, { inFeatures: c.classifierChannels, outFeatures: speakers }));
  }

  /** Logits; `frozen` uses the weights without training them (the converted-output term). */
  forward(x: tf.Tensor3D, frozen = false): tf.Tensor2D {
    const w = <T extends tf.Tensor>(v: T): T => (frozen ? stopGradient(v) : v);
    let h = x;
    for (const conv of this.convs) h = leakyRelu(conv1d(h, w(conv.weight as tf.Tensor3D), w(conv.bias as tf.Tensor1D), { stride: 2 }));
    const pooled = tf.mean(h, 1) as tf.Tensor2D; // [B, C]
    return dense(pooled, w(this.output.weight as tf.Tensor2D), w(this.output.bias as tf.Tensor1D)) as tf.Tensor2D;
  }
}

/** The whole VAE: encoder, speaker table, decoder and the auxiliary classifier. */
export class Vae extends Module {
  readonly config: VaeConfig;
  readonly speakerCount: number;
  readonly normalization: VaeNormalization;
  readonly encoder: VaeEncoder;
  readonly speakers: Embedding;
  readonly decoder: VaeDecoder;
  readonly classifier: SpeakerClassifier;
  private readonly envelope: { matrix: tf.Tensor2D; bias: tf.Tensor1D } | null;
  private readonly fine: { matrix: tf.Tensor2D; bias: tf.Tensor1D } | null;

  constructor(config: VaeConfig, speakerCount: number, rng: Rng, normalization: VaeNormalization = identityNormalization(config.mels)) {
    super();
    if (!Number.isInteger(speakerCount) || speakerCount < 1) throw new ShapeMismatchError(`a VAE needs at least one speaker, received ${speakerCount}`);
    if (normalization.mean.length !== config.mels || normalization.std.length !== config.mels) {
      throw new ShapeMismatchError(`VAE normalisation must hold ${config.mels} means and stds, received ${normalization.mean.length} and ${normalization.std.length}`);
    }
    this.config = config;
    this.speakerCount = speakerCount;
    this.normalization = normalization;
    this.encoder = this.child('encoder', new VaeEncoder(rng, config));
    this.speakers = this.child('speakers', new Embedding(rng, { count: speakerCount, dims: config.speakerDims, std: 1 }));
    this.decoder = this.child('decoder', new VaeDecoder(rng, config));
    this.classifier = this.child('classifier', new SpeakerClassifier(rng, config, speakerCount));
    this.envelope = config.envelopeCoefficients > 0 && config.envelopeCoefficients < config.mels ? envelopeProjection(config, normalization) : null;
    this.fine = config.mels === MEL_CONFIG.melBins ? fineStructureProjection(normalization) : null;
  }

  /** Normalised mel → its normalised spectral envelope (fixed linear map; identity when envelopeCoefficients is 0). [B, T, mels]. */
  envelopeOf(x: tf.Tensor3D): tf.Tensor3D {
    if (!this.envelope) return x;
    return tf.add(dense(x, this.envelope.matrix, null), this.envelope.bias) as tf.Tensor3D;
  }

  /** x: normalised mel [B, T, mels], T a multiple of `downsample` → mean, log-variance [B, T / d, latent]. */
  encode(x: tf.Tensor3D): { mean: tf.Tensor3D; logVar: tf.Tensor3D } {
    checkFrames(x, this.config);
    return this.encoder.forward(this.envelopeOf(x));
  }

  /** Speaker embeddings of ids: [B] → [B, speakerDims]. */
  speakerVectors(ids: Int32Array | readonly number[]): tf.Tensor2D {
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.speakerCount) throw new ShapeMismatchError(`speaker id ${id} is outside [0, ${this.speakerCount})`);
    return this.speakers.forward(tf.tensor1d(Int32Array.from(ids), 'int32'));
  }

  /** z [B, T / d, latent], speaker vectors [B, speakerDims], pitch features [B, T, 2 + mels] → normalised mel [B, T, mels]. */
  decode(z: tf.Tensor3D, speaker: tf.Tensor2D, f0: tf.Tensor3D): tf.Tensor3D {
    const dims = f0FeatureDims(this.config);
    if (f0.shape[1] !== z.shape[1] * this.config.downsample || f0.shape[2] !== dims) {
      throw new ShapeMismatchError(`decode: pitch features must be [${z.shape[0]}, ${z.shape[1] * this.config.downsample}, ${dims}], received [${f0.shape.join(', ')}]`);
    }
    return this.decoder.forward(z, speaker, f0);
  }

  /** Reconstruction (or conversion) with the posterior mean: x [B, T, mels] → [B, T, mels]. */
  forward(x: tf.Tensor3D, speakerIds: Int32Array | readonly number[], f0: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.decode(this.encode(x).mean, this.speakerVectors(speakerIds), f0));
  }

  /**
   * Normalised mel → the harmonic fine structure of its de-normalised log-mel in bins [1, PITCH_BINS), as the
   * templates of `harmonicTemplates` measure it (log-mel minus its 20-coefficient cepstral envelope). [B, T, PITCH_BINS − 1].
   */
  fineStructureOf(x: tf.Tensor3D): tf.Tensor3D {
    if (!this.fine) throw new ShapeMismatchError(`the pitch loss needs ${MEL_CONFIG.melBins} mel bins, the model has ${this.config.mels}`);
    return tf.add(dense(x, this.fine.matrix, null), this.fine.bias) as tf.Tensor3D;
  }

  override dispose(): void {
    if (this.envelope) tf.dispose([this.envelope.matrix, this.envelope.bias]);
    if (this.fine) tf.dispose([this.fine.matrix, this.fine.bias]);
    super.dispose();
  }
}

function checkFrames(x: tf.Tensor3D, config: VaeConfig): void {
  if (x.rank !== 3 || x.shape[2] !== config.mels) throw new ShapeMismatchError(`VAE input must be [batch, frames, ${config.mels}], received [${x.shape.join(', ')}]`);
  if (x.shape[1] % config.downsample !== 0 || x.shape[1] < config.downsample) {
    throw new ShapeMismatchError(`VAE input frames must be a positive multiple of ${config.downsample}, received ${x.shape[1]}`);
  }
}

/** The cepstral-smoothing map in normalised units: x_env = ((x·std + mean)·P − mean) / std, P = BᵀB of the first K DCT rows. */
function envelopeProjection(config: VaeConfig, norm: VaeNormalization): { matrix: tf.Tensor2D; bias: tf.Tensor1D } {
  const n = config.mels;
  const k = config.envelopeCoefficients;
  const basis = new Float64Array(k * n);
  for (let q = 0; q < k; q++) {
    const scale = q === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let i = 0; i < n; i++) basis[q * n + i] = scale * Math.cos((Math.PI * q * (i + 0.5)) / n);
  }
  const matrix = new Float32Array(n * n); // [in, out]
  const bias = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let p = 0;
      for (let q = 0; q < k; q++) p += basis[q * n + i]! * basis[q * n + j]!;
      matrix[i * n + j] = (norm.std[i]! * p) / norm.std[j]!;
      bias[j] = bias[j]! + norm.mean[i]! * p;
    }
  }
  for (let j = 0; j < n; j++) bias[j] = (bias[j]! - norm.mean[j]!) / norm.std[j]!;
  return { matrix: tf.tensor2d(matrix, [n, n]), bias: tf.tensor1d(bias) };
}

/** Mel bins the pitch loss compares (harmonics are resolved by the mel filters up to about 2 kHz). */
export const PITCH_BINS = 40;

/** Normalised mel → fine structure in bins [1, PITCH_BINS): ((x·std + mean)·(I − P))[:, 1:PITCH_BINS], P the envelope map of pitch.ts. */
function fineStructureProjection(norm: VaeNormalization): { matrix: tf.Tensor2D; bias: tf.Tensor1D } {
  const n = norm.mean.length;
  const k = FINE_STRUCTURE_COEFFICIENTS;
  const basis = new Float64Array(k * n);
  for (let q = 0; q < k; q++) {
    const scale = q === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let i = 0; i < n; i++) basis[q * n + i] = scale * Math.cos((Math.PI * q * (i + 0.5)) / n);
  }
  const cols = PITCH_BINS - 1;
  const matrix = new Float32Array(n * cols); // [in, out]
  const bias = new Float32Array(cols);
  for (let i = 0; i < n; i++) {
    for (let j = 1; j < PITCH_BINS; j++) {
      let p = 0;
      for (let q = 0; q < k; q++) p += basis[q * n + i]! * basis[q * n + j]!;
      const residual = (i === j ? 1 : 0) - p; // (I − P)[i, j]
      matrix[i * cols + j - 1] = norm.std[i]! * residual;
      bias[j - 1] = bias[j - 1]! + norm.mean[i]! * residual;
    }
  }
  return { matrix: tf.tensor2d(matrix, [n, cols]), bias: tf.tensor1d(bias) };
}

/** A VAE with fresh weights (seed 0 unless given). */
export function createVae(config: VaeConfig = DEFAULT_VAE_CONFIG, options: { speakers: number; seed?: number; normalization?: VaeNormalization }): Vae {
  return new Vae(resolveVaeConfig(config), options.speakers, new Rng(options.seed ?? 0), options.normalization);
}

// ---------------------------------------------------------------------------------------------------------------
// log-F0 features.


// ---------------------------------------------------------------------------------------------------------------
// Loss.

/** One training batch; tensors are disposed by the trainer. */
export interface VaeBatch {
  readonly mel: tf.Tensor3D; // [B, T, mels], normalised
  readonly mask: tf.Tensor3D; // [B, T, 1], 1 on valid frames
  readonly f0: tf.Tensor3D; // [B, T, 2], the source's own log-F0 features
  readonly speakerIds: Int32Array; // [B]
  readonly targetIds: Int32Array; // [B], another speaker per item (conversion term)
  readonly targetF0: tf.Tensor3D; // [B, T, 2], log-F0 moved to the target's mean
}

/** β of the KL term at a (1-based) step: linear ramp from 0 to `klWeight` over `klAnnealSteps`. */
export function klBeta(config: VaeConfig, step: number): number {
  return config.klWeight * Math.min(1, Math.max(0, step) / config.klAnnealSteps);
}

function crossEntropy(logits: tf.Tensor2D, labels: Int32Array, classes: number): tf.Scalar {
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat(); // [B, classes]
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

function accuracy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  return tf.mean(tf.equal(tf.argMax(logits, 1), tf.tensor1d(labels, 'int32')).toFloat()) as tf.Scalar;
}

/**
 * 1 − normalised correlation between the fine structure of `mel` (normalised, [B, T, mels]) and the harmonic templates
 * carried in its pitch features `f0` ([B, T, 2 + mels]), averaged over voiced frames: low when harmonics sit at the requested F0.
 */
export function pitchLoss(model: Vae, mel: tf.Tensor3D, f0: tf.Tensor3D): tf.Scalar {
  const [b, frames] = mel.shape;
  const fine = model.fineStructureOf(mel); // [B, T, PITCH_BINS − 1]
  const template = tf.slice(f0, [0, 0, 3], [b, frames, PITCH_BINS - 1]); // bins 1 … PITCH_BINS − 1 of the template
  const voiced = tf.slice(f0, [0, 0, 1], [b, frames, 1]).reshape([b, frames]);
  const dot = tf.sum(tf.mul(fine, template), 2);
  const norms = tf.mul(tf.sqrt(tf.add(tf.sum(tf.square(fine), 2), 1e-6)), tf.sqrt(tf.add(tf.sum(tf.square(template), 2), 1e-6)));
  const mismatch = tf.sub(1, tf.div(dot, norms)); // [B, T]
  return tf.div(tf.sum(tf.mul(mismatch, voiced)), tf.add(tf.sum(voiced), 1e-6)) as tf.Scalar;
}

/**
 * The VAE loss: masked L1 reconstruction + β·KL (β annealed) + classifier CE on real mels (trains the classifier)
 * + CE of the mel decoded with another speaker's embedding and F0, classified as that speaker (ACVAE; classifier frozen there).
 */
export function vaeLoss(model: Vae, batch: VaeBatch, ctx: Pick<StepContext, 'step' | 'training'> & { rng?: Rng }): LossResult {
  const c = model.config;
  const { mean, logVar } = model.encode(batch.mel);
  let z = mean;
  if (ctx.training) {
    const rng = ctx.rng ?? new Rng(ctx.step);
    const noise = new Float32Array(mean.size);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
    z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), tf.tensor(noise, mean.shape))) as tf.Tensor3D;
  }
  const reconstructed = model.decode(z, model.speakerVectors(batch.speakerIds), batch.f0);
  const valid = tf.sum(batch.mask);
  const recon = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(reconstructed, batch.mel)), batch.mask)), tf.mul(valid, c.mels)) as tf.Scalar;
  const kl = tf.mean(tf.mul(0.5, tf.sub(tf.add(tf.square(mean), tf.exp(logVar)), tf.add(logVar, 1)))) as tf.Scalar;
  const beta = ctx.training ? klBeta(c, ctx.step) : c.klWeight;
  let total = tf.add(recon, tf.mul(kl, beta)) as tf.Scalar;
  const parts: Record<string, tf.Scalar> = { recon, kl };
  if (c.classifierWeight > 0) {
    const logits = model.classifier.forward(batch.mel);
    const clsReal = crossEntropy(logits, batch.speakerIds, model.speakerCount);
    total = tf.add(total, tf.mul(clsReal, c.classifierWeight));
    parts['clsReal'] = clsReal;
    parts['accReal'] = accuracy(logits, batch.speakerIds);
  }
  if (c.conversionClassWeight > 0) {
    // The second decoding is the costliest part of a step, so only the first `conversionItems` items take it.
    const n = c.conversionItems > 0 ? Math.min(c.conversionItems, batch.targetIds.length) : batch.targetIds.length;
    const [b, frames, dims] = batch.targetF0.shape;
    const zPart = n === b ? z : (tf.slice(z, [0, 0, 0], [n, z.shape[1], z.shape[2]]) as tf.Tensor3D);
    const f0Part = n === b ? batch.targetF0 : (tf.slice(batch.targetF0, [0, 0, 0], [n, frames, dims]) as tf.Tensor3D);
    const targets = batch.targetIds.subarray(0, n);
    const converted = model.decode(zPart, model.speakerVectors(targets), f0Part);
    const logits = model.classifier.forward(converted, true);
    const clsConv = crossEntropy(logits, targets, model.speakerCount);
    total = tf.add(total, tf.mul(clsConv, c.conversionClassWeight));
    parts['clsConv'] = clsConv;
    parts['accConv'] = accuracy(logits, targets);
    if (c.pitchWeight > 0) {
      const pitch = pitchLoss(model, converted, f0Part);
      total = tf.add(total, tf.mul(pitch, c.pitchWeight));
      parts['pitch'] = pitch;
    }
  }
  return { total, parts };
}

// ---------------------------------------------------------------------------------------------------------------
// Data: random crops of corpus utterances with their F0, and a random other speaker per item.

/** One utterance as training material: its log-mel, F0 track and speaker. */
export interface VaeUtterance {
  readonly speakerId: number;
  readonly mel: () => LogMel;
  readonly f0Hz: () => Float32Array;
  /** Mean ln f0 of its voiced frames (NaN if none). */
  readonly logF0Mean: () => number;
}

/** Deterministic seed of a batch from its item indices (so a resumed run crops the same way). */
function indicesSeed(indices: readonly number[], salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (const i of indices) h = Math.imul(h ^ (i + 0x9e3779b9), 0x01000193) >>> 0;
  return h;
}

/** Crops of `cropFrames` (or whole utterances padded to a multiple of `downsample` when null), items in `indices` order. */
export function vaeBatchSource(
  items: readonly VaeUtterance[],
  options: { config: VaeConfig; normalization: VaeNormalization; speakerLogF0: readonly number[]; cropFrames: number | null; salt?: number; speakerCount?: number },
): BatchSource<VaeBatch> {
  const { config, normalization, speakerLogF0 } = options;
  const mels = config.mels;
  const speakers = options.speakerCount ?? speakerLogF0.length;
  const floor = Math.log(MEL_CONFIG.logFloor);
  return {
    size: items.length,
    getBatch(indices) {
      const rng = new Rng(indicesSeed(indices, options.salt ?? 0));
      const chosen = indices.map((i) => items[i]!);
      const crop = options.cropFrames;
      const width = crop ?? Math.ceil(Math.max(...chosen.map((u) => u.mel().frames)) / config.downsample) * config.downsample;
      const b = chosen.length;
      const mel = new Float32Array(b * width * mels);
      const mask = new Float32Array(b * width);
      const dims = f0FeatureDims(config);
      const f0 = new Float32Array(b * width * dims);
      const targetF0 = new Float32Array(b * width * dims);
      const speakerIds = new Int32Array(b);
      const targetIds = new Int32Array(b);
      chosen.forEach((u, k) => {
        const full = u.mel();
        const length = Math.min(width, full.frames);
        const start = full.frames > width ? rng.int(full.frames - width + 1) : 0;
        for (let t = 0; t < width; t++) {
          const base = (k * width + t) * mels;
          for (let m = 0; m < mels; m++) {
            const value = t < length ? full.data[(start + t) * mels + m]! : floor;
            mel[base + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
          }
          mask[k * width + t] = t < length ? 1 : 0;
        }
        const track = u.f0Hz();
        const cropped = new Float32Array(width);
        for (let t = 0; t < length; t++) cropped[t] = track[start + t] ?? 0;
        const own = Number.isFinite(u.logF0Mean()) ? u.logF0Mean() : speakerLogF0[u.speakerId]!;
        f0.set(f0Features(cropped, width, config, 0, own), k * width * dims);
        speakerIds[k] = u.speakerId;
        let target = speakers > 1 ? rng.int(speakers - 1) : 0;
        if (speakers > 1 && target >= u.speakerId) target++;
        targetIds[k] = target;
        // The target's mean, plus a random offset so the decoder also learns to render pitches outside a voice's range.
        const offset = config.conversionPitchRange > 0 ? ((2 * rng.uniform() - 1) * config.conversionPitchRange * Math.LN2) / 12 : 0;
        const shift = speakerLogF0[target]! - own + offset;
        targetF0.set(f0Features(cropped, width, config, shift, own), k * width * dims);
      });
      return {
        mel: tf.tensor3d(mel, [b, width, mels]),
        mask: tf.tensor3d(mask, [b, width, 1]),
        f0: tf.tensor3d(f0, [b, width, dims]),
        speakerIds,
        targetIds,
        targetF0: tf.tensor3d(targetF0, [b, width, dims]),
      };
    },
  };
}

/**
 * Training material of corpus utterances: log-mels read lazily through the dataset's cache; F0 estimated from the
 * log-mel itself (`estimateF0FromLogMel`, cached), the same estimator conversion uses on any source.
 */
export function corpusUtterances(dataset: CorpusDataset, utterances: readonly DatasetUtterance[] = dataset.utterances): VaeUtterance[] {
  return utterances.map((u) => {
    let f0: Float32Array | undefined;
    let logF0: number | undefined;
    const f0Hz = (): Float32Array => (f0 ??= estimateF0FromLogMel(dataset.mel(u.voice, u.sentence)));
    return { speakerId: u.speakerId, mel: () => dataset.mel(u.voice, u.sentence), f0Hz, logF0Mean: () => (logF0 ??= meanLogF0(f0Hz())) };
  });
}

/**
 * Mean over utterances of each speaker's utterance log-F0 means (ln Hz), from at most `perSpeaker` utterances each
 * (the first in list order); `fallback` for a speaker without voiced audio.
 */
export function speakerLogF0Means(items: readonly VaeUtterance[], speakers: number, options: { perSpeaker?: number; fallback?: number } = {}): number[] {
  const fallback = options.fallback ?? Math.log(DEFAULT_VAE_CONFIG.f0ReferenceHz);
  const limit = options.perSpeaker ?? Number.POSITIVE_INFINITY;
  const sums = new Float64Array(speakers);
  const counts = new Float64Array(speakers);
  const seen = new Float64Array(speakers);
  for (const u of items) {
    if (seen[u.speakerId]! >= limit) continue;
    seen[u.speakerId] = seen[u.speakerId]! + 1;
    const m = u.logF0Mean();
    if (!Number.isFinite(m)) continue;
    sums[u.speakerId] = sums[u.speakerId]! + m;
    counts[u.speakerId] = counts[u.speakerId]! + 1;
  }
  return Array.from(sums, (s, i) => (counts[i]! > 0 ? s / counts[i]! : fallback));
}

// ---------------------------------------------------------------------------------------------------------------
// Training setup (also the factory of the data-parallel workers).

/** JSON options of the training-setup factory. */
export interface VaeSetupOptions {
  /** TIMBRE_HOME holding the corpus (default `timbreHome()`), or the corpus folder itself. */
  readonly home?: string;
  readonly corpusRoot?: string;
  /** Config overrides on top of `DEFAULT_VAE_CONFIG`. */
  readonly config?: Partial<VaeConfig>;
  /** Weight-initialisation seed (default 0). */
  readonly seed?: number;
  /** Validation crops drawn from the validation split (default 64). */
  readonly validationItems?: number;
}

/** What a VAE training run needs besides the trainer: the model and where its data came from. */
export interface VaeSetup extends TrainingSetup<VaeBatch> {
  readonly model: Vae;
  readonly config: VaeConfig;
  readonly voices: readonly string[];
  readonly speakerLogF0: readonly number[];
  readonly trainSet: CorpusDataset;
  readonly corpusHash: string;
  readonly trainHours: number;
}

/** Train utterances per voice whose F0 sets the voice's log-F0 mean (≈ 2 min of speech: a stable mean, seconds to compute). */
export const SPEAKER_F0_UTTERANCES = 60;

/** Builds model, loss and data of a training run on the corpus train split, all voices (non-parallel: pairs are not used). */
export function createVaeTrainingSetup(options: VaeSetupOptions = {}): VaeSetup {
  const config = resolveVaeConfig(options.config);
  const where = options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : { home: options.home };
  const trainSet = openCorpusDataset({ ...where, split: 'train' });
  const validationSet = openCorpusDataset({ ...where, split: 'validation' });
  const voices = trainSet.manifest.voices.map((v) => v.id);
  const stats = trainSet.melStats();
  const normalization: VaeNormalization = { mean: Float32Array.from(stats.mean), std: Float32Array.from(stats.std) };
  const trainItems = corpusUtterances(trainSet);
  const speakerLogF0 = speakerLogF0Means(trainItems, voices.length, { perSpeaker: SPEAKER_F0_UTTERANCES });
  const model = new Vae(config, voices.length, new Rng(options.seed ?? 0), normalization);
  const shuffled = new Rng(7).shuffleInPlace([...validationSet.utterances]);
  const validationItems = corpusUtterances(validationSet, shuffled.slice(0, options.validationItems ?? 64));
  return {
    model,
    config,
    voices,
    speakerLogF0,
    trainSet,
    corpusHash: manifestHash(trainSet.manifest),
    trainHours: trainSet.utterances.reduce((s, u) => s + u.durationSeconds, 0) / 3600,
    train: vaeBatchSource(trainItems, { config, normalization, speakerLogF0, cropFrames: config.cropFrames }),
    validation: validationItems.length > 0 ? vaeBatchSource(validationItems, { config, normalization, speakerLogF0, cropFrames: config.cropFrames, salt: 1 }) : undefined,
    lossFn: (batch: VaeBatch, ctx: StepContext) => vaeLoss(model, batch, ctx),
  } as VaeSetup;
}

/** AdamW decays conv/dense weights but not the speaker table (rows of voices absent from a batch would shrink). */
function decays(name: string, v: tf.Variable): boolean {
  return v.rank >= 2 && !name.startsWith('speakers.');
}

/** Settings of a VAE training run: the shared `timbre train` options plus the VAE's own. */
export interface VaeTrainingSettings extends TrainRunSettings {
  /** The corpus folder itself, instead of TIMBRE_HOME/corpus. */
  readonly corpusRoot?: string;
  /** Fine-tune instead: add this user voice (TIMBRE_HOME/voices/NAME) to the model at `base`. */
  readonly addVoice?: string;
  /** Model extended by `addVoice` (default: the shipped VAE). */
  readonly base?: string;
  /** Warm start: a VAE file (same architecture, voices and corpus) whose weights this run starts from. */
  readonly init?: string;
}

/** A prepared VAE run (training or adding a voice). */
export type VaeTrainingRun = PreparedTrainingRun<Trainer<VaeBatch>>;

/** Checks config overrides from a preset: only `VaeConfig` keys with values of the default's type. */
export function vaeConfigOverrides(config: Readonly<Record<string, unknown>>): Partial<VaeConfig> {
  return checkConfigOverrides('VAE', DEFAULT_VAE_CONFIG, config);
}

/** Prepares a training run on the corpus train split, all voices (or, with `addVoice`, the fine-tuning run of a user voice). */
export async function prepareVaeTraining(settings: VaeTrainingSettings): Promise<VaeTrainingRun> {
  if (settings.addVoice !== undefined) return prepareVaeAddVoice(settings as VaeTrainingSettings & { addVoice: string });
  const overrides = vaeConfigOverrides(settings.config);
  // A warm start continues with the KL weight at its final β (no second ramp from 0).
  const setupOptions: VaeSetupOptions = {
    ...(settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {}),
    config: settings.init !== undefined ? { ...overrides, klAnnealSteps: 1 } : overrides,
    seed: settings.seed,
  };
  const setup = createVaeTrainingSetup(setupOptions);
  const { config } = setup;
  if (settings.init !== undefined) {
    try {
      await warmStartVae(setup, settings.init);
    } catch (err) {
      setup.model.dispose();
      throw err;
    }
    settings.log(`vae: starting from the weights of ${settings.init}`);
  }
  const gradients =
    settings.workers > 1
      ? await createGradientPool({ module: import.meta.url, factory: 'createVaeTrainingSetup', factoryOptions: setupOptions as unknown as JsonValue, workers: settings.workers })
      : undefined;
  const trainer = new Trainer<VaeBatch>({
    model: setup.model,
    lossFn: setup.lossFn,
    train: setup.train,
    ...(setup.validation ? { validation: setup.validation } : {}),
    ...trainingLoopOptions(settings),
    validateEvery: settings.validateEvery,
    runConfig: { model: 'vae', config: config as unknown as JsonValue, corpus: setup.corpusHash, voices: [...setup.voices] },
    optimizer: {
      learningRate: warmupCosineSchedule({ peak: config.learningRate, warmupSteps: Math.min(config.warmupSteps, Math.max(1, Math.floor(settings.steps / 10))), totalSteps: settings.steps }),
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
      decays,
    },
    ...(gradients ? { gradients } : {}),
  });
  settings.log(
    `vae: ${setup.model.parameterCount()} parameters, ${setup.voices.length} voices, ${setup.trainHours.toFixed(2)} h of train-split speech, crops of ${config.cropFrames} frames`,
  );
  return {
    trainer,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const lastValidation = result.validation[result.validation.length - 1];
      await saveVae(
        outPath,
        {
          model: setup.model,
          voices: setup.voices,
          speakerLogF0: setup.speakerLogF0,
          trainingDataHash: setup.corpusHash,
          validationMetrics: lastValidation ? { ...lastValidation.losses } : {},
          extra: {
            training: {
              command: options.command,
              steps: result.totalSteps,
              batchSize: settings.batchSize,
              seed: settings.seed,
              workers: settings.workers,
              trainHours: setup.trainHours,
              seconds: options.trainingSeconds,
              ...(settings.init !== undefined ? { init: settings.init } : {}),
            },
          },
        },
        { overwrite: options.overwrite },
      );
      const losses = lastValidation ? formatLosses(lastValidation.losses) : 'none';
      return [`vae: validation ${losses}; voices ${setup.voices.join(', ')}`];
    },
    async dispose() {
      await trainer.dispose();
      setup.model.dispose();
    },
  };
}

/** Config fields that shape the network; a warm start needs them equal (the training-only fields may differ). */
const VAE_ARCHITECTURE_FIELDS = [
  'mels', 'channels', 'latentDims', 'speakerDims', 'kernelSize', 'downsample', 'encoderBlocks', 'decoderBlocks',
  'envelopeCoefficients', 'classifierChannels', 'f0ReferenceHz', 'f0ScaleNepers',
] as const satisfies readonly (keyof VaeConfig)[];

/** Copies the weights of the VAE file at `path` into a fresh training setup; refuses another architecture, voice list or corpus. */
async function warmStartVae(setup: VaeSetup, path: string): Promise<void> {
  if (!existsSync(path)) throw new InvalidArgumentError(`--init: no model file at ${path}`);
  const start = await loadVae(path);
  try {
    const differing = VAE_ARCHITECTURE_FIELDS.filter((k) => start.model.config[k] !== setup.config[k]);
    if (differing.length > 0) {
      throw new ShapeMismatchError(`--init ${path}: its ${differing.map((k) => `${k} ${start.model.config[k]} (this run ${setup.config[k]})`).join(', ')} differ; a warm start needs the same architecture`);
    }
    if (start.voices.join('\n') !== setup.voices.join('\n')) {
      throw new ShapeMismatchError(`--init ${path}: its voices (${start.voices.join(', ')}) are not the corpus voices (${setup.voices.join(', ')})`);
    }
    if (start.trainingDataHash !== setup.corpusHash) {
      throw new ShapeMismatchError(`--init ${path} was trained on corpus ${start.trainingDataHash.slice(0, 12)}…, this corpus is ${setup.corpusHash.slice(0, 12)}…; rebuild the same corpus or train from scratch`);
    }
    setup.model.setWeights(new Map(start.model.getWeights()), path);
  } finally {
    start.model.dispose();
  }
}

/** Options of `trainVae`: the run settings with defaults, and where to write the model. */
export interface VaeTrainOptions extends Partial<Omit<VaeTrainingSettings, 'log'>> {
  readonly steps: number;
  /** Model file (default TIMBRE_HOME/models/vae/model.timbre, or models/vae-NAME with `addVoice`); refuses to overwrite unless `overwrite`. */
  readonly output?: string;
  readonly overwrite?: boolean;
  readonly log?: (line: string) => void;
  /** Called with the trainer before it runs (attach progress printers, wire cancel). */
  readonly onTrainer?: (trainer: Trainer<VaeBatch>) => void;
}

/** Result of `trainVae`: the trainer's result and, when it finished, the model file written. */
export interface VaeTrainResult extends TrainResult {
  readonly modelPath: string | null;
  readonly seconds: number;
  readonly lines: readonly string[];
}

/** Prepares, runs and finishes a training (or `addVoice` fine-tuning) run in one call (what `timbre train vae` does). */
export async function trainVae(options: VaeTrainOptions): Promise<VaeTrainResult> {
  const paths = timbrePaths(options.home);
  const name = options.addVoice === undefined ? 'vae' : `vae-${options.addVoice}`;
  const output = options.output ?? join(paths.models, name, 'model.timbre');
  if (existsSync(output) && options.overwrite !== true) throw new InvalidArgumentError(`${output} already exists; pass overwrite (--force) to replace it`, 'OUTPUT_EXISTS');
  const run = await prepareVaeTraining({
    home: options.home,
    ...(options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : {}),
    steps: options.steps,
    batchSize: options.batchSize ?? (options.addVoice === undefined ? 16 : 8),
    seed: options.seed ?? 0,
    workers: options.workers ?? 1,
    runDir: options.runDir ?? join(paths.checkpoints, name),
    resume: options.resume ?? true,
    logEvery: options.logEvery ?? 25,
    validateEvery: options.validateEvery ?? 250,
    checkpointEvery: options.checkpointEvery ?? 100,
    config: options.config ?? {},
    log: options.log ?? (() => {}),
    ...(options.addVoice !== undefined ? { addVoice: options.addVoice } : {}),
    ...(options.base !== undefined ? { base: options.base } : {}),
  });
  try {
    options.onTrainer?.(run.trainer);
    const started = performance.now();
    const result = await run.trainer.run();
    const seconds = (performance.now() - started) / 1000;
    if (result.cancelled) return { ...result, modelPath: null, seconds, lines: [] };
    mkdirSync(dirname(output), { recursive: true });
    const lines = await run.finish(result, output, { overwrite: options.overwrite === true, command: 'trainVae', trainingSeconds: seconds });
    return { ...result, modelPath: output, seconds, lines };
  } finally {
    await run.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Model file.

/** Everything a VAE model file holds besides the config: weights, voices and their log-F0 means. */
export interface LoadedVae {
  readonly model: Vae;
  /** Voice id of each speaker row, model order. */
  readonly voices: readonly string[];
  /** Mean ln f0 (Hz) of each voice. */
  readonly speakerLogF0: readonly number[];
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
  readonly extra: { readonly [key: string]: JsonValue };
}

/** Display label of a VAE model file. */
export function vaeLabel(voices: readonly string[]): string {
  return `VAE (${voices.length} voices)`;
}

/** Writes a VAE as one `.timbre` file (atomic; `overwrite` to replace). */
export async function saveVae(
  path: string,
  file: { model: Vae; voices: readonly string[]; speakerLogF0: readonly number[]; trainingDataHash: string; validationMetrics?: { [key: string]: number }; extra?: { [key: string]: JsonValue } },
  options: { overwrite: boolean } = { overwrite: false },
): Promise<void> {
  const { model, voices, speakerLogF0 } = file;
  if (voices.length !== model.speakerCount || speakerLogF0.length !== model.speakerCount) {
    throw new ShapeMismatchError(`saveVae: the model has ${model.speakerCount} speakers but ${voices.length} voice ids and ${speakerLogF0.length} log-F0 means were given`);
  }
  await saveVoiceModelFile(
    path,
    {
      kind: VAE_KIND,
      kindVersion: VAE_KIND_VERSION,
      config: model.config,
      voices,
      normalization: model.normalization,
      trainingDataHash: file.trainingDataHash,
      ...(file.validationMetrics !== undefined ? { validationMetrics: file.validationMetrics } : {}),
      defaultLabel: vaeLabel(voices),
      ...(file.extra !== undefined ? { extra: file.extra } : {}),
      facts: { speakerLogF0: [...speakerLogF0], parameterCount: model.parameterCount() },
    },
    model.getWeights(),
    options,
  );
}

/** Loads a VAE model file, refusing other kinds, versions and feature configs (`ModelMismatchError`). */
export async function loadVae(path: string): Promise<LoadedVae> {
  const file = await loadVoiceModelFile(path, { kind: VAE_KIND, kindVersion: VAE_KIND_VERSION, family: 'VAE', resolveConfig: (stored) => resolveVaeConfig(stored as Partial<VaeConfig>) });
  const { config, voices, extra } = file;
  const speakerLogF0 = extra['speakerLogF0'];
  if (!Array.isArray(speakerLogF0) || speakerLogF0.length !== voices.length || !speakerLogF0.every((v) => typeof v === 'number')) {
    throw new InvalidModelFileError(`${path}: extra.speakerLogF0 must hold one number per voice (${voices.length})`);
  }
  const model = new Vae(config, voices.length, new Rng(0), file.normalization);
  try {
    model.setWeights(file.weights, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, voices, speakerLogF0: speakerLogF0 as number[], trainingDataHash: file.header.trainingDataHash, validationMetrics: file.header.validationMetrics, extra };
}

// ---------------------------------------------------------------------------------------------------------------
// Fine-tuning: a user voice as a new target row of the speaker table.

/** The one trainable row of a fine-tuning run: the new voice's speaker embedding [1, speakerDims]. */
class NewSpeakerRow extends Module {
  readonly row: tf.Variable;
  constructor(initial: Float32Array) {
    super();
    this.row = this.param('row', [1, initial.length], () => Float32Array.from(initial), new Rng(0));
  }
}

/** Fine-tuning defaults: steps, batch, peak learning rate of the new row (Adam on one vector converges fast). */
export const ADD_VOICE_DEFAULTS = Object.freeze({ steps: 200, batchSize: 8, learningRate: 1e-2 });

/**
 * Training material of a user voice as speaker `speakerId`: its clips' log-mels and F0 tracks (from the log-mels), cut
 * into windows of `windowFrames` (the last one kept when at least half as long), so a single long recording still
 * fills a batch with different crops.
 */
async function userVoiceItems(name: string, home: string | undefined, speakerId: number, windowFrames: number): Promise<VaeUtterance[]> {
  const audio = await loadVoiceAudio(name, { home });
  const items: VaeUtterance[] = [];
  for (const clip of audio.clips) {
    const mel = logMelSpectrogram(clip, MEL_CONFIG);
    const f0 = estimateF0FromLogMel(mel);
    for (let start = 0; start < mel.frames; start += windowFrames) {
      const frames = Math.min(windowFrames, mel.frames - start);
      if (frames < windowFrames / 2 && start > 0) break;
      const piece: LogMel = { frames, mels: mel.mels, data: mel.data.subarray(start * mel.mels, (start + frames) * mel.mels) };
      const pieceF0 = f0.subarray(start, start + frames);
      const logF0 = meanLogF0(pieceF0);
      items.push({ speakerId, mel: () => piece, f0Hz: () => pieceF0, logF0Mean: () => logF0 });
    }
  }
  return items;
}

/**
 * Prepares the fine-tuning run that adds user voice `addVoice` as a new target: the speaker table gets one row
 * (initialised at the mean of the others) and only that row trains, reconstructing the user's clips through the
 * frozen encoder and decoder, so every other voice converts exactly as before. `finish` writes the extended model.
 */
export async function prepareVaeAddVoice(settings: VaeTrainingSettings & { addVoice: string }): Promise<VaeTrainingRun> {
  const name = settings.addVoice;
  const basePath = settings.base ?? shippedVaePath();
  const base = await loadVae(basePath);
  const { model, voices } = base;
  try {
    if (voices.includes(name)) throw new InvalidArgumentError(`the VAE at ${basePath} already has voice "${name}"`, 'VOICE_EXISTS');
    const unknown = Object.keys(settings.config).filter((k) => k !== 'learningRate');
    if (unknown.length > 0) throw new ShapeMismatchError(`adding a voice takes only "learningRate" from the config, received ${unknown.join(', ')}`);
    const items = await userVoiceItems(name, settings.home, voices.length, 2 * model.config.cropFrames);
    const allF0 = new Float32Array(items.reduce((n, it) => n + it.f0Hz().length, 0));
    let at = 0;
    for (const it of items) {
      allF0.set(it.f0Hz(), at);
      at += it.f0Hz().length;
    }
    const measured = meanLogF0(allF0);
    const voiceLogF0 = Number.isFinite(measured) ? measured : base.speakerLogF0.reduce((a, b) => a + b, 0) / base.speakerLogF0.length;
    const speakerLogF0 = [...base.speakerLogF0, voiceLogF0];
    const { config } = model;
    const table = model.speakers.table.dataSync() as Float32Array; // [S, D]
    const initial = new Float32Array(config.speakerDims);
    for (let s = 0; s < voices.length; s++) for (let d = 0; d < config.speakerDims; d++) initial[d]! += table[s * config.speakerDims + d]! / voices.length;
    const row = new NewSpeakerRow(initial);
    const shortest = Math.min(...items.map((it) => it.mel().frames));
    const cropFrames = Math.min(config.cropFrames, Math.max(config.downsample, Math.floor(shortest / config.downsample) * config.downsample));
    const learningRate = typeof settings.config['learningRate'] === 'number' ? settings.config['learningRate'] : ADD_VOICE_DEFAULTS.learningRate;
    const trainer = new Trainer<VaeBatch>({
      model: row,
      train: vaeBatchSource(items, { config, normalization: model.normalization, speakerLogF0, cropFrames, speakerCount: voices.length + 1 }),
      lossFn: (batch, ctx) => {
        const { mean, logVar } = model.encode(batch.mel);
        const noise = new Float32Array(mean.size);
        for (let i = 0; i < noise.length; i++) noise[i] = ctx.rng.normal();
        const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), tf.tensor(noise, mean.shape))) as tf.Tensor3D;
        const speaker = tf.tile(row.row, [batch.speakerIds.length, 1]) as tf.Tensor2D; // [B, D]
        const out = model.decode(z, speaker, batch.f0);
        const recon = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(out, batch.mel)), batch.mask)), tf.mul(tf.sum(batch.mask), config.mels)) as tf.Scalar;
        return { total: recon, parts: { recon } };
      },
      ...trainingLoopOptions(settings),
      runConfig: { model: 'vae-add-voice', base: base.trainingDataHash, voice: name, windows: items.length, config: config as unknown as JsonValue },
      optimizer: { learningRate: warmupCosineSchedule({ peak: learningRate, warmupSteps: Math.min(20, settings.steps), totalSteps: settings.steps }), weightDecay: 0 },
    });
    const seconds = items.reduce((n, it) => n + it.mel().frames, 0) * (MEL_CONFIG.hopSamples / MEL_CONFIG.sampleRateHz);
    settings.log(`vae: adding voice ${name} (${items.length} windows of ≤ ${2 * config.cropFrames} frames, ${seconds.toFixed(1)} s, mean F0 ${Math.exp(voiceLogF0).toFixed(0)} Hz) to ${basePath}; only its speaker row trains`);
    return {
      trainer,
      async finish(result, outPath, options) {
        if (result.cancelled) return [];
        const extended = extendSpeakers(model, row.row.dataSync() as Float32Array);
        try {
          const recon = result.history[result.history.length - 1]?.['recon'] ?? Number.NaN;
          await saveVae(
            outPath,
            {
              model: extended,
              voices: [...voices, name],
              speakerLogF0,
              trainingDataHash: base.trainingDataHash,
              validationMetrics: { ...base.validationMetrics, [`recon_${name}`]: recon },
              extra: {
                ...base.extra,
                label: `VAE (${voices.length} voices + ${name})`,
                addedVoice: { name, base: basePath, command: options.command, steps: result.totalSteps, seconds: options.trainingSeconds, f0MeanHz: Math.exp(voiceLogF0) },
              },
            },
            { overwrite: options.overwrite },
          );
          return [`vae: voice ${name} added (reconstruction L1 ${recon.toPrecision(4)}); the model has ${voices.length + 1} voices`];
        } finally {
          extended.dispose();
        }
      },
      async dispose() {
        await trainer.dispose();
        row.dispose();
        model.dispose();
      },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Options of `addVoiceToVae`. */
export interface VaeAddVoiceOptions extends Omit<VaeTrainOptions, 'steps' | 'addVoice'> {
  /** User voice name (TIMBRE_HOME/voices/NAME). */
  readonly voice: string;
  /** Default `ADD_VOICE_DEFAULTS.steps`. */
  readonly steps?: number;
}

/** Adds a user voice to a VAE in one call (what `timbre train vae --add-voice NAME` does); writes TIMBRE_HOME/models/vae-NAME. */
export async function addVoiceToVae(options: VaeAddVoiceOptions): Promise<VaeTrainResult> {
  const { voice, ...rest } = options;
  return trainVae({ ...rest, addVoice: voice, steps: options.steps ?? ADD_VOICE_DEFAULTS.steps, batchSize: options.batchSize ?? ADD_VOICE_DEFAULTS.batchSize });
}

/** A copy of `model` with one more speaker: `row` appended to the table, a zero column added to the classifier. */
function extendSpeakers(model: Vae, row: Float32Array): Vae {
  const s = model.speakerCount;
  const extended = new Vae(model.config, s + 1, new Rng(0), model.normalization);
  const weights: WeightMap = new Map(model.getWeights());
  const grow = (name: string, make: (old: WeightArray) => WeightArray): void => {
    weights.set(name, make(weights.get(name)!));
  };
  grow('speakers.table', (old) => {
    const data = new Float32Array((s + 1) * row.length);
    data.set(old.data);
    data.set(row, s * row.length);
    return { data, shape: [s + 1, row.length] };
  });
  grow('classifier.output.weight', (old) => {
    const [inputs] = old.shape as [number, number];
    const data = new Float32Array(inputs * (s + 1));
    for (let i = 0; i < inputs; i++) data.set(old.data.subarray(i * s, (i + 1) * s), i * (s + 1));
    return { data, shape: [inputs, s + 1] };
  });
  grow('classifier.output.bias', (old) => {
    const data = new Float32Array(s + 1);
    data.set(old.data);
    return { data, shape: [s + 1] };
  });
  extended.setWeights(weights, 'extended VAE');
  return extended;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversion.

/** How the converted pitch is set: 'target' moves the source's log-F0 mean to the target voice's (default), 'source' keeps it. */
export type VaePitchMode = 'target' | 'source';

/** Conversion settings the VAE reads besides the common ones. */
export interface VaeConversionSettings extends ConversionSettings {
  /** Default 'target'. */
  pitch?: VaePitchMode;
  /** Extra shift of the converted F0, semitones in [−24, 24]; default 0. */
  semitones?: number;
  /** The source's F0 per mel frame (Hz, 0 = unvoiced); default: `estimateF0FromLogMel` of the source (as in training). */
  sourceF0Hz?: Float32Array;
}

/** Longest stretch converted in one pass, frames (≈ 24 s); longer inputs go in overlapping chunks. */
export const VAE_CHUNK_FRAMES = 2048;
const CHUNK_CONTEXT = 64;

/** A loaded VAE as a `MelConverter`: encodes any source recording, decodes it with a model voice's embedding and F0. */
export class VaeConverter implements MelConverter {
  readonly family: ModelFamily = 'vae';
  readonly label: string;
  readonly targetVoices: readonly string[];
  readonly model: Vae;
  readonly speakerLogF0: readonly number[];
  private disposed = false;

  constructor(loaded: Pick<LoadedVae, 'model' | 'voices' | 'speakerLogF0'>, label?: string) {
    this.model = loaded.model;
    this.targetVoices = [...loaded.voices];
    this.speakerLogF0 = [...loaded.speakerLogF0];
    this.label = label ?? vaeLabel(loaded.voices);
  }

  /** Index of a voice in the model, or an `InvalidArgumentError` (code VOICE_NOT_FOUND) listing the voices it has. */
  speakerIndex(voiceId: string): number {
    const index = this.targetVoices.indexOf(voiceId);
    if (index < 0) {
      throw new InvalidArgumentError(`voice "${voiceId}" is not one of this VAE's voices; it has: ${this.targetVoices.join(', ')}`, 'VOICE_NOT_FOUND');
    }
    return index;
  }

  /** Source log-mel [frames × 80] → the target voice's log-mel of the same frame count. */
  async convert(
    source: LogMel,
    target: ConversionTarget,
    options: { settings?: VaeConversionSettings; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {},
  ): Promise<LogMel> {
    if (this.disposed) throw new InvalidArgumentError(`${this.label} has been disposed`);
    checkLogMel(source, this.model.config.mels);
    if (source.frames < 1) throw new InvalidArgumentError('the source log-mel has no frames');
    const speaker = this.speakerIndex(target.voiceId);
    const settings = options.settings ?? {};
    const pitch = settings.pitch ?? 'target';
    if (pitch !== 'target' && pitch !== 'source') throw new InvalidArgumentError(`pitch must be "target" or "source", got ${String(pitch)}`);
    const semitones = settings.semitones ?? 0;
    if (typeof semitones !== 'number' || !Number.isFinite(semitones) || Math.abs(semitones) > 24) {
      throw new InvalidArgumentError(`semitones must be a number in [-24, 24], got ${String(semitones)}`);
    }
    const f0 = settings.sourceF0Hz ?? estimateF0FromLogMel(source);
    const sourceMean = meanLogF0(f0);
    const targetMean = this.speakerLogF0[speaker]!;
    const own = Number.isFinite(sourceMean) ? sourceMean : targetMean;
    const shift = (pitch === 'target' ? targetMean - own : 0) + (semitones * Math.LN2) / 12;
    const features = f0Features(f0, source.frames, this.model.config, shift, own);
    // The encoder reads the source with its formants moved to the target's scale; the F0 features keep the source's track.
    const encoded = normalizeVocalTract(source, sourceMean, targetMean, settings.vocalTractNormalization);
    const out = new Float32Array(source.data.length);
    const total = source.frames;
    for (let start = 0; start < total; start += VAE_CHUNK_FRAMES) {
      if (options.signal?.aborted) throw new InvalidArgumentError('the conversion was cancelled', 'CANCELLED');
      const end = Math.min(total, start + VAE_CHUNK_FRAMES);
      const from = Math.max(0, start - CHUNK_CONTEXT);
      const to = Math.min(total, end + CHUNK_CONTEXT);
      const piece = this.convertRange(encoded, features, from, to, speaker);
      out.set(piece.subarray((start - from) * source.mels, (end - from) * source.mels), start * source.mels);
      options.onProgress?.(end / total);
      if (end < total) await new Promise((r) => setTimeout(r, 0));
    }
    return { frames: source.frames, mels: source.mels, data: out };
  }

  /** Frames [from, to) converted in one pass; returns [(to − from) × mels] de-normalised log-mel. */
  private convertRange(source: LogMel, features: Float32Array, from: number, to: number, speaker: number): Float32Array {
    const { config, normalization } = this.model;
    const mels = config.mels;
    const frames = to - from;
    const padded = Math.ceil(frames / config.downsample) * config.downsample;
    const floor = Math.log(MEL_CONFIG.logFloor);
    const x = new Float32Array(padded * mels);
    const dims = f0FeatureDims(config);
    const f = new Float32Array(padded * dims);
    for (let t = 0; t < padded; t++) {
      for (let m = 0; m < mels; m++) {
        const value = t < frames ? source.data[(from + t) * mels + m]! : floor;
        x[t * mels + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
      }
      // Padding frames hold the last log-F0, unvoiced.
      if (t < frames) f.set(features.subarray((from + t) * dims, (from + t + 1) * dims), t * dims);
      else f[t * dims] = features[(source.frames - 1) * dims]!;
    }
    const y = tf.tidy(() => {
      const xt = tf.tensor3d(x, [1, padded, mels]);
      const ft = tf.tensor3d(f, [1, padded, dims]);
      return this.model.forward(xt, [speaker], ft);
    });
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

/** Loads a VAE model file as a converter (the model registry's entry point for the 'vae' family). */
export async function loadMelConverter(modelPath: string): Promise<VaeConverter> {
  const loaded = await loadVae(modelPath);
  const label = storedLabel(loaded.extra);
  return new VaeConverter(loaded, label);
}

/** The VAE `timbre eval` scores: the user's trained TIMBRE_HOME/models/vae/model.timbre when present, else the shipped one. */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<VaeConverter> {
  return loadInstalledConverter({ folder: 'vae', label: 'VAE', trainCommand: 'timbre train vae', load: loadMelConverter }, context);
}

/** The shipped model file, `assets/models/vae/model.timbre` (from src/models or dist/src/models). */
export function shippedVaePath(): string {
  return shippedModelPath('vae');
}
