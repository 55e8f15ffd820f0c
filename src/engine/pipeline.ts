// The conversion pipeline of one input: decode + resample to 22 050 Hz → log-mel, then per model
// MelConverter → pitch shift → vocoder → loudness match → measurements. Pure compute, no jobs or I/O.

import { estimateF0, f0Summary } from '../audio/f0.js';
import { griffinLimFromLogMelAsync, type Vocoder } from '../audio/griffinLim.js';
import { matchLoudness } from '../audio/loudness.js';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { resample } from '../audio/resample.js';
import { decodeWav, encodeWav } from '../audio/wav.js';
import type { ConversionSettings, ConversionTarget, MelConverter } from '../models/converter.js';
import type { ModelSettings } from './api.js';
import { CancelledError, EngineError } from './errors.js';
import { MAX_PITCH_SHIFT_SEMITONES, shiftLogMelPitch } from './melShift.js';
import { estimateF0FromLogMel } from '../models/pitch.js';

/** The source, decoded and analysed once for every lane. */
export interface PreparedSource {
  /** Mono samples at 22 050 Hz. */
  speech: Float32Array;
  logMel: LogMel;
  /** `speech` as 16-bit WAV bytes (for the A/B lane and exports). */
  wav: Uint8Array;
  originalSampleRateHz: number;
  durationSeconds: number;
  /** Median F0 of voiced frames, Hz; null when nothing is voiced. */
  f0MedianHz: number | null;
  warnings: string[];
}

/** Median F0 in Hz, or null when no frame is voiced. */
export function medianF0Hz(samples: Float32Array, sampleRateHz: number = MEL_CONFIG.sampleRateHz): number | null {
  const median = f0Summary(estimateF0(samples, sampleRateHz)).medianHz;
  return Number.isFinite(median) ? median : null;
}

/** Decodes WAV bytes (any rate/format the decoder takes), resamples to 22 050 Hz and computes the log-mel. */
export function prepareSource(bytes: Uint8Array, options: { sourceName?: string; maxDurationSeconds: number }): PreparedSource {
  const decoded = decodeWav(bytes, { sourceName: options.sourceName ?? 'the input WAV', maxDurationSeconds: options.maxDurationSeconds });
  const speech = resample(decoded.samples, decoded.sampleRateHz, MEL_CONFIG.sampleRateHz);
  const logMel = logMelSpectrogram(speech, MEL_CONFIG);
  if (logMel.frames < 2) {
    throw new EngineError('INVALID_AUDIO', `${options.sourceName ?? 'the input WAV'} is too short to convert (${decoded.durationSeconds.toFixed(3)} s); give at least 0.1 s of speech`, 'input');
  }
  return {
    speech,
    logMel,
    wav: encodeWav(speech, MEL_CONFIG.sampleRateHz),
    originalSampleRateHz: decoded.sampleRateHz,
    durationSeconds: speech.length / MEL_CONFIG.sampleRateHz,
    f0MedianHz: medianF0Hz(speech),
    warnings: decoded.warnings,
  };
}

/** One lane's audio and measurements, before it gets job ids. */
export interface LaneAudio {
  samples: Float32Array;
  wav: Uint8Array;
  logMel: LogMel;
  durationSeconds: number;
  processingSeconds: number;
  realTimeFactor: number;
  f0MedianHz: number | null;
}

/**
 * The engine's default vocoder: `griffinLimVocoder`'s Griffin-Lim (same seed, same samples), run so that a job's cancel
 * stops it between two iterations instead of after the whole reconstruction.
 */
export function cancellableGriffinLimVocoder(iterations = 32): Vocoder {
  return (logMel, { lengthSamples, signal }) => griffinLimFromLogMelAsync(logMel, { iterations, lengthSamples, seed: 0, signal });
}

/** Stages reported by `convertLaneMel` and `renderLane`. */
export type LaneStage = 'converting' | 'vocoding' | 'measuring';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Semitones from the median F0 of `from` to that of `to` (both estimated on the log-mel, voiced frames); 0 if either is unvoiced. */
export function semitonesBetween(from: LogMel, to: LogMel): number {
  const median = (logMel: LogMel): number => {
    const voiced = [...estimateF0FromLogMel(logMel)].filter((f) => f > 0).sort((a, b) => a - b);
    return voiced.length === 0 ? Number.NaN : voiced[Math.floor(voiced.length / 2)]!;
  };
  const ratio = median(to) / median(from);
  return Number.isFinite(ratio) && ratio > 0 ? 12 * Math.log2(ratio) : 0;
}

/** A lane's log-mel after its model (and the pitch warp), with the seconds that took. */
export interface ConvertedMel {
  logMel: LogMel;
  seconds: number;
}

/** The first step of a lane: the model over the source's log-mel, then the pitch warp the settings ask for. */
export async function convertLaneMel(
  source: Pick<PreparedSource, 'logMel'>,
  converter: MelConverter,
  target: ConversionTarget,
  settings: ModelSettings,
  options: { signal?: AbortSignal; onProgress?: (stage: LaneStage, fraction: number) => void } = {},
): Promise<ConvertedMel> {
  const started = performance.now();
  const report = options.onProgress ?? (() => {});
  throwIfAborted(options.signal);
  report('converting', 0);
  const { pitchShiftSemitones = 0, keepSourcePitch = false, ...rest } = settings;
  // A converter that renders F0 (`rendersPitch`) sets pitch itself through `settings.pitch` and `settings.semitones`;
  // else the log-mel is warped after it: by the source-to-output F0 ratio for `keepSourcePitch`, then the shift.
  const inModel = converter.rendersPitch === true;
  const modelSettings: ConversionSettings = inModel ? { ...rest, semitones: pitchShiftSemitones, pitch: keepSourcePitch ? 'source' : 'target' } : rest;
  const converted = await converter.convert(source.logMel, target, {
    settings: modelSettings,
    signal: options.signal,
    onProgress: (fraction) => report('converting', Math.min(1, Math.max(0, fraction)) * RENDER_STARTS_AT),
  });
  if (converted.frames !== source.logMel.frames || converted.mels !== source.logMel.mels || converted.data.length !== converted.frames * converted.mels) {
    throw new EngineError(
      'INTERNAL',
      `${converter.label} returned a log-mel of ${converted.frames}×${converted.mels}, expected ${source.logMel.frames}×${source.logMel.mels}`,
    );
  }
  const warp = inModel ? 0 : pitchShiftSemitones + (keepSourcePitch ? semitonesBetween(converted, source.logMel) : 0);
  const logMel = warp === 0 ? converted : shiftLogMelPitch(converted, Math.max(-MAX_PITCH_SHIFT_SEMITONES, Math.min(MAX_PITCH_SHIFT_SEMITONES, warp)));
  throwIfAborted(options.signal);
  return { logMel, seconds: (performance.now() - started) / 1000 };
}

/** Lane progress (0–1) at which the vocoder starts: the model's share before it. */
const RENDER_STARTS_AT = 0.6;

/**
 * The second step of a lane, on any thread that has the vocoder: vocoder → loudness matched to the source → F0 and
 * WAV. `processingSeconds` counts both steps' own time (not the wait between them).
 */
export async function renderLane(
  converted: ConvertedMel,
  sourceSpeech: Float32Array,
  options: { vocoder: Vocoder; signal?: AbortSignal; onProgress?: (stage: LaneStage, fraction: number) => void },
): Promise<LaneAudio> {
  const started = performance.now();
  const report = options.onProgress ?? (() => {});
  throwIfAborted(options.signal);
  report('vocoding', RENDER_STARTS_AT);
  await yieldToEventLoop();
  const vocoded = await options.vocoder(converted.logMel, { lengthSamples: sourceSpeech.length, signal: options.signal });
  throwIfAborted(options.signal);
  report('measuring', 0.9);
  await yieldToEventLoop();
  const samples = matchLoudness(vocoded, sourceSpeech, MEL_CONFIG.sampleRateHz);
  const f0MedianHz = medianF0Hz(samples);
  const durationSeconds = samples.length / MEL_CONFIG.sampleRateHz;
  const processingSeconds = converted.seconds + (performance.now() - started) / 1000;
  return {
    samples,
    wav: encodeWav(samples, MEL_CONFIG.sampleRateHz),
    logMel: converted.logMel,
    durationSeconds,
    processingSeconds,
    realTimeFactor: processingSeconds / durationSeconds,
    f0MedianHz,
  };
}

/** Runs one model over the prepared source, both steps on this thread; checks `signal` between stages and yields so cancels and progress get through. */
export async function convertLane(
  source: Pick<PreparedSource, 'speech' | 'logMel'>,
  converter: MelConverter,
  target: ConversionTarget,
  settings: ModelSettings,
  options: {
    vocoder: Vocoder;
    signal?: AbortSignal;
    onProgress?: (stage: LaneStage, fraction: number) => void;
  },
): Promise<LaneAudio> {
  const converted = await convertLaneMel(source, converter, target, settings, options);
  return renderLane(converted, source.speech, options);
}
