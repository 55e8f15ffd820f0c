// The corpus a family's training run reads, opened the same way for every family: the run's `corpusRoot` (tests and
// data-parallel workers name it), else TIMBRE_HOME's corpus; its train and validation splits, its voices in speaker
// order, and the train split's per-bin mel normalisation that every model stores in its file.

import { manifestHash } from '../corpus/manifest.js';
import { openCorpusDataset, type CorpusDataset } from '../corpus/dataset.js';
import type { MelNormalization } from './melNormalization.js';

/** Where a run's corpus is: `corpusRoot` when given, else `<home>/corpus`. */
export interface TrainingCorpusOptions {
  readonly home?: string | undefined;
  readonly corpusRoot?: string | undefined;
}

/** The splits of a run and what every family records of them. */
export interface TrainingCorpus {
  readonly train: CorpusDataset;
  readonly validation: CorpusDataset;
  /** Voice ids of the manifest, speaker order. */
  readonly voices: string[];
  readonly normalization: MelNormalization;
  /** sha256 of the corpus manifest (the model file's training-data hash). */
  readonly hash: string;
  /** Hours of speech in the train split. */
  readonly trainHours: number;
}

/** Opens the corpus of a run. */
export function openTrainingCorpus(options: TrainingCorpusOptions): TrainingCorpus {
  const where = options.corpusRoot !== undefined ? { corpusRoot: options.corpusRoot } : options.home !== undefined ? { home: options.home } : {};
  const train = openCorpusDataset({ ...where, split: 'train' });
  const validation = openCorpusDataset({ ...where, split: 'validation' });
  const stats = train.melStats();
  return {
    train,
    validation,
    voices: train.manifest.voices.map((v) => v.id),
    normalization: { mean: Float32Array.from(stats.mean), std: Float32Array.from(stats.std) },
    hash: manifestHash(train.manifest),
    trainHours: train.utterances.reduce((s, u) => s + u.durationSeconds, 0) / 3600,
  };
}
