// MaskCycleGAN-VC on normalised log-mel: a 2-1-2D gated generator with filling-in-frames masks, PatchGAN
// discriminators and the LSGAN + cycle + identity (+ second adversarial) losses (training: train.ts; files and
// conversion: convert.ts).

import * as tf from '@tensorflow/tfjs';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { MelNormalization } from '../melNormalization.js';
import { Conv1d, Conv2d, conv2d, glu, GroupNorm, pixelShuffle2d, stopGradient } from '../../nn/layers.js';
import { Module, Rng } from '../../nn/module.js';

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

export function checkCycleGanConfig(config: CycleGanConfig): void {
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positive(config.mels) || config.mels % 4 !== 0) throw new ShapeMismatchError(`CycleGanConfig.mels must be a positive multiple of 4, received ${config.mels}`);
  const all = [...config.genChannels, ...config.genEdgeKernel, config.genSampleKernel, config.residualChannels, config.residualBlocks, config.residualKernel, ...config.discChannels, config.discKernel];
  if (!all.every(positive) || config.genChannels.length !== 3 || config.discChannels.length < 2) {
    throw new ShapeMismatchError(`CycleGanConfig has a non-positive size or wrong list length: ${JSON.stringify(config)}`);
  }
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
    checkCycleGanConfig(config);
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
    checkCycleGanConfig(config);
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
