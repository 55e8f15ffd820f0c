// The one list of model families: the engine's families, trainers and eval models all come from it, in its order,
// and every conversion family's convert.ts exports what the engine and eval call.

import { describe, expect, it } from 'vitest';
import { FAMILIES, FAMILY_LABELS, settingsOf } from '../../src/engine/modelRegistry.js';
import { TRAINER_NAMES, TRAINERS } from '../../src/engine/trainers.js';
import { evalSystemNames } from '../../src/eval/registry.js';
import { MODEL_FAMILIES } from '../../src/models/converter.js';
import { CONVERSION_FAMILIES, FAMILY_ENTRIES } from '../../src/models/registry.js';

describe('model family registry', () => {
  it('lists every trainer, conversion family and eval model the engine, CLI and eval offer', () => {
    expect(TRAINER_NAMES).toEqual(['speaker-encoder', 'vae', 'cyclegan', 'diffvc', 'cyclediffusion', 'vocoder']);
    expect(FAMILY_ENTRIES.map((e) => e.name)).toEqual(TRAINER_NAMES);
    expect(TRAINERS.cyclegan).toBe(FAMILY_ENTRIES.find((e) => e.name === 'cyclegan')!.trainer);
    expect(CONVERSION_FAMILIES).toEqual([...MODEL_FAMILIES]);
    expect(FAMILIES).toEqual(['vae', 'cyclegan', 'diffvc', 'cyclediffusion']);
    expect(FAMILY_LABELS).toEqual({ vae: 'VAE', cyclegan: 'CycleGAN-VC', diffvc: 'DiffVC', cyclediffusion: 'CycleDiffusion' });
    expect(settingsOf('diffvc').map((s) => s.key)).toEqual(['steps', 'solver', 'pitchShiftSemitones', 'keepSourcePitch']);
    expect(settingsOf('cyclegan').map((s) => s.key)).toEqual(['pitchShiftSemitones', 'keepSourcePitch']);
    expect(evalSystemNames()).toEqual(['vae', 'cyclegan', 'diffvc', 'cyclediffusion', 'identity', 'vocoded-target']);
  });

  it("loads each conversion family's convert.ts with its loadMelConverter and loadEvalConverter", async () => {
    for (const entry of FAMILY_ENTRIES.filter((e) => e.family !== null)) {
      const module = await entry.convert!();
      expect(typeof module.loadMelConverter, entry.name).toBe('function');
      expect(typeof module.loadEvalConverter, entry.name).toBe('function');
    }
  });
});
