// Decoded WAV → the speech signal every model and feature expects: mono at MEL_CONFIG.sampleRateHz.
// Pure (no I/O) so the browser, the engine and `loadSpeech` prepare audio the same way.

import { MEL_CONFIG } from './melConfig.js';
import { resample } from './resample.js';
import type { DecodedAudio } from './wav.js';

/** What the input file was, without its samples. */
export type AudioInfo = Omit<DecodedAudio, 'samples' | 'warnings'>;

/** Speech ready for features: mono samples at `sampleRateHz` (MEL_CONFIG.sampleRateHz unless asked otherwise). */
export interface SpeechAudio {
  samples: Float32Array; // mono, [-1, 1]
  sampleRateHz: number;
  original: AudioInfo;
  warnings: string[];
}

/** Resamples decoded audio to `sampleRateHz` (default MEL_CONFIG.sampleRateHz, 22 050 Hz); a copy when already there. */
export function prepareSpeech(decoded: DecodedAudio, sampleRateHz: number = MEL_CONFIG.sampleRateHz): SpeechAudio {
  const { samples, warnings, ...original } = decoded;
  return {
    samples: resample(samples, decoded.sampleRateHz, sampleRateHz),
    sampleRateHz,
    original,
    warnings: [...warnings],
  };
}
