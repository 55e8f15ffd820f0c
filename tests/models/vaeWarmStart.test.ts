// Warm start of VAE training (`timbre train vae --init FILE`): a new run starts from a finished model's weights
// and refuses a file whose architecture does not match.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { loadVae } from '../../src/models/vae/convert.js';
import { prepareVaeTraining, type VaeTrainingSettings } from '../../src/models/vae/train.js';
import { TEST_VOICES } from '../corpus/render.js';
import { useWasm } from '../nn/helpers.js';
import { TINY_VAE_CONFIG } from './vaeFixtures.js';

const home = mkdtempSync(join(tmpdir(), 'timbre-vae-warm-'));
const tiny: Record<string, unknown> = { ...TINY_VAE_CONFIG };

function settings(runDir: string, overrides: Partial<VaeTrainingSettings> = {}): VaeTrainingSettings {
  return {
    home,
    steps: 3,
    batchSize: 4,
    seed: 0,
    workers: 1,
    runDir: join(home, runDir),
    resume: false,
    logEvery: 0,
    validateEvery: 0,
    checkpointEvery: 0,
    config: tiny,
    log: () => undefined,
    ...overrides,
  };
}

beforeAll(async () => {
  await useWasm();
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
}, 120_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('VAE warm start', () => {
  it('starts a new run from the weights of a model file and records it', async () => {
    const first = join(home, 'first.timbre');
    const run = await prepareVaeTraining(settings('run-1'));
    await run.finish(await run.trainer.run(), first, { overwrite: false, command: 'test', trainingSeconds: 0 });
    await run.dispose();

    const saved = await loadVae(first);
    const warm = await prepareVaeTraining(settings('run-2', { init: first }));
    const startWeights = warm.trainer.options.model.getWeights();
    for (const [name, w] of saved.model.getWeights()) expect(startWeights.get(name)!.data, name).toEqual(w.data);
    const second = join(home, 'second.timbre');
    await warm.finish(await warm.trainer.run(), second, { overwrite: false, command: 'test', trainingSeconds: 0 });
    await warm.dispose();
    const continued = await loadVae(second);
    expect((continued.extra['training'] as { init?: string }).init).toBe(first);
    expect(continued.model.config.klAnnealSteps).toBe(1);
    saved.model.dispose();
    continued.model.dispose();
  }, 120_000);

  it('refuses a model file of another architecture, naming the field', async () => {
    const first = join(home, 'first.timbre');
    await expect(prepareVaeTraining(settings('run-3', { init: first, config: { ...tiny, channels: 12 } }))).rejects.toThrow(/channels 8 \(this run 12\)/);
    await expect(prepareVaeTraining(settings('run-4', { init: join(home, 'absent.timbre') }))).rejects.toThrow(/no model file/);
  }, 60_000);
});
