// Web mode: the engine over HTTP on 127.0.0.1, serving the built UI. Every /api request needs the
// per-run token; job events stream as Server-Sent Events (replayed from the start for late subscribers).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConversionJob, ConversionJobEvents, EngineErrorInfo, TimbreApi, TrainingJob, TrainingJobEvents } from '../engine/api.js';
import { EngineError, toErrorInfo } from '../engine/errors.js';
import { validateAddVoiceRequest, validateConvertRequest, validateExportRequest, validateId, validateTrainRequest } from '../engine/validate.js';
import { hostAllowed, newToken, originAllowed, requestToken, setCommonHeaders, tokensEqual, UI_CONTENT_SECURITY_POLICY } from './security.js';

/** Options of `startServer`. */
export interface ServerOptions {
  engine: TimbreApi;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Per-run token; default a fresh random one. */
  token?: string;
  /** Folder of the built UI (index.html + assets); default `dist/ui` of the repository. */
  uiDir?: string;
  /** Largest uploaded WAV, bytes; default 100 MB. */
  maxUploadBytes?: number;
  /** Largest JSON body, bytes; default 64 KiB. */
  maxJsonBytes?: number;
}

/** A running server; `url` carries the token in its fragment (never sent over the wire by browsers). */
export interface RunningServer {
  url: string;
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The Server-Sent Events of one job: every frame kept for late subscribers, written to live ones, ended by its last event. */
class EventLog {
  private readonly frames: string[] = [];
  private readonly subscribers = new Set<ServerResponse>();
  ended = false;

  push(name: string, data: unknown, last: boolean): void {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    this.frames.push(frame);
    for (const res of this.subscribers) res.write(frame);
    if (last) {
      this.ended = true;
      this.close();
    }
  }

  /** Streams the frames so far, then live ones until the job ends (a comment every 15 s keeps proxies from closing it). */
  serve(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    for (const frame of this.frames) res.write(frame);
    if (this.ended) {
      res.end();
      return;
    }
    this.subscribers.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(heartbeat);
      this.subscribers.delete(res);
    });
  }

  /** Ends every live stream. */
  close(): void {
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }
}

interface ServedJob {
  job: ConversionJob;
  events: EventLog;
  wavs: Map<string, Uint8Array>; // 'source' or laneId
}

interface ServedTraining {
  job: TrainingJob;
  events: EventLog;
}

const TRAINING_EVENTS: readonly (keyof TrainingJobEvents)[] = ['start', 'progress', 'validation', 'checkpoint', 'done', 'cancelled', 'error'];

const STATUS_OF: Record<string, number> = {
  JOB_BUSY: 409,
  OUTPUT_EXISTS: 409,
  VOICE_EXISTS: 409,
  UNAUTHORIZED: 401,
  VOICE_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  LANE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INPUT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wav': 'audio/wav',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** The built UI folder: `dist/ui` under the repository root, from src/server or dist/src/server. */
export function defaultUiDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '..', '..', 'dist', 'ui'), resolve(here, '..', '..', 'ui'), resolve(here, '..', '..', '..', 'dist', 'ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

class HttpError extends EngineError {}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown): void {
  const info: EngineErrorInfo = toErrorInfo(error);
  const status = STATUS_OF[info.code] ?? (info.code === 'INTERNAL' ? 500 : 400);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: info });
}

function sendBytes(res: ServerResponse, bytes: Uint8Array, mimeType: string, fileName?: string): void {
  const headers: Record<string, string | number> = { 'Content-Type': mimeType, 'Content-Length': bytes.length, 'Cache-Control': 'no-store' };
  if (fileName !== undefined) {
    headers['Content-Disposition'] = `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
    headers['X-Timbre-File-Name'] = fileName.replace(/[^A-Za-z0-9._-]/g, '_');
  }
  res.writeHead(200, headers);
  res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Reads a body up to `limit` bytes; a longer one is refused with INPUT_TOO_LARGE as soon as it passes the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError('INPUT_TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError('INPUT_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolvePromise(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type application/json, got "${type}"`);
  const bytes = await readBody(req, limit);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError('INVALID_ARGUMENT', 'the request body is not valid JSON');
  }
}

/** Event payloads without audio bytes (clients fetch WAVs by URL). */
function withoutWav(data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const { wav: _wav, ...rest } = data as Record<string, unknown>;
  if (Array.isArray(rest.lanes)) rest.lanes = (rest.lanes as unknown[]).map(withoutWav);
  if (rest.source !== undefined) rest.source = withoutWav(rest.source);
  return rest;
}

/** Starts web mode on 127.0.0.1. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const engine = options.engine;
  const token = options.token ?? newToken();
  const uiDir = resolve(options.uiDir ?? defaultUiDir());
  const maxUploadBytes = options.maxUploadBytes ?? 100_000_000;
  const MAX_HELD_INPUTS = 256;
  const MAX_HELD_INPUT_BYTES = 400_000_000;
  const maxJsonBytes = options.maxJsonBytes ?? 64 * 1024;
  const inputs = new Map<string, { bytes: Uint8Array; name: string; at: number }>();
  /**
   * Uploads are held until used (a voice may take many clips, 20 clients may upload at once): for 30 minutes, and
   * the oldest go first only beyond `MAX_HELD_INPUTS` or `max(MAX_HELD_INPUT_BYTES, one upload)` in all.
   */
  function forgetOldInputs(keep: string): void {
    let held = 0;
    for (const input of inputs.values()) held += input.bytes.length;
    for (const [id, input] of inputs) {
      const tooMany = inputs.size > MAX_HELD_INPUTS || held > Math.max(MAX_HELD_INPUT_BYTES, maxUploadBytes);
      if (id === keep || (!tooMany && Date.now() - input.at <= 30 * 60_000)) continue;
      inputs.delete(id);
      held -= input.bytes.length;
    }
  }
  /** The X-Timbre-File-Name header, percent-decoded where it can be (a malformed escape is kept as sent), ≤ 255 chars. */
  function decodedFileName(raw: string): string {
    try {
      return decodeURIComponent(raw).slice(0, 255);
    } catch {
      return raw.slice(0, 255);
    }
  }
  const jobs = new Map<string, ServedJob>();
  const trainings = new Map<string, ServedTraining>();
  let port = 0;

  function rememberTraining(job: TrainingJob): void {
    const served: ServedTraining = { job, events: new EventLog() };
    for (const name of TRAINING_EVENTS) {
      job.on(name, (data: unknown) => served.events.push(name, data, name === 'done' || name === 'cancelled' || name === 'error'));
    }
    trainings.set(job.id, served);
    const ended = [...trainings.values()].filter((t) => t.events.ended);
    for (const old of ended.slice(0, Math.max(0, ended.length - 8))) {
      old.job.destroy();
      trainings.delete(old.job.id);
    }
  }

  function servedTraining(id: string): ServedTraining {
    const served = trainings.get(validateId('jobId', id));
    if (served === undefined) throw new HttpError('JOB_NOT_FOUND', `training "${id}" is not known to this server`, 'jobId');
    return served;
  }

  function inputBytes(inputId: unknown, field: string): { bytes: Uint8Array; name: string } {
    const input = inputs.get(validateId(field, inputId));
    if (input === undefined) throw new HttpError('INVALID_ARGUMENT', `input "${String(inputId)}" is not known (uploads expire after 30 minutes)`, field);
    return input;
  }

  function rememberJob(job: ConversionJob): ServedJob {
    const served: ServedJob = { job, events: new EventLog(), wavs: new Map() };
    const push = (name: keyof ConversionJobEvents, data: unknown): void => served.events.push(name, withoutWav(data), name === 'done' || name === 'error');
    job.on('source', (source) => {
      served.wavs.set('source', source.wav);
      push('source', source);
    });
    job.on('progress', (p) => push('progress', p));
    job.on('lane', (lane) => {
      served.wavs.set(lane.laneId, lane.wav);
      push('lane', lane);
    });
    job.on('laneError', (f) => push('laneError', f));
    job.on('done', (r) => push('done', r));
    job.on('error', (e) => push('error', e));
    jobs.set(job.id, served);
    const ended = [...jobs.values()].filter((j) => j.events.ended);
    for (const old of ended.slice(0, Math.max(0, ended.length - 8))) {
      old.job.destroy();
      jobs.delete(old.job.id);
    }
    return served;
  }

  function servedJob(id: string): ServedJob {
    const served = jobs.get(validateId('jobId', id));
    if (served === undefined) throw new HttpError('JOB_NOT_FOUND', `job "${id}" is not known to this server`, 'jobId');
    return served;
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const given = requestToken(req);
    if (given === undefined || !tokensEqual(given, token)) throw new HttpError('UNAUTHORIZED', 'missing or wrong token; open the URL printed by `npm run web` (it carries the token)');
    const method = req.method ?? 'GET';
    if (method !== 'GET' && !originAllowed(req.headers.origin, port)) throw new HttpError('UNAUTHORIZED', `requests from origin ${req.headers.origin} are refused`);
    const parts = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent); // drop 'api'
    const route = `${method} /${parts.map((p, i) => (i > 0 && (parts[0] === 'voices' || parts[0] === 'jobs' || parts[0] === 'trainings') && i % 2 === 1 ? ':id' : p)).join('/')}`;
    switch (route) {
      case 'GET /info':
        return sendJson(res, 200, await engine.info());
      case 'GET /voices':
        return sendJson(res, 200, await engine.listVoices());
      case 'GET /voices/:id/preview': {
        const file = await engine.voicePreview(parts[1]!);
        return sendBytes(res, file.bytes, file.mimeType);
      }
      case 'GET /models':
        return sendJson(res, 200, await engine.listModels());
      case 'GET /trainers':
        return sendJson(res, 200, await engine.listTrainers());
      case 'POST /voices': {
        // { name, inputIds: [...], replace? }: recordings are uploaded first through POST /inputs.
        const body = await readJson(req, maxJsonBytes);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError('INVALID_ARGUMENT', 'the request body must be a JSON object', 'request');
        const { inputIds, ...rest } = body as Record<string, unknown>;
        if (!Array.isArray(inputIds) || inputIds.length === 0 || inputIds.length > 20) throw new HttpError('INVALID_ARGUMENT', 'inputIds must be a list of 1–20 uploaded recordings', 'recordings');
        const recordings = inputIds.map((id, i) => inputBytes(id, `recordings[${i}]`));
        const request = validateAddVoiceRequest({ ...rest, recordings: recordings.map((r) => ({ bytes: r.bytes, name: r.name })) });
        return sendJson(res, 201, await engine.addVoice(request));
      }
      case 'POST /voices/:id/reach':
        return sendJson(res, 200, await engine.voiceReach(parts[1]!));
      case 'DELETE /voices/:id':
        await engine.removeVoice(parts[1]!);
        return sendJson(res, 200, { removed: true });
      case 'POST /trainings': {
        const request = validateTrainRequest(await readJson(req, maxJsonBytes));
        const job = await engine.train(request);
        rememberTraining(job);
        return sendJson(res, 201, { jobId: job.id });
      }
      case 'GET /trainings/:id/events':
        return servedTraining(parts[1]!).events.serve(res);
      case 'POST /trainings/:id/cancel': {
        const served = servedTraining(parts[1]!);
        await engine.cancel(served.job.id);
        return sendJson(res, 202, { cancelled: true });
      }
      case 'POST /inputs': {
        const type = req.headers['content-type'] ?? '';
        if (!/^(audio\/(wav|wave|x-wav|vnd\.wave)|application\/octet-stream)\b/.test(type)) {
          throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `upload a WAV with Content-Type audio/wav, got "${type || 'none'}"`);
        }
        const bytes = await readBody(req, maxUploadBytes);
        if (bytes.length === 0) throw new HttpError('INVALID_AUDIO', 'the uploaded file is empty', 'input');
        const rawName = req.headers['x-timbre-file-name'];
        const name = typeof rawName === 'string' ? decodedFileName(rawName) : 'upload.wav';
        const inputId = `in-${randomBytes(9).toString('base64url')}`;
        inputs.set(inputId, { bytes, name, at: Date.now() });
        forgetOldInputs(inputId);
        return sendJson(res, 201, { inputId, bytes: bytes.length });
      }
      case 'POST /jobs': {
        const body = await readJson(req, maxJsonBytes);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError('INVALID_ARGUMENT', 'the request body must be a JSON object', 'request');
        const { inputId, ...rest } = body as Record<string, unknown>;
        const input = inputBytes(inputId, 'inputId');
        const request = validateConvertRequest({ ...rest, input: { kind: 'wav-bytes', bytes: input.bytes, name: input.name } }, { maxBytes: maxUploadBytes, allowPaths: false });
        const job = await engine.convert(request);
        rememberJob(job);
        return sendJson(res, 201, { jobId: job.id });
      }
      case 'GET /jobs/:id/events': {
        return servedJob(parts[1]!).events.serve(res);
      }
      case 'GET /jobs/:id/source.wav': {
        const served = servedJob(parts[1]!);
        const wav = served.wavs.get('source');
        if (wav === undefined) throw new HttpError('LANE_NOT_FOUND', 'the source of this job is not ready');
        return sendBytes(res, wav, 'audio/wav');
      }
      case 'POST /jobs/:id/cancel': {
        // `cancel(jobId)` of the API takes conversions and trainings alike.
        const training = trainings.get(parts[1]!);
        if (training !== undefined) {
          await engine.cancel(training.job.id);
          return sendJson(res, 202, { cancelled: true });
        }
        const served = servedJob(parts[1]!);
        await engine.cancel(served.job.id);
        return sendJson(res, 202, { cancelled: true });
      }
      case 'POST /export': {
        const request = validateExportRequest(await readJson(req, maxJsonBytes));
        const file = await engine.exportLanes(request);
        return sendBytes(res, file.bytes, file.mimeType, file.fileName);
      }
      default: {
        // GET /jobs/:id/lanes/:laneId.wav
        if (method === 'GET' && parts[0] === 'jobs' && parts[2] === 'lanes' && parts.length === 4 && parts[3]!.endsWith('.wav')) {
          const served = servedJob(parts[1]!);
          const laneId = validateId('laneId', parts[3]!.slice(0, -4));
          const wav = served.wavs.get(laneId);
          if (wav === undefined) throw new HttpError('LANE_NOT_FOUND', `lane "${laneId}" is not part of job "${served.job.id}" (or has not finished)`, 'laneId');
          return sendBytes(res, wav, 'audio/wav');
        }
        throw new HttpError('NOT_FOUND', `no API route ${method} ${path}`);
      }
    }
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
    const relative = path === '/' ? 'index.html' : decodeURIComponent(path).replace(/^\/+/, '');
    const file = normalize(join(uiDir, relative));
    if (!file.startsWith(uiDir + sep) || relative.includes('\0')) throw new HttpError('NOT_FOUND', `no file ${path}`);
    let bytes: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      bytes = await readFile(file);
    } catch {
      if (relative === 'index.html') {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`The UI is not built (no ${file}). Run "npm run build:ui", then reload.\n`);
        return;
      }
      throw new HttpError('NOT_FOUND', `no file ${path}`);
    }
    const type = MIME[extname(file)] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': bytes.length };
    if (type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = UI_CONTENT_SECURITY_POLICY;
      headers['Cache-Control'] = 'no-store';
    } else {
      headers['Cache-Control'] = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  const server: Server = createServer((req, res) => {
    setCommonHeaders(res);
    if (!hostAllowed(req.headers.host, port)) {
      // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends its own Host.
      sendJson(res, 421, { error: { code: 'UNAUTHORIZED', message: `Host "${req.headers.host ?? ''}" is not served; use http://127.0.0.1:${port}/` } });
      req.resume();
      return;
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', `http://127.0.0.1:${port}`).pathname;
    } catch {
      sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: 'malformed URL' } });
      return;
    }
    const handler = path === '/api' || path.startsWith('/api/') ? api(req, res, path) : serveStatic(req, res, path);
    handler.catch((error: unknown) => {
      req.resume();
      sendError(res, error);
    });
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 20_000;

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    close: () =>
      new Promise<void>((resolvePromise) => {
        for (const served of [...jobs.values(), ...trainings.values()]) {
          served.events.close();
          served.job.destroy();
        }
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
