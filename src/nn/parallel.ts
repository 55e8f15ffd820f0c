// Data-parallel training: the main thread and N−1 worker threads each compute the gradient of one shard of
// the batch; the shard-size-weighted mean is the full batch's gradient, so the effective batch is unchanged.
//
// Weights and gradients travel through SharedArrayBuffers, never through messages: the main thread writes the
// step's weights once into a shared block that every worker copies into its own variables, and each worker
// writes its gradient into its own shared block. Messages carry only the shard's indices and its losses;
// Atomics stores/loads on a small control block order the plain reads and writes around them. The optimizer
// runs once, on the main thread (Trainer), so replicas cannot drift apart.

import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import type { BackendName } from './backend.js';
import { assignFromArray, copyTensorInto } from './hostArrays.js';
import { ShapeMismatchError } from './errors.js';
import type { JsonValue } from './modelFile.js';
import { Rng, type WeightMap } from './module.js';
import { Trainer, type TrainerOptions, type TrainingSetup } from './train.js';
import type { GradientProvider } from './trainingLoop.js';
import { workerEntry } from './workerEntry.js';

/** Where workers find the model: a module (path or file URL) exporting `factory(factoryOptions) → TrainingSetup`. */
export interface WorkerFactorySpec {
  readonly module: string;
  readonly factory: string;
  readonly factoryOptions?: JsonValue;
}

/** Options of `createGradientPool`; `workers` counts replicas, the main thread included (default: cores, at most 2). */
export interface GradientPoolOptions<TBatch = unknown> extends WorkerFactorySpec {
  readonly workers?: number;
  readonly backend?: BackendName;
  /** The main thread's replica (e.g. the Trainer's own setup); built from the factory when absent. Its weights are set each step. */
  readonly local?: TrainingSetup<TBatch>;
}

/** A gradient provider whose main thread computes one shard itself; `workers` counts replicas, main included. The gradient arrays `compute` returns are reused by its next call. */
export interface GradientPool extends GradientProvider {
  readonly workers: number;
  /** Backend of each replica, main thread first. */
  readonly backends: readonly string[];
  /** `tf.memory().numTensors` of each thread, main first (for leak tests). */
  numTensors(): Promise<number[]>;
}

/** Flat layout of a model's parameters in the shared blocks: names in `namedParameters()` order and their sizes. */
export interface ParameterLayout {
  readonly names: readonly string[];
  readonly sizes: readonly number[];
}

/** Messages from the main thread to a worker (see parallelWorker.ts). */
export type ToWorker = { type: 'step'; id: number; step: number; indices: number[]; seed: number } | { type: 'memory'; id: number } | { type: 'close' };

/** Messages from a worker to the main thread; `grads` means the gradient is in the worker's shared block. */
export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'grads'; id: number; losses: Record<string, number>; seconds: number }
  | { type: 'memory'; id: number; numTensors: number }
  | { type: 'error'; id: number; message: string };

/** Worker data handed to parallelWorker.ts at start: the factory, the layout and the shared blocks. */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly factory: string;
  readonly factoryOptions: JsonValue;
  readonly backend: BackendName | null;
  readonly layout: ParameterLayout;
  /** Float32 weights of every parameter, back to back in layout order (written by the main thread). */
  readonly weights: SharedArrayBuffer;
  /** Float32 gradient of this worker's shard, same layout (written by the worker). */
  readonly grads: SharedArrayBuffer;
  /** Int32 control block: [0] = id of the step whose weights are in `weights`, [1 + slot] = id of worker `slot`'s last gradient. */
  readonly control: SharedArrayBuffer;
  readonly slot: number;
}

/** Index of the weights' step id in the control block; worker `slot` publishes its gradient's step id at `1 + slot`. */
export const CONTROL_WEIGHTS = 0;

interface WorkerHandle {
  worker: Worker;
  grads: Float32Array[]; // views into this worker's shared gradient block, one per parameter
  pending: Map<number, { resolve: (m: Extract<FromWorker, { type: 'grads' | 'memory' }>) => void; reject: (e: Error) => void }>;
}

/** Seed of shard `i` of a step: shard 0 keeps the step's seed so one replica equals single-process training. */
export function shardSeed(seed: number, shard: number): number {
  return shard === 0 ? seed : (seed ^ Math.imul(shard, 0x9e3779b9)) >>> 0;
}

/** Splits batch indices into `n` contiguous shards whose sizes differ by at most one (empty shards dropped). */
export function splitShards(indices: readonly number[], n: number): number[][] {
  const shards: number[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(indices.length / n) + (i < indices.length % n ? 1 : 0);
    if (size > 0) shards.push(indices.slice(start, start + size));
    start += size;
  }
  return shards;
}

/** The layout of `params` (sizes in values, not bytes). */
export function parameterLayout(params: ReadonlyMap<string, tf.Variable>): ParameterLayout {
  return { names: [...params.keys()], sizes: [...params.values()].map((p) => p.size) };
}

/** Float32 views of `buffer`, one per parameter of `layout`, back to back. */
export function layoutViews(buffer: SharedArrayBuffer, layout: ParameterLayout): Float32Array[] {
  let offset = 0;
  return layout.sizes.map((size) => {
    const view = new Float32Array(buffer, offset * 4, size);
    offset += size;
    return view;
  });
}

function layoutTotal(layout: ParameterLayout): number {
  return layout.sizes.reduce((a, b) => a + b, 0);
}

/**
 * Gradient of one shard's loss w.r.t. `params`, written into `out` (one array per parameter, layout order;
 * a parameter the loss does not touch gets zeros). Returns the shard's losses (`total` first, then the parts).
 */
export async function shardGradient<TBatch>(
  setup: TrainingSetup<TBatch>,
  params: ReadonlyMap<string, tf.Variable>,
  request: { step: number; indices: readonly number[]; seed: number },
  out: readonly Float32Array[],
): Promise<Record<string, number>> {
  const batch = await setup.train.getBatch(request.indices);
  let parts: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = setup.lossFn(batch, { step: request.step, rng: new Rng(request.seed), training: true });
    parts = { ...r.parts };
    for (const t of Object.values(parts)) tf.keep(t);
    return r.total;
  }, [...params.values()]);
  let k = 0;
  for (const p of params.values()) {
    const g = grads[p.name];
    const target = out[k++]!;
    if (g) copyTensorInto(g, target);
    else target.fill(0);
  }
  const names = Object.keys(parts);
  const packed = tf.tidy(() => tf.stack([value, ...Object.values(parts)].map((t) => t.reshape([]))));
  const values = await packed.data();
  const losses: Record<string, number> = { total: values[0]! };
  names.forEach((n, i) => (losses[n] = values[i + 1]!));
  tf.dispose([packed, value, ...Object.values(parts), ...Object.values(grads), batch as unknown as tf.TensorContainer]);
  return losses;
}

function moduleUrl(spec: string): string {
  if (/^file:/.test(spec)) return spec;
  return pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
}

async function loadSetup<TBatch>(spec: WorkerFactorySpec): Promise<TrainingSetup<TBatch>> {
  const mod = (await import(moduleUrl(spec.module))) as Record<string, unknown>;
  const factory = mod[spec.factory];
  if (typeof factory !== 'function') throw new ShapeMismatchError(`module ${spec.module} has no exported function "${spec.factory}"`);
  return (await (factory as (o: JsonValue | undefined) => TrainingSetup<TBatch> | Promise<TrainingSetup<TBatch>>)(spec.factoryOptions ?? undefined)) as TrainingSetup<TBatch>;
}

/** acc ← w0·acc + Σ wᵢ·gᵢ in place; returns Σ acc² of the result. */
function averageInto(acc: Float32Array, w0: number, others: readonly { weight: number; values: Float32Array }[]): number {
  let sum = 0;
  if (others.length === 0) {
    for (let j = 0; j < acc.length; j++) sum += acc[j]! * acc[j]!;
    return sum;
  }
  // The first remote shard is fused with scaling the local one: one pass over the values for two replicas.
  const g1 = others[0]!.values;
  const w1 = others[0]!.weight;
  if (others.length === 1) {
    for (let j = 0; j < acc.length; j++) {
      const g = w0 * acc[j]! + w1 * g1[j]!;
      acc[j] = g;
      sum += g * g;
    }
    return sum;
  }
  for (let j = 0; j < acc.length; j++) acc[j] = w0 * acc[j]! + w1 * g1[j]!;
  for (let i = 1; i < others.length; i++) {
    const { weight, values } = others[i]!;
    for (let j = 0; j < acc.length; j++) acc[j] = acc[j]! + weight * values[j]!;
  }
  for (let j = 0; j < acc.length; j++) sum += acc[j]! * acc[j]!;
  return sum;
}

/**
 * The gradients of a run with `workers` replicas: a pool (the main thread's `local` setup included, each worker's
 * built by `factory` from `factoryOptions`, which are the run's plain-data setup options), or undefined for one
 * worker. When the pool cannot start, `onFailure` runs first (to free what the run already holds), then the error is
 * rethrown. What every family's training run does before its Trainer.
 */
export async function gradientPoolForRun<TBatch>(
  workers: number,
  spec: { readonly module: string; readonly factory: string; readonly factoryOptions: object; readonly local?: TrainingSetup<TBatch> },
  onFailure?: () => void,
): Promise<GradientPool | undefined> {
  if (workers <= 1) return undefined;
  try {
    return await createGradientPool<TBatch>({ ...spec, factoryOptions: spec.factoryOptions as JsonValue, workers });
  } catch (error) {
    onFailure?.();
    throw error;
  }
}

/** Starts `workers − 1` threads that build the model from the factory; the main thread computes the first shard. */
export async function createGradientPool<TBatch = unknown>(options: GradientPoolOptions<TBatch>): Promise<GradientPool> {
  const replicas = Math.max(1, Math.min(options.workers ?? Math.min(2, cpus().length), 16));
  const ownsLocal = options.local === undefined;
  const local = options.local ?? (await loadSetup<TBatch>(options));
  const localParams = local.model.namedParameters();
  const layout = parameterLayout(localParams);
  const bytes = layoutTotal(layout) * 4;
  const weightsBuffer = new SharedArrayBuffer(bytes);
  const weightViews = layoutViews(weightsBuffer, layout);
  const controlBuffer = new SharedArrayBuffer(4 * replicas);
  const control = new Int32Array(controlBuffer);
  const script = workerEntry(import.meta.url, 'parallelWorker');
  const handles: WorkerHandle[] = [];
  let nextId = 1;
  const failAll = (h: WorkerHandle, err: Error) => {
    for (const p of h.pending.values()) p.reject(err);
    h.pending.clear();
  };
  const started = Array.from({ length: replicas - 1 }, async (_, slot): Promise<string> => {
    const gradsBuffer = new SharedArrayBuffer(bytes);
    const init: WorkerInit = {
      moduleUrl: moduleUrl(options.module),
      factory: options.factory,
      factoryOptions: options.factoryOptions ?? null,
      backend: options.backend ?? null,
      layout,
      weights: weightsBuffer,
      grads: gradsBuffer,
      control: controlBuffer,
      slot,
    };
    const worker = new Worker(script.entry, { workerData: init, eval: script.eval });
    const handle: WorkerHandle = { worker, grads: layoutViews(gradsBuffer, layout), pending: new Map() };
    handles[slot] = handle; // set before the first await, so handles[i] is always worker slot i
    const backend = await new Promise<string>((resolveReady, rejectReady) => {
      worker.once('error', rejectReady);
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          worker.off('error', rejectReady);
          resolveReady(m.backend);
        } else if (m.type === 'error' && m.id === 0) {
          rejectReady(new Error(`parallel worker failed to start: ${m.message}`));
        } else {
          const p = handle.pending.get(m.id);
          handle.pending.delete(m.id);
          if (m.type === 'error') p?.reject(new Error(`parallel worker: ${m.message}`));
          else if (m.type === 'memory') p?.resolve(m);
          // The worker published its step id after writing the gradient; this load orders our reads after its writes.
          else if (Atomics.load(control, 1 + slot) !== m.id) p?.reject(new Error(`parallel worker ${slot + 1}: gradient block holds step ${Atomics.load(control, 1 + slot)}, expected ${m.id}`));
          else p?.resolve(m);
        }
      });
    });
    worker.on('error', (err) => failAll(handle, err));
    worker.on('exit', (code) => failAll(handle, new Error(`parallel worker exited with code ${code}`)));
    return backend;
  });
  const settled = await Promise.allSettled(started);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(handles.map((h) => h.worker.terminate()));
    if (ownsLocal) local.model.dispose();
    throw failed.reason;
  }
  const backends = [tf.getBackend(), ...settled.map((s) => (s as PromiseFulfilledResult<string>).value)];
  const request = <T extends Extract<FromWorker, { type: 'grads' | 'memory' }>>(h: WorkerHandle, id: number, msg: ToWorker) =>
    new Promise<T>((res, rej) => {
      h.pending.set(id, { resolve: (m) => res(m as T), reject: rej });
      h.worker.postMessage(msg);
    });

  const output = layout.sizes.map((size) => new Float32Array(size)); // averaged gradient, reused every step
  const computeStep = async ({ step, indices, seed, weights, modelHoldsWeights }: { step: number; indices: readonly number[]; seed: number; weights: WeightMap; modelHoldsWeights?: boolean }) => {
    const arrays = layout.names.map((name, k) => {
      const w = weights.get(name);
      if (!w || w.data.length !== layout.sizes[k]) throw new ShapeMismatchError(`parallel: weights of "${name}" have ${w?.data.length ?? 0} values, expected ${layout.sizes[k]}`);
      return w.data;
    });
    const shards = splitShards(indices, replicas);
    const id = nextId++;
    // Publish the weights before any worker starts (nothing to copy when the caller keeps them in our shared
    // block, see `weightArrays`); the store orders the writes before workers' loads.
    arrays.forEach((a, k) => {
      if (a !== weightViews[k]) weightViews[k]!.set(a);
    });
    Atomics.store(control, CONTROL_WEIGHTS, id);
    const remote = shards
      .slice(1)
      .map((shard, i) => request<Extract<FromWorker, { type: 'grads' }>>(handles[i]!, id, { type: 'step', id, step, indices: shard, seed: shardSeed(seed, i + 1) }));
    // The main thread's shard runs while the workers compute theirs.
    const localStarted = performance.now();
    const grads = output;
    let localLosses: Record<string, number>;
    try {
      // A caller-supplied replica that is the caller's own model may already hold these weights.
      if (!(modelHoldsWeights === true && !ownsLocal)) layout.names.forEach((name, k) => assignFromArray(localParams.get(name)!, arrays[k]!));
      localLosses = await shardGradient(local, localParams, { step, indices: shards[0]!, seed: shardSeed(seed, 0) }, grads);
    } catch (err) {
      await Promise.allSettled(remote); // no step may still be writing a shared block when the caller retries
      throw err;
    }
    const localSeconds = (performance.now() - localStarted) / 1000;
    const results = await Promise.all(remote);
    // Each shard's loss is a mean over its items, so weight shards by size to get the full batch's mean.
    const weightOf = (shard: number) => shards[shard]!.length / indices.length;
    const w0 = weightOf(0);
    const losses: Record<string, number> = {};
    for (const [k, v] of Object.entries(localLosses)) losses[k] = w0 * v;
    // Σ g² of the averaged gradient, summed in the same pass (the optimizer's clipping needs it). Plain loops with
    // local sums: a closure-captured accumulator would be a heap write per value (5x slower here).
    let gradSquaredSum = 0;
    for (let k = 0; k < grads.length; k++) gradSquaredSum += averageInto(grads[k]!, w0, results.map((_, i) => ({ weight: weightOf(i + 1), values: handles[i]!.grads[k]! })));
    results.forEach((r, i) => {
      for (const [k, v] of Object.entries(r.losses)) losses[k] = (losses[k] ?? 0) + weightOf(i + 1) * v;
    });
    return {
      grads: new Map(layout.names.map((name, k) => [name, grads[k]!] as const)),
      losses,
      gradSquaredSum,
      workerSeconds: [localSeconds, ...results.map((r) => r.seconds)],
    };
  };
  // One step at a time: the shared blocks hold a single step's weights and gradients.
  let busy = false;

  return {
    workers: replicas,
    backends,
    weightArrays: new Map(layout.names.map((name, k) => [name, weightViews[k]!] as const)),
    async compute(req) {
      if (busy) throw new ShapeMismatchError('parallel: compute() was called while a step is in flight; await each step before the next');
      busy = true;
      try {
        return await computeStep(req);
      } finally {
        busy = false;
      }
    },
    async numTensors() {
      const remote = handles.map((h) => {
        const id = nextId++;
        return request<Extract<FromWorker, { type: 'memory' }>>(h, id, { type: 'memory', id });
      });
      return [tf.memory().numTensors, ...(await Promise.all(remote)).map((m) => m.numTensors)];
    },
    async dispose() {
      await Promise.all(
        handles.map(async (h) => {
          h.worker.postMessage({ type: 'close' } satisfies ToWorker);
          await h.worker.terminate();
        }),
      );
      if (ownsLocal) local.model.dispose();
    },
  };
}

/** A Trainer whose steps split each batch between the main thread (the Trainer's own model) and worker threads. */
export async function createParallelTrainer<TBatch>(
  options: Omit<TrainerOptions<TBatch>, keyof TrainingSetup<TBatch> | 'gradients'> & Omit<GradientPoolOptions<TBatch>, 'local'>,
): Promise<Trainer<TBatch>> {
  const setup = await loadSetup<TBatch>(options);
  const gradients = await createGradientPool<TBatch>({ ...options, local: setup });
  return new Trainer<TBatch>({ ...options, ...setup, gradients });
}
