// Engine calls that need no model: describe a file, and the front end + vocoder round trip.
// Every path argument is validated here; the CLI, server and app call these, never the DSP directly.

import { InvalidArgumentError } from '../audio/errors.js';
import { estimateF0, f0Summary } from '../audio/f0.js';
import { peakDb, rmsDb } from '../audio/levels.js';
import { matchLoudness } from '../audio/loudness.js';
import { logMelSpectrogram } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { resample } from '../audio/resample.js';
import { readWavFile, writeWavFile } from '../io/audioFile.js';
import type { VocoderChoice } from '../models/vocoder/convert.js';
import { defaultVocoderChoice } from '../models/vocoder/files.js';

/** What `timbre info` reports about one file. Levels in dBFS, F0 in Hz (NaN when nothing is voiced). */
export interface AudioFileInfo {
  path: string;
  durationSeconds: number;
  sampleRateHz: number;
  channels: number;
  bitDepth: number;
  sampleFormat: 'pcm' | 'float';
  peakDb: number;
  rmsDb: number;
  f0MedianHz: number;
  f0MinHz: number;
  f0MaxHz: number;
  voicedFraction: number;
  warnings: string[];
}

/** Decodes and measures one WAV file. */
export async function inspectAudioFile(path: string): Promise<AudioFileInfo> {
  const decoded = await readWavFile(path);
  const speech = resample(decoded.samples, decoded.sampleRateHz, MEL_CONFIG.sampleRateHz);
  const f0 = f0Summary(estimateF0(speech, MEL_CONFIG.sampleRateHz));
  return {
    path,
    durationSeconds: decoded.durationSeconds,
    sampleRateHz: decoded.sampleRateHz,
    channels: decoded.channels,
    bitDepth: decoded.bitDepth,
    sampleFormat: decoded.sampleFormat,
    peakDb: peakDb(decoded.samples),
    rmsDb: rmsDb(decoded.samples),
    f0MedianHz: f0.medianHz,
    f0MinHz: f0.minHz,
    f0MaxHz: f0.maxHz,
    voicedFraction: f0.voicedFraction,
    warnings: decoded.warnings,
  };
}

/** Vocoders of the round trip: Griffin-Lim, or the installed neural vocoder. */
export const RESYNTH_VOCODERS = ['griffin-lim', 'neural'] as const satisfies readonly VocoderChoice[];
export type ResynthVocoder = (typeof RESYNTH_VOCODERS)[number];

/** Options of `resynthesizeFile`; iterations default 32 (fast Griffin-Lim). */
export interface ResynthOptions {
  vocoder?: ResynthVocoder;
  iterations?: number;
  overwrite?: boolean;
  /** TIMBRE_HOME where a user-trained neural vocoder is looked for. */
  home?: string;
}

/** Result of a round trip: durations in seconds, real-time factor = processing ÷ audio duration. */
export interface ResynthResult {
  outputPath: string;
  durationSeconds: number;
  frames: number;
  processingSeconds: number;
  realTimeFactor: number;
  warnings: string[];
}

/** WAV → 22 050 Hz → log-mel → vocoder → WAV at 22 050 Hz with the input's loudness. */
export async function resynthesizeFile(inputPath: string, outputPath: string, options: ResynthOptions = {}): Promise<ResynthResult> {
  const iterations = options.iterations ?? 32;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1000) {
    throw new InvalidArgumentError(`iterations must be a whole number in [1, 1000], got ${iterations}`);
  }
  const vocoder = options.vocoder ?? (options.iterations !== undefined ? 'griffin-lim' : defaultVocoderChoice(options.home));
  if (!RESYNTH_VOCODERS.includes(vocoder)) {
    throw new InvalidArgumentError(`vocoder "${String(vocoder)}" is not one of ${RESYNTH_VOCODERS.join(', ')}`);
  }
  const decoded = await readWavFile(inputPath);
  const started = performance.now();
  const speech = resample(decoded.samples, decoded.sampleRateHz, MEL_CONFIG.sampleRateHz);
  const logMel = logMelSpectrogram(speech, MEL_CONFIG);
  const { chooseVocoder } = await import('../models/vocoder/convert.js');
  const chosen = await chooseVocoder(vocoder, { home: options.home, iterations });
  let vocoded: Float32Array;
  try {
    vocoded = await chosen.vocode(logMel, { lengthSamples: speech.length });
  } finally {
    chosen.dispose();
  }
  const output = matchLoudness(vocoded, speech, MEL_CONFIG.sampleRateHz);
  const processingSeconds = (performance.now() - started) / 1000;
  await writeWavFile(outputPath, output, MEL_CONFIG.sampleRateHz, { overwrite: options.overwrite ?? false });
  const durationSeconds = output.length / MEL_CONFIG.sampleRateHz;
  return {
    outputPath,
    durationSeconds,
    frames: logMel.frames,
    processingSeconds,
    realTimeFactor: processingSeconds / durationSeconds,
    warnings: decoded.warnings,
  };
}
