// Turns raw synthesizer output into corpus audio and features: resample to 22 050 Hz, trim
// silence at both ends, set one loudness for all voices, quantise to 16-bit, then log-mel and F0.

import { estimateF0 } from '../audio/f0.js';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { resample } from '../audio/resample.js';
import { decodeWav, encodeWav } from '../audio/wav.js';
import { activeRms } from '../audio/loudness.js';

/** Settings of corpus post-processing; saved in the manifest so a change rebuilds the cache. */
export interface ProcessingConfig {
  /** Rate of every cached WAV, Hz (= MEL_CONFIG.sampleRateHz). */
  readonly sampleRateHz: number;
  /** Frames quieter than the loudest 10 ms frame by more than this are silence, dB (negative). */
  readonly trimThresholdDb: number;
  /** Silence kept before the first and after the last non-silent frame, seconds. */
  readonly trimMarginSeconds: number;
  /** Active-speech RMS every utterance is scaled to, dBFS. */
  readonly loudnessDb: number;
  /** The peak never exceeds this after scaling, dBFS. */
  readonly peakCeilingDb: number;
  /** F0 search range, Hz. */
  readonly f0MinHz: number;
  readonly f0MaxHz: number;
}

/** Corpus processing used by `timbre corpus build`. */
export const DEFAULT_PROCESSING: ProcessingConfig = Object.freeze({
  sampleRateHz: MEL_CONFIG.sampleRateHz,
  trimThresholdDb: -40,
  trimMarginSeconds: 0.05,
  loudnessDb: -20,
  peakCeilingDb: -1,
  f0MinHz: 60,
  f0MaxHz: 400,
});

/** Window of energy frames used to find speech, seconds. */
const TRIM_FRAME_SECONDS = 0.01;

/**
 * First and last sample (end exclusive) of speech in `samples`: the first and last 10 ms frame whose energy
 * is within `thresholdDb` of the loudest frame. All-silent input gives [0, 0).
 */
export function speechBounds(samples: Float32Array, sampleRateHz: number, thresholdDb: number): [number, number] {
  const frame = Math.max(1, Math.round(sampleRateHz * TRIM_FRAME_SECONDS));
  const frames = Math.ceil(samples.length / frame);
  const energy = new Float64Array(frames);
  let loudest = 0;
  for (let f = 0; f < frames; f++) {
    const end = Math.min(samples.length, (f + 1) * frame);
    let sum = 0;
    for (let i = f * frame; i < end; i++) sum += samples[i]! * samples[i]!;
    energy[f] = sum / (end - f * frame);
    loudest = Math.max(loudest, energy[f]!);
  }
  if (loudest === 0) return [0, 0];
  const threshold = loudest * 10 ** (thresholdDb / 10);
  let first = 0;
  while (energy[first]! < threshold) first++;
  let last = frames - 1;
  while (energy[last]! < threshold) last--;
  return [first * frame, Math.min(samples.length, (last + 1) * frame)];
}

/**
 * Speech of `samples` (see `speechBounds`) with exactly `marginSeconds` before and after: taken from the
 * recording where it has that much, zero-padded where it does not (espeak-ng starts speaking at sample 0),
 * so every voice's utterances start and end the same way.
 */
export function trimSilence(samples: Float32Array, sampleRateHz: number, thresholdDb = -40, marginSeconds = 0.05): Float32Array {
  const [start, end] = speechBounds(samples, sampleRateHz, thresholdDb);
  if (end <= start) return new Float32Array(0);
  const margin = Math.round(marginSeconds * sampleRateHz);
  const out = new Float32Array(end - start + 2 * margin);
  const from = Math.max(0, start - margin);
  const to = Math.min(samples.length, end + margin);
  out.set(samples.subarray(from, to), margin - (start - from));
  return out;
}

/** Scales to `loudnessDb` active RMS, then down if the peak would pass `peakCeilingDb`. Returns a new array. */
export function normalizeLoudness(samples: Float32Array, sampleRateHz: number, loudnessDb: number, peakCeilingDb: number): Float32Array {
  const rms = activeRms(samples, sampleRateHz);
  let peak = 0;
  for (const value of samples) peak = Math.max(peak, Math.abs(value));
  if (rms === 0 || peak === 0) return samples.slice();
  let gain = 10 ** (loudnessDb / 20) / rms;
  const ceiling = 10 ** (peakCeilingDb / 20);
  if (peak * gain > ceiling) gain = ceiling / peak;
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! * gain;
  return out;
}

/** One processed utterance: the 16-bit WAV bytes that are cached, its samples, log-mel and F0 per mel frame. */
export interface ProcessedUtterance {
  /** 16-bit PCM mono WAV at `sampleRateHz`. */
  wavBytes: Uint8Array;
  /** The samples the WAV holds (after 16-bit quantisation), so features match the cached file. */
  samples: Float32Array;
  sampleRateHz: number;
  durationSeconds: number;
  /** [frames × 80] log-mel of `samples` (MEL_CONFIG). */
  logMel: LogMel;
  /** F0 per hop of 256 samples, Hz; 0 where unvoiced. Length may differ from mel frames by one. */
  f0Hz: Float32Array;
}

/** Resample → trim → loudness → 16-bit WAV → log-mel and F0; pure and deterministic. */
export function processUtterance(samples: Float32Array, sampleRateHz: number, config: ProcessingConfig = DEFAULT_PROCESSING): ProcessedUtterance {
  const resampled = sampleRateHz === config.sampleRateHz ? samples : resample(samples, sampleRateHz, config.sampleRateHz);
  const trimmed = trimSilence(resampled, config.sampleRateHz, config.trimThresholdDb, config.trimMarginSeconds);
  const levelled = normalizeLoudness(trimmed, config.sampleRateHz, config.loudnessDb, config.peakCeilingDb);
  const wavBytes = encodeWav(levelled, config.sampleRateHz, { bitDepth: 16 });
  const quantised = decodeWav(wavBytes, { sourceName: 'corpus utterance' }).samples;
  const logMel = logMelSpectrogram(quantised, MEL_CONFIG);
  const track = estimateF0(quantised, config.sampleRateHz, { fMinHz: config.f0MinHz, fMaxHz: config.f0MaxHz, hopSamples: MEL_CONFIG.hopSamples });
  const f0Hz = new Float32Array(track.f0Hz.length);
  for (let i = 0; i < f0Hz.length; i++) f0Hz[i] = track.voiced[i] ? track.f0Hz[i]! : 0;
  return { wavBytes, samples: quantised, sampleRateHz: config.sampleRateHz, durationSeconds: quantised.length / config.sampleRateHz, logMel, f0Hz };
}
