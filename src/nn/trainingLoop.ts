// The step loop every trainer shares: log intervals, losses.csv, atomic checkpoints that resume bit-exactly after a
// crash, cancel, and typed progress events (`TypedEmitter`); `Trainer` (train.ts) and CycleGAN-VC's GAN loop extend it.

import { appendFile, readFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { CheckpointMismatchError, InvalidModelFileError, ShapeMismatchError } from './errors.js';
import { readModelFile, saveModelFile, writeAtomic, type JsonValue, type ModelFileHeader } from './modelFile.js';
import type { Module, WeightArray, WeightMap } from './module.js';

/** Gradients computed elsewhere (worker threads); weights are sent each step, gradients come back averaged. */
export interface GradientProvider {
  /**
   * Host arrays the provider reads each step's weights from (e.g. views of a block shared with workers), one per
   * parameter. A Trainer keeps its weights in them and updates them in place, so no weights are copied per step.
   */
  readonly weightArrays?: ReadonlyMap<string, Float32Array>;
  compute(request: {
    step: number;
    indices: readonly number[];
    seed: number;
    weights: WeightMap;
    /** True when the caller's model (a provider's main-thread replica, when it is that model) already holds `weights`. */
    modelHoldsWeights?: boolean;
  }): Promise<{
    grads: Map<string, Float32Array>;
    losses: Record<string, number>;
    /** Σ g² over every averaged gradient value, when the provider summed it while averaging (saves a pass). */
    gradSquaredSum?: number;
    /** Seconds each worker spent on its shard (for overhead measurements). */
    workerSeconds?: number[];
  }>;
  dispose(): Promise<void>;
}

/** What every training loop is told; defaults: seed 0, logEvery 10, validateEvery 0 (never), checkpointEvery 100, resume true. */
export interface TrainingLoopOptions {
  readonly batchSize: number;
  readonly totalSteps: number;
  readonly seed?: number;
  readonly logEvery?: number;
  readonly validateEvery?: number;
  readonly checkpointEvery?: number;
  /** Folder for checkpoint.timbre and losses.csv; without it nothing is written. */
  readonly runDir?: string;
  /** Continue from runDir/checkpoint.timbre when it exists (default true). */
  readonly resume?: boolean;
  /** Free-form description of the run saved in checkpoints (model config etc.); resuming requires it to match. */
  readonly runConfig?: { readonly [key: string]: JsonValue };
  readonly gradients?: GradientProvider;
}

/** Losses of one step or the mean over a log interval; `total` plus every part. */
export type Losses = Readonly<Record<string, number>>;

/** One row of a run's loss history: the mean losses of a log interval and its last step. */
export type LossHistoryRow = Losses & { step: number };

/** Payload of `step` and `log` events. */
export interface StepEvent {
  readonly step: number;
  readonly totalSteps: number;
  readonly losses: Losses;
  readonly learningRate: number;
  readonly gradNorm: number;
  readonly stepsPerSecond: number;
  readonly etaSeconds: number;
}

/** Payload of `validation` events: mean losses over the validation set. */
export interface ValidationEvent {
  readonly step: number;
  readonly losses: Losses;
}

/** Payload of `checkpoint` events. */
export interface CheckpointEvent {
  readonly step: number;
  readonly path: string;
}

/** Payload of `done` and `cancelled`: where the run stopped and its loss history (one row per log interval). */
export interface TrainResult {
  readonly step: number;
  readonly totalSteps: number;
  readonly history: readonly LossHistoryRow[];
  readonly validation: readonly ValidationEvent[];
  readonly cancelled: boolean;
}

/** Event map of a training run (wavesurfer.js style: name → argument tuple). */
export interface TrainerEvents {
  step: [StepEvent];
  log: [StepEvent];
  validation: [ValidationEvent];
  checkpoint: [CheckpointEvent];
  done: [TrainResult];
  cancelled: [TrainResult];
}

/** Minimal typed emitter: `on` returns its own unsubscribe. */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Set<unknown>>();

  /** Subscribes `callback` to `event`; returns the unsubscribe function. */
  on<K extends keyof E>(event: K, callback: (...args: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(callback);
    return () => void set.delete(callback);
  }

  /** Number of listeners of `event`, or of all events. */
  listenerCount(event?: keyof E): number {
    if (event !== undefined) return this.listeners.get(event)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) (cb as (...a: E[K]) => void)(...args);
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}

/** File names inside a run folder. */
export const CHECKPOINT_FILE = 'checkpoint.timbre';
export const LOSSES_FILE = 'losses.csv';

/** What one training step reports. */
export interface StepOutcome {
  readonly losses: Losses;
  readonly learningRate: number;
  readonly gradNorm: number;
}

/** The header fields a trainer's checkpoint sets itself; the rest (kind, settings, mel config) is common. */
export interface CheckpointContents {
  readonly trainingDataHash: string;
  readonly validationMetrics: { [key: string]: number };
  readonly extra: { [key: string]: JsonValue };
}

/** What a checkpoint records of the log, so a resumed run continues its history and losses.csv. */
export interface SavedLog {
  readonly step: number;
  readonly history: LossHistoryRow[];
  readonly validation?: ValidationEvent[];
  readonly csvColumns: string[] | null;
}

/** Checkpoint tensors: the model's weights as `param:NAME`, then each optimizer moment map under its prefix (`m:NAME`). */
export function checkpointWeights(model: Module, moments: readonly (readonly [prefix: string, ReadonlyMap<string, WeightArray>])[]): Map<string, WeightArray> {
  const weights = new Map<string, WeightArray>();
  for (const [name, w] of model.getWeights()) weights.set(`param:${name}`, w);
  for (const [prefix, map] of moments) for (const [name, w] of map) weights.set(`${prefix}${name}`, w);
  return weights;
}

/**
 * The step loop every trainer shares: log intervals, losses.csv, periodic and final checkpoints, cancel and progress
 * events. A trainer supplies its step and what its checkpoint holds.
 */
export abstract class TrainingLoop<O extends TrainingLoopOptions> extends TypedEmitter<TrainerEvents> {
  readonly options: O;
  protected stepCount = 0;
  protected cancelRequested = false;
  protected history: LossHistoryRow[] = [];
  protected validations: ValidationEvent[] = [];
  protected csvColumns: string[] | undefined;

  constructor(options: O) {
    super();
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new ShapeMismatchError(`batchSize must be a positive integer, received ${options.batchSize}`);
    if (!(Number.isInteger(options.totalSteps) && options.totalSteps >= 1)) throw new ShapeMismatchError(`totalSteps must be a positive integer, received ${options.totalSteps}`);
    this.options = options;
  }

  /** Steps completed so far (after a resume, the checkpoint's step). */
  get step(): number {
    return this.stepCount;
  }

  /** Asks the run to stop after the current step; it then writes a checkpoint and emits `cancelled`. */
  cancel(): void {
    this.cancelRequested = true;
  }

  /** Trains until `totalSteps` (or cancel), resuming from the run folder's checkpoint when there is one. */
  async run(): Promise<TrainResult> {
    const { runDir, totalSteps } = this.options;
    if (runDir) {
      mkdirSync(runDir, { recursive: true });
      if (this.options.resume !== false) await this.tryResume(runDir);
    }
    const logEvery = this.options.logEvery ?? 10;
    const validateEvery = this.options.validateEvery ?? 0;
    const checkpointEvery = this.options.checkpointEvery ?? 100;
    const started = performance.now();
    const startStep = this.stepCount;
    let interval: { sums: Record<string, number>; count: number } = { sums: {}, count: 0 };
    let lastCheckpoint = this.stepCount;
    while (this.stepCount < totalSteps && !this.cancelRequested) {
      const step = this.stepCount + 1;
      const { losses, learningRate, gradNorm } = await this.trainStep(step);
      this.stepCount = step;
      for (const [k, v] of Object.entries(losses)) interval.sums[k] = (interval.sums[k] ?? 0) + v;
      interval.count++;
      const stepsPerSecond = (step - startStep) / Math.max(1e-9, (performance.now() - started) / 1000);
      const event: StepEvent = { step, totalSteps, losses, learningRate, gradNorm, stepsPerSecond, etaSeconds: (totalSteps - step) / stepsPerSecond };
      this.emit('step', event);
      if (step % logEvery === 0 || step === totalSteps || this.cancelRequested) {
        const mean = Object.fromEntries(Object.entries(interval.sums).map(([k, v]) => [k, v / interval.count]));
        interval = { sums: {}, count: 0 };
        this.history.push({ step, ...mean });
        if (runDir) await this.appendCsv(runDir, step, mean, learningRate);
        this.emit('log', { ...event, losses: mean });
      }
      if (validateEvery > 0 && step % validateEvery === 0) await this.validateAt(step);
      if (runDir && checkpointEvery > 0 && step % checkpointEvery === 0 && step < totalSteps) {
        await this.writeCheckpoint(runDir);
        lastCheckpoint = step;
      }
    }
    if (runDir && lastCheckpoint !== this.stepCount) await this.writeCheckpoint(runDir);
    const cancelled = this.stepCount < totalSteps;
    const result: TrainResult = { step: this.stepCount, totalSteps, history: [...this.history], validation: [...this.validations], cancelled };
    this.emit(cancelled ? 'cancelled' : 'done', result);
    return result;
  }

  /** Runs training step `step` (1-based) and returns its losses. */
  protected abstract trainStep(step: number): Promise<StepOutcome>;

  /** Called every `validateEvery` steps; trainers without a validation set keep this no-op. */
  protected async validateAt(_step: number): Promise<void> {}

  /** Writes runDir/checkpoint.timbre (via `saveCheckpoint`). */
  protected abstract writeCheckpoint(runDir: string): Promise<void>;

  /** Restores the state of runDir/checkpoint.timbre when there is one (via `readCheckpoint` and `restoreLog`). */
  protected abstract tryResume(runDir: string): Promise<void>;

  private async appendCsv(runDir: string, step: number, losses: Losses, learningRate: number): Promise<void> {
    const path = join(runDir, LOSSES_FILE);
    if (!this.csvColumns) {
      this.csvColumns = Object.keys(losses);
      await writeAtomic(path, `step,${this.csvColumns.join(',')},learning_rate\n`, { overwrite: true });
    }
    const row = [step, ...this.csvColumns.map((c) => losses[c] ?? Number.NaN), learningRate].map(String).join(',');
    await appendFile(path, `${row}\n`);
  }

  /** The settings a checkpoint must share with the run that resumes it. */
  protected checkpointHyperparameters(): { [key: string]: JsonValue } {
    // batchSize/totalSteps/seed first: `timbre train` reads them to explain a refused resume.
    return { batchSize: this.options.batchSize, totalSteps: this.options.totalSteps, seed: this.options.seed ?? 0, run: this.options.runConfig ?? null };
  }

  /** Saves `weights` and `contents` as runDir/checkpoint.timbre (temp file, then moved into place) and emits `checkpoint`. */
  protected async saveCheckpoint(runDir: string, contents: CheckpointContents, weights: ReadonlyMap<string, WeightArray>): Promise<void> {
    const path = join(runDir, CHECKPOINT_FILE);
    await saveModelFile(
      path,
      {
        kind: 'checkpoint',
        kindVersion: 1,
        melConfig: MEL_CONFIG,
        hyperparameters: this.checkpointHyperparameters(),
        speakers: [],
        normalization: null,
        trainingDataHash: contents.trainingDataHash,
        validationMetrics: contents.validationMetrics,
        extra: contents.extra,
      },
      weights,
      { overwrite: true },
    );
    this.emit('checkpoint', { step: this.stepCount, path });
  }

  /**
   * Reads runDir/checkpoint.timbre (undefined when there is none); `checkKind` refuses another trainer's file, and
   * settings other than this run's are refused with a message ending in `advice`.
   */
  protected async readCheckpoint(
    runDir: string,
    checkKind: (header: ModelFileHeader, path: string) => void,
    advice: string,
  ): Promise<{ path: string; header: ModelFileHeader; pick: (prefix: string) => WeightMap } | undefined> {
    const path = join(runDir, CHECKPOINT_FILE);
    let file: Awaited<ReturnType<typeof readModelFile>>;
    try {
      file = await readModelFile(path);
    } catch (err) {
      if (err instanceof InvalidModelFileError && /ENOENT/.test(err.message)) return undefined;
      throw err;
    }
    const { header, weights } = file;
    checkKind(header, path);
    const expected = JSON.stringify(this.checkpointHyperparameters());
    if (JSON.stringify(header.hyperparameters) !== expected) {
      throw new CheckpointMismatchError(`${path} was written by a run with settings ${JSON.stringify(header.hyperparameters)}, this run has ${expected}; ${advice}`);
    }
    const pick = (prefix: string): WeightMap => {
      const out: WeightMap = new Map();
      for (const [name, w] of weights) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), w);
      return out;
    };
    return { path, header, pick };
  }

  /**
   * Takes the step, history and csv columns of a checkpoint and drops losses.csv rows written after it (a crash between
   * log and checkpoint would duplicate them); a missing losses.csv is written again from the history.
   */
  protected async restoreLog(runDir: string, saved: SavedLog): Promise<void> {
    this.stepCount = saved.step;
    this.history = [...saved.history];
    if (saved.validation) this.validations = [...saved.validation];
    this.csvColumns = saved.csvColumns ?? undefined;
    const path = join(runDir, LOSSES_FILE);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) {
      if (this.csvColumns) {
        const rows = this.history.map((h) => [h.step, ...this.csvColumns!.map((c) => h[c] ?? Number.NaN), ''].join(','));
        await writeAtomic(path, `step,${this.csvColumns.join(',')},learning_rate\n${rows.map((r) => `${r}\n`).join('')}`, { overwrite: true });
      }
      return;
    }
    const [header, ...rows] = text.split('\n').filter((l) => l.length > 0);
    const kept = rows.filter((r) => Number(r.split(',')[0]) <= saved.step);
    if (kept.length !== rows.length) await writeAtomic(path, [header, ...kept].map((l) => `${l}\n`).join(''), { overwrite: true });
  }
}
