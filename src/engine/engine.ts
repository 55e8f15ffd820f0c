// The engine: the one implementation of `TimbreApi`. Validates every argument, runs conversion jobs
// one after another (each lane = one model), emits typed job events, keeps recent jobs for export.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimbreInputError } from '../audio/errors.js';
import type { Vocoder } from '../audio/griffinLim.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import type { ConversionTarget } from '../models/converter.js';
import type {
  AddVoiceRequest,
  ConversionJob,
  ConversionJobEvents,
  ConversionResult,
  ConvertRequest,
  EngineInfo,
  ExportFile,
  ExportRequest,
  JobStage,
  LaneFailure,
  LaneResult,
  ModelFamily,
  ModelInfo,
  ModelSelection,
  SourceResult,
  TimbreApi,
  TrainingJob,
  TrainRequest,
  VoiceInfo,
  VoiceReach,
} from './api.js';
import { CancelledError, EngineError, toErrorInfo } from './errors.js';
import { TypedEmitter } from './events.js';
import { homeModelRegistry, type ModelRegistry } from './modelRegistry.js';
import { defaultVocoderChoice, installedVocoderPath } from '../models/vocoder/files.js';
import { LanePool, defaultLaneWorkers, type LaneVocoder } from './lanePool.js';
import { runLaneSteps } from './laneSchedule.js';
import { cancellableGriffinLimVocoder, convertLaneMel, prepareSource, renderLane, type ConvertedMel, type LaneAudio, type PreparedSource } from './pipeline.js';
import { buildReportHtml } from './report.js';
import { createSpeakerSimilarity, type SpeakerSimilarity } from './similarity.js';
import { createTrainingHost, type TrainRunOptions } from './training.js';
import { validateAddVoiceRequest, validateConvertRequest, validateExportRequest, validateId } from './validate.js';
import { createVoiceSource, type ProvidedVoice, type VoiceSource } from './voiceSource.js';
import { zipStore } from './zip.js';

/** Version reported by `info()`. */
export const ENGINE_VERSION = '0.1.0';

/** Options of `createEngine`; all optional. */
export interface EngineOptions {
  /** TIMBRE_HOME of user voices, trained models and checkpoints; default `$TIMBRE_HOME` or the OS app-data folder. */
  home?: string;
  /** Model registry; default scans assets/models and TIMBRE_HOME/models. */
  registry?: ModelRegistry;
  /** Voice source; default `./voices.js` plus `voices`. */
  voiceSource?: VoiceSource;
  /** Extra voices given in-process (tests, demos). */
  voices?: readonly ProvidedVoice[];
  /** Largest input, bytes; default 100 MB. */
  maxInputBytes?: number;
  /** Longest input, seconds; default 300. */
  maxInputSeconds?: number;
  /** Shortest input converted, seconds; default 0 (any input of at least two frames). */
  minInputSeconds?: number;
  /** Finished jobs kept for export; default 4. */
  keepJobs?: number;
  /** Accept `{ kind: 'path' }` inputs; default true (the server turns it off). */
  allowPaths?: boolean;
  /** Vocoder factory by Griffin-Lim iterations; default `cancellableGriffinLimVocoder`. */
  vocoder?: (griffinLimIterations: number) => Vocoder;
  /** Speaker similarity of a lane to its target; default the shipped speaker encoder (`./similarity.ts`); false = none. */
  speakerSimilarity?: SpeakerSimilarity | false;
  /**
   * Worker threads that convert lanes of models on disk beside this thread (lanePool.ts); default one per further core,
   * at most 1 (`TIMBRE_LANE_WORKERS` overrides); 0 = every lane here. Not used with a given `registry` or `vocoder`.
   */
  laneWorkers?: number;
}

/** The in-process engine: `TimbreApi` plus what only its owner may do. */
export interface Engine extends TimbreApi {
  readonly registry: ModelRegistry;
  /** Starts a training run with every run option (the CLI's `timbre train`); `train` offers the app's subset. */
  trainRun(options: TrainRunOptions): Promise<TrainingJob>;
  /** Cancels running jobs, drops kept jobs and frees loaded models. */
  destroy(): Promise<void>;
}

interface StoredLane {
  result: LaneResult;
  audio: LaneAudio;
  /** Position in the job's plan (lanes may finish out of order). */
  index: number;
}

/** Relative cost of a lane by family, to start the slow ones first when lanes run side by side. */
const LANE_COST: Readonly<Record<ModelFamily, number>> = { cyclediffusion: 4, diffvc: 4, cyclegan: 2, vae: 1 };

interface JobRecord {
  id: string;
  targetVoiceId: string;
  targetKind: VoiceInfo['kind'];
  emitter: TypedEmitter<ConversionJobEvents>;
  controller: AbortController;
  source?: SourceResult;
  prepared?: PreparedSource;
  lanes: StoredLane[];
  failures: LaneFailure[];
  finished: Promise<ConversionResult>;
  ended: boolean;
}

class EngineJob implements ConversionJob {
  constructor(private readonly record: JobRecord) {}
  get id(): string {
    return this.record.id;
  }
  get finished(): Promise<ConversionResult> {
    return this.record.finished;
  }
  on<E extends keyof ConversionJobEvents>(event: E, listener: (...args: ConversionJobEvents[E]) => void): () => void {
    return this.record.emitter.on(event, listener);
  }
  cancel(): void {
    this.record.controller.abort();
  }
  destroy(): void {
    this.record.emitter.unAll();
  }
}

let jobCounter = 0;
const newJobId = (): string => `job-${Date.now().toString(36)}-${(++jobCounter).toString(36)}`;

/** File-name-safe form of an id. */
export function safeFileName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'lane';
}

/** Creates the engine. */
export function createEngine(options: EngineOptions = {}): Engine {
  const home = options.home;
  const registry = options.registry ?? homeModelRegistry(home);
  const laneWorkers = options.registry !== undefined ? 0 : (options.laneWorkers ?? defaultLaneWorkers());
  const lanePool = laneWorkers > 0 ? new LanePool({ home, workers: laneWorkers }) : undefined;
  const voices = options.voiceSource ?? createVoiceSource(options.voices ?? [], home === undefined ? {} : { home });
  const maxInputBytes = options.maxInputBytes ?? 100_000_000;
  const maxInputSeconds = options.maxInputSeconds ?? 300;
  const minInputSeconds = options.minInputSeconds ?? 0;
  const keepJobs = options.keepJobs ?? 4;
  const allowPaths = options.allowPaths ?? true;
  const makeVocoder = options.vocoder ?? cancellableGriffinLimVocoder;
  // The neural vocoder loads on first use and stays for the engine's life.
  let neural: Promise<{ vocode: Vocoder; dispose(): void }> | undefined;
  const neuralVocoder = (): Promise<{ vocode: Vocoder; dispose(): void }> => {
    neural ??= (async () => {
      await ensureBackend();
      const { loadInstalledVocoder } = await import('../models/vocoder/convert.js');
      return loadInstalledVocoder(home);
    })();
    return neural.catch((error: unknown) => {
      neural = undefined;
      throw new EngineError('MODEL_UNAVAILABLE', (error as Error).message, 'vocoder');
    });
  };
  const jobs = new Map<string, JobRecord>();
  let queue: Promise<unknown> = Promise.resolve();
  let destroyed = false;
  let backendName: string | undefined;

  /** Loads the TensorFlow.js backend once, before the first trained (non-registered) model runs. */
  async function ensureBackend(): Promise<void> {
    if (backendName !== undefined) return;
    const { initBackend } = await import('../nn/backend.js');
    backendName = (await initBackend()).name;
  }

  // The speaker encoder (loaded on first use) embeds the targets of any-voice models and, unless replaced or turned
  // off, measures each lane's similarity to its target.
  const speakerEncoder = createSpeakerSimilarity({ ...(home === undefined ? {} : { home }), ensureBackend, referenceMels: (id) => voices.referenceMels(id) });
  const similarity: SpeakerSimilarity | undefined =
    options.speakerSimilarity === false ? undefined : options.speakerSimilarity === undefined ? speakerEncoder.measure : options.speakerSimilarity;
  const training = createTrainingHost({
    home,
    listVoices: () => voices.list(),
    ensureBackend,
    onModelWritten: (modelId) => {
      registry.unload(modelId);
      registry.rescan();
      lanePool?.reload(modelId);
    },
  });

  const checkAlive = (): void => {
    if (destroyed) throw new EngineError('INTERNAL', 'the engine has been destroyed');
  };

  async function findVoice(voiceId: string): Promise<VoiceInfo> {
    const list = await voices.list();
    const voice = list.find((v) => v.id === voiceId);
    if (voice === undefined) {
      throw new EngineError('VOICE_NOT_FOUND', `target voice "${voiceId}" is not known; known voices: ${list.map((v) => v.id).join(', ') || 'none'}`, 'targetVoiceId');
    }
    return voice;
  }

  const canTarget = (model: ModelInfo, voiceId: string): boolean => model.targetVoices.includes('*') || model.targetVoices.includes(voiceId);

  async function resolveModels(selection: readonly ModelSelection[] | undefined, voiceId: string): Promise<{ model: ModelInfo; selection: ModelSelection }[]> {
    if (selection === undefined) {
      const usable = (await registry.list()).filter((m) => m.available && canTarget(m, voiceId));
      if (usable.length === 0) throw new EngineError('MODEL_UNAVAILABLE', `no available model can produce voice "${voiceId}" yet`, 'models');
      return usable.map((model) => ({ model, selection: { modelId: model.id, settings: {} } }));
    }
    const out: { model: ModelInfo; selection: ModelSelection }[] = [];
    for (const [i, s] of selection.entries()) {
      const model = await registry.info(s.modelId);
      if (!model.available) throw new EngineError('MODEL_UNAVAILABLE', `model "${model.id}" cannot be used: ${model.unavailableReason ?? 'unavailable'}`, `models[${i}].modelId`);
      if (!canTarget(model, voiceId)) {
        throw new EngineError('MODEL_CANNOT_TARGET', `model "${model.id}" cannot produce voice "${voiceId}"; it produces ${model.targetVoices.join(', ')}`, `models[${i}].modelId`);
      }
      for (const key of Object.keys(s.settings ?? {})) {
        if (key !== 'seed' && !model.settings.some((spec) => spec.key === key)) {
          throw new EngineError('INVALID_ARGUMENT', `model "${model.id}" has no setting "${key}"; it has ${model.settings.map((x) => x.key).join(', ')}`, `models[${i}].settings.${key}`);
        }
      }
      out.push({ model, selection: s });
    }
    return out;
  }

  function prune(): void {
    const ended = [...jobs.values()].filter((j) => j.ended);
    for (const job of ended.slice(0, Math.max(0, ended.length - keepJobs))) {
      job.emitter.unAll();
      jobs.delete(job.id);
    }
  }

  async function runJob(
    record: JobRecord,
    prepared: PreparedSource,
    plan: { model: ModelInfo; selection: ModelSelection }[],
    iterations: number,
    vocoderChoice: 'griffin-lim' | 'neural',
  ): Promise<ConversionResult> {
    const started = performance.now();
    const { emitter, controller } = record;
    const signal = controller.signal;
    const vocoder = vocoderChoice === 'neural' ? (await neuralVocoder()).vocode : makeVocoder(iterations);
    // Any-voice models get the target's reference mels and d-vector; a model's own voices ignore them.
    const needsReference = plan.some(({ model }) => model.origin !== 'registered' && model.targetVoices.includes('*'));
    const referenceMels = needsReference ? await voices.referenceMels(record.targetVoiceId) : undefined;
    const speakerEmbedding = needsReference
      ? await speakerEncoder.targetEmbedding({ voiceId: record.targetVoiceId, kind: record.targetKind }).catch((error: unknown) => {
          console.error(`timbre: no speaker embedding of "${record.targetVoiceId}": ${(error as Error).message}`); // a model without its own copy of the voice says so
          return undefined;
        })
      : undefined;
    const target: ConversionTarget = {
      voiceId: record.targetVoiceId,
      ...(referenceMels !== undefined ? { referenceMels } : {}),
      ...(speakerEmbedding !== undefined ? { speakerEmbedding } : {}),
    };
    // Let the caller subscribe before the first event.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (plan.some(({ model }) => model.origin !== 'registered')) await ensureBackend();
    emitter.emit('source', record.source!);
    const fractions = plan.map(() => 0);
    const ended = new Set<number>();
    // One runner on this thread and one per lane worker (laneSchedule.ts): alone, lane by lane in plan order; side by
    // side the costliest conversions go first and the renderings fill the end.
    const onDisk = plan.filter(({ model }) => model.origin !== 'registered').length;
    const workers = onDisk >= 2 && (vocoderChoice === 'neural' || options.vocoder === undefined) ? (lanePool?.size ?? 0) : 0;
    const order = plan.map((_, i) => i);
    if (workers > 0) order.sort((a, b) => LANE_COST[plan[b]!.model.family] - LANE_COST[plan[a]!.model.family] || a - b);
    const laneVocoder: LaneVocoder = vocoderChoice === 'neural' ? { kind: 'neural' } : { kind: 'griffin-lim', iterations };
    // Per lane: `progress` emits every event; `onProgress` (given to the steps) at most ~20 a second within a stage.
    const laneProgress = plan.map(({ model }, index) => {
      const progress = (stage: JobStage, fraction: number): void => {
        fractions[index] = fraction;
        emitter.emit('progress', { jobId: record.id, modelId: model.id, stage, fraction, overallFraction: fractions.reduce((a, b) => a + b, 0) / plan.length });
      };
      let lastEmitMs = 0;
      let lastStage = '';
      const onProgress = (stage: JobStage, fraction: number): void => {
        const now = performance.now();
        if (stage === lastStage && now - lastEmitMs < 50) return;
        lastEmitMs = now;
        lastStage = stage;
        progress(stage, fraction);
      };
      return { progress, onProgress };
    });
    const fail = (index: number, error: unknown): void => {
      if (error instanceof CancelledError || signal.aborted) return;
      const failure: LaneFailure = { jobId: record.id, modelId: plan[index]!.model.id, error: toErrorInfo(error) };
      record.failures.push(failure);
      ended.add(index);
      laneProgress[index]!.progress('failed', 1);
      emitter.emit('laneError', failure);
    };
    const convertStep = async (index: number, slot: number | null): Promise<ConvertedMel | undefined> => {
      const { model, selection } = plan[index]!;
      const { progress, onProgress } = laneProgress[index]!;
      progress('converting', 0);
      const settings = selection.settings ?? {};
      try {
        return slot === null
          ? await convertLaneMel(prepared, await registry.converter(model.id), target, settings, { signal, onProgress })
          : await lanePool!.convert(slot, { modelId: model.id, source: { logMel: prepared.logMel }, target, settings }, { signal, onProgress });
      } catch (error) {
        fail(index, error);
        return undefined;
      }
    };
    const renderStep = async (index: number, converted: ConvertedMel, slot: number | null): Promise<void> => {
      const { model, selection } = plan[index]!;
      const { progress, onProgress } = laneProgress[index]!;
      const settings = selection.settings ?? {};
      try {
        const audio =
          slot === null
            ? await renderLane(converted, prepared.speech, { vocoder, signal, onProgress })
            : await lanePool!.render(slot, { converted, sourceSpeech: prepared.speech, vocoder: laneVocoder }, { signal, onProgress });
        let speakerSimilarity: number | undefined;
        try {
          speakerSimilarity = await similarity?.({ logMel: audio.logMel, samples: audio.samples }, { voiceId: record.targetVoiceId, kind: record.targetKind });
        } catch (error) {
          console.error(`timbre: speaker similarity failed for ${model.id}: ${(error as Error).message}`); // a metric, not a reason to fail the lane
        }
        const result: LaneResult = {
          jobId: record.id,
          laneId: `${record.id}.${index}`,
          modelId: model.id,
          family: model.family,
          label: model.label,
          targetVoiceId: record.targetVoiceId,
          settings,
          wav: audio.wav,
          sampleRateHz: MEL_CONFIG.sampleRateHz,
          durationSeconds: audio.durationSeconds,
          processingSeconds: audio.processingSeconds,
          realTimeFactor: audio.realTimeFactor,
          f0MedianHz: audio.f0MedianHz,
          vocoder: vocoderChoice,
        };
        if (speakerSimilarity !== undefined) result.speakerSimilarity = speakerSimilarity;
        record.lanes.push({ result, audio, index });
        ended.add(index);
        progress('done', 1);
        emitter.emit('lane', result);
      } catch (error) {
        fail(index, error);
      }
    };
    await runLaneSteps({ order, workers, convertsOnWorker: (i) => plan[i]!.model.origin !== 'registered', convert: convertStep, render: renderStep, signal });
    record.lanes.sort((a, b) => a.index - b.index);
    if (signal.aborted) {
      for (const [index, { model }] of plan.entries()) {
        if (!ended.has(index)) emitter.emit('progress', { jobId: record.id, modelId: model.id, stage: 'cancelled', fraction: 0, overallFraction: 1 });
      }
    }
    return {
      jobId: record.id,
      targetVoiceId: record.targetVoiceId,
      source: record.source!,
      lanes: record.lanes.map((l) => l.result),
      failures: record.failures,
      cancelled: signal.aborted,
      totalSeconds: (performance.now() - started) / 1000,
    };
  }

  async function convert(request: ConvertRequest): Promise<ConversionJob> {
    checkAlive();
    const valid = validateConvertRequest(request, { maxBytes: maxInputBytes, allowPaths });
    const targetVoice = await findVoice(valid.targetVoiceId);
    const plan = await resolveModels(valid.models, valid.targetVoiceId);
    let bytes: Uint8Array;
    let sourceName: string;
    if (valid.input.kind === 'path') {
      sourceName = valid.input.path;
      try {
        bytes = new Uint8Array(await readFile(valid.input.path));
      } catch (error) {
        throw new EngineError('INVALID_AUDIO', `cannot read ${valid.input.path}: ${(error as Error).message}`, 'input.path');
      }
      if (bytes.length > maxInputBytes) throw new EngineError('INPUT_TOO_LARGE', `${valid.input.path} is ${(bytes.length / 1e6).toFixed(1)} MB; the limit is ${(maxInputBytes / 1e6).toFixed(0)} MB`, 'input.path');
    } else {
      bytes = valid.input.bytes;
      sourceName = valid.input.name ?? 'the input WAV';
    }
    const prepared = prepareSource(bytes, { sourceName, maxDurationSeconds: maxInputSeconds });
    if (prepared.durationSeconds < minInputSeconds) {
      throw new EngineError('INVALID_AUDIO', `${sourceName} is ${prepared.durationSeconds.toFixed(3)} s long; give at least ${minInputSeconds} s of speech to convert`, 'input');
    }
    const id = newJobId();
    const controller = new AbortController();
    const record: JobRecord = {
      id,
      targetVoiceId: valid.targetVoiceId,
      targetKind: targetVoice.kind,
      emitter: new TypedEmitter<ConversionJobEvents>((error) => console.error('timbre: a job listener threw:', error)),
      controller,
      prepared,
      lanes: [],
      failures: [],
      finished: Promise.resolve() as unknown as Promise<ConversionResult>,
      ended: false,
    };
    record.source = {
      jobId: id,
      wav: prepared.wav,
      sampleRateHz: MEL_CONFIG.sampleRateHz,
      durationSeconds: prepared.durationSeconds,
      originalSampleRateHz: prepared.originalSampleRateHz,
      f0MedianHz: prepared.f0MedianHz,
      warnings: prepared.warnings,
    };
    jobs.set(id, record);
    const iterations = valid.griffinLimIterations ?? 32;
    // Unnamed: Griffin-Lim when its iterations or a Griffin-Lim factory are given, else the installed default.
    const vocoderChoice = valid.vocoder ?? (valid.griffinLimIterations !== undefined || options.vocoder !== undefined ? 'griffin-lim' : defaultVocoderChoice(home));
    if (vocoderChoice === 'neural') await neuralVocoder(); // no job without the vocoder it asks for
    const run = queue.then(() => runJob(record, prepared, plan, iterations, vocoderChoice));
    queue = run.catch(() => undefined);
    record.finished = run.then(
      (result) => {
        record.ended = true;
        record.emitter.emit('done', result);
        prune();
        return result;
      },
      (error: unknown) => {
        record.ended = true;
        record.emitter.emit('error', toErrorInfo(error));
        prune();
        throw error;
      },
    );
    record.finished.catch(() => undefined); // the 'error' event carries it; callers may still await
    return new EngineJob(record);
  }

  function jobOf(jobId: unknown): JobRecord {
    const id = validateId('jobId', jobId);
    const record = jobs.get(id);
    if (record === undefined) throw new EngineError('JOB_NOT_FOUND', `job "${id}" is not known (finished jobs are kept for the last ${keepJobs} conversions)`, 'jobId');
    return record;
  }

  return {
    registry,
    async info(): Promise<EngineInfo> {
      const neuralPath = installedVocoderPath(home);
      const neuralIsDefault = options.vocoder === undefined && neuralPath !== undefined; // defaultVocoderChoice, from the path already found
      const info: EngineInfo = {
        version: ENGINE_VERSION,
        sampleRateHz: MEL_CONFIG.sampleRateHz,
        maxInputBytes,
        maxInputSeconds,
        vocoders: [
          { id: 'griffin-lim', label: 'Griffin-Lim (32 iterations)', available: true, isDefault: !neuralIsDefault },
          neuralPath !== undefined
            ? { id: 'neural', label: 'Neural vocoder', available: true, isDefault: neuralIsDefault }
            : { id: 'neural', label: 'Neural vocoder', available: false, unavailableReason: 'no neural vocoder is installed (train one with: timbre train vocoder)', isDefault: false },
        ],
      };
      if (backendName !== undefined) info.backend = backendName;
      return info;
    },
    async listVoices() {
      checkAlive();
      return voices.list();
    },
    async voicePreview(voiceId) {
      checkAlive();
      const id = validateId('voiceId', voiceId);
      const bytes = await voices.preview(id);
      return { fileName: `${safeFileName(id)}-preview.wav`, mimeType: 'audio/wav', bytes };
    },
    async listModels() {
      checkAlive();
      return registry.list();
    },
    convert,
    async compare(request) {
      const { models: _ignored, ...rest } = request as ConvertRequest;
      return convert(rest);
    },
    async cancel(jobId) {
      const id = validateId('jobId', jobId);
      if (training.cancel(id)) return;
      jobOf(id).controller.abort();
    },
    async listTrainers() {
      return training.listTrainers();
    },
    async train(request: TrainRequest): Promise<TrainingJob> {
      checkAlive();
      return training.train(request);
    },
    async trainRun(options: TrainRunOptions): Promise<TrainingJob> {
      checkAlive();
      return training.trainRun(options);
    },
    async addVoice(request: AddVoiceRequest): Promise<VoiceInfo> {
      checkAlive();
      const valid = validateAddVoiceRequest(request);
      const module = await import('./voices.js');
      const dir = await mkdtemp(join(tmpdir(), 'timbre-voice-'));
      try {
        const files: string[] = [];
        for (const [i, recording] of valid.recordings.entries()) {
          const path = join(dir, `${i + 1}-${safeFileName(recording.name ?? 'recording.wav').replace(/\.wav$/i, '')}.wav`);
          await writeFile(path, recording.bytes);
          files.push(path);
        }
        await module.addVoice(valid.name, files, { ...(home === undefined ? {} : { home }), force: valid.replace === true });
      } catch (error) {
        if (error instanceof TimbreInputError && !(error instanceof EngineError)) {
          const field = /NAME|EXISTS/.test(error.code) ? 'name' : 'recordings';
          throw new EngineError(error.code, error.message.replace(dir, '').replace(/\/\d+-/, ''), field);
        }
        throw error;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const voice = (await voices.list()).find((v) => v.id === valid.name);
      if (voice === undefined) throw new EngineError('INTERNAL', `voice "${valid.name}" was stored but is not listed`);
      return voice;
    },
    async removeVoice(voiceId) {
      checkAlive();
      const id = validateId('voiceId', voiceId);
      const voice = (await voices.list()).find((v) => v.id === id);
      if (voice === undefined) throw new EngineError('VOICE_NOT_FOUND', `there is no voice "${id}"`, 'voiceId');
      if (voice.kind !== 'user') throw new EngineError('INVALID_ARGUMENT', `"${id}" is a ${voice.kind} voice; only your own voices can be removed`, 'voiceId');
      const module = await import('./voices.js');
      await module.removeVoice(id, home === undefined ? {} : { home });
    },
    async voiceReach(voiceId): Promise<VoiceReach> {
      checkAlive();
      const id = validateId('voiceId', voiceId);
      const voice = (await voices.list()).find((v) => v.id === id);
      if (voice === undefined) throw new EngineError('VOICE_NOT_FOUND', `there is no voice "${id}"`, 'voiceId');
      if (voice.kind !== 'user') throw new EngineError('INVALID_ARGUMENT', `"${id}" is a ${voice.kind} voice; reach is scored for your own voices`, 'voiceId');
      // After the queued conversions: it converts on this thread too.
      const run = queue.then(async () => {
        await ensureBackend();
        const { measureUserVoiceReach, reachVerdict } = await import('../eval/reach.js');
        let report;
        try {
          report = await measureUserVoiceReach({ home, voice: id });
        } catch (error) {
          if (error instanceof TimbreInputError && !(error instanceof EngineError)) throw new EngineError(error.code, error.message, 'voiceId');
          throw error;
        }
        if ('unscorable' in report) return { voiceId: id, heldOutSeconds: 0, sentences: 0, sources: [], models: [], unscorable: report.unscorable };
        return {
          voiceId: id,
          heldOutSeconds: report.heldOutSeconds,
          sentences: report.sentences.length,
          sources: [...report.sources],
          models: report.lanes.map((l) => ({ ...l, verdict: reachVerdict(l) })),
        };
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async exportLanes(request: ExportRequest): Promise<ExportFile> {
      checkAlive();
      const valid = validateExportRequest(request);
      const record = jobOf(valid.jobId);
      const lanes = valid.laneIds === undefined
        ? record.lanes
        : valid.laneIds.map((laneId) => {
            const lane = record.lanes.find((l) => l.result.laneId === laneId);
            if (lane === undefined) throw new EngineError('LANE_NOT_FOUND', `lane "${laneId}" is not part of job "${record.id}" (or has not finished)`, 'laneIds');
            return lane;
          });
      if (lanes.length === 0) throw new EngineError('LANE_NOT_FOUND', `job "${record.id}" has no finished lane to export yet`, 'laneIds');
      const base = `timbre-${safeFileName(record.targetVoiceId)}`;
      const laneFile = (lane: StoredLane): string => `${base}-${safeFileName(lane.result.modelId)}-${lane.result.laneId.split('.').pop()}.wav`;
      if (valid.format === 'wav') {
        const lane = lanes[0]!;
        return { fileName: laneFile(lane), mimeType: 'audio/wav', bytes: lane.audio.wav };
      }
      const source = record.source!;
      if (valid.format === 'report') {
        const html = buildReportHtml({ source, sourceSamples: record.prepared!.speech, sourceLogMel: record.prepared!.logMel, lanes: lanes.map((l) => ({ result: l.result, samples: l.audio.samples, logMel: l.audio.logMel })) });
        return { fileName: `${base}-report.html`, mimeType: 'text/html', bytes: new TextEncoder().encode(html) };
      }
      const entries = lanes.map((lane) => ({ name: laneFile(lane), bytes: lane.audio.wav }));
      if (valid.includeSource !== false) entries.unshift({ name: `${base}-source.wav`, bytes: source.wav });
      const metrics = {
        targetVoiceId: record.targetVoiceId,
        source: { durationSeconds: source.durationSeconds, originalSampleRateHz: source.originalSampleRateHz, f0MedianHz: source.f0MedianHz },
        lanes: lanes.map(({ result: { wav: _wav, jobId: _job, ...rest } }) => ({ file: laneFile(lanes.find((l) => l.result.laneId === rest.laneId)!), ...rest })),
      };
      entries.push({ name: 'metrics.json', bytes: new TextEncoder().encode(`${JSON.stringify(metrics, null, 2)}\n`) });
      return { fileName: `${base}-lanes.zip`, mimeType: 'application/zip', bytes: zipStore(entries) };
    },
    async destroy() {
      destroyed = true;
      await training.destroy();
      speakerEncoder.dispose();
      for (const record of jobs.values()) {
        record.controller.abort();
        record.emitter.unAll();
      }
      await queue;
      await neural?.then((v) => v.dispose(), () => undefined);
      jobs.clear();
      await lanePool?.close();
      await registry.dispose();
    },
  };
}
