// Splits of the real-speech set: whole languages held out from all training (their speakers judge
// generalisation to unseen real voices), and for every other speaker a per-clip split by a salted hash of the word.

import { createHash } from 'node:crypto';
import { DEFAULT_SPLIT_FRACTIONS, type SplitFractions, type SplitName } from './split.js';
import { primaryLanguage } from './realSources.js';

/** Splits of a real clip: the corpus's three, plus `heldout` (speakers never used in any training). */
export const REAL_SPLIT_NAMES = ['train', 'validation', 'test', 'heldout'] as const;
export type RealSplitName = (typeof REAL_SPLIT_NAMES)[number];

/**
 * Languages whose speakers are held out, in every source. Whole languages rather than single folders, because one
 * volunteer may well have read the same language for two KDE games (KTuberling and KLettres): holding out one folder
 * would leak the person through the other. A fixed list, not a ranking of what is installed, so the held-out set is
 * the same on every machine and for every package version. Chosen so that the held-out speakers include a large set
 * (Ukrainian: 190 KTuberling words + 94 KLettres letters and syllables), speakers of both F0 ranges, and no language
 * that training depends on (English, French, German); see docs/CORPUS.md for the measured speakers.
 */
export const HELD_OUT_LANGUAGES: readonly string[] = Object.freeze(['uk', 'el', 'sl']);

/** Salt of the per-clip hash; changing it reshuffles every train/validation/test split. */
export const REAL_SPLIT_SALT = 'timbre-real-split-v1';

/** Per-clip fractions for the speakers in training: the corpus's 85 / 5 / 10. */
export const REAL_SPLIT_FRACTIONS: SplitFractions = DEFAULT_SPLIT_FRACTIONS;

/** True when speakers of this language tag (`uk`, `pt_BR`, `sr@latin`) are held out. */
export function isHeldOutLanguage(languageTag: string): boolean {
  return HELD_OUT_LANGUAGES.includes(primaryLanguage(languageTag));
}

/**
 * Split of one clip of a training speaker: u = first 32 bits of sha256(salt + ':' + key) / 2³², train below 0.85,
 * validation below 0.90, test above. Each clip on its own (adding clips never moves others), and the same key gives
 * the same split for every speaker: `key` is `<source>:<label>`, and KTuberling labels are the same concept in every
 * language, so a word in the test split is heard in training in no language.
 */
export function clipSplit(key: string, fractions: SplitFractions = REAL_SPLIT_FRACTIONS, salt: string = REAL_SPLIT_SALT): SplitName {
  const u = Number.parseInt(createHash('sha256').update(`${salt}:${key}`).digest('hex').slice(0, 8), 16) / 2 ** 32;
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.validation) return 'validation';
  return 'test';
}

/** Split of a clip: `heldout` for a held-out language, else `clipSplit(key)`. */
export function realSplitOf(languageTag: string, key: string): RealSplitName {
  return isHeldOutLanguage(languageTag) ? 'heldout' : clipSplit(key);
}
