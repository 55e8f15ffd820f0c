// The trainers Timbre knows, one entry per model family: defaults, an optional pair folder, a quick
// "tiny" preset, and `prepare()` which returns a running Trainer. Shared by `timbre train` and the engine.

import type { SpeakerEncoderConfig } from '../models/speakerEncoder/model.js';
import type { FinishOptions, TrainRunSettings as ModelTrainRunSettings } from '../nn/trainRun.js';
import type { TrainResult, TrainerEvents, TypedEmitter } from '../nn/trainingLoop.js';

/** The options every trainer is prepared with: the shared ones (`src/nn/trainRun.ts`) plus each family's own. */
export interface TrainRunSettings extends ModelTrainRunSettings {
  /** `--to VOICE` / `--from NAME` of pairwise models (cyclegan); undefined elsewhere. */
  readonly to?: string | undefined;
  readonly from?: string | undefined;
  /** VAE fine-tuning: the user voice to add, and the VAE file it extends. */
  readonly addVoice?: string;
  readonly base?: string;
  /** Warm start (same architecture and data): a VAE model file, a CycleGAN-VC training checkpoint of the pair, or the DiffVC file CycleDiffusion fine-tunes. */
  readonly init?: string;
}

/** What a trainer entry hands back: the running Trainer and the step that writes the model file. */
export interface TrainingRun {
  readonly trainer: TypedEmitter<TrainerEvents> & { run(): Promise<TrainResult>; cancel(): void };
  /** After a full run: writes the model file at `outPath`; returns summary lines to print. */
  finish(result: TrainResult, outPath: string, options: FinishOptions): Promise<string[]>;
  dispose(): Promise<void>;
}

/** Run length, batch and intervals of a trainer, in steps. */
export interface TrainerDefaults {
  readonly steps: number;
  readonly batchSize: number;
  readonly logEvery: number;
  readonly validateEvery: number;
  readonly checkpointEvery: number;
}

/** One model family `timbre train` knows. */
export interface TrainerEntry {
  readonly summary: string;
  readonly defaults: TrainerDefaults;
  /** Default output: TIMBRE_HOME/models/<name>/model.timbre unless the entry says otherwise. */
  prepare(settings: TrainRunSettings): Promise<TrainingRun>;
  /** Folder under models/ and checkpoints/ for these --to/--from (default: the model name). */
  readonly folder?: (to: string | undefined, from: string | undefined) => string;
  /** True when a run needs a target voice (`--to`). */
  readonly needsTarget?: boolean;
  /** The smallest sensible config: sub-second steps, for smoke tests and trying the app (not for real models). */
  readonly tinyConfig?: Readonly<Record<string, unknown>>;
}

/** Names of the trainers, in the order they are listed. */
export type TrainerName = 'speaker-encoder' | 'vae' | 'cyclegan' | 'diffvc' | 'cyclediffusion';

/** The trainers, one line per model family (loaded on demand). */
export const TRAINERS: Readonly<Record<TrainerName, TrainerEntry>> = {
  'speaker-encoder': {
    summary: 'd-vector speaker encoder + judge (AM-softmax over the corpus voices)',
    defaults: { steps: 600, batchSize: 32, logEvery: 20, validateEvery: 100, checkpointEvery: 50 },
    prepare: async (s) => speakerEncoderRun(s),
    tinyConfig: { channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8, minCropFrames: 32, maxCropFrames: 64, validationCropFrames: 48, chunkFrames: 64, centroidUtterances: 2, warmupSteps: 2 },
  },
  vae: {
    summary: 'speaker-conditioned VAE (log-F0 conditioned, ACVAE classifier) on all corpus voices',
    defaults: { steps: 2100, batchSize: 16, logEvery: 25, validateEvery: 300, checkpointEvery: 100 },
    prepare: async (s) => (await import('../models/vae/train.js')).prepareVaeTraining(s),
    tinyConfig: { channels: 8, latentDims: 4, speakerDims: 4, kernelSize: 3, encoderBlocks: 1, decoderBlocks: 1, classifierChannels: 8, cropFrames: 16, klAnnealSteps: 10, warmupSteps: 2, learningRate: 1e-2 },
  },
  cyclegan: {
    summary: 'MaskCycleGAN-VC pair --to VOICE [--from NAME|any] (default from: all other corpus voices)',
    defaults: { steps: 1500, batchSize: 2, logEvery: 25, validateEvery: 0, checkpointEvery: 100 },
    folder: (to, from) => `cyclegan-${from !== undefined && from !== 'any' ? `${from}-` : ''}${to ?? ''}`,
    needsTarget: true,
    prepare: async (s) => (await import('../models/cycleGan/train.js')).prepareCycleGanTraining(s),
    tinyConfig: { genChannels: [4, 4, 4], genEdgeKernel: [3, 3], residualChannels: 8, residualBlocks: 1, discChannels: [4, 4], cropFrames: 16, maxMaskFrames: 6 },
  },
  diffvc: {
    summary: 'DiffVC: average-voice encoder (first 25 % of steps), then the score decoder on speaker-encoder d-vectors',
    defaults: { steps: 3000, batchSize: 16, logEvery: 25, validateEvery: 500, checkpointEvery: 100 },
    prepare: async (s) => (await import('../models/diffVc/train.js')).prepareDiffVcTraining(s),
    tinyConfig: { encoderChannels: 8, encoderBlocks: 1, decoderChannels: 8, decoderMults: [1, 2], decoderBlocks: 1, normGroups: 2, timeDims: 8, condDims: 8, cropFrames: 16, warmupSteps: 2, encoderLearningRate: 1e-2, learningRate: 1e-2 },
  },
  cyclediffusion: {
    summary: 'CycleDiffusion: fine-tunes a trained DiffVC decoder with a cycle-consistency term (--init FILE: the DiffVC; default yours, else the shipped one)',
    defaults: { steps: 600, batchSize: 4, logEvery: 10, validateEvery: 100, checkpointEvery: 25 },
    prepare: async (s) => (await import('../models/cycleDiffusion/train.js')).prepareCycleDiffusionTraining(s),
    tinyConfig: { cycleSteps: 2, warmupSteps: 1, learningRate: 1e-3 },
  },
  // more model families are registered here, one line each
};

/** The trainer of `name`, or undefined for names not in the table. */
export function trainerEntry(name: string): TrainerEntry | undefined {
  return Object.hasOwn(TRAINERS, name) ? TRAINERS[name as TrainerName] : undefined;
}

/** Names of every trainer, table order. */
export const TRAINER_NAMES: readonly TrainerName[] = Object.keys(TRAINERS) as TrainerName[];

async function speakerEncoderRun(s: TrainRunSettings): Promise<TrainingRun> {
  const { formatConfusion, prepareSpeakerEncoderTraining } = await import('../models/speakerEncoder/train.js');
  const run = await prepareSpeakerEncoderTraining({ ...s, config: s.config as Partial<SpeakerEncoderConfig> });
  return {
    trainer: run.trainer,
    dispose: () => run.dispose(),
    async finish(result, outPath, options) {
      s.log('building the speaker judge (centroids of the train split) …');
      const report = await run.finish(result, outPath, options);
      return report ? [`validation (whole utterances, judge): ${(100 * report.accuracy).toFixed(2)}% of ${report.utterances}`, formatConfusion(report)] : [];
    },
  };
}
