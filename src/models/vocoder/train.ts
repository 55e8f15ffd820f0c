// Training of the neural vocoder on corpus recordings: random crops of aligned log-mel frames and waveform samples with
// their STFT targets, the shared Trainer (resumable checkpoints, workers), and optional fine-tune mels from converters.

import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { reflectPad, StftEngine } from '../../audio/stft.js';
import type { CorpusDataset, DatasetUtterance } from '../../corpus/dataset.js';
import { openTrainingCorpus } from '../trainingCorpus.js';
import { float32Bytes, float32FromBytes } from '../../corpus/store.js';
import type { MelConverter } from '../converter.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { MelNormalization } from '../melNormalization.js';
import { writeAtomic, type JsonValue } from '../../nn/modelFile.js';
import { Rng } from '../../nn/module.js';
import { warmupCosineSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { Trainer, type BatchSource, type TrainingSetup } from '../../nn/train.js';
import { checkConfigOverrides, formatLosses, setupTrainerOptions, type PreparedTrainingRun, type TrainRunSettings } from '../../nn/trainRun.js';
import { loadVocoderModel, saveVocoderModel } from './convert.js';
import {
  createVocoder,
  DEFAULT_VOCODER_CONFIG,
  DEFAULT_VOCODER_LOSS,
  lossFrames,
  lossOffset,
  minimumCropFrames,
  VOCODER_BINS,
  vocoderGflopsPerSecond,
  VocoderObjective,
  type VocoderBatch,
  type VocoderConfig,
  type VocoderLossConfig,
  type VocoderNet,
} from './model.js';

/** Training hyperparameters (flat with the loss settings, so one preset names any of them). */
export interface VocoderTrainConfig extends VocoderLossConfig {
  /** Frames per crop (32 = 8192 samples, HiFi-GAN's segment). */
  readonly cropFrames: number;
  /** Peak AdamW learning rate (Vocos 5e-4) after a linear warmup; cosine to 10 % at the last step. */
  readonly learningRate: number;
  readonly warmupSteps: number;
  /** AdamW β1, β2 (HiFi-GAN 0.8, 0.99). */
  readonly beta1: number;
  readonly beta2: number;
  readonly weightDecay: number;
  /** Global gradient-norm clip (a guard against a bad batch; no GAN here to destabilise training). */
  readonly clipNorm: number;
  /** With a fine-tune set: share of crops whose input is a converter's output of the same utterance. */
  readonly fineTuneShare: number;
  /** Fixed validation crops from the validation split. */
  readonly validationItems: number;
}

/** CPU defaults; `DEFAULT_VOCODER_LOSS` for the loss. */
export const DEFAULT_VOCODER_TRAIN_CONFIG: VocoderTrainConfig = Object.freeze({
  ...DEFAULT_VOCODER_LOSS,
  cropFrames: 32,
  learningRate: 5e-4,
  warmupSteps: 500,
  beta1: 0.8,
  beta2: 0.99,
  weightDecay: 0.01,
  clipNorm: 10,
  fineTuneShare: 0.3,
  validationItems: 32,
});

/** One crop as host arrays, laid out as one item of `VocoderBatch`. */
export interface VocoderItem {
  readonly mel: Float32Array; // [T × mels]
  readonly targetMel: Float32Array; // [T × mels]
  readonly logMagnitude: Float32Array; // [T × bins]
  readonly phaseRe: Float32Array;
  readonly phaseIm: Float32Array;
  readonly phaseMask: Float32Array;
  readonly stftMagnitudes: readonly Float32Array[]; // per stft size [frames × bins]
}

const engines = new Map<string, StftEngine>();
function engine(nFft: number, hop: number): StftEngine {
  const key = `${nFft}/${hop}`;
  let e = engines.get(key);
  if (!e) engines.set(key, (e = new StftEngine({ nFft, windowSamples: nFft, hopSamples: hop })));
  return e;
}

/**
 * The targets of frames [start, start + frames) of an utterance: `samples` at 22 050 Hz and `targetMel`, its log-mel
 * (frames = floor(samples / hop), as the corpus caches it). Mel frame t, STFT frame t and samples [t·hop, (t+1)·hop) line
 * up (src/audio/stft.ts framing); the model-frame STFT is taken with the whole utterance as context. `inputMel`, a
 * converter's output of the same utterance, replaces the input (the targets stay the recording's).
 */
export function vocoderItem(samples: Float32Array, targetMel: LogMel, start: number, frames: number, loss: VocoderLossConfig, inputMel?: LogMel): VocoderItem {
  const hop = MEL_CONFIG.hopSamples;
  const mels = targetMel.mels;
  if (Math.floor(samples.length / hop) !== targetMel.frames) throw new ShapeMismatchError(`vocoderItem: ${samples.length} samples make ${Math.floor(samples.length / hop)} frames, the log-mel has ${targetMel.frames}`);
  if (!(Number.isInteger(start) && start >= 0 && start + frames <= targetMel.frames)) throw new ShapeMismatchError(`vocoderItem: frames [${start}, ${start + frames}) lie outside the ${targetMel.frames} of the utterance`);
  if (inputMel && (inputMel.frames !== targetMel.frames || inputMel.mels !== mels)) throw new ShapeMismatchError(`vocoderItem: input log-mel ${inputMel.frames}×${inputMel.mels} differs from the recording's ${targetMel.frames}×${mels}`);
  const main = engine(MEL_CONFIG.nFft, hop);
  const padded = reflectPad(samples, main.padLeft, main.padRight);
  const bins = VOCODER_BINS;
  const re = new Float32Array(frames * bins);
  const im = new Float32Array(frames * bins);
  main.analysePadded(padded.subarray(start * hop), frames, re, im);
  const logMagnitude = new Float32Array(frames * bins);
  const phaseRe = new Float32Array(frames * bins);
  const phaseIm = new Float32Array(frames * bins);
  const phaseMask = new Float32Array(frames * bins);
  for (let i = 0; i < re.length; i++) {
    const power = re[i]! * re[i]! + im[i]! * im[i]!;
    const magnitude = Math.sqrt(power);
    logMagnitude[i] = 0.5 * Math.log(Math.max(power, 1e-7));
    phaseRe[i] = magnitude > 0 ? re[i]! / magnitude : 1;
    phaseIm[i] = magnitude > 0 ? im[i]! / magnitude : 0;
    phaseMask[i] = magnitude >= loss.phaseFloor ? 1 : 0;
  }
  const crop = Float64Array.from(samples.subarray(start * hop, (start + frames) * hop));
  const stftMagnitudes = loss.stftSizes.map((nFft) => {
    const ops = engine(nFft, nFft / 4);
    const offset = lossOffset(nFft);
    const count = lossFrames(nFft, crop.length);
    if (count < 1) throw new ShapeMismatchError(`vocoderItem: a crop of ${frames} frames is too short for an STFT of ${nFft}`);
    const sizeBins = nFft / 2 + 1;
    const r = new Float32Array(count * sizeBins);
    const m = new Float32Array(count * sizeBins);
    ops.analysePadded(crop.subarray(offset), count, r, m);
    for (let i = 0; i < r.length; i++) r[i] = Math.sqrt(Math.max(r[i]! * r[i]! + m[i]! * m[i]!, 1e-7));
    return r;
  });
  const rows = (mel: LogMel) => mel.data.slice(start * mels, (start + frames) * mels);
  return { mel: rows(inputMel ?? targetMel), targetMel: rows(targetMel), logMagnitude, phaseRe, phaseIm, phaseMask, stftMagnitudes };
}

/** Stacks items of `frames` frames into a batch of tensors. */
export function vocoderBatch(items: readonly VocoderItem[], frames: number, loss: VocoderLossConfig): VocoderBatch {
  const n = items.length;
  const stack = (pick: (item: VocoderItem) => Float32Array, width: number): tf.Tensor3D => {
    const out = new Float32Array(n * frames * width);
    items.forEach((item, k) => out.set(pick(item), k * frames * width));
    return tf.tensor3d(out, [n, frames, width]);
  };
  const mels = MEL_CONFIG.melBins;
  const cropSamples = frames * MEL_CONFIG.hopSamples;
  return {
    mel: stack((i) => i.mel, mels),
    targetMel: stack((i) => i.targetMel, mels),
    logMagnitude: stack((i) => i.logMagnitude, VOCODER_BINS),
    phaseRe: stack((i) => i.phaseRe, VOCODER_BINS),
    phaseIm: stack((i) => i.phaseIm, VOCODER_BINS),
    phaseMask: stack((i) => i.phaseMask, VOCODER_BINS),
    stftMagnitudes: loss.stftSizes.map((nFft, r) => {
      const count = lossFrames(nFft, cropSamples);
      const sizeBins = nFft / 2 + 1;
      const out = new Float32Array(n * count * sizeBins);
      items.forEach((item, k) => out.set(item.stftMagnitudes[r]!, k * count * sizeBins));
      return tf.tensor3d(out, [n, count, sizeBins]);
    }),
  };
}

/** Folder layout of a fine-tune set: `index.json` and one `<family>/<voice>/<sentence>.f32` [frames × 80] per mel. */
export const FINE_TUNE_INDEX = 'index.json';
const FINE_TUNE_FORMAT = 'timbre-vocoder-finetune';

/** One converter output: `family`'s conversion of a corpus utterance to its own voice (same timing as the recording). */
export interface FineTuneEntry {
  readonly family: string;
  readonly voice: string;
  readonly sentence: string;
  readonly frames: number;
  /** Relative to the set's folder. */
  readonly file: string;
}

/** Converter outputs aligned to corpus recordings, looked up by utterance. */
export interface FineTuneSet {
  readonly dir: string;
  /** sha256 of index.json: a run resumed with another set is refused. */
  readonly hash: string;
  readonly entries: readonly FineTuneEntry[];
  of(voice: string, sentence: string): readonly FineTuneEntry[];
  mel(entry: FineTuneEntry): LogMel;
}

/** Opens a fine-tune set written by `writeFineTuneMels`. */
export function openFineTuneSet(dir: string): FineTuneSet {
  const indexPath = join(dir, FINE_TUNE_INDEX);
  if (!existsSync(indexPath)) throw new InvalidArgumentError(`no fine-tune set at ${dir} (no ${FINE_TUNE_INDEX}); write one with writeFineTuneMels`);
  const text = readFileSync(indexPath, 'utf8');
  const index = JSON.parse(text) as { format?: unknown; entries?: FineTuneEntry[] };
  if (index.format !== FINE_TUNE_FORMAT || !Array.isArray(index.entries)) throw new InvalidArgumentError(`${indexPath} is not a vocoder fine-tune index`);
  const byUtterance = new Map<string, FineTuneEntry[]>();
  for (const e of index.entries) byUtterance.set(`${e.voice}/${e.sentence}`, [...(byUtterance.get(`${e.voice}/${e.sentence}`) ?? []), e]);
  const mels = MEL_CONFIG.melBins;
  return {
    dir,
    hash: createHash('sha256').update(text).digest('hex'),
    entries: index.entries,
    of: (voice, sentence) => byUtterance.get(`${voice}/${sentence}`) ?? [],
    mel: (e) => ({ frames: e.frames, mels, data: float32FromBytes(new Uint8Array(readFileSync(join(dir, e.file))), e.file, e.frames * mels) }),
  };
}

/**
 * Converted mels aligned to recordings: each converter maps each utterance to the utterance's own voice, keeping the
 * recording's timing, so the recording is the waveform target of the converter's smoother mel (HiFi-GAN's fine-tuning
 * on ground-truth-aligned mels). Converters that cannot produce a voice skip it. Writes `dir` and returns the set.
 */
export async function writeFineTuneMels(
  dir: string,
  dataset: CorpusDataset,
  converters: readonly MelConverter[],
  options: { utterances?: readonly DatasetUtterance[]; log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<FineTuneSet> {
  const utterances = options.utterances ?? dataset.utterances;
  const entries: FineTuneEntry[] = [];
  for (const converter of converters) {
    let written = 0;
    for (const u of utterances) {
      options.signal?.throwIfAborted();
      if (!converter.targetVoices.includes(u.voice)) continue;
      const converted = await converter.convert(dataset.mel(u.voice, u.sentence), { voiceId: u.voice }, options.signal ? { signal: options.signal } : {});
      if (converted.frames !== u.frames || converted.mels !== MEL_CONFIG.melBins) {
        throw new ShapeMismatchError(`${converter.label} returned ${converted.frames}×${converted.mels} for ${u.voice}/${u.sentence}, expected ${u.frames}×${MEL_CONFIG.melBins}`);
      }
      const file = join(converter.family, u.voice, `${u.sentence}.f32`);
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      await writeAtomic(join(dir, file), float32Bytes(converted.data), { overwrite: true });
      entries.push({ family: converter.family, voice: u.voice, sentence: u.sentence, frames: u.frames, file });
      written++;
    }
    options.log?.(`vocoder fine-tune: ${written} mels from ${converter.label}`);
  }
  await writeAtomic(join(dir, FINE_TUNE_INDEX), `${JSON.stringify({ format: FINE_TUNE_FORMAT, version: 1, entries }, null, 1)}\n`, { overwrite: true });
  return openFineTuneSet(dir);
}

/** Mixes integers into one 32-bit seed (murmur-style finaliser). */
function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * Crops of `utterances` (each at least a crop long). Training (`fixed` false): the crop of an item depends on the whole
 * shard's indices, so a new epoch's batches crop anew, yet resumed runs and workers see the same crops. Validation
 * (`fixed`): one crop per item, always the same.
 */
export function vocoderBatchSource(
  dataset: CorpusDataset,
  utterances: readonly DatasetUtterance[],
  options: { trainConfig: VocoderTrainConfig; salt: number; fixed?: boolean; fineTune?: FineTuneSet },
): BatchSource<VocoderBatch> {
  const t = options.trainConfig;
  return {
    size: utterances.length,
    getBatch(indices) {
      const shard = mixSeed(options.salt, ...(options.fixed ? [] : indices));
      const items = indices.map((index) => {
        const u = utterances[index]!;
        const rng = new Rng(mixSeed(shard, index));
        const start = rng.int(u.frames - t.cropFrames + 1);
        const converted = options.fineTune?.of(u.voice, u.sentence) ?? [];
        const useConverted = converted.length > 0 && rng.uniform() < t.fineTuneShare;
        const input = useConverted ? options.fineTune!.mel(converted[rng.int(converted.length)]!) : undefined;
        return vocoderItem(dataset.samples(u.voice, u.sentence), dataset.mel(u.voice, u.sentence), start, t.cropFrames, t, input);
      });
      return vocoderBatch(items, t.cropFrames, t);
    },
  };
}

/** JSON options of the setup factory (what every data-parallel worker builds from). */
export interface VocoderSetupOptions {
  readonly home?: string;
  readonly corpusRoot?: string;
  readonly config?: Partial<VocoderConfig>;
  readonly train?: Partial<VocoderTrainConfig>;
  /** Weight-initialisation seed (default 0). */
  readonly seed?: number;
  /** Folder of a fine-tune set (`writeFineTuneMels`). */
  readonly fineTune?: string;
}

/** A run's model, objective and data. */
export interface VocoderSetup extends TrainingSetup<VocoderBatch> {
  readonly model: VocoderNet;
  readonly objective: VocoderObjective;
  readonly config: VocoderConfig;
  readonly trainConfig: VocoderTrainConfig;
  readonly normalization: MelNormalization;
  readonly corpusHash: string;
  readonly trainHours: number;
  readonly fineTune: FineTuneSet | undefined;
}

function resolveConfigs(options: VocoderSetupOptions): { config: VocoderConfig; trainConfig: VocoderTrainConfig } {
  const config = { ...DEFAULT_VOCODER_CONFIG, ...checkConfigOverrides('vocoder', DEFAULT_VOCODER_CONFIG, options.config ?? {}) };
  const trainConfig = { ...DEFAULT_VOCODER_TRAIN_CONFIG, ...checkConfigOverrides('vocoder training', DEFAULT_VOCODER_TRAIN_CONFIG, options.train ?? {}) };
  const shortest = minimumCropFrames(trainConfig);
  if (!(Number.isInteger(trainConfig.cropFrames) && trainConfig.cropFrames >= shortest)) {
    throw new InvalidArgumentError(`vocoder cropFrames must be a whole number ≥ ${shortest} (the longest STFT of the loss), received ${trainConfig.cropFrames}`);
  }
  return { config, trainConfig };
}

/** Builds the network, objective and batch sources on the corpus train split, all voices (also the workers' factory). */
export function createVocoderTrainingSetup(options: VocoderSetupOptions = {}): VocoderSetup {
  const { config, trainConfig } = resolveConfigs(options);
  const corpus = openTrainingCorpus(options);
  const { train: trainSet, validation: validationSet, normalization } = corpus;
  const long = (u: DatasetUtterance) => u.frames >= trainConfig.cropFrames;
  const trainItems = trainSet.utterances.filter(long);
  if (trainItems.length === 0) throw new InvalidArgumentError(`no train-split utterance is ${trainConfig.cropFrames} frames long; lower cropFrames or build more of the corpus`);
  const validationItems = new Rng(7).shuffleInPlace(validationSet.utterances.filter(long)).slice(0, trainConfig.validationItems);
  const fineTune = options.fineTune !== undefined ? openFineTuneSet(options.fineTune) : undefined;
  const model = createVocoder(config, normalization, options.seed ?? 0);
  const objective = new VocoderObjective(model, trainConfig);
  return {
    model,
    objective,
    config,
    trainConfig,
    normalization,
    corpusHash: corpus.hash,
    trainHours: trainItems.reduce((s, u) => s + u.durationSeconds, 0) / 3600,
    fineTune,
    lossFn: (batch) => objective.lossOf(batch),
    train: vocoderBatchSource(trainSet, trainItems, { trainConfig, salt: options.seed ?? 0, ...(fineTune ? { fineTune } : {}) }),
    ...(validationItems.length > 0 ? { validation: vocoderBatchSource(validationSet, validationItems, { trainConfig, salt: 1, fixed: true }) } : {}),
  };
}

/** Settings of a vocoder run: the shared `timbre train` options plus the corpus folder and an optional fine-tune set. */
export interface VocoderTrainingSettings extends TrainRunSettings {
  /** The corpus folder itself, instead of TIMBRE_HOME/corpus. */
  readonly corpusRoot?: string;
  /** Folder of converter-output mels (`writeFineTuneMels`) mixed into training at `fineTuneShare`. */
  readonly fineTune?: string;
  /** A vocoder model file of the same config whose weights the run starts from (a fine-tune); else a fresh network. */
  readonly init?: string;
}

/** A prepared vocoder run. */
export type VocoderTrainingRun = PreparedTrainingRun<Trainer<VocoderBatch>> & { readonly setup: VocoderSetup };

/** Splits a flat preset into network and training keys; unknown keys are refused. */
export function splitVocoderOverrides(config: Readonly<Record<string, unknown>>): { config: Partial<VocoderConfig>; train: Partial<VocoderTrainConfig> } {
  const model: Record<string, unknown> = {};
  const train: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key in DEFAULT_VOCODER_CONFIG) model[key] = value;
    else if (key in DEFAULT_VOCODER_TRAIN_CONFIG) train[key] = value;
    else throw new InvalidArgumentError(`--config: "${key}" is not a vocoder setting; known: ${[...Object.keys(DEFAULT_VOCODER_CONFIG), ...Object.keys(DEFAULT_VOCODER_TRAIN_CONFIG)].join(', ')}`);
  }
  return { config: model as Partial<VocoderConfig>, train: train as Partial<VocoderTrainConfig> };
}

/** Copies the weights of the vocoder file at `path` into the setup's network; refuses another config. */
async function warmStartVocoder(setup: VocoderSetup, path: string): Promise<void> {
  const loaded = await loadVocoderModel(path);
  try {
    const differs = (Object.keys(setup.config) as (keyof VocoderConfig)[]).filter((k) => setup.config[k] !== loaded.info.config[k]);
    if (differs.length > 0) throw new InvalidArgumentError(`--init ${path}: its ${differs.join(', ')} differ from this run's config; fine-tune with the same settings it was trained with`);
    // The network reads mels normalised with its training corpus's statistics; a fine-tune must see the same numbers.
    const { mean, std } = loaded.info.normalization;
    const off = mean.some((m, i) => Math.abs(m - setup.normalization.mean[i]!) > 1e-3 || Math.abs(std[i]! - setup.normalization.std[i]!) > 1e-3);
    if (off) throw new InvalidArgumentError(`--init ${path}: it was trained on another corpus (mel statistics differ from this corpus's train split); fine-tune it on the corpus it was trained on`);
    setup.model.setWeights(loaded.weights(), path);
  } finally {
    loaded.dispose();
  }
}

/** Prepares `timbre train vocoder`: setup, optional worker pool, the shared Trainer, and the step that writes the model. */
export async function prepareVocoderTraining(settings: VocoderTrainingSettings): Promise<VocoderTrainingRun> {
  const overrides = splitVocoderOverrides(settings.config);
  const setupOptions: VocoderSetupOptions = {
    ...(settings.corpusRoot !== undefined ? { corpusRoot: settings.corpusRoot } : settings.home !== undefined ? { home: settings.home } : {}),
    config: overrides.config,
    train: overrides.train,
    seed: settings.seed,
    ...(settings.fineTune !== undefined ? { fineTune: settings.fineTune } : {}),
  };
  const setup = createVocoderTrainingSetup(setupOptions);
  const t = setup.trainConfig;
  let gradients;
  try {
    if (settings.init !== undefined) await warmStartVocoder(setup, settings.init);
    gradients = await gradientPoolForRun(settings.workers, { module: import.meta.url, factory: 'createVocoderTrainingSetup', factoryOptions: setupOptions, local: setup });
  } catch (err) {
    setup.objective.dispose();
    setup.model.dispose();
    throw err;
  }
  const trainer = new Trainer<VocoderBatch>({
    ...setupTrainerOptions(setup, settings),
    runConfig: {
      model: 'vocoder',
      config: setup.config as unknown as JsonValue,
      train: t as unknown as JsonValue,
      corpus: setup.corpusHash,
      fineTune: setup.fineTune?.hash ?? null,
    },
    optimizer: {
      learningRate: warmupCosineSchedule({ peak: t.learningRate, warmupSteps: Math.min(t.warmupSteps, Math.max(1, Math.floor(settings.steps / 10))), totalSteps: settings.steps }),
      beta1: t.beta1,
      beta2: t.beta2,
      weightDecay: t.weightDecay,
      clipNorm: t.clipNorm,
    },
    ...(gradients ? { gradients } : {}),
  });
  settings.log(
    `vocoder: ${setup.model.parameterCount()} parameters, ${vocoderGflopsPerSecond(setup.config).toFixed(3)} GFLOP per second of audio; ` +
      `${setup.trainHours.toFixed(2)} h of train-split speech, crops of ${t.cropFrames} frames` +
      (setup.fineTune ? `; ${setup.fineTune.entries.length} converter mels from ${setup.fineTune.dir} at share ${t.fineTuneShare}` : ''),
  );
  return {
    trainer,
    setup,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const lastValidation = result.validation[result.validation.length - 1];
      await saveVocoderModel(
        outPath,
        setup.model,
        {
          trainingDataHash: setup.corpusHash,
          validationMetrics: lastValidation ? { ...lastValidation.losses } : {},
          training: {
            command: options.command,
            steps: result.totalSteps,
            batchSize: settings.batchSize,
            seed: settings.seed,
            workers: settings.workers,
            train: t as unknown as JsonValue,
            trainHours: setup.trainHours,
            fineTune: setup.fineTune ? { dir: setup.fineTune.dir, hash: setup.fineTune.hash, mels: setup.fineTune.entries.length } : null,
            seconds: options.trainingSeconds,
          },
        },
        { overwrite: options.overwrite },
      );
      return [`vocoder: validation ${lastValidation ? formatLosses(lastValidation.losses) : 'none'}`];
    },
    async dispose() {
      await trainer.dispose();
      setup.objective.dispose();
      setup.model.dispose();
    },
  };
}

