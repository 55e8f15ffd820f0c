// The .timbre container: round trip, kind/version/feature-config refusal, truncation and bit-flip detection.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { f16round } from '@petamoriken/float16';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { TimbreInputError } from '../../src/audio/errors.js';
import { InvalidModelFileError, ModelMismatchError } from '../../src/nn/errors.js';
import { decodeModelFile, encodeModelFile, loadModelFile, saveModelFile, type ModelFileMetadata } from '../../src/nn/modelFile.js';
import { crc32 } from '../../src/io/crc32.js';

const dir = mkdtempSync(join(tmpdir(), 'timbre-modelfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const metadata: ModelFileMetadata = {
  kind: 'vae',
  kindVersion: 2,
  melConfig: MEL_CONFIG,
  hyperparameters: { latentDims: 16, channels: [64, 128] },
  speakers: ['alice', 'bob'],
  normalization: { mean: [0.5], std: [2] },
  trainingDataHash: 'abc123',
  validationMetrics: { mcd: 7.5 },
};
const weights = new Map([
  ['enc.weight', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
  ['enc.bias', { data: Float32Array.from([-1.5]), shape: [1] }],
  ['empty', { data: new Float32Array(0), shape: [0, 4] }],
]);

describe('model file', () => {
  it('round-trips weights and header fields', async () => {
    const path = join(dir, 'a.timbre');
    await saveModelFile(path, metadata, weights);
    const { header, weights: loaded } = await loadModelFile(path, { kind: 'vae', kindVersion: 2, melConfig: MEL_CONFIG });
    expect(header.format).toBe('timbre-model');
    expect(header.speakers).toEqual(['alice', 'bob']);
    expect(header.hyperparameters).toEqual(metadata.hyperparameters);
    expect(header.tensors.every((t) => t.offset % 64 === 0)).toBe(true);
    expect([...loaded.keys()]).toEqual(['enc.weight', 'enc.bias', 'empty']);
    expect([...loaded.get('enc.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(loaded.get('enc.weight')!.shape).toEqual([2, 3]);
    expect([...loaded.get('enc.bias')!.data]).toEqual([-1.5]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('stores float16 on request: values rounded to half precision, 2 bytes each, read back as float32', async () => {
    const path = join(dir, 'half.timbre');
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3 + 1e-3 * i);
    const big = new Map([['w', { data: values, shape: [10, 100] }]]);
    await saveModelFile(path, metadata, big, { overwrite: false, storage: 'float16' });
    const { header, weights: loaded } = await loadModelFile(path, { kind: 'vae', kindVersion: 2 });
    expect(header.tensors[0]!.dtype).toBe('float16');
    const got = loaded.get('w')!.data;
    expect(got).toBeInstanceOf(Float32Array);
    expect(Array.from(got)).toEqual(Array.from(values, (v) => f16round(v)));
    // Relative rounding error of float16: at most 2^-11.
    for (let i = 0; i < values.length; i++) expect(Math.abs(got[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 1e-7);
    const full = join(dir, 'full.timbre');
    await saveModelFile(full, metadata, big);
    expect(statSync(full).size - statSync(path).size).toBeGreaterThanOrEqual(1900);
  });

  it('refuses to store in float16 a value it cannot hold, naming the tensor, and reads no unknown dtype', async () => {
    for (const bad of [1e6, Number.NaN, Number.POSITIVE_INFINITY]) {
      const tensors = new Map([['ok', { data: Float32Array.from([1]), shape: [1] }], ['layer.scale', { data: Float32Array.from([0, bad]), shape: [2] }]]);
      expect(() => encodeModelFile(metadata, tensors, { storage: 'float16' })).toThrow(/"layer\.scale" holds a value float16 cannot store/);
    }
    // A header naming another dtype (a newer writer) is refused by name, not misread.
    const bytes = encodeModelFile(metadata, weights);
    const patched = new Uint8Array(bytes.length);
    patched.set(bytes);
    patched.set(new TextEncoder().encode('"dtype":"bfloat8"'), Buffer.from(bytes).indexOf('"dtype":"float32"'));
    new DataView(patched.buffer).setUint32(24, crc32(patched.subarray(32)), true); // a valid file, only the dtype is new
    expect(() => decodeModelFile(patched, 'patched.timbre')).toThrow(/tensor "enc\.weight" has dtype bfloat8; this build reads float32 and float16/);
  });

  it('refuses to overwrite unless asked', async () => {
    const path = join(dir, 'b.timbre');
    await saveModelFile(path, metadata, weights);
    await expect(saveModelFile(path, metadata, weights)).rejects.toThrow(/already exists/);
    await saveModelFile(path, { ...metadata, kindVersion: 3 }, weights, { overwrite: true });
    await expect(loadModelFile(path, { kind: 'vae', kindVersion: 3 })).resolves.toBeTruthy();
  });

  it('refuses another kind, version or feature config with ModelMismatchError naming the file', async () => {
    const path = join(dir, 'c.timbre');
    await saveModelFile(path, metadata, weights);
    const kind = loadModelFile(path, { kind: 'cycleGan', kindVersion: 2 });
    await expect(kind).rejects.toBeInstanceOf(ModelMismatchError);
    await expect(kind).rejects.toThrow(/c\.timbre.*kind is "vae", expected "cycleGan"/);
    await expect(loadModelFile(path, { kind: 'vae', kindVersion: 1 })).rejects.toThrow(/vae version is 2, expected 1/);
    const other = { ...MEL_CONFIG, hopSamples: 200 };
    const err = await loadModelFile(path, { kind: 'vae', kindVersion: 2, melConfig: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimbreInputError);
    expect((err as ModelMismatchError).code).toBe('MODEL_MISMATCH');
    expect((err as Error).message).toMatch(/feature config differs: hopSamples 256 \(expected 200\)/);
  });

  it('rejects a truncated file and flipped bytes with InvalidModelFileError', async () => {
    const path = join(dir, 'd.timbre');
    await saveModelFile(path, metadata, weights);
    const bytes = readFileSync(path);
    const expected = { kind: 'vae', kindVersion: 2 };
    for (const cut of [10, 40, bytes.length - 3]) {
      writeFileSync(join(dir, 'cut.timbre'), bytes.subarray(0, cut));
      await expect(loadModelFile(join(dir, 'cut.timbre'), expected)).rejects.toBeInstanceOf(InvalidModelFileError);
    }
    for (const at of [0, 40, 100, bytes.length - 5]) {
      const flipped = Buffer.from(bytes);
      flipped[at] = flipped[at]! ^ 0x10;
      writeFileSync(join(dir, 'flip.timbre'), flipped);
      await expect(loadModelFile(join(dir, 'flip.timbre'), expected)).rejects.toBeInstanceOf(InvalidModelFileError);
    }
    await expect(loadModelFile(join(dir, 'missing.timbre'), expected)).rejects.toThrow(/cannot read model file .*missing\.timbre/);
  });
});
