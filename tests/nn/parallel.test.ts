// Data-parallel training (main thread + worker threads) equals single-process training of the same full batch:
// gradients, two optimizer steps, resume after cancel; no tensor leaks in any thread. Workers load the
// TypeScript factory through tsx, as they would load compiled JS from dist/.

import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGradientPool, createParallelTrainer, shardSeed, splitShards } from '../../src/nn/parallel.js';
import { Rng } from '../../src/nn/module.js';
import type { AdamWOptions } from '../../src/nn/optimizer.js';
import { Trainer } from '../../src/nn/train.js';
import { createTinySetup, type TinyBatch } from './fixtures/tinySetup.js';
import { relativeError, useWasm } from './helpers.js';

const factoryModule = fileURLToPath(new URL('./fixtures/tinySetup.ts', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'timbre-parallel-'));
  dirs.push(d);
  return d;
};

beforeAll(useWasm);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Full-batch gradient and loss of the tiny setup on one thread, as single-process training computes them. */
function fullBatchGradient(indices: number[], seed: number): { grads: Map<string, Float32Array>; loss: number } {
  const setup = createTinySetup({ seed: 3 });
  const params = setup.model.namedParameters();
  const batch = setup.train.getBatch(indices) as TinyBatch;
  const { value, grads } = tf.variableGrads(() => setup.lossFn(batch, { step: 1, rng: new Rng(seed), training: true }).total, [...params.values()]);
  const out = new Map([...params].map(([name, p]) => [name, (grads[p.name]!.dataSync() as Float32Array).slice()] as const));
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads), batch.x, batch.y]);
  setup.model.dispose();
  return { grads: out, loss };
}

const optimizer: AdamWOptions = { learningRate: 1e-2, weightDecay: 0.01, clipNorm: 1 };

describe('parallel', () => {
  it('splits a batch into near-equal contiguous shards and keeps shard 0 on the step seed', () => {
    expect(splitShards([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]]);
    expect(splitShards([7], 2)).toEqual([[7]]);
    expect(shardSeed(123, 0)).toBe(123);
    expect(shardSeed(123, 1)).not.toBe(123);
  });

  it('averages the main thread’s and one worker’s gradients into the full-batch gradient', async () => {
    const pool = await createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2 });
    try {
      expect(pool.workers).toBe(2);
      expect(pool.backends).toEqual(['wasm', 'wasm']);
      const indices = [5, 1, 9, 2, 14, 7];
      const weights = createTinySetup({ seed: 3 }).model;
      const remote = await pool.compute({ step: 1, indices, seed: 77, weights: weights.getWeights() });
      weights.dispose();
      const expected = fullBatchGradient(indices, 77);
      for (const [name, g] of expected.grads) expect(relativeError(remote.grads.get(name)!, g), name).toBeLessThan(1e-5);
      // the loss differs only by the shards' tiny seeded jitter (< 1e-3)
      expect(Math.abs(remote.losses['total']! - expected.loss)).toBeLessThan(1.1e-3);
      expect(Object.keys(remote.losses)).toEqual(['total', 'l1', 'l2']);
      expect(remote.workerSeconds).toHaveLength(2);
    } finally {
      await pool.dispose();
    }
  });

  it('weights uneven shards of three replicas (main + two workers) by their sizes', async () => {
    const pool = await createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 3 });
    try {
      expect(pool.backends).toHaveLength(3);
      const indices = [3, 8, 0, 11, 6, 13, 4]; // shards of 3, 2 and 2 items
      const model = createTinySetup({ seed: 3 }).model;
      const remote = await pool.compute({ step: 1, indices, seed: 5, weights: model.getWeights() });
      model.dispose();
      const expected = fullBatchGradient(indices, 5);
      for (const [name, g] of expected.grads) expect(relativeError(remote.grads.get(name)!, g), name).toBeLessThan(1e-5);
    } finally {
      await pool.dispose();
    }
  });

  it('takes two parallel steps that match two single-process steps', async () => {
    const single = new Trainer<TinyBatch>({ ...createTinySetup({ seed: 3 }), batchSize: 8, totalSteps: 2, seed: 1, optimizer });
    await single.run();
    const parallel = await createParallelTrainer<TinyBatch>({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2, batchSize: 8, totalSteps: 2, seed: 1, optimizer });
    await parallel.run();
    const a = single.options.model.getWeights();
    const b = parallel.options.model.getWeights();
    const start = createTinySetup({ seed: 3 }).model;
    for (const [name, w] of a) {
      expect(relativeError(b.get(name)!.data, w.data), name).toBeLessThan(1e-5);
      expect(relativeError(start.getWeights().get(name)!.data, w.data), `${name} moved`).toBeGreaterThan(1e-3);
    }
    start.dispose();
    for (const t of [single, parallel]) {
      t.options.model.dispose();
      await t.dispose();
    }
  });

  it('trains, cancels, checkpoints and resumes to the uninterrupted parallel loss curve', async () => {
    const make = (runDir: string) =>
      createParallelTrainer<TinyBatch>({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2, batchSize: 4, totalSteps: 6, seed: 42, checkpointEvery: 2, logEvery: 1, optimizer, runDir });
    const collect = async (trainer: Trainer<TinyBatch>, cancelAt?: number) => {
      const losses: number[] = [];
      trainer.on('step', (e) => {
        losses.push(e.losses['total']!);
        if (e.step === cancelAt) trainer.cancel();
      });
      const result = await trainer.run();
      trainer.options.model.dispose();
      await trainer.dispose();
      return { losses, result };
    };
    const straight = await collect(await make(tempDir()));
    expect(straight.losses[5]!).toBeLessThan(straight.losses[0]!);
    const dir = tempDir();
    const first = await collect(await make(dir), 3);
    expect(first.result.cancelled).toBe(true);
    expect(first.result.step).toBe(3);
    const second = await collect(await make(dir));
    expect(second.result.cancelled).toBe(false);
    expect([...first.losses, ...second.losses]).toHaveLength(6);
    [...first.losses, ...second.losses].forEach((l, i) => expect(l, `step ${i + 1}`).toBeCloseTo(straight.losses[i]!, 6));
  });

  it('leaks no tensors in the main thread or the worker across steps and frees its own replica', async () => {
    const before = tf.memory().numTensors;
    const pool = await createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2 });
    const model = createTinySetup({ seed: 3 }).model;
    const counts: number[][] = [];
    for (let step = 1; step <= 4; step++) {
      await pool.compute({ step, indices: [0, 1, 2, 3, 4], seed: step, weights: model.getWeights() });
      counts.push(await pool.numTensors());
    }
    expect(counts[3]).toEqual(counts[0]);
    model.dispose();
    await pool.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a step whose worker shard fails, then keeps working', async () => {
    const pool = await createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2 });
    const model = createTinySetup({ seed: 3 }).model;
    try {
      // item 99 does not exist and lands in the worker's shard
      await expect(pool.compute({ step: 1, indices: [0, 1, 2, 99], seed: 1, weights: model.getWeights() })).rejects.toThrow(/parallel worker: /);
      const ok = await pool.compute({ step: 2, indices: [0, 1, 2, 3], seed: 1, weights: model.getWeights() });
      expect(Number.isFinite(ok.losses['total']!)).toBe(true);
    } finally {
      model.dispose();
      await pool.dispose();
    }
  });

  it('refuses to start when a worker builds a different model than the main thread', async () => {
    const local = createTinySetup({ seed: 3 });
    const other = { ...local, model: local.model.a }; // parameters "weight", "bias" instead of "a.weight", …
    await expect(createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2, local: other })).rejects.toThrow(/differs from the main thread/);
    local.model.dispose();
  });
});
