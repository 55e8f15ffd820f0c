// The engine's training API on a 3-voice × 3-sentence corpus with the tiny presets: argument validation,
// a run to completion whose model then lists, cancel → checkpoint → resume, user voices and VAE fine-tuning.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import type { TrainingJobEvents, TrainingProgress, TrainRequest } from '../../src/engine/api.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { TEST_VOICES } from '../corpus/render.js';
import { harmonicToneWav } from './fixtures.js';
import { speakReading } from '../fixtures/reading.js';

let home: string;
let engine: Engine;
let speech: Uint8Array;

beforeAll(async () => {
  process.env.TIMBRE_BACKEND ??= 'wasm';
  home = await mkdtemp(join(tmpdir(), 'timbre-engine-train-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
  speech = new Uint8Array(readFileSync(speakReading(join(home, 'speech.wav'), { rate: 120, sentences: 4 })));
  engine = createEngine({ home, speakerSimilarity: false });
}, 60_000);

afterAll(async () => {
  await engine.destroy();
  await rm(home, { recursive: true, force: true });
});

const attempt = (request: unknown) => engine.train(request as TrainRequest).then(() => 'no error', (e: { code: string; field?: string; message: string }) => e);

/** Runs a job to its end, collecting every event. */
async function collect(request: TrainRequest, onProgress?: (p: TrainingProgress, cancel: () => void) => void) {
  const job = await engine.train(request);
  const events: { [E in keyof TrainingJobEvents]?: TrainingJobEvents[E][0][] } = {};
  for (const name of ['start', 'progress', 'validation', 'checkpoint', 'done', 'cancelled', 'error'] as const) {
    job.on(name, (arg: never) => ((events[name] ??= [] as never[]) as unknown[]).push(arg));
  }
  if (onProgress) job.on('progress', (p) => onProgress(p, () => job.cancel()));
  const outcome = await job.finished;
  job.destroy();
  return { outcome, events };
}

describe('engine training', () => {
  it('lists the same trainers as `timbre train`', async () => {
    const trainers = await engine.listTrainers();
    expect(trainers.map((t) => t.name)).toEqual(['speaker-encoder', 'vae', 'cyclegan', 'diffvc', 'cyclediffusion', 'vocoder']);
    expect(trainers.find((t) => t.name === 'cyclegan')!.pairwise).toBe(true);
  });

  it('refuses bad requests before any work, naming the field', async () => {
    await expect(attempt({ target: { kind: 'model', model: 'no-such-model' } })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'target.model' });
    await expect(attempt({ target: { kind: 'model', model: 'cyclegan' } })).resolves.toMatchObject({ field: 'target.model' });
    await expect(attempt({ target: { kind: 'model', model: 'vae' }, steps: 0 })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'steps' });
    await expect(attempt({ target: { kind: 'model', model: 'vae' }, batchSize: 10_000 })).resolves.toMatchObject({ field: 'batchSize' });
    await expect(attempt({ target: { kind: 'model', model: 'vae' }, epochs: 3 })).resolves.toMatchObject({ field: 'request.epochs' });
    await expect(attempt({ target: { kind: 'vae-add-voice', voice: 'nobody' } })).resolves.toMatchObject({ code: 'VOICE_NOT_FOUND', field: 'target.voice' });
    await expect(attempt({ target: { kind: 'vae-add-voice', voice: 'flite-slt' } })).resolves.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'target.voice' });
    await expect(attempt({ target: { kind: 'cyclegan-pair', from: 'any', to: 'nobody' } })).resolves.toMatchObject({ code: 'VOICE_NOT_FOUND', field: 'target.to' });
    await expect(attempt({ target: { kind: 'cyclegan-pair', from: 'flite-slt', to: 'flite-slt' } })).resolves.toMatchObject({ field: 'target.from' });
    await expect(attempt({ target: { kind: 'train' } })).resolves.toMatchObject({ field: 'target.kind' });
  });

  it('trains the tiny VAE to completion; the model then lists as user/vae and is not overwritten silently', async () => {
    const { outcome, events } = await collect({ target: { kind: 'model', model: 'vae' }, preset: 'tiny', steps: 3, batchSize: 2 });
    expect(outcome.kind).toBe('done');
    expect(events.start![0]).toMatchObject({ name: 'vae', startStep: 0, totalSteps: 3, resumed: false });
    const last = events.progress!.at(-1)!;
    expect(last).toMatchObject({ step: 3, totalSteps: 3 });
    expect(Object.keys(last.losses)[0]).toBe('total');
    expect(Number.isFinite(last.stepsPerSecond)).toBe(true);
    expect(events.done![0]).toMatchObject({ modelId: 'user/vae', steps: 3 });
    expect(existsSync(events.done![0]!.modelPath)).toBe(true);
    const model = (await engine.listModels()).find((m) => m.id === 'user/vae');
    expect(model).toMatchObject({ available: true, family: 'vae', origin: 'user' });
    expect([...model!.targetVoices].sort()).toEqual([...TEST_VOICES].sort());
    await expect(attempt({ target: { kind: 'model', model: 'vae' }, preset: 'tiny', steps: 3, batchSize: 2 })).resolves.toMatchObject({ code: 'OUTPUT_EXISTS', field: 'overwrite' });
  }, 120_000);

  it('cancel stops after the current step with a checkpoint; the same request resumes from it', async () => {
    const request: TrainRequest = { target: { kind: 'model', model: 'speaker-encoder' }, preset: 'tiny', steps: 40, batchSize: 4, checkpointEvery: 1000 };
    const first = await collect(request, (p, cancel) => p.step >= 2 && cancel());
    expect(first.outcome.kind).toBe('cancelled');
    const stoppedAt = first.events.cancelled![0]!.step;
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(40);
    expect(first.events.checkpoint!.at(-1)!.step).toBe(stoppedAt);
    expect(existsSync(join(home, 'checkpoints', 'speaker-encoder', 'checkpoint.timbre'))).toBe(true);
    await expect(attempt({ ...request, steps: 41 })).resolves.toMatchObject({ code: 'CHECKPOINT_MISMATCH', field: 'steps' });

    const second = await collect(request);
    expect(second.events.start![0]).toMatchObject({ startStep: stoppedAt, resumed: true });
    expect(second.events.progress![0]!.step).toBe(stoppedAt + 1);
    expect(second.outcome.kind).toBe('done');
    expect(second.events.done![0]!.modelId).toBe('user/speaker-encoder');
  }, 120_000);

  it('runs the owner\'s run options (the CLI\'s) through the same planner: flag wording, warm-start folder, a file outside the models folder', async () => {
    const run = (options: Parameters<Engine['trainRun']>[0]) => engine.trainRun(options).then(() => 'no error', (e: { code: string; field?: string; message: string }) => e);
    const tiny = { config: { channels: 8, latentDims: 4, speakerDims: 4, kernelSize: 3, encoderBlocks: 1, decoderBlocks: 1, classifierChannels: 8, cropFrames: 16, klAnnealSteps: 10, warmupSteps: 2 } };
    await expect(run({ trainer: 'diffvc', init: join(home, 'x.timbre'), naming: 'flags' })).resolves.toMatchObject({ field: 'init', message: expect.stringMatching(/^--init warm-starts a vae, cyclegan, cyclediffusion or vocoder run; "diffvc"/) });
    await expect(run({ trainer: 'vae', fineTune: true })).resolves.toMatchObject({ field: 'fineTune', message: expect.stringMatching(/^fineTune continues the vocoder/) });
    await expect(run({ trainer: 'vae', base: join(home, 'x.timbre'), naming: 'flags' })).resolves.toMatchObject({ message: expect.stringMatching(/^--base FILE goes with --add-voice NAME/) });
    await expect(run({ trainer: 'vae', addVoice: 'flite-slt', workers: 2 })).resolves.toMatchObject({ field: 'workers' });

    const lines: string[] = [];
    const outPath = join(home, 'elsewhere', 'vae.timbre');
    const job = await engine.trainRun({ trainer: 'vae', ...tiny, steps: 2, batchSize: 2, logEvery: 1, fresh: true, outPath, log: (l) => lines.push(l), naming: 'flags' });
    const outcome = await job.finished;
    expect(outcome).toMatchObject({ kind: 'done', done: { modelId: outPath, modelPath: outPath } });
    expect(lines[0]).toMatch(new RegExp(`^training vae: 2 steps, batch 2, seed 0, 1 worker; run folder ${join(home, 'checkpoints', 'vae')}`));
    expect(lines.some((l) => /^step 2\/2 \| total /.test(l))).toBe(true);
    // The same run folder with other steps: refused in the CLI's words; a warm start gets a folder of its own.
    await expect(run({ trainer: 'vae', ...tiny, steps: 3, batchSize: 2, outPath: join(home, 'other.timbre'), naming: 'flags' })).resolves.toMatchObject({ code: 'CHECKPOINT_MISMATCH', message: expect.stringMatching(/made with --steps 2 \(now 3\); use those settings to resume, or pass --fresh/) });
    const warmLines: string[] = [];
    const warm = await engine.trainRun({ trainer: 'vae', ...tiny, steps: 1, batchSize: 2, init: outPath, outPath: join(home, 'warm.timbre'), log: (l) => warmLines.push(l) });
    await expect(warm.finished).resolves.toMatchObject({ kind: 'done' });
    expect(warmLines[0]).toContain(join(home, 'checkpoints', 'vae-warm'));
  }, 120_000);

  it('runs one training at a time', async () => {
    const job = await engine.train({ target: { kind: 'model', model: 'speaker-encoder' }, preset: 'tiny', steps: 50, batchSize: 4, fresh: true, overwrite: true });
    await expect(attempt({ target: { kind: 'model', model: 'vae' }, preset: 'tiny', steps: 1, overwrite: true })).resolves.toMatchObject({ code: 'JOB_BUSY' });
    await engine.cancel(job.id);
    await expect(job.finished).resolves.toMatchObject({ kind: 'cancelled' });
    await engine.cancel(job.id); // cancelling a run that just ended is not an error
  }, 60_000);

  it('adds a user voice from WAV bytes with inline-able errors, fine-tunes the VAE on it, and removes it', async () => {
    const add = (request: unknown) => engine.addVoice(request as never).then((v) => v, (e: { code: string; field?: string }) => e);
    await expect(add({ name: 'bad name!', recordings: [{ bytes: speech }] })).resolves.toMatchObject({ field: 'name' });
    await expect(add({ name: 'flite-slt', recordings: [{ bytes: speech }] })).resolves.toMatchObject({ field: 'name' });
    await expect(add({ name: 'anna', recordings: [{ bytes: harmonicToneWav({ seconds: 2 }) }] })).resolves.toMatchObject({ code: 'VOICE_RECORDING', field: 'recordings' });
    await expect(add({ name: 'anna', recordings: [] })).resolves.toMatchObject({ field: 'recordings' });
    const voice = await engine.addVoice({ name: 'anna', recordings: [{ bytes: speech, name: 'me.wav' }] });
    expect(voice).toMatchObject({ id: 'anna', kind: 'user' });
    await expect(add({ name: 'anna', recordings: [{ bytes: speech }] })).resolves.toMatchObject({ code: 'VOICE_EXISTS', field: 'name' });

    const { outcome, events } = await collect({ target: { kind: 'vae-add-voice', voice: 'anna' }, steps: 3, batchSize: 2 });
    expect(outcome.kind).toBe('done');
    expect(events.done![0]!.modelId).toBe('user/vae-anna');
    const model = (await engine.listModels()).find((m) => m.id === 'user/vae-anna');
    expect(model?.targetVoices).toContain('anna');

    // Reach is scored for user voices only; this one (≈ 12 s of speech) holds nothing out to score on.
    await expect(engine.voiceReach('flite-slt')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'voiceId' });
    await expect(engine.voiceReach('nobody')).rejects.toMatchObject({ code: 'VOICE_NOT_FOUND', field: 'voiceId' });
    const reach = await engine.voiceReach('anna');
    expect(reach).toMatchObject({ voiceId: 'anna', models: [] });
    expect(reach.unscorable).toMatch(/under 15 s of speech/);

    await expect(engine.removeVoice('flite-slt')).rejects.toMatchObject({ field: 'voiceId' });
    await engine.removeVoice('anna');
    expect((await engine.listVoices()).some((v) => v.id === 'anna')).toBe(false);
  }, 120_000);
});
