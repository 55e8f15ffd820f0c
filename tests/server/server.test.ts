import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { hostAllowed, tokensEqual } from '../../src/server/security.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { harmonicToneWav } from '../engine/fixtures.js';
import { testPitchShiftConverter } from '../engine/testPitchShiftConverter.js';

let engine: Engine;
let server: RunningServer;
let uiDir: string;

/** Raw HTTP (fetch forbids setting Host), returning status, headers and body bytes. */
function raw(path: string, options: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const auth = (): Record<string, string> => ({ 'X-Timbre-Token': server.token });

beforeAll(async () => {
  uiDir = await mkdtemp(join(tmpdir(), 'timbre-ui-'));
  await mkdir(join(uiDir, 'assets'));
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(uiDir, 'assets', 'app.js'), 'console.log(1)');
  const registry = new ModelRegistry({ searchDirs: [], registered: [{ id: 'stand-in-up', converter: testPitchShiftConverter({ semitones: 3 }) }] });
  engine = createEngine({ registry, voiceSource: createVoiceSource([{ id: 'test-voice', label: 'Test', kind: 'test', hasPreview: false }], { useVoicesModule: false }), allowPaths: false });
  server = await startServer({ engine, uiDir, maxUploadBytes: 2_000_000 });
});

afterAll(async () => {
  await server.close();
  await engine.destroy();
  await rm(uiDir, { recursive: true, force: true });
});

describe('web mode server', () => {
  it('prints a URL on 127.0.0.1 carrying the token in its fragment', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
  });

  it('serves the UI without the token, with a strict CSP, and refuses path traversal', async () => {
    const index = await fetch(`${server.origin}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${server.origin}/assets/app.js`)).status).toBe(200);
    expect((await raw('/../../etc/passwd')).status).toBe(404);
    expect((await raw('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
  });

  it('refuses other Host headers (DNS rebinding)', async () => {
    const res = await raw('/api/models', { headers: { Host: `evil.example:${server.port}`, ...auth() } });
    expect(res.status).toBe(421);
    expect(hostAllowed(`localhost:${server.port}`, server.port)).toBe(true);
    expect(hostAllowed(`127.0.0.1:1`, server.port)).toBe(false);
  });

  it('requires the token on every API request and compares it in constant time', async () => {
    expect((await fetch(`${server.origin}/api/models`)).status).toBe(401);
    expect((await fetch(`${server.origin}/api/models`, { headers: { 'X-Timbre-Token': 'wrong' } })).status).toBe(401);
    expect((await fetch(`${server.origin}/api/models?token=${server.token}`)).status).toBe(401);
    const ok = await fetch(`${server.origin}/api/models`, { headers: auth() });
    expect(ok.status).toBe(200);
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
  });

  it('refuses writes from another origin, oversized bodies, bad media types and bad JSON', async () => {
    const cross = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...auth(), Origin: 'http://evil.example', 'Content-Type': 'application/json' }, body: '{}' });
    expect(cross.status).toBe(401);
    const big = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav' }, body: new Uint8Array(2_000_001) });
    expect(big.status).toBe(413);
    const text = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
    const badJson = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
    const unknownInput = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ inputId: 'in-x', targetVoiceId: 'test-voice' }) });
    expect(unknownInput.status).toBe(400);
    expect(((await unknownInput.json()) as { error: { field: string } }).error.field).toBe('inputId');
  });

  it('keeps a file name with a malformed percent escape as sent instead of failing the upload', async () => {
    const upload = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav', 'X-Timbre-File-Name': 'caf%E9%' }, body: harmonicToneWav({ seconds: 0.3 }) });
    expect(upload.status).toBe(201);
  });

  it('holds every upload until it is used: 20 uploads at once all become jobs', async () => {
    const uploads = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const upload = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav' }, body: harmonicToneWav({ seconds: 0.3 }) });
        return ((await upload.json()) as { inputId: string }).inputId;
      }),
    );
    for (const inputId of uploads) {
      const job = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ inputId, targetVoiceId: 'test-voice', models: [{ modelId: 'stand-in-up' }], griffinLimIterations: 2 }) });
      expect(job.status, await job.clone().text()).toBe(201);
    }
  });

  it('uploads, converts, streams events, serves lane WAVs and exports a zip', async () => {
    const upload = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav' }, body: harmonicToneWav({ seconds: 0.4 }) });
    expect(upload.status).toBe(201);
    const { inputId } = (await upload.json()) as { inputId: string };
    const notWav = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'audio/wav' }, body: 'not a wav' });
    const badId = ((await notWav.json()) as { inputId: string }).inputId;
    const refused = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ inputId: badId, targetVoiceId: 'test-voice' }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NOT_WAV');
    const started = await fetch(`${server.origin}/api/jobs`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputId, targetVoiceId: 'test-voice', models: [{ modelId: 'stand-in-up' }], griffinLimIterations: 4 }),
    });
    expect(started.status).toBe(201);
    const { jobId } = (await started.json()) as { jobId: string };
    const events = await fetch(`${server.origin}/api/jobs/${jobId}/events`, { headers: auth() });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const stream = await events.text(); // ends after 'done'
    const names = [...stream.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names[0]).toBe('source');
    expect(names).toContain('lane');
    expect(names.at(-1)).toBe('done');
    const lane = JSON.parse(/event: lane\ndata: (.*)\n/.exec(stream)![1]!) as { laneId: string; wav?: unknown };
    expect(lane.wav).toBeUndefined();
    const wav = await fetch(`${server.origin}/api/jobs/${jobId}/lanes/${lane.laneId}.wav`, { headers: auth() });
    expect(decodeWav(new Uint8Array(await wav.arrayBuffer())).sampleRateHz).toBe(22050);
    const zip = await fetch(`${server.origin}/api/export`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ jobId, format: 'zip' }) });
    expect(zip.status).toBe(200);
    expect(zip.headers.get('x-timbre-file-name')).toBe('timbre-test-voice-lanes.zip');
    // A late subscriber gets the whole log replayed.
    const replay = await (await fetch(`${server.origin}/api/jobs/${jobId}/events`, { headers: auth() })).text();
    expect(replay).toBe(stream);
  });
});
