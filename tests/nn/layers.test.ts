// Every layer's forward and input/weight gradients on wasm equal tfjs's own ops on the cpu backend.
// Shapes are tiny so the pure-JS reference stays fast.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Conv1d,
  Dense,
  Embedding,
  GroupNorm,
  TimeEmbeddingMlp,
  conv1d,
  conv2d,
  dense,
  glu,
  mish,
  pixelShuffle1d,
  pixelShuffle2d,
  silu,
  sinusoidalTimeEmbedding,
  upsampleNearest1d,
  upsampleNearest2d,
  leakyRelu,
} from '../../src/nn/layers.js';
import { Rng } from '../../src/nn/module.js';
import { expectSameAsReference, randomArray, relativeError, useWasm, valueAndGrads } from './helpers.js';

beforeAll(useWasm);

/** [k, a, b] → [(k-1)·d+1, a, b] with d-1 zero taps between taps (differentiable on every backend). */
function dilateFilter1d(w: tf.Tensor3D, d: number): tf.Tensor3D {
  if (d === 1) return w;
  const [k, a, b] = w.shape;
  const spread = tf.pad(w.reshape([k, 1, a * b]), [[0, 0], [0, d - 1], [0, 0]]).reshape([k * d, a, b]);
  return tf.slice(spread, [0, 0, 0], [(k - 1) * d + 1, a, b]);
}

/** Nearest upsampling reference by gather along `axis` (gradient via UnsortedSegmentSum on cpu). */
function gatherRepeat(x: tf.Tensor, axis: number, factor: number): tf.Tensor {
  const n = x.shape[axis]!;
  const idx = tf.tensor1d(Array.from({ length: n * factor }, (_, i) => Math.floor(i / factor)), 'int32');
  return tf.gather(x, idx, axis);
}

describe('conv1d', () => {
  const cases: { k: number; stride: number; dilation: number; padding: 'same' | 'valid' | 'causal'; t: number }[] = [
    { k: 5, stride: 1, dilation: 1, padding: 'same', t: 11 },
    { k: 4, stride: 1, dilation: 1, padding: 'same', t: 9 },
    { k: 3, stride: 1, dilation: 2, padding: 'same', t: 10 },
    { k: 3, stride: 1, dilation: 3, padding: 'valid', t: 12 },
    { k: 3, stride: 2, dilation: 1, padding: 'same', t: 11 },
    { k: 4, stride: 2, dilation: 1, padding: 'same', t: 10 },
    { k: 5, stride: 3, dilation: 1, padding: 'valid', t: 14 },
    { k: 1, stride: 1, dilation: 1, padding: 'same', t: 6 },
    { k: 3, stride: 1, dilation: 2, padding: 'causal', t: 9 },
  ];
  for (const c of cases) {
    it(`matches tf.conv1d for k=${c.k} stride=${c.stride} dilation=${c.dilation} ${c.padding}`, async () => {
      const rng = new Rng(c.k * 100 + c.stride * 10 + c.dilation);
      const inputs = [randomArray(rng, [2, c.t, 3]), randomArray(rng, [c.k, 3, 4]), randomArray(rng, [4])];
      const opts = { stride: c.stride, dilation: c.dilation, padding: c.padding };
      await expectSameAsReference(
        (x, w, b) => conv1d(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, opts),
        (x, w, b) => {
          const xin = c.padding === 'causal' ? tf.pad(x as tf.Tensor3D, [[0, 0], [(c.k - 1) * c.dilation, 0], [0, 0]]) : (x as tf.Tensor3D);
          // tfjs has no gradient for dilated convs: dilate the filter explicitly (zeros between taps) instead.
          return tf.add(tf.conv1d(xin, dilateFilter1d(w as tf.Tensor3D, c.dilation), c.stride, c.padding === 'causal' ? 'valid' : c.padding), b!);
        },
        inputs,
      );
    });
  }

  it('works without bias', async () => {
    const rng = new Rng(3);
    await expectSameAsReference(
      (x, w) => conv1d(x as tf.Tensor3D, w as tf.Tensor3D, null),
      (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same'),
      [randomArray(rng, [1, 7, 2]), randomArray(rng, [3, 2, 5])],
    );
  });

  it('rejects a channel mismatch naming both sizes', () => {
    const layer = new Conv1d(new Rng(1), { inChannels: 4, outChannels: 2, kernelSize: 3 });
    expect(() => layer.forward(tf.zeros([1, 5, 3]) as tf.Tensor3D)).toThrow(/3 channels but the filter expects 4/);
    layer.dispose();
  });
});

describe('conv2d', () => {
  const cases: { kh: number; kw: number; sh: number; sw: number; padding: 'same' | 'valid'; h: number; w: number }[] = [
    { kh: 3, kw: 3, sh: 1, sw: 1, padding: 'same', h: 6, w: 7 },
    { kh: 5, kw: 15, sh: 1, sw: 1, padding: 'same', h: 6, w: 16 },
    { kh: 3, kw: 3, sh: 2, sw: 2, padding: 'same', h: 7, w: 8 },
    { kh: 4, kw: 4, sh: 2, sw: 2, padding: 'same', h: 8, w: 8 },
    { kh: 3, kw: 4, sh: 1, sw: 2, padding: 'same', h: 5, w: 9 },
    { kh: 3, kw: 3, sh: 2, sw: 1, padding: 'valid', h: 9, w: 6 },
  ];
  for (const c of cases) {
    it(`matches tf.conv2d for kernel ${c.kh}x${c.kw} stride ${c.sh}x${c.sw} ${c.padding}`, async () => {
      const rng = new Rng(c.kh * 1000 + c.kw * 100 + c.sh * 10 + c.sw);
      const inputs = [randomArray(rng, [2, c.h, c.w, 3]), randomArray(rng, [c.kh, c.kw, 3, 4]), randomArray(rng, [4])];
      await expectSameAsReference(
        (x, w, b) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, { stride: [c.sh, c.sw], padding: c.padding }),
        (x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [c.sh, c.sw], c.padding), b!),
        inputs,
      );
    });
  }

  it('matches tf.conv2d with dilation 2x3', async () => {
    const rng = new Rng(7);
    await expectSameAsReference(
      (a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, null, { dilation: [2, 3] }),
      (a, b) => {
        // Dilate the filter along width, then height (tfjs has no gradient for dilated conv2d).
        const w = b as tf.Tensor4D;
        const alongW = dilateFilter1d(w.reshape([3, 3, 6]).transpose([1, 0, 2]) as tf.Tensor3D, 3); // [7, 3, 6]
        const hw = alongW.transpose([1, 0, 2]) as tf.Tensor3D; // [3, 7, 6]
        const full = dilateFilter1d(hw, 2).reshape([5, 7, 2, 3]) as tf.Tensor4D;
        return tf.conv2d(a as tf.Tensor4D, full, 1, 'same');
      },
      [randomArray(rng, [1, 7, 9, 2]), randomArray(rng, [3, 3, 2, 3])],
    );
  });
});

describe('dense, embedding and activations', () => {
  it('dense matches matMul + bias on rank-3 input', async () => {
    const rng = new Rng(11);
    await expectSameAsReference(
      (x, w, b) => dense(x!, w as tf.Tensor2D, b as tf.Tensor1D),
      (x, w, b) => tf.add(tf.matMul(x!.reshape([-1, 5]), w as tf.Tensor2D).reshape([2, 3, 7]), b!),
      [randomArray(rng, [2, 3, 5]), randomArray(rng, [5, 7]), randomArray(rng, [7])],
    );
  });

  it('dense matches when outputs exceed inputs and without bias', async () => {
    const rng = new Rng(12);
    await expectSameAsReference(
      (x, w) => dense(x!, w as tf.Tensor2D, null),
      (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
      [randomArray(rng, [4, 9]), randomArray(rng, [9, 3])],
    );
  });

  it('Dense and Embedding layers compute matMul and a table lookup', () => {
    const rng = new Rng(5);
    const layer = new Dense(rng, { inFeatures: 3, outFeatures: 2 });
    const y = layer.forward(tf.ones([1, 3]));
    expect(y.shape).toEqual([1, 2]);
    const emb = new Embedding(rng, { count: 4, dims: 3 });
    const rows = emb.forward(tf.tensor1d([2, 0], 'int32'));
    const table = emb.table.arraySync() as number[][];
    expect(relativeError(rows.dataSync() as Float32Array, new Float32Array([...table[2]!, ...table[0]!]))).toBeLessThan(1e-6);
    tf.dispose([y, rows]);
    layer.dispose();
    emb.dispose();
  });

  it('activations and glu match their cpu reference', async () => {
    const rng = new Rng(13);
    const x = randomArray(rng, [2, 3, 6]);
    for (const f of [(a: tf.Tensor) => silu(a), (a: tf.Tensor) => mish(a), (a: tf.Tensor) => leakyRelu(a, 0.2), (a: tf.Tensor) => glu(a)]) {
      await expectSameAsReference(f, f, [x]);
    }
    const g = await valueAndGrads('wasm', (a) => glu(a!), [x]);
    const manual = await valueAndGrads('cpu', (a) => tf.mul(tf.slice(a!, [0, 0, 0], [2, 3, 3]), tf.sigmoid(tf.slice(a!, [0, 0, 3], [2, 3, 3]))), [x]);
    expect(relativeError(g.value, manual.value)).toBeLessThan(1e-5);
  });
});

describe('normalisation, upsampling and time embedding', () => {
  it('GroupNorm equals per-group moments (instance, group and layer norm)', async () => {
    const rng = new Rng(17);
    const x = randomArray(rng, [2, 5, 6], 3);
    for (const groups of [6, 2, 1]) {
      const norm = new GroupNorm(new Rng(1), { channels: 6, groups });
      const gamma = randomArray(rng, [6]);
      const beta = randomArray(rng, [6]);
      norm.gamma!.assign(tf.tensor(gamma.data));
      norm.beta!.assign(tf.tensor(beta.data));
      const reference = (a: tf.Tensor) => {
        const xr = a.reshape([2, 5, groups, 6 / groups]);
        const { mean, variance } = tf.moments(xr, [1, 3], true);
        const y = tf.div(tf.sub(xr, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape([2, 5, 6]);
        return tf.add(tf.mul(y, tf.tensor(gamma.data)), tf.tensor(beta.data));
      };
      const ours = await valueAndGrads('wasm', (a) => norm.forward(a!), [x]);
      const ref = await valueAndGrads('cpu', reference, [x]);
      expect(relativeError(ours.value, ref.value)).toBeLessThan(1e-4);
      expect(relativeError(ours.grads[0]!, ref.grads[0]!)).toBeLessThan(1e-4);
      norm.dispose();
    }
  });

  it('upsampleNearest1d/2d match tile and resizeNearestNeighbor with gradients', async () => {
    const rng = new Rng(19);
    const x1 = randomArray(rng, [2, 4, 3]);
    await expectSameAsReference(
      (a) => upsampleNearest1d(a as tf.Tensor3D, 3),
      (a) => gatherRepeat(a!, 1, 3),
      [x1],
    );
    const x2 = randomArray(rng, [2, 3, 4, 2]);
    await expectSameAsReference(
      (a) => upsampleNearest2d(a as tf.Tensor4D, 2, 2),
      (a) => gatherRepeat(gatherRepeat(a!, 1, 2), 2, 2),
      [x2],
    );
  });

  it('pixelShuffle2d equals depthToSpace and pixelShuffle1d interleaves channel blocks', async () => {
    const rng = new Rng(23);
    const x = randomArray(rng, [1, 2, 3, 8]);
    const shuffle = (a: tf.Tensor) => pixelShuffle2d(a as tf.Tensor4D, 2, 2);
    await expectSameAsReference(shuffle, shuffle, [x]);
    await tf.setBackend('cpu');
    const input = tf.tensor(x.data, x.shape) as tf.Tensor4D;
    const [ours, ref] = [shuffle(input), tf.depthToSpace(input, 2)];
    expect(relativeError(ours.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBe(0);
    tf.dispose([input, ours, ref]);
    await tf.setBackend('wasm');
    const y = pixelShuffle1d(tf.tensor3d([[[1, 2, 3, 4]]]), 2);
    expect(y.arraySync()).toEqual([[[1, 2], [3, 4]]]);
    y.dispose();
  });

  it('sinusoidalTimeEmbedding gives sin/cos halves and the MLP maps [batch] to [batch, out]', () => {
    const e = sinusoidalTimeEmbedding(tf.tensor1d([0, 0.5]), 8);
    const rows = e.arraySync();
    expect(rows[0]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(rows[1]![0]).toBeCloseTo(Math.sin(500), 3);
    const mlp = new TimeEmbeddingMlp(new Rng(2), { dims: 8, hidden: 16, out: 4 });
    const out = mlp.forward(tf.tensor1d([0.1, 0.9, 0.3]));
    expect(out.shape).toEqual([3, 4]);
    tf.dispose([e, out]);
    mlp.dispose();
  });
});
