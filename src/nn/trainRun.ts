// What `timbre train` and the engine hand every model family's trainer: the run settings, the prepared-run shape,
// config-override checks, and the one-line-per-interval progress printer.

import { ShapeMismatchError } from './errors.js';
import type { TrainingSetup } from './train.js';
import type { Losses, StepEvent, TrainerEvents, TrainingLoopOptions, TrainResult, TypedEmitter } from './trainingLoop.js';

/** The options `timbre train` resolves for every model family (defaults filled in); each family extends it. */
export interface TrainRunSettings {
  /** TIMBRE_HOME (undefined: the default). */
  readonly home: string | undefined;
  readonly steps: number;
  readonly batchSize: number;
  readonly seed: number;
  /** 1 = this thread; 2 = data-parallel over two worker threads. */
  readonly workers: number;
  /** Folder of checkpoint.timbre and losses.csv; the run resumes from it when `resume`. */
  readonly runDir: string;
  readonly resume: boolean;
  readonly logEvery: number;
  readonly validateEvery: number;
  readonly checkpointEvery: number;
  /** Config overrides read from `--config FILE.json` (a preset naming only what differs; unknown keys are refused). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Notes for the user (setup summary, progress of post-training steps). */
  readonly log: (line: string) => void;
}

/** What `finish` of a prepared run needs: overwrite the model file or not, the command line and the training time. */
export interface FinishOptions {
  readonly overwrite: boolean;
  readonly command: string;
  readonly trainingSeconds: number;
}

/** A prepared `timbre train` run of one family: its trainer; `finish` writes the model file (returns lines to print). */
export interface PreparedTrainingRun<T> {
  readonly trainer: T;
  finish(result: TrainResult, outPath: string, options: FinishOptions): Promise<string[]>;
  dispose(): Promise<void>;
}

/**
 * Checks a preset's config overrides against a family's defaults: only its keys, each of the default's type (an array
 * of numbers where the default is an array). `family` names it in errors, e.g. "VAE".
 */
export function checkConfigOverrides<T extends object>(family: string, defaults: T, config: Readonly<Record<string, unknown>>): Partial<T> {
  for (const [key, value] of Object.entries(config)) {
    if (!(key in defaults)) throw new ShapeMismatchError(`${family} config has no field "${key}"; fields: ${Object.keys(defaults).join(', ')}`);
    const expected = defaults[key as keyof T] as unknown;
    const isArray = Array.isArray(expected);
    const fits = isArray ? Array.isArray(value) && value.every((v) => typeof v === 'number') : typeof value === typeof expected;
    if (!fits) throw new ShapeMismatchError(`${family} config field "${key}" must be ${isArray ? 'an array of numbers' : `a ${typeof expected}`}, received ${JSON.stringify(value)}`);
  }
  return config as Partial<T>;
}

/**
 * What every family's Trainer takes from its setup and its run's settings: model, loss and data, the loop options and
 * the validation interval (the family adds its optimizer and run config).
 */
export function setupTrainerOptions<TBatch>(
  setup: TrainingSetup<TBatch>,
  settings: Pick<TrainRunSettings, 'batchSize' | 'steps' | 'seed' | 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume' | 'validateEvery'>,
): TrainingSetup<TBatch> & ReturnType<typeof trainingLoopOptions> & { validateEvery: number } {
  return {
    model: setup.model,
    lossFn: setup.lossFn,
    train: setup.train,
    ...(setup.validation ? { validation: setup.validation } : {}),
    ...trainingLoopOptions(settings),
    validateEvery: settings.validateEvery,
  };
}

/** The loop options a run's settings give (`setupTrainerOptions` adds the setup and the validation interval). */
export function trainingLoopOptions(
  settings: Pick<TrainRunSettings, 'batchSize' | 'steps' | 'seed' | 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume'>,
): TrainingLoopOptions & Required<Pick<TrainingLoopOptions, 'seed' | 'logEvery' | 'checkpointEvery' | 'runDir' | 'resume'>> {
  const { batchSize, steps: totalSteps, seed, logEvery, checkpointEvery, runDir, resume } = settings;
  return { batchSize, totalSteps, seed, logEvery, checkpointEvery, runDir, resume };
}

/** "4m05s" style duration. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Losses as printed: "total 0.4123 recon 0.3000" (4 significant digits, in their order). */
export function formatLosses(losses: Losses): string {
  return Object.entries(losses).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(' ');
}

/** One progress line: "step 120/1000 | total 0.4123 recon 0.3000 | lr 1.00e-3 | 3.21 steps/s | ETA 4m35s". */
export function formatProgressLine(e: StepEvent): string {
  return `step ${e.step}/${e.totalSteps} | ${formatLosses(e.losses)} | lr ${e.learningRate.toExponential(2)} | ${e.stepsPerSecond.toFixed(2)} steps/s | ETA ${formatDuration(e.etaSeconds)}`;
}

/** Prints one line per log interval (and validations); returns the unsubscribe. */
export function attachProgressPrinter(trainer: TypedEmitter<TrainerEvents>, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): () => void {
  const offs = [
    trainer.on('log', (e) => write(formatProgressLine(e))),
    trainer.on('validation', (e) => write(`validation @ step ${e.step} | ${formatLosses(e.losses)}`)),
  ];
  return () => offs.forEach((off) => off());
}
