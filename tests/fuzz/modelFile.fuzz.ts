// Model-file fuzzing (`npm run test:fuzz`): ≥ 200 malformed `.timbre` files per family (a tiny VAE and a tiny DiffVC)
// through the loader the engine and CLI use, the model registry's scan (the web API's model list), and
// `timbre convert --model FILE`: a working converter or a typed error naming the file; no crash, nothing over 5 s,
// and no allocation of a declared size the file does not hold.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimbreInputError } from '../../src/audio/errors.js';
import { createEngine } from '../../src/engine/engine.js';
import { loadConverterFile, ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { startServer } from '../../src/server/server.js';
import { timbre } from '../cli/helpers.js';
import { writeTinyDiffVc } from '../models/diffVcFixtures.js';
import { writeTinyVae } from '../models/vaeFixtures.js';
import { modelFileFuzzCases, type ModelFileCase } from './modelFileCases.js';

const dir = mkdtempSync(join(tmpdir(), 'timbre-model-fuzz-'));
const LIMIT_MS = 5000;
const families: { name: string; write: (path: string) => Promise<void>; voice: string }[] = [
  { name: 'vae', write: (p) => writeTinyVae(p), voice: 'voice-a' },
  { name: 'diffvc', write: (p) => writeTinyDiffVc(p), voice: 'voice-a' },
];
const cases = new Map<string, ModelFileCase[]>();

beforeAll(async () => {
  for (const f of families) {
    const path = join(dir, `${f.name}.timbre`);
    await f.write(path);
    cases.set(f.name, modelFileFuzzCases(new Uint8Array(readFileSync(path))));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mel = { frames: 24, mels: 80, data: new Float32Array(24 * 80).fill(-5) };

describe('model-file fuzzing', () => {
  for (const family of families) {
    it(`${family.name}: ≥ 200 malformed files load into a working converter or fail with a typed error naming the file`, async () => {
      const list = cases.get(family.name)!;
      expect(list.length).toBeGreaterThanOrEqual(200);
      const heapBefore = process.memoryUsage().arrayBuffers;
      let refused = 0;
      for (const c of list) {
        const path = join(dir, `${family.name}-case.timbre`);
        writeFileSync(path, c.bytes);
        const t0 = performance.now();
        try {
          const converter = await loadConverterFile(path);
          try {
            await converter.convert(mel, { voiceId: family.voice }, { settings: { steps: 1 } });
          } catch (error) {
            if (!(error instanceof TimbreInputError)) throw new Error(`case ${c.name}: loaded, then convert threw untyped ${String(error)}`);
          } finally {
            converter.dispose();
          }
        } catch (error) {
          if (!(error instanceof TimbreInputError)) throw new Error(`case ${c.name}: untyped ${(error as Error)?.name}: ${(error as Error)?.message}`);
          expect((error as Error).message, c.name).toContain(path);
          refused++;
        }
        expect(performance.now() - t0, c.name).toBeLessThan(LIMIT_MS);
      }
      // Nearly every case is damage that must be refused; none left a large buffer behind.
      expect(refused).toBeGreaterThan(list.length * 0.8);
      expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(200e6);
    }, 300_000);
  }

  it('the registry (and the web API\'s model list) skips broken files and still lists the good ones', async () => {
    const models = join(dir, 'models');
    for (const [name, list] of cases) {
      for (const c of list.filter((_, i) => i % 10 === 0)) {
        const folder = join(models, `${name}-${c.name.split(':')[0]}`);
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'model.timbre'), c.bytes);
      }
    }
    mkdirSync(join(models, 'good-vae'), { recursive: true });
    await writeTinyVae(join(models, 'good-vae', 'model.timbre'));
    const registry = new ModelRegistry({ searchDirs: [{ dir: models, origin: 'user' }] });
    const engine = createEngine({ registry, voiceSource: createVoiceSource([{ id: 'voice-a', label: 'A', kind: 'test', hasPreview: false }], { useVoicesModule: false }), speakerSimilarity: false, allowPaths: false });
    const server = await startServer({ engine, uiDir: join(dir, 'no-ui') });
    try {
      const response = await fetch(`${server.origin}/api/models`, { headers: { 'X-Timbre-Token': server.token } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; available: boolean }[] | { models: { id: string; available: boolean }[] };
      const list = Array.isArray(body) ? body : body.models;
      expect(list.find((m) => m.id === 'user/good-vae')?.available).toBe(true);
      // A broken file that lists is refused when used, by name, without taking the server down.
      for (const m of list.filter((x) => x.available && x.id !== 'user/good-vae')) {
        await registry.converter(m.id).then(
          (c) => c.dispose(),
          (error: unknown) => expect(error).toBeInstanceOf(TimbreInputError),
        );
      }
    } finally {
      await server.close();
      await engine.destroy();
    }
  }, 120_000);

  it('timbre convert --model FILE: every 8th case exits 0 or 2 with a one-line error', async () => {
    const input = join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-w', input, 'Fuzzing the model files.']);
    const previous = process.env.TIMBRE_HOME;
    process.env.TIMBRE_HOME = join(dir, 'home');
    try {
      for (const [name, list] of cases) {
        for (const c of list.filter((_, i) => i % 8 === 0)) {
          const path = join(dir, `cli-${name}.timbre`);
          writeFileSync(path, c.bytes);
          const run = await timbre('convert', input, '--to', 'voice-a', '--model', path, '-o', join(dir, 'out.wav'), '--force', '--steps', '1');
          expect([0, 2], `${c.name}: ${run.stderr}`).toContain(run.code);
          if (run.code === 2) expect(run.stderr, c.name).toMatch(/^error: /);
        }
      }
    } finally {
      if (previous === undefined) delete process.env.TIMBRE_HOME;
      else process.env.TIMBRE_HOME = previous;
    }
  }, 300_000);
});
