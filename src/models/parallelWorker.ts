// Worker thread of parallel.ts: builds the model from the factory module, then answers gradient requests
// for its shard of each batch with Float32Arrays (transferred, not copied).

import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend.js';
import { Rng } from './module.js';
import type { FromWorker, ToWorker, WorkerInit } from './parallel.js';
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
  port.postMessage({ type: 'ready', names: [...params.keys()], backend: info.name } satisfies FromWorker);
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      setup.model.dispose();
      port.close();
      return;
    }
    step(setup, params, msg).catch((err: unknown) => {
      port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
    });
  });
}

async function step(setup: TrainingSetup<unknown>, params: Map<string, tf.Variable>, msg: Extract<ToWorker, { type: 'step' }>): Promise<void> {
  const started = performance.now();
  msg.names.forEach((name, i) => {
    const p = params.get(name);
    if (!p) throw new Error(`worker model has no parameter "${name}"`);
    tf.tidy(() => p.assign(tf.tensor(msg.weights[i]!, p.shape, 'float32')));
  });
  const batch = await setup.train.getBatch(msg.indices);
  let parts: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = setup.lossFn(batch, { step: msg.step, rng: new Rng(msg.seed), training: true });
    parts = r.parts;
    for (const t of Object.values(parts)) tf.keep(t);
    return r.total;
  }, [...params.values()]);
  const names = Object.keys(parts);
  const packed = tf.tidy(() => tf.stack([value, ...Object.values(parts)].map((t) => t.reshape([]))));
  const lossValues = await packed.data();
  // wasm's dataSync already copies out of the heap; other backends may hand out their own storage, which must not be transferred.
  const copy = tf.getBackend() !== 'wasm';
  const arrays = msg.names.map((name) => {
    const data = grads[params.get(name)!.name]!.dataSync() as Float32Array;
    return copy ? data.slice() : data;
  });
  const losses: Record<string, number> = { total: lossValues[0]! };
  names.forEach((n, i) => (losses[n] = lossValues[i + 1]!));
  tf.dispose([packed, value, ...Object.values(parts), ...Object.values(grads), batch as tf.TensorContainer]);
  const seconds = (performance.now() - started) / 1000;
  port.postMessage({ type: 'grads', id: msg.id, grads: arrays, losses, seconds } satisfies FromWorker, arrays.map((a) => a.buffer as ArrayBuffer));
}

main().catch((err: unknown) => {
  port.postMessage({ type: 'error', id: 0, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWorker);
});
