// Speaker similarity with the real shipped speaker encoder: a corpus voice's own recording is closer to
// its centroid than another voice's recording; user voices use their clips' mean embedding; lanes carry it.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import { createEngine } from '../../src/engine/engine.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createSpeakerSimilarity } from '../../src/engine/similarity.js';
import { initBackend } from '../../src/nn/backend.js';
import { TEST_VOICES } from '../corpus/render.js';
import { testPitchShiftConverter } from './testPitchShiftConverter.js';
import { TINY_DIFFVC_VOICES, writeTinyDiffVc } from '../models/diffVcFixtures.js';
import { mkdirSync } from 'node:fs';

let home: string;
beforeAll(async () => {
  process.env.TIMBRE_BACKEND ??= 'wasm';
  await initBackend();
  home = await mkdtemp(join(tmpdir(), 'timbre-similarity-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 2 });
}, 60_000);
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('speaker similarity (shipped speaker encoder)', () => {
  it('scores a corpus voice\'s own recording above another voice\'s recording', async () => {
    const measure = createSpeakerSimilarity({ home });
    const dataset = openCorpusDataset({ home });
    const sentence = dataset.utterances[0]!.sentence;
    for (const target of ['flite-slt', 'espeak-f2']) {
      const own = dataset.mel(target, sentence);
      const other = dataset.mel(target === 'flite-slt' ? 'festival-ked' : 'flite-slt', sentence);
      const ownScore = await measure.measure({ logMel: own, samples: new Float32Array(0) }, { voiceId: target, kind: 'corpus' });
      const otherScore = await measure.measure({ logMel: other, samples: new Float32Array(0) }, { voiceId: target, kind: 'corpus' });
      expect(ownScore).toBeGreaterThan(otherScore!);
      expect(ownScore).toBeLessThanOrEqual(1.0001);
    }
    expect(await measure.measure({ logMel: dataset.mel('flite-slt', sentence), samples: new Float32Array(0) }, { voiceId: 'test-voice', kind: 'test' })).toBeUndefined();
    measure.dispose();
  }, 60_000);

  it('uses the mean embedding of a user voice\'s reference mels', async () => {
    const dataset = openCorpusDataset({ home });
    const [a, b] = [dataset.utterances[0]!.sentence, dataset.utterances[1]!.sentence === dataset.utterances[0]!.sentence ? dataset.utterances[2]!.sentence : dataset.utterances[1]!.sentence];
    // "mine" is recorded by festival-ked: its clip scores higher than flite-slt's clip of the same sentence.
    const measure = createSpeakerSimilarity({ home, referenceMels: async (id) => (id === 'mine' ? [dataset.mel('festival-ked', a)] : undefined) });
    const ked = await measure.measure({ logMel: dataset.mel('festival-ked', b), samples: new Float32Array(0) }, { voiceId: 'mine', kind: 'user' });
    const slt = await measure.measure({ logMel: dataset.mel('flite-slt', b), samples: new Float32Array(0) }, { voiceId: 'mine', kind: 'user' });
    expect(ked).toBeGreaterThan(slt!);
    expect(await measure.measure({ logMel: dataset.mel('flite-slt', b), samples: new Float32Array(0) }, { voiceId: 'nobody', kind: 'user' })).toBeUndefined();
    measure.dispose();
  }, 60_000);

  it('puts the similarity into lanes and metrics.json', async () => {
    const wav = join(home, 'speech.wav');
    execFileSync('espeak-ng', ['-w', wav, 'The birch canoe slid on the smooth planks.']);
    const registry = new ModelRegistry({ searchDirs: [], registered: [{ id: 'same', converter: testPitchShiftConverter({ semitones: 0 }) }] });
    const engine = createEngine({ home, registry });
    try {
      const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: new Uint8Array(readFileSync(wav)) }, targetVoiceId: 'espeak-f2', models: [{ modelId: 'same' }], griffinLimIterations: 4 });
      const result = await job.finished;
      const similarity = result.lanes[0]!.speakerSimilarity;
      expect(similarity).toBeGreaterThan(-1);
      expect(similarity).toBeLessThanOrEqual(1.0001);
      const zip = await engine.exportLanes({ jobId: job.id, format: 'zip' });
      expect(new TextDecoder().decode(zip.bytes)).toContain('"speakerSimilarity"');
      const report = await engine.exportLanes({ jobId: job.id, format: 'report' });
      expect(new TextDecoder().decode(report.bytes)).toContain(similarity!.toFixed(3));
    } finally {
      await engine.destroy();
    }
  }, 60_000);

  it('hands an any-voice DiffVC a user voice\'s reference mels and d-vector, and converts to it', async () => {
    const models = join(home, 'models');
    mkdirSync(join(models, 'diffvc'), { recursive: true });
    await writeTinyDiffVc(join(models, 'diffvc', 'model.timbre'), 1, 128); // d-vectors of the shipped encoder's size
    const registry = new ModelRegistry({ searchDirs: [{ dir: models, origin: 'user' }] });
    const engine = createEngine({ home, registry });
    const say = (text: string): Uint8Array => {
      const wav = join(home, 'say.wav');
      execFileSync('espeak-ng', ['-v', 'en+f3', '-w', wav, text]);
      return new Uint8Array(readFileSync(wav));
    };
    try {
      const text = 'A large size in stockings is hard to sell. The boy was there when the sun rose. Rice is often served in round bowls. The juice of lemons makes fine punch.';
      await engine.addVoice({ name: 'mine', recordings: [{ bytes: say(text), name: 'a.wav' }, { bytes: say(text.split('').reverse().join('')), name: 'b.wav' }] });
      const model = (await engine.listModels()).find((m) => m.id === 'user/diffvc')!;
      expect(model.targetVoices).toEqual([...TINY_DIFFVC_VOICES, '*']);
      const input = { kind: 'wav-bytes' as const, bytes: say('The birch canoe slid on the smooth planks.') };
      const run = async (targetVoiceId: string) => (await (await engine.convert({ input, targetVoiceId, models: [{ modelId: 'user/diffvc', settings: { steps: 2 } }], griffinLimIterations: 2 })).finished);
      // Without an embedding and references the tiny model refuses a voice it does not store: success means both arrived.
      const mine = await run('mine');
      expect(mine.failures).toEqual([]);
      expect(mine.lanes[0]!.durationSeconds).toBeGreaterThan(1);
      // A corpus voice the model does not store gets its clips too; this test corpus holds 4.4 s of it, which is too little.
      const corpusVoice = await run('espeak-f2');
      expect(corpusVoice.failures[0]!.error).toMatchObject({ code: 'REFERENCE_TOO_SHORT', message: expect.stringMatching(/espeak-f2.*give at least 10 s/) });
    } finally {
      await engine.destroy();
    }
  }, 120_000);
});
