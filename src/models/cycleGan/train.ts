// Training of one CycleGAN-VC pair: crop domains (pooled corpus voices, one voice, a user's recordings), a GAN
// loop with separate generator/discriminator AdamW, checkpoints of all nets + both optimizers, resume, losses.csv.

import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { openCorpusDataset, type CorpusDataset } from '../../corpus/dataset.js';
import { manifestHash } from '../../corpus/manifest.js';
import { createRng } from '../../corpus/rng.js';
import { splitHeldOut, voiceMels } from '../../corpus/userVoices.js';
import { CORPUS_VOICES } from '../../corpus/voices.js';
import { CheckpointMismatchError, ShapeMismatchError } from '../../nn/errors.js';
import { meanLogF0OfMels } from '../pitch.js';
import { readModelFile, type JsonValue } from '../../nn/modelFile.js';
import { Rng, type WeightMap } from '../../nn/module.js';
import { AdamW, type LearningRateSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { checkpointWeights, TrainingLoop, type GradientProvider, type LossHistoryRow, type StepOutcome, type TrainingLoopOptions } from '../../nn/trainingLoop.js';
import { formatLosses, trainingLoopOptions, type TrainRunSettings, type PreparedTrainingRun } from '../../nn/trainRun.js';
import type { TrainingSetup } from '../../nn/train.js';
import { ANY_VOICE, CYCLE_GAN_KIND, CycleGan, cycleGanLoss, createCycleGan, DEFAULT_CYCLE_GAN_CONFIG, fillInFramesMask, type CycleGanBatch, type CycleGanConfig, type CycleGanNormalization } from './model.js';
import { loadCycleGanModel, nearestPairByPitch, saveCycleGanModel } from './convert.js';

/** Training hyperparameters of a pair (published MaskCycleGAN-VC values noted). */
export interface CycleGanTrainConfig {
  /** Frames per training crop (published 64). */
  readonly cropFrames: number;
  /** Longest filled-in span, frames (published 25 of 64). */
  readonly maxMaskFrames: number;
  /** λ of the cycle loss (published 10). */
  readonly lambdaCycle: number;
  /** λ of the identity loss (published 5). */
  readonly lambdaIdentity: number;
  /** Fraction of the steps with the identity loss on (published 10⁴ of 5·10⁵). */
  readonly identityFraction: number;
  /** CycleGAN-VC2's second adversarial loss on cycled mels (two more discriminators; +30 % step time on wasm). */
  readonly secondAdversarial: boolean;
  /** Adam learning rates (published 2e-4 generator, 1e-4 discriminator) and β1 (published 0.5). */
  readonly learningRateG: number;
  readonly learningRateD: number;
  readonly beta1: number;
  /** Learning rates stay constant until this fraction of the steps, then fall linearly to 10 %. */
  readonly decayFrom: number;
}

/** CPU defaults. */
export const DEFAULT_CYCLE_GAN_TRAIN_CONFIG: CycleGanTrainConfig = Object.freeze({
  cropFrames: 64,
  maxMaskFrames: 25,
  lambdaCycle: 10,
  lambdaIdentity: 5,
  identityFraction: 0.3,
  secondAdversarial: false,
  learningRateG: 2e-4,
  learningRateD: 1e-4,
  beta1: 0.5,
  decayFrom: 0.5,
});

/** A source of normalised training crops for one domain. */
export interface CropDomain {
  /** "any", a corpus voice id or a user voice name. */
  readonly name: string;
  /** Voices the crops come from. */
  readonly voices: readonly string[];
  /** Speech available, seconds. */
  readonly seconds: number;
  /** Writes one normalised crop [frames × mels] chosen by `seed` into `out` at `offset`. */
  crop(seed: number, frames: number, out: Float32Array, offset: number): void;
  /** Mean ln F0 of the domain's speech (`meanLogF0OfMels` of up to 60 utterances); what conversion normalises toward. */
  meanLogF0(): number;
}

/** Utterances a domain's mean F0 is measured on. */
const F0_UTTERANCES = 60;

/** Crops from a corpus dataset (its voices, its splits), normalised with the corpus statistics. */
export function corpusCropDomain(name: string, dataset: CorpusDataset): CropDomain {
  return {
    name,
    voices: dataset.voices.map((v) => v.id),
    seconds: dataset.utterances.reduce((s, u) => s + u.durationSeconds, 0),
    crop(seed, frames, out, offset) {
      out.set(dataset.batch(createRng(seed), { batchSize: 1, frames }).mel, offset);
    },
    meanLogF0: () => meanLogF0OfMels(dataset.utterances.slice(0, F0_UTTERANCES).map((u) => dataset.mel(u.voice, u.sentence))),
  };
}

/** Crops from whole log-mels (a user's recordings), normalised with `normalization`; clips chosen by length. */
export function melListCropDomain(name: string, mels: readonly LogMel[], normalization: CycleGanNormalization): CropDomain {
  const { mean, std } = normalization;
  const usable = mels.filter((m) => m.frames > 0);
  if (usable.length === 0) throw new InvalidArgumentError(`voice "${name}" has no audio to train on`);
  const clips = usable.map((m) => {
    const data = new Float32Array(m.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (m.data[i]! - mean[i % m.mels]!) / std[i % m.mels]!;
    return { frames: m.frames, mels: m.mels, data };
  });
  const totalFrames = clips.reduce((s, c) => s + c.frames, 0);
  const floor = Math.log(MEL_CONFIG.logFloor);
  return {
    name,
    voices: [name],
    meanLogF0: () => meanLogF0OfMels(usable.slice(0, F0_UTTERANCES)),
    seconds: (totalFrames * MEL_CONFIG.hopSamples) / MEL_CONFIG.sampleRateHz,
    crop(seed, frames, out, offset) {
      const rng = createRng(seed);
      let pick = rng.int(totalFrames);
      let clip = clips[0]!;
      for (const c of clips) {
        clip = c;
        if (pick < c.frames) break;
        pick -= c.frames;
      }
      const start = clip.frames > frames ? rng.int(clip.frames - frames + 1) : 0;
      const length = Math.min(frames, clip.frames);
      const mels = clip.mels;
      out.set(clip.data.subarray(start * mels, (start + length) * mels), offset);
      for (let t = length; t < frames; t++) for (let k = 0; k < mels; k++) out[offset + t * mels + k] = (floor - mean[k]!) / std[k]!;
    },
  };
}

/** What a pair is trained from (JSON, so worker threads can rebuild it). */
export interface CycleGanSetupOptions {
  /** Voice the pair converts to: a corpus voice id or a user voice name. */
  readonly target: string;
  /** "any" (all corpus voices except the target, default), a corpus voice id, or a user voice name. */
  readonly source?: string;
  readonly home?: string;
  readonly corpusRoot?: string;
  readonly config?: Partial<CycleGanConfig>;
  readonly train?: Partial<CycleGanTrainConfig>;
  /** Seed of initialisation and data (default 0). */
  readonly seed?: number;
  /** Total steps of the run (the identity cut-off is a fraction of it); default 1. */
  readonly steps?: number;
}

/** A pair ready to train: the nets, both domains, the joint loss and a batch source addressed by item index. */
export interface CycleGanTrainingSetup extends TrainingSetup<CycleGanBatch> {
  readonly model: CycleGan;
  readonly config: CycleGanConfig;
  readonly trainConfig: CycleGanTrainConfig;
  readonly domainA: CropDomain;
  readonly domainB: CropDomain;
  readonly normalization: CycleGanNormalization;
  readonly corpusHash: string;
}

/** Mixes integers into one 32-bit seed (murmur-style finaliser). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Checks override keys against the defaults, so a typo in a preset is an error, not a silent default. */
function withOverrides<T extends object>(defaults: T, overrides: Partial<T> | undefined, what: string): T {
  for (const key of Object.keys(overrides ?? {})) {
    if (!(key in defaults)) throw new InvalidArgumentError(`${what}: unknown setting "${key}"; known: ${Object.keys(defaults).join(', ')}`);
  }
  return { ...defaults, ...(overrides ?? {}) };
}

/** Builds nets, domains and loss of a pair; also the factory parallel workers call (by export name). */
export async function createCycleGanTrainingSetup(options: CycleGanSetupOptions): Promise<CycleGanTrainingSetup> {
  const config = withOverrides(DEFAULT_CYCLE_GAN_CONFIG, options.config, 'CycleGAN-VC config');
  const trainConfig = withOverrides(DEFAULT_CYCLE_GAN_TRAIN_CONFIG, options.train, 'CycleGAN-VC training config');
  const where = options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : options.home !== undefined ? { home: options.home } : {};
  const target = options.target;
  const source = options.source ?? ANY_VOICE;
  if (source === target) throw new InvalidArgumentError(`--from and --to are both "${target}"; a pair needs two different voices`);
  // The normalisation is the corpus train split's statistics (every pair shares them), also for a user-voice target.
  const corpusTrain = openCorpusDataset({ ...where, split: 'train' });
  const corpusIds = new Set(corpusTrain.manifest.voices.map((v) => v.id));
  const isCorpusVoice = (id: string): boolean => corpusIds.has(id) || CORPUS_VOICES.some((v) => v.id === id);
  const stats = corpusTrain.melStats();
  const normalization: CycleGanNormalization = { mean: stats.mean, std: stats.std };
  const userMels = async (name: string): Promise<LogMel[]> => voiceMels(name, { ...(options.home !== undefined ? { home: options.home } : {}), maxSeconds: 3600 });
  let domainA: CropDomain;
  if (source === ANY_VOICE) {
    const pooled = corpusTrain.manifest.voices.map((v) => v.id).filter((v) => v !== target);
    domainA = corpusCropDomain(ANY_VOICE, openCorpusDataset({ ...where, split: 'train', voices: pooled }));
  } else if (isCorpusVoice(source)) {
    domainA = corpusCropDomain(source, openCorpusDataset({ ...where, split: 'train', voices: [source] }));
  } else {
    domainA = melListCropDomain(source, await userMels(source), normalization);
  }
  // A user voice's held-out end (what `timbre voice reach` scores on) stays out of its pair's training.
  const domainB = isCorpusVoice(target)
    ? corpusCropDomain(target, openCorpusDataset({ ...where, split: 'train', voices: [target] }))
    : melListCropDomain(target, splitHeldOut(await userMels(target)).train, normalization);
  return createCycleGanSetupFromDomains(domainA, domainB, normalization, { config, trainConfig, seed: options.seed ?? 0, steps: options.steps ?? 1, corpusHash: manifestHash(corpusTrain.manifest) });
}

/** Builds nets and loss over two crop domains (synthetic data in tests; corpus/user data via `createCycleGanTrainingSetup`). */
export function createCycleGanSetupFromDomains(
  domainA: CropDomain,
  domainB: CropDomain,
  normalization: CycleGanNormalization,
  options: { config: CycleGanConfig; trainConfig: CycleGanTrainConfig; seed: number; steps: number; corpusHash: string },
): CycleGanTrainingSetup {
  const { config, trainConfig, seed } = options;
  const model = createCycleGan(config, { seed, secondAdversarial: trainConfig.secondAdversarial });
  const identitySteps = Math.round(trainConfig.identityFraction * options.steps);
  const { cropFrames: frames, maxMaskFrames } = trainConfig;
  const mels = config.mels;
  return {
    model,
    config,
    trainConfig,
    domainA,
    domainB,
    normalization,
    corpusHash: options.corpusHash,
    lossFn: (batch, ctx) => cycleGanLoss(model, batch, { cycle: trainConfig.lambdaCycle, identity: trainConfig.lambdaIdentity, identityOn: ctx.step <= identitySteps }),
    train: {
      size: 2 ** 31 - 1,
      // Item i of the run is a pure function of (seed, i): shards, workers and resumes all see the same crops.
      getBatch(indices) {
        const n = indices.length;
        const a = new Float32Array(n * frames * mels);
        const b = new Float32Array(n * frames * mels);
        const maskA = new Float32Array(n * frames * mels);
        const maskB = new Float32Array(n * frames * mels);
        indices.forEach((index, k) => {
          domainA.crop(mixSeed(seed, index, 1), frames, a, k * frames * mels);
          domainB.crop(mixSeed(seed, index, 2), frames, b, k * frames * mels);
          maskA.set(fillInFramesMask(new Rng(mixSeed(seed, index, 3)), 1, frames, mels, maxMaskFrames), k * frames * mels);
          maskB.set(fillInFramesMask(new Rng(mixSeed(seed, index, 4)), 1, frames, mels, maxMaskFrames), k * frames * mels);
        });
        const shape: [number, number, number] = [n, frames, mels];
        return { realA: tf.tensor3d(a, shape), realB: tf.tensor3d(b, shape), maskA: tf.tensor3d(maskA, shape), maskB: tf.tensor3d(maskB, shape) };
      },
    },
  };
}

/** Constant until `decayFrom`·steps, then linear to 10 % at the last step. */
export function cycleGanSchedule(peak: number, totalSteps: number, decayFrom: number): LearningRateSchedule {
  const start = Math.floor(decayFrom * totalSteps);
  return (step) => (step <= start ? peak : peak * (1 - 0.9 * Math.min(1, (step - start) / Math.max(1, totalSteps - start))));
}

/** Options of `CycleGanTrainer`: its setup and the loop's options (no validation). */
export interface CycleGanTrainerOptions extends Omit<TrainingLoopOptions, 'validateEvery'> {
  readonly setup: CycleGanTrainingSetup;
  /** Items per step; each item is one crop of each domain. */
  readonly batchSize: number;
  /** Gradients from a pool of replicas (data-parallel); default: computed here, one item at a time. */
  readonly gradients?: GradientProvider;
}

/**
 * The GAN loop: one joint gradient per step (generators see frozen discriminators, discriminators see detached
 * fakes), then the generator AdamW and the discriminator AdamW each update their own nets.
 */
export class CycleGanTrainer extends TrainingLoop<CycleGanTrainerOptions> {
  private readonly genParams: Map<string, tf.Variable>;
  private readonly discParams: Map<string, tf.Variable>;
  private readonly optG: AdamW;
  private readonly optD: AdamW;

  constructor(options: CycleGanTrainerOptions) {
    super(options);
    const all = options.setup.model.namedParameters();
    this.genParams = new Map([...all].filter(([name]) => !CycleGan.isDiscriminatorParameter(name)));
    this.discParams = new Map([...all].filter(([name]) => CycleGan.isDiscriminatorParameter(name)));
    const t = options.setup.trainConfig;
    const common = { beta1: t.beta1, beta2: 0.999, weightDecay: 0 };
    this.optG = new AdamW(this.genParams, { ...common, learningRate: cycleGanSchedule(t.learningRateG, options.totalSteps, t.decayFrom) });
    this.optD = new AdamW(this.discParams, { ...common, learningRate: cycleGanSchedule(t.learningRateD, options.totalSteps, t.decayFrom) });
  }

  /** Frees both optimizers' state and the listeners (not the model) and stops worker threads. */
  async dispose(): Promise<void> {
    this.optG.dispose();
    this.optD.dispose();
    this.removeAllListeners();
    await this.options.gradients?.dispose();
  }

  protected async trainStep(step: number): Promise<StepOutcome> {
    const { batchSize, setup } = this.options;
    const indices = Array.from({ length: batchSize }, (_, i) => (step - 1) * batchSize + i);
    const seed = mixSeed(this.options.seed ?? 0, step);
    const params = setup.model.namedParameters();
    let grads: Map<string, tf.Tensor>;
    let losses: Record<string, number>;
    if (this.options.gradients) {
      const res = await this.options.gradients.compute({ step, indices, seed, weights: setup.model.getWeights() });
      grads = new Map([...params].map(([name, p]) => [name, tf.tensor(res.grads.get(name)!, p.shape, 'float32')]));
      losses = res.losses;
    } else {
      // One item per gradient: the wasm heap holds every intermediate of a backward pass, so items go one at a time.
      ({ grads, losses } = await this.accumulate(step, seed, indices, params));
    }
    const split = (subset: Map<string, tf.Variable>) => new Map([...subset.keys()].map((name) => [name, grads.get(name)!]));
    const learningRate = this.optG.nextLearningRate();
    const updateG = this.optG.apply(split(this.genParams));
    const updateD = this.optD.apply(split(this.discParams));
    const gradNorm = (await updateG.gradNorm.data())[0]!;
    tf.dispose([updateG.gradNorm, updateD.gradNorm, ...grads.values()]);
    return { losses, learningRate, gradNorm };
  }

  private async accumulate(step: number, seed: number, indices: readonly number[], params: Map<string, tf.Variable>): Promise<{ grads: Map<string, tf.Tensor>; losses: Record<string, number> }> {
    const { setup } = this.options;
    const sums = new Map<string, tf.Tensor>();
    const losses: Record<string, number> = {};
    const varList = [...params.values()];
    for (const [k, index] of indices.entries()) {
      const batch = await setup.train.getBatch([index]);
      let parts: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const r = setup.lossFn(batch, { step, rng: new Rng(k === 0 ? seed : mixSeed(seed, k)), training: true });
        parts = r.parts;
        for (const t of Object.values(parts)) tf.keep(t);
        return r.total;
      }, varList);
      const weight = 1 / indices.length;
      for (const [name, p] of params) {
        const g = grads[p.name] ?? tf.zerosLike(p);
        const prev = sums.get(name);
        sums.set(name, tf.tidy(() => (prev ? tf.add(prev, tf.mul(g, weight)) : tf.mul(g, weight))));
        prev?.dispose();
      }
      const names = ['total', ...Object.keys(parts)];
      const packed = tf.tidy(() => tf.stack([value, ...Object.values(parts)].map((t) => t.reshape([]))));
      const values = await packed.data();
      names.forEach((n, i) => (losses[n] = (losses[n] ?? 0) + weight * values[i]!));
      tf.dispose([packed, value, ...Object.values(parts), ...Object.values(grads), batch as unknown as tf.TensorContainer]);
    }
    return { grads: sums, losses };
  }

  protected async writeCheckpoint(runDir: string): Promise<void> {
    const g = this.optG.getState();
    const d = this.optD.getState();
    await this.saveCheckpoint(
      runDir,
      {
        trainingDataHash: this.options.setup.corpusHash,
        validationMetrics: {},
        extra: {
          family: 'cyclegan',
          step: this.stepCount,
          optimizerStepG: g.step,
          optimizerStepD: d.step,
          history: this.history as unknown as JsonValue,
          csvColumns: this.csvColumns ?? null,
        },
      },
      checkpointWeights(this.options.setup.model, [['mG:', g.m], ['vG:', g.v], ['mD:', d.m], ['vD:', d.v]]),
    );
  }

  protected async tryResume(runDir: string): Promise<void> {
    const checkpoint = await this.readCheckpoint(
      runDir,
      (header, path) => {
        if (header.kind !== 'checkpoint' || (header.extra as { family?: string } | undefined)?.family !== 'cyclegan') {
          throw new CheckpointMismatchError(`${path} is not a CycleGAN-VC training checkpoint; use another run folder or --fresh`);
        }
      },
      'use a new run folder, the same settings, or --fresh',
    );
    if (!checkpoint) return;
    const { path, header, pick } = checkpoint;
    const extra = header.extra as unknown as { step: number; optimizerStepG: number; optimizerStepD: number; history: LossHistoryRow[]; csvColumns: string[] | null };
    this.options.setup.model.setWeights(pick('param:'), path);
    this.optG.setState({ step: extra.optimizerStepG, m: pick('mG:'), v: pick('vG:') });
    this.optD.setState({ step: extra.optimizerStepD, m: pick('mD:'), v: pick('vD:') });
    await this.restoreLog(runDir, extra);
  }
}

/** Run settings (as `timbre train` resolves them) plus the pair. */
export interface CycleGanTrainingSettings extends TrainRunSettings {
  /** The corpus folder itself, instead of TIMBRE_HOME/corpus. */
  readonly corpusRoot?: string;
  /** Overrides of `CycleGanConfig` and `CycleGanTrainConfig` keys (one flat preset object). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Target voice (`--to`): a corpus voice or a user voice. */
  readonly to?: string | undefined;
  /** Source domain (`--from`): "any" (default), a corpus voice or a user voice. */
  readonly from?: string | undefined;
  /**
   * `--init`: a training checkpoint of the same pair and architecture whose nets (not optimiser state) this run starts
   * from, or a CycleGAN-VC model file of any pair with the same architecture whose generators it starts from.
   */
  readonly init?: string;
}

/** A prepared run: the trainer, the step that writes the model file, and cleanup (what `timbre train` drives). */
export interface CycleGanTrainingRun extends PreparedTrainingRun<CycleGanTrainer> {
  readonly setup: CycleGanTrainingSetup;
}

/** Model folder name of a pair: `cyclegan-<target>` from "any", else `cyclegan-<source>-<target>`. */
export function cycleGanFolderName(to: string, from: string = ANY_VOICE): string {
  return from === ANY_VOICE ? `cyclegan-${to}` : `cyclegan-${from}-${to}`;
}

function splitOverrides(config: Record<string, unknown>): { config: Partial<CycleGanConfig>; train: Partial<CycleGanTrainConfig> } {
  const model: Record<string, unknown> = {};
  const train: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key in DEFAULT_CYCLE_GAN_CONFIG) model[key] = value;
    else if (key in DEFAULT_CYCLE_GAN_TRAIN_CONFIG) train[key] = value;
    else throw new InvalidArgumentError(`--config: "${key}" is not a CycleGAN-VC setting; known: ${[...Object.keys(DEFAULT_CYCLE_GAN_CONFIG), ...Object.keys(DEFAULT_CYCLE_GAN_TRAIN_CONFIG)].join(', ')}`);
  }
  return { config: model as Partial<CycleGanConfig>, train: train as Partial<CycleGanTrainConfig> };
}

/**
 * Copies the generators and discriminators of a CycleGAN-VC training checkpoint into a fresh setup (optimiser state
 * and schedule start anew); refuses another pair, architecture or corpus, naming what differs.
 */
async function warmStartCycleGan(setup: CycleGanTrainingSetup, path: string): Promise<string> {
  if (!existsSync(path)) throw new InvalidArgumentError(`--init: no checkpoint file at ${path}`);
  const { header, weights } = await readModelFile(path);
  if (header.kind === CYCLE_GAN_KIND) {
    await transferGenerators(setup, path);
    return `the generators of model file ${path} (discriminators start fresh)`;
  }
  const run = (header.hyperparameters as { run?: { model?: string; source?: string; target?: string; config?: JsonValue; corpus?: string } | null }).run;
  if (header.kind !== 'checkpoint' || (header.extra as { family?: string } | undefined)?.family !== 'cyclegan' || !run) {
    throw new InvalidArgumentError(`--init ${path}: not a CycleGAN-VC training checkpoint (kind "${header.kind}"); pass the checkpoint.timbre of an earlier run of this pair`);
  }
  const differences = [
    run.source !== setup.domainA.name ? `source ${String(run.source)} (this run ${setup.domainA.name})` : '',
    run.target !== setup.domainB.name ? `target ${String(run.target)} (this run ${setup.domainB.name})` : '',
    JSON.stringify(run.config) !== JSON.stringify(setup.config) ? 'the network config' : '',
    run.corpus !== setup.corpusHash ? `corpus ${String(run.corpus).slice(0, 12)}… (this corpus ${setup.corpusHash.slice(0, 12)}…)` : '',
  ].filter((d) => d !== '');
  if (differences.length > 0) throw new ShapeMismatchError(`--init ${path}: its ${differences.join(', ')} differ; a warm start needs the same pair, architecture and corpus`);
  const nets: WeightMap = new Map();
  for (const [name, w] of weights) if (name.startsWith('param:')) nets.set(name.slice('param:'.length), w);
  setup.model.setWeights(nets, path);
  return `the nets of checkpoint ${path}`;
}

/**
 * Starts a pair from the generators of a trained pair's model file (any voices, same architecture): its forward
 * generator for A → B and, when the file holds one, its inverse for B → A. How a new voice (a user's) gets a pair in
 * a few hundred steps instead of the 1 500 a pair takes from scratch.
 */
export async function transferGenerators(setup: CycleGanTrainingSetup, path: string): Promise<void> {
  const { generator, inverse, info } = await loadCycleGanModel(path);
  try {
    if (JSON.stringify(info.config) !== JSON.stringify(setup.config)) throw new ShapeMismatchError(`--init ${path}: its network config differs from this run's; a warm start needs the same architecture`);
    setup.model.genAB.setWeights(generator.getWeights(), path);
    if (inverse) setup.model.genBA.setWeights(inverse.getWeights(), `${path} (inverse generator)`);
  } finally {
    generator.dispose();
    inverse?.dispose();
  }
}

/** Prepares `timbre train cyclegan --to VOICE [--from NAME|any]`: setup, optional worker pool, trainer. */
export async function prepareCycleGanTraining(settings: CycleGanTrainingSettings): Promise<CycleGanTrainingRun> {
  if (settings.to === undefined || settings.to === '') throw new InvalidArgumentError('cyclegan needs a target voice: --to VOICE (a corpus voice id or a user voice)');
  const overrides = splitOverrides(settings.config);
  const setupOptions: CycleGanSetupOptions = {
    target: settings.to,
    source: settings.from ?? ANY_VOICE,
    ...(settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {}),
    config: overrides.config,
    train: overrides.train,
    seed: settings.seed,
    steps: settings.steps,
  };
  const setup = await createCycleGanTrainingSetup(setupOptions);
  // A pair to a user's voice starts from the shipped pair nearest in pitch unless told otherwise (a trained start needs far fewer steps).
  const isUserTarget = !CORPUS_VOICES.some((v) => v.id === settings.to) && !setup.domainA.voices.includes(settings.to);
  let init = settings.init;
  try {
    if (init === undefined && isUserTarget) init = await nearestPairByPitch(setup.domainB.meanLogF0());
    if (init !== undefined) settings.log(`cyclegan: starting from ${await warmStartCycleGan(setup, init)}`);
  } catch (err) {
    setup.model.dispose();
    throw err;
  }
  // Replicas (main thread + workers) each take batchSize / workers items in one backward pass.
  const workers = Math.min(settings.workers, settings.batchSize);
  if (settings.workers > 1 && settings.batchSize % settings.workers !== 0) {
    setup.model.dispose();
    throw new InvalidArgumentError(`--batch-size ${settings.batchSize} must be a multiple of --workers ${settings.workers} for cyclegan`);
  }
  const gradients = await gradientPoolForRun<CycleGanBatch>(workers, { module: import.meta.url, factory: 'createCycleGanTrainingSetup', factoryOptions: setupOptions, local: setup });
  const trainer = new CycleGanTrainer({
    setup,
    ...trainingLoopOptions(settings),
    runConfig: {
      model: 'cyclegan',
      source: setup.domainA.name,
      target: setup.domainB.name,
      config: setup.config as unknown as JsonValue,
      train: setup.trainConfig as unknown as JsonValue,
      corpus: setup.corpusHash,
    },
    ...(gradients ? { gradients } : {}),
  });
  const hours = (d: CropDomain) => (d.seconds / 3600).toFixed(2);
  settings.log(
    `cyclegan ${setup.domainA.name} → ${setup.domainB.name}: generator ${setup.model.genAB.parameterCount()} parameters (×2), discriminators ${setup.model.discA.parameterCount()} (×${setup.model.disc2A ? 4 : 2}); ` +
      `source ${setup.domainA.voices.length} voice(s), ${hours(setup.domainA)} h; target ${hours(setup.domainB)} h; crops of ${setup.trainConfig.cropFrames} frames`,
  );
  return {
    trainer,
    setup,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const last = result.history[result.history.length - 1];
      await saveCycleGanModel(
        outPath,
        setup.model.genAB,
        {
          config: setup.config,
          sourceDomain: setup.domainA.name,
          sourceVoices: setup.domainA.voices,
          targetVoice: setup.domainB.name,
          targetLogF0: setup.domainB.meanLogF0(),
          normalization: setup.normalization,
          trainingDataHash: setup.corpusHash,
          validationMetrics: {},
          training: {
            command: options.command,
            ...(init !== undefined ? { init } : {}),
            steps: result.totalSteps,
            batchSize: settings.batchSize,
            seed: settings.seed,
            workers,
            train: setup.trainConfig as unknown as JsonValue,
            sourceHours: setup.domainA.seconds / 3600,
            targetHours: setup.domainB.seconds / 3600,
            seconds: options.trainingSeconds,
            finalLosses: (last ?? {}) as unknown as JsonValue,
          },
        },
        { overwrite: options.overwrite, inverse: setup.model.genBA },
      );
      const losses = last ? formatLosses(Object.fromEntries(Object.entries(last).filter(([k]) => k !== 'step'))) : 'none';
      return [`cyclegan ${setup.domainA.name} → ${setup.domainB.name}: last losses ${losses}`];
    },
    async dispose() {
      await trainer.dispose();
      setup.model.dispose();
    },
  };
}
