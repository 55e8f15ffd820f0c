// Worker thread of parallel.ts: builds the model from the factory, then for each step copies the shared weights
// into its variables and writes its shard's gradient into its shared gradient block (nothing is cloned).

import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend.js';
import { assignFromArray } from './hostArrays.js';
import { CONTROL_WEIGHTS, layoutViews, parameterLayout, shardGradient, type FromWorker, type ToWorker, type WorkerInit } from './parallel.js';
import type { TrainingSetup } from './train.js';

const init = workerData as WorkerInit;
const port = parentPort!;

async function main(): Promise<void> {
  const info = await initBackend(init.backend ? { force: init.backend } : {});
  const mod = (await import(init.moduleUrl)) as Record<string, unknown>;
  const factory = mod[init.factory];
  if (typeof factory !== 'function') throw new Error(`module ${init.moduleUrl} has no exported function "${init.factory}"`);
  const setup = (await (factory as (o: unknown) => TrainingSetup<unknown> | Promise<TrainingSetup<unknown>>)(init.factoryOptions)) as TrainingSetup<unknown>;
  const params = setup.model.namedParameters();
  const mine = parameterLayout(params);
  const same = mine.names.length === init.layout.names.length && mine.names.every((n, i) => n === init.layout.names[i] && mine.sizes[i] === init.layout.sizes[i]);
  if (!same) {
    setup.model.dispose();
    throw new Error(`the worker's model (${mine.names.length} parameters) differs from the main thread's (${init.layout.names.length}); the factory must build the same model in every thread`);
  }
  const control = new Int32Array(init.control);
  const weights = layoutViews(init.weights, init.layout);
  const grads = layoutViews(init.grads, init.layout);
  const variables = [...params.values()];
  port.postMessage({ type: 'ready', backend: info.name } satisfies FromWorker);
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      setup.model.dispose();
      port.close();
      return;
    }
    if (msg.type === 'memory') {
      port.postMessage({ type: 'memory', id: msg.id, numTensors: tf.memory().numTensors } satisfies FromWorker);
      return;
    }
    step(msg).catch((err: unknown) => {
      port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
    });
  });

  async function step(msg: Extract<ToWorker, { type: 'step' }>): Promise<void> {
    const started = performance.now();
    // This load pairs with the main thread's store after it wrote the weights: the copies below see them.
    const published = Atomics.load(control, CONTROL_WEIGHTS);
    if (published !== msg.id) throw new Error(`shared weights are from step ${published}, expected ${msg.id}`);
    variables.forEach((v, k) => assignFromArray(v, weights[k]!));
    const losses = await shardGradient(setup, params, msg, grads);
    Atomics.store(control, 1 + init.slot, msg.id);
    const seconds = (performance.now() - started) / 1000;
    port.postMessage({ type: 'grads', id: msg.id, losses, seconds } satisfies FromWorker);
  }
}

main().catch((err: unknown) => {
  port.postMessage({ type: 'error', id: 0, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWorker);
});
