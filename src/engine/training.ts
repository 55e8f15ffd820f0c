// Training jobs of the engine: validates a request against the trainers' table and the voices that exist,
// runs one trainer at a time (resuming from TIMBRE_HOME/checkpoints/<name>), and emits typed events.

import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { timbrePaths } from '../io/paths.js';
import { readModelFile } from '../nn/modelFile.js';
import type { StepEvent, TrainResult } from '../nn/trainingLoop.js';
import type {
  TrainerInfo,
  TrainingJob,
  TrainingJobEvents,
  TrainingOutcome,
  TrainingProgress,
  TrainRequest,
  VoiceInfo,
} from './api.js';
import { EngineError, toErrorInfo } from './errors.js';
import { TypedEmitter } from './events.js';
import { TRAINER_NAMES, TRAINERS, trainerEntry, type TrainerEntry, type TrainRunSettings } from './trainers.js';
import { validateTrainRequest } from './validate.js';

/** Display names of the trainers. */
const TRAINER_LABELS: Readonly<Record<string, string>> = { 'speaker-encoder': 'Speaker encoder', vae: 'VAE', cyclegan: 'CycleGAN-VC' };

/** Fewest milliseconds between two progress events (the last step is always sent). */
export const PROGRESS_INTERVAL_MS = 100;

/** What the training host needs from its engine. */
export interface TrainingHostOptions {
  /** TIMBRE_HOME (undefined: the default). */
  home: string | undefined;
  listVoices(): Promise<VoiceInfo[]>;
  /** Loads the TensorFlow.js backend before the first run. */
  ensureBackend(): Promise<void>;
  /** Called after a model file was written (the registry rescans). */
  onModelWritten(modelId: string): void;
}

/** The engine's training side. */
export interface TrainingHost {
  listTrainers(): TrainerInfo[];
  /** Validates, prepares (argument and data errors reject here) and starts a run. */
  train(request: unknown): Promise<TrainingJob>;
  /** Asks a running training to stop after its current step; false when `jobId` is not a training of this host. */
  cancel(jobId: string): boolean;
  /** Cancels the running training and waits for its checkpoint. */
  destroy(): Promise<void>;
}

/** A resolved request: which trainer, its folder name and its settings besides the shared ones. */
interface Plan {
  entry: TrainerEntry;
  name: string;
  defaults: { steps: number; batchSize: number };
  config: Record<string, unknown>;
  extra: Pick<TrainRunSettings, 'to' | 'from' | 'addVoice' | 'base'>;
}

class EngineTrainingJob implements TrainingJob {
  readonly emitter = new TypedEmitter<TrainingJobEvents>((error) => console.error('timbre: a training listener threw:', error));
  finished: Promise<TrainingOutcome> = Promise.resolve() as unknown as Promise<TrainingOutcome>;
  cancelRequested = false;
  cancelRun: (() => void) | undefined;
  constructor(readonly id: string) {}
  on<E extends keyof TrainingJobEvents>(event: E, listener: (...args: TrainingJobEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }
  cancel(): void {
    this.cancelRequested = true;
    this.cancelRun?.();
  }
  destroy(): void {
    this.emitter.unAll();
  }
}

let counter = 0;
const newTrainingId = (): string => `train-${Date.now().toString(36)}-${(++counter).toString(36)}`;

/** Creates the training side of an engine. */
export function createTrainingHost(options: TrainingHostOptions): TrainingHost {
  const paths = timbrePaths(options.home);
  let running: EngineTrainingJob | undefined;
  const ended: string[] = []; // ids of the last runs, so cancelling one that just ended is not an error

  async function findVoice(field: string, id: string, kinds: readonly VoiceInfo['kind'][]): Promise<VoiceInfo> {
    const voices = await options.listVoices();
    const voice = voices.find((v) => v.id === id);
    const wanted = voices.filter((v) => kinds.includes(v.kind)).map((v) => v.id);
    if (voice === undefined) throw new EngineError('VOICE_NOT_FOUND', `voice "${id}" is not known; ${kinds.join(' or ')} voices: ${wanted.join(', ') || 'none'}`, field);
    if (!kinds.includes(voice.kind)) throw new EngineError('INVALID_ARGUMENT', `${field} must be a ${kinds.join(' or ')} voice; "${id}" is a ${voice.kind} voice`, field);
    return voice;
  }

  async function plan(request: TrainRequest): Promise<Plan> {
    const { target } = request;
    const tiny = request.preset === 'tiny';
    if (target.kind === 'model') {
      const entry = trainerEntry(target.model);
      if (entry === undefined) throw new EngineError('INVALID_ARGUMENT', `target.model must be one of the trainers ${TRAINER_NAMES.join(', ')}, got "${target.model}"`, 'target.model');
      if (entry.needsTarget) throw new EngineError('INVALID_ARGUMENT', `${target.model} trains a pair of voices; ask for { kind: "cyclegan-pair", from, to }`, 'target.model');
      return { entry, name: target.model, defaults: entry.defaults, config: tiny ? { ...entry.tinyConfig } : {}, extra: {} };
    }
    if (target.kind === 'vae-add-voice') {
      await findVoice('target.voice', target.voice, ['user']);
      const { shippedVaePath } = await import('../models/vae/convert.js');
      const { ADD_VOICE_DEFAULTS } = await import('../models/vae/adapt.js');
      const own = join(paths.models, 'vae', 'model.timbre');
      const base = existsSync(own) ? own : shippedVaePath();
      if (!existsSync(base)) throw new EngineError('MODEL_UNAVAILABLE', `there is no VAE to add voice "${target.voice}" to (looked for ${own} and ${base}); train a VAE first`, 'target');
      return { entry: TRAINERS.vae, name: `vae-${target.voice}`, defaults: ADD_VOICE_DEFAULTS, config: {}, extra: { addVoice: target.voice, base } };
    }
    await findVoice('target.to', target.to, ['corpus', 'user']);
    if (target.from !== 'any') await findVoice('target.from', target.from, ['corpus', 'user']);
    if (target.from === target.to) throw new EngineError('INVALID_ARGUMENT', `target.from and target.to are both "${target.to}"; a pair needs two voices (or from "any")`, 'target.from');
    const entry = TRAINERS.cyclegan;
    return { entry, name: entry.folder!(target.to, target.from), defaults: entry.defaults, config: tiny ? { ...entry.tinyConfig } : {}, extra: { to: target.to, from: target.from } };
  }

  /** Step of an existing checkpoint, or null; refuses one made with other steps, batch or seed. */
  async function checkpointStep(runDir: string, settings: { steps: number; batchSize: number; seed: number }): Promise<number | null> {
    const path = join(runDir, 'checkpoint.timbre');
    if (!existsSync(path)) return null;
    const { header } = await readModelFile(path);
    const saved = header.hyperparameters as { batchSize?: number; totalSteps?: number; seed?: number };
    const step = (header.extra as { step?: number } | undefined)?.step ?? 0;
    const differences = [
      saved.totalSteps !== settings.steps ? `steps ${String(saved.totalSteps)} (now ${settings.steps})` : '',
      saved.batchSize !== settings.batchSize ? `batch size ${String(saved.batchSize)} (now ${settings.batchSize})` : '',
      saved.seed !== settings.seed ? `seed ${String(saved.seed)} (now ${settings.seed})` : '',
    ].filter((d) => d !== '');
    if (differences.length > 0) {
      throw new EngineError('CHECKPOINT_MISMATCH', `the checkpoint of this run (step ${step}) was made with ${differences.join(', ')}; use those settings to resume, or start over (fresh)`, 'steps');
    }
    return step;
  }

  async function train(raw: unknown): Promise<TrainingJob> {
    const request = validateTrainRequest(raw);
    if (running !== undefined) throw new EngineError('JOB_BUSY', `a training (${running.id}) is running; cancel it or wait for it to finish`, 'request');
    const job = new EngineTrainingJob(newTrainingId());
    running = job; // reserve the slot while preparing
    try {
      const p = await plan(request);
      const outPath = join(paths.models, p.name, 'model.timbre');
      if (existsSync(outPath) && request.overwrite !== true) {
        throw new EngineError('OUTPUT_EXISTS', `a model "${p.name}" already exists (${outPath}); ask to overwrite it, or remove it first`, 'overwrite');
      }
      const runDir = join(paths.checkpoints, p.name);
      if (request.fresh === true) {
        await rm(join(runDir, 'checkpoint.timbre'), { force: true });
        await rm(join(runDir, 'losses.csv'), { force: true });
      }
      const steps = request.steps ?? p.defaults.steps;
      const batchSize = request.batchSize ?? p.defaults.batchSize;
      const seed = request.seed ?? 0;
      const resumedAt = await checkpointStep(runDir, { steps, batchSize, seed });
      if (resumedAt !== null && resumedAt >= steps) await rm(join(runDir, 'checkpoint.timbre'), { force: true }); // a finished run's leftover
      await mkdir(runDir, { recursive: true });
      await mkdir(join(paths.models, p.name), { recursive: true });
      await options.ensureBackend();
      const settings: TrainRunSettings = {
        home: options.home,
        steps,
        batchSize,
        seed,
        workers: 1,
        runDir,
        resume: true,
        logEvery: Math.max(1, Math.min(p.entry.defaults.logEvery, Math.ceil(steps / 20))),
        validateEvery: p.extra.addVoice === undefined ? p.entry.defaults.validateEvery : 0,
        checkpointEvery: request.checkpointEvery ?? p.entry.defaults.checkpointEvery,
        config: p.config,
        log: () => undefined,
        ...p.extra,
      };
      const run = await p.entry.prepare(settings);
      job.cancelRun = () => run.trainer.cancel();
      if (job.cancelRequested) run.trainer.cancel();
      const startStep = resumedAt !== null && resumedAt < steps ? resumedAt : 0;
      job.finished = execute(job, run, { name: p.name, outPath, steps, startStep, overwrite: request.overwrite === true, request });
      job.finished.catch(() => undefined);
      return job;
    } catch (error) {
      running = undefined;
      throw error;
    }
  }

  async function execute(
    job: EngineTrainingJob,
    run: Awaited<ReturnType<TrainerEntry['prepare']>>,
    info: { name: string; outPath: string; steps: number; startStep: number; overwrite: boolean; request: TrainRequest },
  ): Promise<TrainingOutcome> {
    const { emitter } = job;
    const { trainer } = run;
    let lastSentMs = 0;
    let unsent: TrainingProgress | undefined;
    const toProgress = (e: StepEvent): TrainingProgress => ({
      jobId: job.id,
      step: e.step,
      totalSteps: e.totalSteps,
      losses: { ...e.losses },
      stepsPerSecond: e.stepsPerSecond,
      etaSeconds: Number.isFinite(e.etaSeconds) ? e.etaSeconds : 0,
    });
    const offs = [
      trainer.on('step', (e) => {
        const now = performance.now();
        const progress = toProgress(e);
        if (e.step === e.totalSteps || now - lastSentMs >= PROGRESS_INTERVAL_MS || lastSentMs === 0) {
          lastSentMs = now;
          unsent = undefined;
          emitter.emit('progress', progress);
        } else unsent = progress;
      }),
      trainer.on('validation', (e) => emitter.emit('validation', { jobId: job.id, step: e.step, losses: { ...e.losses } })),
      trainer.on('checkpoint', (e) => emitter.emit('checkpoint', { jobId: job.id, step: e.step })),
    ];
    // Let the caller subscribe before the first event.
    await new Promise((resolve) => setTimeout(resolve, 0));
    emitter.emit('start', { jobId: job.id, name: info.name, startStep: info.startStep, totalSteps: info.steps, resumed: info.startStep > 0 });
    const started = performance.now();
    try {
      let result: TrainResult;
      try {
        result = await trainer.run();
      } finally {
        for (const off of offs) off();
      }
      if (unsent !== undefined) emitter.emit('progress', unsent);
      const seconds = (performance.now() - started) / 1000;
      if (result.cancelled) {
        const cancelled = { jobId: job.id, step: result.step, totalSteps: result.totalSteps };
        emitter.emit('cancelled', cancelled);
        return { kind: 'cancelled', cancelled };
      }
      const notes = await run.finish(result, info.outPath, { overwrite: info.overwrite, command: `engine train ${JSON.stringify(info.request)}`, trainingSeconds: seconds });
      const modelId = `user/${info.name}`;
      options.onModelWritten(modelId);
      const done = { jobId: job.id, modelId, modelPath: info.outPath, steps: result.totalSteps, seconds, notes };
      emitter.emit('done', done);
      return { kind: 'done', done };
    } catch (error) {
      emitter.emit('error', toErrorInfo(error));
      throw error;
    } finally {
      await run.dispose().catch(() => undefined);
      if (running === job) running = undefined;
      ended.push(job.id);
      if (ended.length > 16) ended.shift();
    }
  }

  return {
    listTrainers: () =>
      TRAINER_NAMES.map((name) => {
        const entry = TRAINERS[name];
        return { name, label: TRAINER_LABELS[name] ?? name, summary: entry.summary, defaultSteps: entry.defaults.steps, defaultBatchSize: entry.defaults.batchSize, pairwise: entry.needsTarget === true };
      }),
    train,
    cancel(jobId) {
      if (running?.id === jobId) {
        running.cancel();
        return true;
      }
      return ended.includes(jobId);
    },
    async destroy() {
      const job = running;
      if (job === undefined) return;
      job.cancel();
      await job.finished.catch(() => undefined);
      job.destroy();
    },
  };
}
