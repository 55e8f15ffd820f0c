// The speaker encoder on disk: its `.timbre` model file (encoder weights and the judge's centroids) and where the
// app finds one (the user's TIMBRE_HOME/models/speaker-encoder, else the shipped file). It converts no voice itself.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { shippedModelPath, timbrePaths } from '../../io/paths.js';
import { InvalidModelFileError, ShapeMismatchError } from '../../nn/errors.js';
import { loadModelFile, saveModelFile, type JsonValue } from '../../nn/modelFile.js';
import { normalizationFromJson, normalizationToJson } from '../melNormalization.js';
import type { WeightArray, WeightMap } from '../../nn/module.js';
import { createSpeakerEncoder, resolveSpeakerEncoderConfig, SPEAKER_ENCODER_KIND, SPEAKER_ENCODER_KIND_VERSION, SpeakerEncoder, type SpeakerEncoderConfig, SpeakerJudge } from './model.js';

// ---------------------------------------------------------------------------------------------------------------
// Model file: encoder weights, judge centroids, config and normalisation.

/** What a loaded speaker-encoder file holds. */
export interface LoadedSpeakerEncoder {
  readonly encoder: SpeakerEncoder;
  readonly judge: SpeakerJudge;
  /** sha256 of the corpus manifest it was trained on. */
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
}

const CENTROIDS = 'judge.centroids';

/** Writes the encoder and its judge as one `.timbre` file (atomic; `overwrite` to replace). */
export async function saveSpeakerEncoder(
  path: string,
  model: { encoder: SpeakerEncoder; judge: SpeakerJudge; trainingDataHash: string; validationMetrics: { [key: string]: number }; extra?: { [key: string]: JsonValue } },
  options: { overwrite: boolean },
): Promise<void> {
  const { encoder, judge } = model;
  if (judge.dims !== encoder.config.embeddingDims) throw new ShapeMismatchError(`judge centroids have ${judge.dims} dims, the encoder ${encoder.config.embeddingDims}`);
  const weights = new Map<string, WeightArray>(encoder.getWeights());
  weights.set(CENTROIDS, { data: judge.centroids, shape: [judge.voices.length, judge.dims] });
  await saveModelFile(
    path,
    {
      kind: SPEAKER_ENCODER_KIND,
      kindVersion: SPEAKER_ENCODER_KIND_VERSION,
      melConfig: MEL_CONFIG,
      hyperparameters: { config: encoder.config as unknown as JsonValue },
      speakers: judge.voices,
      normalization: normalizationToJson(encoder.normalization),
      trainingDataHash: model.trainingDataHash,
      validationMetrics: model.validationMetrics,
      extra: { parameterCount: encoder.parameterCount(), ...(model.extra ?? {}) },
    },
    weights,
    options,
  );
}

/** Loads a speaker-encoder file, refusing other kinds, versions and feature configs. */
export async function loadSpeakerEncoder(path: string): Promise<LoadedSpeakerEncoder> {
  const { header, weights } = await loadModelFile(path, { kind: SPEAKER_ENCODER_KIND, kindVersion: SPEAKER_ENCODER_KIND_VERSION, melConfig: MEL_CONFIG });
  const stored = (header.hyperparameters as { config?: unknown }).config;
  if (typeof stored !== 'object' || stored === null) throw new InvalidModelFileError(`${path} has no speaker encoder config in its header`);
  const config = resolveSpeakerEncoderConfig(stored as Partial<SpeakerEncoderConfig>);
  const normalization = normalizationFromJson(header.normalization, config.mels);
  if (normalization === null) throw new InvalidModelFileError(`${path}: normalization must hold ${config.mels} means and positive stds`);
  const encoder = createSpeakerEncoder(config, { normalization });
  const centroids = weights.get(CENTROIDS);
  if (!centroids || centroids.shape.length !== 2 || centroids.shape[0] !== header.speakers.length || centroids.shape[1] !== config.embeddingDims) {
    encoder.dispose();
    throw new InvalidModelFileError(`${path}: "${CENTROIDS}" must be [${header.speakers.length}, ${config.embeddingDims}]`);
  }
  const encoderWeights: WeightMap = new Map([...weights].filter(([name]) => name !== CENTROIDS));
  try {
    encoder.setWeights(encoderWeights, path);
  } catch (err) {
    encoder.dispose();
    throw err;
  }
  return { encoder, judge: new SpeakerJudge(header.speakers, centroids.data), trainingDataHash: header.trainingDataHash, validationMetrics: header.validationMetrics };
}

/** The shipped model file, `assets/models/speaker-encoder/model.timbre` (from src/models or dist/src/models). */
export function shippedSpeakerEncoderPath(): string {
  return shippedModelPath('speaker-encoder');
}

/** The user's trained speaker encoder, `TIMBRE_HOME/models/speaker-encoder/model.timbre`. */
export function userSpeakerEncoderPath(home?: string): string {
  return join(timbrePaths(home).models, 'speaker-encoder', 'model.timbre');
}

/** The speaker encoder to use: the user's own when it exists, else the shipped one. */
export function defaultSpeakerEncoderPath(home?: string): string {
  const user = userSpeakerEncoderPath(home);
  return existsSync(user) ? user : shippedSpeakerEncoderPath();
}
