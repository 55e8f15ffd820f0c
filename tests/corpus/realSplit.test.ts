// The real-speech split rule: whole held-out languages, a per-clip hash split for the rest, and (when
// ktuberling-data is installed) that the held-out speakers include one with many words.

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listSourceClips, primaryLanguage, realSource } from '../../src/corpus/realSources.js';
import { clipSplit, HELD_OUT_LANGUAGES, isHeldOutLanguage, realSplitOf } from '../../src/corpus/realSplit.js';

describe('real-speech splits', () => {
  it('holds out a language in every spelling of its tag, and nothing else', () => {
    expect(HELD_OUT_LANGUAGES).toEqual(['uk', 'el', 'sl']);
    for (const tag of ['uk', 'uk_UA', 'el', 'sl']) expect(isHeldOutLanguage(tag)).toBe(true);
    for (const tag of ['en', 'en_GB', 'fr', 'sr@latin', 'ru', 'nn']) expect(isHeldOutLanguage(tag)).toBe(false);
    expect(realSplitOf('uk', 'ktuberling:ball')).toBe('heldout');
    expect(realSplitOf('en', 'ktuberling:ball')).toBe(clipSplit('ktuberling:ball'));
    expect(primaryLanguage('pt_BR')).toBe('pt');
    expect(primaryLanguage('sr@ijekavianlatin')).toBe('sr');
  });

  it('splits clips by a fixed salted hash, about 85 / 5 / 10', () => {
    // Known answers pin the hash: changing the salt or the rule changes every model's test set.
    expect(['ktuberling:ball', 'ktuberling:bow', 'ktuberling:egypt_camel', 'ktuberling:shoe', 'klettres:letter A'].map((k) => clipSplit(k))).toEqual([
      'test',
      'train',
      'train',
      'test',
      'train',
    ]);
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 4000; i++) counts[clipSplit(`key-${i}`)]++;
    expect(counts.train / 4000).toBeCloseTo(0.85, 1);
    expect(counts.validation / 4000).toBeGreaterThan(0.03);
    expect(counts.validation / 4000).toBeLessThan(0.07);
    expect(counts.test / 4000).toBeGreaterThan(0.08);
    expect(counts.test / 4000).toBeLessThan(0.12);
    expect(clipSplit('key-1')).toBe(clipSplit('key-1'));
    expect(clipSplit('key-1', { train: 0, validation: 0, test: 1 })).toBe('test');
  });

  const installed = existsSync('/usr/share/ktuberling/sounds/uk.soundtheme');
  it.skipIf(!installed)('holds out at least one speaker with 150 or more words in the installed ktuberling-data (skipped when ktuberling-data is not installed)', () => {
    const listing = listSourceClips(realSource('ktuberling')!, '/');
    const perSpeaker = new Map<string, number>();
    for (const clip of listing.clips) if (isHeldOutLanguage(clip.languageTag)) perSpeaker.set(clip.speaker, (perSpeaker.get(clip.speaker) ?? 0) + 1);
    expect([...perSpeaker.values()].some((n) => n >= 150)).toBe(true);
    expect(perSpeaker.size).toBeGreaterThanOrEqual(3);
  });
});
