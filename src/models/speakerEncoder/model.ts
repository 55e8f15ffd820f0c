// Speaker encoder: a small conv net mapping a few seconds of log-mel to a unit d-vector, trained with AM-softmax
// over the corpus voices; plus `SpeakerJudge`, which names the voice of an embedding by cosine to per-voice centroids.
// This file is the model (training runs and the judge's centroids: train.ts; the model file: convert.ts).

import * as tf from '@tensorflow/tfjs';
import { checkLogMel, type LogMel } from '../../audio/mel.js';
import { ModelMismatchError, ShapeMismatchError } from '../../nn/errors.js';
import { Conv1d, Dense, GroupNorm } from '../../nn/layers.js';
import type { MelNormalization } from '../melNormalization.js';
import { init, Module, Rng } from '../../nn/module.js';
import type { LossResult } from '../../nn/train.js';

/** Model-file kind and architecture version of the speaker encoder. */
export const SPEAKER_ENCODER_KIND = 'speakerEncoder';
export const SPEAKER_ENCODER_KIND_VERSION = 1;

/** Every hyperparameter of the speaker encoder, its loss and its training crops. */
export interface SpeakerEncoderConfig {
  /** Mel bins of the input (80). */
  readonly mels: number;
  /** Output channels of each conv layer; the first has kernel `firstKernel`, the rest kernel 3. */
  readonly channels: readonly number[];
  /** Stride of each conv layer (same length as `channels`); a stride-1 layer with equal channels is residual. */
  readonly strides: readonly number[];
  /** Kernel of the first conv layer, frames. */
  readonly firstKernel: number;
  /** GroupNorm groups after every conv. */
  readonly normGroups: number;
  /** Hidden units between the mean+std pooling and the embedding. */
  readonly hiddenDims: number;
  /** Dimensions of the unit embedding. */
  readonly embeddingDims: number;
  /** AM-softmax scale s and additive cosine margin m. */
  readonly amScale: number;
  readonly amMargin: number;
  /** Random training crops are this many frames at least / at most (86.13 frames per second). */
  readonly minCropFrames: number;
  readonly maxCropFrames: number;
  /** Validation crops: this many frames from the middle of each validation utterance. */
  readonly validationCropFrames: number;
  /** Random gain augmentation: uniform in ±this, natural-log units of the mel magnitude (0.5 ≈ ±4.3 dB). */
  readonly gainAugment: number;
  /** `embed` cuts an utterance into chunks of this many frames (overlapping evenly) and averages them. */
  readonly chunkFrames: number;
  /** Peak learning rate (AdamW, linear warmup then cosine decay to 10 %). */
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  /** Global gradient-norm clip. */
  readonly clipNorm: number;
  /** Train utterances per voice embedded to form the judge's centroids (evenly spaced, deterministic). */
  readonly centroidUtterances: number;
  /**
   * Train on the imported real-speech set's training speakers too (when `timbre corpus real` has run): their words,
   * joined into items of at least `maxCropFrames`, as extra classes; held-out speakers never.
   */
  readonly realSpeakers: boolean;
  /** Share of training items drawn from real speakers (their items repeat to reach it), in [0, 1). */
  readonly realSpeakerShare: number;
}

/** The shipped configuration: ~0.4 M parameters, 128-d embedding, 1.5–3 s crops. */
export const DEFAULT_SPEAKER_ENCODER_CONFIG: SpeakerEncoderConfig = Object.freeze({
  mels: 80,
  channels: Object.freeze([64, 128, 128, 128]),
  strides: Object.freeze([1, 2, 2, 1]),
  firstKernel: 5,
  normGroups: 8,
  hiddenDims: 256,
  embeddingDims: 128,
  amScale: 30,
  amMargin: 0.2,
  minCropFrames: 129,
  maxCropFrames: 258,
  validationCropFrames: 192,
  gainAugment: 0.5,
  chunkFrames: 192,
  learningRate: 2e-3,
  warmupSteps: 50,
  weightDecay: 0.01,
  clipNorm: 5,
  centroidUtterances: 60,
  realSpeakers: true,
  realSpeakerShare: 0.4,
});

/** Per-mel-bin input statistics (the corpus train split's), applied as (x − mean) / std. */
export type SpeakerEncoderNormalization = MelNormalization;

function checkConfig(config: SpeakerEncoderConfig, source: string): void {
  const bad = (what: string): never => {
    throw new ShapeMismatchError(`${source}: speaker encoder config ${what}`);
  };
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (!Array.isArray(config.channels) || config.channels.length < 1 || !config.channels.every(posInt)) bad(`channels must be positive integers, received ${JSON.stringify(config.channels)}`);
  if (!Array.isArray(config.strides) || config.strides.length !== config.channels.length || !config.strides.every(posInt)) {
    bad(`strides must be ${config.channels.length} positive integers, received ${JSON.stringify(config.strides)}`);
  }
  for (const key of ['mels', 'firstKernel', 'normGroups', 'hiddenDims', 'embeddingDims', 'minCropFrames', 'maxCropFrames', 'validationCropFrames', 'chunkFrames', 'centroidUtterances'] as const) {
    if (!posInt(config[key])) bad(`${key} must be a positive integer, received ${String(config[key])}`);
  }
  if (config.channels.some((c) => c % config.normGroups !== 0)) bad(`channels ${JSON.stringify(config.channels)} must all be divisible by normGroups ${config.normGroups}`);
  if (typeof config.realSpeakers !== 'boolean') bad(`realSpeakers must be true or false, received ${String(config.realSpeakers)}`);
  if (!(config.realSpeakerShare >= 0 && config.realSpeakerShare < 1)) bad(`realSpeakerShare must be in [0, 1), received ${String(config.realSpeakerShare)}`);
  if (config.minCropFrames > config.maxCropFrames) bad(`minCropFrames (${config.minCropFrames}) must not exceed maxCropFrames (${config.maxCropFrames})`);
}

/** Merges overrides into the default config (arrays replaced, not merged). */
export function resolveSpeakerEncoderConfig(overrides: Partial<SpeakerEncoderConfig> = {}): SpeakerEncoderConfig {
  const config = { ...DEFAULT_SPEAKER_ENCODER_CONFIG, ...overrides };
  checkConfig(config, 'speaker encoder config');
  return config;
}

export function pooledFrames(frames: number, strides: readonly number[]): number {
  return strides.reduce((n, s) => Math.ceil(n / s), frames);
}

/** x / ‖x‖ along the last axis. x: [..., dims]. */
function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-10))) as T;
}

/** Conv → GroupNorm → ReLU, residual when shape-preserving. [batch, frames, Cin] → [batch, ceil(frames / stride), Cout]. */
class ConvBlock extends Module {
  readonly conv: Conv1d;
  readonly norm: GroupNorm;
  readonly residual: boolean;

  constructor(rng: Rng, options: { inChannels: number; outChannels: number; kernelSize: number; stride: number; groups: number }) {
    super();
    this.conv = this.child('conv', new Conv1d(rng, { ...options, init: 'he' }));
    this.norm = this.child('norm', new GroupNorm(rng, { channels: options.outChannels, groups: options.groups }));
    this.residual = options.stride === 1 && options.inChannels === options.outChannels;
  }

  /** x: [batch, frames, Cin] → [batch, framesOut, Cout]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const y = tf.relu(this.norm.forward(this.conv.forward(x)));
    return this.residual ? tf.add(x, y) : y;
  }
}

/** The encoder: conv stack over normalised mel → masked mean+std pooling → dense → ReLU → dense → L2 norm. */
export class SpeakerEncoder extends Module {
  readonly config: SpeakerEncoderConfig;
  readonly blocks: ConvBlock[];
  readonly hidden: Dense;
  readonly projection: Dense;
  /** Input statistics; `embed` applies them. Set from the corpus when training, from the file when loading. */
  normalization: SpeakerEncoderNormalization;

  constructor(config: SpeakerEncoderConfig, rng: Rng, normalization?: SpeakerEncoderNormalization) {
    super();
    checkConfig(config, 'createSpeakerEncoder');
    this.config = config;
    let inChannels = config.mels;
    this.blocks = config.channels.map((outChannels, i) => {
      const block = new ConvBlock(rng, { inChannels, outChannels, kernelSize: i === 0 ? config.firstKernel : 3, stride: config.strides[i]!, groups: config.normGroups });
      inChannels = outChannels;
      return this.child(`blocks.${i}`, block);
    });
    this.hidden = this.child('hidden', new Dense(rng, { inFeatures: 2 * inChannels, outFeatures: config.hiddenDims, init: 'he' }));
    this.projection = this.child('projection', new Dense(rng, { inFeatures: config.hiddenDims, outFeatures: config.embeddingDims }));
    this.normalization = normalization ?? { mean: new Float32Array(config.mels), std: new Float32Array(config.mels).fill(1) };
  }

  /**
   * Unit embeddings of a batch of normalised crops. x: [batch, frames, mels]; lengths: valid frames of each item
   * (the rest is padding, excluded from the pooling) → [batch, embeddingDims].
   */
  forward(x: tf.Tensor3D, lengths?: readonly number[]): tf.Tensor2D {
    const [batch, frames, mels] = x.shape;
    if (mels !== this.config.mels) throw new ShapeMismatchError(`speaker encoder: expected [batch, frames, ${this.config.mels}], received [${x.shape.join(', ')}]`);
    if (lengths !== undefined && lengths.length !== batch) throw new ShapeMismatchError(`speaker encoder: ${lengths.length} lengths for a batch of ${batch}`);
    return tf.tidy(() => {
      let h = x;
      for (const block of this.blocks) h = block.forward(h); // [batch, frames', C]
      const pooled = h.shape[1];
      const mask = new Float32Array(batch * pooled); // [batch, frames', 1]: 1 on frames that saw real input
      for (let b = 0; b < batch; b++) {
        const valid = Math.max(1, Math.min(pooled, pooledFrames(lengths?.[b] ?? frames, this.config.strides)));
        mask.fill(1, b * pooled, b * pooled + valid);
      }
      const m = tf.tensor3d(mask, [batch, pooled, 1]);
      const count = tf.sum(m, 1); // [batch, 1]
      const mean = tf.div(tf.sum(tf.mul(h, m), 1), count); // [batch, C]
      const centred = tf.mul(tf.sub(h, tf.expandDims(mean, 1)), m); // [batch, frames', C]
      const std = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(centred), 1), count), 1e-5)); // [batch, C]
      const stats = tf.concat([mean, std], 1) as tf.Tensor2D; // [batch, 2C]
      const e = this.projection.forward(tf.relu(this.hidden.forward(stats))); // [batch, embeddingDims]
      return l2Normalize(e);
    });
  }

  /** Normalised copy of a raw log-mel's data with this encoder's statistics: [frames × mels]. */
  normalize(mel: LogMel): Float32Array {
    checkLogMel(mel, this.config.mels);
    const { mean, std } = this.normalization;
    const out = new Float32Array(mel.data.length);
    for (let i = 0; i < out.length; i++) {
      const k = i % mel.mels;
      out[i] = (mel.data[i]! - mean[k]!) / std[k]!;
    }
    return out;
  }

  /**
   * Unit embedding of a whole utterance (raw log-mel [frames × mels]): evenly overlapping chunks of
   * `chunkFrames` (one chunk when shorter), embedded together and averaged, then renormalised.
   */
  embed(mel: LogMel): Float32Array {
    const data = this.normalize(mel);
    if (mel.frames < 1) throw new ShapeMismatchError('speaker encoder: cannot embed a log-mel of 0 frames');
    const { chunkFrames } = this.config;
    const mels = this.config.mels;
    const length = Math.min(chunkFrames, mel.frames);
    const count = mel.frames <= chunkFrames ? 1 : Math.ceil((mel.frames - chunkFrames) / (chunkFrames / 2)) + 1;
    const chunks = new Float32Array(count * length * mels); // [chunks, length, mels]
    for (let c = 0; c < count; c++) {
      const start = count === 1 ? 0 : Math.round((c * (mel.frames - length)) / (count - 1));
      chunks.set(data.subarray(start * mels, (start + length) * mels), c * length * mels);
    }
    const mean = tf.tidy(() => {
      const e = this.forward(tf.tensor3d(chunks, [count, length, mels])); // [chunks, dims]
      return l2Normalize(tf.mean(e, 0)); // [dims]
    });
    const out = mean.dataSync() as Float32Array;
    mean.dispose();
    return Float32Array.from(out);
  }

  /** Unit embedding of a voice from several utterances (e.g. ~10 s of reference audio): mean of `embed`, renormalised. */
  embedReference(mels: readonly LogMel[]): Float32Array {
    if (mels.length === 0) throw new ShapeMismatchError('embedReference needs at least one log-mel');
    const sum = new Float32Array(this.config.embeddingDims);
    for (const mel of mels) {
      const e = this.embed(mel);
      for (let i = 0; i < sum.length; i++) sum[i]! += e[i]!;
    }
    return unitVector(sum);
  }
}

/** A copy of `v` scaled to unit length (zeros stay zeros). */
export function unitVector(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return norm > 0 ? v.map((x) => x / norm) : Float32Array.from(v);
}

/** Cosine of two vectors of equal length. */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new ShapeMismatchError(`cosine of vectors of ${a.length} and ${b.length} values`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Creates an untrained speaker encoder (weights from `seed`, default 0). */
export function createSpeakerEncoder(config: SpeakerEncoderConfig = DEFAULT_SPEAKER_ENCODER_CONFIG, options: { seed?: number; normalization?: SpeakerEncoderNormalization } = {}): SpeakerEncoder {
  return new SpeakerEncoder(config, new Rng(options.seed ?? 0), options.normalization);
}

/** A voice's score from the judge: cosine of the embedding to that voice's centroid. */
export interface VoiceScore {
  readonly voice: string;
  readonly cosine: number;
}

/** The judge's verdict: the best voice and every voice's score, best first. */
export interface SpeakerVerdict {
  readonly voice: string;
  readonly cosine: number;
  readonly scores: readonly VoiceScore[];
}

/** Classifies a unit embedding as the voice with the nearest (cosine) centroid among known voices. */
export class SpeakerJudge {
  /** Voice ids, centroid row order. */
  readonly voices: readonly string[];
  /** Unit centroids [voices × dims], row-major. */
  readonly centroids: Float32Array;
  readonly dims: number;

  constructor(voices: readonly string[], centroids: Float32Array) {
    if (voices.length === 0 || centroids.length % voices.length !== 0) {
      throw new ShapeMismatchError(`SpeakerJudge: ${centroids.length} centroid values do not split into ${voices.length} voices`);
    }
    this.voices = [...voices];
    this.dims = centroids.length / voices.length;
    this.centroids = Float32Array.from(centroids);
  }

  /** Judge from per-voice embeddings: each centroid is the renormalised mean of that voice's unit embeddings. */
  static fromEmbeddings(byVoice: ReadonlyMap<string, readonly Float32Array[]>): SpeakerJudge {
    const voices = [...byVoice.keys()];
    const first = byVoice.get(voices[0]!)?.[0];
    if (first === undefined) throw new ShapeMismatchError('SpeakerJudge.fromEmbeddings needs at least one embedding per voice');
    const dims = first.length;
    const centroids = new Float32Array(voices.length * dims);
    voices.forEach((voice, v) => {
      const list = byVoice.get(voice)!;
      if (list.length === 0) throw new ShapeMismatchError(`SpeakerJudge.fromEmbeddings: voice ${voice} has no embeddings`);
      const sum = new Float32Array(dims);
      for (const e of list) for (let i = 0; i < dims; i++) sum[i]! += e[i]!;
      centroids.set(unitVector(sum), v * dims);
    });
    return new SpeakerJudge(voices, centroids);
  }

  /** Judge over given centroids (voice → d-vector; cosine ignores their length), in the map's order. */
  static fromCentroids(byVoice: ReadonlyMap<string, Float32Array>): SpeakerJudge {
    const vectors = [...byVoice.values()];
    const dims = vectors[0]?.length ?? 0;
    const centroids = new Float32Array(vectors.length * dims);
    vectors.forEach((v, i) => centroids.set(v, i * dims));
    return new SpeakerJudge([...byVoice.keys()], centroids);
  }

  /** Unit centroid of `voice`. */
  centroid(voice: string): Float32Array {
    const v = this.voices.indexOf(voice);
    if (v < 0) throw new ModelMismatchError(`the speaker judge does not know voice "${voice}"; it knows ${this.voices.join(', ')}`);
    return this.centroids.slice(v * this.dims, (v + 1) * this.dims);
  }

  /** Cosine of `embedding` to every centroid, in `voices` order. */
  scores(embedding: Float32Array): VoiceScore[] {
    if (embedding.length !== this.dims) throw new ShapeMismatchError(`SpeakerJudge: embedding has ${embedding.length} values, expected ${this.dims}`);
    return this.voices.map((voice, v) => ({ voice, cosine: cosineSimilarity(embedding, this.centroids.subarray(v * this.dims, (v + 1) * this.dims)) }));
  }

  /** The nearest voice and all scores, best first. */
  classify(embedding: Float32Array): SpeakerVerdict {
    const scores = this.scores(embedding).sort((a, b) => b.cosine - a.cosine);
    return { voice: scores[0]!.voice, cosine: scores[0]!.cosine, scores };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Training: AM-softmax over the corpus voices on random 1.5–3 s crops of the train split.

/** The encoder plus the AM-softmax class weights (training only; the model file keeps the encoder). */
export class SpeakerEncoderTrainingModel extends Module {
  readonly encoder: SpeakerEncoder;
  readonly classWeights: tf.Variable; // [embeddingDims, classes]

  constructor(config: SpeakerEncoderConfig, classes: number, rng: Rng, normalization?: SpeakerEncoderNormalization) {
    super();
    this.encoder = this.child('encoder', new SpeakerEncoder(config, rng, normalization));
    this.classWeights = this.param('classWeights', [config.embeddingDims, classes], init.glorotUniform(), rng);
  }

  /** AM-softmax loss and crop accuracy of embeddings [batch, dims] against integer labels [batch]. */
  loss(embeddings: tf.Tensor2D, labels: Int32Array): LossResult {
    const { amScale, amMargin } = this.encoder.config;
    const classes = this.classWeights.shape[1]!;
    const w = tf.div(this.classWeights, tf.sqrt(tf.add(tf.sum(tf.square(this.classWeights), 0, true), 1e-10))); // [dims, classes], unit columns
    const cosine = tf.matMul(embeddings, w); // [batch, classes]
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat(); // [batch, classes]
    const logits = tf.mul(tf.sub(cosine, tf.mul(oneHot, amMargin)), amScale);
    const total = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    const accuracy = tf.mean(tf.equal(tf.argMax(cosine, 1), tf.tensor1d(labels, 'int32')).toFloat()) as tf.Scalar;
    return { total, parts: { accuracy } };
  }
}

/** One batch: normalised mels padded to the longest item, valid lengths and speaker ids. */
