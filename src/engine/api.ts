// The one contract between Timbre's engine and its faces (CLI, web server, Electron, UI).
// Types only, no imports: the UI compiles against this file alone, whatever transport it uses.

/** Model families the app compares side by side (same list as `src/models/converter.ts`). */
export type ModelFamily = 'vae' | 'cyclegan' | 'diffvc' | 'cyclediffusion';

/** Reverse-SDE solvers of the diffusion models: 'ml' (Popov's maximum likelihood) or 'euler' (Euler–Maruyama). */
export type DiffusionSolver = 'ml' | 'euler';

/** Codes of engine errors the UI branches on; models may add their own (e.g. 'MODEL_MISMATCH'). */
export type EngineErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_AUDIO'
  | 'INPUT_TOO_LARGE'
  | 'VOICE_NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_CANNOT_TARGET'
  | 'JOB_NOT_FOUND'
  | 'JOB_BUSY'
  | 'LANE_NOT_FOUND'
  | 'CANCELLED'
  | 'OUTPUT_EXISTS'
  | 'CHECKPOINT_MISMATCH'
  | 'REFERENCE_TOO_SHORT'
  | 'UNAUTHORIZED'
  | 'TRANSPORT'
  | 'INTERNAL'
  | (string & {});

/** An error as it crosses a process boundary: `code` to branch on, `message` for people, `field` names the bad argument. */
export interface EngineErrorInfo {
  code: EngineErrorCode;
  message: string;
  field?: string;
}

/** What the engine is and what it accepts. */
export interface EngineInfo {
  version: string;
  /** Rate of every converted WAV, Hz (22 050). */
  sampleRateHz: number;
  /** Largest input WAV accepted, bytes. */
  maxInputBytes: number;
  /** Longest input accepted, seconds. */
  maxInputSeconds: number;
  /** TensorFlow.js backend in use, when a model has loaded one ("wasm", "tensorflow", ...). */
  backend?: string;
  /** The vocoders a conversion may end in (`ConvertRequest.vocoder`), the default first. */
  vocoders: VocoderInfo[];
}

/** A vocoder the engine offers. */
export interface VocoderInfo {
  id: 'griffin-lim' | 'neural';
  label: string;
  available: boolean;
  /** Why it cannot be used now (no trained file). */
  unavailableReason?: string;
  /** The default of `ConvertRequest.vocoder`. */
  isDefault: boolean;
}

/** A target voice: a corpus voice shipped with the app or one the user recorded. */
export interface VoiceInfo {
  id: string;
  label: string;
  kind: 'corpus' | 'user' | 'test';
  /** True when `voicePreview(id)` returns a short sample. */
  hasPreview: boolean;
  description?: string;
}

/** One setting of a model, described so the UI can draw a control for it. */
export type SettingSpec =
  | { key: 'steps'; label: string; kind: 'integer'; min: number; max: number; defaultValue: number }
  | { key: 'solver'; label: string; kind: 'choice'; choices: readonly DiffusionSolver[]; defaultValue: DiffusionSolver }
  | { key: 'pitchShiftSemitones'; label: string; kind: 'number'; min: number; max: number; step: number; defaultValue: number }
  | { key: 'keepSourcePitch'; label: string; kind: 'boolean'; defaultValue: boolean };

/** A model the app knows about; unavailable ones are listed too, with the reason, so the UI can show them disabled. */
export interface ModelInfo {
  /** Stable id used in requests, e.g. "diffvc" or "cyclegan:flite-slt". */
  id: string;
  family: ModelFamily;
  label: string;
  available: boolean;
  /** Why the model cannot be used now (no trained file, family not implemented yet, file refused). */
  unavailableReason?: string;
  /** Voice ids this model can produce; `['*']` for any voice. */
  targetVoices: readonly string[];
  settings: readonly SettingSpec[];
  /** Where it came from: shipped assets, the user's TIMBRE_HOME, or registered in-process (tests, plugins). */
  origin: 'shipped' | 'user' | 'registered';
}

/** Per-model settings of one conversion; unset values take the model's defaults. */
export interface ModelSettings {
  /** Diffusion reverse steps, 1–100 (DiffVC, CycleDiffusion); default 6. */
  steps?: number;
  /** Diffusion solver; default 'ml'. */
  solver?: DiffusionSolver;
  /** Seed of sampling noise; default 0 so conversions repeat. */
  seed?: number;
  /** Shift of the converted voice, semitones in [−12, 12]; default 0 (after `keepSourcePitch`, when set). */
  pitchShiftSemitones?: number;
  /** Keep the source's pitch instead of the target voice's range; default false. */
  keepSourcePitch?: boolean;
}

/** The input of a conversion: WAV file bytes (every face) or a path (CLI and engine only; the server refuses it). */
export type ConvertInput = { kind: 'wav-bytes'; bytes: Uint8Array; name?: string } | { kind: 'path'; path: string };

/** One model to run in a conversion. */
export interface ModelSelection {
  modelId: string;
  settings?: ModelSettings;
}

/** Convert one input to one target voice with several models at once. */
export interface ConvertRequest {
  input: ConvertInput;
  targetVoiceId: string;
  /** Models to run, in lane order; omitted = every available model that can produce the target. */
  models?: readonly ModelSelection[];
  /** Griffin-Lim iterations of the baseline vocoder, 1–200; default 32. */
  griffinLimIterations?: number;
  /** Vocoder of every lane: "griffin-lim" (default) or "neural" (the installed neural vocoder; MODEL_UNAVAILABLE without one). */
  vocoder?: 'griffin-lim' | 'neural';
}

/** Stages of one lane (or of the source, when `modelId` is absent). */
export type JobStage = 'decoding' | 'converting' | 'vocoding' | 'measuring' | 'done' | 'failed' | 'cancelled';

/** A progress event: `fraction` in [0, 1] of this lane, `overallFraction` of the whole job. */
export interface JobProgress {
  jobId: string;
  modelId?: string;
  stage: JobStage;
  fraction: number;
  overallFraction: number;
}

/** The decoded source as the engine used it: 22 050 Hz mono, as a WAV, with its measurements. */
export interface SourceResult {
  jobId: string;
  wav: Uint8Array;
  sampleRateHz: number;
  durationSeconds: number;
  /** Sample rate of the file as given, Hz. */
  originalSampleRateHz: number;
  /** Median F0 of voiced frames, Hz; null when nothing is voiced. */
  f0MedianHz: number | null;
  warnings: string[];
}

/** One model's conversion: the audio and its metrics. */
export interface LaneResult {
  jobId: string;
  laneId: string;
  modelId: string;
  family: ModelFamily;
  label: string;
  targetVoiceId: string;
  settings: ModelSettings;
  wav: Uint8Array;
  sampleRateHz: number;
  durationSeconds: number;
  /** Wall time of this lane (model + vocoder + measurements), seconds. */
  processingSeconds: number;
  /** processingSeconds ÷ durationSeconds; below 1 is faster than real time. */
  realTimeFactor: number;
  /** Median F0 of voiced frames, Hz; null when nothing is voiced. */
  f0MedianHz: number | null;
  /** Cosine similarity of speaker embeddings, output vs target, in [−1, 1]; absent without a speaker encoder. */
  speakerSimilarity?: number;
  vocoder: 'griffin-lim' | 'neural';
}

/** A lane that failed; the other lanes go on. */
export interface LaneFailure {
  jobId: string;
  modelId: string;
  error: EngineErrorInfo;
}

/** The end of a conversion job. */
export interface ConversionResult {
  jobId: string;
  targetVoiceId: string;
  source: SourceResult;
  lanes: LaneResult[];
  failures: LaneFailure[];
  cancelled: boolean;
  totalSeconds: number;
}

/** Events of a conversion job, wavesurfer.js-style: each name maps to its argument tuple. */
export type ConversionJobEvents = {
  source: [source: SourceResult];
  progress: [progress: JobProgress];
  lane: [lane: LaneResult];
  laneError: [failure: LaneFailure];
  done: [result: ConversionResult];
  error: [error: EngineErrorInfo];
};

/** A running conversion. `on()` returns an unsubscribe; `destroy()` drops every listener (the job itself goes on unless cancelled). */
export interface ConversionJob {
  readonly id: string;
  on<E extends keyof ConversionJobEvents>(event: E, listener: (...args: ConversionJobEvents[E]) => void): () => void;
  /** Resolves at the end (also when cancelled, with `cancelled: true`); rejects with the job-level error. */
  readonly finished: Promise<ConversionResult>;
  cancel(): void;
  destroy(): void;
}

/** What to export from a finished (or cancelled) job. */
export interface ExportRequest {
  jobId: string;
  /** Lanes to include; omitted = all. */
  laneIds?: readonly string[];
  /** Add the 22 050 Hz source to a zip; default true for zip. */
  includeSource?: boolean;
  /** 'wav' needs exactly one lane; 'zip' holds WAVs + metrics.json; 'report' is a self-contained report.html. */
  format: 'wav' | 'zip' | 'report';
}

// ---- training and user voices ----------------------------------------------------------------------

/** What to train: a model from scratch on the corpus, or a fine-tuning run on the user's own voice. */
export type TrainTarget =
  /** A trainer of the table (`timbre train`'s list) on the whole corpus: 'speaker-encoder' or 'vae'. */
  | { kind: 'model'; model: string }
  /** Adds user voice `voice` to the VAE (the user's own VAE when there is one, else the shipped one); output `user/vae-<voice>`. */
  | { kind: 'vae-add-voice'; voice: string }
  /** A CycleGAN-VC pair: `from` ('any', a corpus voice or a user voice) → `to` (a corpus voice); output `user/cyclegan-[<from>-]<to>`. */
  | { kind: 'cyclegan-pair'; from: string; to: string };

/** A training request; unset values take the trainer's defaults. */
export interface TrainRequest {
  target: TrainTarget;
  /** Optimisation steps, 1–1 000 000; default per trainer. */
  steps?: number;
  /** Items per step, 1–512; default per trainer. */
  batchSize?: number;
  /** Seed of initialisation and data order, 0–2³¹−1; default 0. */
  seed?: number;
  /** 'tiny' trains the smallest sensible config (seconds; to try the app, not for real use); default 'default'. */
  preset?: 'default' | 'tiny';
  /** Delete the run's checkpoint and start over; default false (a run with the same model + data resumes). */
  fresh?: boolean;
  /** Replace an existing model file of the same name; default false (refused with OUTPUT_EXISTS). */
  overwrite?: boolean;
  /** Steps between checkpoints, 1–100 000; default per trainer. */
  checkpointEvery?: number;
}

/** A trainer the engine offers (the table `timbre train` uses). */
export interface TrainerInfo {
  name: string;
  label: string;
  summary: string;
  defaultSteps: number;
  defaultBatchSize: number;
  /** Trains a pair (`cyclegan-pair`) rather than `{ kind: 'model' }`. */
  pairwise: boolean;
}

/** The start of a training run: where it begins (a resumed run starts at its checkpoint's step). */
export interface TrainingStart {
  jobId: string;
  /** Folder name under TIMBRE_HOME/models and checkpoints, e.g. "vae-anna". */
  name: string;
  startStep: number;
  totalSteps: number;
  resumed: boolean;
}

/** One training step (at most ~10 per second are sent; the last step always is). */
export interface TrainingProgress {
  jobId: string;
  step: number;
  totalSteps: number;
  /** Named losses of this step, `total` first. */
  losses: Record<string, number>;
  stepsPerSecond: number;
  etaSeconds: number;
}

/** Mean losses over the validation set at `step`. */
export interface TrainingValidation {
  jobId: string;
  step: number;
  losses: Record<string, number>;
}

/** A checkpoint was written at `step` (the run can resume from there). */
export interface TrainingCheckpoint {
  jobId: string;
  step: number;
}

/** A finished run: the model's id (as `listModels()` lists it) and its file. */
export interface TrainingDone {
  jobId: string;
  modelId: string;
  modelPath: string;
  steps: number;
  seconds: number;
  /** Summary lines of the trainer (validation, judge accuracy). */
  notes: string[];
}

/** A cancelled run: it stopped after `step` and wrote a checkpoint; the same request resumes it. */
export interface TrainingCancelled {
  jobId: string;
  step: number;
  totalSteps: number;
}

/** Events of a training job, each name mapped to its argument tuple. */
export type TrainingJobEvents = {
  start: [start: TrainingStart];
  progress: [progress: TrainingProgress];
  validation: [validation: TrainingValidation];
  checkpoint: [checkpoint: TrainingCheckpoint];
  done: [done: TrainingDone];
  cancelled: [cancelled: TrainingCancelled];
  error: [error: EngineErrorInfo];
};

/** How a training job ended. */
export type TrainingOutcome = { kind: 'done'; done: TrainingDone } | { kind: 'cancelled'; cancelled: TrainingCancelled };

/** A running training. `on()` returns an unsubscribe; `cancel()` stops after the current step and writes a checkpoint. */
export interface TrainingJob {
  readonly id: string;
  on<E extends keyof TrainingJobEvents>(event: E, listener: (...args: TrainingJobEvents[E]) => void): () => void;
  /** Resolves when the run ends (done or cancelled); rejects with the run's error. */
  readonly finished: Promise<TrainingOutcome>;
  cancel(): void;
  destroy(): void;
}

/** One recording given to `addVoice`: WAV file bytes. */
export interface VoiceRecording {
  bytes: Uint8Array;
  name?: string;
}

/** Creates a user voice from ≥ 10 s of speech in 1–20 WAV recordings. */
export interface AddVoiceRequest {
  /** 1–64 letters, digits, "-" or "_", not a corpus voice id. */
  name: string;
  recordings: VoiceRecording[];
  /** Replace a user voice of the same name; default false. */
  replace?: boolean;
}

/** How well one installed model reaches a user voice (`TimbreApi.voiceReach`). */
export interface ModelReach {
  /** The model folder (`vae-NAME`, `cyclegan-NAME`) or family (`diffvc`, `cyclediffusion`: by reference). */
  model: string;
  label: string;
  /** Fractions in [0, 1] of its outputs that the d-vector judge and the cepstral judge hear as the voice. */
  dVectorIdentification: number;
  cepstralIdentification: number;
  /** What the cepstral judge heard most often (the voice's id when reached). */
  mostlyHeardAs: string;
  /** Mean cosine of the outputs' d-vectors to the voice's held-out recordings, and of the unconverted sources. */
  targetCosine: number;
  sourceCosine: number;
  outputs: number;
  /** 'reaches': both judges hear the voice in ≥ ⅔ of the outputs; 'partly': either sometimes; 'other': neither. */
  verdict: 'reaches' | 'partly' | 'other';
}

/**
 * How well every installed model reaches a user voice: a few corpus test sentences read by other voices are converted
 * to it and judged among the corpus voices and the voice, whose class comes from the held-out end of its recordings.
 */
export interface VoiceReach {
  voiceId: string;
  /** Seconds of the voice's recordings kept out of training that the judges compare with. */
  heldOutSeconds: number;
  sentences: number;
  sources: string[];
  models: ModelReach[];
  /** Why nothing could be scored (too little speech held out, no model reaches user voices yet); `models` is empty. */
  unscorable?: string;
}

/** A file produced by the engine, for the face to save (browser download, native save dialog, CLI path). */
export interface ExportFile {
  fileName: string;
  mimeType: string;
  bytes: Uint8Array;
}

/** The engine API every face uses. All arguments are validated by the engine; failures carry an `EngineErrorInfo`. */
export interface TimbreApi {
  info(): Promise<EngineInfo>;
  listVoices(): Promise<VoiceInfo[]>;
  /** A few seconds of the voice as a WAV. */
  voicePreview(voiceId: string): Promise<ExportFile>;
  listModels(): Promise<ModelInfo[]>;
  /** Starts a conversion; argument errors reject here, before any work. */
  convert(request: ConvertRequest): Promise<ConversionJob>;
  /** `convert` with every available model that can produce the target (the `timbre compare` call). */
  compare(request: Omit<ConvertRequest, 'models'>): Promise<ConversionJob>;
  /** Cancels a conversion or a training job (a training stops after the current step and writes a checkpoint). */
  cancel(jobId: string): Promise<void>;
  exportLanes(request: ExportRequest): Promise<ExportFile>;
  /** The trainers (same list as `timbre train`). */
  listTrainers(): Promise<TrainerInfo[]>;
  /** Starts a training run; argument errors reject here. One training runs at a time (JOB_BUSY otherwise). */
  train(request: TrainRequest): Promise<TrainingJob>;
  /** Validates and stores a user voice; resolves with it as `listVoices()` lists it. */
  addVoice(request: AddVoiceRequest): Promise<VoiceInfo>;
  /** Deletes a user voice. */
  removeVoice(voiceId: string): Promise<void>;
  /** Scores how well each installed model reaches user voice `voiceId` (converts a few sentences per model: seconds to a minute). */
  voiceReach(voiceId: string): Promise<VoiceReach>;
}

/** One training event as it crosses IPC. */
export type TrainingEventMessage = {
  [E in keyof TrainingJobEvents]: { jobId: string; name: E; args: TrainingJobEvents[E] };
}[keyof TrainingJobEvents];

/** Commands of the native menu the page carries out. */
export type MenuCommand = 'open' | 'export';

/** One job event as it crosses IPC: the job, the event name and its argument tuple. */
export type JobEventMessage = {
  [E in keyof ConversionJobEvents]: { jobId: string; name: E; args: ConversionJobEvents[E] };
}[keyof ConversionJobEvents];

/** A WAV file the user opened through a native dialog. */
export interface OpenedFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * What the Electron preload exposes as `window.timbre` (flat, because functions and promises cross
 * `contextBridge` but class instances do not). The UI wraps it into a `TimbreApi`.
 */
export interface TimbreBridge {
  info(): Promise<EngineInfo>;
  listVoices(): Promise<VoiceInfo[]>;
  voicePreview(voiceId: string): Promise<ExportFile>;
  listModels(): Promise<ModelInfo[]>;
  /** Starts a conversion of WAV bytes; events arrive through `onJobEvent`. */
  startConversion(request: ConvertRequest): Promise<{ jobId: string }>;
  /** Subscribes to the events of every job; returns the unsubscribe. */
  onJobEvent(listener: (message: JobEventMessage) => void): () => void;
  cancel(jobId: string): Promise<void>;
  exportLanes(request: ExportRequest): Promise<ExportFile>;
  /** Shows the native save dialog and writes the file; resolves with the path, or undefined when the user cancels. */
  saveFile(file: ExportFile): Promise<string | undefined>;
  /** Shows the native open dialog for a WAV; undefined when the user cancels. */
  openWavFile(): Promise<OpenedFile | undefined>;
  listTrainers(): Promise<TrainerInfo[]>;
  /** Starts a training run; events arrive through `onTrainingEvent`. */
  startTraining(request: TrainRequest): Promise<{ jobId: string }>;
  onTrainingEvent(listener: (message: TrainingEventMessage) => void): () => void;
  addVoice(request: AddVoiceRequest): Promise<VoiceInfo>;
  removeVoice(voiceId: string): Promise<void>;
  voiceReach(voiceId: string): Promise<VoiceReach>;
  /** Subscribes to the native menu's commands (Open…, Export…); returns the unsubscribe. */
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
}
