// WAV fuzzing (`npm run test:fuzz`): ≥ 2 000 seeded malformed or hostile WAV files through the decoder, the engine
// (conversion jobs), the CLI (`timbre convert`) and the web API (upload + job). Each ends in a correct result or a
// typed error whose message names the file and the problem; nothing crashes, hangs, or takes over 5 s.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimbreInputError } from '../../src/audio/errors.js';
import { decodeWav, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ } from '../../src/audio/wav.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { EngineError } from '../../src/engine/errors.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { prepareSource } from '../../src/engine/pipeline.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { timbre } from '../cli/helpers.js';
import { testPitchShiftConverter } from '../engine/testPitchShiftConverter.js';
import { writeTinyVae } from '../models/vaeFixtures.js';
import { wavFuzzCases, type WavCase } from './wavCases.js';

const CASES = wavFuzzCases();
const LIMIT_MS = 5000;
const dir = mkdtempSync(join(tmpdir(), 'timbre-fuzz-'));

/** Runs `fn`, returning how it ended and how long it took. */
async function outcome<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

/** A typed input error naming the source: anything else (TypeError, RangeError, a bare message) is a finding. */
function expectTypedError(c: WavCase, error: unknown, name: string): void {
  const typed = error instanceof TimbreInputError || error instanceof EngineError;
  if (!typed) throw new Error(`case ${c.name}: untyped ${String((error as Error)?.name)}: ${String((error as Error)?.message)}`);
  const message = (error as Error).message;
  expect(message.length, c.name).toBeGreaterThan(10);
  if (error instanceof TimbreInputError) expect(message, c.name).toContain(name);
}

describe(`WAV fuzzing: ${CASES.length} seeded cases`, () => {
  it('has at least 2 000 cases, deterministic for the seed', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(2000);
    const again = wavFuzzCases();
    expect(again.map((c) => c.name)).toEqual(CASES.map((c) => c.name));
    expect(Buffer.from(again[777]!.bytes).equals(Buffer.from(CASES[777]!.bytes))).toBe(true);
  });

  it('decodeWav: a valid result or a typed error naming the file, each within 5 s', async () => {
    let decoded = 0;
    for (const c of CASES) {
      const name = `fuzz-${c.name.split(':')[0]}.wav`;
      const r = await outcome(() => decodeWav(c.bytes, { sourceName: name }));
      expect(r.ms, c.name).toBeLessThan(LIMIT_MS);
      if (r.error !== undefined) {
        expectTypedError(c, r.error, name);
        continue;
      }
      decoded++;
      const audio = r.value!;
      expect(audio.samples.length, c.name).toBeGreaterThan(0);
      expect(audio.sampleRateHz, c.name).toBeGreaterThanOrEqual(MIN_SAMPLE_RATE_HZ);
      expect(audio.sampleRateHz, c.name).toBeLessThanOrEqual(MAX_SAMPLE_RATE_HZ);
      for (const v of audio.samples) if (!(v >= -1 && v <= 1)) throw new Error(`case ${c.name}: sample ${v} outside [-1, 1]`);
    }
    // Valid files and tolerable damage (lying sizes, junk chunks) decode: the suite is not all refusals.
    expect(decoded).toBeGreaterThan(300);
  }, 300_000);

  it('the engine pipeline (decode → resample → log-mel): a source or a typed error, each within 5 s', async () => {
    for (const c of CASES) {
      const r = await outcome(() => prepareSource(c.bytes, { sourceName: 'upload.wav', maxDurationSeconds: 600 }));
      expect(r.ms, c.name).toBeLessThan(LIMIT_MS);
      if (r.error !== undefined) expectTypedError(c, r.error, 'upload.wav');
      else expect(r.value!.logMel.data.every(Number.isFinite), c.name).toBe(true);
    }
  }, 300_000);
});

describe('WAV fuzzing through the engine, the CLI and the web API', () => {
  let engine: Engine;
  let server: RunningServer;
  const model = join(dir, 'tiny-vae.timbre');
  const previousHome = process.env.TIMBRE_HOME;
  // Every 10th case through whole conversions (each runs a model and a vocoder).
  const sample = CASES.filter((_, i) => i % 10 === 0);

  beforeAll(async () => {
    process.env.TIMBRE_HOME = join(dir, 'home');
    await writeTinyVae(model);
    const registry = new ModelRegistry({ searchDirs: [], registered: [{ id: 'same', converter: testPitchShiftConverter({ semitones: 0 }) }] });
    engine = createEngine({ registry, voiceSource: createVoiceSource([{ id: 'test-voice', label: 'Test', kind: 'test', hasPreview: false }], { useVoicesModule: false }), allowPaths: false, speakerSimilarity: false });
    server = await startServer({ engine, uiDir: join(dir, 'no-ui'), maxUploadBytes: 40_000_000 });
  });
  afterAll(async () => {
    await server?.close();
    await engine?.destroy();
    if (previousHome === undefined) delete process.env.TIMBRE_HOME;
    else process.env.TIMBRE_HOME = previousHome;
    rmSync(dir, { recursive: true, force: true });
  });

  it(`engine.convert: ${sample.length} cases end in a result or a typed error, none over 5 s`, async () => {
    let converted = 0;
    for (const c of sample) {
      const r = await outcome(async () => (await engine.convert({ input: { kind: 'wav-bytes', bytes: c.bytes, name: 'in.wav' }, targetVoiceId: 'test-voice', models: [{ modelId: 'same' }], griffinLimIterations: 2 })).finished);
      expect(r.ms, c.name).toBeLessThan(LIMIT_MS);
      if (r.error !== undefined) expectTypedError(c, r.error, 'in.wav');
      else {
        expect(r.value!.failures, c.name).toEqual([]);
        converted++;
      }
    }
    expect(converted).toBeGreaterThan(10);
  }, 600_000);

  // Every 40th case, plus the first ten valid files long enough (≥ 0.25 s) to convert.
  const cliCases = [...sample.filter((_, i) => i % 4 === 0), ...CASES.filter((c) => c.name.includes(':valid ') && decodeWav(c.bytes).durationSeconds >= 0.3).slice(0, 10)];
  it(`timbre convert: ${cliCases.length} cases exit 0 or 2 with a one-line error`, async () => {
    let converted = 0;
    for (const c of cliCases) {
      const input = join(dir, 'in.wav');
      writeFileSync(input, c.bytes);
      const run = await timbre('convert', input, '--to', 'voice-a', '--model', model, '-o', join(dir, 'out.wav'), '--force');
      expect([0, 2], `${c.name}: ${run.stderr}`).toContain(run.code);
      if (run.code === 2) expect(run.stderr, c.name).toMatch(/^error: .*in\.wav/);
      else converted++;
    }
    expect(converted).toBeGreaterThanOrEqual(10);
  }, 600_000);

  it(`web API: ${sample.length} uploads answered 201 then a job result or a typed error, never 500`, async () => {
    const headers = { 'X-Timbre-Token': server.token };
    for (const c of sample) {
      const upload = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...headers, 'Content-Type': 'audio/wav', 'X-Timbre-File-Name': 'up.wav' }, body: c.bytes });
      expect([201, 400], c.name).toContain(upload.status);
      if (upload.status !== 201) continue;
      const { inputId } = (await upload.json()) as { inputId: string };
      const job = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ inputId, targetVoiceId: 'test-voice', models: [{ modelId: 'same' }], griffinLimIterations: 2 }) });
      expect(job.status, `${c.name}: ${await job.clone().text()}`).toBeLessThan(500);
      const body = (await job.json()) as { error?: { code: string; message: string }; jobId?: string };
      if (job.status >= 400) expect(body.error?.message, c.name).toMatch(/up\.wav|upload|WAV|audio/i);
    }
  }, 600_000);
});
