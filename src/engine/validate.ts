// Validation of every engine argument, from typed callers and from JSON alike: unknown in, typed out,
// or an `EngineError` naming the field, the constraint and the value received.

import type { AddVoiceRequest, ConvertInput, ConvertRequest, DiffusionSolver, ExportRequest, ModelSelection, ModelSettings, TrainRequest, TrainTarget, VoiceRecording } from './api.js';
import { EngineError } from './errors.js';
import { MAX_PITCH_SHIFT_SEMITONES } from './melShift.js';

/** Ids of voices, models, jobs and lanes: 1–128 of letters, digits and `._:/@+-`, no "..". */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

const describe = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
};

const fail = (field: string, expected: string, value: unknown): never => {
  throw new EngineError('INVALID_ARGUMENT', `${field} must be ${expected}, got ${describe(value)}`, field);
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function checkKeys(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new EngineError('INVALID_ARGUMENT', `${field} has an unknown field "${key}" (allowed: ${allowed.join(', ')})`, `${field}.${key}`);
  }
}

/** Checks an id (voice, model, job, lane). */
export function validateId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value) || value.includes('..')) {
    return fail(field, 'an id of 1–128 letters, digits or ._:/@+- (not starting with a symbol)', value);
  }
  return value;
}

function optionalInteger(field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return fail(field, `a whole number in [${min}, ${max}]`, value);
  return value;
}

/** Checks per-model settings; unknown keys are refused so typos surface. */
export function validateSettings(field: string, value: unknown): ModelSettings {
  if (value === undefined) return {};
  if (!isRecord(value)) return fail(field, 'an object', value);
  checkKeys(field, value, ['steps', 'solver', 'seed', 'pitchShiftSemitones', 'keepSourcePitch']);
  const out: ModelSettings = {};
  const steps = optionalInteger(`${field}.steps`, value.steps, 1, 100);
  if (steps !== undefined) out.steps = steps;
  if (value.solver !== undefined) {
    if (value.solver !== 'ml' && value.solver !== 'euler') fail(`${field}.solver`, '"ml" or "euler"', value.solver);
    out.solver = value.solver as DiffusionSolver;
  }
  const seed = optionalInteger(`${field}.seed`, value.seed, 0, 2 ** 31 - 1);
  if (seed !== undefined) out.seed = seed;
  if (value.pitchShiftSemitones !== undefined) {
    const s = value.pitchShiftSemitones;
    if (typeof s !== 'number' || !Number.isFinite(s) || Math.abs(s) > MAX_PITCH_SHIFT_SEMITONES) {
      fail(`${field}.pitchShiftSemitones`, `a number in [−${MAX_PITCH_SHIFT_SEMITONES}, ${MAX_PITCH_SHIFT_SEMITONES}]`, s);
    }
    out.pitchShiftSemitones = s as number;
  }
  if (value.keepSourcePitch !== undefined) {
    if (typeof value.keepSourcePitch !== 'boolean') fail(`${field}.keepSourcePitch`, 'true or false', value.keepSourcePitch);
    out.keepSourcePitch = value.keepSourcePitch as boolean;
  }
  return out;
}

/** Checks the input: WAV bytes (1 byte to `maxBytes`) or, when `allowPaths`, a non-empty path. */
export function validateInput(value: unknown, limits: { maxBytes: number; allowPaths: boolean }): ConvertInput {
  if (!isRecord(value)) return fail('input', 'an object { kind: "wav-bytes", bytes } or { kind: "path", path }', value);
  if (value.kind === 'wav-bytes') {
    checkKeys('input', value, ['kind', 'bytes', 'name']);
    if (!(value.bytes instanceof Uint8Array)) return fail('input.bytes', 'a Uint8Array of WAV file bytes', value.bytes);
    if (value.name !== undefined && (typeof value.name !== 'string' || value.name.length > 255)) fail('input.name', 'a file name of at most 255 characters', value.name);
    const what = typeof value.name === 'string' ? value.name : 'the input';
    if (value.bytes.length === 0) throw new EngineError('INVALID_AUDIO', `${what} is empty (0 bytes); record or choose a WAV file`, 'input.bytes');
    if (value.bytes.length > limits.maxBytes) {
      throw new EngineError('INPUT_TOO_LARGE', `${what} is ${(value.bytes.length / 1e6).toFixed(1)} MB; the limit is ${(limits.maxBytes / 1e6).toFixed(0)} MB`, 'input.bytes');
    }
    return value.name === undefined ? { kind: 'wav-bytes', bytes: value.bytes } : { kind: 'wav-bytes', bytes: value.bytes, name: value.name as string };
  }
  if (value.kind === 'path') {
    if (!limits.allowPaths) throw new EngineError('INVALID_ARGUMENT', 'input of kind "path" is not accepted here; send the WAV bytes', 'input.kind');
    checkKeys('input', value, ['kind', 'path']);
    if (typeof value.path !== 'string' || value.path.trim() === '' || value.path.includes('\0')) return fail('input.path', 'a non-empty file path', value.path);
    return { kind: 'path', path: value.path };
  }
  return fail('input.kind', '"wav-bytes" or "path"', value.kind);
}

/** Checks a conversion request (shape only; voices and models are checked against what exists by the engine). */
export function validateConvertRequest(value: unknown, limits: { maxBytes: number; allowPaths: boolean }): ConvertRequest {
  if (!isRecord(value)) return fail('request', 'an object', value);
  checkKeys('request', value, ['input', 'targetVoiceId', 'models', 'griffinLimIterations', 'vocoder']);
  const input = validateInput(value.input, limits);
  const targetVoiceId = validateId('targetVoiceId', value.targetVoiceId);
  const request: ConvertRequest = { input, targetVoiceId };
  if (value.models !== undefined) {
    if (!Array.isArray(value.models) || value.models.length === 0 || value.models.length > 16) fail('models', 'a list of 1–16 model selections', value.models);
    const seen = new Set<string>();
    request.models = (value.models as unknown[]).map((m, i): ModelSelection => {
      const field = `models[${i}]`;
      if (!isRecord(m)) return fail(field, 'an object { modelId, settings? }', m);
      checkKeys(field, m, ['modelId', 'settings']);
      const modelId = validateId(`${field}.modelId`, m.modelId);
      if (seen.has(modelId)) throw new EngineError('INVALID_ARGUMENT', `model "${modelId}" is selected twice`, `${field}.modelId`);
      seen.add(modelId);
      return { modelId, settings: validateSettings(`${field}.settings`, m.settings) };
    });
  }
  const iterations = optionalInteger('griffinLimIterations', value.griffinLimIterations, 1, 200);
  if (iterations !== undefined) request.griffinLimIterations = iterations;
  if (value.vocoder !== undefined) {
    const vocoder = value.vocoder;
    if (vocoder !== 'griffin-lim' && vocoder !== 'neural') return fail('vocoder', '"griffin-lim" or "neural"', vocoder);
    request.vocoder = vocoder;
  }
  return request;
}

/** Checks an export request. */
export function validateExportRequest(value: unknown): ExportRequest {
  if (!isRecord(value)) return fail('request', 'an object', value);
  checkKeys('request', value, ['jobId', 'laneIds', 'includeSource', 'format']);
  const jobId = validateId('jobId', value.jobId);
  if (value.format !== 'wav' && value.format !== 'zip' && value.format !== 'report') fail('format', '"wav", "zip" or "report"', value.format);
  const request: ExportRequest = { jobId, format: value.format as ExportRequest['format'] };
  if (value.laneIds !== undefined) {
    if (!Array.isArray(value.laneIds) || value.laneIds.length === 0 || value.laneIds.length > 16) fail('laneIds', 'a list of 1–16 lane ids', value.laneIds);
    request.laneIds = (value.laneIds as unknown[]).map((id, i) => validateId(`laneIds[${i}]`, id));
  }
  if (value.includeSource !== undefined) {
    if (typeof value.includeSource !== 'boolean') fail('includeSource', 'true or false', value.includeSource);
    request.includeSource = value.includeSource as boolean;
  }
  if (request.format === 'wav' && (request.laneIds?.length ?? 0) !== 1) {
    throw new EngineError('INVALID_ARGUMENT', 'a "wav" export needs exactly one lane id in laneIds; use "zip" for several', 'laneIds');
  }
  return request;
}

/** Bounds of a training request. */
export const TRAIN_LIMITS = Object.freeze({ maxSteps: 1_000_000, maxBatchSize: 512, maxCheckpointEvery: 100_000 });

/** Bounds of `addVoice`: recordings per voice and bytes per recording. */
export const ADD_VOICE_LIMITS = Object.freeze({ maxRecordings: 20, maxBytes: 100_000_000 });

function optionalBoolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') return fail(field, 'true or false', value);
  return value;
}

function validateTarget(value: unknown): TrainTarget {
  if (!isRecord(value)) return fail('target', 'an object { kind: "model" | "vae-add-voice" | "cyclegan-pair", … }', value);
  switch (value.kind) {
    case 'model':
      checkKeys('target', value, ['kind', 'model']);
      return { kind: 'model', model: validateId('target.model', value.model) };
    case 'vae-add-voice':
      checkKeys('target', value, ['kind', 'voice']);
      return { kind: 'vae-add-voice', voice: validateId('target.voice', value.voice) };
    case 'cyclegan-pair':
      checkKeys('target', value, ['kind', 'from', 'to']);
      return { kind: 'cyclegan-pair', from: validateId('target.from', value.from), to: validateId('target.to', value.to) };
    default:
      return fail('target.kind', '"model", "vae-add-voice" or "cyclegan-pair"', value.kind);
  }
}

/** Checks a training request's shape and bounds (trainers and voices are checked against what exists by the engine). */
export function validateTrainRequest(value: unknown): TrainRequest {
  if (!isRecord(value)) return fail('request', 'an object', value);
  checkKeys('request', value, ['target', 'steps', 'batchSize', 'seed', 'preset', 'fresh', 'overwrite', 'checkpointEvery']);
  const request: TrainRequest = { target: validateTarget(value.target) };
  const steps = optionalInteger('steps', value.steps, 1, TRAIN_LIMITS.maxSteps);
  if (steps !== undefined) request.steps = steps;
  const batchSize = optionalInteger('batchSize', value.batchSize, 1, TRAIN_LIMITS.maxBatchSize);
  if (batchSize !== undefined) request.batchSize = batchSize;
  const seed = optionalInteger('seed', value.seed, 0, 2 ** 31 - 1);
  if (seed !== undefined) request.seed = seed;
  if (value.preset !== undefined) {
    if (value.preset !== 'default' && value.preset !== 'tiny') fail('preset', '"default" or "tiny"', value.preset);
    request.preset = value.preset as 'default' | 'tiny';
  }
  const fresh = optionalBoolean('fresh', value.fresh);
  if (fresh !== undefined) request.fresh = fresh;
  const overwrite = optionalBoolean('overwrite', value.overwrite);
  if (overwrite !== undefined) request.overwrite = overwrite;
  const checkpointEvery = optionalInteger('checkpointEvery', value.checkpointEvery, 1, TRAIN_LIMITS.maxCheckpointEvery);
  if (checkpointEvery !== undefined) request.checkpointEvery = checkpointEvery;
  return request;
}

/** Checks an `addVoice` request: a name (checked again by the voice store) and 1–20 non-empty WAV byte arrays. */
export function validateAddVoiceRequest(value: unknown): AddVoiceRequest {
  if (!isRecord(value)) return fail('request', 'an object { name, recordings }', value);
  checkKeys('request', value, ['name', 'recordings', 'replace']);
  if (typeof value.name !== 'string' || value.name.length === 0 || value.name.length > 64) return fail('name', 'a name of 1–64 letters, digits, "-" or "_"', value.name);
  if (!Array.isArray(value.recordings) || value.recordings.length === 0 || value.recordings.length > ADD_VOICE_LIMITS.maxRecordings) {
    return fail('recordings', `a list of 1–${ADD_VOICE_LIMITS.maxRecordings} WAV recordings`, value.recordings);
  }
  const recordings = (value.recordings as unknown[]).map((r, i): VoiceRecording => {
    const field = `recordings[${i}]`;
    if (!isRecord(r)) return fail(field, 'an object { bytes, name? }', r);
    checkKeys(field, r, ['bytes', 'name']);
    if (!(r.bytes instanceof Uint8Array)) return fail(`${field}.bytes`, 'a Uint8Array of WAV file bytes', r.bytes);
    if (r.bytes.length === 0) throw new EngineError('INVALID_AUDIO', `${field} is empty (0 bytes); record or choose a WAV file`, `${field}.bytes`);
    if (r.bytes.length > ADD_VOICE_LIMITS.maxBytes) throw new EngineError('INPUT_TOO_LARGE', `${field} is ${(r.bytes.length / 1e6).toFixed(1)} MB; the limit is ${ADD_VOICE_LIMITS.maxBytes / 1e6} MB`, `${field}.bytes`);
    if (r.name !== undefined && (typeof r.name !== 'string' || r.name.length > 255)) fail(`${field}.name`, 'a file name of at most 255 characters', r.name);
    return r.name === undefined ? { bytes: r.bytes } : { bytes: r.bytes, name: r.name as string };
  });
  const replace = optionalBoolean('replace', value.replace);
  return replace === undefined ? { name: value.name, recordings } : { name: value.name, recordings, replace };
}
