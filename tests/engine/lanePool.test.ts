// Lanes side by side: with a lane worker, shipped models convert on a second thread to exactly the samples they give
// on the engine's own thread; a cancel reaches a lane inside the worker; lanes come back in plan order. And the
// vocoders the engine offers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { createEngine } from '../../src/engine/engine.js';
import { defaultLaneWorkers } from '../../src/engine/lanePool.js';
import { installedVocoderPath } from '../../src/models/vocoder/files.js';
import { harmonicGlide } from '../audio/signals.js';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'timbre-lanes-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const input = encodeWav(harmonicGlide(110, 160, 22050, 22050 * 2), 22050);
const models = [{ modelId: 'vae' }, { modelId: 'cyclegan-flite-slt' }];

describe('lane workers', () => {
  it('convert shipped models on a second thread to the same samples, lanes in plan order', async () => {
    const results = [];
    for (const laneWorkers of [0, 1]) {
      const engine = createEngine({ home, laneWorkers, speakerSimilarity: false });
      try {
        const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: input }, targetVoiceId: 'flite-slt', models });
        results.push(await job.finished);
      } finally {
        await engine.destroy();
      }
    }
    const [alone, sideBySide] = results;
    expect(alone!.failures).toEqual([]);
    expect(sideBySide!.failures).toEqual([]);
    expect(sideBySide!.lanes.map((l) => l.modelId)).toEqual(['vae', 'cyclegan-flite-slt']);
    for (const [i, lane] of alone!.lanes.entries()) expect(Buffer.from(sideBySide!.lanes[i]!.wav).equals(Buffer.from(lane.wav))).toBe(true);
  }, 120_000);

  it('cancel lanes running in the worker and here: they report cancelled, not failed', async () => {
    const engine = createEngine({ home, laneWorkers: 1, speakerSimilarity: false });
    try {
      // The costlier lane (DiffVC) starts on this thread, the VAE's in the worker; cancelled while the worker vocodes
      // (with Griffin-Lim, which stops between iterations: the neural vocoder is done with 2 s before a cancel lands).
      const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: input }, targetVoiceId: 'flite-slt', models: [{ modelId: 'vae' }, { modelId: 'diffvc' }], vocoder: 'griffin-lim' });
      const stages: string[] = [];
      job.on('progress', (p) => {
        stages.push(`${p.modelId}:${p.stage}`);
        if (p.modelId === 'vae' && p.stage === 'vocoding') job.cancel(); // a stage only the worker reports
      });
      const result = await job.finished;
      expect(result.cancelled).toBe(true);
      expect(result.failures).toEqual([]);
      expect(result.lanes).toEqual([]);
      expect(stages).toContain('vae:cancelled');
      expect(stages).toContain('diffvc:cancelled');
    } finally {
      await engine.destroy();
    }
  }, 120_000);

  it('number one per further core by default, at most one; TIMBRE_LANE_WORKERS overrides and is checked', () => {
    expect(defaultLaneWorkers({ TIMBRE_LANE_WORKERS: '0' })).toBe(0);
    expect(defaultLaneWorkers({ TIMBRE_LANE_WORKERS: '2' })).toBe(2);
    expect(defaultLaneWorkers({})).toBeLessThanOrEqual(1);
    expect(() => defaultLaneWorkers({ TIMBRE_LANE_WORKERS: 'many' })).toThrow(/TIMBRE_LANE_WORKERS must be a whole number 0–16/);
  });
});

describe('engine info', () => {
  it('lists the vocoders: the neural one available and the default exactly when a model file is installed, else Griffin-Lim', async () => {
    const engine = createEngine({ home, laneWorkers: 0, speakerSimilarity: false });
    try {
      const { vocoders } = await engine.info();
      expect(vocoders.map((v) => v.id)).toEqual(['griffin-lim', 'neural']);
      const neural = vocoders[1]!;
      const installed = installedVocoderPath(home) !== undefined;
      expect(vocoders[0]).toMatchObject({ available: true, isDefault: !installed });
      expect(neural).toMatchObject({ available: installed, isDefault: installed });
      if (!neural.available) expect(neural.unavailableReason).toMatch(/timbre train vocoder/);
    } finally {
      await engine.destroy();
    }
  });
});
