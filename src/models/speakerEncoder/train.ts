// Speaker-encoder training on the corpus train split (random 1.5–3 s crops, AM-softmax), and the judge built and
// scored on corpus utterances (its centroids, its confusion matrix).

import * as tf from '@tensorflow/tfjs';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { CorpusNotBuiltError } from '../../corpus/errors.js';
import { openRealSpeech, type RealSpeechSet } from '../../corpus/realSpeech.js';
import { evenlySpaced, type CorpusDataset, type DatasetUtterance } from '../../corpus/dataset.js';
import { openTrainingCorpus } from '../trainingCorpus.js';
import { manifestHash } from '../../corpus/manifest.js';
import { ModelMismatchError } from '../../nn/errors.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { Rng } from '../../nn/module.js';
import { warmupCosineSchedule } from '../../nn/optimizer.js';
import { gradientPoolForRun } from '../../nn/parallel.js';
import { Trainer, type BatchSource, type StepContext, type TrainingSetup } from '../../nn/train.js';
import { setupTrainerOptions, type FinishOptions, type PreparedTrainingRun, type TrainRunSettings } from '../../nn/trainRun.js';
import type { TrainResult } from '../../nn/trainingLoop.js';
import { resolveSpeakerEncoderConfig, SpeakerEncoder, type SpeakerEncoderConfig, SpeakerEncoderTrainingModel, SpeakerJudge } from './model.js';
import { saveSpeakerEncoder } from './convert.js';

/** Builds the judge from `dataset` (normally the train split): `centroidUtterances` utterances per voice. */
export function buildSpeakerJudge(encoder: SpeakerEncoder, dataset: CorpusDataset, onProgress?: (done: number, total: number) => void): SpeakerJudge {
  const byVoice = new Map<string, DatasetUtterance[]>();
  for (const u of dataset.utterances) {
    const list = byVoice.get(u.voice) ?? [];
    list.push(u);
    byVoice.set(u.voice, list);
  }
  const chosen = [...byVoice].map(([voice, list]) => [voice, evenlySpaced(list, encoder.config.centroidUtterances)] as const);
  const total = chosen.reduce((n, [, list]) => n + list.length, 0);
  let done = 0;
  const embeddings = new Map<string, Float32Array[]>();
  for (const [voice, list] of chosen) {
    embeddings.set(
      voice,
      list.map((u) => {
        const e = encoder.embed(dataset.mel(u.voice, u.sentence));
        onProgress?.(++done, total);
        return e;
      }),
    );
  }
  return SpeakerJudge.fromEmbeddings(embeddings);
}

/** Accuracy and confusion matrix of the judge over every utterance of `dataset` (rows: true voice, columns: judged). */
export interface JudgeReport {
  readonly voices: readonly string[];
  /** [true voice][judged voice] counts, `voices` order. */
  readonly confusion: readonly (readonly number[])[];
  readonly accuracy: number;
  readonly utterances: number;
}

/** Classifies every utterance of `dataset` (whole utterances, `embed`) and tallies the confusion matrix. */
export function evaluateSpeakerJudge(encoder: SpeakerEncoder, judge: SpeakerJudge, dataset: CorpusDataset, onProgress?: (done: number, total: number) => void): JudgeReport {
  const voices = judge.voices;
  const confusion = voices.map(() => voices.map(() => 0));
  let correct = 0;
  let done = 0;
  for (const u of dataset.utterances) {
    const row = voices.indexOf(u.voice);
    if (row < 0) throw new ModelMismatchError(`the speaker judge does not know voice "${u.voice}" of the dataset`);
    const verdict = judge.classify(encoder.embed(dataset.mel(u.voice, u.sentence)));
    confusion[row]![voices.indexOf(verdict.voice)]!++;
    if (verdict.voice === u.voice) correct++;
    onProgress?.(++done, dataset.utterances.length);
  }
  return { voices, confusion, accuracy: dataset.utterances.length > 0 ? correct / dataset.utterances.length : Number.NaN, utterances: dataset.utterances.length };
}

/** The confusion matrix as aligned text rows (voice ids abbreviated to column numbers). */
export function formatConfusion(report: JudgeReport): string {
  const width = Math.max(...report.voices.map((v) => v.length));
  const header = `${' '.repeat(width + 5)}${report.voices.map((_, i) => String(i).padStart(4)).join('')}  acc`;
  const rows = report.voices.map((voice, i) => {
    const row = report.confusion[i]!;
    const total = row.reduce((a, b) => a + b, 0);
    return `${String(i).padStart(2)} ${voice.padEnd(width)}  ${row.map((n) => String(n).padStart(4)).join('')}  ${total > 0 ? ((100 * row[i]!) / total).toFixed(1) : '-'}%`;
  });
  return [header, ...rows, `accuracy ${(100 * report.accuracy).toFixed(2)}% over ${report.utterances} utterances`].join('\n');
}

export interface SpeakerBatch {
  readonly mel: tf.Tensor3D; // [batch, frames, mels]
  readonly lengths: number[];
  readonly labels: Int32Array;
  /** True when items are whole utterances to crop in the loss (training), false when already cropped (validation). */
  readonly crop: boolean;
}

/** One training item: a speaker class and its log-mel (read when a batch needs it). */
export interface SpeakerItem {
  readonly speakerId: number;
  mel(): LogMel;
}

/** Every utterance of a corpus split as an item, labelled with its voice's index. */
export function corpusSpeakerItems(dataset: CorpusDataset): SpeakerItem[] {
  return dataset.utterances.map((u) => ({ speakerId: u.speakerId, mel: () => dataset.mel(u.voice, u.sentence) }));
}

/** Log-mels joined along time (same bins). */
function joinMels(mels: readonly LogMel[]): LogMel {
  const frames = mels.reduce((n, m) => n + m.frames, 0);
  const data = new Float32Array(frames * MEL_CONFIG.melBins);
  let at = 0;
  for (const m of mels) {
    data.set(m.data, at);
    at += m.data.length;
  }
  return { frames, mels: MEL_CONFIG.melBins, data };
}

/**
 * The clips of `split` of each of `speakers` (real-speech training speakers; single words, median ≈ 1 s) joined in
 * manifest order into items of at least `minFrames`, so a training crop holds several words as an utterance does.
 * Speaker `speakers[i]` gets class `firstId + i`; a speaker's last, shorter group is its own item.
 */
export function realSpeakerItems(set: RealSpeechSet, speakers: readonly string[], split: 'train' | 'validation', firstId: number, minFrames: number): SpeakerItem[] {
  const items: SpeakerItem[] = [];
  speakers.forEach((speaker, i) => {
    let group: string[] = [];
    let frames = 0;
    const flush = (): void => {
      if (group.length === 0) return;
      const ids = group;
      let joined: LogMel | undefined; // read and joined once, not on every draw (a few MB for every real speaker)
      items.push({ speakerId: firstId + i, mel: () => (joined ??= joinMels(ids.map((id) => set.mel(id)))) });
      group = [];
      frames = 0;
    };
    for (const clip of set.clips({ split, speakers: [speaker] })) {
      group.push(clip.id);
      frames += clip.frames;
      if (frames >= minFrames) flush();
    }
    flush();
  });
  return items;
}

/** `items` with each of `extra` repeated so that they make up about `share` of the result (at least once each). */
export function mixedItems(items: readonly SpeakerItem[], extra: readonly SpeakerItem[], share: number): SpeakerItem[] {
  if (extra.length === 0 || share <= 0) return [...items, ...extra];
  const repeats = Math.max(1, Math.round((share * items.length) / ((1 - share) * extra.length)));
  const out = [...items];
  for (let r = 0; r < repeats; r++) out.push(...extra);
  return out;
}

/** The real-speech set of `home` for training, or null when none is imported (or it is incomplete). */
function openRealSpeechForTraining(home: string | undefined, root: string | undefined): RealSpeechSet | null {
  try {
    return openRealSpeech(root !== undefined ? { root } : home !== undefined ? { home } : {});
  } catch (err) {
    if (err instanceof CorpusNotBuiltError) return null;
    throw err;
  }
}

/** JSON options of the training-setup factory (also what parallel workers receive). */
export interface SpeakerEncoderSetupOptions {
  /** TIMBRE_HOME holding the corpus (default `timbreHome()`), or the corpus folder itself. */
  readonly home?: string;
  readonly corpusRoot?: string;
  /**
   * The real-speech set's folder; default `<home>/corpus-real` when `corpusRoot` is not given (with `corpusRoot` and
   * no `realSpeechRoot`, no real speakers are used).
   */
  readonly realSpeechRoot?: string;
  /** Config overrides on top of `DEFAULT_SPEAKER_ENCODER_CONFIG`. */
  readonly config?: Partial<SpeakerEncoderConfig>;
  /** Weight-initialisation seed (default 0). */
  readonly seed?: number;
}

/** The setup the Trainer runs, with the datasets it reads (to build the judge afterwards). */
export interface SpeakerEncoderSetup extends TrainingSetup<SpeakerBatch> {
  readonly model: SpeakerEncoderTrainingModel;
  readonly config: SpeakerEncoderConfig;
  readonly trainSet: CorpusDataset;
  readonly validationSet: CorpusDataset;
  /** sha256 of the corpus manifest trained on. */
  readonly corpusHash: string;
  /** The real speakers trained on as extra classes (after the corpus voices), with the set's manifest hash; null without. */
  readonly realSpeech: { readonly hash: string; readonly speakers: readonly string[]; readonly trainItems: number; readonly trainHours: number } | null;
}

function utteranceSource(items: readonly SpeakerItem[], encoder: SpeakerEncoder, cropFrames: number | null): BatchSource<SpeakerBatch> {
  const mels = MEL_CONFIG.melBins;
  return {
    size: items.length,
    getBatch(indices) {
      const batchItems = indices.map((i) => {
        const item = items[i]!;
        const data = encoder.normalize(item.mel());
        const frames = data.length / mels;
        if (cropFrames === null) return { data, frames, speakerId: item.speakerId };
        const length = Math.min(cropFrames, frames);
        const start = Math.floor((frames - length) / 2);
        return { data: data.subarray(start * mels, (start + length) * mels), frames: length, speakerId: item.speakerId };
      });
      const width = Math.max(...batchItems.map((it) => it.frames));
      const padValue = encoder.normalize({ frames: 1, mels, data: new Float32Array(mels).fill(Math.log(MEL_CONFIG.logFloor)) });
      const x = new Float32Array(batchItems.length * width * mels); // [batch, width, mels]
      batchItems.forEach((it, b) => {
        x.set(it.data, b * width * mels);
        for (let t = it.frames; t < width; t++) x.set(padValue, (b * width + t) * mels);
      });
      return {
        mel: tf.tensor3d(x, [batchItems.length, width, mels]),
        lengths: batchItems.map((it) => it.frames),
        labels: Int32Array.from(batchItems.map((it) => it.speakerId)),
        crop: cropFrames === null,
      };
    },
  };
}

/** Random crops of the whole-utterance batch: one length for the batch in [min, max], one start per item, plus gain. */
function randomCrops(batch: SpeakerBatch, config: SpeakerEncoderConfig, std: Float32Array, rng: Rng): { x: tf.Tensor3D; lengths: number[] } {
  const [items, width, mels] = batch.mel.shape;
  const length = Math.min(width, config.minCropFrames + rng.int(config.maxCropFrames - config.minCropFrames + 1));
  const crops: tf.Tensor3D[] = [];
  const lengths: number[] = [];
  const gains = new Float32Array(items * mels); // [batch, 1, mels]: a gain g nepers is +g/std in normalised units
  for (let b = 0; b < items; b++) {
    const valid = batch.lengths[b]!;
    const start = valid > length ? rng.int(valid - length + 1) : 0;
    crops.push(tf.slice(batch.mel, [b, start, 0], [1, length, mels]));
    lengths.push(Math.min(length, valid - start));
    const g = (2 * rng.uniform() - 1) * config.gainAugment;
    for (let k = 0; k < mels; k++) gains[b * mels + k] = g / std[k]!;
  }
  return { x: tf.add(tf.concat(crops, 0), tf.tensor3d(gains, [items, 1, mels])) as tf.Tensor3D, lengths };
}

/** Builds model, loss and data of a training run (the worker factory of `--workers 2` too). */
export function createSpeakerEncoderTrainingSetup(options: SpeakerEncoderSetupOptions = {}): SpeakerEncoderSetup {
  const config = resolveSpeakerEncoderConfig(options.config);
  const corpus = openTrainingCorpus(options);
  const { train: trainSet, validation: validationSet, normalization } = corpus;
  const corpusVoices = trainSet.manifest.voices.length;
  const real = config.realSpeakers && (options.corpusRoot === undefined || options.realSpeechRoot !== undefined) ? openRealSpeechForTraining(options.home, options.realSpeechRoot) : null;
  const realSpeakers = real?.trainingSpeakers ?? [];
  const realTrain = real !== null ? realSpeakerItems(real, realSpeakers, 'train', corpusVoices, config.maxCropFrames) : [];
  const realValidation = real !== null ? realSpeakerItems(real, realSpeakers, 'validation', corpusVoices, config.maxCropFrames) : [];
  const model = new SpeakerEncoderTrainingModel(config, corpusVoices + realSpeakers.length, new Rng(options.seed ?? 0), normalization);
  const encoder = model.encoder;
  const validationItems = [...corpusSpeakerItems(validationSet), ...realValidation];
  return {
    model,
    config,
    trainSet,
    validationSet,
    corpusHash: corpus.hash,
    realSpeech:
      real !== null && realSpeakers.length > 0
        ? {
            hash: manifestHash(real.manifest),
            speakers: realSpeakers,
            trainItems: realTrain.length,
            trainHours: real.clips({ split: 'train', speakers: realSpeakers }).reduce((h, c) => h + c.frames, 0) / (MEL_CONFIG.sampleRateHz / MEL_CONFIG.hopSamples) / 3600,
          }
        : null,
    train: utteranceSource(mixedItems(corpusSpeakerItems(trainSet), realTrain, config.realSpeakerShare), encoder, null),
    // A corpus of a few sentences (tests) may have no validation sentence at all.
    ...(validationItems.length > 0 ? { validation: utteranceSource(validationItems, encoder, config.validationCropFrames) } : {}),
    lossFn: (batch: SpeakerBatch, ctx: StepContext) => {
      const { x, lengths } = batch.crop && ctx.training ? randomCrops(batch, config, normalization.std, ctx.rng) : { x: batch.mel, lengths: batch.lengths };
      return model.loss(encoder.forward(x, lengths), batch.labels);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A whole training run, as `timbre train speaker-encoder` drives it.

/** Settings of one training run: the shared `timbre train` options, with the config typed. */
export interface SpeakerEncoderTrainingOptions extends Omit<TrainRunSettings, 'config'> {
  readonly config?: Partial<SpeakerEncoderConfig>;
}

/** Default run length and batch of `timbre train speaker-encoder`. */
export const DEFAULT_SPEAKER_ENCODER_TRAINING = Object.freeze({ steps: 600, batchSize: 32, logEvery: 20, validateEvery: 100, checkpointEvery: 50 });

/** A prepared run: the Trainer, and `finish` which builds the judge and writes the model file after a full run. */
export interface SpeakerEncoderTrainingRun {
  readonly trainer: Trainer<SpeakerBatch>;
  finish(result: TrainResult, outPath: string, options: FinishOptions): Promise<JudgeReport | null>;
  dispose(): Promise<void>;
}

/** Builds the Trainer (fresh or resuming) for the speaker encoder on the corpus train split. */
export async function prepareSpeakerEncoderTraining(options: SpeakerEncoderTrainingOptions): Promise<SpeakerEncoderTrainingRun> {
  const factoryOptions: SpeakerEncoderSetupOptions = { ...(options.home !== undefined ? { home: options.home } : {}), config: options.config ?? {}, seed: options.seed };
  const setup = createSpeakerEncoderTrainingSetup(factoryOptions);
  const real = setup.realSpeech;
  options.log(
    real === null
      ? `speaker encoder: ${setup.trainSet.voices.length} corpus voices${setup.config.realSpeakers ? ' (no real-speech set imported: timbre corpus real adds real speakers)' : ''}`
      : `speaker encoder: ${setup.trainSet.voices.length} corpus voices + ${real.speakers.length} real speakers (${real.trainItems} items of joined words, ${(real.trainHours * 60).toFixed(1)} min; ${(100 * setup.config.realSpeakerShare).toFixed(0)} % of training items)`,
  );
  const gradients = await gradientPoolForRun(options.workers, { module: import.meta.url, factory: 'createSpeakerEncoderTrainingSetup', factoryOptions });
  const { config } = setup;
  const trainer = new Trainer<SpeakerBatch>({
    ...setupTrainerOptions(setup, options),
    optimizer: {
      learningRate: warmupCosineSchedule({ peak: config.learningRate, warmupSteps: Math.min(config.warmupSteps, Math.max(1, Math.floor(options.steps / 10))), totalSteps: options.steps }),
      weightDecay: config.weightDecay,
      clipNorm: config.clipNorm,
    },
    runConfig: { model: 'speaker-encoder', config: config as unknown as JsonValue, corpus: setup.corpusHash, realSpeech: setup.realSpeech?.hash ?? null },
    ...(gradients ? { gradients } : {}),
  });
  const dispose = async (): Promise<void> => {
    await trainer.dispose();
    setup.model.dispose();
  };
  return {
    trainer,
    dispose,
    async finish(result, outPath, finishOptions) {
      if (result.cancelled) return null;
      const encoder = setup.model.encoder;
      let lastPercent = -1;
      const judge = buildSpeakerJudge(encoder, setup.trainSet, (done, total) => {
        const percent = Math.floor((100 * done) / total);
        if (percent % 25 === 0 && percent !== lastPercent) options.log(`judge: centroids ${done}/${total} train utterances`);
        lastPercent = percent;
      });
      const report = setup.validationSet.utterances.length > 0 ? evaluateSpeakerJudge(encoder, judge, setup.validationSet) : null;
      const lastValidation = result.validation[result.validation.length - 1];
      const metrics: { [key: string]: number } = {};
      if (lastValidation) for (const [k, v] of Object.entries(lastValidation.losses)) metrics[`crop_${k}`] = v;
      if (report) metrics['judge_accuracy'] = report.accuracy;
      const hours = setup.trainSet.utterances.reduce((h, u) => h + u.durationSeconds, 0) / 3600;
      await saveSpeakerEncoder(
        outPath,
        {
          encoder,
          judge,
          trainingDataHash: setup.corpusHash,
          validationMetrics: metrics,
          extra: {
            label: 'Speaker encoder (AM-softmax d-vector)',
            training: {
              command: finishOptions.command,
              steps: result.step,
              batchSize: options.batchSize,
              seed: options.seed,
              workers: options.workers,
              lastSessionSeconds: finishOptions.trainingSeconds,
            },
            data: {
              split: 'train',
              utterances: setup.trainSet.utterances.length,
              hours,
              voices: setup.trainSet.voices.map((v) => v.id),
              realSpeech: setup.realSpeech === null ? null : { manifestHash: setup.realSpeech.hash, speakers: [...setup.realSpeech.speakers], items: setup.realSpeech.trainItems, hours: setup.realSpeech.trainHours },
            },
          },
        },
        { overwrite: finishOptions.overwrite },
      );
      return report;
    },
  };
}

/** `timbre train speaker-encoder` in the shape of every family's trainer: `finish` also builds the judge and returns its score lines. */
export async function prepareSpeakerEncoderTrainingRun(settings: TrainRunSettings): Promise<PreparedTrainingRun<Trainer<SpeakerBatch>>> {
  const run = await prepareSpeakerEncoderTraining({ ...settings, config: settings.config as Partial<SpeakerEncoderConfig> });
  return {
    trainer: run.trainer,
    dispose: () => run.dispose(),
    async finish(result, outPath, options) {
      settings.log('building the speaker judge (centroids of the train split) …');
      const report = await run.finish(result, outPath, options);
      return report ? [`validation (whole utterances, judge): ${(100 * report.accuracy).toFixed(2)}% of ${report.utterances}`, formatConfusion(report)] : [];
    },
  };
}
