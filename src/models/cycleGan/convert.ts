// A trained CycleGAN-VC pair on disk and at work: its `.timbre` model file (one or both generators, float16) and
// the `MelConverter`s the engine and eval load (one pair, or one generator per target voice).

import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { checkLogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { shippedModelPath, timbrePaths } from '../../io/paths.js';
import type { ConversionProgress, ConversionSettings, ConversionTarget, MelConverter } from '../converter.js';
import { InvalidModelFileError, ModelMismatchError } from '../../nn/errors.js';
import { normalizationFromJson, normalizationToJson } from '../melNormalization.js';
import { loadModelFile, saveModelFile, type JsonValue, type WeightStorage } from '../../nn/modelFile.js';
import { estimateF0FromLogMel, meanLogF0, normalizeVocalTract } from '../pitch.js';
import { Rng, type WeightArray } from '../../nn/module.js';
import { checkCycleGanConfig, CYCLE_GAN_KIND, CYCLE_GAN_KIND_VERSION, type CycleGanConfig, CycleGanGenerator, type CycleGanNormalization, DEFAULT_CYCLE_GAN_CONFIG } from './model.js';

/** What a CycleGAN-VC model file says about its generator besides the weights. */
export interface CycleGanModelInfo {
  readonly config: CycleGanConfig;
  /** "any" (pooled multi-speaker domain) or the user/corpus voice the pair was trained from. */
  readonly sourceDomain: string;
  /** Voices pooled in the source domain. */
  readonly sourceVoices: readonly string[];
  readonly targetVoice: string;
  /** Mean ln F0 of the target voice's training speech; conversions normalise the source's vocal tract toward it (absent in older files: no normalisation). */
  readonly targetLogF0?: number;
  readonly normalization: CycleGanNormalization;
  readonly trainingDataHash: string;
  readonly validationMetrics?: { readonly [key: string]: number };
  /** Free-form training facts (steps, seconds, command). */
  readonly training?: { readonly [key: string]: JsonValue };
}

/** Label shown in the UI, e.g. "CycleGAN-VC (any → flite-slt)", or "(any ↔ flite-slt)" when the file converts both ways. */
export function cycleGanLabel(sourceDomain: string, targetVoice: string, bothWays = false): string {
  return `CycleGAN-VC (${sourceDomain} ${bothWays ? '↔' : '→'} ${targetVoice})`;
}

/** Prefix of the inverse (target → source) generator's tensors in a model file that holds both directions. */
const INVERSE_PREFIX = 'inverse.';

/** What `saveCycleGanModel` writes besides the forward generator. */
export interface CycleGanSaveOptions {
  readonly overwrite?: boolean;
  /** The pair's target → source generator, stored under `inverse.*` so the file converts both ways. */
  readonly inverse?: CycleGanGenerator;
  /** Weight precision in the file (default float16: inference weights, half the bytes; checkpoints keep float32). */
  readonly storage?: WeightStorage;
}

/** Writes the A→B generator (and, given `inverse`, the B→A one) with config, domains and normalisation to a `.timbre` file. */
export async function saveCycleGanModel(path: string, generator: CycleGanGenerator, info: CycleGanModelInfo, options: CycleGanSaveOptions = {}): Promise<void> {
  const weights = new Map(generator.getWeights());
  if (options.inverse) for (const [name, w] of options.inverse.getWeights()) weights.set(`${INVERSE_PREFIX}${name}`, w);
  await saveModelFile(
    path,
    {
      kind: CYCLE_GAN_KIND,
      kindVersion: CYCLE_GAN_KIND_VERSION,
      melConfig: MEL_CONFIG,
      hyperparameters: { ...info.config } as unknown as { [key: string]: JsonValue },
      speakers: [info.sourceDomain, info.targetVoice],
      normalization: normalizationToJson(info.normalization),
      trainingDataHash: info.trainingDataHash,
      validationMetrics: info.validationMetrics ?? {},
      extra: {
        label: cycleGanLabel(info.sourceDomain, info.targetVoice, options.inverse !== undefined),
        targetVoices: options.inverse ? [info.targetVoice, info.sourceDomain] : [info.targetVoice],
        sourceDomain: info.sourceDomain,
        sourceVoices: [...info.sourceVoices],
        targetVoice: info.targetVoice,
        ...(info.targetLogF0 !== undefined && Number.isFinite(info.targetLogF0) ? { targetLogF0: info.targetLogF0 } : {}),
        training: info.training ?? {},
      },
    },
    weights,
    { overwrite: options.overwrite ?? false, storage: options.storage ?? 'float16' },
  );
}

function configFromHeader(h: { readonly [key: string]: JsonValue }, path: string): CycleGanConfig {
  const keys = Object.keys(DEFAULT_CYCLE_GAN_CONFIG) as (keyof CycleGanConfig)[];
  const missing = keys.filter((k) => !(k in h));
  if (missing.length > 0) throw new ModelMismatchError(`model file ${path}: CycleGAN-VC config lacks ${missing.join(', ')}; re-train it`);
  const config = Object.fromEntries(keys.map((k) => [k, h[k]])) as unknown as CycleGanConfig;
  try {
    checkCycleGanConfig(config);
  } catch (err) {
    throw new ModelMismatchError(`model file ${path}: ${(err as Error).message}`);
  }
  return config;
}

/**
 * Reads a CycleGAN-VC model file (refusing other kinds, versions and feature configs) into its forward generator and,
 * when the file holds one, its inverse generator (null otherwise).
 */
export async function loadCycleGanModel(path: string): Promise<{ generator: CycleGanGenerator; inverse: CycleGanGenerator | null; info: CycleGanModelInfo }> {
  const { header, weights } = await loadModelFile(path, { kind: CYCLE_GAN_KIND, kindVersion: CYCLE_GAN_KIND_VERSION, melConfig: MEL_CONFIG });
  const config = configFromHeader(header.hyperparameters, path);
  const normalization = normalizationFromJson(header.normalization, config.mels);
  if (normalization === null) throw new ModelMismatchError(`model file ${path}: normalisation must hold ${config.mels} means and positive stds; re-train it`);
  const extra = (header.extra ?? {}) as { sourceDomain?: unknown; sourceVoices?: unknown; targetVoice?: unknown; targetLogF0?: unknown; training?: unknown };
  if (typeof extra.targetVoice !== 'string' || typeof extra.sourceDomain !== 'string') {
    throw new ModelMismatchError(`model file ${path}: lacks the source domain or target voice of the CycleGAN-VC pair; re-train it`);
  }
  const forwardWeights = new Map<string, WeightArray>();
  const inverseWeights = new Map<string, WeightArray>();
  for (const [name, w] of weights) {
    if (name.startsWith(INVERSE_PREFIX)) inverseWeights.set(name.slice(INVERSE_PREFIX.length), w);
    else forwardWeights.set(name, w);
  }
  const generator = new CycleGanGenerator(new Rng(0), config);
  const inverse = inverseWeights.size > 0 ? new CycleGanGenerator(new Rng(0), config) : null;
  try {
    generator.setWeights(forwardWeights, path);
    inverse?.setWeights(inverseWeights, `${path} (inverse generator)`);
  } catch (err) {
    generator.dispose();
    inverse?.dispose();
    throw err;
  }
  return {
    generator,
    inverse,
    info: {
      config,
      sourceDomain: extra.sourceDomain,
      sourceVoices: Array.isArray(extra.sourceVoices) ? extra.sourceVoices.filter((v): v is string => typeof v === 'string') : [],
      targetVoice: extra.targetVoice,
      ...(typeof extra.targetLogF0 === 'number' && Number.isFinite(extra.targetLogF0) ? { targetLogF0: extra.targetLogF0 } : {}),
      normalization,
      trainingDataHash: header.trainingDataHash,
      validationMetrics: header.validationMetrics,
      training: (extra.training ?? {}) as { [key: string]: JsonValue },
    },
  };
}

/** Longest chunk (frames) one generator pass converts; longer inputs go in overlapping chunks so memory stays bounded. */
export const MAX_CONVERT_CHUNK_FRAMES = 1024;
const CHUNK_OVERLAP = 32;

/**
 * A trained A→B generator as the engine's `MelConverter`; `convert` maps raw log-mels [frames × mels] to the target
 * voice, or, when the file holds the inverse generator too, back to the source domain (target id = the source domain).
 */
export class CycleGanConverter implements MelConverter {
  readonly family = 'cyclegan' as const;
  readonly label: string;
  readonly targetVoices: readonly string[];
  readonly info: CycleGanModelInfo;
  readonly trainingDataHash: string;
  private generator: CycleGanGenerator | null;
  private inverse: CycleGanGenerator | null;

  constructor(generator: CycleGanGenerator, info: CycleGanModelInfo, inverse: CycleGanGenerator | null = null) {
    this.generator = generator;
    this.inverse = inverse;
    this.info = info;
    this.trainingDataHash = info.trainingDataHash;
    this.label = cycleGanLabel(info.sourceDomain, info.targetVoice, inverse !== null);
    this.targetVoices = inverse !== null ? [info.targetVoice, info.sourceDomain] : [info.targetVoice];
  }

  /** Source log-mel [frames × mels] (natural log, unnormalised) → the target voice's log-mel of the same size. */
  async convert(source: LogMel, target: ConversionTarget, options: { settings?: ConversionSettings; onProgress?: ConversionProgress; signal?: AbortSignal } = {}): Promise<LogMel> {
    if (this.generator === null) throw new ModelMismatchError(`${this.label} was disposed; load the model again`);
    checkLogMel(source, this.info.config.mels);
    const generator = target.voiceId === this.info.targetVoice ? this.generator : target.voiceId === this.info.sourceDomain ? this.inverse : null;
    if (generator === null) {
      throw new ModelMismatchError(`${this.label} converts only to ${this.targetVoices.map((v) => `"${v}"`).join(' or ')}, received target "${target.voiceId}"; pick a CycleGAN-VC model trained for that voice`);
    }
    const throwIfAborted = () => {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('conversion cancelled');
    };
    throwIfAborted();
    const { frames, mels } = source;
    const { mean, std } = this.info.normalization;
    const out = new Float32Array(frames * mels);
    if (frames === 0) return { frames, mels, data: out };
    // Toward the target voice, the generator reads the source with its formants moved to the target's scale (files
    // that store the target's mean F0); the way back has no single voice to move toward.
    const targetLogF0 = generator === this.generator ? (this.info.targetLogF0 ?? Number.NaN) : Number.NaN;
    const sourceLogF0 = Number.isFinite(targetLogF0) ? meanLogF0(estimateF0FromLogMel(source)) : Number.NaN;
    const input = normalizeVocalTract(source, sourceLogF0, targetLogF0, options.settings?.vocalTractNormalization);
    const normalised = new Float32Array(frames * mels);
    for (let i = 0; i < normalised.length; i++) normalised[i] = (input.data[i]! - mean[i % mels]!) / std[i % mels]!;
    // Chunks of at most MAX_CONVERT_CHUNK_FRAMES with CHUNK_OVERLAP frames of context each side; only the centre is kept.
    const core = MAX_CONVERT_CHUNK_FRAMES - 2 * CHUNK_OVERLAP;
    const starts: number[] = [];
    for (let s = 0; s < frames; s += frames <= MAX_CONVERT_CHUNK_FRAMES ? frames : core) starts.push(s);
    for (let c = 0; c < starts.length; c++) {
      const keepStart = starts[c]!;
      const keepEnd = starts.length === 1 ? frames : Math.min(frames, keepStart + core);
      const from = starts.length === 1 ? 0 : Math.max(0, keepStart - CHUNK_OVERLAP);
      const to = starts.length === 1 ? frames : Math.min(frames, keepEnd + CHUNK_OVERLAP);
      const length = to - from;
      const y = tf.tidy(() => {
        const x = tf.tensor3d(normalised.subarray(from * mels, to * mels), [1, length, mels]); // [1, T, M]
        return generator.forward(x, tf.onesLike(x));
      });
      const values = (await y.data()) as Float32Array;
      y.dispose();
      for (let t = keepStart; t < keepEnd; t++) {
        for (let k = 0; k < mels; k++) out[t * mels + k] = values[(t - from) * mels + k]! * std[k]! + mean[k]!;
      }
      options.onProgress?.((c + 1) / starts.length);
      throwIfAborted();
    }
    return { frames, mels, data: out };
  }

  /** Frees the generators' weights. */
  dispose(): void {
    this.generator?.dispose();
    this.inverse?.dispose();
    this.generator = null;
    this.inverse = null;
  }
}

/** The model registry's entry point: loads a `.timbre` CycleGAN-VC generator as a converter. */
export async function loadMelConverter(modelPath: string): Promise<CycleGanConverter> {
  const { generator, inverse, info } = await loadCycleGanModel(modelPath);
  return new CycleGanConverter(generator, info, inverse);
}

/** Several single-target generators behind one converter, chosen by the target voice (eval converts to several). */
export class CycleGanVoiceSet implements MelConverter {
  readonly family = 'cyclegan' as const;
  readonly label: string;
  readonly targetVoices: readonly string[];
  /** The pairs' training corpus when they share one, else '' (unknown as one figure). */
  readonly trainingDataHash: string;
  private readonly byVoice: Map<string, CycleGanConverter>;

  constructor(converters: readonly CycleGanConverter[]) {
    this.byVoice = new Map(converters.map((c) => [c.info.targetVoice, c]));
    const hashes = [...new Set(converters.map((c) => c.trainingDataHash))];
    this.trainingDataHash = hashes.length === 1 ? hashes[0]! : '';
    this.targetVoices = [...this.byVoice.keys()];
    const sources = [...new Set(converters.map((c) => c.info.sourceDomain))];
    this.label = `CycleGAN-VC (${sources.join('/')} → ${this.targetVoices.join(', ')})`;
  }

  /** Converts with the generator of `target.voiceId`. */
  convert(source: LogMel, target: ConversionTarget, options?: { settings?: ConversionSettings; onProgress?: ConversionProgress; signal?: AbortSignal }): Promise<LogMel> {
    const converter = this.byVoice.get(target.voiceId);
    if (converter === undefined) {
      return Promise.reject(new ModelMismatchError(`${this.label} has no generator for "${target.voiceId}"; it has ${this.targetVoices.join(', ')}`));
    }
    return converter.convert(source, target, options);
  }

  /** Frees every generator. */
  dispose(): void {
    for (const c of this.byVoice.values()) c.dispose();
    this.byVoice.clear();
  }
}

/**
 * A pair "any corpus voice → `voice`" learnt from its recordings in minutes, starting from the shipped pair nearest in
 * pitch (what `timbre train cyclegan --to NAME --init PAIR.timbre` does), for `timbre eval --real-voices`.
 */
export async function adaptEvalConverter(
  context: { readonly home: string | undefined },
  voice: { readonly name: string; readonly mels: readonly LogMel[] },
  log: (line: string) => void,
): Promise<CycleGanConverter> {
  const { adaptCycleGanToRecordings } = await import('./adapt.js');
  return adaptCycleGanToRecordings({ name: voice.name, mels: voice.mels, home: context.home, log });
}

/** Voices of the shipped any-voice pairs. */
export const SHIPPED_CYCLE_GAN_VOICES = Object.freeze(['flite-slt', 'festival-ked', 'espeak-f2']);

/**
 * Of the any-voice pair files `paths` (default the shipped ones), the one whose target's mean ln F0 is nearest
 * `logF0`: where a pair for a new voice starts from.
 */
export async function nearestPairByPitch(logF0: number, paths: readonly string[] = SHIPPED_CYCLE_GAN_VOICES.map(shippedCycleGanPath)): Promise<string> {
  let best: { path: string; distance: number } | null = null;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const { generator, inverse, info } = await loadCycleGanModel(path);
    generator.dispose();
    inverse?.dispose();
    if (info.sourceDomain !== 'any' || info.targetLogF0 === undefined) continue;
    const distance = Number.isFinite(logF0) ? Math.abs(info.targetLogF0 - logF0) : 0;
    if (best === null || distance < best.distance) best = { path, distance };
  }
  if (best === null) throw new InvalidModelFileError(`no any-voice CycleGAN-VC pair with a known target pitch among ${paths.join(', ')} to start a new voice from`);
  return best.path;
}

/** The shipped generator of `voice`: `assets/models/cyclegan-<voice>/model.timbre`. */
export function shippedCycleGanPath(voice: string): string {
  return shippedModelPath(`cyclegan-${voice}`);
}

/** The pair file of `voice`: TIMBRE_HOME/models/cyclegan-<voice> first, then the shipped one (which may not exist). */
export function cycleGanPathOf(home: string | undefined, voice: string): string {
  const user = join(timbrePaths(home).models, `cyclegan-${voice}`, 'model.timbre');
  return existsSync(user) ? user : shippedCycleGanPath(voice);
}

/** `timbre eval --model cyclegan`: the any-voice generator of every target (TIMBRE_HOME/models first, then shipped). */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<CycleGanVoiceSet> {
  const models = timbrePaths(context.home).models;
  const paths = context.targetVoices.map((voice) => cycleGanPathOf(context.home, voice));
  const missing = context.targetVoices.filter((_, i) => !existsSync(paths[i]!));
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `no CycleGAN-VC generator for ${missing.join(', ')} (looked in ${models} and ${dirname(dirname(shippedCycleGanPath('x')))}); train one with: timbre train cyclegan --to ${missing[0]}`,
      'VOICE_NOT_FOUND',
    );
  }
  const converters: CycleGanConverter[] = [];
  try {
    for (const path of paths) converters.push(await loadMelConverter(path));
  } catch (err) {
    converters.forEach((c) => c.dispose());
    throw err;
  }
  const wrong = converters.find((c, i) => c.info.targetVoice !== context.targetVoices[i]);
  if (wrong) {
    converters.forEach((c) => c.dispose());
    throw new InvalidModelFileError(`a CycleGAN-VC model file in a cyclegan-<voice> folder converts to "${wrong.info.targetVoice}", not to that folder's voice; re-train or move it`);
  }
  return new CycleGanVoiceSet(converters);
}
