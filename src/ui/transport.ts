// How the UI reaches the engine: HTTP to web mode (token from the URL fragment) or the Electron
// preload's `window.timbre`; both wrapped into the same `UiTransport` (TimbreApi + saving files).

import type {
  AddVoiceRequest,
  ConversionJob,
  ConversionJobEvents,
  ConversionResult,
  ConvertRequest,
  EngineErrorInfo,
  EngineInfo,
  ExportFile,
  ExportRequest,
  JobEventMessage,
  MenuCommand,
  ModelInfo,
  OpenedFile,
  TimbreApi,
  TimbreBridge,
  TrainerInfo,
  TrainingEventMessage,
  TrainingJob,
  TrainingJobEvents,
  TrainingOutcome,
  TrainRequest,
  VoiceInfo,
  VoiceReach,
} from '../engine/api.js';
import { Emitter } from './emitter.js';

/** An engine error on the UI side: the engine's `code`, `field` and message. */
export class UiEngineError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  constructor(info: EngineErrorInfo) {
    super(info.message);
    this.code = info.code;
    this.field = info.field;
  }
}

/** The engine as the UI sees it. */
export interface UiTransport extends TimbreApi {
  readonly kind: 'web' | 'electron';
  /** Saves an exported file (download or native dialog); resolves with where it went, or undefined when cancelled. */
  saveFile(file: ExportFile): Promise<string | undefined>;
  /** Native open dialog (Electron only). */
  openWavFile?: () => Promise<OpenedFile | undefined>;
  /** Commands of the native menu (Electron only); returns the unsubscribe. */
  onMenuCommand?: (listener: (command: MenuCommand) => void) => () => void;
}

declare global {
  interface Window {
    timbre?: TimbreBridge;
  }
}

/**
 * A job whose events arrive from elsewhere (SSE or IPC) and are replayed through `deliver`: a conversion or a
 * training. `outcomeOf` says which event ends it and with what; an 'error' event rejects `finished`.
 */
class RemoteJob<Events extends { [name: string]: unknown[]; error: [EngineErrorInfo] }, Outcome> {
  private readonly emitter = new Emitter<Events>();
  readonly finished: Promise<Outcome>;
  private resolve!: (outcome: Outcome) => void;
  private reject!: (error: Error) => void;

  constructor(
    readonly id: string,
    private readonly onCancel: () => void,
    private readonly outcomeOf: <E extends keyof Events>(name: E, args: Events[E]) => Outcome | undefined,
  ) {
    this.finished = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.finished.catch(() => undefined);
  }

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  deliver<E extends keyof Events>(name: E, args: Events[E]): void {
    this.emitter.emit(name, ...args);
    if (name === 'error') {
      this.reject(new UiEngineError(args[0] as EngineErrorInfo));
      return;
    }
    const outcome = this.outcomeOf(name, args);
    if (outcome !== undefined) this.resolve(outcome);
  }

  cancel(): void {
    this.onCancel();
  }

  destroy(): void {
    this.emitter.unAll();
  }
}

type RemoteConversion = RemoteJob<ConversionJobEvents, ConversionResult>;
type RemoteTraining = RemoteJob<TrainingJobEvents, TrainingOutcome>;

/** A conversion ends with its 'done' result. */
function remoteConversion(id: string, onCancel: () => void): RemoteConversion & ConversionJob {
  return new RemoteJob<ConversionJobEvents, ConversionResult>(id, onCancel, (name, args) => (name === 'done' ? (args[0] as ConversionResult) : undefined));
}

/** A training ends when it is done or cancelled. */
function remoteTraining(id: string, onCancel: () => void): RemoteTraining & TrainingJob {
  return new RemoteJob<TrainingJobEvents, TrainingOutcome>(id, onCancel, (name, args) => {
    if (name === 'done') return { kind: 'done', done: args[0] as TrainingJobEvents['done'][0] };
    if (name === 'cancelled') return { kind: 'cancelled', cancelled: args[0] as TrainingJobEvents['cancelled'][0] };
    return undefined;
  });
}

/** Reads a Server-Sent Events body, calling `onEvent(name, json)` per event until the stream ends. */
async function readSse(res: Response, onEvent: (name: string, payload: Record<string, unknown>) => void): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
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
}

/** Browser download of an exported file. */
function download(file: ExportFile): string {
  const url = URL.createObjectURL(new Blob([file.bytes as BlobPart], { type: file.mimeType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return `downloaded ${file.fileName}`;
}

/** Web mode: the engine over HTTP with the run's token in a header. */
export function createHttpTransport(origin: string, token: string): UiTransport {
  const headers = { 'X-Timbre-Token': token };

  async function failure(res: Response): Promise<UiEngineError> {
    try {
      const body = (await res.json()) as { error?: EngineErrorInfo };
      if (body.error) return new UiEngineError(body.error);
    } catch {
      // not JSON
    }
    return new UiEngineError({ code: res.status === 401 ? 'UNAUTHORIZED' : 'TRANSPORT', message: `the server answered ${res.status} ${res.statusText}` });
  }

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${origin}/api${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
    } catch (error) {
      throw new UiEngineError({ code: 'TRANSPORT', message: `cannot reach the Timbre server (${(error as Error).message}); is "npm run web" still running?` });
    }
    if (!res.ok) throw await failure(res);
    return res;
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await call(path, init)).json()) as T;
  const bytes = async (path: string, init?: RequestInit): Promise<Uint8Array> => new Uint8Array(await (await call(path, init)).arrayBuffer());
  const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  async function streamEvents(job: RemoteConversion): Promise<void> {
    const res = await call(`/jobs/${encodeURIComponent(job.id)}/events`);
    let chain = Promise.resolve();
    await readSse(res, (name, payload) => {
      // Keep order: a lane's WAV is fetched before the event is delivered.
      chain = chain.then(async () => {
        if (name === 'source') payload.wav = await bytes(`/jobs/${encodeURIComponent(job.id)}/source.wav`);
        if (name === 'lane') payload.wav = await bytes(`/jobs/${encodeURIComponent(job.id)}/lanes/${encodeURIComponent(String(payload.laneId))}.wav`);
        job.deliver(name as keyof ConversionJobEvents, [payload] as never);
      });
    });
    await chain;
  }

  const api: UiTransport = {
    kind: 'web',
    info: () => json<EngineInfo>('/info'),
    listVoices: () => json<VoiceInfo[]>('/voices'),
    async voicePreview(voiceId) {
      return { fileName: `${voiceId}-preview.wav`, mimeType: 'audio/wav', bytes: await bytes(`/voices/${encodeURIComponent(voiceId)}/preview`) };
    },
    listModels: () => json<ModelInfo[]>('/models'),
    async convert(request: ConvertRequest) {
      if (request.input.kind !== 'wav-bytes') throw new UiEngineError({ code: 'INVALID_ARGUMENT', message: 'web mode converts WAV bytes only', field: 'input' });
      const upload = await json<{ inputId: string }>('/inputs', {
        method: 'POST',
        headers: { 'Content-Type': 'audio/wav', 'X-Timbre-File-Name': encodeURIComponent(request.input.name ?? 'input.wav') },
        body: request.input.bytes as BodyInit,
      });
      const { input: _input, ...rest } = request;
      const { jobId } = await json<{ jobId: string }>('/jobs', post({ ...rest, inputId: upload.inputId }));
      const job = remoteConversion(jobId, () => void api.cancel(jobId).catch(() => undefined));
      streamEvents(job).catch((error: unknown) => {
        job.deliver('error', [{ code: 'TRANSPORT', message: `lost the progress stream: ${(error as Error).message}` }]);
      });
      return job;
    },
    compare: (request) => api.convert(request),
    async cancel(jobId) {
      await call(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' });
    },
    async exportLanes(request: ExportRequest) {
      const res = await call('/export', post(request));
      return {
        fileName: res.headers.get('X-Timbre-File-Name') ?? `timbre-export.${request.format === 'report' ? 'html' : request.format}`,
        mimeType: res.headers.get('Content-Type') ?? 'application/octet-stream',
        bytes: new Uint8Array(await res.arrayBuffer()),
      };
    },
    async saveFile(file) {
      return download(file);
    },
    listTrainers: () => json<TrainerInfo[]>('/trainers'),
    async train(request: TrainRequest) {
      const { jobId } = await json<{ jobId: string }>('/trainings', post(request));
      const job = remoteTraining(jobId, () => void call(`/trainings/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' }).catch(() => undefined));
      (async () => {
        const res = await call(`/trainings/${encodeURIComponent(jobId)}/events`);
        await readSse(res, (name, payload) => job.deliver(name as keyof TrainingJobEvents, [payload] as never));
      })().catch((error: unknown) => job.deliver('error', [{ code: 'TRANSPORT', message: `lost the training stream: ${(error as Error).message}` }]));
      return job;
    },
    async addVoice(request: AddVoiceRequest) {
      const inputIds: string[] = [];
      for (const recording of request.recordings) {
        const upload = await json<{ inputId: string }>('/inputs', {
          method: 'POST',
          headers: { 'Content-Type': 'audio/wav', 'X-Timbre-File-Name': encodeURIComponent(recording.name ?? 'recording.wav') },
          body: recording.bytes as BodyInit,
        });
        inputIds.push(upload.inputId);
      }
      return json<VoiceInfo>('/voices', post({ name: request.name, inputIds, ...(request.replace ? { replace: true } : {}) }));
    },
    async removeVoice(voiceId) {
      await call(`/voices/${encodeURIComponent(voiceId)}`, { method: 'DELETE' });
    },
    voiceReach: (voiceId) => json<VoiceReach>(`/voices/${encodeURIComponent(voiceId)}/reach`, { method: 'POST' }),
  };
  return api;
}

/** Electron: the preload's bridge, with events buffered per job until the job object exists. */
export function createElectronTransport(bridge: TimbreBridge): UiTransport {
  const jobs = new Map<string, RemoteConversion>();
  const early = new Map<string, JobEventMessage[]>();
  const trainings = new Map<string, RemoteTraining>();
  const earlyTraining = new Map<string, TrainingEventMessage[]>();
  bridge.onTrainingEvent((message) => {
    const job = trainings.get(message.jobId);
    if (job) job.deliver(message.name, message.args);
    else earlyTraining.set(message.jobId, [...(earlyTraining.get(message.jobId) ?? []), message]);
  });
  bridge.onJobEvent((message) => {
    const job = jobs.get(message.jobId);
    if (job) job.deliver(message.name, message.args);
    else early.set(message.jobId, [...(early.get(message.jobId) ?? []), message]);
  });
  const wrap = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      // Errors cross IPC as "Error invoking remote method …: {json}"; recover the engine's info.
      const text = error instanceof Error ? error.message : String(error);
      const match = /(\{.*\})\s*$/.exec(text);
      if (match) {
        try {
          throw new UiEngineError(JSON.parse(match[1]!) as EngineErrorInfo);
        } catch (parsed) {
          if (parsed instanceof UiEngineError) throw parsed;
        }
      }
      throw new UiEngineError({ code: 'INTERNAL', message: text });
    });
  const api: UiTransport = {
    kind: 'electron',
    info: () => wrap(bridge.info()),
    listVoices: () => wrap(bridge.listVoices()),
    voicePreview: (id) => wrap(bridge.voicePreview(id)),
    listModels: () => wrap(bridge.listModels()),
    async convert(request) {
      const { jobId } = await wrap(bridge.startConversion(request));
      const job = remoteConversion(jobId, () => void bridge.cancel(jobId));
      jobs.set(jobId, job);
      for (const message of early.get(jobId) ?? []) job.deliver(message.name, message.args);
      early.delete(jobId);
      void job.finished.finally(() => jobs.delete(jobId)).catch(() => undefined);
      return job;
    },
    compare: (request) => api.convert(request),
    cancel: (jobId) => wrap(bridge.cancel(jobId)),
    exportLanes: (request) => wrap(bridge.exportLanes(request)),
    saveFile: (file) => wrap(bridge.saveFile(file)),
    openWavFile: () => wrap(bridge.openWavFile()),
    listTrainers: () => wrap(bridge.listTrainers()),
    async train(request) {
      const { jobId } = await wrap(bridge.startTraining(request));
      const job = remoteTraining(jobId, () => void bridge.cancel(jobId));
      trainings.set(jobId, job);
      for (const message of earlyTraining.get(jobId) ?? []) job.deliver(message.name, message.args);
      earlyTraining.delete(jobId);
      void job.finished.finally(() => trainings.delete(jobId)).catch(() => undefined);
      return job;
    },
    addVoice: (request) => wrap(bridge.addVoice(request)),
    removeVoice: (voiceId) => wrap(bridge.removeVoice(voiceId)),
    voiceReach: (voiceId) => wrap(bridge.voiceReach(voiceId)),
    onMenuCommand: (listener) => bridge.onMenuCommand(listener),
  };
  return api;
}

/** Picks the transport: Electron's bridge when present, else HTTP with the token from `#token=` (kept in sessionStorage). */
export function detectTransport(): UiTransport {
  if (window.timbre) return createElectronTransport(window.timbre);
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('timbre-token', fromHash);
    history.replaceState(null, '', location.pathname + location.search); // keep the token out of the address bar
  }
  const token = fromHash ?? sessionStorage.getItem('timbre-token');
  if (!token) throw new UiEngineError({ code: 'UNAUTHORIZED', message: 'This page needs the link printed by "npm run web" (it carries the access token).' });
  return createHttpTransport(location.origin, token);
}
