// Shared test helpers for the model layer: seeded random arrays and cross-backend gradient comparison.
// Ours runs on wasm, the reference on the pure-JS cpu backend; both see the same inputs and cotangent.

import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { Rng } from '../../src/nn/module.js';

export interface ArraySpec {
  data: Float32Array;
  shape: number[];
}

/** Loads wasm (the backend ours runs on); the cpu backend is always registered alongside. */
export async function useWasm(): Promise<void> {
  await initBackend({ force: 'wasm' });
  await tf.setBackend('wasm');
}

/** Normal random array of `shape` from a seeded Rng. */
export function randomArray(rng: Rng, shape: number[], scale = 1): ArraySpec {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
  return { data, shape };
}

/** Runs `fn` on `backend` and returns its output and the gradients of sum(output · cotangent) w.r.t. every input. */
export async function valueAndGrads(
  backend: 'cpu' | 'wasm',
  fn: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: ArraySpec[],
  seed = 99,
): Promise<{ value: Float32Array; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  const xs = inputs.map((a) => tf.tensor(a.data, a.shape));
  const y = fn(...xs);
  const dy = tf.tensor(randomArray(new Rng(seed), [...y.shape]).data, y.shape);
  const grads = tf.grads((...args: tf.Tensor[]) => fn(...args))(xs, dy);
  const out = { value: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  tf.dispose([...xs, y, dy, ...grads]);
  await tf.setBackend('wasm');
  return out;
}

/** max |a - b| / max |b| (relative to the reference's scale). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Asserts ours (wasm) equals the reference (cpu) in value and every gradient to `tol` relative error. */
export async function expectSameAsReference(
  ours: (...xs: tf.Tensor[]) => tf.Tensor,
  reference: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: ArraySpec[],
  tol = 1e-4,
): Promise<void> {
  const a = await valueAndGrads('wasm', ours, inputs);
  const b = await valueAndGrads('cpu', reference, inputs);
  expect(relativeError(a.value, b.value)).toBeLessThan(tol);
  expect(a.grads.length).toBe(b.grads.length);
  a.grads.forEach((g, i) => expect(relativeError(g, b.grads[i]!), `gradient of input ${i}`).toBeLessThan(tol));
}
