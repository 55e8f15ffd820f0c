import { afterEach, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import type { ConversionJob, LaneResult } from '../../src/engine/api.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { cancellableGriffinLimVocoder } from '../../src/engine/pipeline.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { griffinLimVocoder } from '../../src/audio/griffinLim.js';
import { medianF0Hz, prepareSource } from '../../src/engine/pipeline.js';
import { harmonicToneWav } from './fixtures.js';
import { testPitchShiftConverter } from './testPitchShiftConverter.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';

const VOICE = { id: 'test-voice', label: 'Test voice', kind: 'test' as const, hasPreview: true, previewWav: harmonicToneWav({ seconds: 0.2 }) };

function makeEngine(options: { stepDelayMs?: number } = {}): { engine: Engine; up: ReturnType<typeof testPitchShiftConverter>; down: ReturnType<typeof testPitchShiftConverter> } {
  const up = testPitchShiftConverter({ family: 'vae', semitones: 4, stepDelayMs: options.stepDelayMs });
  const down = testPitchShiftConverter({ family: 'cyclegan', semitones: -3, stepDelayMs: options.stepDelayMs });
  const registry = new ModelRegistry({ searchDirs: [], registered: [{ id: 'stand-in-up', converter: up }, { id: 'stand-in-down', converter: down }] });
  const engine = createEngine({ registry, voiceSource: createVoiceSource([VOICE], { useVoicesModule: false }) });
  return { engine, up, down };
}

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.destroy();
  engine = undefined;
});

describe('engine', () => {
  it('lists the registered stand-ins as available and the other families disabled with a reason', async () => {
    ({ engine } = makeEngine());
    const models = await engine.listModels();
    expect(models.map((m) => m.id)).toEqual(['stand-in-up', 'stand-in-down', 'diffvc', 'cyclediffusion']);
    const diffvc = models.find((m) => m.id === 'diffvc')!;
    expect(diffvc.available).toBe(false);
    expect(diffvc.unavailableReason).toMatch(/no trained DiffVC model/);
    expect(diffvc.settings.map((s) => s.key)).toEqual(['steps', 'solver', 'pitchShiftSemitones', 'keepSourcePitch']);
  });

  it('converts one input with two models: one lane each, valid WAVs at 22 050 Hz that differ from the source', async () => {
    ({ engine } = makeEngine());
    const job = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ f0Hz: 150, seconds: 1 }) },
      targetVoiceId: 'test-voice',
      models: [{ modelId: 'stand-in-up' }, { modelId: 'stand-in-down' }],
      griffinLimIterations: 8,
    });
    const lanes: LaneResult[] = [];
    const stages: string[] = [];
    job.on('lane', (lane) => lanes.push(lane));
    job.on('progress', (p) => stages.push(`${p.modelId}:${p.stage}`));
    const result = await job.finished;
    expect(result.cancelled).toBe(false);
    expect(result.failures).toEqual([]);
    expect(lanes.map((l) => l.modelId)).toEqual(['stand-in-up', 'stand-in-down']);
    expect(stages).toContain('stand-in-up:vocoding');
    expect(stages).toContain('stand-in-down:done');
    const source = decodeWav(result.source.wav);
    expect(source.sampleRateHz).toBe(22050);
    expect(result.source.originalSampleRateHz).toBe(16000);
    for (const lane of lanes) {
      const audio = decodeWav(lane.wav);
      expect(audio.sampleRateHz).toBe(22050);
      expect(Math.abs(audio.samples.length - source.samples.length)).toBeLessThan(512);
      expect(lane.realTimeFactor).toBeGreaterThan(0);
      expect(lane.speakerSimilarity).toBeUndefined();
      let diff = 0;
      for (let i = 0; i < Math.min(audio.samples.length, source.samples.length); i++) diff += Math.abs(audio.samples[i]! - source.samples[i]!);
      expect(diff / audio.samples.length).toBeGreaterThan(0.01);
    }
    // The F0 moves by the stand-in's shift (±10 %): +4 st → ×1.26, −3 st → ×0.84.
    expect(result.source.f0MedianHz).toBeCloseTo(150, -1);
    expect(lanes[0]!.f0MedianHz! / 150).toBeGreaterThan(1.26 * 0.9);
    expect(lanes[0]!.f0MedianHz! / 150).toBeLessThan(1.26 * 1.1);
    expect(lanes[1]!.f0MedianHz! / 150).toBeGreaterThan(0.84 * 0.9);
    expect(lanes[1]!.f0MedianHz! / 150).toBeLessThan(0.84 * 1.1);
  });

  it('applies the pitch-shift setting after the model', async () => {
    ({ engine } = makeEngine());
    const job = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ f0Hz: 150, seconds: 0.6 }) },
      targetVoiceId: 'test-voice',
      models: [{ modelId: 'stand-in-up', settings: { pitchShiftSemitones: -4 } }],
      griffinLimIterations: 8,
    });
    const result = await job.finished;
    expect(result.lanes[0]!.f0MedianHz! / 150).toBeGreaterThan(0.9);
    expect(result.lanes[0]!.f0MedianHz! / 150).toBeLessThan(1.1);
  });

  it('keeps the source pitch when asked, then applies the shift', async () => {
    ({ engine } = makeEngine());
    const job = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ f0Hz: 150, seconds: 0.6 }) },
      targetVoiceId: 'test-voice',
      models: [
        { modelId: 'stand-in-up', settings: { keepSourcePitch: true } },
        { modelId: 'stand-in-down', settings: { keepSourcePitch: true, pitchShiftSemitones: 2 } },
      ],
      griffinLimIterations: 8,
    });
    const [kept, shifted] = (await job.finished).lanes;
    expect(kept!.f0MedianHz! / 150).toBeGreaterThan(0.95); // +4 st undone
    expect(kept!.f0MedianHz! / 150).toBeLessThan(1.05);
    expect(shifted!.f0MedianHz! / 150).toBeGreaterThan(1.12 * 0.95); // −3 st undone, then +2 st
    expect(shifted!.f0MedianHz! / 150).toBeLessThan(1.12 * 1.05);
    await expect(
      engine.convert({ input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.3 }) }, targetVoiceId: 'test-voice', models: [{ modelId: 'stand-in-up', settings: { keepSourcePitch: 'yes' } as never }] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'models[0].settings.keepSourcePitch' });
  });

  it('refuses bad arguments before any work, with codes and fields', async () => {
    ({ engine } = makeEngine());
    const wav = harmonicToneWav({ seconds: 0.3 });
    const attempt = (request: unknown) => engine!.convert(request as never).then(() => 'no error', (e: { code: string; field?: string; message: string }) => e);
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'nobody' })).resolves.toMatchObject({ code: 'VOICE_NOT_FOUND', field: 'targetVoiceId' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', models: [{ modelId: 'nope' }] })).resolves.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', models: [{ modelId: 'diffvc' }] })).resolves.toMatchObject({ code: 'MODEL_UNAVAILABLE', field: 'models[0].modelId' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', models: [{ modelId: 'stand-in-up', settings: { steps: 6 } }] })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'models[0].settings.steps' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', models: [{ modelId: 'stand-in-up', settings: { pitchShiftSemitones: 40 } }] })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: new Uint8Array(0) }, targetVoiceId: 'test-voice' })).resolves.toMatchObject({ code: 'INVALID_AUDIO' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: new TextEncoder().encode('hello, not a wav file at all') }, targetVoiceId: 'test-voice' })).resolves.toMatchObject({ code: 'NOT_WAV' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: '../etc' })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', extra: 1 })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'request.extra' });
    await expect(attempt(null)).resolves.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(attempt({ input: { kind: 'wav-bytes', bytes: wav }, targetVoiceId: 'test-voice', vocoder: 'wavenet' })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'vocoder' });
  });

  it('cancels between lanes: finished resolves with cancelled and the lanes done so far', async () => {
    const made = makeEngine({ stepDelayMs: 40 });
    engine = made.engine;
    const job: ConversionJob = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.3 }) },
      targetVoiceId: 'test-voice',
      models: [{ modelId: 'stand-in-up' }, { modelId: 'stand-in-down' }],
      griffinLimIterations: 4,
    });
    job.on('lane', () => job.cancel());
    const result = await job.finished;
    expect(result.cancelled).toBe(true);
    expect(result.lanes).toHaveLength(1);
    expect(made.down.calls).toBeLessThanOrEqual(1);
  });

  it('cancels within a lane: the converting lane stops, reports cancelled (not an error), the next never starts', async () => {
    const made = makeEngine({ stepDelayMs: 100 });
    engine = made.engine;
    const job = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.3 }) },
      targetVoiceId: 'test-voice',
      models: [{ modelId: 'stand-in-up' }, { modelId: 'stand-in-down' }],
      griffinLimIterations: 4,
    });
    const stages: string[] = [];
    const laneErrors: unknown[] = [];
    let converted = 0;
    job.on('laneError', (failure) => laneErrors.push(failure));
    job.on('progress', (p) => {
      stages.push(`${p.modelId}:${p.stage}`);
      if (p.modelId === 'stand-in-up' && p.stage === 'converting') converted = Math.max(converted, p.fraction);
      if (p.modelId === 'stand-in-up' && p.stage === 'converting' && p.fraction > 0) job.cancel(); // step 1 of the stand-in's 4
    });
    const result = await job.finished;
    expect(result.cancelled).toBe(true);
    expect(result.lanes).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(laneErrors).toEqual([]);
    expect(converted).toBeLessThan(0.3); // stopped at its next step, not after its 4 steps (0.6)
    expect(stages).not.toContain('stand-in-up:vocoding');
    expect(stages).toContain('stand-in-up:cancelled');
    expect(stages).toContain('stand-in-down:cancelled');
    expect(made.up.calls).toBe(1);
    expect(made.down.calls).toBe(0);
  });

  it('cancels while the default Griffin-Lim vocodes: it stops between iterations instead of finishing', async () => {
    const made = makeEngine();
    engine = made.engine;
    const job = await engine.convert({
      input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 10 }) },
      targetVoiceId: 'test-voice',
      models: [{ modelId: 'stand-in-up' }],
      griffinLimIterations: 200, // seconds of work on 10 s of audio
    });
    let vocodingAtMs = 0;
    const stages: string[] = [];
    job.on('progress', (p) => {
      stages.push(p.stage);
      if (p.stage === 'vocoding') {
        vocodingAtMs = performance.now();
        setTimeout(() => job.cancel(), 30); // fires only if the vocoder returns to the event loop
      }
    });
    const result = await job.finished;
    const vocodingMs = performance.now() - vocodingAtMs;
    expect(result.cancelled).toBe(true);
    expect(result.lanes).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(stages).not.toContain('measuring');
    expect(stages[stages.length - 1]).toBe('cancelled');
    expect(vocodingMs).toBeLessThan(1500);
  });

  it('the engine\'s Griffin-Lim vocoder gives griffinLimVocoder\'s samples, and rejects once its signal aborts mid-way', async () => {
    const { logMel, speech } = prepareSource(harmonicToneWav({ seconds: 0.5 }), { maxDurationSeconds: 10 });
    const expected = await griffinLimVocoder(8)(logMel, { lengthSamples: speech.length });
    const actual = await cancellableGriffinLimVocoder(8)(logMel, { lengthSamples: speech.length });
    expect(Array.from(actual)).toEqual(Array.from(expected));

    const long = prepareSource(harmonicToneWav({ seconds: 10 }), { maxDurationSeconds: 20 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(cancellableGriffinLimVocoder(200)(long.logMel, { lengthSamples: long.speech.length, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('exports one lane as WAV, all lanes as a zip with metrics.json, and a self-contained report', async () => {
    ({ engine } = makeEngine());
    const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.4 }) }, targetVoiceId: 'test-voice', griffinLimIterations: 4 });
    const result = await job.finished;
    expect(result.lanes).toHaveLength(2); // omitted models = every available model
    const wav = await engine.exportLanes({ jobId: job.id, laneIds: [result.lanes[1]!.laneId], format: 'wav' });
    expect(wav.fileName).toMatch(/^timbre-test-voice-stand-in-down-1\.wav$/);
    expect(decodeWav(wav.bytes).sampleRateHz).toBe(22050);
    const zip = await engine.exportLanes({ jobId: job.id, format: 'zip' });
    const text = new TextDecoder('latin1').decode(zip.bytes);
    expect(text).toContain('timbre-test-voice-source.wav');
    expect(text).toContain('metrics.json');
    expect(zip.bytes.subarray(0, 4)).toEqual(new Uint8Array([0x50, 0x4b, 3, 4]));
    const report = new TextDecoder().decode((await engine.exportLanes({ jobId: job.id, format: 'report' })).bytes);
    expect(report).toContain('<svg');
    expect(report).toContain('data:image/png;base64,');
    expect(report).not.toMatch(/src="https?:/);
    await expect(engine.exportLanes({ jobId: job.id, format: 'wav' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(engine.exportLanes({ jobId: 'job-none', format: 'zip' })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('drops every listener on destroy and after pruning old jobs', async () => {
    ({ engine } = makeEngine());
    const job = await engine.convert({ input: { kind: 'wav-bytes', bytes: harmonicToneWav({ seconds: 0.2 }) }, targetVoiceId: 'test-voice', griffinLimIterations: 2 });
    const off = job.on('progress', () => {});
    job.on('lane', () => {});
    off();
    job.destroy();
    await job.finished;
    const lanes: unknown[] = [];
    job.on('lane', (l) => lanes.push(l)); // late listener: nothing more is emitted
    expect(lanes).toEqual([]);
  });

  it('voice previews come from the voice source', async () => {
    ({ engine } = makeEngine());
    const preview = await engine.voicePreview('test-voice');
    expect(preview.mimeType).toBe('audio/wav');
    await expect(engine.voicePreview('unknown-voice')).rejects.toMatchObject({ code: 'VOICE_NOT_FOUND' });
  });

  it('medianF0Hz is null for silence', () => {
    expect(medianF0Hz(new Float32Array(22050))).toBeNull();
  });
});
