// A tiny functional module system (nanoGPT-like, no tf.layers): modules own named tf.Variables and children.
// Every Timbre model (VAE, CycleGAN-VC, DiffVC, speaker encoder, vocoder) builds on `Module` and `Rng`.

import * as tf from '@tensorflow/tfjs';
import { ShapeMismatchError } from './errors.js';

/** One tensor's values and shape, detached from any backend (what files and workers carry). */
export interface WeightArray {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Named weights, dotted names as in `namedParameters()`. */
export type WeightMap = Map<string, WeightArray>;

/** Seeded PRNG (sfc32) with a serialisable state, so initialisation and data order are reproducible. */
export class Rng {
  private s: Uint32Array;
  private spare: number | undefined;

  constructor(seed = 0) {
    this.s = new Uint32Array([0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0]);
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const t = (((s[0]! + s[1]!) >>> 0) + s[3]!) >>> 0;
    s[3] = (s[3]! + 1) >>> 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) >>> 0;
    s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) >>> 0;
    s[2] = (s[2]! + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A new generator seeded from this one (so sub-streams do not shift each other). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffleInPlace<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** Serialisable state (five numbers; the last encodes the cached normal). */
  getState(): number[] {
    return [...this.s, this.spare ?? Number.NaN];
  }

  /** Restores a state from `getState()`. */
  setState(state: readonly number[]): void {
    if (state.length !== 5) throw new ShapeMismatchError(`Rng state must have 5 numbers, received ${state.length}`);
    this.s = new Uint32Array(state.slice(0, 4));
    const spare = state[4]!;
    this.spare = Number.isNaN(spare) ? undefined : spare;
  }
}

/** An initialiser fills a Float32Array for a given shape from a seeded Rng. */
export type Initializer = (shape: readonly number[], rng: Rng) => Float32Array;

/** Fan-in/fan-out of a weight shape: the last axis is outputs, the one before inputs, the rest receptive field. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Initialisers: Glorot (Xavier) uniform, He normal, zeros, ones, constant, normal(std). */
export const init = {
  /** Glorot uniform: U(±sqrt(6 / (fanIn + fanOut))) times `gain`. */
  glorotUniform:
    (gain = 1): Initializer =>
    (shape, rng) => {
      const { fanIn, fanOut } = fans(shape);
      const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
      const out = new Float32Array(size(shape));
      for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * limit;
      return out;
    },
  /** He (Kaiming) normal: N(0, gain² / fanIn), default gain sqrt(2) for ReLU-like activations. */
  heNormal:
    (gain = Math.SQRT2): Initializer =>
    (shape, rng) => {
      const std = gain / Math.sqrt(fans(shape).fanIn);
      const out = new Float32Array(size(shape));
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
      return out;
    },
  /** Normal N(0, std²). */
  normal:
    (std: number): Initializer =>
    (shape, rng) => {
      const out = new Float32Array(size(shape));
      for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
      return out;
    },
  /** All zeros. */
  zeros: (): Initializer => (shape) => new Float32Array(size(shape)),
  /** All ones. */
  ones: (): Initializer => (shape) => new Float32Array(size(shape)).fill(1),
  /** Every value `value`. */
  constant:
    (value: number): Initializer =>
    (shape) =>
      new Float32Array(size(shape)).fill(value),
};

/** Base class: owns parameters (`param`) and children (`child`); names are dotted paths ("blocks.0.conv.weight"). */
export class Module {
  private readonly params = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  /** Creates a trainable float32 variable initialised from `rng`. */
  protected param(name: string, shape: readonly number[], initializer: Initializer, rng: Rng): tf.Variable {
    if (this.params.has(name) || this.children.has(name)) throw new ShapeMismatchError(`duplicate parameter name "${name}"`);
    const values = initializer(shape, rng);
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true));
    this.params.set(name, variable);
    return variable;
  }

  /** Registers a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new ShapeMismatchError(`duplicate child name "${name}"`);
    this.children.set(name, module);
    return module;
  }

  /** All parameters of this module and its children, by dotted name, in creation order. */
  namedParameters(prefix = ''): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, v] of this.params) out.set(prefix + name, v);
    for (const [name, m] of this.children) for (const [n, v] of m.namedParameters(`${prefix}${name}.`)) out.set(n, v);
    return out;
  }

  /** Parameters as a list in `namedParameters()` order. */
  parameters(): tf.Variable[] {
    return [...this.namedParameters().values()];
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.namedParameters().values()) n += v.size;
    return n;
  }

  /** Copies every parameter's values out of the backend. */
  getWeights(): WeightMap {
    const out: WeightMap = new Map();
    for (const [name, v] of this.namedParameters()) out.set(name, { data: v.dataSync() as Float32Array, shape: [...v.shape] });
    return out;
  }

  /** Sets parameters from `weights`; every name must be present with the same shape (no extras). */
  setWeights(weights: ReadonlyMap<string, WeightArray>, source = 'weights'): void {
    const params = this.namedParameters();
    const missing = [...params.keys()].filter((n) => !weights.has(n));
    const extra = [...weights.keys()].filter((n) => !params.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new ShapeMismatchError(
        `${source} do not match the model: missing [${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}], unexpected [${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}]`,
      );
    }
    for (const [name, v] of params) {
      const w = weights.get(name)!;
      const expected = size(v.shape);
      if (w.shape.length !== v.shape.length || w.shape.some((d, i) => d !== v.shape[i]) || w.data.length !== expected) {
        throw new ShapeMismatchError(`${source}: "${name}" expected shape [${v.shape.join(', ')}], received [${w.shape.join(', ')}] (${w.data.length} values)`);
      }
    }
    for (const [name, v] of params) {
      const w = weights.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(w.data, v.shape, 'float32')));
    }
  }

  /** Frees every variable of this module and its children. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const m of this.children.values()) m.dispose();
    this.params.clear();
    this.children.clear();
  }
}
