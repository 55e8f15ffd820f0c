// Shared fixtures of the vocoder tests: a tiny config, a speech-like signal with its log-mel and statistics, and batches
// built by the training code's own `vocoderItem` (so the tests exercise the real alignment of mels and targets).

import { logMelSpectrogram, type LogMel } from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import type { MelNormalization } from '../../src/models/melNormalization.js';
import { DEFAULT_VOCODER_LOSS, type VocoderBatch, type VocoderConfig, type VocoderLossConfig } from '../../src/models/vocoder/model.js';
import { vocoderBatch, vocoderItem } from '../../src/models/vocoder/train.js';
import { speechLike } from '../audio/signals.js';

export const SR = MEL_CONFIG.sampleRateHz;
export const HOP = MEL_CONFIG.hopSamples;

/** The smallest network: one block of width 8 (receptive half-width 2 frames). */
export const TINY: VocoderConfig = { mels: MEL_CONFIG.melBins, width: 8, blocks: 1, inner: 16, kernel: 3, layerScale: 0.5, maxLogMagnitude: Math.log(1000), correctionFromHz: 0 };
/** Loss with two small extra resolutions (the aligned 1024 analysis is always there). */
export const TINY_LOSS: VocoderLossConfig = { ...DEFAULT_VOCODER_LOSS, stftSizes: [1024, 256] };

/** Speech-like test audio (tests/audio/signals.ts) and its log-mel. */
export function speechFixture(seconds = 1, seed = 3): { samples: Float32Array; mel: LogMel } {
  const samples = speechLike(SR, Math.round(seconds * SR), seed);
  return { samples, mel: logMelSpectrogram(samples) };
}

/** Per-bin mean/std of a log-mel (std floored at 0.1). */
export function statsOf(mel: LogMel): MelNormalization {
  const mean = new Float32Array(mel.mels);
  const std = new Float32Array(mel.mels);
  for (let k = 0; k < mel.mels; k++) {
    let s = 0;
    let q = 0;
    for (let t = 0; t < mel.frames; t++) {
      const v = mel.data[t * mel.mels + k]!;
      s += v;
      q += v * v;
    }
    mean[k] = s / mel.frames;
    std[k] = Math.max(0.1, Math.sqrt(Math.max(0, q / mel.frames - mean[k]! ** 2)));
  }
  return { mean, std };
}

/** A batch of crops at the given start frames of the fixture. */
export function fixtureBatch(fixture: { samples: Float32Array; mel: LogMel }, starts: readonly number[], frames: number, loss: VocoderLossConfig = TINY_LOSS): VocoderBatch {
  return vocoderBatch(starts.map((s) => vocoderItem(fixture.samples, fixture.mel, s, frames, loss)), frames, loss);
}
