// DiffVC training on the corpus train split, one run in two stages: the average-voice encoder first (MSE to the
// corpus's DTW-averaged targets), then the score network with that encoder frozen. Also the data-parallel factory.

import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../audio/errors.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { openCorpusDataset, type CorpusDataset, type DatasetUtterance } from '../../corpus/dataset.js';
import { openTrainingCorpus } from '../trainingCorpus.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { Rng } from '../../nn/module.js';
import { warmupCosineSchedule, type LearningRateSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { buildSpeakerJudge } from '../speakerEncoder/train.js';
import { defaultSpeakerEncoderPath, loadSpeakerEncoder } from '../speakerEncoder/convert.js';
import { checkConfigOverrides, formatLosses, setupTrainerOptions, type PreparedTrainingRun, type TrainRunSettings } from '../../nn/trainRun.js';
import { Trainer, type BatchSource, type StepContext, type TrainingSetup } from '../../nn/train.js';
import { f0Features, meanLogF0, meanLogF0OfTracks } from '../pitch.js';
import { DEFAULT_DIFFVC_CONFIG, DiffVc, DiffVcObjective, pitchDims, referenceDims, referenceStatistics, referenceSums, statisticsOfSums, type ReferenceSums, resolveDiffVcConfig, type DiffVcBatch, type DiffVcConfig, type DiffVcNormalization } from './model.js';
import { conditioningEncoderPath, saveDiffVc, type DiffVcVoiceTables } from './convert.js';

/** JSON options of the training-setup factory (what every data-parallel worker builds from). */
export interface DiffVcSetupOptions {
  /** TIMBRE_HOME holding the corpus (default `timbreHome()`), or the corpus folder itself. */
  readonly home?: string;
  readonly corpusRoot?: string;
  /** Config overrides on top of `DEFAULT_DIFFVC_CONFIG`. */
  readonly config?: Partial<DiffVcConfig>;
  /** Unit d-vector of every corpus voice (computed once by `prepareDiffVcTraining`). */
  readonly speakerVectors: { readonly [voice: string]: readonly number[] };
  /** Steps 1 … encoderSteps train the encoder, the rest the decoder. */
  readonly encoderSteps: number;
  /** Weight-initialisation seed (default 0). */
  readonly seed?: number;
  /** Validation crops drawn from the validation split (default 32). */
  readonly validationItems?: number;
}

/** What a DiffVC run needs besides the trainer. */
export interface DiffVcSetup extends TrainingSetup<DiffVcBatch> {
  readonly model: DiffVc;
  readonly config: DiffVcConfig;
  readonly voices: readonly string[];
  readonly trainSet: CorpusDataset;
  readonly corpusHash: string;
  readonly trainHours: number;
  readonly objective: DiffVcObjective;
}

/** Deterministic seed of a batch from its item indices (so a resumed run crops the same way). */
function indicesSeed(indices: readonly number[], salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (const i of indices) h = Math.imul(h ^ (i + 0x9e3779b9), 0x01000193) >>> 0;
  return h;
}

/** Per-utterance features of a batch source: F0 tracks and (cached on first use) reference sums. */
class UtteranceFeatures {
  private readonly sums = new Map<string, ReferenceSums>();

  constructor(
    private readonly dataset: CorpusDataset,
    private readonly normalization: DiffVcNormalization,
  ) {}

  /**
   * F0 per frame of the utterance: the corpus's own track (YIN on the audio, one value per hop, cached by the corpus
   * build). Conversion estimates the source's F0 from its log-mel (`estimateF0FromLogMel`, tuned against these tracks);
   * running that estimator on every training utterance would cost ≈ 50 ms each.
   */
  f0Of(u: DatasetUtterance): Float32Array {
    return this.dataset.f0(u.voice, u.sentence);
  }

  /** `referenceStatistics` of several utterances together (from cached per-utterance sums); zeros when all are silent. */
  referenceOf(utterances: readonly DatasetUtterance[]): Float32Array {
    const parts = utterances.map((u) => {
      const key = `${u.voice}/${u.sentence}`;
      let sums = this.sums.get(key);
      if (sums === undefined) {
        sums = referenceSums(this.dataset.mel(u.voice, u.sentence), this.normalization);
        this.sums.set(key, sums);
      }
      return sums;
    });
    return statisticsOfSums(parts) ?? new Float32Array(2 * this.normalization.mean.length);
  }
}

/**
 * Random crops of `cropFrames` of utterances with their average-voice targets, their voice's d-vector and — as the
 * config asks — the source μ is encoded from (another voice aligned to the crop for a `crossVoiceShare` of items), the
 * crop's own pitch features and reference statistics of `referenceUtterances` other utterances of the voice.
 */
export function diffVcBatchSource(
  dataset: CorpusDataset,
  items: readonly DatasetUtterance[],
  options: {
    config: DiffVcConfig;
    normalization: DiffVcNormalization;
    speakerVectors: DiffVcSetupOptions['speakerVectors'];
    salt?: number;
    /** CycleDiffusion: also give each item another voice of these (model order) to convert to (`DiffVcBatch.target`). */
    conversionTargets?: { readonly voices: readonly string[]; readonly tables: DiffVcVoiceTables };
  },
): BatchSource<DiffVcBatch> {
  const { config, normalization } = options;
  const mels = config.mels;
  const width = config.cropFrames;
  const dims = config.speakerDims;
  const floor = Math.log(MEL_CONFIG.logFloor);
  const features = new UtteranceFeatures(dataset, normalization);
  const byVoice = new Map<string, DatasetUtterance[]>();
  for (const u of dataset.utterances) byVoice.set(u.voice, [...(byVoice.get(u.voice) ?? []), u]);
  const pitchWidth = pitchDims(config);
  const referenceWidth = referenceDims(config);
  return {
    size: items.length,
    getBatch(indices) {
      const rng = new Rng(indicesSeed(indices, options.salt ?? 0));
      const b = indices.length;
      const mel = new Float32Array(b * width * mels);
      const meanSource = new Float32Array(b * width * mels);
      const average = new Float32Array(b * width * mels);
      const mask = new Float32Array(b * width);
      const speaker = new Float32Array(b * dims);
      const pitch = new Float32Array(b * width * pitchWidth);
      const reference = new Float32Array(b * referenceWidth);
      const targets = options.conversionTargets;
      const targetSpeaker = new Float32Array(targets ? b * dims : 0);
      const targetPitch = new Float32Array(targets ? b * width * pitchWidth : 0);
      const targetReference = new Float32Array(targets ? b * referenceWidth : 0);
      indices.forEach((index, k) => {
        const u = items[index]!;
        const full = dataset.mel(u.voice, u.sentence);
        const avg = dataset.averageMel(u.voice, u.sentence);
        const frames = Math.min(full.frames, avg.frames);
        const length = Math.min(width, frames);
        const start = frames > width ? rng.int(frames - width + 1) : 0;
        let source = full;
        if (config.crossVoiceShare > 0 && rng.uniform() < config.crossVoiceShare) {
          const others = dataset.sentenceUtterances(u.sentence).filter((o) => o.voice !== u.voice);
          if (others.length > 0) source = dataset.alignedMel(u.voice, others[rng.int(others.length)]!.voice, u.sentence);
        }
        for (let t = 0; t < width; t++) {
          const base = (k * width + t) * mels;
          for (let m = 0; m < mels; m++) {
            const x = t < length ? full.data[(start + t) * mels + m]! : floor;
            const from = t < length ? source.data[(start + t) * mels + m]! : floor;
            const y = t < length ? avg.data[(start + t) * mels + m]! : floor;
            mel[base + m] = (x - normalization.mean[m]!) / normalization.std[m]!;
            meanSource[base + m] = (from - normalization.mean[m]!) / normalization.std[m]!;
            average[base + m] = (y - normalization.mean[m]!) / normalization.std[m]!;
          }
          mask[k * width + t] = t < length ? 1 : 0;
        }
        const vector = options.speakerVectors[u.voice];
        if (vector === undefined || vector.length !== dims) throw new ShapeMismatchError(`no ${dims}-dim d-vector for voice ${u.voice}`);
        speaker.set(vector, k * dims);
        const f0 = new Float32Array(width);
        f0.set(features.f0Of(u).subarray(start, start + length));
        if (config.pitchInput) pitch.set(f0Features(f0, width, config), k * width * pitchWidth);
        if (targets) {
          const others = targets.voices.filter((v) => v !== u.voice);
          const index = targets.voices.indexOf(others[rng.int(others.length)]!);
          const voice = targets.voices[index]!;
          const targetVector = options.speakerVectors[voice];
          if (targetVector === undefined || targetVector.length !== dims) throw new ShapeMismatchError(`no ${dims}-dim d-vector for voice ${voice}`);
          targetSpeaker.set(targetVector, k * dims);
          if (config.referenceInput) targetReference.set(targets.tables.reference.subarray(index * referenceWidth, (index + 1) * referenceWidth), k * referenceWidth);
          if (config.pitchInput) {
            const own = meanLogF0(features.f0Of(u));
            const wanted = targets.tables.logF0[index]!;
            const shift = Number.isFinite(own) && Number.isFinite(wanted) ? wanted - own : 0;
            targetPitch.set(f0Features(f0, width, config, shift, Number.isFinite(wanted) ? wanted : undefined), k * width * pitchWidth);
          }
        }
        if (config.referenceInput) {
          const pool = (byVoice.get(u.voice) ?? []).filter((o) => o.sentence !== u.sentence);
          const chosen = Array.from({ length: Math.min(config.referenceUtterances, pool.length) }, () => pool[rng.int(pool.length)]!);
          reference.set(features.referenceOf(chosen.length > 0 ? chosen : [u]), k * referenceWidth);
        }
      });
      return {
        mel: tf.tensor3d(mel, [b, width, mels]),
        meanSource: tf.tensor3d(meanSource, [b, width, mels]),
        average: tf.tensor3d(average, [b, width, mels]),
        mask: tf.tensor3d(mask, [b, width, 1]),
        speaker: tf.tensor2d(speaker, [b, dims]),
        ...(config.pitchInput ? { pitch: tf.tensor3d(pitch, [b, width, pitchWidth]) } : {}),
        ...(config.referenceInput ? { reference: tf.tensor2d(reference, [b, referenceWidth]) } : {}),
        ...(targets
          ? {
              target: {
                speaker: tf.tensor2d(targetSpeaker, [b, dims]),
                ...(config.pitchInput ? { pitch: tf.tensor3d(targetPitch, [b, width, pitchWidth]) } : {}),
                ...(config.referenceInput ? { reference: tf.tensor2d(targetReference, [b, referenceWidth]) } : {}),
              },
            }
          : {}),
      };
    },
  };
}

/**
 * What the model file stores of each voice besides its d-vector: the mean ln F0 (of the corpus's F0 tracks) and the reference statistics of up to
 * `perVoice` train-split utterances (evenly spaced through the voice's list, so the choice is fixed).
 */
export function diffVcVoiceTables(dataset: CorpusDataset, voices: readonly string[], normalization: DiffVcNormalization, perVoice = 60): DiffVcVoiceTables {
  const logF0 = new Float32Array(voices.length);
  const reference = new Float32Array(voices.length * 2 * normalization.mean.length);
  voices.forEach((voice, i) => {
    const all = dataset.utterances.filter((u) => u.voice === voice);
    const step = Math.max(1, Math.floor(all.length / perVoice));
    const chosen = all.filter((_, k) => k % step === 0).slice(0, perVoice);
    const melsOf = chosen.map((u) => dataset.mel(u.voice, u.sentence));
    // The corpus's F0 tracks, as the training pitch features (conversion moves the source's contour to this mean).
    logF0[i] = meanLogF0OfTracks(chosen.map((u) => dataset.f0(u.voice, u.sentence)));
    reference.set(referenceStatistics(melsOf, normalization), i * 2 * normalization.mean.length);
  });
  return { logF0, reference };
}

/** Builds model, loss and data of a run on the corpus train split, all voices (also the workers' factory). */
export function createDiffVcTrainingSetup(options: DiffVcSetupOptions): DiffVcSetup {
  const config = resolveDiffVcConfig(options.config);
  const corpus = openTrainingCorpus(options);
  const { train: trainSet, validation: validationSet, voices, normalization } = corpus;
  const model = new DiffVc(config, new Rng(options.seed ?? 0), normalization);
  const validationItems = new Rng(7).shuffleInPlace([...validationSet.utterances]).slice(0, options.validationItems ?? 32);
  const common = { config, normalization, speakerVectors: options.speakerVectors };
  const objective = new DiffVcObjective(model, options.encoderSteps);
  return {
    objective,
    model,
    config,
    voices,
    trainSet,
    corpusHash: corpus.hash,
    trainHours: corpus.trainHours,
    train: diffVcBatchSource(trainSet, trainSet.utterances, common),
    ...(validationItems.length > 0 ? { validation: diffVcBatchSource(validationSet, validationItems, { ...common, salt: 1 }) } : {}),
    lossFn: (batch: DiffVcBatch, ctx: StepContext) => objective.loss(batch, ctx),
  };
}

/**
 * What a DiffVC model file of `setup`'s model holds besides metrics and extras: its voices, their d-vectors as a
 * [voices × dims] table (from `speakerVectors`, by voice id), their mean log-F0 and reference statistics, the corpus hash.
 */
export function diffVcFileContents(setup: DiffVcSetup, speakerVectors: Readonly<Record<string, readonly number[]>>): { model: DiffVc; voices: readonly string[]; speakerVectors: Float32Array; voiceTables: DiffVcVoiceTables; trainingDataHash: string } {
  const dims = setup.config.speakerDims;
  const vectors = new Float32Array(setup.voices.length * dims);
  setup.voices.forEach((v, i) => vectors.set(speakerVectors[v]!, i * dims));
  return {
    model: setup.model,
    voices: setup.voices,
    speakerVectors: vectors,
    voiceTables: diffVcVoiceTables(setup.trainSet, setup.voices, setup.model.normalization),
    trainingDataHash: setup.corpusHash,
  };
}

/** Steps of the encoder stage in a run of `steps`. */
export function encoderStepsOf(config: Pick<DiffVcConfig, 'encoderFraction'>, steps: number): number {
  return Math.round(config.encoderFraction * steps);
}

/** Warmup + cosine per stage: the encoder's over its steps, then the decoder's from a fresh warmup. */
export function twoStageSchedule(config: DiffVcConfig, steps: number, encoderSteps: number): LearningRateSchedule {
  const warm = (n: number): number => Math.min(config.warmupSteps, Math.max(1, Math.floor(n / 10)));
  const first = warmupCosineSchedule({ peak: config.encoderLearningRate, warmupSteps: warm(encoderSteps), totalSteps: Math.max(1, encoderSteps) });
  const second = warmupCosineSchedule({ peak: config.learningRate, warmupSteps: warm(steps - encoderSteps), totalSteps: Math.max(1, steps - encoderSteps) });
  return (step) => (step <= encoderSteps ? first(step) : second(step - encoderSteps));
}

/** Settings of a DiffVC run: the shared `timbre train` options plus the corpus folder and the speaker encoder. */
export interface DiffVcTrainingSettings extends TrainRunSettings {
  /** The corpus folder itself, instead of TIMBRE_HOME/corpus. */
  readonly corpusRoot?: string;
  /** Speaker-encoder file whose d-vectors condition the decoder (default: the user's, else the shipped one). */
  readonly speakerEncoder?: string;
}

/** A prepared DiffVC run. */
export type DiffVcTrainingRun = PreparedTrainingRun<Trainer<DiffVcBatch>>;

/** Checks config overrides from a preset: only `DiffVcConfig` keys with values of the default's type. */
export function diffVcConfigOverrides(config: Readonly<Record<string, unknown>>): Partial<DiffVcConfig> {
  return checkConfigOverrides('DiffVC', DEFAULT_DIFFVC_CONFIG, config);
}

/**
 * Unit d-vector of every corpus voice from the speaker encoder at `path`: its judge's centroids when the judge knows
 * every voice, else centroids of `centroidUtterances` train-split utterances per voice embedded now.
 */
export async function corpusSpeakerVectors(path: string, trainSet: CorpusDataset, log: (line: string) => void): Promise<{ vectors: Record<string, number[]>; dims: number; trainingDataHash: string }> {
  if (!existsSync(path)) throw new InvalidArgumentError(`no speaker encoder at ${path}; train one with: timbre train speaker-encoder`);
  const { encoder, judge, trainingDataHash } = await loadSpeakerEncoder(path);
  try {
    const voices = trainSet.manifest.voices.map((v) => v.id);
    const known = voices.every((v) => judge.voices.includes(v));
    if (!known) log(`diffvc: the speaker encoder's judge lacks some corpus voices; embedding ${encoder.config.centroidUtterances} train utterances per voice`);
    const source = known ? judge : buildSpeakerJudge(encoder, trainSet);
    return { vectors: Object.fromEntries(voices.map((v) => [v, [...source.centroid(v)]])), dims: encoder.config.embeddingDims, trainingDataHash };
  } finally {
    encoder.dispose();
  }
}

/** Prepares a two-stage run (encoder for `encoderFraction` of the steps, then decoder) on the corpus train split. */
export async function prepareDiffVcTraining(settings: DiffVcTrainingSettings): Promise<DiffVcTrainingRun> {
  const overrides = diffVcConfigOverrides(settings.config);
  const where = settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {};
  const speakerEncoderPath = settings.speakerEncoder ?? defaultSpeakerEncoderPath(settings.home);
  const speakers = await corpusSpeakerVectors(speakerEncoderPath, openCorpusDataset({ ...where, split: 'train' }), settings.log);
  const config = resolveDiffVcConfig({ ...overrides, speakerDims: speakers.dims });
  const encoderSteps = encoderStepsOf(config, settings.steps);
  const setupOptions: DiffVcSetupOptions = { ...where, config: { ...overrides, speakerDims: speakers.dims }, speakerVectors: speakers.vectors, encoderSteps, seed: settings.seed };
  const setup = createDiffVcTrainingSetup(setupOptions);
  const gradients = await gradientPoolForRun(settings.workers, { module: import.meta.url, factory: 'createDiffVcTrainingSetup', factoryOptions: setupOptions, local: setup }, () => setup.model.dispose());
  const trainer = new Trainer<DiffVcBatch>({
    ...setupTrainerOptions(setup, settings),
    runConfig: { model: 'diffvc', config: config as unknown as JsonValue, corpus: setup.corpusHash, voices: [...setup.voices], speakerEncoder: speakers.trainingDataHash, encoderSteps },
    optimizer: {
      learningRate: twoStageSchedule(config, settings.steps, encoderSteps),
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
      decays: (name, v) => v.rank >= 2 && !name.startsWith('encoder.'), // stage 1 is short; the encoder needs no decay
    },
    ...(gradients ? { gradients } : {}),
  });
  settings.log(
    `diffvc: encoder ${setup.model.encoder.parameterCount()} + decoder ${setup.model.decoder.parameterCount()} parameters, ${setup.voices.length} voices, ` +
      `${setup.trainHours.toFixed(2)} h of train-split speech, crops of ${config.cropFrames} frames; steps 1–${encoderSteps} train the encoder, ${encoderSteps + 1}–${settings.steps} the decoder`,
  );
  return {
    trainer,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      setup.objective.settle();
      const lastValidation = result.validation[result.validation.length - 1];
      await saveDiffVc(
        outPath,
        {
          ...diffVcFileContents(setup, speakers.vectors),
          validationMetrics: lastValidation ? { ...lastValidation.losses } : {},
          extra: {
            speakerEncoder: { path: speakerEncoderPath, trainingDataHash: speakers.trainingDataHash },
            training: {
              command: options.command,
              steps: result.totalSteps,
              encoderSteps,
              batchSize: settings.batchSize,
              seed: settings.seed,
              workers: settings.workers,
              trainHours: setup.trainHours,
              seconds: options.trainingSeconds,
            },
          },
        },
        { overwrite: options.overwrite },
      );
      // The decoder knows this encoder's d-vectors: it goes with the model file (replacing a stale one of that name).
      await writeFileAtomic(conditioningEncoderPath(outPath), readFileSync(speakerEncoderPath), { overwrite: true });
      const losses = lastValidation ? formatLosses(lastValidation.losses) : 'none';
      return [`diffvc: validation ${losses}; voices ${setup.voices.join(', ')}`];
    },
    async dispose() {
      await trainer.dispose();
      setup.objective.dispose();
      setup.model.dispose();
    },
  };
}
