// Data-parallel training over worker_threads: each worker runs the same model and loss on its shard of the
// batch, the main thread averages the gradients and applies AdamW, so the effective batch is unchanged.

import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { BackendName } from './backend.js';
import { ShapeMismatchError } from './errors.js';
import type { JsonValue } from './modelFile.js';
import type { WeightMap } from './module.js';
import { Trainer, type GradientProvider, type TrainerOptions, type TrainingSetup } from './train.js';

/** Where workers find the model: a module (path or file URL) exporting `factory(factoryOptions) → TrainingSetup`. */
export interface WorkerFactorySpec {
  readonly module: string;
  readonly factory: string;
  readonly factoryOptions?: JsonValue;
}

/** Options of `createGradientPool`; `workers` defaults to the number of cores, at most 2. */
export interface GradientPoolOptions extends WorkerFactorySpec {
  readonly workers?: number;
  readonly backend?: BackendName;
}

/** Messages between the main thread and a worker (see parallelWorker.ts). */
export type ToWorker =
  | { type: 'step'; id: number; step: number; indices: number[]; seed: number; names: string[]; weights: Float32Array[] }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; names: string[]; backend: string }
  | { type: 'grads'; id: number; grads: Float32Array[]; losses: Record<string, number>; seconds: number }
  | { type: 'error'; id: number; message: string };

/** Worker data handed to parallelWorker.ts at start. */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly factory: string;
  readonly factoryOptions: JsonValue;
  readonly backend: BackendName | null;
}

interface WorkerHandle {
  worker: Worker;
  pending: Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>;
}

/** Seed of shard `i` of a step: shard 0 keeps the step's seed so one worker equals single-process training. */
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

function moduleUrl(spec: string): string {
  if (/^file:/.test(spec)) return spec;
  return pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
}

/** The worker entry: compiled JS runs directly; TypeScript sources (vitest, tsx) get tsx's loader registered first. */
function workerScript(): { entry: string | URL; eval: boolean } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { entry: new URL('./parallelWorker.js', self), eval: false };
  // `--import tsx` in a worker's execArgv does not reach the worker's own entry in Node 20, so register in-thread.
  const tsxDir = dirname(createRequire(self).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const worker = new URL('./parallelWorker.ts', self).href;
  return { entry: `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(worker)}); })`, eval: true };
}

/** Starts `workers` threads that each build the model from the factory and compute gradients on a shard. */
export async function createGradientPool(options: GradientPoolOptions): Promise<GradientProvider & { readonly workers: number; readonly backends: string[] }> {
  const count = Math.max(1, Math.min(options.workers ?? Math.min(2, cpus().length), 16));
  const init: WorkerInit = { moduleUrl: moduleUrl(options.module), factory: options.factory, factoryOptions: options.factoryOptions ?? null, backend: options.backend ?? null };
  const script = workerScript();
  const handles: WorkerHandle[] = [];
  const backends: string[] = [];
  let nextId = 1;
  const failAll = (h: WorkerHandle, err: Error) => {
    for (const p of h.pending.values()) p.reject(err);
    h.pending.clear();
  };
  await Promise.all(
    Array.from({ length: count }, async () => {
      const worker = new Worker(script.entry, { workerData: init, eval: script.eval });
      const handle: WorkerHandle = { worker, pending: new Map() };
      handles.push(handle);
      await new Promise<void>((resolveReady, rejectReady) => {
        worker.once('error', rejectReady);
        worker.on('message', (m: FromWorker) => {
          if (m.type === 'ready') {
            backends.push(m.backend);
            worker.off('error', rejectReady);
            resolveReady();
          } else if (m.type === 'error' && m.id === 0) {
            rejectReady(new Error(`parallel worker failed to start: ${m.message}`));
          } else if (m.type === 'grads' || m.type === 'error') {
            const p = handle.pending.get(m.id);
            handle.pending.delete(m.id);
            if (m.type === 'error') p?.reject(new Error(`parallel worker: ${m.message}`));
            else p?.resolve(m);
          }
        });
      });
      worker.on('error', (err) => failAll(handle, err));
      worker.on('exit', (code) => failAll(handle, new Error(`parallel worker exited with code ${code}`)));
    }),
  );

  return {
    workers: count,
    backends,
    async compute({ step, indices, seed, weights }: { step: number; indices: readonly number[]; seed: number; weights: WeightMap }) {
      const names = [...weights.keys()];
      const arrays = names.map((n) => weights.get(n)!.data);
      const shards = splitShards(indices, handles.length);
      const results = await Promise.all(
        shards.map(
          (shard, i) =>
            new Promise<Extract<FromWorker, { type: 'grads' }>>((res, rej) => {
              const id = nextId++;
              const h = handles[i]!;
              h.pending.set(id, { resolve: (m) => res(m as Extract<FromWorker, { type: 'grads' }>), reject: rej });
              const msg: ToWorker = { type: 'step', id, step, indices: shard, seed: shardSeed(seed, i), names, weights: arrays };
              h.worker.postMessage(msg);
            }),
        ),
      );
      // Each shard's loss is a mean over its items, so weight shards by size to get the full batch's mean.
      const grads = new Map<string, Float32Array>();
      const losses: Record<string, number> = {};
      results.forEach((r, i) => {
        const w = shards[i]!.length / indices.length;
        names.forEach((name, k) => {
          const g = r.grads[k]!;
          let acc = grads.get(name);
          if (!acc) grads.set(name, (acc = new Float32Array(g.length)));
          if (acc.length !== g.length) throw new ShapeMismatchError(`parallel: gradient of "${name}" has ${g.length} values, expected ${acc.length}`);
          for (let j = 0; j < g.length; j++) acc[j]! += w * g[j]!;
        });
        for (const [k, v] of Object.entries(r.losses)) losses[k] = (losses[k] ?? 0) + w * v;
      });
      return { grads, losses, workerSeconds: results.map((r) => r.seconds) };
    },
    async dispose() {
      await Promise.all(
        handles.map(async (h) => {
          h.worker.postMessage({ type: 'close' } satisfies ToWorker);
          await h.worker.terminate();
        }),
      );
    },
  };
}

/** A Trainer whose gradients come from worker threads; the main thread builds the same setup for weights, optimizer and validation. */
export async function createParallelTrainer<TBatch>(
  options: Omit<TrainerOptions<TBatch>, keyof TrainingSetup<TBatch> | 'gradients'> & GradientPoolOptions,
): Promise<Trainer<TBatch>> {
  const mod = (await import(moduleUrl(options.module))) as Record<string, unknown>;
  const factory = mod[options.factory];
  if (typeof factory !== 'function') throw new ShapeMismatchError(`module ${options.module} has no exported function "${options.factory}"`);
  const setup = (await (factory as (o: JsonValue | undefined) => TrainingSetup<TBatch> | Promise<TrainingSetup<TBatch>>)(options.factoryOptions ?? undefined)) as TrainingSetup<TBatch>;
  const gradients = await createGradientPool(options);
  return new Trainer<TBatch>({ ...options, ...setup, gradients });
}
