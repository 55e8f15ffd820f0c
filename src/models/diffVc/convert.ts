// A trained DiffVC (or CycleDiffusion) on disk and at work: its `.timbre` model file with the voices' d-vectors and
// tables, and the `MelConverter` the engine and eval load (μ from the source, then the reverse SDE toward the target).

import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import { checkLogMel, type LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { shippedModelPath } from '../../io/paths.js';
import type { ConversionSettings, ConversionTarget, DiffusionSolver, MelConverter, ModelFamily } from '../converter.js';
import { InvalidModelFileError, ShapeMismatchError } from '../../nn/errors.js';
import { loadInstalledConverter } from '../installed.js';
import { denormalizeLogMel } from '../melNormalization.js';
import type { JsonValue, WeightStorage } from '../../nn/modelFile.js';
import { convertedPitchShiftNepers, estimateF0FromLogMel, f0Features, meanLogF0, meanLogF0OfMels } from '../pitch.js';
import { loadVoiceModelFile, saveVoiceModelFile, storedLabel } from '../voiceModelFile.js';
import type { SpeakerEncoder } from '../speakerEncoder/model.js';
import { Rng, type WeightArray, type WeightMap } from '../../nn/module.js';
import { DiffVc, DIFFVC_KIND, DIFFVC_KIND_VERSION, DIFFVC_OLDER_KIND_VERSIONS, type DiffVcCondition, type DiffVcConfig, frameMultiple, pitchDims, referenceDims, referenceStatistics, resolveStoredDiffVcConfig } from './model.js';
import { checkSolverSettings, gamma, normalArray, solveReverse } from './sde.js';

// ---------------------------------------------------------------------------------------------------------------
// Conversion.

/** Longest stretch converted in one pass, frames (≈ 12 s); longer inputs go in overlapping chunks. */
export const DIFFVC_CHUNK_FRAMES = 1024;
const CHUNK_CONTEXT = 32;

/** A loaded model and the d-vectors of its voices. */
export interface LoadedDiffVc {
  readonly model: DiffVc;
  /** Corpus voices with a stored unit d-vector, model order. */
  readonly voices: readonly string[];
  /** Unit d-vectors [voices × speakerDims], row-major. */
  readonly speakerVectors: Float32Array;
  /** Per voice (version 3): mean ln F0 [voices] and reference statistics [voices × 2·mels]; empty for version 2. */
  readonly voiceTables: DiffVcVoiceTables;
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
  readonly extra: { readonly [key: string]: JsonValue };
}

/** What a version-3 model stores of each voice besides its d-vector (empty arrays for version 2). */
export interface DiffVcVoiceTables {
  /** [voices]: mean ln F0 of the voice's train-split speech (NaN when unknown). */
  readonly logF0: Float32Array;
  /** [voices × 2·mels]: `referenceStatistics` of the voice's train-split speech. */
  readonly reference: Float32Array;
}

/** What a conversion is conditioned on, as plain arrays. */
interface TargetCondition {
  readonly speaker: Float32Array;
  /** Mean ln F0 of the target (NaN when unknown: the source's pitch is kept). */
  readonly logF0: number;
  readonly reference: Float32Array | null;
}

/** The two families whose model files hold a DiffVC: DiffVC itself and its cycle-consistent fine-tuning. */
export type DiffusionFamily = 'diffvc' | 'cyclediffusion';

/** Kind, version and name of each diffusion family's model file. */
export const DIFFUSION_FILE_KINDS: Readonly<Record<DiffusionFamily, { readonly kind: string; readonly kindVersion: number; readonly olderKindVersions: readonly number[]; readonly name: string }>> = {
  diffvc: { kind: DIFFVC_KIND, kindVersion: DIFFVC_KIND_VERSION, olderKindVersions: DIFFVC_OLDER_KIND_VERSIONS, name: 'DiffVC' },
  cyclediffusion: { kind: 'cycleDiffusion', kindVersion: 1, olderKindVersions: [], name: 'CycleDiffusion' },
};

/** Shortest reference of a voice that is not one of the model's, seconds. */
export const MIN_REFERENCE_SECONDS = 10;

/** What a DiffVC converts to: its own voices, and '*' (any voice given a reference) when it reads reference statistics. */
export function diffVcTargetVoices(config: Pick<DiffVcConfig, 'referenceInput'>, voices: readonly string[]): string[] {
  return config.referenceInput ? [...voices, '*'] : [...voices];
}

/** Display label of a DiffVC (or CycleDiffusion) model file. */
export function diffVcLabel(voices: readonly string[], family: DiffusionFamily = 'diffvc'): string {
  return `${DIFFUSION_FILE_KINDS[family].name} (${voices.length} voices)`;
}

/**
 * A loaded DiffVC as a `MelConverter`. Its own voices are the corpus voices whose d-vectors (and, in version 3, mean
 * log-F0 and reference statistics) the file stores. A model that reads reference statistics also converts to any
 * other voice ('*' among its targets) given `target.referenceMels` (≥ 10 s of speech) and its d-vector: embedded by
 * the model's own conditioning encoder (the speaker encoder it was trained with) when it has one, else
 * `target.speakerEmbedding`. The decoder then hears that voice only through its d-vector, mean log-F0 and reference
 * statistics.
 */
export class DiffVcConverter implements MelConverter {
  readonly family: ModelFamily;
  readonly label: string;
  readonly targetVoices: readonly string[];
  /** The voices the file stores (targetVoices without '*'). */
  readonly voices: readonly string[];
  readonly rendersPitch: boolean;
  readonly model: DiffVc;
  readonly trainingDataHash: string;
  private readonly speakerVectors: Float32Array;
  private readonly voiceTables: DiffVcVoiceTables;
  /** The speaker encoder whose d-vectors the decoder was trained on (owned; disposed with the converter). */
  private readonly conditioningEncoder: SpeakerEncoder | undefined;
  private disposed = false;

  constructor(
    loaded: Pick<LoadedDiffVc, 'model' | 'voices' | 'speakerVectors'> & {
      readonly voiceTables?: DiffVcVoiceTables;
      readonly trainingDataHash?: string;
      readonly conditioningEncoder?: SpeakerEncoder;
    },
    label?: string,
    family: DiffusionFamily = 'diffvc',
  ) {
    this.family = family;
    this.trainingDataHash = loaded.trainingDataHash ?? '';
    const { config } = loaded.model;
    const dims = config.speakerDims;
    const voices = loaded.voices.length;
    if (loaded.speakerVectors.length !== voices * dims) {
      throw new ShapeMismatchError(`DiffVcConverter: ${loaded.speakerVectors.length} d-vector values for ${voices} voices of ${dims} dims`);
    }
    const tables = loaded.voiceTables ?? { logF0: new Float32Array(0), reference: new Float32Array(0) };
    if (config.pitchInput && tables.logF0.length !== voices) throw new ShapeMismatchError(`DiffVcConverter: ${tables.logF0.length} mean log-F0 values for ${voices} voices`);
    if (config.referenceInput && tables.reference.length !== voices * referenceDims(config)) {
      throw new ShapeMismatchError(`DiffVcConverter: ${tables.reference.length} reference-statistics values for ${voices} voices of ${referenceDims(config)}`);
    }
    if (loaded.conditioningEncoder !== undefined && loaded.conditioningEncoder.config.embeddingDims !== dims) {
      throw new ShapeMismatchError(`DiffVcConverter: the conditioning speaker encoder embeds ${loaded.conditioningEncoder.config.embeddingDims} dims, the model takes ${dims}`);
    }
    this.conditioningEncoder = loaded.conditioningEncoder;
    this.model = loaded.model;
    this.voices = [...loaded.voices];
    this.targetVoices = diffVcTargetVoices(config, loaded.voices);
    this.rendersPitch = config.pitchInput;
    this.speakerVectors = Float32Array.from(loaded.speakerVectors);
    this.voiceTables = { logF0: Float32Array.from(tables.logF0), reference: Float32Array.from(tables.reference) };
    this.label = label ?? diffVcLabel(loaded.voices, family);
  }

  /**
   * d-vector, mean ln F0 and reference statistics of `target`: the stored ones of a model voice; for another voice
   * `target.speakerEmbedding` and, where the model reads pitch or reference statistics, `target.referenceMels`.
   */
  targetCondition(target: ConversionTarget): TargetCondition {
    const { config, normalization } = this.model;
    const index = this.voices.indexOf(target.voiceId);
    const rows = referenceDims(config);
    if (index >= 0) {
      return {
        speaker: this.speakerVector(target),
        logF0: config.pitchInput ? this.voiceTables.logF0[index]! : Number.NaN,
        reference: config.referenceInput ? this.voiceTables.reference.slice(index * rows, (index + 1) * rows) : null,
      };
    }
    if (!config.pitchInput && !config.referenceInput) return { speaker: this.speakerVector(target), logF0: Number.NaN, reference: null };
    const refs = target.referenceMels;
    if (refs === undefined || refs.length === 0) {
      throw new InvalidArgumentError(`voice "${target.voiceId}" is not one of this DiffVC's voices: give its reference recordings (≥ 10 s)`, 'VOICE_NOT_FOUND');
    }
    for (const mel of refs) checkLogMel(mel, config.mels);
    const seconds = (refs.reduce((sum, mel) => sum + mel.frames, 0) * MEL_CONFIG.hopSamples) / MEL_CONFIG.sampleRateHz;
    if (seconds < MIN_REFERENCE_SECONDS) {
      throw new InvalidArgumentError(`the reference recordings of voice "${target.voiceId}" hold ${seconds.toFixed(1)} s; give at least ${MIN_REFERENCE_SECONDS} s`, 'REFERENCE_TOO_SHORT');
    }
    return { speaker: this.speakerVector(target), logF0: meanLogF0OfMels(refs), reference: config.referenceInput ? referenceStatistics(refs, normalization) : null };
  }

  /** True when voices outside the model are embedded by its own conditioning encoder (`target.speakerEmbedding` unused). */
  get embedsReferences(): boolean {
    return this.conditioningEncoder !== undefined;
  }

  /**
   * The unit d-vector a conversion to `target` uses: the stored one of a model voice; else the conditioning encoder's
   * embedding of `target.referenceMels` when the model has that encoder; else `target.speakerEmbedding`.
   */
  speakerVector(target: ConversionTarget): Float32Array {
    const dims = this.model.config.speakerDims;
    const index = this.voices.indexOf(target.voiceId);
    if (index >= 0) return this.speakerVectors.slice(index * dims, (index + 1) * dims);
    const refs = target.referenceMels;
    if (this.conditioningEncoder !== undefined && refs !== undefined && refs.length > 0) {
      for (const mel of refs) checkLogMel(mel, this.model.config.mels);
      return this.conditioningEncoder.embedReference(refs);
    }
    const given = target.speakerEmbedding;
    if (given === undefined) {
      throw new InvalidArgumentError(`voice "${target.voiceId}" is not one of this DiffVC's voices and no speaker embedding was given; it has: ${this.voices.join(', ')}`, 'VOICE_NOT_FOUND');
    }
    if (!(given instanceof Float32Array) || given.length !== dims || !given.every(Number.isFinite)) {
      throw new InvalidArgumentError(`target.speakerEmbedding must be a Float32Array of ${dims} finite values, received ${given?.length ?? 0}`);
    }
    let norm = 0;
    for (const v of given) norm += v * v;
    if (!(norm > 0)) throw new InvalidArgumentError('target.speakerEmbedding must not be all zeros');
    return given.map((v) => v / Math.sqrt(norm));
  }

  /** Source log-mel [frames × 80] → the target voice's log-mel of the same frame count. */
  async convert(
    source: LogMel,
    target: ConversionTarget,
    options: { settings?: ConversionSettings; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {},
  ): Promise<LogMel> {
    if (this.disposed) throw new InvalidArgumentError(`${this.label} has been disposed`);
    checkLogMel(source, this.model.config.mels);
    if (source.frames < 1) throw new InvalidArgumentError('the source log-mel has no frames');
    const settings = options.settings ?? {};
    const steps = settings.steps ?? 6;
    const solver = settings.solver ?? 'ml';
    const seed = settings.seed ?? 0;
    checkSolverSettings(steps, solver);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`seed must be a whole number in [0, 2^32), got ${String(seed)}`);
    const condition = this.targetCondition(target);
    if (options.signal?.aborted) throw new InvalidArgumentError('the conversion was cancelled', 'CANCELLED');
    const pitch = this.model.config.pitchInput ? conversionPitch(source, condition.logF0, settings) : null;
    const rng = new Rng(seed);
    const total = source.frames;
    const chunks = Math.ceil(total / DIFFVC_CHUNK_FRAMES);
    const out = new Float32Array(source.data.length);
    for (let chunk = 0; chunk < chunks; chunk++) {
      const start = chunk * DIFFVC_CHUNK_FRAMES;
      const end = Math.min(total, start + DIFFVC_CHUNK_FRAMES);
      const from = Math.max(0, start - CHUNK_CONTEXT);
      const to = Math.min(total, end + CHUNK_CONTEXT);
      const piece = await this.convertRange(source, from, to, condition, pitch, { steps, solver, rng, signal: options.signal, onStep: (done) => options.onProgress?.((chunk + done / steps) / chunks) });
      out.set(piece.subarray((start - from) * source.mels, (end - from) * source.mels), start * source.mels);
    }
    return { frames: source.frames, mels: source.mels, data: out };
  }

  /** Frames [from, to) converted in one pass: normalise → μ → X_1 = γ(0,1)x + (1 − γ(0,1))μ + z → solver → de-normalise. */
  private async convertRange(
    source: LogMel,
    from: number,
    to: number,
    target: TargetCondition,
    pitch: { readonly f0Hz: Float32Array; readonly shiftNepers: number; readonly fallbackLogF0: number | undefined } | null,
    run: { steps: number; solver: DiffusionSolver; rng: Rng; signal: AbortSignal | undefined; onStep: (done: number) => void },
  ): Promise<Float32Array> {
    const { config, normalization } = this.model;
    const mels = config.mels;
    const frames = to - from;
    const multiple = frameMultiple(config);
    const padded = Math.ceil(frames / multiple) * multiple;
    const floor = Math.log(MEL_CONFIG.logFloor);
    const x = new Float32Array(padded * mels);
    for (let t = 0; t < padded; t++) {
      for (let m = 0; m < mels; m++) {
        const value = t < frames ? source.data[(from + t) * mels + m]! : floor;
        x[t * mels + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
      }
    }
    const noise = normalArray(run.rng, padded * mels);
    const pitchFeatures = pitch ? f0Features(padF0(pitch.f0Hz.subarray(from, to), padded), padded, config, pitch.shiftNepers, pitch.fallbackLogF0) : null;
    const { mean, start } = tf.tidy(() => {
      const xt = tf.tensor3d(x, [1, padded, mels]);
      const mu = this.model.encode(xt);
      const w = gamma(config, 0, 1);
      // DiffVC starts from the forward process's terminal marginal given the source: N(γ(0,1)x + (1 − γ(0,1))μ, I) ≈ N(μ, I).
      const x1 = tf.add(tf.add(tf.mul(xt, w), tf.mul(mu, 1 - w)), tf.tensor3d(noise, [1, padded, mels]));
      return { mean: mu, start: x1 };
    });
    const condition: DiffVcCondition = {
      speaker: tf.tensor2d(target.speaker, [1, config.speakerDims]),
      ...(target.reference ? { reference: tf.tensor2d(target.reference, [1, target.reference.length]) } : {}),
      ...(pitchFeatures ? { pitch: tf.tensor3d(pitchFeatures, [1, padded, pitchDims(config)]) } : {}),
    };
    const conditionTensors = [condition.speaker, ...(condition.reference ? [condition.reference] : []), ...(condition.pitch ? [condition.pitch] : [])];
    let y: tf.Tensor;
    try {
      y = await solveReverse({
        start,
        mean,
        score: (xt, t) => this.model.score(xt as tf.Tensor3D, mean, t, condition),
        schedule: config,
        steps: run.steps,
        solver: run.solver,
        rng: run.rng,
        onStep: run.onStep,
        ...(run.signal ? { signal: run.signal } : {}),
      });
    } finally {
      tf.dispose([mean, start, ...conditionTensors]);
    }
    const data = y.dataSync() as Float32Array;
    y.dispose();
    return denormalizeLogMel(data, frames, normalization, floor);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    this.conditioningEncoder?.dispose();
  }
}

/**
 * The F0 the score network is asked for: the source's own (from its log-mel, as in training) moved by the difference of
 * the target's and the source's mean ln F0 (unmoved when either is unknown, or for `pitch: 'source'`), plus `semitones`.
 */
export function conversionPitch(
  source: LogMel,
  targetLogF0: number,
  settings: Pick<ConversionSettings, 'pitch' | 'semitones'> = {},
): { f0Hz: Float32Array; shiftNepers: number; fallbackLogF0: number | undefined } {
  const f0Hz = estimateF0FromLogMel(source);
  const sourceLogF0 = meanLogF0(f0Hz);
  const shiftNepers = convertedPitchShiftNepers(sourceLogF0, targetLogF0, settings);
  return { f0Hz, shiftNepers, fallbackLogF0: Number.isFinite(targetLogF0) ? targetLogF0 : undefined };
}

/** `f0Hz` followed by unvoiced frames up to `frames`. */
function padF0(f0Hz: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames);
  out.set(f0Hz.subarray(0, frames));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Model file: encoder + decoder weights, config, normalisation, per-voice unit d-vectors, corpus hash.

const SPEAKER_VECTORS = 'voices.dvectors';
const VOICE_LOG_F0 = 'voices.logF0';
const VOICE_REFERENCE = 'voices.reference';

/** Writes a DiffVC as one `.timbre` file (atomic; `overwrite` to replace). */
export async function saveDiffVc(
  path: string,
  file: {
    model: DiffVc;
    voices: readonly string[];
    speakerVectors: Float32Array;
    voiceTables: DiffVcVoiceTables;
    trainingDataHash: string;
    validationMetrics?: { [key: string]: number };
    extra?: { [key: string]: JsonValue };
  },
  options: { overwrite: boolean; family?: DiffusionFamily; storage?: WeightStorage } = { overwrite: false },
): Promise<void> {
  const { model, voices, speakerVectors } = file;
  const family = options.family ?? 'diffvc';
  const fileKind = DIFFUSION_FILE_KINDS[family];
  const dims = model.config.speakerDims;
  if (speakerVectors.length !== voices.length * dims) throw new ShapeMismatchError(`saveDiffVc: ${speakerVectors.length} d-vector values for ${voices.length} voices of ${dims} dims`);
  const weights = new Map<string, WeightArray>(model.getWeights());
  weights.set(SPEAKER_VECTORS, { data: speakerVectors, shape: [voices.length, dims] });
  const { config } = model;
  if (config.pitchInput) {
    if (file.voiceTables.logF0.length !== voices.length) throw new ShapeMismatchError(`saveDiffVc: ${file.voiceTables.logF0.length} mean log-F0 values for ${voices.length} voices`);
    weights.set(VOICE_LOG_F0, { data: file.voiceTables.logF0, shape: [voices.length] });
  }
  if (config.referenceInput) {
    if (file.voiceTables.reference.length !== voices.length * referenceDims(config)) throw new ShapeMismatchError(`saveDiffVc: reference statistics must be [${voices.length}, ${referenceDims(config)}]`);
    weights.set(VOICE_REFERENCE, { data: file.voiceTables.reference, shape: [voices.length, referenceDims(config)] });
  }
  await saveVoiceModelFile(
    path,
    {
      kind: fileKind.kind,
      kindVersion: fileKind.kindVersion,
      config: model.config,
      voices,
      normalization: model.normalization,
      trainingDataHash: file.trainingDataHash,
      ...(file.validationMetrics !== undefined ? { validationMetrics: file.validationMetrics } : {}),
      defaultLabel: diffVcLabel(voices, family),
      targetVoices: diffVcTargetVoices(config, voices),
      ...(file.extra !== undefined ? { extra: file.extra } : {}),
      facts: { parameterCount: model.parameterCount(), encoderParameters: model.encoder.parameterCount(), decoderParameters: model.decoder.parameterCount() },
    },
    weights,
    { overwrite: options.overwrite, ...(options.storage !== undefined ? { storage: options.storage } : {}) },
  );
}

/** Loads a DiffVC model file, refusing other kinds, versions and feature configs (`ModelMismatchError`). */
export async function loadDiffVc(path: string, family: DiffusionFamily = 'diffvc'): Promise<LoadedDiffVc> {
  const fileKind = DIFFUSION_FILE_KINDS[family];
  const file = await loadVoiceModelFile(path, {
    kind: fileKind.kind,
    kindVersion: fileKind.kindVersion,
    olderKindVersions: fileKind.olderKindVersions,
    family: fileKind.name,
    resolveConfig: (stored, kindVersion) => resolveStoredDiffVcConfig(stored as Partial<DiffVcConfig>, kindVersion),
  });
  const { config, voices, weights } = file;
  const table = (name: string, shape: readonly number[], wanted: boolean): Float32Array => {
    const found = weights.get(name);
    if (!wanted) return new Float32Array(0);
    if (!found || found.shape.join() !== shape.join()) throw new InvalidModelFileError(`${path}: "${name}" must be [${shape.join(', ')}]`);
    return found.data;
  };
  const vectors = table(SPEAKER_VECTORS, [voices.length, config.speakerDims], true);
  const voiceTables = { logF0: table(VOICE_LOG_F0, [voices.length], config.pitchInput), reference: table(VOICE_REFERENCE, [voices.length, referenceDims(config)], config.referenceInput) };
  const tables = new Set([SPEAKER_VECTORS, VOICE_LOG_F0, VOICE_REFERENCE]);
  const model = new DiffVc(config, new Rng(0), file.normalization);
  try {
    model.setWeights(new Map([...weights].filter(([name]) => !tables.has(name))) as WeightMap, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, voices, speakerVectors: vectors, voiceTables, trainingDataHash: file.header.trainingDataHash, validationMetrics: file.header.validationMetrics, extra: file.extra };
}

/**
 * Where the speaker encoder a DiffVC (or CycleDiffusion) was trained with lives: beside its model file, as
 * `<name>.speaker-encoder.timbre` for `<name>.timbre`. The decoder knows that encoder's d-vectors, so voices outside
 * the model are embedded by it, whichever speaker encoder the app uses otherwise.
 */
export function conditioningEncoderPath(modelPath: string): string {
  return join(dirname(modelPath), `${basename(modelPath).replace(/\.timbre$/, '')}.speaker-encoder.timbre`);
}

/** Loads a diffusion model file with its conditioning encoder (when one lies beside it) as a converter. */
export async function loadDiffusionConverter(modelPath: string, family: DiffusionFamily): Promise<DiffVcConverter> {
  const loaded = await loadDiffVc(modelPath, family);
  const encoderPath = conditioningEncoderPath(modelPath);
  let conditioningEncoder: SpeakerEncoder | undefined;
  if (existsSync(encoderPath)) {
    try {
      const { loadSpeakerEncoder } = await import('../speakerEncoder/convert.js');
      conditioningEncoder = (await loadSpeakerEncoder(encoderPath)).encoder;
    } catch (err) {
      loaded.model.dispose();
      throw new InvalidModelFileError(`${encoderPath}, the speaker encoder of ${modelPath}, cannot be read: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return new DiffVcConverter({ ...loaded, ...(conditioningEncoder !== undefined ? { conditioningEncoder } : {}) }, storedLabel(loaded.extra), family);
  } catch (err) {
    loaded.model.dispose();
    conditioningEncoder?.dispose();
    throw err;
  }
}

/** Loads a DiffVC model file as a converter (the model registry's entry point for the 'diffvc' family). */
export async function loadMelConverter(modelPath: string): Promise<DiffVcConverter> {
  return loadDiffusionConverter(modelPath, 'diffvc');
}

/** The DiffVC `timbre eval` scores: TIMBRE_HOME/models/diffvc/model.timbre when present, else the shipped one. */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<DiffVcConverter> {
  return loadInstalledConverter({ folder: 'diffvc', label: 'DiffVC', trainCommand: 'timbre train diffvc', load: loadMelConverter }, context);
}

/** The shipped model file, `assets/models/diffvc/model.timbre` (from src/models or dist/src/models). */
export function shippedDiffVcPath(): string {
  return shippedModelPath('diffvc');
}
