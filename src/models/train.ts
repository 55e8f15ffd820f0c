// The training loop every Timbre model uses: seeded batch order, AdamW, validation, atomic checkpoints that
// resume bit-exactly after a crash, a losses.csv log, typed progress events and a one-line-per-interval printer.

import * as tf from '@tensorflow/tfjs';
import { appendFile, readFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { CheckpointMismatchError, InvalidModelFileError, ShapeMismatchError } from './errors.js';
import { readModelFile, saveModelFile, writeAtomic, type JsonValue, type ModelFileHeader } from './modelFile.js';
import { Rng, type Module, type WeightArray, type WeightMap } from './module.js';
import { assignFromArray } from './hostArrays.js';
import { AdamW, type AdamWOptions } from './optimizer.js';

/** A loss function's result: the scalar to minimise and named parts to log (parts are not differentiated). */
export interface LossResult {
  readonly total: tf.Scalar;
  readonly parts: Readonly<Record<string, tf.Scalar>>;
}

/** Per-step context handed to the loss: the step (1-based), a step-seeded Rng, and whether it is a training step. */
export interface StepContext {
  readonly step: number;
  readonly rng: Rng;
  readonly training: boolean;
}

/** Computes the loss of one batch; called inside a gradient tape, so it must be synchronous. */
export type LossFn<TBatch> = (batch: TBatch, ctx: StepContext) => LossResult;

/** Items addressed by index; `getBatch` builds one batch (tensors inside are disposed by the trainer). */
export interface BatchSource<TBatch> {
  readonly size: number;
  getBatch(indices: readonly number[]): TBatch | Promise<TBatch>;
}

/** What a model family provides to be trained (also what a parallel worker's factory returns). */
export interface TrainingSetup<TBatch> {
  readonly model: Module;
  readonly lossFn: LossFn<TBatch>;
  readonly train: BatchSource<TBatch>;
  readonly validation?: BatchSource<TBatch>;
}

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

/** Trainer settings: a training setup, the loop's options and the optimizer's. */
export interface TrainerOptions<TBatch> extends TrainingSetup<TBatch>, TrainingLoopOptions {
  readonly optimizer: AdamWOptions;
}

/** The options `timbre train` resolves for every model family (defaults filled in); each family extends it. */
export interface TrainRunSettings {
  /** TIMBRE_HOME (undefined: the default). */
  readonly home: string | undefined;
  readonly steps: number;
  readonly batchSize: number;
  readonly seed: number;
  /** 1 = this thread; 2 = data-parallel over two worker threads. */
  readonly workers: number;
  /** Folder of checkpoint.timbre and losses.csv; the run resumes from it when `resume`. */
  readonly runDir: string;
  readonly resume: boolean;
  readonly logEvery: number;
  readonly validateEvery: number;
  readonly checkpointEvery: number;
  /** Config overrides read from `--config FILE.json` (a preset naming only what differs; unknown keys are refused). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Notes for the user (setup summary, progress of post-training steps). */
  readonly log: (line: string) => void;
}

/** What `finish` of a prepared run needs: overwrite the model file or not, the command line and the training time. */
export interface FinishOptions {
  readonly overwrite: boolean;
  readonly command: string;
  readonly trainingSeconds: number;
}

/** A prepared `timbre train` run of one family: its trainer; `finish` writes the model file (returns lines to print). */
export interface PreparedTrainingRun<T> {
  readonly trainer: T;
  finish(result: TrainResult, outPath: string, options: FinishOptions): Promise<string[]>;
  dispose(): Promise<void>;
}

/**
 * Checks a preset's config overrides against a family's defaults: only its keys, each of the default's type (an array
 * of numbers where the default is an array). `family` names it in errors, e.g. "VAE".
 */
export function checkConfigOverrides<T extends object>(family: string, defaults: T, config: Readonly<Record<string, unknown>>): Partial<T> {
  for (const [key, value] of Object.entries(config)) {
    if (!(key in defaults)) throw new ShapeMismatchError(`${family} config has no field "${key}"; fields: ${Object.keys(defaults).join(', ')}`);
    const expected = defaults[key as keyof T] as unknown;
    const isArray = Array.isArray(expected);
    const fits = isArray ? Array.isArray(value) && value.every((v) => typeof v === 'number') : typeof value === typeof expected;
    if (!fits) throw new ShapeMismatchError(`${family} config field "${key}" must be ${isArray ? 'an array of numbers' : `a ${typeof expected}`}, received ${JSON.stringify(value)}`);
  }
  return config as Partial<T>;
}

/** The loop options a run's settings give; a trainer that validates adds `validateEvery: settings.validateEvery`. */
export function trainingLoopOptions(
  settings: Pick<TrainRunSettings, 'batchSize' | 'steps' | 'seed' | 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume'>,
): TrainingLoopOptions & Required<Pick<TrainingLoopOptions, 'seed' | 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume'>> {
  const { batchSize, steps: totalSteps, seed, logEvery, checkpointEvery, runDir, resume } = settings;
  return { batchSize, totalSteps, seed, logEvery, checkpointEvery, runDir, resume };
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

/** Runs training steps for a `TrainingSetup`, resumable from its run folder. */
export class Trainer<TBatch> extends TrainingLoop<TrainerOptions<TBatch>> {
  private readonly params: Map<string, tf.Variable>;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;
  private permutation: { epoch: number; order: number[] } | undefined;
  /** Data-parallel runs: the weights in host arrays, equal to the model's variables between steps (unset: copy them first). */
  private hostWeights: WeightMap | undefined;

  constructor(options: TrainerOptions<TBatch>) {
    super(options);
    if (options.train.size < 1) throw new ShapeMismatchError(`the training set is empty`);
    this.params = options.model.namedParameters();
    this.optimizer = new AdamW(this.params, options.optimizer);
    this.rng = new Rng(options.seed ?? 0);
  }

  override async run(): Promise<TrainResult> {
    this.hostWeights = undefined; // the variables may have been set since the last run (resume, warm start)
    return super.run();
  }

  /** Mean losses over the validation set (no gradients, in order, full batches plus the remainder). */
  async validate(step = this.stepCount): Promise<ValidationEvent> {
    const source = this.options.validation;
    if (!source) throw new ShapeMismatchError('validate() needs a validation source');
    const sums: Record<string, number> = {};
    let weight = 0;
    for (let start = 0; start < source.size; start += this.options.batchSize) {
      const indices = range(start, Math.min(source.size, start + this.options.batchSize));
      const batch = await source.getBatch(indices);
      let names: string[] = [];
      const values = tf.tidy(() => {
        const r = this.options.lossFn(batch, { step, rng: new Rng((this.options.seed ?? 0) + step), training: false });
        names = ['total', ...Object.keys(r.parts)];
        return [r.total, ...Object.values(r.parts)].map((t) => t.dataSync()[0]!);
      });
      values.forEach((v, i) => (sums[names[i]!] = (sums[names[i]!] ?? 0) + v * indices.length));
      weight += indices.length;
      tf.dispose(batch as unknown as tf.TensorContainer);
    }
    const event: ValidationEvent = { step, losses: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / weight])) };
    this.validations.push(event);
    this.emit('validation', event);
    return event;
  }

  /** Frees the optimizer state and listeners (not the model) and stops worker threads. */
  async dispose(): Promise<void> {
    this.optimizer.dispose();
    this.removeAllListeners();
    await this.options.gradients?.dispose();
  }

  private partNameList: string[] = [];

  /** Item indices of a (1-based) step: consecutive slices of a per-epoch permutation seeded by (seed, epoch). */
  batchIndices(step: number): number[] {
    const { size } = this.options.train;
    const batchSize = Math.min(this.options.batchSize, size);
    const stepsPerEpoch = Math.max(1, Math.floor(size / batchSize));
    const epoch = Math.floor((step - 1) / stepsPerEpoch);
    if (this.permutation?.epoch !== epoch) {
      const seed = ((this.options.seed ?? 0) ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
      this.permutation = { epoch, order: new Rng(seed).shuffleInPlace(range(0, size)) };
    }
    const position = ((step - 1) % stepsPerEpoch) * batchSize;
    return this.permutation.order.slice(position, position + batchSize);
  }

  protected async trainStep(step: number): Promise<StepOutcome> {
    const indices = this.batchIndices(step);
    const seed = this.rng.nextUint32();
    let grads: Map<string, tf.Tensor>;
    let lossTensors: tf.Scalar[] = [];
    if (this.options.gradients) {
      // Data-parallel: weights and gradients live in JS, so the update runs there too (no device round trip). The
      // weights stay in host arrays (the provider's, when it offers them) between steps, updated in place.
      const host = (this.hostWeights ??= this.copyWeightsToHost(this.options.gradients));
      const res = await this.options.gradients.compute({ step, indices, seed, weights: host, modelHoldsWeights: true });
      const arrays = new Map([...host].map(([name, w]) => [name, w.data] as const));
      const update = this.optimizer.applyToArrays(arrays, res.grads, res.gradSquaredSum);
      for (const [name, p] of this.params) assignFromArray(p, arrays.get(name)!);
      return { losses: res.losses, learningRate: update.learningRate, gradNorm: update.gradNorm };
    } else {
      const batch = await this.options.train.getBatch(indices);
      const ctx: StepContext = { step, rng: new Rng(seed), training: true };
      let parts: Record<string, tf.Scalar> = {};
      const varList = [...this.params.values()];
      const { value, grads: byVarName } = tf.variableGrads(() => {
        const r = this.options.lossFn(batch, ctx);
        parts = r.parts;
        for (const t of Object.values(parts)) tf.keep(t);
        return r.total;
      }, varList);
      this.partNameList = Object.keys(parts);
      grads = new Map([...this.params].map(([name, p]) => [name, byVarName[p.name]!]));
      lossTensors = [value, ...Object.values(parts)];
      tf.dispose(batch as unknown as tf.TensorContainer);
    }
    const learningRate = this.optimizer.nextLearningRate();
    const update = this.optimizer.apply(grads);
    const packed = tf.tidy(() => tf.stack([...lossTensors.map((t) => t.reshape([])), update.gradNorm]));
    const values = await packed.data();
    tf.dispose([packed, update.gradNorm, ...lossTensors, ...grads.values()]);
    const gradNorm = values[values.length - 1]!;
    const losses: Record<string, number> = { total: values[0]! };
    this.partNameList.forEach((name, i) => (losses[name] = values[i + 1]!));
    return { losses, learningRate, gradNorm };
  }

  /** The model's current weights in host arrays: the provider's `weightArrays` when it has them, else new ones. */
  private copyWeightsToHost(provider: GradientProvider): WeightMap {
    const host: WeightMap = new Map();
    for (const [name, w] of this.options.model.getWeights()) {
      const target = provider.weightArrays?.get(name);
      if (target && target.length === w.data.length) {
        target.set(w.data);
        host.set(name, { data: target, shape: w.shape });
      } else host.set(name, w);
    }
    return host;
  }

  protected override async validateAt(step: number): Promise<void> {
    if (this.options.validation) await this.validate(step);
  }

  protected async writeCheckpoint(runDir: string): Promise<void> {
    const state = this.optimizer.getState();
    await this.saveCheckpoint(
      runDir,
      {
        trainingDataHash: '',
        validationMetrics: this.validations.length > 0 ? { ...this.validations[this.validations.length - 1]!.losses } : {},
        extra: {
          step: this.stepCount,
          optimizerStep: state.step,
          rngState: this.rng.getState().map((v) => (Number.isNaN(v) ? null : v)),
          history: this.history as unknown as JsonValue,
          validation: this.validations as unknown as JsonValue,
          csvColumns: this.csvColumns ?? null,
        },
      },
      checkpointWeights(this.options.model, [['m:', state.m], ['v:', state.v]]),
    );
  }

  protected async tryResume(runDir: string): Promise<void> {
    const checkpoint = await this.readCheckpoint(
      runDir,
      (header, path) => {
        if (header.kind !== 'checkpoint') throw new CheckpointMismatchError(`${path} is a "${header.kind}" file, not a training checkpoint`);
      },
      'use a new run folder or the same settings',
    );
    if (!checkpoint) return;
    const { path, header, pick } = checkpoint;
    this.options.model.setWeights(pick('param:'), path);
    const extra = header.extra as unknown as { step: number; optimizerStep: number; rngState: (number | null)[]; history: LossHistoryRow[]; validation: ValidationEvent[]; csvColumns: string[] | null };
    this.optimizer.setState({ step: extra.optimizerStep, m: pick('m:'), v: pick('v:') });
    this.rng.setState(extra.rngState.map((v) => v ?? Number.NaN));
    await this.restoreLog(runDir, extra);
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** "4m05s" style duration. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Losses as printed: "total 0.4123 recon 0.3000" (4 significant digits, in their order). */
export function formatLosses(losses: Losses): string {
  return Object.entries(losses).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(' ');
}

/** One progress line: "step 120/1000 | total 0.4123 recon 0.3000 | lr 1.00e-3 | 3.21 steps/s | ETA 4m35s". */
export function formatProgressLine(e: StepEvent): string {
  return `step ${e.step}/${e.totalSteps} | ${formatLosses(e.losses)} | lr ${e.learningRate.toExponential(2)} | ${e.stepsPerSecond.toFixed(2)} steps/s | ETA ${formatDuration(e.etaSeconds)}`;
}

/** Prints one line per log interval (and validations); returns the unsubscribe. */
export function attachProgressPrinter(trainer: Trainer<unknown> | TypedEmitter<TrainerEvents>, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): () => void {
  const offs = [
    trainer.on('log', (e) => write(formatProgressLine(e))),
    trainer.on('validation', (e) => write(`validation @ step ${e.step} | ${formatLosses(e.losses)}`)),
  ];
  return () => offs.forEach((off) => off());
}
