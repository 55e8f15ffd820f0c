// Neural vocoder at frame rate (Vocos / FreeV / APNet family): log-mel → ConvNeXt backbone → a log-magnitude correction
// of the mel pseudo-inverse prior and a phase → inverse STFT as DFT-basis matMuls; its STFT, mel and phase losses.

import * as tf from '@tensorflow/tfjs';
import { melFilterbank, melPseudoInverse } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import { Conv1d, Dense } from '../../nn/layers.js';
import type { MelNormalization } from '../melNormalization.js';
import { init, Module, Rng } from '../../nn/module.js';
import type { LossResult } from '../../nn/train.js';
import { DftStft, fixedMatMul, fixedMatrix, type FixedMatrix } from './dft.js';

/** Bins of the synthesis STFT (n_fft 1024 → 513). */
export const VOCODER_BINS = MEL_CONFIG.nFft / 2 + 1;

/** Architecture (saved in the model file; the code builds exactly this). Framing is MEL_CONFIG's: one frame per mel frame. */
export interface VocoderConfig {
  /** Mel bins of the input (80). */
  readonly mels: number;
  /** Backbone channels (Vocos 512; 256 keeps the budget, see `vocoderGflopsPerSecond`). */
  readonly width: number;
  /** ConvNeXt blocks (Vocos 8). */
  readonly blocks: number;
  /** Hidden channels of each block's pointwise MLP (ConvNeXt: 3 × width). */
  readonly inner: number;
  /** Kernel (frames, odd) of the input conv and of every depthwise conv (ConvNeXt/Vocos 7). */
  readonly kernel: number;
  /** Initial layer scale of each block's residual branch (Vocos: 1 / blocks). */
  readonly layerScale: number;
  /** Largest predicted ln |S| (ln 1000; speech peaks stay far below it), so exp never overflows early in training. */
  readonly maxLogMagnitude: number;
  /**
   * Lowest frequency, Hz, the network corrects (0: all): below it ln|S| is the mel pseudo-inverse's own, where the
   * narrow low mel filters keep the harmonics' structure that the pitch of the output rests on. Files without the field
   * read as 0.
   */
  readonly correctionFromHz: number;
}

/**
 * Default: width 256, 8 blocks, inner 768 — 3.72 M parameters, 3.74 M multiply-adds per frame = 0.644 GFLOP per second
 * of audio (86.13 frames/s), under the ~1 GFLOP/s budget (RTF ≤ 0.05 at the wasm matMul rate of ~25 GFLOP/s). The
 * inverse STFT at inference runs in JS with an FFT (≈ 0.003 GFLOP/s); the DFT-basis matMul iSTFT (0.18 GFLOP/s) is for
 * training, where it must be differentiable.
 */
export const DEFAULT_VOCODER_CONFIG: VocoderConfig = Object.freeze({
  mels: MEL_CONFIG.melBins,
  width: 256,
  blocks: 8,
  inner: 768,
  kernel: 7,
  layerScale: 1 / 8,
  maxLogMagnitude: Math.log(1000),
  correctionFromHz: 0,
});

/** Throws `ShapeMismatchError` naming the first field outside its range. */
export function checkVocoderConfig(config: VocoderConfig): void {
  const whole = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (config.mels !== MEL_CONFIG.melBins) throw new ShapeMismatchError(`VocoderConfig.mels must be ${MEL_CONFIG.melBins} (MEL_CONFIG), received ${config.mels}`);
  for (const key of ['width', 'blocks', 'inner'] as const) if (!whole(config[key], 1)) throw new ShapeMismatchError(`VocoderConfig.${key} must be a positive integer, received ${config[key]}`);
  if (!whole(config.kernel, 1) || config.kernel % 2 !== 1) throw new ShapeMismatchError(`VocoderConfig.kernel must be a positive odd integer, received ${config.kernel}`);
  for (const key of ['layerScale', 'maxLogMagnitude'] as const) {
    if (!(typeof config[key] === 'number' && Number.isFinite(config[key]) && config[key] > 0)) throw new ShapeMismatchError(`VocoderConfig.${key} must be a positive number, received ${config[key]}`);
  }
  if (!(typeof config.correctionFromHz === 'number' && config.correctionFromHz >= 0 && config.correctionFromHz < MEL_CONFIG.sampleRateHz / 2)) {
    throw new ShapeMismatchError(`VocoderConfig.correctionFromHz must be a number in [0, ${MEL_CONFIG.sampleRateHz / 2}), received ${config.correctionFromHz}`);
  }
}

/** Multiply-adds per frame of one forward pass: prior, input conv, blocks, heads (elementwise ops are < 2 %, left out). */
export function vocoderMacsPerFrame(config: VocoderConfig): number {
  const { mels, width, inner, kernel, blocks } = config;
  const block = kernel * width + 2 * width * inner;
  return mels * VOCODER_BINS + kernel * mels * width + blocks * block + width * 3 * VOCODER_BINS;
}

/** GFLOP (2 × MAC) per second of 22 050 Hz audio of the network (default config: 0.644). */
export function vocoderGflopsPerSecond(config: VocoderConfig): number {
  return (2 * vocoderMacsPerFrame(config) * MEL_CONFIG.sampleRateHz) / MEL_CONFIG.hopSamples / 1e9;
}

/** Frames of context each side that reach one output frame (the receptive half-width): chunks need this much overlap. */
export function vocoderContextFrames(config: VocoderConfig): number {
  return ((config.kernel - 1) / 2) * (config.blocks + 1);
}

/**
 * Per-channel 'same' 1-D convolution with an explicit gradient: tfjs-wasm runs depthwise convolutions forward
 * (XNNPACK) but has no depthwise-conv backprop kernels, so the backward pass is k shifted multiply-adds (dx) and k
 * products summed over rows by one matMul (dw). x [B, T, C], w [k, C], b [C] → [B, T, C].
 */
export function depthwiseConv1d(x: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const [batch, frames, channels] = x.shape;
  const [k, wc] = w.shape;
  if (wc !== channels || k % 2 !== 1) throw new ShapeMismatchError(`depthwiseConv1d: weight [k odd, ${channels}] expected, received [${w.shape.join(', ')}]`);
  const half = (k - 1) / 2;
  const f = tf.customGrad((xi, wi, bi, save) => {
    const x4 = (xi as tf.Tensor3D).reshape([batch, 1, frames, channels]) as tf.Tensor4D; // [B, 1, T, C]
    const filter = (wi as tf.Tensor2D).reshape([1, k, channels, 1]) as tf.Tensor4D; // [1, k, C, 1]
    const y = tf.fused.depthwiseConv2d({ x: x4, filter, strides: 1, pad: 'same', bias: bi as tf.Tensor1D }).reshape([batch, frames, channels]);
    (save as tf.GradSaveFunc)([xi as tf.Tensor, wi as tf.Tensor]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, ws] = saved as [tf.Tensor3D, tf.Tensor2D];
      const xp = tf.pad(xs, [[0, 0], [half, half], [0, 0]]); // [B, T+k−1, C]
      const dyp = tf.pad(dy as tf.Tensor3D, [[0, 0], [half, half], [0, 0]]);
      const wTaps = tf.unstack(ws); // k × [C]
      let dx: tf.Tensor = tf.zerosLike(dy);
      for (let j = 0; j < k; j++) dx = tf.add(dx, tf.mul(tf.slice(dyp, [0, k - 1 - j, 0], [batch, frames, channels]), wTaps[j]!));
      // dw[j, c] = Σ_{b,t} xp[b, t + j, c] · dy[b, t, c]: the k products side by side, summed over rows by one matMul.
      const products = tf.concat(Array.from({ length: k }, (_, j) => tf.mul(tf.slice(xp, [0, j, 0], [batch, frames, channels]), dy)), 2);
      const ones = tf.ones([1, batch * frames]) as tf.Tensor2D;
      const dw = tf.matMul(ones, products.reshape([batch * frames, k * channels]) as tf.Tensor2D).reshape([k, channels]);
      const db = tf.matMul(ones, dy.reshape([batch * frames, channels]) as tf.Tensor2D).reshape([channels]);
      return [dx, dw, db];
    };
    return { value: y as tf.Tensor3D, gradFunc };
  });
  return f(x, w, b) as tf.Tensor3D;
}

/** Layer normalisation over the last axis (per frame), learned gain and bias [C]. */
class LayerNorm extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(rng: Rng, channels: number) {
    super();
    this.gamma = this.param('gamma', [channels], init.ones(), rng);
    this.beta = this.param('beta', [channels], init.zeros(), rng);
  }
  /** x [..., C] → same shape. */
  forward<T extends tf.Tensor>(x: T): T {
    const mean = tf.mean(x, -1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), -1, true);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-6))), this.gamma), this.beta) as T;
  }
}

/** GELU in its sigmoid form x·σ(1.702·x) (Hendrycks & Gimpel): wasm's Sigmoid is vectorised, its Erf is not. */
function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))) as T;
}

/** ConvNeXt block (Vocos): depthwise conv k → LayerNorm → Dense(width → inner) → GELU → Dense(inner → width) → ×scale, + input. */
class ConvNeXtBlock extends Module {
  readonly dwWeight: tf.Variable;
  readonly dwBias: tf.Variable;
  readonly norm: LayerNorm;
  readonly pw1: Dense;
  readonly pw2: Dense;
  readonly scale: tf.Variable;
  constructor(rng: Rng, config: VocoderConfig) {
    super();
    const { width, inner, kernel } = config;
    // U(±1/√k): PyTorch's default for a depthwise conv, whose fan-in is the kernel alone.
    this.dwWeight = this.param('dwWeight', [kernel, width], (_shape, r) => Float32Array.from({ length: kernel * width }, () => (2 * r.uniform() - 1) * Math.sqrt(1 / kernel)), rng);
    this.dwBias = this.param('dwBias', [width], init.zeros(), rng);
    this.norm = this.child('norm', new LayerNorm(rng, width));
    this.pw1 = this.child('pw1', new Dense(rng, { inFeatures: width, outFeatures: inner }));
    this.pw2 = this.child('pw2', new Dense(rng, { inFeatures: inner, outFeatures: width }));
    this.scale = this.param('scale', [width], init.constant(config.layerScale), rng);
  }
  /** x [B, T, width] → the MLP's hidden activations [B, T, inner] (what `forward` feeds to pw2). */
  hidden(x: tf.Tensor3D): tf.Tensor3D {
    const h = this.norm.forward(depthwiseConv1d(x, this.dwWeight as tf.Tensor2D, this.dwBias as tf.Tensor1D));
    return gelu(this.pw1.forward(h));
  }
  /** x [B, T, width] → same shape. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const y = this.pw2.forward(this.hidden(x));
    return tf.add(x, tf.mul(y, this.scale)) as tf.Tensor3D;
  }
}

/** What the network predicts per frame, all [B, T, bins]: ln|S|, the unit phase vector, and S = |S|·e^{iφ}. */
export interface VocoderSpectrum {
  readonly logMagnitude: tf.Tensor3D;
  readonly phaseRe: tf.Tensor3D;
  readonly phaseIm: tf.Tensor3D;
  readonly re: tf.Tensor3D;
  readonly im: tf.Tensor3D;
}

/**
 * The network. Magnitude (FreeV): ln max(P·exp(mel), 1e-5), P the Slaney filterbank's pseudo-inverse, plus a learned
 * correction, so training starts from a usable spectral envelope and only learns the residual. Phase (APNet's parallel
 * estimation): two outputs (a, b) per bin, the phase is that of a + ib; S is built from the unit vector directly, so
 * the forward pass needs no atan2/cos/sin.
 */
export class VocoderNet extends Module {
  readonly config: VocoderConfig;
  readonly normalization: MelNormalization;
  readonly inputConv: Conv1d;
  readonly inputNorm: LayerNorm;
  readonly blocks: ConvNeXtBlock[];
  readonly outputNorm: LayerNorm;
  readonly magnitudeHead: Dense;
  readonly phaseHead: Dense;
  private readonly consts: { mean: tf.Tensor1D; invStd: tf.Tensor1D; prior: FixedMatrix; correctionMask: tf.Tensor1D | null };

  constructor(rng: Rng, config: VocoderConfig, normalization: MelNormalization) {
    super();
    checkVocoderConfig(config);
    const { mels, width } = config;
    if (normalization.mean.length !== mels || normalization.std.length !== mels || !normalization.std.every((s) => s > 0)) {
      throw new ShapeMismatchError(`VocoderNet: normalisation must hold ${mels} means and positive stds`);
    }
    this.config = config;
    this.normalization = normalization;
    this.inputConv = this.child('inputConv', new Conv1d(rng, { inChannels: mels, outChannels: width, kernelSize: config.kernel }));
    this.inputNorm = this.child('inputNorm', new LayerNorm(rng, width));
    this.blocks = Array.from({ length: config.blocks }, (_, i) => this.child(`blocks.${i}`, new ConvNeXtBlock(rng, config)));
    this.outputNorm = this.child('outputNorm', new LayerNorm(rng, width));
    this.magnitudeHead = this.child('magnitudeHead', new Dense(rng, { inFeatures: width, outFeatures: VOCODER_BINS }));
    this.phaseHead = this.child('phaseHead', new Dense(rng, { inFeatures: width, outFeatures: 2 * VOCODER_BINS }));
    // A small first correction, so the untrained magnitude stays near the prior's envelope.
    tf.tidy(() => this.magnitudeHead.weight.assign(tf.mul(this.magnitudeHead.weight, 0.1)));
    const pinv = melPseudoInverse(MEL_CONFIG); // [bins × mels]
    const priorT = new Float32Array(mels * VOCODER_BINS); // [mels × bins], so rows of exp(mel) multiply from the left
    for (let k = 0; k < VOCODER_BINS; k++) for (let m = 0; m < mels; m++) priorT[m * VOCODER_BINS + k] = pinv[k * mels + m]!;
    this.consts = {
      mean: tf.tensor1d(normalization.mean),
      invStd: tf.tensor1d(Float32Array.from(normalization.std, (s) => 1 / s)),
      prior: fixedMatrix(priorT, mels, VOCODER_BINS),
      correctionMask:
        config.correctionFromHz > 0 ? tf.tensor1d(Float32Array.from({ length: VOCODER_BINS }, (_, k) => ((k * MEL_CONFIG.sampleRateHz) / MEL_CONFIG.nFft >= config.correctionFromHz ? 1 : 0))) : null,
    };
  }

  /** logMel [B, T, mels] (natural log, not normalised) → the predicted spectrum, T frames of MEL_CONFIG framing. */
  forward(logMel: tf.Tensor3D): VocoderSpectrum {
    const { logMagnitude, hidden } = this.trunk(logMel);
    const [a, b] = tf.split(this.phaseHead.forward(hidden), 2, 2) as [tf.Tensor3D, tf.Tensor3D]; // [B, T, bins] each
    const inverseNorm = tf.rsqrt(tf.add(tf.add(tf.square(a), tf.square(b)), 1e-8));
    const phaseRe = tf.mul(a, inverseNorm) as tf.Tensor3D;
    const phaseIm = tf.mul(b, inverseNorm) as tf.Tensor3D;
    const magnitude = tf.exp(logMagnitude);
    return { logMagnitude, phaseRe, phaseIm, re: tf.mul(magnitude, phaseRe) as tf.Tensor3D, im: tf.mul(magnitude, phaseIm) as tf.Tensor3D };
  }

  /** logMel [B, T, mels] → ln|S| [B, T, bins] alone (what the magnitude objective and phase-gradient conversion use). */
  forwardLogMagnitude(logMel: tf.Tensor3D): tf.Tensor3D {
    return this.trunk(logMel).logMagnitude;
  }

  /** logMel [B, T, mels] → the first block's input [B, T, width]: normalised, input conv, LayerNorm. */
  embed(logMel: tf.Tensor3D): tf.Tensor3D {
    const x = tf.mul(tf.sub(logMel, this.consts.mean), this.consts.invStd) as tf.Tensor3D; // [B, T, M]
    return this.inputNorm.forward(this.inputConv.forward(x));
  }

  /** The shared trunk: normalised input, ConvNeXt blocks, and ln|S| = mel pseudo-inverse prior + correction. */
  private trunk(logMel: tf.Tensor3D): { logMagnitude: tf.Tensor3D; hidden: tf.Tensor3D } {
    const { mels, maxLogMagnitude } = this.config;
    if (logMel.rank !== 3 || logMel.shape[2] !== mels || logMel.shape[1] < 1) {
      throw new ShapeMismatchError(`VocoderNet: expected log-mel [batch, frames ≥ 1, ${mels}], received [${logMel.shape.join(', ')}]`);
    }
    const [batch, frames] = logMel.shape;
    let h = this.embed(logMel);
    for (const block of this.blocks) h = block.forward(h);
    h = this.outputNorm.forward(h);
    const linear = fixedMatMul(tf.exp(logMel).reshape([batch * frames, mels]) as tf.Tensor2D, this.consts.prior.w, this.consts.prior.wT); // [B·T, bins]
    const prior = tf.log(tf.maximum(linear, 1e-5)).reshape([batch, frames, VOCODER_BINS]);
    const correction = this.consts.correctionMask !== null ? tf.mul(this.magnitudeHead.forward(h), this.consts.correctionMask) : this.magnitudeHead.forward(h);
    const logMagnitude = tf.minimum(tf.add(prior, correction), maxLogMagnitude) as tf.Tensor3D; // [B, T, bins]
    return { logMagnitude, hidden: h };
  }

  /** Frees weights and constants. */
  override dispose(): void {
    tf.dispose([this.consts.mean, this.consts.invStd, this.consts.prior.w, this.consts.prior.wT, ...(this.consts.correctionMask !== null ? [this.consts.correctionMask] : [])]);
    super.dispose();
  }
}

/** Builds a vocoder network from a seed. */
export function createVocoder(config: VocoderConfig, normalization: MelNormalization, seed = 0): VocoderNet {
  return new VocoderNet(new Rng(seed), config, normalization);
}

/**
 * What the loss looks at. 'magnitude': the predicted |S| itself (spectral convergence, ln|S| L1 and mel L1 of |S|), the
 * objective that matches conversion, where the phase comes from phase-gradient integration of |S|
 * (src/audio/phaseGradient.ts) and the phase head is unused. 'waveform': the inverse STFT of |S|·e^{iφ} re-analysed at
 * every `stftSizes` resolution, plus APNet's phase and consistency terms, which also shape |S| for the head's phase.
 */
export type VocoderObjectiveKind = 'magnitude' | 'waveform';

/** Loss settings: STFT resolutions, weights of the terms, the phase-scoring floor. */
export interface VocoderLossConfig {
  readonly objective: VocoderObjectiveKind;
  /** FFT sizes of the multi-resolution STFT loss; hop size/4, Hann window of the full size. */
  readonly stftSizes: readonly number[];
  /** Mel L1 against the target's log-mel: of |S| itself (magnitude) or of the re-analysed waveform (HiFi-GAN's main term). */
  readonly melWeight: number;
  /** Spectral convergence of |S| (magnitude); mean over resolutions of spectral convergence + log-magnitude L1 of the re-analysis (waveform, Parallel WaveGAN). */
  readonly stftWeight: number;
  /** L1 of the predicted ln|S| against the target's (APNet's amplitude loss, L1 here like the other log terms). */
  readonly amplitudeWeight: number;
  /** Weight of each anti-wrapped phase term: instantaneous phase, group delay, instantaneous frequency (APNet). */
  readonly phaseWeight: number;
  /** STFT consistency: |S − STFT(iSTFT(S))|² relative to the target's energy (APNet, made scale-free). */
  readonly consistencyWeight: number;
  /** Target |S| below which a bin's phase is not scored: the phase of an empty bin is noise (16-bit floor ≈ 2e-4). */
  readonly phaseFloor: number;
}

/**
 * Equal weights: every term is scale-free (relative, log or angle), each ≈ 0.1–1.5 at the start. APNet's 45/100/20 balance
 * those terms against GAN losses on unnormalised scales, which this no-GAN setup does not have.
 */
export const DEFAULT_VOCODER_LOSS: VocoderLossConfig = Object.freeze({
  objective: 'magnitude' as VocoderObjectiveKind,
  stftSizes: [1024, 512, 256],
  melWeight: 1,
  stftWeight: 1,
  amplitudeWeight: 1,
  phaseWeight: 1,
  consistencyWeight: 1,
  phaseFloor: 1e-3,
});

/**
 * Where a loss resolution starts analysing a crop: the model's own size at 128 samples, so its frame j is the model's
 * frame j + 2 (centres at t·hop + hop/2) and mel and consistency terms compare like with like; other sizes at 0.
 */
export function lossOffset(nFft: number): number {
  return nFft === MEL_CONFIG.nFft ? MEL_CONFIG.hopSamples / 2 : 0;
}

/**
 * Model frame of the aligned analysis's frame 0: analysis frame j is centred on offset + j·hop + nFft/2 of the crop, model
 * frame t on t·hop + hop/2 (stft.ts framing with its padding trimmed), so t = j + (128 + 512 − 128) / 256 = j + 2.
 */
export const ALIGNED_FIRST_FRAME = (lossOffset(MEL_CONFIG.nFft) + MEL_CONFIG.nFft / 2 - MEL_CONFIG.hopSamples / 2) / MEL_CONFIG.hopSamples;

/** Frames a loss resolution of `nFft` analyses in a crop of `cropSamples` (hop nFft/4 from `lossOffset`, no padding). */
export function lossFrames(nFft: number, cropSamples: number): number {
  return Math.floor((cropSamples - lossOffset(nFft) - nFft) / (nFft / 4)) + 1;
}

/** Shortest crop (frames) every loss term can score. */
export function minimumCropFrames(loss: VocoderLossConfig): number {
  const longest = Math.max(MEL_CONFIG.nFft, ...loss.stftSizes);
  return Math.max(8, Math.ceil((longest + MEL_CONFIG.hopSamples / 2) / MEL_CONFIG.hopSamples) + 1);
}

/** A training batch; arrays [B, T, ·] share the crop's T model frames. */
export interface VocoderBatch {
  /** [B, T, mels] input log-mel (natural log, not normalised): the recording's, or a converter's output aligned to it. */
  readonly mel: tf.Tensor3D;
  /** [B, T, mels] log-mel of the target waveform. */
  readonly targetMel: tf.Tensor3D;
  /** [B, T, bins] ln max(|S|, √1e-7) of the target's STFT at the model's frames (full-utterance context). */
  readonly logMagnitude: tf.Tensor3D;
  /** [B, T, bins] the target STFT's unit phase vector ((1, 0) where |S| = 0). */
  readonly phaseRe: tf.Tensor3D;
  readonly phaseIm: tf.Tensor3D;
  /** [B, T, bins] 1 where |S| ≥ phaseFloor. */
  readonly phaseMask: tf.Tensor3D;
  /** Per `stftSizes` entry [B, frames, bins]: max(|S|, √1e-7) of the target crop, framed as `DftStft.stft(·, lossOffset)`. */
  readonly stftMagnitudes: readonly tf.Tensor3D[];
}

/** atan2 whose gradient stays finite at the origin (tfjs's is 0/0 there), for angles of near-zero complex numbers. */
function safeAtan2(y: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((yi, xi, save) => {
    (save as tf.GradSaveFunc)([yi as tf.Tensor, xi as tf.Tensor]);
    return {
      value: tf.atan2(yi as tf.Tensor, xi as tf.Tensor),
      gradFunc: (dy: tf.Tensor, [ys, xs]: tf.Tensor[]) => {
        const scale = tf.div(dy, tf.add(tf.add(tf.square(xs!), tf.square(ys!)), 1e-12));
        return [tf.mul(scale, xs!), tf.neg(tf.mul(scale, ys!))];
      },
    };
  });
  return f(y, x);
}

type Complex = readonly [re: tf.Tensor, im: tf.Tensor];
/** a · conj(b). */
const timesConj = ([ar, ai]: Complex, [br, bi]: Complex): Complex => [tf.add(tf.mul(ar, br), tf.mul(ai, bi)), tf.sub(tf.mul(ai, br), tf.mul(ar, bi))];
/** |angle(a · conj(b))| ∈ [0, π]: APNet's anti-wrapping |x − 2π·round(x / 2π)| of the angle difference, without round. */
const wrappedDistance = (a: Complex, b: Complex): tf.Tensor => {
  const [re, im] = timesConj(a, b);
  return tf.abs(safeAtan2(im, re));
};
const weightedMean = (values: tf.Tensor, weights: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(values, weights)), tf.add(tf.sum(weights), 1)) as tf.Scalar;
/** Slices [B, T, C] along T. */
const framesSlice = (x: tf.Tensor3D, start: number, count: number): tf.Tensor3D => tf.slice(x, [0, start, 0], [x.shape[0], count, x.shape[2]]);
/** Slices [B, T, C] along C. */
const binsSlice = (x: tf.Tensor3D, start: number, count: number): tf.Tensor3D => tf.slice(x, [0, 0, start], [x.shape[0], x.shape[1], count]);
/** |S| = sqrt(max(re² + im², 1e-7)), the floor Parallel WaveGAN uses (and the targets of `VocoderBatch`). */
export const stftMagnitude = (re: tf.Tensor, im: tf.Tensor): tf.Tensor => tf.sqrt(tf.maximum(tf.add(tf.square(re), tf.square(im)), 1e-7));

/** Spectral convergence + log-magnitude L1 of a predicted magnitude against a target one (same shape). */
export function stftDistance(predicted: tf.Tensor, target: tf.Tensor): { convergence: tf.Scalar; logMagnitude: tf.Scalar } {
  // Frobenius norms as sqrt(Σ x² + ε): finite gradient when prediction and target coincide.
  const norm = (x: tf.Tensor) => tf.sqrt(tf.add(tf.sum(tf.square(x)), 1e-12));
  const convergence = tf.div(norm(tf.sub(target, predicted)), norm(target)) as tf.Scalar;
  const logMagnitude = tf.mean(tf.abs(tf.sub(tf.log(target), tf.log(predicted)))) as tf.Scalar;
  return { convergence, logMagnitude };
}

/**
 * The training objective. From the predicted spectrum: waveform by the DFT-basis iSTFT; multi-resolution STFT and mel
 * terms on its re-analysis; amplitude, phase (IP, GD, IAF) and consistency terms on the spectrum itself.
 */
export class VocoderObjective {
  readonly net: VocoderNet;
  readonly loss: VocoderLossConfig;
  private readonly synthesis = new DftStft(MEL_CONFIG.nFft, MEL_CONFIG.hopSamples);
  private readonly resolutions: DftStft[];
  private readonly melBasis: FixedMatrix;

  constructor(net: VocoderNet, loss: VocoderLossConfig = DEFAULT_VOCODER_LOSS) {
    if (loss.stftSizes.length === 0 || loss.stftSizes.some((n) => !(Number.isInteger(n) && n >= 8 && n % 4 === 0))) {
      throw new ShapeMismatchError(`stftSizes must be multiples of 4 of at least 8, received [${loss.stftSizes.join(', ')}]`);
    }
    if (loss.objective !== 'magnitude' && loss.objective !== 'waveform') throw new ShapeMismatchError(`objective must be "magnitude" or "waveform", received ${JSON.stringify(loss.objective)}`);
    this.net = net;
    this.loss = loss;
    this.resolutions = loss.stftSizes.map((n) => (n === MEL_CONFIG.nFft ? this.synthesis : new DftStft(n)));
    const fb = melFilterbank(MEL_CONFIG); // [mels × bins]
    const mels = MEL_CONFIG.melBins;
    const fbT = new Float32Array(VOCODER_BINS * mels); // [bins × mels]
    for (let m = 0; m < mels; m++) for (let k = 0; k < VOCODER_BINS; k++) fbT[k * mels + m] = fb[m * VOCODER_BINS + k]!;
    this.melBasis = fixedMatrix(fbT, VOCODER_BINS, mels);
  }

  /** Loss of one batch: `total` and its named parts (magnitude: mel, stft, amp; waveform: also ip, gd, iaf, cons). */
  lossOf(batch: VocoderBatch): LossResult {
    return this.loss.objective === 'magnitude' ? this.magnitudeLossOf(batch) : this.waveformLossOf(batch);
  }

  /** The predicted |S| against the recording's at the model's own frames: no waveform, no phase. */
  private magnitudeLossOf(batch: VocoderBatch): LossResult {
    return tf.tidy(() => {
      const w = this.loss;
      const logMagnitude = this.net.forwardLogMagnitude(batch.mel);
      const [b, frames, bins] = logMagnitude.shape;
      if (batch.logMagnitude.shape[1] !== frames || batch.targetMel.shape[1] !== frames) {
        throw new ShapeMismatchError(`VocoderObjective: the targets have ${batch.logMagnitude.shape[1]} frames, the input ${frames}`);
      }
      const magnitude = tf.exp(logMagnitude);
      const target = tf.exp(batch.logMagnitude);
      const stft = tf.div(tf.sqrt(tf.sum(tf.square(tf.sub(target, magnitude)))), tf.add(tf.sqrt(tf.sum(tf.square(target))), 1e-7)) as tf.Scalar;
      const amp = tf.mean(tf.abs(tf.sub(logMagnitude, batch.logMagnitude))) as tf.Scalar;
      const mels = MEL_CONFIG.melBins;
      const melLinear = fixedMatMul(magnitude.reshape([b * frames, bins]) as tf.Tensor2D, this.melBasis.w, this.melBasis.wT);
      const melPredicted = tf.log(tf.maximum(melLinear, MEL_CONFIG.logFloor)).reshape([b, frames, mels]);
      const mel = tf.mean(tf.abs(tf.sub(melPredicted, batch.targetMel))) as tf.Scalar;
      const total = tf.addN([tf.mul(mel, w.melWeight), tf.mul(stft, w.stftWeight), tf.mul(amp, w.amplitudeWeight)]) as tf.Scalar;
      return { total, parts: { mel, stft, amp } };
    });
  }

  private waveformLossOf(batch: VocoderBatch): LossResult {
    return tf.tidy(() => {
      const w = this.loss;
      const out = this.net.forward(batch.mel);
      const [b, frames, bins] = out.re.shape;
      if (batch.stftMagnitudes.length !== this.resolutions.length) throw new ShapeMismatchError(`VocoderObjective: ${batch.stftMagnitudes.length} STFT targets for ${this.resolutions.length} sizes`);
      if (frames < minimumCropFrames(w)) throw new ShapeMismatchError(`VocoderObjective: crops need ≥ ${minimumCropFrames(w)} frames, received ${frames}`);
      const wave = this.synthesis.istft(out.re, out.im); // [B, T·hop]
      // Re-analysis at the model's framing (frames ALIGNED_FIRST_FRAME …), shared by mel, consistency and its STFT term.
      const aligned = this.synthesis.stft(wave, lossOffset(MEL_CONFIG.nFft));
      const alignedFrames = aligned.re.shape[1];
      const alignedMagnitude = stftMagnitude(aligned.re, aligned.im);
      const stftTerms = this.resolutions.map((ops, r) => {
        const target = batch.stftMagnitudes[r]!;
        const analysed = ops === this.synthesis ? aligned : ops.stft(wave, lossOffset(ops.nFft));
        const predicted = ops === this.synthesis ? alignedMagnitude : stftMagnitude(analysed.re, analysed.im);
        if (predicted.shape.some((d, i) => d !== target.shape[i])) {
          throw new ShapeMismatchError(`VocoderObjective: STFT target ${ops.nFft} is [${target.shape.join(', ')}], the prediction [${predicted.shape.join(', ')}]`);
        }
        const d = stftDistance(predicted, target);
        return tf.add(d.convergence, d.logMagnitude);
      });
      const stft = tf.div(tf.addN(stftTerms), stftTerms.length) as tf.Scalar;
      const mels = MEL_CONFIG.melBins;
      const melLinear = fixedMatMul(alignedMagnitude.reshape([b * alignedFrames, bins]) as tf.Tensor2D, this.melBasis.w, this.melBasis.wT);
      const melPredicted = tf.log(tf.maximum(melLinear, MEL_CONFIG.logFloor)).reshape([b, alignedFrames, mels]);
      const mel = tf.mean(tf.abs(tf.sub(melPredicted, framesSlice(batch.targetMel, ALIGNED_FIRST_FRAME, alignedFrames)))) as tf.Scalar;
      const headRe = framesSlice(out.re, ALIGNED_FIRST_FRAME, alignedFrames);
      const headIm = framesSlice(out.im, ALIGNED_FIRST_FRAME, alignedFrames);
      const mismatch = tf.add(tf.sum(tf.square(tf.sub(headRe, aligned.re))), tf.sum(tf.square(tf.sub(headIm, aligned.im))));
      const targetEnergy = tf.sum(tf.exp(tf.mul(framesSlice(batch.logMagnitude, ALIGNED_FIRST_FRAME, alignedFrames), 2)));
      const cons = tf.div(mismatch, tf.add(targetEnergy, 1e-6)) as tf.Scalar;
      const amp = tf.mean(tf.abs(tf.sub(out.logMagnitude, batch.logMagnitude))) as tf.Scalar;
      const predicted: Complex = [out.phaseRe, out.phaseIm];
      const target: Complex = [batch.phaseRe, batch.phaseIm];
      const mask = batch.phaseMask;
      const ip = weightedMean(wrappedDistance(predicted, target), mask);
      // Group delay: phase differences between neighbouring bins; instantaneous frequency: between neighbouring frames.
      const along = (slice: (x: tf.Tensor3D, s: number, n: number) => tf.Tensor3D, size: number): tf.Scalar => {
        const step = (c: Complex): Complex => timesConj([slice(c[0] as tf.Tensor3D, 1, size - 1), slice(c[1] as tf.Tensor3D, 1, size - 1)], [slice(c[0] as tf.Tensor3D, 0, size - 1), slice(c[1] as tf.Tensor3D, 0, size - 1)]);
        return weightedMean(wrappedDistance(step(predicted), step(target)), tf.mul(slice(mask, 1, size - 1), slice(mask, 0, size - 1)));
      };
      const gd = along(binsSlice, bins);
      const iaf = along(framesSlice, frames);
      const total = tf.addN([
        tf.mul(mel, w.melWeight),
        tf.mul(stft, w.stftWeight),
        tf.mul(amp, w.amplitudeWeight),
        tf.mul(tf.add(tf.add(ip, gd), iaf), w.phaseWeight),
        tf.mul(cons, w.consistencyWeight),
      ]) as tf.Scalar;
      return { total, parts: { mel, stft, amp, ip, gd, iaf, cons } };
    });
  }

  /** Frees the transforms' constants (not the network). */
  dispose(): void {
    for (const r of new Set([this.synthesis, ...this.resolutions])) r.dispose();
    tf.dispose([this.melBasis.w, this.melBasis.wT]);
  }
}
