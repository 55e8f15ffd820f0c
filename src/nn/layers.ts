// Layers whose forward and backward passes are large plain matMuls, so they train fast on the wasm backend.
// Convolutions are im2col (shifted slices + concat) × weights; gradients transpose explicitly, never via transposed matMul.

import * as tf from '@tensorflow/tfjs';
import { init, Module, Rng } from './module.js';
import { ShapeMismatchError } from './errors.js';

/** Padding of a convolution: 'same' keeps ceil(in/stride) outputs, 'valid' none, 'causal' all on the left (1-D only). */
export type ConvPadding = 'same' | 'valid' | 'causal';

/** Options of the functional convolutions. */
export interface ConvOptions {
  readonly stride?: number;
  readonly dilation?: number;
  readonly padding?: ConvPadding;
}

interface AxisGeometry {
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly before: number;
  readonly after: number;
  readonly out: number;
}

function axisGeometry(size: number, kernel: number, stride: number, dilation: number, padding: ConvPadding, what: string): AxisGeometry {
  if (!(Number.isInteger(kernel) && kernel >= 1 && Number.isInteger(stride) && stride >= 1 && Number.isInteger(dilation) && dilation >= 1)) {
    throw new ShapeMismatchError(`${what}: kernel, stride and dilation must be positive integers, received ${kernel}, ${stride}, ${dilation}`);
  }
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'valid') {
    if (size < span) throw new ShapeMismatchError(`${what}: 'valid' convolution needs at least ${span} positions, received ${size}`);
    return { kernel, stride, dilation, before: 0, after: 0, out: Math.floor((size - span) / stride) + 1 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  const before = padding === 'causal' ? total : Math.floor(total / 2);
  return { kernel, stride, dilation, before, after: total - before, out };
}

/**
 * im2col: [B, Hp, Wp, C] (already padded) → [B, Ho, Wo, kh·kw·C], tap-major to match filter [kh, kw, C, Cout];
 * `reversed` lists the taps last to first (the input gradient's rotated filter then needs no reordering).
 */
function im2col(xp: tf.Tensor4D, gh: AxisGeometry, gw: AxisGeometry, reversed = false): tf.Tensor4D {
  const [batch, , , channels] = xp.shape;
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < gh.kernel; i++) {
    for (let j = 0; j < gw.kernel; j++) {
      const top = i * gh.dilation;
      const left = j * gw.dilation;
      if (gh.stride === 1 && gw.stride === 1) {
        taps.push(top === 0 && left === 0 && xp.shape[1] === gh.out && xp.shape[2] === gw.out ? xp : tf.slice(xp, [0, top, left, 0], [batch, gh.out, gw.out, channels]));
      } else {
        const end = [batch, top + (gh.out - 1) * gh.stride + 1, left + (gw.out - 1) * gw.stride + 1, channels];
        taps.push(tf.stridedSlice(xp, [0, top, left, 0], end, [1, gh.stride, gw.stride, 1]) as tf.Tensor4D);
      }
    }
  }
  if (reversed) taps.reverse();
  return taps.length === 1 ? taps[0]! : tf.concat(taps, 3);
}

function padSpatial(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  return top === 0 && bottom === 0 && left === 0 && right === 0 ? x : tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}

/** Inserts stride-1 zeros between positions along H and W: [B, H, W, C] → [B, (H-1)·sh+1, (W-1)·sw+1, C]. */
function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  let [b, h, w, c] = x.shape;
  let y = x;
  if (sh > 1) {
    y = tf.pad(y.reshape([b, h, 1, w * c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0]]).reshape([b, h * sh, w, c]);
    y = tf.slice(y, [0, 0, 0, 0], [b, (h - 1) * sh + 1, w, c]);
    h = (h - 1) * sh + 1;
  }
  if (sw > 1) {
    y = tf.pad(y.reshape([b * h, w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]).reshape([b, h, w * sw, c]);
    y = tf.slice(y, [0, 0, 0, 0], [b, h, (w - 1) * sw + 1, c]);
  }
  return y;
}

/** A·B where the smaller of A, B is transposed explicitly first: computes Aᵀ·B as (Bᵀ·A)ᵀ when cheaper. */
function matMulTransposeA(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  // a: [N, K], b: [N, M] → [K, M]
  const [, k] = a.shape;
  const [, m] = b.shape;
  return k <= m ? tf.matMul(tf.transpose(a), b) : (tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D);
}

/** Sum over rows of [N, C] as ones[1, N] · x: wasm reduces only the last axis, so tf.sum(x, 0) would transpose first. */
function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  return tf.matMul(tf.ones([1, x.shape[0]]), x).reshape([x.shape[1]]);
}

/**
 * Filter [kh, kw, Cin, Cout] with in/out swapped per tap → [kh·kw·Cout, Cin]. With the input gradient's im2col taps
 * in reverse order this is the 180°-rotated filter, so no reordering copy (wasm's Reverse is slow).
 */
function swapFilterChannels(w: tf.Tensor4D): tf.Tensor2D {
  const [kh, kw, cin, cout] = w.shape;
  return tf.transpose(w.reshape([kh * kw, cin, cout]), [0, 2, 1]).reshape([kh * kw * cout, cin]) as tf.Tensor2D;
}

/** The shared conv core on [B, H, W, C] activations with filter [kh, kw, Cin, Cout] and optional bias [Cout]. */
function convCore(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, gh: AxisGeometry, gw: AxisGeometry): tf.Tensor4D {
  const [batch, height, width, cin] = x.shape;
  const [kh, kw, , cout] = w.shape;
  const k = kh * kw * cin;
  const rows = batch * gh.out * gw.out;
  const forward = (xIn: tf.Tensor4D, wIn: tf.Tensor4D, bIn: tf.Tensor1D | null, save: tf.GradSaveFunc) => {
    const cols = im2col(padSpatial(xIn, gh.before, gh.after, gw.before, gw.after), gh, gw).reshape([rows, k]) as tf.Tensor2D; // [B·Ho·Wo, kh·kw·Cin]
    const w2 = wIn.reshape([k, cout]) as tf.Tensor2D; // [kh·kw·Cin, Cout]
    const y = bIn ? tf.fused.matMul({ a: cols, b: w2, bias: bIn }) : tf.matMul(cols, w2); // [B·Ho·Wo, Cout]
    save([cols, wIn]);
    const value = y.reshape([batch, gh.out, gw.out, cout]) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] => {
      const [colsS, wS] = saved as [tf.Tensor2D, tf.Tensor4D];
      const dy2 = dy.reshape([rows, cout]) as tf.Tensor2D;
      const dw = matMulTransposeA(colsS, dy2).reshape(wS.shape) as tf.Tensor4D; // [kh, kw, Cin, Cout]
      const dx = inputGradient(dy, dy2, wS);
      return bIn ? [dx, dw, columnSums(dy2)] : [dx, dw];
    };
    return { value, gradFunc };
  };
  const inputGradient = (dy: tf.Tensor4D, dy2: tf.Tensor2D, wS: tf.Tensor4D): tf.Tensor4D => {
    const topG = (kh - 1) * gh.dilation - gh.before;
    const leftG = (kw - 1) * gw.dilation - gw.before;
    const bottomG = height + gh.before - gh.out;
    const rightG = width + gw.before - gw.out;
    if (gh.stride === 1 && gw.stride === 1 && topG >= 0 && leftG >= 0 && bottomG >= 0 && rightG >= 0) {
      // Stride 1: dx is a convolution of dy with the flipped, in/out-swapped filter: again im2col + one plain matMul.
      const wf = swapFilterChannels(wS); // [kh·kw·Cout, Cin], taps in filter order
      const gH = { ...gh, stride: 1, out: height };
      const gW = { ...gw, stride: 1, out: width };
      const dcols = im2col(padSpatial(dy, topG, bottomG, leftG, rightG), gH, gW, true).reshape([batch * height * width, kh * kw * cout]) as tf.Tensor2D;
      return tf.matMul(dcols, wf).reshape([batch, height, width, cin]) as tf.Tensor4D;
    }
    // Strided: col2im. dcols = dy · Wᵀ, spread back with zeros between outputs, each tap added at its offset.
    const wt = tf.transpose(wS.reshape([k, cout])) as tf.Tensor2D; // [Cout, kh·kw·Cin]
    const dcols = dilateSpatial(tf.matMul(dy2, wt).reshape([batch, gh.out, gw.out, k]) as tf.Tensor4D, gh.stride, gw.stride);
    const hp = height + gh.before + gh.after;
    const wp = width + gw.before + gw.after;
    const [, lh, lw] = dcols.shape;
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = tf.slice(dcols, [0, 0, 0, (i * kw + j) * cin], [batch, lh, lw, cin]);
        const top = i * gh.dilation;
        const left = j * gw.dilation;
        parts.push(padSpatial(tap, top, hp - top - lh, left, wp - left - lw));
      }
    }
    const sum = parts.length === 1 ? parts[0]! : (tf.addN(parts) as tf.Tensor4D);
    return tf.slice(sum, [0, gh.before, gw.before, 0], [batch, height, width, cin]);
  };
  if (b) {
    const f = tf.customGrad((xIn, wIn, bIn, save) => forward(xIn as tf.Tensor4D, wIn as tf.Tensor4D, bIn as tf.Tensor1D, save as tf.GradSaveFunc) as { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] });
    return f(x, w, b) as tf.Tensor4D;
  }
  const f = tf.customGrad((xIn, wIn, save) => forward(xIn as tf.Tensor4D, wIn as tf.Tensor4D, null, save as tf.GradSaveFunc) as { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] });
  return f(x, w) as tf.Tensor4D;
}

function checkRank(x: tf.Tensor, rank: number, what: string, layout: string): void {
  if (x.rank !== rank) throw new ShapeMismatchError(`${what}: expected a rank-${rank} tensor ${layout}, received shape [${x.shape.join(', ')}]`);
}

/** 1-D convolution. x: [batch, frames, Cin]; w: [kernel, Cin, Cout]; b: [Cout] → [batch, framesOut, Cout]. */
export function conv1d(x: tf.Tensor3D, w: tf.Tensor3D, b: tf.Tensor1D | null, options: ConvOptions = {}): tf.Tensor3D {
  checkRank(x, 3, 'conv1d input', '[batch, frames, channels]');
  checkRank(w, 3, 'conv1d filter', '[kernel, Cin, Cout]');
  const [batch, frames, cin] = x.shape;
  if (w.shape[1] !== cin) throw new ShapeMismatchError(`conv1d: input has ${cin} channels but the filter expects ${w.shape[1]}`);
  const gt = axisGeometry(frames, w.shape[0], options.stride ?? 1, options.dilation ?? 1, options.padding ?? 'same', 'conv1d');
  const one = axisGeometry(1, 1, 1, 1, 'valid', 'conv1d');
  const y = convCore(x.reshape([batch, 1, frames, cin]), w.reshape([1, ...w.shape]), b, one, gt);
  return y.reshape([batch, gt.out, w.shape[2]]);
}

/** 2-D convolution. x: [batch, height, width, Cin]; w: [kh, kw, Cin, Cout]; b: [Cout] → [batch, Ho, Wo, Cout]. */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  options: { stride?: number | readonly [number, number]; dilation?: number | readonly [number, number]; padding?: 'same' | 'valid' } = {},
): tf.Tensor4D {
  checkRank(x, 4, 'conv2d input', '[batch, height, width, channels]');
  checkRank(w, 4, 'conv2d filter', '[kh, kw, Cin, Cout]');
  if (w.shape[2] !== x.shape[3]) throw new ShapeMismatchError(`conv2d: input has ${x.shape[3]} channels but the filter expects ${w.shape[2]}`);
  const pair = (v: number | readonly [number, number] | undefined): readonly [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
  const [sh, sw] = pair(options.stride);
  const [dh, dw] = pair(options.dilation);
  const padding = options.padding ?? 'same';
  const gh = axisGeometry(x.shape[1], w.shape[0], sh, dh, padding, 'conv2d (height)');
  const gw = axisGeometry(x.shape[2], w.shape[1], sw, dw, padding, 'conv2d (width)');
  return convCore(x, w, b, gh, gw);
}

/** Fully connected over the last axis. x: [..., in]; w: [in, out]; b: [out] → [..., out]. */
export function dense(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor {
  const [inputs, outputs] = w.shape;
  if (x.shape[x.rank - 1] !== inputs) throw new ShapeMismatchError(`dense: input's last axis is ${x.shape[x.rank - 1]} but the weight expects ${inputs}`);
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, v) => a * v, 1);
  const forward = (xIn: tf.Tensor, wIn: tf.Tensor2D, bIn: tf.Tensor1D | null, save: tf.GradSaveFunc) => {
    const x2 = xIn.reshape([rows, inputs]) as tf.Tensor2D; // [N, in]
    const y = bIn ? tf.fused.matMul({ a: x2, b: wIn, bias: bIn }) : tf.matMul(x2, wIn); // [N, out]
    save([x2, wIn]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xS, wS] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy.reshape([rows, outputs]) as tf.Tensor2D;
      const dx = tf.matMul(dy2, tf.transpose(wS)).reshape(xIn.shape);
      const dw = matMulTransposeA(xS, dy2);
      return bIn ? [dx, dw, columnSums(dy2)] : [dx, dw];
    };
    return { value: y.reshape([...lead, outputs]), gradFunc };
  };
  type Fwd = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };
  if (b) return tf.customGrad((xi, wi, bi, save) => forward(xi as tf.Tensor, wi as tf.Tensor2D, bi as tf.Tensor1D, save as tf.GradSaveFunc) as Fwd)(x, w, b);
  return tf.customGrad((xi, wi, save) => forward(xi as tf.Tensor, wi as tf.Tensor2D, null, save as tf.GradSaveFunc) as Fwd)(x, w);
}

/** Weight initialisation scheme of a layer: Glorot uniform (linear/GLU/tanh) or He normal (ReLU family). */
export type WeightInit = 'glorot' | 'he';

const weightInit = (kind: WeightInit | undefined) => (kind === 'he' ? init.heNormal() : init.glorotUniform());

/** Options of `Conv1d`. */
export interface Conv1dOptions extends ConvOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly bias?: boolean;
  readonly init?: WeightInit;
}

/** 1-D convolution layer on [batch, frames, channels]; weight [kernel, Cin, Cout], bias [Cout]. */
export class Conv1d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly options: Conv1dOptions;

  constructor(rng: Rng, options: Conv1dOptions) {
    super();
    this.options = options;
    this.weight = this.param('weight', [options.kernelSize, options.inChannels, options.outChannels], weightInit(options.init), rng);
    this.bias = options.bias === false ? null : this.param('bias', [options.outChannels], init.zeros(), rng);
  }

  /** x: [batch, frames, Cin] → [batch, framesOut, Cout]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return conv1d(x, this.weight as tf.Tensor3D, this.bias as tf.Tensor1D | null, this.options);
  }
}

/** Options of `Conv2d`. */
export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number | readonly [number, number];
  readonly stride?: number | readonly [number, number];
  readonly dilation?: number | readonly [number, number];
  readonly padding?: 'same' | 'valid';
  readonly bias?: boolean;
  readonly init?: WeightInit;
}

/** 2-D convolution layer on [batch, height, width, channels]; weight [kh, kw, Cin, Cout], bias [Cout]. */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly options: Conv2dOptions;

  constructor(rng: Rng, options: Conv2dOptions) {
    super();
    this.options = options;
    const [kh, kw] = typeof options.kernelSize === 'number' ? [options.kernelSize, options.kernelSize] : options.kernelSize;
    this.weight = this.param('weight', [kh, kw, options.inChannels, options.outChannels], weightInit(options.init), rng);
    this.bias = options.bias === false ? null : this.param('bias', [options.outChannels], init.zeros(), rng);
  }

  /** x: [batch, height, width, Cin] → [batch, Ho, Wo, Cout]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return conv2d(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D | null, this.options);
  }
}

/** Options of `Dense`. */
export interface DenseOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias?: boolean;
  readonly init?: WeightInit;
}

/** Fully connected layer over the last axis of [..., in]; weight [in, out], bias [out]. */
export class Dense extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(rng: Rng, options: DenseOptions) {
    super();
    this.weight = this.param('weight', [options.inFeatures, options.outFeatures], weightInit(options.init), rng);
    this.bias = options.bias === false ? null : this.param('bias', [options.outFeatures], init.zeros(), rng);
  }

  /** x: [..., in] → [..., out]. */
  forward<T extends tf.Tensor>(x: T): T {
    return dense(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | null) as T;
  }
}

/** Lookup table as one-hot × table (tf.gather's gradient needs UnsortedSegmentSum, which wasm lacks); table [count, dims]. */
export class Embedding extends Module {
  readonly table: tf.Variable;
  readonly count: number;

  constructor(rng: Rng, options: { count: number; dims: number; std?: number }) {
    super();
    this.count = options.count;
    this.table = this.param('table', [options.count, options.dims], init.normal(options.std ?? 1), rng);
  }

  /** ids: [batch] int32 → [batch, dims]. */
  forward(ids: tf.Tensor1D): tf.Tensor2D {
    return dense(tf.oneHot(ids, this.count).toFloat(), this.table as tf.Tensor2D, null) as tf.Tensor2D;
  }
}

/** Options of `GroupNorm`: `groups` = channels is instance norm, 1 is layer norm over (positions, channels). */
export interface GroupNormOptions {
  readonly channels: number;
  readonly groups: number;
  readonly eps?: number;
  readonly affine?: boolean;
}

/** Group normalisation over channels-last activations [batch, ..., channels]; gamma/beta [channels]. */
export class GroupNorm extends Module {
  readonly gamma: tf.Variable | null;
  readonly beta: tf.Variable | null;
  readonly options: GroupNormOptions;

  constructor(rng: Rng, options: GroupNormOptions) {
    super();
    if (options.channels % options.groups !== 0) throw new ShapeMismatchError(`GroupNorm: channels (${options.channels}) must be divisible by groups (${options.groups})`);
    this.options = options;
    const affine = options.affine !== false;
    this.gamma = affine ? this.param('gamma', [options.channels], init.ones(), rng) : null;
    this.beta = affine ? this.param('beta', [options.channels], init.zeros(), rng) : null;
  }

  /** x: [batch, ..., channels] → same shape, normalised per (sample, group). */
  forward<T extends tf.Tensor>(x: T): T {
    const { channels, groups } = this.options;
    if (x.shape[x.rank - 1] !== channels) throw new ShapeMismatchError(`GroupNorm: expected ${channels} channels, received shape [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const batch = x.shape[0];
      const positions = x.size / (batch * channels);
      const xr = x.reshape([batch, positions, groups, channels / groups]); // [B, S, G, C/G]
      const mean = tf.mean(xr, [1, 3], true);
      const centered = tf.sub(xr, mean);
      const variance = tf.mean(tf.square(centered), [1, 3], true);
      let y: tf.Tensor = tf.mul(centered, tf.rsqrt(tf.add(variance, this.options.eps ?? 1e-5))).reshape(x.shape);
      if (this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma), this.beta);
      return y as T;
    });
  }
}

/** Identity forward, zero backward: uses a net's weights (or a tensor) inside a loss without training them there. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: tf.clone(xi as tf.Tensor), gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)] };
  });
  return f(x) as T;
}

/** Leaky ReLU, slope `alpha` (default 0.2) for negative inputs. */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha = 0.2): T {
  return tf.leakyRelu(x, alpha);
}

/** SiLU / swish: x·sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** Mish: x·tanh(softplus(x)) (DiffVC's activation). */
export function mish<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.tanh(tf.softplus(x)));
}

/** Gated linear unit along `axis` (default last): first half × sigmoid(second half); halves the axis. */
export function glu<T extends tf.Tensor>(x: T, axis = -1): T {
  const ax = axis < 0 ? x.rank + axis : axis;
  if (x.shape[ax]! % 2 !== 0) throw new ShapeMismatchError(`glu: axis ${ax} must have an even size, received shape [${x.shape.join(', ')}]`);
  const [a, b] = tf.split(x, 2, ax);
  return tf.mul(a!, tf.sigmoid(b!)) as T;
}

/** Nearest-neighbour upsampling along frames: [batch, frames, C] → [batch, frames·factor, C]. */
export function upsampleNearest1d(x: tf.Tensor3D, factor: number): tf.Tensor3D {
  if (factor === 1) return x;
  const [b, t, c] = x.shape;
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    const value = tf.tile((xi as tf.Tensor).reshape([b, t, 1, c]), [1, 1, factor, 1]).reshape([b, t * factor, c]); // [B, T·f, C]
    return { value, gradFunc: (dy: tf.Tensor) => [tf.sum(dy.reshape([b, t, factor, c]), 2)] };
  });
  return f(x) as tf.Tensor3D;
}

/** Nearest-neighbour upsampling: [batch, H, W, C] → [batch, H·fh, W·fw, C] (two 1-D passes, rank ≤ 4). */
export function upsampleNearest2d(x: tf.Tensor4D, fh: number, fw: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const alongW = upsampleNearest1d(x.reshape([b * h, w, c]), fw); // [B·H, W·fw, C]
  const alongH = upsampleNearest1d(alongW.reshape([b, h, w * fw * c]), fh); // [B, H·fh, W·fw·C]
  return alongH.reshape([b, h * fh, w * fw, c]);
}

/** Sub-pixel shuffle along frames (a stride-r transposed conv is conv → this): [B, T, r·C] → [B, T·r, C]. */
export function pixelShuffle1d(x: tf.Tensor3D, factor: number): tf.Tensor3D {
  const [b, t, rc] = x.shape;
  if (rc % factor !== 0) throw new ShapeMismatchError(`pixelShuffle1d: channels (${rc}) must be divisible by the factor (${factor})`);
  return x.reshape([b, t * factor, rc / factor]);
}

/** 2-D sub-pixel shuffle: [B, H, W, rh·rw·C] → [B, H·rh, W·rw, C]; channel index is (ih·rw + iw)·C + c. */
export function pixelShuffle2d(x: tf.Tensor4D, rh: number, rw: number): tf.Tensor4D {
  const [b, h, w, ch] = x.shape;
  if (ch % (rh * rw) !== 0) throw new ShapeMismatchError(`pixelShuffle2d: channels (${ch}) must be divisible by ${rh}·${rw}`);
  const c = ch / (rh * rw);
  const y = tf.transpose(x.reshape([b, h, w, rh, rw * c]), [0, 1, 3, 2, 4]); // [B, H, rh, W, rw·C]
  return y.reshape([b, h * rh, w * rw, c]);
}

/** Nearest upsampling then a 'same' Conv1d: a checkerboard-free stand-in for ConvTranspose1d. [B, T, Cin] → [B, T·factor, Cout]. */
export class UpsampleConv1d extends Module {
  readonly conv: Conv1d;
  readonly factor: number;

  constructor(rng: Rng, options: Omit<Conv1dOptions, 'stride' | 'padding'> & { factor: number }) {
    super();
    this.factor = options.factor;
    this.conv = this.child('conv', new Conv1d(rng, { ...options, padding: 'same' }));
  }

  /** x: [batch, frames, Cin] → [batch, frames·factor, Cout]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return this.conv.forward(upsampleNearest1d(x, this.factor));
  }
}

/** Nearest upsampling then a 'same' Conv2d (UNet decoder / 2-1-2D generator upsampler). [B, H, W, Cin] → [B, H·fh, W·fw, Cout]. */
export class UpsampleConv2d extends Module {
  readonly conv: Conv2d;
  readonly factor: readonly [number, number];

  constructor(rng: Rng, options: Omit<Conv2dOptions, 'stride' | 'padding'> & { factor: number | readonly [number, number] }) {
    super();
    this.factor = typeof options.factor === 'number' ? [options.factor, options.factor] : options.factor;
    this.conv = this.child('conv', new Conv2d(rng, { ...options, padding: 'same' }));
  }

  /** x: [batch, H, W, Cin] → [batch, H·fh, W·fw, Cout]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.forward(upsampleNearest2d(x, this.factor[0], this.factor[1]));
  }
}

/** Sinusoidal embedding of diffusion time t ∈ [0, 1] (scaled by `scale`, default 1000 as in DiffVC): [batch] → [batch, dims]. */
export function sinusoidalTimeEmbedding(t: tf.Tensor1D, dims: number, scale = 1000): tf.Tensor2D {
  if (dims % 2 !== 0 || dims < 4) throw new ShapeMismatchError(`sinusoidalTimeEmbedding: dims must be even and ≥ 4, received ${dims}`);
  return tf.tidy(() => {
    const half = dims / 2;
    const freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / (half - 1));
    const args = tf.mul(tf.mul(t, scale).reshape([-1, 1]), tf.tensor2d(freqs, [1, half])); // [B, half]
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D; // [B, dims]
  });
}

/** Diffusion-time MLP: sinusoidal(dims) → Dense(hidden) → mish → Dense(out). [batch] → [batch, out]. */
export class TimeEmbeddingMlp extends Module {
  readonly dims: number;
  readonly fc1: Dense;
  readonly fc2: Dense;

  constructor(rng: Rng, options: { dims: number; hidden: number; out: number }) {
    super();
    this.dims = options.dims;
    this.fc1 = this.child('fc1', new Dense(rng, { inFeatures: options.dims, outFeatures: options.hidden }));
    this.fc2 = this.child('fc2', new Dense(rng, { inFeatures: options.hidden, outFeatures: options.out }));
  }

  /** t: [batch] in [0, 1] → [batch, out]. */
  forward(t: tf.Tensor1D): tf.Tensor2D {
    return this.fc2.forward(mish(this.fc1.forward(sinusoidalTimeEmbedding(t, this.dims))));
  }
}
