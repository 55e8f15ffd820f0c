// Adding a voice to a trained VAE from a few minutes of someone's recordings: the speaker table grows by one row and
// the voice gets a decoder of its own, fine-tuned from the shared decoder on the recordings (with corpus utterances
// rehearsed through it so it keeps rendering any content and pitch). The encoder, the shared decoder and every other
// voice's row stay as they were, so the other voices convert bit for bit as before.

import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { openCorpusDataset } from '../../corpus/dataset.js';
import { HELD_OUT_SECONDS, splitHeldOut, voiceMels } from '../../corpus/userVoices.js';
import { ShapeMismatchError } from '../../nn/errors.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { Module, Rng, type WeightArray, type WeightMap } from '../../nn/module.js';
import { warmupCosineSchedule } from '../../nn/optimizer.js';
import type { PreparedTrainingRun, TrainRunSettings } from '../../nn/trainRun.js';
import { Trainer, type BatchSource, type LossResult, type StepContext } from '../../nn/train.js';
import { estimateF0FromLogMel, meanLogF0 } from '../pitch.js';
import { loadVae, saveVae, shippedVaePath, type LoadedVae } from './convert.js';
import { corpusUtterances, vaeBatchSource, type VaeUtterance } from './data.js';
import { Vae, VaeDecoder, type VaeBatch } from './model.js';

/**
 * Defaults of adding a voice: steps, batch (half the voice's windows, half rehearsed corpus crops), the peak learning
 * rate of the voice's decoder and of its speaker row (Adam on one vector takes larger steps), and the weight of the
 * rehearsal term. `decoderLearningRate` 0 trains the speaker row alone (the shared decoder renders the voice).
 */
export const ADD_VOICE_DEFAULTS = Object.freeze({ steps: 300, batchSize: 8, learningRate: 1e-2, decoderLearningRate: 3e-4, rehearsalWeight: 0.5 });

/** The config keys adding a voice reads (from `--config FILE.json`). */
const ADD_VOICE_CONFIG_KEYS = ['learningRate', 'decoderLearningRate', 'rehearsalWeight'] as const;

/** Fewest seconds of speech a voice is adapted from. */
export const MIN_ADAPTATION_SECONDS = 5;

/** One step's material: windows of the new voice, and corpus crops decoded with their own voices (null: no rehearsal). */
export interface VoiceAdaptationBatch {
  readonly voice: VaeBatch;
  readonly rehearsal: VaeBatch | null;
}

/** What adapts: the new voice's speaker row (stored divided by `rowScale`, so one Adam learning rate serves both) and its decoder. */
class VoiceAdaptation extends Module {
  readonly row: tf.Variable;
  readonly decoder: VaeDecoder | null;
  readonly rowScale: number;

  constructor(base: Vae, initialRow: Float32Array, rowScale: number, ownDecoder: boolean) {
    super();
    this.rowScale = rowScale;
    this.row = this.param('row', [1, initialRow.length], () => initialRow.map((v) => v / rowScale), new Rng(0));
    this.decoder = ownDecoder ? this.child('decoder', new VaeDecoder(new Rng(0), base.config)) : null;
    this.decoder?.setWeights(base.decoder.getWeights(), 'the shared decoder');
  }

  /** The speaker row, [1, speakerDims]. */
  rowVector(): tf.Tensor2D {
    return tf.mul(this.row, this.rowScale) as tf.Tensor2D;
  }
}

/** Everything `createVoiceAdaptation` needs besides the base model. */
export interface VoiceAdaptationOptions {
  /** Name of the new voice (a user voice, or a speaker under evaluation). */
  readonly name: string;
  /** Its recordings' log-mels (80 bins, MEL_CONFIG). */
  readonly mels: readonly LogMel[];
  readonly steps: number;
  readonly batchSize: number;
  readonly seed: number;
  /** TIMBRE_HOME whose corpus is rehearsed (absent or a corpus without the base's voices: no rehearsal). */
  readonly home: string | undefined;
  /** Config overrides: `learningRate` (row), `decoderLearningRate`, `rehearsalWeight`. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly loop: Pick<TrainRunSettings, 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume'>;
  readonly log: (line: string) => void;
}

/** A prepared adaptation: its trainer, and the extended model once it has run. */
export interface VoiceAdaptationRun {
  readonly trainer: Trainer<VoiceAdaptationBatch>;
  /** The base with the new voice (row, log-F0 mean, own decoder); the caller disposes its `model`. */
  extended(): LoadedVae;
  /** The new voice's mean log-F0 (ln Hz). */
  readonly voiceLogF0: number;
  readonly seconds: number;
  dispose(): Promise<void>;
}

/** Windows of `windowFrames` cut from the recordings joined end to end (short clips fill a window together), with F0 per clip. */
export function adaptationItems(mels: readonly LogMel[], speakerId: number, windowFrames: number): VaeUtterance[] {
  const bins = MEL_CONFIG.melBins;
  const total = mels.reduce((n, m) => n + m.frames, 0);
  const data = new Float32Array(total * bins);
  const f0 = new Float32Array(total);
  let at = 0;
  for (const mel of mels) {
    if (mel.mels !== bins) throw new ShapeMismatchError(`a recording's log-mel has ${mel.mels} bins, the VAE reads ${bins}`);
    data.set(mel.data.subarray(0, mel.frames * bins), at * bins);
    f0.set(estimateF0FromLogMel(mel), at);
    at += mel.frames;
  }
  const items: VaeUtterance[] = [];
  for (let start = 0; start < total; start += windowFrames) {
    const frames = Math.min(windowFrames, total - start);
    if (frames < windowFrames / 2 && start > 0) break;
    const piece: LogMel = { frames, mels: bins, data: data.subarray(start * bins, (start + frames) * bins) };
    const pieceF0 = f0.subarray(start, start + frames);
    const logF0 = meanLogF0(pieceF0);
    items.push({ speakerId, mel: () => piece, f0Hz: () => pieceF0, logF0Mean: () => logF0 });
  }
  return items;
}

function numberSetting(config: Readonly<Record<string, unknown>>, key: (typeof ADD_VOICE_CONFIG_KEYS)[number]): number {
  const value = config[key] ?? ADD_VOICE_DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ShapeMismatchError(`adding a voice: "${key}" must be a number ≥ 0, received ${JSON.stringify(value)}`);
  return value;
}

/** Masked mean L1 between a decoding and its batch's mel. */
function reconstructionLoss(out: tf.Tensor3D, batch: VaeBatch, mels: number): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tf.abs(tf.sub(out, batch.mel)), batch.mask)), tf.mul(tf.sum(batch.mask), mels)) as tf.Scalar;
}

/** z sampled from the frozen encoder's posterior of a batch. */
function sampleLatent(model: Vae, mel: tf.Tensor3D, rng: Rng): tf.Tensor3D {
  const { mean, logVar } = model.encode(mel);
  const noise = new Float32Array(mean.size);
  for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
  return tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), tf.tensor(noise, mean.shape))) as tf.Tensor3D;
}

/**
 * Sets up adding voice `options.name` to `base` (which it does not modify): a row initialised at the mean of the
 * others, a decoder copied from the shared one, both fitted to reconstruct the recordings through the frozen encoder,
 * while corpus crops of the base's voices are reconstructed through the same new decoder (rehearsal).
 */
export function createVoiceAdaptation(base: LoadedVae, options: VoiceAdaptationOptions): VoiceAdaptationRun {
  const { model, voices } = base;
  const { config } = model;
  const { name } = options;
  if (voices.includes(name)) throw new InvalidArgumentError(`the VAE already has voice "${name}"`, 'VOICE_EXISTS');
  const unknown = Object.keys(options.config).filter((k) => !(ADD_VOICE_CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ShapeMismatchError(`adding a voice takes only ${ADD_VOICE_CONFIG_KEYS.join(', ')} from the config, received ${unknown.join(', ')}`);
  const rowRate = numberSetting(options.config, 'learningRate');
  const decoderRate = numberSetting(options.config, 'decoderLearningRate');
  const rehearsalWeight = numberSetting(options.config, 'rehearsalWeight');
  if (!(rowRate > 0)) throw new ShapeMismatchError('adding a voice: "learningRate" (the speaker row\'s) must be positive');
  const speakerId = voices.length;
  const items = adaptationItems(options.mels, speakerId, 2 * config.cropFrames);
  const seconds = options.mels.reduce((n, m) => n + m.frames, 0) * (MEL_CONFIG.hopSamples / MEL_CONFIG.sampleRateHz);
  if (seconds < MIN_ADAPTATION_SECONDS) throw new InvalidArgumentError(`voice "${name}" has ${seconds.toFixed(1)} s of speech; adding it to the VAE needs at least ${MIN_ADAPTATION_SECONDS} s`, 'TOO_SHORT');
  const allF0 = Float32Array.from(items.flatMap((it) => Array.from(it.f0Hz())));
  const measured = meanLogF0(allF0);
  const voiceLogF0 = Number.isFinite(measured) ? measured : base.speakerLogF0.reduce((a, b) => a + b, 0) / base.speakerLogF0.length;
  const speakerLogF0 = [...base.speakerLogF0, voiceLogF0];

  const table = model.speakers.table.dataSync() as Float32Array; // [S, D]
  const initial = new Float32Array(config.speakerDims);
  for (let s = 0; s < voices.length; s++) for (let d = 0; d < config.speakerDims; d++) initial[d]! += table[s * config.speakerDims + d]! / voices.length;
  const ownDecoder = decoderRate > 0;
  const learningRate = ownDecoder ? decoderRate : rowRate;
  const adaptation = new VoiceAdaptation(model, initial, rowRate / learningRate, ownDecoder);

  // Rehearsal: corpus train utterances of the base's voices (those the corpus has), decoded by the new decoder with their own rows.
  let rehearsal: BatchSource<VaeBatch> | null = null;
  let rehearsalNote = 'no rehearsal (the speaker row alone trains)';
  if (ownDecoder && rehearsalWeight > 0) {
    rehearsalNote = 'no rehearsal: the corpus has none of the model\'s voices';
    try {
      const train = openCorpusDataset({ ...(options.home !== undefined ? { home: options.home } : {}), split: 'train' });
      const known = train.utterances.filter((u) => voices.includes(u.voice));
      const rehearsed = corpusUtterances(train, known).map((u, i) => ({ ...u, speakerId: voices.indexOf(known[i]!.voice) }));
      if (rehearsed.length > 0) {
        rehearsal = vaeBatchSource(rehearsed, { config, normalization: model.normalization, speakerLogF0: base.speakerLogF0, cropFrames: config.cropFrames, salt: 2, speakerCount: voices.length });
        rehearsalNote = `rehearsing ${rehearsed.length} corpus utterances of ${new Set(known.map((u) => u.voice)).size} voices (weight ${rehearsalWeight})`;
      }
    } catch (err) {
      rehearsalNote = `no rehearsal: no corpus (${(err as Error).message.split('\n')[0]})`;
    }
  }
  const voiceSource = vaeBatchSource(items, { config, normalization: model.normalization, speakerLogF0, cropFrames: config.cropFrames, speakerCount: voices.length + 1 });
  const voiceItems = Math.min(items.length, rehearsal ? Math.max(1, Math.ceil(options.batchSize / 2)) : options.batchSize);
  const rehearsalItems = options.batchSize - voiceItems;
  const train: BatchSource<VoiceAdaptationBatch> = {
    size: items.length,
    async getBatch(indices) {
      // Rehearsal crops follow from the step's window indices (a resumed run draws the same).
      const voice = await voiceSource.getBatch(indices);
      if (!rehearsal || rehearsalItems < 1) return { voice, rehearsal: null };
      const rng = new Rng(indices.reduce((h, i) => Math.imul(h ^ (i + 1), 0x01000193) >>> 0, 0x811c9dc5));
      const picks = Array.from({ length: rehearsalItems }, () => rng.int(rehearsal!.size));
      return { voice, rehearsal: await rehearsal.getBatch(picks) };
    },
  };
  const lossFn = (batch: VoiceAdaptationBatch, ctx: StepContext): LossResult => {
    const decoder = adaptation.decoder ?? model.decoder;
    const speaker = tf.tile(adaptation.rowVector(), [batch.voice.speakerIds.length, 1]) as tf.Tensor2D;
    const recon = reconstructionLoss(model.decode(sampleLatent(model, batch.voice.mel, ctx.rng), speaker, batch.voice.f0, decoder), batch.voice, config.mels);
    if (!batch.rehearsal) return { total: recon, parts: { recon } };
    const rows = model.speakerVectors(batch.rehearsal.speakerIds);
    const rehearsed = reconstructionLoss(model.decode(sampleLatent(model, batch.rehearsal.mel, ctx.rng), rows, batch.rehearsal.f0, decoder), batch.rehearsal, config.mels);
    return { total: tf.add(recon, tf.mul(rehearsed, rehearsalWeight)) as tf.Scalar, parts: { recon, rehearsal: rehearsed } };
  };
  const trainer = new Trainer<VoiceAdaptationBatch>({
    model: adaptation,
    train,
    lossFn,
    batchSize: voiceItems,
    totalSteps: options.steps,
    seed: options.seed,
    ...options.loop,
    runConfig: { model: 'vae-add-voice', base: base.trainingDataHash, voice: name, windows: items.length, config: { rowRate, decoderRate, rehearsalWeight } as unknown as JsonValue },
    optimizer: { learningRate: warmupCosineSchedule({ peak: learningRate, warmupSteps: Math.min(20, options.steps), totalSteps: options.steps }), weightDecay: 0, clipNorm: config.clipNorm },
  });
  options.log(
    `vae: adding voice ${name} (${items.length} windows of ≤ ${2 * config.cropFrames} frames, ${seconds.toFixed(1)} s, mean F0 ${Math.exp(voiceLogF0).toFixed(0)} Hz); ` +
      (ownDecoder ? `its speaker row and a decoder of its own (${adaptation.decoder!.parameterCount()} parameters) train; ${rehearsalNote}` : 'only its speaker row trains'),
  );
  return {
    trainer,
    voiceLogF0,
    seconds,
    extended: () => {
      const row = tf.tidy(() => adaptation.rowVector().dataSync() as Float32Array);
      return { ...base, model: extendVae(model, row, adaptation.decoder?.getWeights() ?? null), voices: [...voices, name], speakerLogF0 };
    },
    async dispose() {
      await trainer.dispose();
      adaptation.dispose();
    },
  };
}

/** A copy of `model` with one more speaker: `row` appended to the table, a zero classifier column, and its own decoder when given. */
export function extendVae(model: Vae, row: Float32Array, decoder: WeightMap | null): Vae {
  const s = model.speakerCount;
  const extended = new Vae(model.config, s + 1, new Rng(0), model.normalization, decoder ? [...model.adaptedSpeakers, s] : model.adaptedSpeakers);
  const weights: WeightMap = new Map(model.getWeights());
  const grow = (name: string, make: (old: WeightArray) => WeightArray): void => {
    weights.set(name, make(weights.get(name)!));
  };
  grow('speakers.table', (old) => {
    const data = new Float32Array((s + 1) * row.length);
    data.set(old.data);
    data.set(row, s * row.length);
    return { data, shape: [s + 1, row.length] };
  });
  grow('classifier.output.weight', (old) => {
    const [inputs] = old.shape as [number, number];
    const data = new Float32Array(inputs * (s + 1));
    for (let i = 0; i < inputs; i++) data.set(old.data.subarray(i * s, (i + 1) * s), i * (s + 1));
    return { data, shape: [inputs, s + 1] };
  });
  grow('classifier.output.bias', (old) => {
    const data = new Float32Array(s + 1);
    data.set(old.data);
    return { data, shape: [s + 1] };
  });
  if (decoder) for (const [name, w] of decoder) weights.set(`voiceDecoders.${s}.${name}`, w);
  extended.setWeights(weights, 'extended VAE');
  return extended;
}

/** Settings of `timbre train vae --add-voice NAME`: the run settings, the user voice and the VAE it extends. */
export interface VaeAddVoiceSettings extends TrainRunSettings {
  readonly addVoice: string;
  /** Model extended (default: the shipped VAE). */
  readonly base?: string;
}

/**
 * Prepares the run that adds user voice `addVoice` (TIMBRE_HOME/voices/NAME) to the VAE at `base`; `finish` writes
 * the extended model (the base file is never touched).
 */
export async function prepareVaeAddVoice(settings: VaeAddVoiceSettings): Promise<PreparedTrainingRun<Trainer<VoiceAdaptationBatch>>> {
  const name = settings.addVoice;
  const basePath = settings.base ?? shippedVaePath();
  if (!existsSync(basePath)) throw new InvalidArgumentError(`there is no VAE at ${basePath} to add voice "${name}" to`);
  const base = await loadVae(basePath);
  let run: VoiceAdaptationRun;
  try {
    if (base.voices.includes(name)) throw new InvalidArgumentError(`the VAE at ${basePath} already has voice "${name}"`, 'VOICE_EXISTS');
    // The end of the recordings stays out of training: `timbre voice reach` scores the new voice on it.
    const { train: mels, heldOut } = splitHeldOut(await voiceMels(name, settings.home !== undefined ? { home: settings.home } : {}));
    if (heldOut.length > 0) settings.log(`vae: the last ${HELD_OUT_SECONDS} s of ${name}'s recordings are held out of training (timbre voice reach ${name} scores on them)`);
    run = createVoiceAdaptation(base, { name, mels, steps: settings.steps, batchSize: settings.batchSize, seed: settings.seed, home: settings.home, config: settings.config, loop: settings, log: settings.log });
  } catch (err) {
    base.model.dispose();
    throw err;
  }
  return {
    trainer: run.trainer,
    async finish(result, outPath, options) {
      if (result.cancelled) return [];
      const extended = run.extended();
      try {
        const last = result.history[result.history.length - 1];
        const recon = last?.['recon'] ?? Number.NaN;
        await saveVae(
          outPath,
          {
            model: extended.model,
            voices: extended.voices,
            speakerLogF0: extended.speakerLogF0,
            trainingDataHash: base.trainingDataHash,
            validationMetrics: { ...base.validationMetrics, [`recon_${name}`]: recon },
            extra: {
              ...base.extra,
              label: `VAE (${base.voices.length} voices + ${name})`,
              addedVoice: { name, base: basePath, command: options.command, steps: result.totalSteps, seconds: options.trainingSeconds, speechSeconds: run.seconds, f0MeanHz: Math.exp(run.voiceLogF0) },
            },
          },
          { overwrite: options.overwrite },
        );
        return [`vae: voice ${name} added (reconstruction L1 ${recon.toPrecision(4)}); the model has ${extended.voices.length} voices`];
      } finally {
        extended.model.dispose();
      }
    },
    async dispose() {
      await run.dispose();
      base.model.dispose();
    },
  };
}

/**
 * Adapts `base` to a voice given as log-mels, in memory (what `timbre eval --real-voices` does for the VAE): runs the
 * adaptation in a temporary run folder and returns the extended model (the caller disposes it).
 */
export async function adaptVaeToRecordings(
  base: LoadedVae,
  options: Omit<VoiceAdaptationOptions, 'loop' | 'steps' | 'batchSize' | 'seed' | 'config'> & { steps?: number; batchSize?: number; seed?: number; config?: Readonly<Record<string, unknown>> },
): Promise<LoadedVae> {
  const runDir = mkdtempSync(join(tmpdir(), 'timbre-vae-adapt-'));
  const steps = options.steps ?? ADD_VOICE_DEFAULTS.steps;
  const run = createVoiceAdaptation(base, {
    ...options,
    steps,
    batchSize: options.batchSize ?? ADD_VOICE_DEFAULTS.batchSize,
    seed: options.seed ?? 0,
    config: options.config ?? {},
    loop: { logEvery: Math.max(1, Math.floor(steps / 4)), checkpointEvery: steps + 1, runDir, resume: false },
  });
  try {
    await run.trainer.run();
    return run.extended();
  } finally {
    await run.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
}
