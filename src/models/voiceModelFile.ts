// The model file of the multi-voice families (VAE, DiffVC): their config under hyperparameters.config, the voice ids
// as speakers, the mel normalisation, the corpus hash, and the label and target voices the model registry lists.

import { MEL_CONFIG } from '../audio/melConfig.js';
import { InvalidModelFileError } from '../nn/errors.js';
import { normalizationFromJson, normalizationToJson, type MelNormalization } from './melNormalization.js';
import { loadModelFile, saveModelFile, type JsonValue, type ModelFileHeader, type WeightStorage } from '../nn/modelFile.js';
import type { WeightArray, WeightMap } from '../nn/module.js';

/** What a multi-voice model file holds besides the weights. */
export interface VoiceModelFileContents {
  readonly kind: string;
  readonly kindVersion: number;
  readonly config: object;
  readonly voices: readonly string[];
  readonly normalization: MelNormalization;
  readonly trainingDataHash: string;
  readonly validationMetrics?: { readonly [key: string]: number };
  /** Written into extra, after the caller's `extra`: the label (unless `extra.label` is a string) and the target voices. */
  readonly defaultLabel: string;
  /** What the model converts to, as the model registry lists it; default `voices` ('*' added by any-voice models). */
  readonly targetVoices?: readonly string[];
  readonly extra?: { readonly [key: string]: JsonValue };
  /** Family facts written after the label (parameter counts, per-voice tables). */
  readonly facts?: { readonly [key: string]: JsonValue };
}

/** The label a model file's header stores (`extra.label`), or undefined when it has none. */
export function storedLabel(extra: { readonly [key: string]: JsonValue } | undefined): string | undefined {
  const label = extra?.['label'];
  return typeof label === 'string' ? label : undefined;
}

/** Writes a multi-voice model file (atomic; `overwrite` to replace). */
export async function saveVoiceModelFile(
  path: string,
  contents: VoiceModelFileContents,
  weights: ReadonlyMap<string, WeightArray>,
  options: { overwrite: boolean; storage?: WeightStorage },
): Promise<void> {
  const extra = contents.extra ?? {};
  await saveModelFile(
    path,
    {
      kind: contents.kind,
      kindVersion: contents.kindVersion,
      melConfig: MEL_CONFIG,
      hyperparameters: { config: contents.config as unknown as JsonValue },
      speakers: [...contents.voices],
      normalization: normalizationToJson(contents.normalization),
      trainingDataHash: contents.trainingDataHash,
      validationMetrics: contents.validationMetrics ?? {},
      extra: {
        ...extra,
        label: storedLabel(extra) ?? contents.defaultLabel,
        targetVoices: [...(contents.targetVoices ?? contents.voices)],
        ...(contents.facts ?? {}),
      },
    },
    weights,
    options,
  );
}

/** A multi-voice model file as read: its resolved config, normalisation, voices and the rest of the header. */
export interface LoadedVoiceModelFile<C> {
  readonly header: ModelFileHeader;
  readonly weights: WeightMap;
  readonly config: C;
  readonly normalization: MelNormalization;
  readonly voices: readonly string[];
  readonly extra: { readonly [key: string]: JsonValue };
}

/**
 * Reads a multi-voice model file, refusing another kind, version or feature config (`ModelMismatchError`) and a
 * header without a config or a normalisation of `config.mels` bins (`InvalidModelFileError`, naming `family`).
 */
export async function loadVoiceModelFile<C extends { readonly mels: number }>(
  path: string,
  expected: {
    readonly kind: string;
    readonly kindVersion: number;
    readonly olderKindVersions?: readonly number[];
    readonly family: string;
    /** The stored config resolved for the file's kind version. */
    readonly resolveConfig: (stored: object, kindVersion: number) => C;
  },
): Promise<LoadedVoiceModelFile<C>> {
  const { header, weights } = await loadModelFile(path, {
    kind: expected.kind,
    kindVersion: expected.kindVersion,
    ...(expected.olderKindVersions ? { olderKindVersions: expected.olderKindVersions } : {}),
    melConfig: MEL_CONFIG,
  });
  const stored = (header.hyperparameters as { config?: unknown }).config;
  if (typeof stored !== 'object' || stored === null) throw new InvalidModelFileError(`${path} has no ${expected.family} config in its header`);
  const config = expected.resolveConfig(stored, header.kindVersion);
  const normalization = normalizationFromJson(header.normalization, config.mels);
  if (normalization === null) throw new InvalidModelFileError(`${path}: normalization must hold ${config.mels} means and positive stds`);
  return { header, weights, config, normalization, voices: header.speakers, extra: (header.extra ?? {}) as { [key: string]: JsonValue } };
}
