// Deterministic train/validation/test split of the corpus sentences (85/5/10 by default):
// sentences are ranked by a salted sha256 of their id, so the split never depends on order or voices.

import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../audio/errors.js';

/** Names of the three splits. */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Fractions of sentences per split; they sum to 1. */
export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

/** The project's split: 85 % train, 5 % validation, 10 % test. */
export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = Object.freeze({ train: 0.85, validation: 0.05, test: 0.1 });

/** Salt of the ranking hash; changing it reshuffles every split (and invalidates every model's test set). */
export const DEFAULT_SPLIT_SALT = 'timbre-split-v1';

/**
 * Assigns each id to a split: ids are sorted by sha256(salt + id) and the first
 * round(train × n) go to train, the next round(validation × n) to validation, the rest to test.
 * The assignment of the full list is what counts: callers pass all sentence ids, then subset.
 */
export function assignSplits(
  ids: readonly string[],
  fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS,
  salt: string = DEFAULT_SPLIT_SALT,
): Map<string, SplitName> {
  const total = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(total - 1) > 1e-9 || fractions.train < 0 || fractions.validation < 0 || fractions.test < 0) {
    throw new InvalidArgumentError(`split fractions must be ≥ 0 and sum to 1, got ${JSON.stringify(fractions)}`);
  }
  if (new Set(ids).size !== ids.length) throw new InvalidArgumentError('split ids must be unique');
  const ranked = ids
    .map((id) => ({ id, key: createHash('sha256').update(`${salt}:${id}`).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const trainCount = Math.round(fractions.train * ids.length);
  const validationCount = Math.round(fractions.validation * ids.length);
  const result = new Map<string, SplitName>();
  ranked.forEach(({ id }, rank) => {
    result.set(id, rank < trainCount ? 'train' : rank < trainCount + validationCount ? 'validation' : 'test');
  });
  return result;
}

/** Checks a split name given by a user. */
export function parseSplitName(value: string): SplitName {
  if (!(SPLIT_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`split "${value}" is not one of ${SPLIT_NAMES.join(', ')}`);
  }
  return value as SplitName;
}
