// MaskCycleGAN-VC on normalised log-mel: a 2-1-2D gated generator with filling-in-frames masks, PatchGAN
// discriminators and the LSGAN + cycle + identity (+ second adversarial) losses; conversion and model files.

import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import type { LogMel } from '../audio/mel.js';
import { checkLogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { shippedModelPath, timbrePaths } from '../io/paths.js';
import type { ConversionProgress, ConversionSettings, ConversionTarget, MelConverter } from './converter.js';
import { InvalidModelFileError, ModelMismatchError, ShapeMismatchError } from '../nn/errors.js';
import { normalizationFromJson, normalizationToJson, type MelNormalization } from './melNormalization.js';
import { loadModelFile, saveModelFile, type JsonValue, type WeightStorage } from '../nn/modelFile.js';
import { estimateF0FromLogMel, meanLogF0, normalizeVocalTract } from './pitch.js';
import { Conv1d, Conv2d, conv2d, glu, GroupNorm, pixelShuffle2d } from '../nn/layers.js';
import { Module, Rng, type WeightArray } from '../nn/module.js';

/** Model-file kind of CycleGAN-VC generators. */
export const CYCLE_GAN_KIND = 'cyclegan';
/** Architecture version; a file of another version is refused. */
export const CYCLE_GAN_KIND_VERSION = 1;
/** The pooled multi-speaker source domain ("any voice"). */
export const ANY_VOICE = 'any';

/** Architecture of generator and discriminator (saved in the model file; the code builds exactly this). */
export interface CycleGanConfig {
  /** Mel bins of the input (80); must be divisible by 4. */
  readonly mels: number;
  /** Generator 2-D channels: [input conv, first down/last up, second down/first up]. */
  readonly genChannels: readonly [number, number, number];
  /** Kernel [frames, mels] of the generator's input and output convs (published: [15, 5]). */
  readonly genEdgeKernel: readonly [number, number];
  /** Square kernel of the strided down- and pixel-shuffle up-sampling convs (published: 5). */
  readonly genSampleKernel: number;
  /** Channels of the 1-D residual stack at a quarter of the frame rate (published: 256). */
  readonly residualChannels: number;
  /** Number of 1-D residual GLU blocks (published: 6). */
  readonly residualBlocks: number;
  /** Kernel of the 1-D residual convs (frames). */
  readonly residualKernel: number;
  /** Discriminator channels: input conv, then one stride-2 GLU stage per further entry. */
  readonly discChannels: readonly number[];
  /** Square kernel of the discriminator convs. */
  readonly discKernel: number;
}

/**
 * CPU-sized defaults (≈1.4 M generator parameters; the published model has ≈16 M). The 2-D stages are narrow
 * because on wasm their im2col copies at full resolution, not their FLOPs, set the step time.
 */
export const DEFAULT_CYCLE_GAN_CONFIG: CycleGanConfig = Object.freeze({
  mels: 80,
  genChannels: [16, 32, 48] as const,
  genEdgeKernel: [5, 5] as const,
  genSampleKernel: 3,
  residualChannels: 160,
  residualBlocks: 4,
  residualKernel: 3,
  discChannels: [16, 32, 64, 128],
  discKernel: 3,
});

function checkConfig(config: CycleGanConfig): void {
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positive(config.mels) || config.mels % 4 !== 0) throw new ShapeMismatchError(`CycleGanConfig.mels must be a positive multiple of 4, received ${config.mels}`);
  const all = [...config.genChannels, ...config.genEdgeKernel, config.genSampleKernel, config.residualChannels, config.residualBlocks, config.residualKernel, ...config.discChannels, config.discKernel];
  if (!all.every(positive) || config.genChannels.length !== 3 || config.discChannels.length < 2) {
    throw new ShapeMismatchError(`CycleGanConfig has a non-positive size or wrong list length: ${JSON.stringify(config)}`);
  }
}

/** Stops gradients: identity forward, zero backward (freezes a net inside a joint loss). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: tf.clone(xi as tf.Tensor), gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)] };
  });
  return f(x) as T;
}

/** A 2-D conv → (pixel shuffle) → instance norm → GLU stage; `factor` > 1 upsamples by sub-pixel shuffle. */
class GatedStage2d extends Module {
  readonly conv: Conv2d;
  readonly norm: GroupNorm;
  private readonly mode: 'down' | 'up';
  constructor(rng: Rng, inChannels: number, outChannels: number, kernel: number, mode: 'down' | 'up') {
    super();
    const convOut = mode === 'up' ? 4 * 2 * outChannels : 2 * outChannels;
    this.conv = this.child('conv', new Conv2d(rng, { inChannels, outChannels: convOut, kernelSize: kernel, stride: mode === 'down' ? 2 : 1, bias: false }));
    this.norm = this.child('norm', new GroupNorm(rng, { channels: 2 * outChannels, groups: 2 * outChannels }));
    this.mode = mode;
  }
  /** x: [B, H, W, Cin] → [B, H/2, W/2, Cout] (down) or [B, 2H, 2W, Cout] (up). */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    let h = this.conv.forward(x);
    if (this.mode === 'up') h = pixelShuffle2d(h, 2, 2);
    return glu(this.norm.forward(h));
  }
}

/** 1-D residual block: conv → IN → GLU → conv → IN, added to the input. */
class ResidualGlu1d extends Module {
  readonly conv1: Conv1d;
  readonly norm1: GroupNorm;
  readonly conv2: Conv1d;
  readonly norm2: GroupNorm;
  constructor(rng: Rng, channels: number, kernel: number) {
    super();
    this.conv1 = this.child('conv1', new Conv1d(rng, { inChannels: channels, outChannels: 2 * channels, kernelSize: kernel, bias: false }));
    this.norm1 = this.child('norm1', new GroupNorm(rng, { channels: 2 * channels, groups: 2 * channels }));
    this.conv2 = this.child('conv2', new Conv1d(rng, { inChannels: channels, outChannels: channels, kernelSize: kernel, bias: false }));
    this.norm2 = this.child('norm2', new GroupNorm(rng, { channels, groups: channels }));
  }
  /** x: [B, T, C] → [B, T, C]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const h = glu(this.norm1.forward(this.conv1.forward(x)));
    return tf.add(x, this.norm2.forward(this.conv2.forward(h))) as tf.Tensor3D;
  }
}

/** Frames a generator input is padded to: the next multiple of 4 (two stride-2 stages). */
export function paddedFrames(frames: number): number {
  return Math.ceil(frames / 4) * 4;
}

/** The 2-1-2D generator: (mel ⊙ mask, mask) → mel, same shape; frame counts not divisible by 4 are padded and cropped. */
export class CycleGanGenerator extends Module {
  readonly config: CycleGanConfig;
  readonly input: Conv2d;
  readonly down1: GatedStage2d;
  readonly down2: GatedStage2d;
  readonly to1d: Conv1d;
  readonly to1dNorm: GroupNorm;
  readonly blocks: ResidualGlu1d[];
  readonly to2d: Conv1d;
  readonly to2dNorm: GroupNorm;
  readonly up1: GatedStage2d;
  readonly up2: GatedStage2d;
  readonly output: Conv2d;

  constructor(rng: Rng, config: CycleGanConfig = DEFAULT_CYCLE_GAN_CONFIG) {
    super();
    checkConfig(config);
    this.config = config;
    const [c0, c1, c2] = config.genChannels;
    const k = config.genSampleKernel;
    const flat = (config.mels / 4) * c2;
    this.input = this.child('input', new Conv2d(rng, { inChannels: 2, outChannels: 2 * c0, kernelSize: config.genEdgeKernel }));
    this.down1 = this.child('down1', new GatedStage2d(rng, c0, c1, k, 'down'));
    this.down2 = this.child('down2', new GatedStage2d(rng, c1, c2, k, 'down'));
    this.to1d = this.child('to1d', new Conv1d(rng, { inChannels: flat, outChannels: config.residualChannels, kernelSize: 1, bias: false }));
    this.to1dNorm = this.child('to1dNorm', new GroupNorm(rng, { channels: config.residualChannels, groups: config.residualChannels }));
    this.blocks = Array.from({ length: config.residualBlocks }, (_, i) => this.child(`blocks.${i}`, new ResidualGlu1d(rng, config.residualChannels, config.residualKernel)));
    this.to2d = this.child('to2d', new Conv1d(rng, { inChannels: config.residualChannels, outChannels: flat, kernelSize: 1, bias: false }));
    this.to2dNorm = this.child('to2dNorm', new GroupNorm(rng, { channels: flat, groups: flat }));
    this.up1 = this.child('up1', new GatedStage2d(rng, c2, c1, k, 'up'));
    this.up2 = this.child('up2', new GatedStage2d(rng, c1, c0, k, 'up'));
    this.output = this.child('output', new Conv2d(rng, { inChannels: c0, outChannels: 1, kernelSize: config.genEdgeKernel }));
  }

  /** mel, mask: [batch, frames, mels] (mask 1 = keep, 0 = fill in) → [batch, frames, mels]. */
  forward(mel: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor3D {
    const { mels, genChannels } = this.config;
    if (mel.rank !== 3 || mel.shape[2] !== mels) throw new ShapeMismatchError(`CycleGanGenerator: expected mel [batch, frames, ${mels}], received [${mel.shape.join(', ')}]`);
    if (mask.shape.some((d, i) => d !== mel.shape[i])) throw new ShapeMismatchError(`CycleGanGenerator: mask [${mask.shape.join(', ')}] differs from mel [${mel.shape.join(', ')}]`);
    const [batch, frames] = mel.shape;
    if (frames < 1) throw new ShapeMismatchError(`CycleGanGenerator: needs at least one frame, received ${frames}`);
    const padded = paddedFrames(frames);
    // Padding frames are "missing" (mask 0), exactly like a filled-in span.
    const padT = (t: tf.Tensor3D) => (padded === frames ? t : tf.pad(t, [[0, 0], [0, padded - frames], [0, 0]]));
    const maskP = padT(mask);
    const x = tf.stack([tf.mul(padT(mel), maskP), maskP], 3) as tf.Tensor4D; // [B, T, M, 2]
    let h = glu(this.input.forward(x)); // [B, T, M, c0]
    h = this.down1.forward(h); // [B, T/2, M/2, c1]
    h = this.down2.forward(h); // [B, T/4, M/4, c2]
    const [, t4, m4, c2] = h.shape;
    let r = this.to1dNorm.forward(this.to1d.forward(h.reshape([batch, t4, m4 * c2]))); // [B, T/4, R]
    for (const block of this.blocks) r = block.forward(r);
    h = this.to2dNorm.forward(this.to2d.forward(r)).reshape([batch, t4, m4, genChannels[2]]); // [B, T/4, M/4, c2]
    h = this.up1.forward(h); // [B, T/2, M/2, c1]
    h = this.up2.forward(h); // [B, T, M, c0]
    const y = this.output.forward(h).reshape([batch, padded, mels]) as tf.Tensor3D; // [B, T, M]
    return padded === frames ? y : (tf.slice(y, [0, 0, 0], [batch, frames, mels]) as tf.Tensor3D);
  }
}

function instanceNorm4d(x: tf.Tensor4D): tf.Tensor4D {
  const mean = tf.mean(x, [1, 2], true);
  const centered = tf.sub(x, mean);
  return tf.mul(centered, tf.rsqrt(tf.add(tf.mean(tf.square(centered), [1, 2], true), 1e-5)));
}

/** PatchGAN discriminator: GLU conv, stride-2 IN-GLU stages, 1-channel output conv → a grid of real/fake scores. */
export class CycleGanDiscriminator extends Module {
  readonly config: CycleGanConfig;
  readonly convs: Conv2d[];
  readonly output: Conv2d;

  constructor(rng: Rng, config: CycleGanConfig = DEFAULT_CYCLE_GAN_CONFIG) {
    super();
    checkConfig(config);
    this.config = config;
    const ch = config.discChannels;
    const k = config.discKernel;
    this.convs = ch.map((c, i) =>
      this.child(`convs.${i}`, new Conv2d(rng, { inChannels: i === 0 ? 1 : ch[i - 1]!, outChannels: 2 * c, kernelSize: k, stride: i === 0 ? 1 : 2, bias: i === 0 })),
    );
    this.output = this.child('output', new Conv2d(rng, { inChannels: ch[ch.length - 1]!, outChannels: 1, kernelSize: k }));
  }

  /** mel: [batch, frames, mels] → scores [batch, frames/2^(n-1), mels/2^(n-1)]; `frozen` passes no gradient to the weights. */
  forward(mel: tf.Tensor3D, frozen = false): tf.Tensor3D {
    const w = (v: tf.Variable | null): tf.Tensor | null => (v === null ? null : frozen ? stopGradient(v as tf.Tensor) : v);
    let h = mel.expandDims(3) as tf.Tensor4D; // [B, T, M, 1]
    this.convs.forEach((conv, i) => {
      const y = conv2d(h, w(conv.weight) as tf.Tensor4D, w(conv.bias) as tf.Tensor1D | null, conv.options);
      h = glu(i === 0 ? y : instanceNorm4d(y));
    });
    const out = conv2d(h, w(this.output.weight) as tf.Tensor4D, w(this.output.bias) as tf.Tensor1D, this.output.options); // [B, T', M', 1]
    return out.reshape(out.shape.slice(0, 3) as [number, number, number]);
  }
}

/** Generators A→B and B→A, discriminators of each domain, and the second-step discriminators on cycled mels. */
export class CycleGan extends Module {
  readonly config: CycleGanConfig;
  readonly genAB: CycleGanGenerator;
  readonly genBA: CycleGanGenerator;
  readonly discA: CycleGanDiscriminator;
  readonly discB: CycleGanDiscriminator;
  readonly disc2A: CycleGanDiscriminator | null;
  readonly disc2B: CycleGanDiscriminator | null;

  constructor(rng: Rng, config: CycleGanConfig = DEFAULT_CYCLE_GAN_CONFIG, options: { secondAdversarial?: boolean } = {}) {
    super();
    this.config = config;
    this.genAB = this.child('genAB', new CycleGanGenerator(rng.fork(), config));
    this.genBA = this.child('genBA', new CycleGanGenerator(rng.fork(), config));
    this.discA = this.child('discA', new CycleGanDiscriminator(rng.fork(), config));
    this.discB = this.child('discB', new CycleGanDiscriminator(rng.fork(), config));
    const second = options.secondAdversarial !== false;
    this.disc2A = second ? this.child('disc2A', new CycleGanDiscriminator(rng.fork(), config)) : null;
    this.disc2B = second ? this.child('disc2B', new CycleGanDiscriminator(rng.fork(), config)) : null;
  }

  /** True for discriminator parameters (by dotted name), which get the discriminator's optimizer. */
  static isDiscriminatorParameter(name: string): boolean {
    return name.startsWith('disc');
  }
}

/** Builds the four (or six) networks of a CycleGAN-VC pair from a seed. */
export function createCycleGan(config: CycleGanConfig = DEFAULT_CYCLE_GAN_CONFIG, options: { seed?: number; secondAdversarial?: boolean } = {}): CycleGan {
  return new CycleGan(new Rng(options.seed ?? 0), config, options);
}

/** Weights of the loss terms and the identity-loss cut-off. */
export interface CycleGanLossWeights {
  /** λ of the cycle-consistency L1 loss (published 10). */
  readonly cycle: number;
  /** λ of the identity L1 loss while it is on (published 5). */
  readonly identity: number;
  /** Whether the identity loss is on for this step (published: the first 10 000 of 500 000 iterations). */
  readonly identityOn: boolean;
}

/** A training batch: normalised crops of each domain and their filling-in-frames masks, all [batch, frames, mels]. */
export interface CycleGanBatch {
  readonly realA: tf.Tensor3D;
  readonly realB: tf.Tensor3D;
  readonly maskA: tf.Tensor3D;
  readonly maskB: tf.Tensor3D;
}

const lsReal = (scores: tf.Tensor): tf.Scalar => tf.mean(tf.square(tf.sub(scores, 1)));
const lsFake = (scores: tf.Tensor): tf.Scalar => tf.mean(tf.square(scores));
const l1 = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.mean(tf.abs(tf.sub(a, b)));
const sum = (...terms: tf.Scalar[]): tf.Scalar => (terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Scalar));
const scale = (x: tf.Scalar, factor: number): tf.Scalar => tf.mul(x, factor);

/**
 * Joint loss of one simultaneous GAN step: the generator loss sees frozen discriminators, the discriminator
 * loss sees detached fakes, so one gradient of `total` gives each net the gradient of its own objective.
 */
export function cycleGanLoss(model: CycleGan, batch: CycleGanBatch, weights: CycleGanLossWeights): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const { realA, realB, maskA, maskB } = batch;
  const ones = tf.onesLike(realA);
  const fakeB = model.genAB.forward(realA, maskA); // [B, T, M]
  const cycleA = model.genBA.forward(fakeB, ones);
  const fakeA = model.genBA.forward(realB, maskB);
  const cycleB = model.genAB.forward(fakeA, ones);
  const advG = sum(lsReal(model.discB.forward(fakeB, true)), lsReal(model.discA.forward(fakeA, true)));
  const cycle = sum(l1(realA, cycleA), l1(realB, cycleB));
  const genTerms = [advG, scale(cycle, weights.cycle)];
  const parts: Record<string, tf.Scalar> = {};
  if (weights.identityOn) {
    const identity = sum(l1(realA, model.genBA.forward(realA, ones)), l1(realB, model.genAB.forward(realB, ones)));
    genTerms.push(scale(identity, weights.identity));
    parts['identity'] = identity;
  }
  // Discriminators: real → 1, detached fakes → 0 (halved, as in the reference implementation).
  const discTerms = [
    scale(sum(lsReal(model.discA.forward(realA)), lsFake(model.discA.forward(stopGradient(fakeA))), lsReal(model.discB.forward(realB)), lsFake(model.discB.forward(stopGradient(fakeB)))), 0.5),
  ];
  if (model.disc2A && model.disc2B) {
    // CycleGAN-VC2's second adversarial loss: cycled mels must also look real to their own discriminators.
    const adv2 = sum(lsReal(model.disc2A.forward(cycleA, true)), lsReal(model.disc2B.forward(cycleB, true)));
    genTerms.push(adv2);
    parts['adv2'] = adv2;
    discTerms.push(
      scale(sum(lsReal(model.disc2A.forward(realA)), lsFake(model.disc2A.forward(stopGradient(cycleA))), lsReal(model.disc2B.forward(realB)), lsFake(model.disc2B.forward(stopGradient(cycleB)))), 0.5),
    );
  }
  const genLoss = sum(...genTerms);
  const discLoss = sum(...discTerms);
  parts['gen'] = genLoss;
  parts['disc'] = discLoss;
  parts['adv'] = advG;
  parts['cycle'] = cycle;
  return { total: sum(genLoss, discLoss), parts };
}

/**
 * Filling-in-frames masks: per item one span of 0 … `maxFrames` frames set to 0 (all mel bins), the rest 1.
 * Returns a [batch, frames, mels] array drawn from `rng`.
 */
export function fillInFramesMask(rng: Rng, batch: number, frames: number, mels: number, maxFrames: number): Float32Array {
  const out = new Float32Array(batch * frames * mels).fill(1);
  for (let b = 0; b < batch; b++) {
    const span = Math.min(frames, rng.int(Math.max(0, maxFrames) + 1));
    const start = rng.int(frames - span + 1);
    out.fill(0, (b * frames + start) * mels, (b * frames + start + span) * mels);
  }
  return out;
}

/** Per-bin normalisation of log-mels: (x − mean) / std; both [mels]. */
export type CycleGanNormalization = MelNormalization;

/** What a CycleGAN-VC model file says about its generator besides the weights. */
export interface CycleGanModelInfo {
  readonly config: CycleGanConfig;
  /** "any" (pooled multi-speaker domain) or the user/corpus voice the pair was trained from. */
  readonly sourceDomain: string;
  /** Voices pooled in the source domain. */
  readonly sourceVoices: readonly string[];
  readonly targetVoice: string;
  /** Mean ln F0 of the target voice's training speech; conversions normalise the source's vocal tract toward it (absent in older files: no normalisation). */
  readonly targetLogF0?: number;
  readonly normalization: CycleGanNormalization;
  readonly trainingDataHash: string;
  readonly validationMetrics?: { readonly [key: string]: number };
  /** Free-form training facts (steps, seconds, command). */
  readonly training?: { readonly [key: string]: JsonValue };
}

/** Label shown in the UI, e.g. "CycleGAN-VC (any → flite-slt)", or "(any ↔ flite-slt)" when the file converts both ways. */
export function cycleGanLabel(sourceDomain: string, targetVoice: string, bothWays = false): string {
  return `CycleGAN-VC (${sourceDomain} ${bothWays ? '↔' : '→'} ${targetVoice})`;
}

/** Prefix of the inverse (target → source) generator's tensors in a model file that holds both directions. */
const INVERSE_PREFIX = 'inverse.';

/** What `saveCycleGanModel` writes besides the forward generator. */
export interface CycleGanSaveOptions {
  readonly overwrite?: boolean;
  /** The pair's target → source generator, stored under `inverse.*` so the file converts both ways. */
  readonly inverse?: CycleGanGenerator;
  /** Weight precision in the file (default float16: inference weights, half the bytes; checkpoints keep float32). */
  readonly storage?: WeightStorage;
}

/** Writes the A→B generator (and, given `inverse`, the B→A one) with config, domains and normalisation to a `.timbre` file. */
export async function saveCycleGanModel(path: string, generator: CycleGanGenerator, info: CycleGanModelInfo, options: CycleGanSaveOptions = {}): Promise<void> {
  const weights = new Map(generator.getWeights());
  if (options.inverse) for (const [name, w] of options.inverse.getWeights()) weights.set(`${INVERSE_PREFIX}${name}`, w);
  await saveModelFile(
    path,
    {
      kind: CYCLE_GAN_KIND,
      kindVersion: CYCLE_GAN_KIND_VERSION,
      melConfig: MEL_CONFIG,
      hyperparameters: { ...info.config } as unknown as { [key: string]: JsonValue },
      speakers: [info.sourceDomain, info.targetVoice],
      normalization: normalizationToJson(info.normalization),
      trainingDataHash: info.trainingDataHash,
      validationMetrics: info.validationMetrics ?? {},
      extra: {
        label: cycleGanLabel(info.sourceDomain, info.targetVoice, options.inverse !== undefined),
        targetVoices: options.inverse ? [info.targetVoice, info.sourceDomain] : [info.targetVoice],
        sourceDomain: info.sourceDomain,
        sourceVoices: [...info.sourceVoices],
        targetVoice: info.targetVoice,
        ...(info.targetLogF0 !== undefined && Number.isFinite(info.targetLogF0) ? { targetLogF0: info.targetLogF0 } : {}),
        training: info.training ?? {},
      },
    },
    weights,
    { overwrite: options.overwrite ?? false, storage: options.storage ?? 'float16' },
  );
}

function configFromHeader(h: { readonly [key: string]: JsonValue }, path: string): CycleGanConfig {
  const keys = Object.keys(DEFAULT_CYCLE_GAN_CONFIG) as (keyof CycleGanConfig)[];
  const missing = keys.filter((k) => !(k in h));
  if (missing.length > 0) throw new ModelMismatchError(`model file ${path}: CycleGAN-VC config lacks ${missing.join(', ')}; re-train it`);
  const config = Object.fromEntries(keys.map((k) => [k, h[k]])) as unknown as CycleGanConfig;
  try {
    checkConfig(config);
  } catch (err) {
    throw new ModelMismatchError(`model file ${path}: ${(err as Error).message}`);
  }
  return config;
}

/**
 * Reads a CycleGAN-VC model file (refusing other kinds, versions and feature configs) into its forward generator and,
 * when the file holds one, its inverse generator (null otherwise).
 */
export async function loadCycleGanModel(path: string): Promise<{ generator: CycleGanGenerator; inverse: CycleGanGenerator | null; info: CycleGanModelInfo }> {
  const { header, weights } = await loadModelFile(path, { kind: CYCLE_GAN_KIND, kindVersion: CYCLE_GAN_KIND_VERSION, melConfig: MEL_CONFIG });
  const config = configFromHeader(header.hyperparameters, path);
  const normalization = normalizationFromJson(header.normalization, config.mels);
  if (normalization === null) throw new ModelMismatchError(`model file ${path}: normalisation must hold ${config.mels} means and positive stds; re-train it`);
  const extra = (header.extra ?? {}) as { sourceDomain?: unknown; sourceVoices?: unknown; targetVoice?: unknown; targetLogF0?: unknown; training?: unknown };
  if (typeof extra.targetVoice !== 'string' || typeof extra.sourceDomain !== 'string') {
    throw new ModelMismatchError(`model file ${path}: lacks the source domain or target voice of the CycleGAN-VC pair; re-train it`);
  }
  const forwardWeights = new Map<string, WeightArray>();
  const inverseWeights = new Map<string, WeightArray>();
  for (const [name, w] of weights) {
    if (name.startsWith(INVERSE_PREFIX)) inverseWeights.set(name.slice(INVERSE_PREFIX.length), w);
    else forwardWeights.set(name, w);
  }
  const generator = new CycleGanGenerator(new Rng(0), config);
  const inverse = inverseWeights.size > 0 ? new CycleGanGenerator(new Rng(0), config) : null;
  try {
    generator.setWeights(forwardWeights, path);
    inverse?.setWeights(inverseWeights, `${path} (inverse generator)`);
  } catch (err) {
    generator.dispose();
    inverse?.dispose();
    throw err;
  }
  return {
    generator,
    inverse,
    info: {
      config,
      sourceDomain: extra.sourceDomain,
      sourceVoices: Array.isArray(extra.sourceVoices) ? extra.sourceVoices.filter((v): v is string => typeof v === 'string') : [],
      targetVoice: extra.targetVoice,
      ...(typeof extra.targetLogF0 === 'number' && Number.isFinite(extra.targetLogF0) ? { targetLogF0: extra.targetLogF0 } : {}),
      normalization,
      trainingDataHash: header.trainingDataHash,
      validationMetrics: header.validationMetrics,
      training: (extra.training ?? {}) as { [key: string]: JsonValue },
    },
  };
}

/** Longest chunk (frames) one generator pass converts; longer inputs go in overlapping chunks so memory stays bounded. */
export const MAX_CONVERT_CHUNK_FRAMES = 1024;
const CHUNK_OVERLAP = 32;

/**
 * A trained A→B generator as the engine's `MelConverter`; `convert` maps raw log-mels [frames × mels] to the target
 * voice, or, when the file holds the inverse generator too, back to the source domain (target id = the source domain).
 */
export class CycleGanConverter implements MelConverter {
  readonly family = 'cyclegan' as const;
  readonly label: string;
  readonly targetVoices: readonly string[];
  readonly info: CycleGanModelInfo;
  private generator: CycleGanGenerator | null;
  private inverse: CycleGanGenerator | null;

  constructor(generator: CycleGanGenerator, info: CycleGanModelInfo, inverse: CycleGanGenerator | null = null) {
    this.generator = generator;
    this.inverse = inverse;
    this.info = info;
    this.label = cycleGanLabel(info.sourceDomain, info.targetVoice, inverse !== null);
    this.targetVoices = inverse !== null ? [info.targetVoice, info.sourceDomain] : [info.targetVoice];
  }

  /** Source log-mel [frames × mels] (natural log, unnormalised) → the target voice's log-mel of the same size. */
  async convert(source: LogMel, target: ConversionTarget, options: { settings?: ConversionSettings; onProgress?: ConversionProgress; signal?: AbortSignal } = {}): Promise<LogMel> {
    if (this.generator === null) throw new ModelMismatchError(`${this.label} was disposed; load the model again`);
    checkLogMel(source, this.info.config.mels);
    const generator = target.voiceId === this.info.targetVoice ? this.generator : target.voiceId === this.info.sourceDomain ? this.inverse : null;
    if (generator === null) {
      throw new ModelMismatchError(`${this.label} converts only to ${this.targetVoices.map((v) => `"${v}"`).join(' or ')}, received target "${target.voiceId}"; pick a CycleGAN-VC model trained for that voice`);
    }
    const throwIfAborted = () => {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('conversion cancelled');
    };
    throwIfAborted();
    const { frames, mels } = source;
    const { mean, std } = this.info.normalization;
    const out = new Float32Array(frames * mels);
    if (frames === 0) return { frames, mels, data: out };
    // Toward the target voice, the generator reads the source with its formants moved to the target's scale (files
    // that store the target's mean F0); the way back has no single voice to move toward.
    const targetLogF0 = generator === this.generator ? (this.info.targetLogF0 ?? Number.NaN) : Number.NaN;
    const sourceLogF0 = Number.isFinite(targetLogF0) ? meanLogF0(estimateF0FromLogMel(source)) : Number.NaN;
    const input = normalizeVocalTract(source, sourceLogF0, targetLogF0, options.settings?.vocalTractNormalization);
    const normalised = new Float32Array(frames * mels);
    for (let i = 0; i < normalised.length; i++) normalised[i] = (input.data[i]! - mean[i % mels]!) / std[i % mels]!;
    // Chunks of at most MAX_CONVERT_CHUNK_FRAMES with CHUNK_OVERLAP frames of context each side; only the centre is kept.
    const core = MAX_CONVERT_CHUNK_FRAMES - 2 * CHUNK_OVERLAP;
    const starts: number[] = [];
    for (let s = 0; s < frames; s += frames <= MAX_CONVERT_CHUNK_FRAMES ? frames : core) starts.push(s);
    for (let c = 0; c < starts.length; c++) {
      const keepStart = starts[c]!;
      const keepEnd = starts.length === 1 ? frames : Math.min(frames, keepStart + core);
      const from = starts.length === 1 ? 0 : Math.max(0, keepStart - CHUNK_OVERLAP);
      const to = starts.length === 1 ? frames : Math.min(frames, keepEnd + CHUNK_OVERLAP);
      const length = to - from;
      const y = tf.tidy(() => {
        const x = tf.tensor3d(normalised.subarray(from * mels, to * mels), [1, length, mels]); // [1, T, M]
        return generator.forward(x, tf.onesLike(x));
      });
      const values = (await y.data()) as Float32Array;
      y.dispose();
      for (let t = keepStart; t < keepEnd; t++) {
        for (let k = 0; k < mels; k++) out[t * mels + k] = values[(t - from) * mels + k]! * std[k]! + mean[k]!;
      }
      options.onProgress?.((c + 1) / starts.length);
      throwIfAborted();
    }
    return { frames, mels, data: out };
  }

  /** Frees the generators' weights. */
  dispose(): void {
    this.generator?.dispose();
    this.inverse?.dispose();
    this.generator = null;
    this.inverse = null;
  }
}

/** The model registry's entry point: loads a `.timbre` CycleGAN-VC generator as a converter. */
export async function loadMelConverter(modelPath: string): Promise<CycleGanConverter> {
  const { generator, inverse, info } = await loadCycleGanModel(modelPath);
  return new CycleGanConverter(generator, info, inverse);
}

/** Several single-target generators behind one converter, chosen by the target voice (eval converts to several). */
export class CycleGanVoiceSet implements MelConverter {
  readonly family = 'cyclegan' as const;
  readonly label: string;
  readonly targetVoices: readonly string[];
  private readonly byVoice: Map<string, CycleGanConverter>;

  constructor(converters: readonly CycleGanConverter[]) {
    this.byVoice = new Map(converters.map((c) => [c.info.targetVoice, c]));
    this.targetVoices = [...this.byVoice.keys()];
    const sources = [...new Set(converters.map((c) => c.info.sourceDomain))];
    this.label = `CycleGAN-VC (${sources.join('/')} → ${this.targetVoices.join(', ')})`;
  }

  /** Converts with the generator of `target.voiceId`. */
  convert(source: LogMel, target: ConversionTarget, options?: { settings?: ConversionSettings; onProgress?: ConversionProgress; signal?: AbortSignal }): Promise<LogMel> {
    const converter = this.byVoice.get(target.voiceId);
    if (converter === undefined) {
      return Promise.reject(new ModelMismatchError(`${this.label} has no generator for "${target.voiceId}"; it has ${this.targetVoices.join(', ')}`));
    }
    return converter.convert(source, target, options);
  }

  /** Frees every generator. */
  dispose(): void {
    for (const c of this.byVoice.values()) c.dispose();
    this.byVoice.clear();
  }
}

/** The shipped generator of `voice`: `assets/models/cyclegan-<voice>/model.timbre`. */
export function shippedCycleGanPath(voice: string): string {
  return shippedModelPath(`cyclegan-${voice}`);
}

/** `timbre eval --model cyclegan`: the any-voice generator of every target (TIMBRE_HOME/models first, then shipped). */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<CycleGanVoiceSet> {
  const models = timbrePaths(context.home).models;
  const paths = context.targetVoices.map((voice) => {
    const user = join(models, `cyclegan-${voice}`, 'model.timbre');
    return existsSync(user) ? user : shippedCycleGanPath(voice);
  });
  const missing = context.targetVoices.filter((_, i) => !existsSync(paths[i]!));
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `no CycleGAN-VC generator for ${missing.join(', ')} (looked in ${models} and ${dirname(dirname(shippedCycleGanPath('x')))}); train one with: timbre train cyclegan --to ${missing[0]}`,
      'VOICE_NOT_FOUND',
    );
  }
  const converters: CycleGanConverter[] = [];
  try {
    for (const path of paths) converters.push(await loadMelConverter(path));
  } catch (err) {
    converters.forEach((c) => c.dispose());
    throw err;
  }
  const wrong = converters.find((c, i) => c.info.targetVoice !== context.targetVoices[i]);
  if (wrong) {
    converters.forEach((c) => c.dispose());
    throw new InvalidModelFileError(`a CycleGAN-VC model file in a cyclegan-<voice> folder converts to "${wrong.info.targetVoice}", not to that folder's voice; re-train or move it`);
  }
  return new CycleGanVoiceSet(converters);
}
