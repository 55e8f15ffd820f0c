// The training loop of one model: seeded batch order, AdamW, validation and checkpoints (the loop itself is
// trainingLoop.ts); what a model family hands it is a `TrainingSetup`: model, loss and batch sources.

import * as tf from '@tensorflow/tfjs';
import { CheckpointMismatchError, ShapeMismatchError } from './errors.js';
import type { JsonValue } from './modelFile.js';
import { Rng, type Module, type WeightMap } from './module.js';
import { assignFromArray } from './hostArrays.js';
import { AdamW, type AdamWOptions } from './optimizer.js';
import {
  checkpointWeights,
  TrainingLoop,
  type GradientProvider,
  type LossHistoryRow,
  type StepOutcome,
  type TrainingLoopOptions,
  type TrainResult,
  type ValidationEvent,
} from './trainingLoop.js';

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

/** Trainer settings: a training setup, the loop's options and the optimizer's. */
export interface TrainerOptions<TBatch> extends TrainingSetup<TBatch>, TrainingLoopOptions {
  readonly optimizer: AdamWOptions;
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
      // A parameter the loss does not reach (e.g. a head another objective uses) gets a zero gradient, as in parallel.ts.
      grads = new Map([...this.params].map(([name, p]) => [name, byVarName[p.name] ?? tf.zerosLike(p)]));
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
