// A trained VAE on disk and at work: its `.timbre` model file, and the `MelConverter` the engine and eval load
// (encode the source, decode with the target voice's embedding and F0).

import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../audio/errors.js';
import { checkLogMel, type LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { shippedModelPath } from '../../io/paths.js';
import type { ConversionSettings, ConversionTarget, MelConverter, ModelFamily } from '../converter.js';
import { InvalidModelFileError, ShapeMismatchError } from '../../nn/errors.js';
import { loadInstalledConverter } from '../installed.js';
import { denormalizeLogMel } from '../melNormalization.js';
import type { JsonValue } from '../../nn/modelFile.js';
import { loadVoiceModelFile, saveVoiceModelFile, storedLabel } from '../voiceModelFile.js';
import { convertedPitchShiftNepers, estimateF0FromLogMel, f0FeatureDims, f0Features, meanLogF0, normalizeVocalTract } from '../pitch.js';
import { Rng } from '../../nn/module.js';
import { resolveVaeConfig, Vae, VAE_KIND, VAE_KIND_VERSION, type VaeConfig } from './model.js';

// ---------------------------------------------------------------------------------------------------------------
// Model file.

/** Everything a VAE model file holds besides the config: weights, voices and their log-F0 means. */
export interface LoadedVae {
  readonly model: Vae;
  /** Voice id of each speaker row, model order. */
  readonly voices: readonly string[];
  /** Mean ln f0 (Hz) of each voice. */
  readonly speakerLogF0: readonly number[];
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
  readonly extra: { readonly [key: string]: JsonValue };
}

/** Display label of a VAE model file. */
export function vaeLabel(voices: readonly string[]): string {
  return `VAE (${voices.length} voices)`;
}

/** Writes a VAE as one `.timbre` file (atomic; `overwrite` to replace). */
export async function saveVae(
  path: string,
  file: { model: Vae; voices: readonly string[]; speakerLogF0: readonly number[]; trainingDataHash: string; validationMetrics?: { [key: string]: number }; extra?: { [key: string]: JsonValue } },
  options: { overwrite: boolean } = { overwrite: false },
): Promise<void> {
  const { model, voices, speakerLogF0 } = file;
  if (voices.length !== model.speakerCount || speakerLogF0.length !== model.speakerCount) {
    throw new ShapeMismatchError(`saveVae: the model has ${model.speakerCount} speakers but ${voices.length} voice ids and ${speakerLogF0.length} log-F0 means were given`);
  }
  await saveVoiceModelFile(
    path,
    {
      kind: VAE_KIND,
      kindVersion: VAE_KIND_VERSION,
      config: model.config,
      voices,
      normalization: model.normalization,
      trainingDataHash: file.trainingDataHash,
      ...(file.validationMetrics !== undefined ? { validationMetrics: file.validationMetrics } : {}),
      defaultLabel: vaeLabel(voices),
      ...(file.extra !== undefined ? { extra: file.extra } : {}),
      facts: {
        speakerLogF0: [...speakerLogF0],
        parameterCount: model.parameterCount(),
        ...(model.voiceDecoders.size > 0 ? { adaptedSpeakers: model.adaptedSpeakers } : {}),
      },
    },
    model.getWeights(),
    options,
  );
}

/** Loads a VAE model file, refusing other kinds, versions and feature configs (`ModelMismatchError`). */
export async function loadVae(path: string): Promise<LoadedVae> {
  const file = await loadVoiceModelFile(path, { kind: VAE_KIND, kindVersion: VAE_KIND_VERSION, family: 'VAE', resolveConfig: (stored) => resolveVaeConfig(stored as Partial<VaeConfig>) });
  const { config, voices, extra } = file;
  const speakerLogF0 = extra['speakerLogF0'];
  if (!Array.isArray(speakerLogF0) || speakerLogF0.length !== voices.length || !speakerLogF0.every((v) => typeof v === 'number')) {
    throw new InvalidModelFileError(`${path}: extra.speakerLogF0 must hold one number per voice (${voices.length})`);
  }
  const adapted = extra['adaptedSpeakers'] ?? [];
  if (!Array.isArray(adapted) || !adapted.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < voices.length) || new Set(adapted).size !== adapted.length) {
    throw new InvalidModelFileError(`${path}: extra.adaptedSpeakers must list distinct speaker indices in [0, ${voices.length})`);
  }
  const model = new Vae(config, voices.length, new Rng(0), file.normalization, adapted as number[]);
  try {
    model.setWeights(file.weights, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, voices, speakerLogF0: speakerLogF0 as number[], trainingDataHash: file.header.trainingDataHash, validationMetrics: file.header.validationMetrics, extra };
}

// ---------------------------------------------------------------------------------------------------------------
// Conversion.

/** Conversion settings the VAE reads besides the common ones (`pitch`, `semitones` among them). */
export interface VaeConversionSettings extends ConversionSettings {
  /** The source's F0 per mel frame (Hz, 0 = unvoiced); default: `estimateF0FromLogMel` of the source (as in training). */
  sourceF0Hz?: Float32Array;
}

/** Longest stretch converted in one pass, frames (≈ 24 s); longer inputs go in overlapping chunks. */
export const VAE_CHUNK_FRAMES = 2048;
const CHUNK_CONTEXT = 64;

/** A loaded VAE as a `MelConverter`: encodes any source recording, decodes it with a model voice's embedding and F0. */
export class VaeConverter implements MelConverter {
  readonly family: ModelFamily = 'vae';
  readonly rendersPitch = true;
  readonly label: string;
  readonly targetVoices: readonly string[];
  readonly model: Vae;
  readonly speakerLogF0: readonly number[];
  readonly trainingDataHash: string;
  private disposed = false;

  constructor(loaded: Pick<LoadedVae, 'model' | 'voices' | 'speakerLogF0'> & { readonly trainingDataHash?: string }, label?: string) {
    this.model = loaded.model;
    this.trainingDataHash = loaded.trainingDataHash ?? '';
    this.targetVoices = [...loaded.voices];
    this.speakerLogF0 = [...loaded.speakerLogF0];
    this.label = label ?? vaeLabel(loaded.voices);
  }

  /** Index of a voice in the model, or an `InvalidArgumentError` (code VOICE_NOT_FOUND) listing the voices it has. */
  speakerIndex(voiceId: string): number {
    const index = this.targetVoices.indexOf(voiceId);
    if (index < 0) {
      throw new InvalidArgumentError(`voice "${voiceId}" is not one of this VAE's voices; it has: ${this.targetVoices.join(', ')}`, 'VOICE_NOT_FOUND');
    }
    return index;
  }

  /** Source log-mel [frames × 80] → the target voice's log-mel of the same frame count. */
  async convert(
    source: LogMel,
    target: ConversionTarget,
    options: { settings?: VaeConversionSettings; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {},
  ): Promise<LogMel> {
    if (this.disposed) throw new InvalidArgumentError(`${this.label} has been disposed`);
    checkLogMel(source, this.model.config.mels);
    if (source.frames < 1) throw new InvalidArgumentError('the source log-mel has no frames');
    const speaker = this.speakerIndex(target.voiceId);
    const settings = options.settings ?? {};
    const f0 = settings.sourceF0Hz ?? estimateF0FromLogMel(source);
    const sourceMean = meanLogF0(f0);
    const targetMean = this.speakerLogF0[speaker]!;
    const own = Number.isFinite(sourceMean) ? sourceMean : targetMean;
    const shift = convertedPitchShiftNepers(own, targetMean, settings);
    const features = f0Features(f0, source.frames, this.model.config, shift, own);
    // The encoder reads the source with its formants moved to the target's scale; the F0 features keep the source's track.
    const encoded = normalizeVocalTract(source, sourceMean, targetMean, settings.vocalTractNormalization);
    const out = new Float32Array(source.data.length);
    const total = source.frames;
    for (let start = 0; start < total; start += VAE_CHUNK_FRAMES) {
      if (options.signal?.aborted) throw new InvalidArgumentError('the conversion was cancelled', 'CANCELLED');
      const end = Math.min(total, start + VAE_CHUNK_FRAMES);
      const from = Math.max(0, start - CHUNK_CONTEXT);
      const to = Math.min(total, end + CHUNK_CONTEXT);
      const piece = this.convertRange(encoded, features, from, to, speaker);
      out.set(piece.subarray((start - from) * source.mels, (end - from) * source.mels), start * source.mels);
      options.onProgress?.(end / total);
      if (end < total) await new Promise((r) => setTimeout(r, 0));
    }
    return { frames: source.frames, mels: source.mels, data: out };
  }

  /** Frames [from, to) converted in one pass; returns [(to − from) × mels] de-normalised log-mel. */
  private convertRange(source: LogMel, features: Float32Array, from: number, to: number, speaker: number): Float32Array {
    const { config, normalization } = this.model;
    const mels = config.mels;
    const frames = to - from;
    const padded = Math.ceil(frames / config.downsample) * config.downsample;
    const floor = Math.log(MEL_CONFIG.logFloor);
    const x = new Float32Array(padded * mels);
    const dims = f0FeatureDims(config);
    const f = new Float32Array(padded * dims);
    for (let t = 0; t < padded; t++) {
      for (let m = 0; m < mels; m++) {
        const value = t < frames ? source.data[(from + t) * mels + m]! : floor;
        x[t * mels + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
      }
      // Padding frames hold the last log-F0, unvoiced.
      if (t < frames) f.set(features.subarray((from + t) * dims, (from + t + 1) * dims), t * dims);
      else f[t * dims] = features[(source.frames - 1) * dims]!;
    }
    const y = tf.tidy(() => {
      const xt = tf.tensor3d(x, [1, padded, mels]);
      const ft = tf.tensor3d(f, [1, padded, dims]);
      return this.model.forward(xt, [speaker], ft);
    });
    const data = y.dataSync() as Float32Array;
    y.dispose();
    return denormalizeLogMel(data, frames, normalization, floor);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

/** Loads a VAE model file as a converter (the model registry's entry point for the 'vae' family). */
export async function loadMelConverter(modelPath: string): Promise<VaeConverter> {
  const loaded = await loadVae(modelPath);
  const label = storedLabel(loaded.extra);
  return new VaeConverter(loaded, label);
}

/** The VAE `timbre eval` scores: the user's trained TIMBRE_HOME/models/vae/model.timbre when present, else the shipped one. */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<VaeConverter> {
  return loadInstalledConverter({ folder: 'vae', label: 'VAE', trainCommand: 'timbre train vae', load: loadMelConverter }, context);
}

/**
 * The eval VAE adapted to a voice given as recordings (what `timbre train vae --add-voice` makes of them, default
 * settings), for `timbre eval --real-voices`.
 */
export async function adaptEvalConverter(
  context: { readonly home: string | undefined; readonly targetVoices: readonly string[] },
  voice: { readonly name: string; readonly mels: readonly LogMel[] },
  log: (line: string) => void,
): Promise<VaeConverter> {
  const { adaptVaeToRecordings } = await import('./adapt.js');
  const base = await loadEvalConverter(context);
  try {
    const extended = await adaptVaeToRecordings(
      { model: base.model, voices: base.targetVoices, speakerLogF0: base.speakerLogF0, trainingDataHash: '', validationMetrics: {}, extra: {} },
      { name: voice.name, mels: voice.mels, home: context.home, log },
    );
    return new VaeConverter(extended, `${base.label} + ${voice.name}`);
  } finally {
    base.dispose();
  }
}

/** The shipped model file, `assets/models/vae/model.timbre` (from src/models or dist/src/models). */
export function shippedVaePath(): string {
  return shippedModelPath('vae');
}
