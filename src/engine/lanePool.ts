// Conversion lanes on more than one core: each worker thread (laneWorker.ts) has its own wasm backend, model registry
// and vocoder, and runs one lane step at a time (a model's conversion, or a converted log-mel's rendering through the
// vocoder); the engine's own thread runs steps beside it (in the order laneSchedule.ts gives). tfjs's wasm backend
// runs one thread, so without this a second core idles while `compare` converts four lanes one after another.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LogMel } from '../audio/mel.js';
import type { ConversionTarget } from '../models/converter.js';
import { workerEntry } from '../nn/workerEntry.js';
import type { EngineErrorInfo, ModelSettings } from './api.js';
import { CancelledError, EngineError, fromErrorInfo } from './errors.js';
import type { ConvertedMel, LaneAudio, LaneStage } from './pipeline.js';

/** The vocoder a worker's lane ends in. */
export type LaneVocoder = { readonly kind: 'griffin-lim'; readonly iterations: number } | { readonly kind: 'neural' };

/** What a worker is given at start. */
export interface LaneWorkerInit {
  readonly home: string | null;
}

/** A lane's first step for a worker: a model of the registry over the source's log-mel, for the target with the settings. */
export interface LaneConvertTask {
  readonly modelId: string;
  readonly source: { readonly logMel: LogMel };
  readonly target: ConversionTarget;
  readonly settings: ModelSettings;
}

/** A lane's second step for a worker: the converted log-mel through the vocoder, matched to the source's loudness. */
export interface LaneRenderTask {
  readonly converted: ConvertedMel;
  readonly sourceSpeech: Float32Array;
  readonly vocoder: LaneVocoder;
}

export type ToLaneWorker =
  | ({ type: 'convert'; id: number } & LaneConvertTask)
  | ({ type: 'render'; id: number } & LaneRenderTask)
  | { type: 'cancel'; id: number }
  | { type: 'reload'; modelId: string }
  | { type: 'close' };

export type FromLaneWorker =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: number; stage: LaneStage; fraction: number }
  | { type: 'converted'; id: number; converted: ConvertedMel }
  | { type: 'rendered'; id: number; audio: LaneAudio }
  | { type: 'failed'; id: number; cancelled: boolean; error: EngineErrorInfo };

/** Worker threads beside the engine's own: one per further core, at most `limit` (TIMBRE_LANE_WORKERS overrides). */
export function defaultLaneWorkers(env: NodeJS.ProcessEnv = process.env, limit = 1): number {
  const given = env['TIMBRE_LANE_WORKERS'];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!(Number.isInteger(n) && n >= 0 && n <= 16)) throw new EngineError('INVALID_ARGUMENT', `TIMBRE_LANE_WORKERS must be a whole number 0–16, received "${given}"`);
    return n;
  }
  return Math.max(0, Math.min(limit, availableParallelism() - 1));
}

type StepResult = Extract<FromLaneWorker, { type: 'converted' | 'rendered' }>;

interface Pending {
  resolve: (result: StepResult) => void;
  reject: (error: Error) => void;
  onProgress: ((stage: LaneStage, fraction: number) => void) | undefined;
}

interface StepOptions {
  signal?: AbortSignal;
  onProgress?: (stage: LaneStage, fraction: number) => void;
}

/** Worker threads that run lanes' steps; they start on first use and load each model once. */
export class LanePool {
  readonly size: number;
  private readonly home: string | undefined;
  private workers: { worker: Worker; ready: Promise<void>; pending: Map<number, Pending> }[] | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: { home: string | undefined; workers: number }) {
    this.home = options.home;
    this.size = options.workers;
  }

  /** The first step of a lane on worker `slot` (0 ≤ slot < size); cancelled through `signal` with `CancelledError`. */
  async convert(slot: number, task: LaneConvertTask, options: StepOptions = {}): Promise<ConvertedMel> {
    const result = await this.step(slot, { type: 'convert', id: 0, ...task }, options);
    if (result.type !== 'converted') throw new EngineError('INTERNAL', `a lane worker answered a conversion with "${result.type}"`);
    return result.converted;
  }

  /** The second step of a lane on worker `slot`; cancelled through `signal` with `CancelledError`. */
  async render(slot: number, task: LaneRenderTask, options: StepOptions = {}): Promise<LaneAudio> {
    const result = await this.step(slot, { type: 'render', id: 0, ...task }, options);
    if (result.type !== 'rendered') throw new EngineError('INTERNAL', `a lane worker answered a rendering with "${result.type}"`);
    return result.audio;
  }

  private async step(slot: number, message: Extract<ToLaneWorker, { type: 'convert' | 'render' }>, options: StepOptions): Promise<StepResult> {
    if (this.closed) throw new EngineError('INTERNAL', 'the lane workers were closed');
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.size)) throw new EngineError('INTERNAL', `lane worker ${slot} does not exist (${this.size} workers)`);
    if (options.signal?.aborted) throw new CancelledError();
    const handle = this.start()[slot]!;
    await handle.ready;
    const id = this.nextId++;
    return new Promise<StepResult>((resolve, reject) => {
      const cancel = (): void => handle.worker.postMessage({ type: 'cancel', id } satisfies ToLaneWorker);
      const done = (): void => {
        options.signal?.removeEventListener('abort', cancel);
        if (handle.pending.size === 0) handle.worker.unref();
      };
      handle.pending.set(id, { resolve: (result) => (done(), resolve(result)), reject: (error) => (done(), reject(error)), onProgress: options.onProgress });
      handle.worker.ref(); // a running step keeps the process alive; an idle worker does not
      options.signal?.addEventListener('abort', cancel, { once: true });
      handle.worker.postMessage({ ...message, id } satisfies ToLaneWorker);
    });
  }

  /** A model file was rewritten: every worker drops its loaded copy and rescans. */
  reload(modelId: string): void {
    for (const h of this.workers ?? []) h.worker.postMessage({ type: 'reload', modelId } satisfies ToLaneWorker);
  }

  /** Stops the workers; lanes still running end with CancelledError. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(
      workers.map(async (h) => {
        for (const p of h.pending.values()) p.reject(new CancelledError());
        h.pending.clear();
        h.worker.postMessage({ type: 'close' } satisfies ToLaneWorker);
        const exited = new Promise<void>((resolve) => h.worker.once('exit', () => resolve()));
        const timer = setTimeout(() => void h.worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private start(): NonNullable<LanePool['workers']> {
    if (this.workers !== undefined) return this.workers;
    const script = workerEntry(import.meta.url, 'laneWorker');
    this.workers = Array.from({ length: this.size }, () => {
      const worker = new Worker(script.entry, { eval: script.eval, workerData: { home: this.home ?? null } satisfies LaneWorkerInit });
      worker.unref(); // an idle pool never keeps the process alive (run() refs it while a lane runs)
      const pending = new Map<number, Pending>();
      const failAll = (error: Error): void => {
        for (const p of pending.values()) p.reject(error);
        pending.clear();
      };
      const ready = new Promise<void>((resolve, reject) => {
        worker.on('message', (m: FromLaneWorker) => {
          if (m.type === 'ready') return resolve();
          if (m.type === 'failed' && m.id === 0) return reject(fromErrorInfo({ ...m.error, message: `the lane worker failed to start: ${m.error.message}` }));
          const p = pending.get(m.id);
          if (p === undefined) return;
          if (m.type === 'progress') return p.onProgress?.(m.stage, m.fraction);
          pending.delete(m.id);
          if (m.type === 'failed') p.reject(m.cancelled ? new CancelledError() : fromErrorInfo(m.error));
          else p.resolve(m);
        });
        worker.on('error', (error) => {
          reject(error);
          failAll(new EngineError('INTERNAL', `a lane worker stopped: ${error.message}`));
        });
        worker.on('exit', (code) => {
          if (!this.closed) failAll(new EngineError('INTERNAL', `a lane worker exited with code ${code}`));
        });
      });
      ready.catch(() => undefined); // awaited by run(); an unused pool that fails to start is not an unhandled rejection
      return { worker, ready, pending };
    });
    return this.workers;
  }
}
