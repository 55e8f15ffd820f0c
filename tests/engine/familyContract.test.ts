// The registry ↔ family contract with a real family module: a tiny untrained VAE saved to a model
// folder is found, loaded through src/models/vae/convert.ts's loadMelConverter, and converts through the engine.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { createEngine } from '../../src/engine/engine.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { createVae, resolveVaeConfig } from '../../src/models/vae/model.js';
import { saveVae } from '../../src/models/vae/convert.js';
import { harmonicToneWav } from './fixtures.js';

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('family contract (VAE)', () => {
  it('finds, loads and runs a VAE model file through the engine', async () => {
    dir = await mkdtemp(join(tmpdir(), 'timbre-vae-'));
    await mkdir(join(dir, 'vae'));
    const config = resolveVaeConfig({ channels: 16, latentDims: 4, speakerDims: 4, encoderBlocks: 1, decoderBlocks: 1, classifierChannels: 8 });
    const model = createVae(config, { speakers: 2, seed: 1 });
    await saveVae(join(dir, 'vae', 'model.timbre'), { model, voices: ['test-voice', 'other'], speakerLogF0: [Math.log(120), Math.log(200)], trainingDataHash: 'test' });
    model.dispose();
    const engine = createEngine({
      registry: new ModelRegistry({ searchDirs: [{ dir, origin: 'shipped' }] }),
      voiceSource: createVoiceSource([{ id: 'test-voice', label: 'T', kind: 'test', hasPreview: false }], { useVoicesModule: false }),
    });
    try {
      const vae = (await engine.listModels()).find((m) => m.family === 'vae')!;
      expect(vae).toMatchObject({ id: 'vae', available: true, targetVoices: ['test-voice', 'other'], label: 'VAE (2 voices)' });
      const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.4 }) }, targetVoiceId: 'test-voice', models: [{ modelId: 'vae', settings: { pitchShiftSemitones: 2 } }], griffinLimIterations: 2 });
      const result = await job.finished;
      expect(result.failures).toEqual([]);
      expect(decodeWav(result.lanes[0]!.wav).sampleRateHz).toBe(22050);
      expect((await engine.info()).backend).toMatch(/^(tensorflow-gpu|tensorflow|wasm|cpu)$/); // the engine loaded a backend itself
    } finally {
      await engine.destroy();
    }
  });
});
