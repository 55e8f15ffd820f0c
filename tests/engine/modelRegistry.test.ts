import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { familyOfKind, ModelRegistry, readModelFileSummary } from '../../src/engine/modelRegistry.js';
import { encodeModelFile } from '../../src/nn/modelFile.js';
import { testPitchShiftConverter } from './testPitchShiftConverter.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function modelFolder(kind: string, extra: Record<string, string | string[]> = {}): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'timbre-models-'));
  await mkdir(join(dir, 'my-model'));
  const bytes = encodeModelFile(
    { kind, kindVersion: 1, melConfig: MEL_CONFIG, hyperparameters: {}, speakers: [], normalization: null, trainingDataHash: 'x', validationMetrics: {}, extra },
    new Map([['w', { data: new Float32Array([1, 2]), shape: [2] }]]),
  );
  await writeFile(join(dir, 'my-model', 'model.timbre'), bytes);
  await writeFile(join(dir, 'my-model', 'card.md'), '# card');
  return dir;
}

describe('model registry', () => {
  it('maps model-file kinds to families and ignores other kinds', () => {
    expect(familyOfKind('cycleGan')).toBe('cyclegan');
    expect(familyOfKind('diffVc')).toBe('diffvc');
    expect(familyOfKind('cycleDiffusion')).toBe('cyclediffusion');
    expect(familyOfKind('vocoder')).toBeNull();
    expect(familyOfKind('checkpoint:vae')).toBeNull();
  });

  it('reads only the header of a .timbre file', async () => {
    const folder = await modelFolder('diffVc', { label: 'DiffVC (test)', targetVoices: ['*'] });
    expect(await readModelFileSummary(join(folder, 'my-model', 'model.timbre'))).toEqual({ kind: 'diffVc', label: 'DiffVC (test)', targetVoices: ['*'] });
    expect(await readModelFileSummary(join(folder, 'my-model', 'card.md'))).toBeNull();
  });

  it('lists a found model as unavailable while its family code does not exist, naming the file', async () => {
    const folder = await modelFolder('vae');
    const registry = new ModelRegistry({ searchDirs: [{ dir: folder, origin: 'shipped' }], loaders: { vae: null } });
    const vae = (await registry.list()).find((m) => m.family === 'vae')!;
    expect(vae.available).toBe(false);
    expect(vae.unavailableReason).toMatch(/my-model.*not implemented yet/);
    await expect(registry.converter('vae')).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
    await expect(registry.converter('nope')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('loads a found model through its family loader once and disposes it', async () => {
    const folder = await modelFolder('cycleGan', { targetVoices: ['flite-slt'] });
    const converter = testPitchShiftConverter({ family: 'cyclegan', targetVoices: ['flite-slt'] });
    const loaded: string[] = [];
    const registry = new ModelRegistry({
      searchDirs: [{ dir: folder, origin: 'user' }],
      loaders: { cyclegan: async (path) => (loaded.push(path), converter) },
    });
    const info = (await registry.list()).find((m) => m.family === 'cyclegan')!;
    expect(info).toMatchObject({ id: 'user/my-model', available: true, origin: 'user', targetVoices: ['flite-slt'] });
    expect(await registry.converter('user/my-model')).toBe(converter);
    expect(await registry.converter('user/my-model')).toBe(converter);
    expect(loaded).toEqual([join(folder, 'my-model', 'model.timbre')]);
    await registry.dispose();
    expect(converter.disposed).toBe(true);
  });

  it('treats missing search folders as empty', async () => {
    const registry = new ModelRegistry({ searchDirs: [{ dir: '/nonexistent/timbre', origin: 'shipped' }] });
    expect((await registry.list()).every((m) => !m.available)).toBe(true);
  });
});
