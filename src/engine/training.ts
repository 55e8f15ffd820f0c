// Training jobs of the engine: one planner for the app's requests and the CLI's run options (the trainers' table,
// the voices that exist, output and run folder, warm start, checkpoint rules), one trainer at a time (resuming from
// TIMBRE_HOME/checkpoints/<name>), typed events.

import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { timbrePaths } from '../io/paths.js';
import { readModelFile } from '../nn/modelFile.js';
import { attachProgressPrinter } from '../nn/trainRun.js';
import type { StepEvent, TrainResult } from '../nn/trainingLoop.js';
import { familyEntry } from '../models/registry.js';
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
import { TRAINER_NAMES, TRAINERS, trainerEntry, type TrainerDefaults, type TrainerEntry, type TrainRunSettings } from './trainers.js';
import { validateTrainRequest } from './validate.js';

/** Fewest milliseconds between two progress events (the last step is always sent). */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * A training run with every option the engine's owner may set (the CLI's `timbre train`); the app's `TrainRequest` is
 * the subset it offers. Unset values take the trainer's defaults.
 */
export interface TrainRunOptions {
  /** A trainer of the table (`TRAINER_NAMES`). */
  readonly trainer: string;
  /** Pairwise trainers (cyclegan): the target voice, and the source voice (undefined or 'any': every corpus voice). */
  readonly to?: string | undefined;
  readonly from?: string | undefined;
  /** VAE only: the user voice to add, and the VAE file it extends (default the user's own VAE, else the shipped one). */
  readonly addVoice?: string | undefined;
  readonly base?: string | undefined;
  /** Warm start from this file (trainers with `warmStart`); the run gets a folder of its own. */
  readonly init?: string | undefined;
  /** Continue on the installed converters' outputs (trainers with `converterFineTuneSteps`: the vocoder). */
  readonly fineTune?: boolean;
  readonly steps?: number | undefined;
  readonly batchSize?: number | undefined;
  readonly seed?: number | undefined;
  /** Data-parallel threads, 1 or 2; default 1 (adding a voice trains on one). */
  readonly workers?: number | undefined;
  /** Delete the run's checkpoint and losses first. */
  readonly fresh?: boolean;
  /** Replace an existing model file. */
  readonly overwrite?: boolean;
  /** Model file to write; default TIMBRE_HOME/models/<name>/model.timbre. */
  readonly outPath?: string | undefined;
  /** Run folder (checkpoint.timbre, losses.csv); default TIMBRE_HOME/checkpoints/<name>[-warm|-fine-tune]. */
  readonly runDir?: string | undefined;
  /** Config overrides (a preset naming only what differs). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly logEvery?: number | undefined;
  /** Without `logEvery`: log at least this many times a run (the app's loss chart); default the trainer's interval. */
  readonly logAtLeast?: number;
  readonly validateEvery?: number | undefined;
  readonly checkpointEvery?: number | undefined;
  /** A checkpoint of a finished run: 'resume' writes the model from it again, 'restart' deletes it; default 'resume'. */
  readonly finishedCheckpoint?: 'resume' | 'restart';
  /** Header lines, and one progress line per log interval; default none. */
  readonly log?: (line: string) => void;
  /** Recorded in the model file as the command that made it. */
  readonly command?: string;
  /** How messages name options: the app's request fields (default) or the CLI's flags. */
  readonly naming?: Naming;
}

/** Options a message may name, as the app's request fields and as the CLI's flags. */
const OPTION_NAMES = {
  addVoice: ['target.voice', '--add-voice'],
  base: ['base', '--base'],
  init: ['init', '--init'],
  fineTune: ['fineTune', '--fine-tune'],
  workers: ['workers', '--workers'],
  steps: ['steps', '--steps'],
  batchSize: ['batchSize', '--batch-size'],
  seed: ['seed', '--seed'],
  overwrite: ['overwrite', '--force'],
} as const;
type OptionName = keyof typeof OPTION_NAMES;
type Naming = 'fields' | 'flags';

/** An option as a message of this naming calls it. */
const optionName = (option: OptionName, naming: Naming): string => OPTION_NAMES[option][naming === 'flags' ? 1 : 0];

/** What the training host needs from its engine. */
export interface TrainingHostOptions {
  /** TIMBRE_HOME (undefined: the default). */
  home: string | undefined;
  listVoices(): Promise<VoiceInfo[]>;
  /** Loads the TensorFlow.js backend before the first run. */
  ensureBackend(): Promise<void>;
  /** Called after a model file was written into TIMBRE_HOME/models (the registry rescans). */
  onModelWritten(modelId: string): void;
}

/** The engine's training side. */
export interface TrainingHost {
  listTrainers(): TrainerInfo[];
  /** Validates, prepares (argument and data errors reject here) and starts a run of the app's request. */
  train(request: unknown): Promise<TrainingJob>;
  /** The same with the owner's run options (the CLI); the same checks, folders and checkpoint rules. */
  trainRun(options: TrainRunOptions): Promise<TrainingJob>;
  /** Asks a running training to stop after its current step; false when `jobId` is not a training of this host. */
  cancel(jobId: string): boolean;
  /** Cancels the running training and waits for its checkpoint. */
  destroy(): Promise<void>;
}

/** A run with everything resolved: what `start` needs. */
interface RunPlan {
  entry: TrainerEntry;
  /** Folder name under models/ (and, by default, checkpoints/). */
  name: string;
  outPath: string;
  runDir: string;
  settings: TrainRunSettings;
  fresh: boolean;
  overwrite: boolean;
  finishedCheckpoint: 'resume' | 'restart';
  command: string;
  naming: Naming;
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

  /** The app's request as run options: its target's voices checked, the tiny preset, progress about 20 times a run. */
  async function requestOptions(request: TrainRequest): Promise<TrainRunOptions> {
    const { target } = request;
    const tiny = request.preset === 'tiny';
    const shared = { steps: request.steps, batchSize: request.batchSize, seed: request.seed, fresh: request.fresh === true, overwrite: request.overwrite === true };
    const common = { ...shared, checkpointEvery: request.checkpointEvery, finishedCheckpoint: 'restart' as const, logAtLeast: 20, command: `engine train ${JSON.stringify(request)}` };
    if (target.kind === 'model') {
      const entry = trainerEntry(target.model);
      if (entry === undefined) throw new EngineError('INVALID_ARGUMENT', `target.model must be one of the trainers ${TRAINER_NAMES.join(', ')}, got "${target.model}"`, 'target.model');
      if (entry.needsTarget) throw new EngineError('INVALID_ARGUMENT', `${target.model} trains a pair of voices; ask for { kind: "cyclegan-pair", from, to }`, 'target.model');
      return { ...common, trainer: target.model, config: tiny ? { ...entry.tinyConfig } : {} };
    }
    if (target.kind === 'vae-add-voice') return { ...common, trainer: 'vae', addVoice: target.voice };
    await findVoice('target.to', target.to, ['corpus', 'user']);
    if (target.from !== 'any') await findVoice('target.from', target.from, ['corpus', 'user']);
    if (target.from === target.to) throw new EngineError('INVALID_ARGUMENT', `target.from and target.to are both "${target.to}"; a pair needs two voices (or from "any")`, 'target.from');
    return { ...common, trainer: 'cyclegan', to: target.to, from: target.from, config: tiny ? { ...TRAINERS.cyclegan.tinyConfig } : {} };
  }

  /** The VAE that `voice` is added to: `base`, else the user's own VAE, else the shipped one; a VAE without that voice. */
  async function addVoiceBase(voice: string, basePath: string | undefined, naming: Naming): Promise<string> {
    const name = (option: OptionName): string => optionName(option, naming);
    const makeOne = naming === 'flags' ? 'timbre voice add NAME FILE.wav makes one' : 'adding recordings as a user voice makes one';
    const voices = await options.listVoices();
    const known = voices.find((v) => v.id === voice);
    if (known?.kind === 'corpus') {
      throw new EngineError('INVALID_ARGUMENT', `${name('addVoice')} ${voice}: that is a corpus voice, which the VAE trains on already; name a user voice (${makeOne})`, OPTION_NAMES.addVoice[0]);
    }
    if (known?.kind !== 'user') {
      const users = voices.filter((v) => v.kind === 'user').map((v) => v.id);
      throw new EngineError('VOICE_NOT_FOUND', `${name('addVoice')} ${voice}: there is no user voice "${voice}"; user voices: ${users.join(', ') || 'none'} (${makeOne})`, OPTION_NAMES.addVoice[0]);
    }
    const { VAE_KIND } = await import('../models/vae/model.js');
    let base: string;
    if (basePath !== undefined) {
      base = resolve(basePath);
      if (!existsSync(base)) throw new EngineError('INVALID_ARGUMENT', `option ${name('base')}: ${base} does not exist`, 'base');
    } else {
      const { shippedVaePath } = await import('../models/vae/convert.js');
      const own = join(paths.models, 'vae', 'model.timbre');
      base = existsSync(own) ? own : shippedVaePath();
      if (!existsSync(base)) throw new EngineError('MODEL_UNAVAILABLE', `there is no VAE to add voice "${voice}" to (looked for ${own} and ${base}); train a VAE first`, 'target');
    }
    let header;
    try {
      ({ header } = await readModelFile(base));
    } catch (err) {
      throw new EngineError('INVALID_ARGUMENT', `option ${name('base')}: ${base} is not a readable model file (${(err as Error).message.split('\n')[0]})`, 'base');
    }
    if (header.kind !== VAE_KIND) throw new EngineError('INVALID_ARGUMENT', `option ${name('base')}: ${base} is a "${header.kind}" model file, not a VAE`, 'base');
    if (header.speakers.includes(voice)) throw new EngineError('INVALID_ARGUMENT', `the VAE at ${base} already has voice "${voice}"; use another base VAE, or add the recordings under another name`, 'base');
    return base;
  }

  /** Resolves run options into a plan: every check that needs no training data, in the order a user meets them. */
  async function plan(run: TrainRunOptions): Promise<RunPlan> {
    const naming = run.naming ?? 'fields';
    const name = (option: OptionName): string => optionName(option, naming);
    const entry = trainerEntry(run.trainer);
    if (entry === undefined) throw new EngineError('INVALID_ARGUMENT', `unknown model "${run.trainer}"; trainable models are ${TRAINER_NAMES.join(', ')}`, 'target.model');
    const addVoice = run.addVoice;
    if (addVoice === undefined && run.base !== undefined) throw new EngineError('INVALID_ARGUMENT', `${name('base')} FILE goes with ${name('addVoice')} NAME (the VAE that the voice is added to)`, 'base');
    if (addVoice !== undefined && run.trainer !== 'vae') throw new EngineError('INVALID_ARGUMENT', `${name('addVoice')} works only with the vae model, not with ${run.trainer}`, OPTION_NAMES.addVoice[0]);
    if (addVoice !== undefined && (run.workers ?? 1) > 1) throw new EngineError('INVALID_ARGUMENT', `${name('addVoice')} trains one speaker row on one thread; leave out ${name('workers')}`, 'workers');
    const base = addVoice !== undefined ? await addVoiceBase(addVoice, run.base, naming) : undefined;
    let init: string | undefined;
    if (run.init !== undefined) {
      if (entry.warmStart !== true) {
        const warm = TRAINER_NAMES.filter((n) => TRAINERS[n].warmStart === true);
        throw new EngineError('INVALID_ARGUMENT', `${name('init')} warm-starts a ${warm.slice(0, -1).join(', ')} or ${warm.at(-1)!} run; "${run.trainer}" does not take it`, 'init');
      }
      if (addVoice !== undefined) throw new EngineError('INVALID_ARGUMENT', `${name('addVoice')} already starts from ${name('base')}; leave out ${name('init')}`, 'init');
      init = resolve(run.init);
      if (!existsSync(init)) throw new EngineError('INVALID_ARGUMENT', `option ${name('init')}: no model file at ${init}`, 'init');
    }
    const fineTune = run.fineTune === true;
    if (fineTune && entry.converterFineTuneSteps === undefined) throw new EngineError('INVALID_ARGUMENT', `${name('fineTune')} continues the vocoder on the converters' outputs; "${run.trainer}" does not take it`, 'fineTune');

    const defaults: TrainerDefaults = fineTune
      ? { ...entry.defaults, steps: entry.converterFineTuneSteps! }
      : addVoice !== undefined
        ? await import('../models/vae/adapt.js').then(({ ADD_VOICE_DEFAULTS }) => ({ ...entry.defaults, steps: ADD_VOICE_DEFAULTS.steps, batchSize: ADD_VOICE_DEFAULTS.batchSize, validateEvery: 0 }))
        : entry.defaults;
    // Same folder for the app's and the CLI's add-voice runs, so each resumes the other's.
    const folder = addVoice !== undefined ? `vae-${addVoice}` : (entry.folder?.(run.to, run.from) ?? run.trainer);
    const outPath = resolve(run.outPath ?? join(paths.models, folder, 'model.timbre'));
    const overwrite = run.overwrite === true;
    // Refused before hours of training, not after.
    if (existsSync(outPath) && !overwrite) {
      const hint = naming === 'flags' ? `pass ${name('overwrite')} to overwrite it or --out to write elsewhere` : 'ask to overwrite it, or remove it first';
      throw new EngineError('OUTPUT_EXISTS', `${outPath} already exists; ${hint}`, 'overwrite');
    }
    // A warm-started or fine-tuning run keeps its own run folder, so it never resumes (or clobbers) the run it starts
    // from; a family whose init is where it always starts (CycleDiffusion) keeps its folder.
    const runFolder = fineTune ? `${folder}-fine-tune` : init !== undefined && entry.initIsBase !== true ? `${folder}-warm` : folder;
    const runDir = resolve(run.runDir ?? join(paths.checkpoints, runFolder));
    const steps = run.steps ?? defaults.steps;
    const settings: TrainRunSettings = {
      home: options.home,
      steps,
      batchSize: run.batchSize ?? defaults.batchSize,
      seed: run.seed ?? 0,
      workers: run.workers ?? 1,
      runDir,
      resume: true,
      logEvery: Math.max(1, run.logEvery ?? (run.logAtLeast !== undefined ? Math.min(defaults.logEvery, Math.ceil(steps / run.logAtLeast)) : defaults.logEvery)),
      validateEvery: run.validateEvery ?? defaults.validateEvery,
      checkpointEvery: run.checkpointEvery ?? defaults.checkpointEvery,
      config: { ...run.config },
      log: run.log ?? (() => undefined),
      ...(run.to !== undefined ? { to: run.to } : {}),
      ...(run.from !== undefined ? { from: run.from } : {}),
      ...(addVoice !== undefined ? { addVoice, base: base! } : {}),
      ...(init !== undefined ? { init } : {}),
      ...(fineTune ? { fineTuneOnConverters: true } : {}),
    };
    return { entry, name: folder, outPath, runDir, settings, fresh: run.fresh === true, overwrite, finishedCheckpoint: run.finishedCheckpoint ?? 'resume', command: run.command ?? `engine train ${run.trainer}`, naming };
  }

  /** Step of an existing checkpoint, or null; refuses one made with other steps, batch or seed (naming them). */
  async function checkpointStep(p: RunPlan): Promise<number | null> {
    const path = join(p.runDir, 'checkpoint.timbre');
    if (!existsSync(path)) return null;
    const { header } = await readModelFile(path);
    const saved = header.hyperparameters as { batchSize?: number; totalSteps?: number; seed?: number };
    const step = (header.extra as { step?: number } | undefined)?.step ?? 0;
    const name = (option: OptionName): string => optionName(option, p.naming);
    const { steps, batchSize, seed } = p.settings;
    const differences = [
      saved.totalSteps !== steps ? `${name('steps')} ${String(saved.totalSteps)} (now ${steps})` : '',
      saved.batchSize !== batchSize ? `${name('batchSize')} ${String(saved.batchSize)} (now ${batchSize})` : '',
      saved.seed !== seed ? `${name('seed')} ${String(saved.seed)} (now ${seed})` : '',
    ].filter((d) => d !== '');
    if (differences.length > 0) {
      const fresh = p.naming === 'flags' ? 'pass --fresh to start over' : 'start over (fresh)';
      throw new EngineError('CHECKPOINT_MISMATCH', `the checkpoint ${path} (step ${step}) was made with ${differences.join(', ')}; use those settings to resume, or ${fresh}`, 'steps');
    }
    return step;
  }

  /** Takes the one training slot, then plans, checks the checkpoint, prepares and starts the run. */
  async function start(makePlan: () => Promise<RunPlan>): Promise<TrainingJob> {
    if (running !== undefined) throw new EngineError('JOB_BUSY', `a training (${running.id}) is running; cancel it or wait for it to finish`, 'request');
    const job = new EngineTrainingJob(newTrainingId());
    running = job; // reserve the slot while preparing
    try {
      const p = await makePlan();
      const { settings, runDir } = p;
      if (p.fresh) {
        await rm(join(runDir, 'checkpoint.timbre'), { force: true });
        await rm(join(runDir, 'losses.csv'), { force: true });
      }
      let resumedAt = await checkpointStep(p);
      if (resumedAt !== null && resumedAt >= settings.steps && p.finishedCheckpoint === 'restart') {
        await rm(join(runDir, 'checkpoint.timbre'), { force: true }); // a finished run's leftover
        resumedAt = null;
      }
      await mkdir(runDir, { recursive: true });
      await mkdir(dirname(p.outPath), { recursive: true });
      await options.ensureBackend();
      const workers = settings.workers > 1 ? `${settings.workers} workers` : '1 worker';
      settings.log(`training ${p.name}: ${settings.steps} steps, batch ${settings.batchSize}, seed ${settings.seed}, ${workers}; run folder ${runDir}`);
      if (resumedAt !== null) settings.log(`resuming from ${join(runDir, 'checkpoint.timbre')} at step ${resumedAt}/${settings.steps}`);
      const run = await p.entry.prepare(settings);
      job.cancelRun = () => run.trainer.cancel();
      if (job.cancelRequested) run.trainer.cancel();
      job.finished = execute(job, run, p, resumedAt !== null && resumedAt < settings.steps ? resumedAt : 0);
      job.finished.catch(() => undefined);
      return job;
    } catch (error) {
      running = undefined;
      throw error;
    }
  }

  async function execute(job: EngineTrainingJob, run: Awaited<ReturnType<TrainerEntry['prepare']>>, p: RunPlan, startStep: number): Promise<TrainingOutcome> {
    const { emitter } = job;
    const { trainer } = run;
    const { steps } = p.settings;
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
      attachProgressPrinter(trainer, p.settings.log),
    ];
    // Let the caller subscribe before the first event.
    await new Promise((resolve) => setTimeout(resolve, 0));
    emitter.emit('start', { jobId: job.id, name: p.name, startStep, totalSteps: steps, resumed: startStep > 0 });
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
      const notes = await run.finish(result, p.outPath, { overwrite: p.overwrite, command: p.command, trainingSeconds: seconds });
      // A file in the models folder is a model of the registry; one written elsewhere is known by its path.
      const inModels = p.outPath === resolve(paths.models, p.name, 'model.timbre');
      const modelId = inModels ? `user/${p.name}` : p.outPath;
      if (inModels) options.onModelWritten(modelId);
      const done = { jobId: job.id, modelId, modelPath: p.outPath, steps: result.totalSteps, seconds, notes };
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
        return { name, label: familyEntry(name)?.label ?? name, summary: entry.summary, defaultSteps: entry.defaults.steps, defaultBatchSize: entry.defaults.batchSize, pairwise: entry.needsTarget === true };
      }),
    train: (raw) => {
      const request = validateTrainRequest(raw);
      return start(async () => plan(await requestOptions(request)));
    },
    trainRun: (run) => start(() => plan(run)),
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
