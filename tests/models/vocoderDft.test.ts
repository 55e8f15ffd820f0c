// The vocoder's wasm-safe building blocks against src/audio/stft.ts and tfjs's own ops: the DFT-basis iSTFT and STFT,
// the depthwise convolution's explicit gradient, and the streaming overlap-add used at conversion.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { istft, reflectPad, stft } from '../../src/audio/stft.js';
import { Rng } from '../../src/nn/module.js';
import { OverlapAdd } from '../../src/models/vocoder/convert.js';
import { DftStft } from '../../src/models/vocoder/dft.js';
import { depthwiseConv1d } from '../../src/models/vocoder/model.js';
import { expectSameAsReference, randomArray, useWasm } from '../nn/helpers.js';
import { noise, speechLike } from '../audio/signals.js';

const SR = MEL_CONFIG.sampleRateHz;
const HOP = MEL_CONFIG.hopSamples;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

beforeAll(async () => {
  await useWasm();
});

describe('DftStft', () => {
  it('inverts the STFT of src/audio/stft.ts: the signal back to float32 precision, and equal to its istft', () => {
    const x = speechLike(SR, 40 * HOP + 100, 5); // frames = 40; the last 100 samples lie beyond frame-aligned length
    const spec = stft(x);
    const ops = new DftStft(MEL_CONFIG.nFft, HOP);
    const y = tf.tidy(() => ops.istft(tf.tensor3d(spec.real, [1, spec.frames, spec.bins]), tf.tensor3d(spec.imag, [1, spec.frames, spec.bins])));
    expect(y.shape).toEqual([1, 40 * HOP]);
    const ours = y.dataSync();
    y.dispose();
    const peak = Math.max(...x.map(Math.abs));
    expect(maxAbsDiff(ours, x.subarray(0, 40 * HOP)) / peak).toBeLessThan(2e-5);
    expect(maxAbsDiff(ours, istft(spec, 40 * HOP)) / peak).toBeLessThan(2e-5);
    ops.dispose();
  });

  it('inverts each item of a batch separately', () => {
    const a = speechLike(SR, 12 * HOP, 1);
    const b = noise(12 * HOP, 2, 0.1);
    const [sa, sb] = [stft(a), stft(b)];
    const ops = new DftStft(MEL_CONFIG.nFft, HOP);
    const both = (key: 'real' | 'imag') => tf.tensor3d(Float32Array.from([...sa[key], ...sb[key]]), [2, sa.frames, sa.bins]);
    const y = tf.tidy(() => ops.istft(both('real'), both('imag')));
    const out = y.dataSync();
    y.dispose();
    expect(maxAbsDiff(out.subarray(0, 12 * HOP), a)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.subarray(12 * HOP), b)).toBeLessThan(1e-5);
    ops.dispose();
  });

  it('analyses as src/audio/stft.ts does when given its reflect-padded signal (every size)', () => {
    for (const nFft of [1024, 512, 256]) {
      const hop = nFft / 4;
      const config = { nFft, windowSamples: nFft, hopSamples: hop };
      const x = speechLike(SR, 30 * hop + 7, nFft);
      const ref = stft(x, config);
      const padded = Float32Array.from(reflectPad(x, (nFft - hop) / 2, (nFft - hop) / 2));
      const ops = new DftStft(nFft, hop);
      const { re, im } = tf.tidy(() => ops.stft(tf.tensor2d(padded, [1, padded.length])));
      expect(re.shape).toEqual([1, ref.frames, ref.bins]);
      const scale = Math.max(...ref.real.map(Math.abs), ...ref.imag.map(Math.abs));
      expect(maxAbsDiff(re.dataSync(), ref.real) / scale, `re, nFft ${nFft}`).toBeLessThan(1e-5);
      expect(maxAbsDiff(im.dataSync(), ref.imag) / scale, `im, nFft ${nFft}`).toBeLessThan(1e-5);
      tf.dispose([re, im]);
      ops.dispose();
    }
  });

  it('passes gradients through iSTFT and STFT (their adjoints: <A x, y> = <x, Aᵀ y>)', () => {
    const ops = new DftStft(512, 128);
    const rng = new Rng(4);
    const re = tf.tensor3d(randomArray(rng, [1, 10, 257]).data, [1, 10, 257]);
    const im = tf.tensor3d(randomArray(rng, [1, 10, 257]).data, [1, 10, 257]);
    const probe = tf.tensor2d(randomArray(rng, [1, 10 * 128]).data, [1, 10 * 128]);
    const [gRe] = tf.grads((r: tf.Tensor) => tf.sum(tf.mul(ops.istft(r as tf.Tensor3D, im), probe)))([re]);
    // The iSTFT is linear in re: the gradient of <iSTFT(re, im), p> w.r.t. re at re = e_k is the same at any re.
    const eps = 1e-2;
    const k = 3 * 257 + 40;
    const bumped = tf.tidy(() => tf.add(re, tf.oneHot(tf.tensor1d([k], 'int32'), 10 * 257).reshape([1, 10, 257]).mul(eps)));
    const f = (r: tf.Tensor3D) => tf.tidy(() => tf.sum(tf.mul(ops.istft(r, im), probe)).dataSync()[0]!);
    expect((f(bumped as tf.Tensor3D) - f(re)) / eps).toBeCloseTo(gRe!.dataSync()[k]!, 3);
    tf.dispose([re, im, probe, gRe!, bumped]);
    ops.dispose();
  });
});

describe('depthwiseConv1d', () => {
  it('equals tfjs depthwiseConv2d in value and in every gradient (wasm vs the cpu reference)', async () => {
    const rng = new Rng(3);
    const x = randomArray(rng, [2, 9, 5]);
    const w = randomArray(rng, [7, 5]);
    const b = randomArray(rng, [5]);
    const ours = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => depthwiseConv1d(xi as tf.Tensor3D, wi as tf.Tensor2D, bi as tf.Tensor1D);
    const reference = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => {
      const y = tf.depthwiseConv2d(xi.reshape([2, 1, 9, 5]) as tf.Tensor4D, wi.reshape([1, 7, 5, 1]) as tf.Tensor4D, 1, 'same');
      return tf.add(y.reshape([2, 9, 5]), bi);
    };
    await expectSameAsReference(ours, reference, [x, w, b], 1e-4);
  });
});

describe('OverlapAdd', () => {
  it('fed a few frames at a time, equals istft of the whole spectrogram', () => {
    const x = speechLike(SR, 33 * HOP + 50, 9);
    const spec = stft(x);
    const bins = spec.bins;
    const ola = new OverlapAdd(spec.frames);
    for (const [from, to] of [[0, 5], [5, 6], [6, 20], [20, 33]] as const) {
      ola.add(spec.real.slice(from * bins, to * bins), spec.imag.slice(from * bins, to * bins), to - from);
    }
    const length = 33 * HOP + 50;
    const ours = ola.finish(length);
    expect(ours.length).toBe(length);
    expect(maxAbsDiff(ours, istft(spec, length))).toBeLessThan(1e-6);
  });

  it('refuses more frames than it was made for, and finishing early', () => {
    const ola = new OverlapAdd(2);
    expect(() => ola.finish(10)).toThrow(/0 of 2 frames/);
    expect(() => ola.add(new Float32Array(3 * 513), new Float32Array(3 * 513), 3)).toThrow(/3 more frames/);
  });
});
