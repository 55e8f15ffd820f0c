// DiffVC training on a tiny built corpus: the two-stage run, d-vectors from a speaker encoder whose judge lacks the
// corpus voices (so they are embedded from train utterances), the written model file, and a two-worker run.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { loadDiffVc, loadMelConverter } from '../../src/models/diffVc/convert.js';
import { encoderStepsOf, prepareDiffVcTraining, type DiffVcTrainingSettings } from '../../src/models/diffVc/train.js';
import { createSpeakerEncoder, resolveSpeakerEncoderConfig, SpeakerJudge } from '../../src/models/speakerEncoder/model.js';
import { saveSpeakerEncoder } from '../../src/models/speakerEncoder/convert.js';
import { TRAINERS } from '../../src/engine/trainers.js';
import { TEST_VOICES } from '../corpus/render.js';
import { useWasm } from '../nn/helpers.js';

const home = mkdtempSync(join(tmpdir(), 'timbre-diffvc-train-'));
const speakerEncoder = join(home, 'speaker-encoder.timbre');

function settings(runDir: string, overrides: Partial<DiffVcTrainingSettings> = {}): DiffVcTrainingSettings {
  return {
    home,
    steps: 4,
    batchSize: 4,
    seed: 0,
    workers: 1,
    runDir: join(home, runDir),
    resume: false,
    logEvery: 1,
    validateEvery: 0,
    checkpointEvery: 0,
    config: { ...TRAINERS.diffvc.tinyConfig, encoderFraction: 0.5 },
    speakerEncoder,
    log: () => undefined,
    ...overrides,
  };
}

beforeAll(async () => {
  await useWasm();
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
  const config = resolveSpeakerEncoderConfig({ ...(TRAINERS['speaker-encoder'].tinyConfig as object) });
  const encoder = createSpeakerEncoder(config, { seed: 2 });
  const judge = new SpeakerJudge(['someone-else'], new Float32Array(config.embeddingDims).fill(1 / Math.sqrt(config.embeddingDims)));
  await saveSpeakerEncoder(speakerEncoder, { encoder, judge, trainingDataHash: 'tiny', validationMetrics: {} }, { overwrite: true });
  encoder.dispose();
}, 60_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('DiffVC training run', () => {
  it('trains the encoder, then the decoder, and writes a model file that converts to every corpus voice', async () => {
    const lines: string[] = [];
    const run = await prepareDiffVcTraining(settings('run-1', { log: (l) => lines.push(l) }));
    expect(lines.join('\n')).toMatch(/embedding 2 train utterances per voice/);
    expect(lines.join('\n')).toMatch(/steps 1–2 train the encoder, 3–4 the decoder/);
    const result = await run.trainer.run();
    expect(result.cancelled).toBe(false);
    expect(Number.isNaN(result.history[0]!['score'])).toBe(true);
    expect(Number.isFinite(result.history[3]!['score'])).toBe(true);
    const out = join(home, 'diffvc.timbre');
    const summary = await run.finish(result, out, { overwrite: false, command: 'test', trainingSeconds: 1 });
    expect(summary[0]).toMatch(/^diffvc: validation none; voices /); // three sentences leave the validation split empty
    await run.dispose();

    const loaded = await loadDiffVc(out);
    expect([...loaded.voices].sort()).toEqual([...TEST_VOICES].sort());
    expect(loaded.model.config.speakerDims).toBe(8);
    expect((loaded.extra['training'] as { encoderSteps: number }).encoderSteps).toBe(2);
    loaded.model.dispose();
    const converter = await loadMelConverter(out);
    const source = { frames: 30, mels: 80, data: new Float32Array(30 * 80).fill(-5) };
    for (const voice of TEST_VOICES) expect((await converter.convert(source, { voiceId: voice }, { settings: { steps: 2 } })).frames).toBe(30);
    converter.dispose();
  }, 30_000);

  it('runs data-parallel over two workers across the stage switch', async () => {
    const run = await prepareDiffVcTraining(settings('run-2', { workers: 2, steps: 2, validateEvery: 0 }));
    const result = await run.trainer.run();
    expect(result.history).toHaveLength(2);
    expect(Number.isFinite(result.history[1]!['score'])).toBe(true);
    await run.finish(result, join(home, 'parallel.timbre'), { overwrite: false, command: 'test', trainingSeconds: 1 });
    await run.dispose();
  }, 30_000);

  it('splits the steps between the stages by encoderFraction', () => {
    expect(encoderStepsOf({ encoderFraction: 0.25 }, 3000)).toBe(750);
    expect(encoderStepsOf({ encoderFraction: 0 }, 10)).toBe(0);
  });
});
