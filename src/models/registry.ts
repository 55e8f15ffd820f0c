// Every model family Timbre has, listed once: how `timbre train` runs it (defaults, tiny preset, its train.ts), how
// its model files load as converters (its convert.ts), and whether `timbre eval` scores it. The engine's model
// registry and trainer table, the CLI and eval read this list; a new family is one entry here. Modules load on use.

import type { LogMel } from '../audio/mel.js';
import type { MelConverter, ModelFamily } from './converter.js';
import type { FinishOptions, TrainRunSettings as RuntimeTrainRunSettings } from '../nn/trainRun.js';
import type { TrainResult, TrainerEvents, TypedEmitter } from '../nn/trainingLoop.js';

/** The options every trainer is prepared with: the runtime's (`src/nn/trainRun.ts`) plus what some families read. */
export interface TrainRunSettings extends RuntimeTrainRunSettings {
  /** `--to VOICE` / `--from NAME` of pairwise models (cyclegan); undefined elsewhere. */
  readonly to?: string | undefined;
  readonly from?: string | undefined;
  /** VAE fine-tuning: the user voice to add, and the VAE file it extends. */
  readonly addVoice?: string;
  readonly base?: string;
  /** Warm start (same architecture and data): a VAE model file, a CycleGAN-VC training checkpoint of the pair, the DiffVC file CycleDiffusion fine-tunes, or the vocoder file a fine-tune continues. */
  readonly init?: string;
  /** Vocoder: continue the installed vocoder (or `init`) on the installed converters' outputs (`--fine-tune`). */
  readonly fineTuneOnConverters?: boolean;
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

/** How `timbre train NAME` runs a family. */
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
  /** True when a run may start from a file (`init`): same architecture and corpus, in a run folder of its own. */
  readonly warmStart?: boolean;
  /**
   * True when `init` is where the family always starts (CycleDiffusion fine-tunes a DiffVC): the run folder stays the
   * family's own instead of a separate warm-start folder.
   */
  readonly initIsBase?: boolean;
  /** Default steps of a run that continues on the installed converters' outputs (`fineTuneOnConverters`); absent: the family has none. */
  readonly converterFineTuneSteps?: number;
}

/** Where a family's default model comes from for `timbre eval`: TIMBRE_HOME and the voices it must produce. */
export interface EvalModelContext {
  /** TIMBRE_HOME (undefined: the default). */
  readonly home: string | undefined;
  /** Target voices of this evaluation (corpus voice ids). */
  readonly targetVoices: readonly string[];
}

/** What a family's convert.ts exports for the registry. */
export interface ConvertModule {
  /** A `.timbre` file of the family as a converter. */
  loadMelConverter(modelPath: string): Promise<MelConverter>;
  /** The user's trained model of the family, else the shipped one, checked for the voices asked. */
  loadEvalConverter(context: EvalModelContext): Promise<MelConverter>;
  /**
   * Families that learn a new voice from its recordings (the VAE's add-voice): the eval model adapted to `voice`, as
   * the user's own training would make it. Absent: the family converts only to voices it knows (or to any by reference).
   */
  adaptEvalConverter?(context: EvalModelContext, voice: VoiceRecordings, log: (line: string) => void): Promise<MelConverter>;
}

/** A voice given as recordings: its name and log-mels. */
export interface VoiceRecordings {
  readonly name: string;
  readonly mels: readonly LogMel[];
}

/** Names of the families, in the order `timbre train` lists them. */
export type FamilyName = 'speaker-encoder' | 'vae' | 'cyclegan' | 'diffvc' | 'cyclediffusion' | 'vocoder';

/** One model family. */
export interface FamilyEntry {
  /** `timbre train NAME`, `timbre eval --model NAME`. */
  readonly name: FamilyName;
  /** What its model files convert as (a lane of the app), or null for a model that converts no voice. */
  readonly family: ModelFamily | null;
  /** Display name, e.g. "CycleGAN-VC". */
  readonly label: string;
  readonly trainer: TrainerEntry;
  /** Its convert.ts (conversion families only). */
  readonly convert?: () => Promise<ConvertModule>;
  /** Which per-conversion settings its models take: the common ones, or those plus diffusion steps and solver. */
  readonly settings?: 'common' | 'diffusion';
  /** Row label when `timbre eval --model NAME` scores it; absent: eval does not list it. */
  readonly evalLabel?: string;
  /** True when its convert.ts adapts a model to a voice given as recordings (`adaptEvalConverter`). */
  readonly learnsVoices?: boolean;
}

/** The families, `timbre train`'s order (conversion families in the order the app shows their lanes). */
export const FAMILY_ENTRIES: readonly FamilyEntry[] = [
  {
    name: 'speaker-encoder',
    family: null,
    label: 'Speaker encoder',
    trainer: {
      summary: 'd-vector speaker encoder + judge (AM-softmax over the corpus voices)',
      defaults: { steps: 600, batchSize: 32, logEvery: 20, validateEvery: 100, checkpointEvery: 50 },
      prepare: async (s) => (await import('./speakerEncoder/train.js')).prepareSpeakerEncoderTrainingRun(s),
      tinyConfig: { channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8, minCropFrames: 32, maxCropFrames: 64, validationCropFrames: 48, chunkFrames: 64, centroidUtterances: 2, warmupSteps: 2 },
    },
  },
  {
    name: 'vae',
    family: 'vae',
    label: 'VAE',
    trainer: {
      summary: 'speaker-conditioned VAE (log-F0 conditioned, ACVAE classifier) on all corpus voices',
      defaults: { steps: 2100, batchSize: 16, logEvery: 25, validateEvery: 300, checkpointEvery: 100 },
      warmStart: true,
      prepare: async (s) => (await import('./vae/train.js')).prepareVaeTraining(s),
      tinyConfig: { channels: 8, latentDims: 4, speakerDims: 4, kernelSize: 3, encoderBlocks: 1, decoderBlocks: 1, classifierChannels: 8, cropFrames: 16, klAnnealSteps: 10, warmupSteps: 2, learningRate: 1e-2 },
    },
    convert: () => import('./vae/convert.js'),
    settings: 'common',
    evalLabel: 'VAE (log-F0 conditioned, ACVAE classifier)',
    learnsVoices: true,
  },
  {
    name: 'cyclegan',
    family: 'cyclegan',
    label: 'CycleGAN-VC',
    trainer: {
      summary: 'MaskCycleGAN-VC pair --to VOICE [--from NAME|any] (default from: all other corpus voices)',
      defaults: { steps: 1500, batchSize: 2, logEvery: 25, validateEvery: 0, checkpointEvery: 100 },
      folder: (to, from) => `cyclegan-${from !== undefined && from !== 'any' ? `${from}-` : ''}${to ?? ''}`,
      needsTarget: true,
      warmStart: true,
      prepare: async (s) => (await import('./cycleGan/train.js')).prepareCycleGanTraining(s),
      tinyConfig: { genChannels: [4, 4, 4], genEdgeKernel: [3, 3], residualChannels: 8, residualBlocks: 1, discChannels: [4, 4], cropFrames: 16, maxMaskFrames: 6 },
    },
    convert: () => import('./cycleGan/convert.js'),
    settings: 'common',
    evalLabel: 'CycleGAN-VC (any voice → target, one generator per target)',
    learnsVoices: true,
  },
  {
    name: 'diffvc',
    family: 'diffvc',
    label: 'DiffVC',
    trainer: {
      summary: 'DiffVC: average-voice encoder (first 25 % of steps), then the score decoder on speaker-encoder d-vectors',
      defaults: { steps: 3000, batchSize: 16, logEvery: 25, validateEvery: 500, checkpointEvery: 100 },
      prepare: async (s) => (await import('./diffVc/train.js')).prepareDiffVcTraining(s),
      tinyConfig: { encoderChannels: 8, encoderBlocks: 1, decoderChannels: 8, decoderMults: [1, 2], decoderBlocks: 1, normGroups: 2, timeDims: 8, condDims: 8, cropFrames: 16, warmupSteps: 2, encoderLearningRate: 1e-2, learningRate: 1e-2 },
    },
    convert: () => import('./diffVc/convert.js'),
    settings: 'diffusion',
    evalLabel: 'DiffVC (ML solver, 6 steps unless --solver/--steps)',
  },
  {
    name: 'cyclediffusion',
    family: 'cyclediffusion',
    label: 'CycleDiffusion',
    trainer: {
      summary: 'CycleDiffusion: fine-tunes a trained DiffVC decoder with a cycle-consistency term (--init FILE: the DiffVC; default yours, else the shipped one)',
      defaults: { steps: 600, batchSize: 4, logEvery: 10, validateEvery: 100, checkpointEvery: 25 },
      warmStart: true,
      initIsBase: true,
      prepare: async (s) => (await import('./cycleDiffusion/train.js')).prepareCycleDiffusionTraining(s),
      tinyConfig: { cycleSteps: 2, warmupSteps: 1, learningRate: 1e-3 },
    },
    convert: () => import('./cycleDiffusion/convert.js'),
    settings: 'diffusion',
    evalLabel: 'CycleDiffusion (DiffVC fine-tuned with a cycle loss; ML solver, 6 steps unless --solver/--steps)',
  },
  {
    name: 'vocoder',
    family: null,
    label: 'Neural vocoder',
    trainer: {
      summary: 'neural vocoder: ConvNeXt at frame rate → log-magnitude correction of the mel pseudo-inverse, phase by phase-gradient integration → inverse STFT (corpus recordings; --fine-tune continues it on the converters\' outputs)',
      defaults: { steps: 12000, batchSize: 16, logEvery: 50, validateEvery: 1000, checkpointEvery: 200 },
      warmStart: true,
      converterFineTuneSteps: 1500, // about half an hour on two cores
      prepare: async (s) => (s.fineTuneOnConverters === true ? (await import('./vocoder/fineTune.js')).prepareVocoderFineTuning(s) : (await import('./vocoder/train.js')).prepareVocoderTraining(s)),
      tinyConfig: { width: 8, blocks: 1, inner: 16, kernel: 3, cropFrames: 8, stftSizes: [512, 256], validationItems: 2, warmupSteps: 1 },
    },
  },
];

/** The entry named `name`, or undefined. */
export function familyEntry(name: string): FamilyEntry | undefined {
  return FAMILY_ENTRIES.find((e) => e.name === name);
}

/** The entry of a conversion family. */
export function conversionEntry(family: ModelFamily): FamilyEntry {
  const entry = FAMILY_ENTRIES.find((e) => e.family === family);
  if (entry === undefined) throw new Error(`no registry entry converts as "${family}"`);
  return entry;
}

/** Conversion families, the order the app shows their lanes. */
export const CONVERSION_FAMILIES: readonly ModelFamily[] = FAMILY_ENTRIES.flatMap((e) => (e.family === null ? [] : [e.family]));
