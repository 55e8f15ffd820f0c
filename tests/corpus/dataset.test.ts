// The training dataset API on a 3 voices × 3 sentences corpus built in a temp home.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import { CorpusNotBuiltError } from '../../src/corpus/errors.js';
import { createRng } from '../../src/corpus/rng.js';
import { TEST_VOICES } from './render.js';

let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'timbre-dataset-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('corpus dataset', () => {
  it('lists utterances of the requested split and voices with stable speaker ids', () => {
    const all = openCorpusDataset({ home, split: ['train', 'validation', 'test'] });
    expect(all.utterances).toHaveLength(9);
    expect(all.voices.map((v) => v.speakerIndex)).toEqual([0, 1, 2]);
    const one = openCorpusDataset({ home, split: ['train', 'validation', 'test'], voices: ['espeak-f2'] });
    expect(one.utterances.every((u) => u.voice === 'espeak-f2' && u.speakerId === 2)).toBe(true);
    const test = openCorpusDataset({ home, split: 'test' });
    expect(test.utterances.every((u) => u.split === 'test')).toBe(true);
  });

  it('gives per-bin statistics of the train split', () => {
    const { mean, std } = openCorpusDataset({ home }).melStats();
    expect(mean).toHaveLength(80);
    expect(Array.from(std).every((s) => s > 0)).toBe(true);
  });

  it('draws batches [batch, frames, mels] reproducibly from a seed', () => {
    const dataset = openCorpusDataset({ home });
    const options = { batchSize: 4, frames: 64, pairs: true, averages: true };
    const a = dataset.batch(createRng(11), options);
    const b = dataset.batch(createRng(11), options);
    const c = dataset.batch(createRng(12), options);
    expect(a.mel).toHaveLength(4 * 64 * 80);
    expect(a.pairedMel).toHaveLength(4 * 64 * 80);
    expect(a.averageMel).toHaveLength(4 * 64 * 80);
    expect(Array.from(a.mel)).toEqual(Array.from(b.mel));
    expect(Array.from(a.pairedMel!)).toEqual(Array.from(b.pairedMel!));
    expect(a.voices).toEqual(b.voices);
    expect(Array.from(a.mel)).not.toEqual(Array.from(c.mel));
    for (let i = 0; i < 4; i++) {
      expect(a.pairedVoices![i]).not.toBe(a.voices[i]);
      expect(a.lengths[i]).toBe(64);
    }
  });

  it('pads crops longer than an utterance and reports the valid length', () => {
    const dataset = openCorpusDataset({ home });
    const longest = Math.max(...dataset.utterances.map((u) => u.frames));
    const batch = dataset.batch(createRng(1), { batchSize: 2, frames: longest + 10, normalize: false });
    for (let i = 0; i < 2; i++) {
      expect(batch.lengths[i]).toBeLessThan(longest + 10);
      const last = batch.mel[(i * (longest + 10) + longest + 9) * 80]!;
      expect(last).toBeCloseTo(Math.log(1e-5), 4);
    }
  });

  it('aligns a paired voice to the source timing and keeps the average in it', () => {
    const dataset = openCorpusDataset({ home });
    const sentence = dataset.sentenceIds()[0]!;
    const aligned = dataset.alignedMel('flite-slt', 'festival-ked', sentence);
    expect(aligned.frames).toBe(dataset.mel('flite-slt', sentence).frames);
    expect(dataset.averageMel('flite-slt', sentence).frames).toBe(aligned.frames);
  });

  it('refuses a missing corpus with a build hint', () => {
    expect(() => openCorpusDataset({ home: join(home, 'nowhere') })).toThrow(CorpusNotBuiltError);
    expect(() => openCorpusDataset({ home: join(home, 'nowhere') })).toThrow(/timbre corpus build/);
  });
});
