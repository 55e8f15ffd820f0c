// Module: dotted parameter names, counts, seeded initialisation, shape-checked weight loading, dispose.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conv1d, Dense } from '../../src/nn/layers.js';
import { Module, Rng, init } from '../../src/nn/module.js';
import { ShapeMismatchError } from '../../src/nn/errors.js';
import { useWasm } from './helpers.js';

beforeAll(useWasm);

class Block extends Module {
  readonly conv: Conv1d;
  readonly head: Dense;
  constructor(rng: Rng) {
    super();
    this.conv = this.child('conv', new Conv1d(rng, { inChannels: 2, outChannels: 3, kernelSize: 5 }));
    this.head = this.child('head', new Dense(rng, { inFeatures: 3, outFeatures: 1, bias: false }));
  }
}

describe('Module', () => {
  it('names parameters with dotted paths and counts them', () => {
    const m = new Block(new Rng(1));
    expect([...m.namedParameters().keys()]).toEqual(['conv.weight', 'conv.bias', 'head.weight']);
    expect(m.parameterCount()).toBe(5 * 2 * 3 + 3 + 3);
    m.dispose();
  });

  it('initialises identically from the same seed and differently from another', () => {
    const [a, b, c] = [new Block(new Rng(7)), new Block(new Rng(7)), new Block(new Rng(8))];
    const wa = a.getWeights().get('conv.weight')!.data;
    expect([...b.getWeights().get('conv.weight')!.data]).toEqual([...wa]);
    expect([...c.getWeights().get('conv.weight')!.data]).not.toEqual([...wa]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('Glorot and He initialisers have the expected spread', () => {
    const rng = new Rng(3);
    const g = init.glorotUniform()([100, 300], rng);
    expect(Math.max(...g.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 400) + 1e-7);
    const h = init.heNormal()([5, 200, 100], rng);
    const variance = h.reduce((s, v) => s + v * v, 0) / h.length;
    expect(variance).toBeCloseTo(2 / 1000, 3);
  });

  it('setWeights copies values and rejects wrong shapes and names with a clear error', () => {
    const a = new Block(new Rng(1));
    const b = new Block(new Rng(2));
    b.setWeights(a.getWeights());
    expect([...b.getWeights().get('head.weight')!.data]).toEqual([...a.getWeights().get('head.weight')!.data]);
    const wrong = new Map(a.getWeights());
    wrong.set('conv.bias', { data: new Float32Array(4), shape: [4] });
    expect(() => b.setWeights(wrong)).toThrow(ShapeMismatchError);
    expect(() => b.setWeights(wrong)).toThrow(/"conv.bias" expected shape \[3\], received \[4\]/);
    const missing = new Map(a.getWeights());
    missing.delete('head.weight');
    missing.set('extra', { data: new Float32Array(1), shape: [1] });
    expect(() => b.setWeights(missing)).toThrow(/missing \[head.weight\], unexpected \[extra\]/);
    a.dispose();
    b.dispose();
  });

  it('dispose frees every variable', () => {
    const before = tf.memory().numTensors;
    const m = new Block(new Rng(1));
    expect(tf.memory().numTensors).toBe(before + 3);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Rng state round-trips, including a cached normal', () => {
    const r = new Rng(5);
    r.normal();
    const state = r.getState();
    const next = [r.normal(), r.uniform(), r.normal()];
    const s = new Rng(0);
    s.setState(state);
    expect([s.normal(), s.uniform(), s.normal()]).toEqual(next);
  });
});
