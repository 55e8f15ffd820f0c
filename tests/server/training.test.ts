// Web mode's training and user-voice routes on a tiny corpus: the same token/Host/Origin rules, validation,
// SSE progress with cancel → resume, replay for late subscribers, and creating/removing a user voice.

import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { TEST_VOICES } from '../corpus/render.js';
import { speakReading } from '../fixtures/reading.js';

let home: string;
let engine: Engine;
let server: RunningServer;

beforeAll(async () => {
  process.env.TIMBRE_BACKEND ??= 'wasm';
  home = await mkdtemp(join(tmpdir(), 'timbre-server-train-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
  const uiDir = join(home, 'ui');
  await mkdir(uiDir);
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>t</title>');
  engine = createEngine({ home, allowPaths: false, speakerSimilarity: false });
  server = await startServer({ engine, uiDir });
}, 60_000);

afterAll(async () => {
  await server.close();
  await engine.destroy();
  await rm(home, { recursive: true, force: true });
});

const auth = (): Record<string, string> => ({ 'X-Timbre-Token': server.token });
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.origin}${path}`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Reads an SSE stream, calling `onEvent` per event, until the server ends it; returns the raw text. */
async function readEvents(path: string, onEvent: (name: string, data: Record<string, unknown>) => void = () => undefined): Promise<string> {
  const res = await fetch(`${server.origin}${path}`, { headers: auth() });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (\w+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (name !== undefined && data !== undefined) onEvent(name, JSON.parse(data) as Record<string, unknown>);
    }
  }
  return text;
}

describe('web mode training routes', () => {
  it('apply the token, Host and Origin rules', async () => {
    expect((await fetch(`${server.origin}/api/trainers`)).status).toBe(401);
    expect((await fetch(`${server.origin}/api/trainings`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await postJson('/api/trainings', { target: { kind: 'model', model: 'vae' } }, { Origin: 'http://evil.example' })).status).toBe(401);
    expect((await fetch(`${server.origin}/api/voices/flite-slt`, { method: 'DELETE', headers: { ...auth(), Origin: 'http://evil.example' } })).status).toBe(401);
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/trainers', headers: { Host: 'evil.example', ...auth() } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebinding).toBe(421);
    const trainers = (await (await fetch(`${server.origin}/api/trainers`, { headers: auth() })).json()) as { name: string }[];
    expect(trainers.map((t) => t.name)).toEqual(['speaker-encoder', 'vae', 'cyclegan', 'diffvc', 'cyclediffusion', 'vocoder']);
  });

  it('refuse bad requests with the engine\'s codes and fields', async () => {
    const bad = await postJson('/api/trainings', { target: { kind: 'model', model: 'vae' }, steps: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('steps');
    const unknown = await postJson('/api/trainings', { target: { kind: 'vae-add-voice', voice: 'nobody' } });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${server.origin}/api/trainings/train-nope/events`, { headers: auth() })).status).toBe(404);
  });

  it('stream progress; cancel stops with a checkpoint, the same request resumes to done, late subscribers get a replay', async () => {
    const request = { target: { kind: 'model', model: 'speaker-encoder' }, preset: 'tiny', steps: 40, batchSize: 4, checkpointEvery: 1000 };
    const started = await postJson('/api/trainings', request);
    expect(started.status).toBe(201);
    const { jobId } = (await started.json()) as { jobId: string };
    expect((await postJson('/api/trainings', request)).status).toBe(409); // one at a time
    const names: string[] = [];
    let cancelledAt = -1;
    await readEvents(`/api/trainings/${jobId}/events`, (name, data) => {
      names.push(name);
      if (name === 'progress' && names.filter((n) => n === 'progress').length === 1) void postJson(`/api/trainings/${jobId}/cancel`, {});
      if (name === 'cancelled') cancelledAt = data.step as number;
    });
    expect(names[0]).toBe('start');
    expect(names).toContain('checkpoint');
    expect(names.at(-1)).toBe('cancelled');
    expect(cancelledAt).toBeGreaterThan(0);

    const again = (await (await postJson('/api/trainings', request)).json()) as { jobId: string };
    let start: Record<string, unknown> = {};
    let done: Record<string, unknown> = {};
    const stream = await readEvents(`/api/trainings/${again.jobId}/events`, (name, data) => {
      if (name === 'start') start = data;
      if (name === 'done') done = data;
    });
    expect(start).toMatchObject({ resumed: true, startStep: cancelledAt });
    expect(done).toMatchObject({ modelId: 'user/speaker-encoder', steps: 40 });
    expect(await readEvents(`/api/trainings/${again.jobId}/events`)).toBe(stream);
  }, 120_000);

  it('create a user voice from uploaded recordings (inline errors) and delete it', async () => {
    const wavPath = speakReading(join(home, 'speech.wav'), { rate: 120, sentences: 4 });
    const upload = async (bytes: Uint8Array): Promise<string> => {
      const res = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav', 'X-Timbre-File-Name': 'me.wav' }, body: bytes });
      return ((await res.json()) as { inputId: string }).inputId;
    };
    const speech = new Uint8Array(readFileSync(wavPath));
    const badName = await postJson('/api/voices', { name: 'no way!', inputIds: [await upload(speech)] });
    expect(badName.status).toBe(400);
    expect(((await badName.json()) as { error: { field: string } }).error.field).toBe('name');
    const short = await postJson('/api/voices', { name: 'anna', inputIds: [await upload(speech.subarray(0, 44 + 22050 * 2))] });
    expect(((await short.json()) as { error: { field: string } }).error.field).toBe('recordings');
    const created = await postJson('/api/voices', { name: 'anna', inputIds: [await upload(speech)] });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'anna', kind: 'user' });
    // How the models reach it: ≈ 12 s of speech leaves nothing held out, which the report says instead of scoring.
    const reach = await fetch(`${server.origin}/api/voices/anna/reach`, { method: 'POST', headers: auth() });
    expect(reach.status).toBe(200);
    expect(await reach.json()).toMatchObject({ voiceId: 'anna', models: [], unscorable: expect.stringMatching(/under 15 s/) });
    const corpusReach = await fetch(`${server.origin}/api/voices/flite-slt/reach`, { method: 'POST', headers: auth() });
    expect(corpusReach.status).toBe(400);
    const removed = await fetch(`${server.origin}/api/voices/anna`, { method: 'DELETE', headers: auth() });
    expect(removed.status).toBe(200);
    expect(((await (await fetch(`${server.origin}/api/voices`, { headers: auth() })).json()) as { id: string }[]).some((v) => v.id === 'anna')).toBe(false);
  }, 60_000);
});
