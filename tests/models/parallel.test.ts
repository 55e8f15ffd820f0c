// Data-parallel gradients from two worker threads equal single-process gradients of the same full batch.
// Workers load the TypeScript factory through tsx, as they would load compiled JS from dist/.

import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGradientPool, createParallelTrainer, shardSeed, splitShards } from '../../src/models/parallel.js';
import { Rng } from '../../src/models/module.js';
import { createTinySetup, type TinyBatch } from './fixtures/tinySetup.js';
import { relativeError, useWasm } from './helpers.js';

const factoryModule = fileURLToPath(new URL('./fixtures/tinySetup.ts', import.meta.url));

beforeAll(useWasm);

describe('parallel', () => {
  it('splits a batch into near-equal contiguous shards and keeps shard 0 on the step seed', () => {
    expect(splitShards([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]]);
    expect(splitShards([7], 2)).toEqual([[7]]);
    expect(shardSeed(123, 0)).toBe(123);
    expect(shardSeed(123, 1)).not.toBe(123);
  });

  it('averages two workers’ gradients into the full-batch gradient', async () => {
    const pool = await createGradientPool({ module: factoryModule, factory: 'createTinySetup', factoryOptions: { seed: 3 }, workers: 2 });
    try {
      expect(pool.workers).toBe(2);
      expect(pool.backends).toEqual(['wasm', 'wasm']);
      const setup = createTinySetup({ seed: 3 });
      const indices = [5, 1, 9, 2, 14, 7];
      const weights = setup.model.getWeights();
      const remote = await pool.compute({ step: 1, indices, seed: 77, weights });
      const params = setup.model.namedParameters();
      const batch = (await setup.train.getBatch(indices)) as TinyBatch;
      const { value, grads } = tf.variableGrads(() => {
        const r = setup.lossFn(batch, { step: 1, rng: new Rng(77), training: true });
        return r.total;
      }, [...params.values()]);
      for (const [name, p] of params) {
        expect(relativeError(remote.grads.get(name)!, grads[p.name]!.dataSync() as Float32Array), name).toBeLessThan(1e-5);
      }
      // the loss differs only by the shard's tiny seeded jitter (< 1e-3)
      expect(Math.abs(remote.losses['total']! - value.dataSync()[0]!)).toBeLessThan(1.1e-3);
      expect(Object.keys(remote.losses)).toEqual(['total', 'l1', 'l2']);
      tf.dispose([value, ...Object.values(grads), batch.x, batch.y]);
      setup.model.dispose();
    } finally {
      await pool.dispose();
    }
  });

  it('trains with a parallel Trainer and lowers the loss', async () => {
    const trainer = await createParallelTrainer<TinyBatch>({
      module: factoryModule,
      factory: 'createTinySetup',
      factoryOptions: { seed: 3 },
      workers: 2,
      batchSize: 8,
      totalSteps: 12,
      seed: 1,
      optimizer: { learningRate: 1e-2 },
    });
    const losses: number[] = [];
    trainer.on('step', (e) => losses.push(e.losses['total']!));
    await trainer.run();
    expect(losses).toHaveLength(12);
    expect(losses[11]!).toBeLessThan(losses[0]!);
    trainer.options.model.dispose();
    await trainer.dispose();
  });
});
