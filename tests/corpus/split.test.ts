// The sentence list and its train/validation/test split.

import { describe, expect, it } from 'vitest';
import { loadSentences, parseSentences } from '../../src/corpus/sentences.js';
import { assignSplits, DEFAULT_SPLIT_FRACTIONS } from '../../src/corpus/split.js';
import { createRng, shuffled } from '../../src/corpus/rng.js';

describe('sentences', () => {
  it('loads 72 Harvard lists of 10 with unique ids and texts', () => {
    const sentences = loadSentences();
    expect(sentences).toHaveLength(720);
    expect(new Set(sentences.map((s) => s.id)).size).toBe(720);
    expect(new Set(sentences.map((s) => s.text)).size).toBe(720);
    expect(sentences[0]).toMatchObject({ id: 'h01-01', list: 1, index: 1, text: 'The birch canoe slid on the smooth planks.' });
    expect(sentences[719]!.id).toBe('h72-10');
  });

  it('ignores comments and blank lines', () => {
    expect(parseSentences('# header\n\nOne.\n  Two.  \n').map((s) => s.text)).toEqual(['One.', 'Two.']);
  });
});

describe('split', () => {
  const ids = loadSentences().map((s) => s.id);
  const split = assignSplits(ids);

  it('never puts one sentence in two splits and covers every sentence', () => {
    expect(split.size).toBe(ids.length);
    const buckets = { train: new Set<string>(), validation: new Set<string>(), test: new Set<string>() };
    for (const [id, name] of split) buckets[name].add(id);
    for (const id of buckets.test) expect(buckets.train.has(id) || buckets.validation.has(id)).toBe(false);
    for (const id of buckets.validation) expect(buckets.train.has(id)).toBe(false);
    expect(buckets.train.size + buckets.validation.size + buckets.test.size).toBe(720);
  });

  it('gives 85/5/10 exactly (612/36/72)', () => {
    const counts = { train: 0, validation: 0, test: 0 };
    for (const name of split.values()) counts[name]++;
    expect(counts).toEqual({ train: 612, validation: 36, test: 72 });
  });

  it('is deterministic and independent of the order of the ids', () => {
    const again = assignSplits(shuffled(ids, createRng(7)), DEFAULT_SPLIT_FRACTIONS);
    for (const id of ids) expect(again.get(id)).toBe(split.get(id));
  });

  it('changes with the salt', () => {
    const other = assignSplits(ids, DEFAULT_SPLIT_FRACTIONS, 'another-salt');
    expect(ids.some((id) => other.get(id) !== split.get(id))).toBe(true);
  });

  it('refuses fractions that do not sum to 1', () => {
    expect(() => assignSplits(ids, { train: 0.8, validation: 0.1, test: 0.2 })).toThrow(/sum to 1/);
  });
});

describe('rng', () => {
  it('reproduces a sequence from a seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});
