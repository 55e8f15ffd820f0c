// Speaker-conditioned VAE voice conversion (VAE-VC / ACVAE-VC lineage) on normalised log-mel: a gated-conv encoder of
// the spectral envelope → per-frame latent z; a decoder conditioned on a learned speaker embedding (FiLM) and log-F0.
// This file is the model: its config, layers, forward pass and loss (data and runs: train.ts; conversion: convert.ts).

import * as tf from '@tensorflow/tfjs';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import { Conv1d, conv1d, Dense, dense, Embedding, glu, GroupNorm, leakyRelu, stopGradient, upsampleNearest1d } from '../../nn/layers.js';
import { identityNormalization, type MelNormalization } from '../melNormalization.js';
import { f0FeatureDims, FINE_STRUCTURE_COEFFICIENTS } from '../pitch.js';
import { Module, Rng } from '../../nn/module.js';
import type { LossResult, StepContext } from '../../nn/train.js';

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

// ---------------------------------------------------------------------------------------------------------------
// Layers.

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
export class VaeDecoder extends Module {
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

/**
 * The whole VAE: encoder, speaker table, decoder and the auxiliary classifier; plus, for voices added from a user's
 * recordings, a decoder of their own (`voiceDecoders.<speaker id>`, fine-tuned from the shared one), so adding a voice
 * changes nothing the other voices decode with.
 */
export class Vae extends Module {
  readonly config: VaeConfig;
  readonly speakerCount: number;
  readonly normalization: VaeNormalization;
  readonly encoder: VaeEncoder;
  readonly speakers: Embedding;
  readonly decoder: VaeDecoder;
  readonly classifier: SpeakerClassifier;
  /** Speaker id → that voice's own decoder (voices added by adaptation); other voices use `decoder`. */
  readonly voiceDecoders: ReadonlyMap<number, VaeDecoder>;
  private readonly envelope: { matrix: tf.Tensor2D; bias: tf.Tensor1D } | null;
  private readonly fine: { matrix: tf.Tensor2D; bias: tf.Tensor1D } | null;

  constructor(config: VaeConfig, speakerCount: number, rng: Rng, normalization: VaeNormalization = identityNormalization(config.mels), adaptedSpeakers: readonly number[] = []) {
    super();
    if (!Number.isInteger(speakerCount) || speakerCount < 1) throw new ShapeMismatchError(`a VAE needs at least one speaker, received ${speakerCount}`);
    for (const [i, id] of adaptedSpeakers.entries()) {
      if (!Number.isInteger(id) || id < 0 || id >= speakerCount || adaptedSpeakers.indexOf(id) !== i) {
        throw new ShapeMismatchError(`adapted speakers must be distinct ids in [0, ${speakerCount}), received [${adaptedSpeakers.join(', ')}]`);
      }
    }
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
    this.voiceDecoders = new Map([...adaptedSpeakers].sort((a, b) => a - b).map((id) => [id, this.child(`voiceDecoders.${id}`, new VaeDecoder(rng, config))] as const));
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

  /** Sorted ids of the speakers that have a decoder of their own. */
  get adaptedSpeakers(): number[] {
    return [...this.voiceDecoders.keys()];
  }

  /** The decoder speakers `ids` decode with: one voice's own decoder, or the shared one (the ids may not mix the two). */
  decoderFor(ids: Int32Array | readonly number[]): VaeDecoder {
    const decoders = new Set(Array.from(ids, (id) => this.voiceDecoders.get(id) ?? this.decoder));
    if (decoders.size > 1) throw new ShapeMismatchError(`speakers [${Array.from(ids).join(', ')}] use different decoders; decode them in separate batches`);
    return decoders.values().next().value ?? this.decoder;
  }

  /**
   * z [B, T / d, latent], speaker vectors [B, speakerDims], pitch features [B, T, 2 + mels] → normalised mel [B, T, mels]
   * (with the shared decoder unless another is given).
   */
  decode(z: tf.Tensor3D, speaker: tf.Tensor2D, f0: tf.Tensor3D, decoder: VaeDecoder = this.decoder): tf.Tensor3D {
    const dims = f0FeatureDims(this.config);
    if (f0.shape[1] !== z.shape[1] * this.config.downsample || f0.shape[2] !== dims) {
      throw new ShapeMismatchError(`decode: pitch features must be [${z.shape[0]}, ${z.shape[1] * this.config.downsample}, ${dims}], received [${f0.shape.join(', ')}]`);
    }
    return decoder.forward(z, speaker, f0);
  }

  /** Reconstruction (or conversion) with the posterior mean, each speaker's decoder: x [B, T, mels] → [B, T, mels]. */
  forward(x: tf.Tensor3D, speakerIds: Int32Array | readonly number[], f0: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.decode(this.encode(x).mean, this.speakerVectors(speakerIds), f0, this.decoderFor(speakerIds)));
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
