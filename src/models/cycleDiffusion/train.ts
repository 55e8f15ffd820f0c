// CycleDiffusion training: starts from a trained DiffVC model file (version 3) and fine-tunes its decoder on the corpus
// train split with score matching plus the cycle term (model.ts). Also the data-parallel factory.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import { openCorpusDataset } from '../../corpus/dataset.js';
import { manifestHash } from '../../corpus/manifest.js';
import { timbrePaths } from '../../io/paths.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { conditioningEncoderPath, loadDiffVc, saveDiffVc, shippedDiffVcPath, type DiffVcVoiceTables, type LoadedDiffVc } from '../diffVc/convert.js';
import type { DiffVcBatch } from '../diffVc/model.js';
import { diffVcBatchSource } from '../diffVc/train.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { Rng } from '../../nn/module.js';
import { warmupCosineSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { checkConfigOverrides, formatLosses, setupTrainerOptions, type PreparedTrainingRun, type TrainRunSettings } from '../../nn/trainRun.js';
import { Trainer, type StepContext, type TrainingSetup } from '../../nn/train.js';
import { cycleDiffusionLoss, DEFAULT_CYCLE_DIFFUSION_CONFIG, resolveCycleDiffusionConfig, type CycleDiffusionConfig } from './model.js';

/** JSON options of the training-setup factory (what every data-parallel worker builds from). */
export interface CycleDiffusionSetupOptions {
  readonly home?: string;
  readonly corpusRoot?: string;
  /** The DiffVC model file the run starts from. */
  readonly base: string;
  readonly config?: Partial<CycleDiffusionConfig>;
  /** Validation crops drawn from the validation split (default 8: each costs two reverse passes). */
  readonly validationItems?: number;
}

/** What a CycleDiffusion run needs besides the trainer. */
export interface CycleDiffusionSetup extends TrainingSetup<DiffVcBatch> {
  readonly loaded: LoadedDiffVc;
  readonly config: CycleDiffusionConfig;
  readonly corpusHash: string;
}

/** A stored d-vector table as the batch source's voice → vector record. */
function vectorsByVoice(loaded: LoadedDiffVc): Record<string, number[]> {
  const dims = loaded.model.config.speakerDims;
  return Object.fromEntries(loaded.voices.map((v, i) => [v, [...loaded.speakerVectors.subarray(i * dims, (i + 1) * dims)]]));
}

/** Loads the base DiffVC and builds loss and data on the corpus train split (also the workers' factory). */
export async function createCycleDiffusionTrainingSetup(options: CycleDiffusionSetupOptions): Promise<CycleDiffusionSetup> {
  const config = resolveCycleDiffusionConfig(options.config);
  const loaded = await loadDiffVc(options.base);
  const model = loaded.model;
  if (!model.config.pitchInput || !model.config.referenceInput) {
    model.dispose();
    throw new InvalidArgumentError(`${options.base} is a DiffVC without pitch and reference inputs (version 2); CycleDiffusion starts from a version-3 DiffVC: timbre train diffvc`);
  }
  const where = options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : { home: options.home };
  const trainSet = openCorpusDataset({ ...where, split: 'train' });
  const validationSet = openCorpusDataset({ ...where, split: 'validation' });
  const corpusVoices = trainSet.manifest.voices.map((v) => v.id);
  const missing = loaded.voices.filter((v) => !corpusVoices.includes(v));
  if (missing.length > 0) {
    model.dispose();
    throw new InvalidArgumentError(`the corpus lacks voices of ${options.base}: ${missing.join(', ')}`);
  }
  const common = {
    config: model.config,
    normalization: model.normalization,
    speakerVectors: vectorsByVoice(loaded),
    conversionTargets: { voices: loaded.voices, tables: loaded.voiceTables },
  };
  const validationItems = new Rng(7).shuffleInPlace([...validationSet.utterances]).slice(0, options.validationItems ?? 8);
  return {
    loaded,
    config,
    model,
    corpusHash: manifestHash(trainSet.manifest),
    train: diffVcBatchSource(trainSet, trainSet.utterances, common),
    ...(validationItems.length > 0 ? { validation: diffVcBatchSource(validationSet, validationItems, { ...common, salt: 1 }) } : {}),
    lossFn: (batch: DiffVcBatch, ctx: StepContext) => cycleDiffusionLoss(model, batch, ctx.rng, config),
  };
}

/** Settings of a CycleDiffusion run: the shared options plus the DiffVC to start from and the corpus folder. */
export interface CycleDiffusionTrainingSettings extends TrainRunSettings {
  /** The DiffVC model file to fine-tune (default: TIMBRE_HOME/models/diffvc/model.timbre, else the shipped one). */
  readonly init?: string;
  readonly corpusRoot?: string;
}

/** The DiffVC a run starts from: `init`, else the user's trained DiffVC, else the shipped one. */
export function cycleDiffusionBase(init: string | undefined, home: string | undefined): string {
  if (init !== undefined) {
    const path = resolve(init);
    if (!existsSync(path)) throw new InvalidArgumentError(`no DiffVC model file at ${path}`);
    return path;
  }
  const own = resolve(timbrePaths(home).models, 'diffvc', 'model.timbre');
  return existsSync(own) ? own : shippedDiffVcPath();
}

/** Checks config overrides from a preset: only `CycleDiffusionConfig` keys with values of the default's type. */
export function cycleDiffusionConfigOverrides(config: Readonly<Record<string, unknown>>): Partial<CycleDiffusionConfig> {
  return checkConfigOverrides('CycleDiffusion', DEFAULT_CYCLE_DIFFUSION_CONFIG, config);
}

/** Prepares a fine-tuning run of the decoder of a DiffVC with the cycle term. */
export async function prepareCycleDiffusionTraining(settings: CycleDiffusionTrainingSettings): Promise<PreparedTrainingRun<Trainer<DiffVcBatch>>> {
  const overrides = cycleDiffusionConfigOverrides(settings.config);
  const base = cycleDiffusionBase(settings.init, settings.home);
  const where = settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {};
  const setupOptions: CycleDiffusionSetupOptions = { ...where, base, config: overrides };
  const setup = await createCycleDiffusionTrainingSetup(setupOptions);
  const { config, loaded } = setup;
  const gradients = await gradientPoolForRun(settings.workers, { module: import.meta.url, factory: 'createCycleDiffusionTrainingSetup', factoryOptions: setupOptions, local: setup }, () => loaded.model.dispose());
  const trainer = new Trainer<DiffVcBatch>({
    ...setupTrainerOptions({ ...setup, model: loaded.model }, settings),
    runConfig: { model: 'cyclediffusion', config: config as unknown as JsonValue, base, baseDataHash: loaded.trainingDataHash, corpus: setup.corpusHash },
    optimizer: {
      learningRate: warmupCosineSchedule({ peak: config.learningRate, warmupSteps: Math.min(config.warmupSteps, Math.max(0, settings.steps - 1)), totalSteps: settings.steps }),
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
      decays: (name, v) => v.rank >= 2 && !name.startsWith('encoder.'),
    },
    ...(gradients ? { gradients } : {}),
  });
  settings.log(
    `cyclediffusion: fine-tuning the decoder of ${base} (${loaded.model.decoder.parameterCount()} parameters, ${loaded.voices.length} voices); ` +
      `cycle λ ${config.cycleWeight}, ${config.cycleSteps} ${config.solver} steps per pass, gradient through the B → A pass`,
  );
  const tables: DiffVcVoiceTables = loaded.voiceTables;
  return {
    trainer,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const lastValidation = result.validation[result.validation.length - 1];
      await saveDiffVc(
        outPath,
        {
          model: loaded.model,
          voices: loaded.voices,
          speakerVectors: loaded.speakerVectors,
          voiceTables: tables,
          trainingDataHash: setup.corpusHash,
          validationMetrics: lastValidation ? { ...lastValidation.losses } : {},
          extra: {
            base: { path: base, trainingDataHash: loaded.trainingDataHash },
            cycleDiffusion: config as unknown as JsonValue,
            training: { command: options.command, steps: result.totalSteps, batchSize: settings.batchSize, seed: settings.seed, workers: settings.workers, seconds: options.trainingSeconds },
          },
        },
        { overwrite: options.overwrite, family: 'cyclediffusion' },
      );
      // Same decoder conditioning as the DiffVC it starts from: its speaker encoder goes with the new file.
      const baseEncoder = conditioningEncoderPath(base);
      if (existsSync(baseEncoder)) await writeFileAtomic(conditioningEncoderPath(outPath), readFileSync(baseEncoder), { overwrite: true });
      return [`cyclediffusion: validation ${lastValidation ? formatLosses(lastValidation.losses) : 'none'}`];
    },
    async dispose() {
      await trainer.dispose();
      loaded.model.dispose();
    },
  };
}
