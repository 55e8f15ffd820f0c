// VAE training runs: the setup on the corpus train split (also the data-parallel workers' factory), warm starts,
// and adding a user voice in one call (the adaptation itself: adapt.ts).

import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { CorpusDataset } from '../../corpus/dataset.js';
import { openTrainingCorpus } from '../trainingCorpus.js';
import { timbrePaths } from '../../io/paths.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { Rng } from '../../nn/module.js';
import { warmupCosineSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { checkConfigOverrides, formatLosses, setupTrainerOptions, type PreparedTrainingRun, type TrainRunSettings } from '../../nn/trainRun.js';
import { Trainer, type StepContext, type TrainingSetup } from '../../nn/train.js';
import type { TrainResult } from '../../nn/trainingLoop.js';
import { DEFAULT_VAE_CONFIG, resolveVaeConfig, Vae, type VaeBatch, type VaeConfig, vaeLoss } from './model.js';
import { loadVae, saveVae } from './convert.js';
import { corpusUtterances, speakerLogF0Means, vaeBatchSource } from './data.js';
import { ADD_VOICE_DEFAULTS, prepareVaeAddVoice, type VoiceAdaptationBatch } from './adapt.js';

// ---------------------------------------------------------------------------------------------------------------
// Training setup (also the factory of the data-parallel workers).

/** JSON options of the training-setup factory. */
export interface VaeSetupOptions {
  /** TIMBRE_HOME holding the corpus (default `timbreHome()`), or the corpus folder itself. */
  readonly home?: string;
  readonly corpusRoot?: string;
  /** Config overrides on top of `DEFAULT_VAE_CONFIG`. */
  readonly config?: Partial<VaeConfig>;
  /** Weight-initialisation seed (default 0). */
  readonly seed?: number;
  /** Validation crops drawn from the validation split (default 64). */
  readonly validationItems?: number;
}

/** What a VAE training run needs besides the trainer: the model and where its data came from. */
export interface VaeSetup extends TrainingSetup<VaeBatch> {
  readonly model: Vae;
  readonly config: VaeConfig;
  readonly voices: readonly string[];
  readonly speakerLogF0: readonly number[];
  readonly trainSet: CorpusDataset;
  readonly corpusHash: string;
  readonly trainHours: number;
}

/** Train utterances per voice whose F0 sets the voice's log-F0 mean (≈ 2 min of speech: a stable mean, seconds to compute). */
export const SPEAKER_F0_UTTERANCES = 60;

/** Builds model, loss and data of a training run on the corpus train split, all voices (non-parallel: pairs are not used). */
export function createVaeTrainingSetup(options: VaeSetupOptions = {}): VaeSetup {
  const config = resolveVaeConfig(options.config);
  const corpus = openTrainingCorpus(options);
  const { train: trainSet, validation: validationSet, voices, normalization } = corpus;
  const trainItems = corpusUtterances(trainSet);
  const speakerLogF0 = speakerLogF0Means(trainItems, voices.length, { perSpeaker: SPEAKER_F0_UTTERANCES });
  const model = new Vae(config, voices.length, new Rng(options.seed ?? 0), normalization);
  const shuffled = new Rng(7).shuffleInPlace([...validationSet.utterances]);
  const validationItems = corpusUtterances(validationSet, shuffled.slice(0, options.validationItems ?? 64));
  return {
    model,
    config,
    voices,
    speakerLogF0,
    trainSet,
    corpusHash: corpus.hash,
    trainHours: corpus.trainHours,
    train: vaeBatchSource(trainItems, { config, normalization, speakerLogF0, cropFrames: config.cropFrames }),
    validation: validationItems.length > 0 ? vaeBatchSource(validationItems, { config, normalization, speakerLogF0, cropFrames: config.cropFrames, salt: 1 }) : undefined,
    lossFn: (batch: VaeBatch, ctx: StepContext) => vaeLoss(model, batch, ctx),
  } as VaeSetup;
}

/** AdamW decays conv/dense weights but not the speaker table (rows of voices absent from a batch would shrink). */
function decays(name: string, v: tf.Variable): boolean {
  return v.rank >= 2 && !name.startsWith('speakers.');
}

/** Settings of a VAE training run: the shared `timbre train` options plus the VAE's own. */
export interface VaeTrainingSettings extends TrainRunSettings {
  /** The corpus folder itself, instead of TIMBRE_HOME/corpus. */
  readonly corpusRoot?: string;
  /** Fine-tune instead: add this user voice (TIMBRE_HOME/voices/NAME) to the model at `base`. */
  readonly addVoice?: string;
  /** Model extended by `addVoice` (default: the shipped VAE). */
  readonly base?: string;
  /** Warm start: a VAE file (same architecture, voices and corpus) whose weights this run starts from. */
  readonly init?: string;
}

/** A prepared VAE run (training or adding a voice). */
export type VaeTrainingRun = PreparedTrainingRun<Trainer<VaeBatch>> | PreparedTrainingRun<Trainer<VoiceAdaptationBatch>>;

/** Checks config overrides from a preset: only `VaeConfig` keys with values of the default's type. */
export function vaeConfigOverrides(config: Readonly<Record<string, unknown>>): Partial<VaeConfig> {
  return checkConfigOverrides('VAE', DEFAULT_VAE_CONFIG, config);
}

/** Prepares a training run on the corpus train split, all voices (or, with `addVoice`, the fine-tuning run of a user voice). */
export async function prepareVaeTraining(settings: VaeTrainingSettings): Promise<VaeTrainingRun> {
  if (settings.addVoice !== undefined) return prepareVaeAddVoice({ ...settings, addVoice: settings.addVoice });
  const overrides = vaeConfigOverrides(settings.config);
  // A warm start continues with the KL weight at its final β (no second ramp from 0).
  const setupOptions: VaeSetupOptions = {
    ...(settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {}),
    config: settings.init !== undefined ? { ...overrides, klAnnealSteps: 1 } : overrides,
    seed: settings.seed,
  };
  const setup = createVaeTrainingSetup(setupOptions);
  const { config } = setup;
  if (settings.init !== undefined) {
    try {
      await warmStartVae(setup, settings.init);
    } catch (err) {
      setup.model.dispose();
      throw err;
    }
    settings.log(`vae: starting from the weights of ${settings.init}`);
  }
  const gradients = await gradientPoolForRun(settings.workers, { module: import.meta.url, factory: 'createVaeTrainingSetup', factoryOptions: setupOptions });
  const trainer = new Trainer<VaeBatch>({
    ...setupTrainerOptions(setup, settings),
    runConfig: { model: 'vae', config: config as unknown as JsonValue, corpus: setup.corpusHash, voices: [...setup.voices] },
    optimizer: {
      learningRate: warmupCosineSchedule({ peak: config.learningRate, warmupSteps: Math.min(config.warmupSteps, Math.max(1, Math.floor(settings.steps / 10))), totalSteps: settings.steps }),
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
      decays,
    },
    ...(gradients ? { gradients } : {}),
  });
  settings.log(
    `vae: ${setup.model.parameterCount()} parameters, ${setup.voices.length} voices, ${setup.trainHours.toFixed(2)} h of train-split speech, crops of ${config.cropFrames} frames`,
  );
  return {
    trainer,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const lastValidation = result.validation[result.validation.length - 1];
      await saveVae(
        outPath,
        {
          model: setup.model,
          voices: setup.voices,
          speakerLogF0: setup.speakerLogF0,
          trainingDataHash: setup.corpusHash,
          validationMetrics: lastValidation ? { ...lastValidation.losses } : {},
          extra: {
            training: {
              command: options.command,
              steps: result.totalSteps,
              batchSize: settings.batchSize,
              seed: settings.seed,
              workers: settings.workers,
              trainHours: setup.trainHours,
              seconds: options.trainingSeconds,
              ...(settings.init !== undefined ? { init: settings.init } : {}),
            },
          },
        },
        { overwrite: options.overwrite },
      );
      const losses = lastValidation ? formatLosses(lastValidation.losses) : 'none';
      return [`vae: validation ${losses}; voices ${setup.voices.join(', ')}`];
    },
    async dispose() {
      await trainer.dispose();
      setup.model.dispose();
    },
  };
}

/** Config fields that shape the network; a warm start needs them equal (the training-only fields may differ). */
const VAE_ARCHITECTURE_FIELDS = [
  'mels', 'channels', 'latentDims', 'speakerDims', 'kernelSize', 'downsample', 'encoderBlocks', 'decoderBlocks',
  'envelopeCoefficients', 'classifierChannels', 'f0ReferenceHz', 'f0ScaleNepers',
] as const satisfies readonly (keyof VaeConfig)[];

/** Copies the weights of the VAE file at `path` into a fresh training setup; refuses another architecture, voice list or corpus. */
async function warmStartVae(setup: VaeSetup, path: string): Promise<void> {
  if (!existsSync(path)) throw new InvalidArgumentError(`--init: no model file at ${path}`);
  const start = await loadVae(path);
  try {
    const differing = VAE_ARCHITECTURE_FIELDS.filter((k) => start.model.config[k] !== setup.config[k]);
    if (differing.length > 0) {
      throw new ShapeMismatchError(`--init ${path}: its ${differing.map((k) => `${k} ${start.model.config[k]} (this run ${setup.config[k]})`).join(', ')} differ; a warm start needs the same architecture`);
    }
    if (start.voices.join('\n') !== setup.voices.join('\n')) {
      throw new ShapeMismatchError(`--init ${path}: its voices (${start.voices.join(', ')}) are not the corpus voices (${setup.voices.join(', ')})`);
    }
    if (start.trainingDataHash !== setup.corpusHash) {
      throw new ShapeMismatchError(`--init ${path} was trained on corpus ${start.trainingDataHash.slice(0, 12)}…, this corpus is ${setup.corpusHash.slice(0, 12)}…; rebuild the same corpus or train from scratch`);
    }
    setup.model.setWeights(new Map(start.model.getWeights()), path);
  } finally {
    start.model.dispose();
  }
}

/** Options of `trainVae`: the run settings with defaults, and where to write the model. */
export interface VaeTrainOptions extends Partial<Omit<VaeTrainingSettings, 'log'>> {
  readonly steps: number;
  /** Model file (default TIMBRE_HOME/models/vae/model.timbre, or models/vae-NAME with `addVoice`); refuses to overwrite unless `overwrite`. */
  readonly output?: string;
  readonly overwrite?: boolean;
  readonly log?: (line: string) => void;
  /** Called with the trainer before it runs (attach progress printers, wire cancel). */
  readonly onTrainer?: (trainer: Trainer<VaeBatch> | Trainer<VoiceAdaptationBatch>) => void;
}

/** Result of `trainVae`: the trainer's result and, when it finished, the model file written. */
export interface VaeTrainResult extends TrainResult {
  readonly modelPath: string | null;
  readonly seconds: number;
  readonly lines: readonly string[];
}

/** Prepares, runs and finishes a training (or `addVoice` fine-tuning) run in one call (what `timbre train vae` does). */
export async function trainVae(options: VaeTrainOptions): Promise<VaeTrainResult> {
  const paths = timbrePaths(options.home);
  const name = options.addVoice === undefined ? 'vae' : `vae-${options.addVoice}`;
  const output = options.output ?? join(paths.models, name, 'model.timbre');
  if (existsSync(output) && options.overwrite !== true) throw new InvalidArgumentError(`${output} already exists; pass overwrite (--force) to replace it`, 'OUTPUT_EXISTS');
  const run = await prepareVaeTraining({
    home: options.home,
    ...(options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : {}),
    steps: options.steps,
    batchSize: options.batchSize ?? (options.addVoice === undefined ? 16 : 8),
    seed: options.seed ?? 0,
    workers: options.workers ?? 1,
    runDir: options.runDir ?? join(paths.checkpoints, name),
    resume: options.resume ?? true,
    logEvery: options.logEvery ?? 25,
    validateEvery: options.validateEvery ?? 250,
    checkpointEvery: options.checkpointEvery ?? 100,
    config: options.config ?? {},
    log: options.log ?? (() => {}),
    ...(options.addVoice !== undefined ? { addVoice: options.addVoice } : {}),
    ...(options.base !== undefined ? { base: options.base } : {}),
  });
  try {
    options.onTrainer?.(run.trainer);
    const started = performance.now();
    const result = await run.trainer.run();
    const seconds = (performance.now() - started) / 1000;
    if (result.cancelled) return { ...result, modelPath: null, seconds, lines: [] };
    mkdirSync(dirname(output), { recursive: true });
    const lines = await run.finish(result, output, { overwrite: options.overwrite === true, command: 'trainVae', trainingSeconds: seconds });
    return { ...result, modelPath: output, seconds, lines };
  } finally {
    await run.dispose();
  }
}

/** Options of `addVoiceToVae`. */
export interface VaeAddVoiceOptions extends Omit<VaeTrainOptions, 'steps' | 'addVoice'> {
  /** User voice name (TIMBRE_HOME/voices/NAME). */
  readonly voice: string;
  /** Default `ADD_VOICE_DEFAULTS.steps`. */
  readonly steps?: number;
}

/** Adds a user voice to a VAE in one call (what `timbre train vae --add-voice NAME` does); writes TIMBRE_HOME/models/vae-NAME. */
export async function addVoiceToVae(options: VaeAddVoiceOptions): Promise<VaeTrainResult> {
  const { voice, ...rest } = options;
  return trainVae({ ...rest, addVoice: voice, steps: options.steps ?? ADD_VOICE_DEFAULTS.steps, batchSize: options.batchSize ?? ADD_VOICE_DEFAULTS.batchSize });
}
