// VAE training material: random crops of corpus utterances (or of a voice's recordings) with their F0 tracks, and a
// random other speaker per item for the conversion terms of the loss.

import * as tf from '@tensorflow/tfjs';
import type { LogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import type { CorpusDataset, DatasetUtterance } from '../../corpus/dataset.js';
import { estimateF0FromLogMel, f0FeatureDims, f0Features, meanLogF0 } from '../pitch.js';
import { Rng } from '../../nn/module.js';
import type { BatchSource } from '../../nn/train.js';
import { DEFAULT_VAE_CONFIG, type VaeBatch, type VaeConfig, type VaeNormalization } from './model.js';

// ---------------------------------------------------------------------------------------------------------------
// Data: random crops of corpus utterances with their F0, and a random other speaker per item.

/** One utterance as training material: its log-mel, F0 track and speaker. */
export interface VaeUtterance {
  readonly speakerId: number;
  readonly mel: () => LogMel;
  readonly f0Hz: () => Float32Array;
  /** Mean ln f0 of its voiced frames (NaN if none). */
  readonly logF0Mean: () => number;
}

/** Deterministic seed of a batch from its item indices (so a resumed run crops the same way). */
function indicesSeed(indices: readonly number[], salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (const i of indices) h = Math.imul(h ^ (i + 0x9e3779b9), 0x01000193) >>> 0;
  return h;
}

/** Crops of `cropFrames` (or whole utterances padded to a multiple of `downsample` when null), items in `indices` order. */
export function vaeBatchSource(
  items: readonly VaeUtterance[],
  options: { config: VaeConfig; normalization: VaeNormalization; speakerLogF0: readonly number[]; cropFrames: number | null; salt?: number; speakerCount?: number },
): BatchSource<VaeBatch> {
  const { config, normalization, speakerLogF0 } = options;
  const mels = config.mels;
  const speakers = options.speakerCount ?? speakerLogF0.length;
  const floor = Math.log(MEL_CONFIG.logFloor);
  return {
    size: items.length,
    getBatch(indices) {
      const rng = new Rng(indicesSeed(indices, options.salt ?? 0));
      const chosen = indices.map((i) => items[i]!);
      const crop = options.cropFrames;
      const width = crop ?? Math.ceil(Math.max(...chosen.map((u) => u.mel().frames)) / config.downsample) * config.downsample;
      const b = chosen.length;
      const mel = new Float32Array(b * width * mels);
      const mask = new Float32Array(b * width);
      const dims = f0FeatureDims(config);
      const f0 = new Float32Array(b * width * dims);
      const targetF0 = new Float32Array(b * width * dims);
      const speakerIds = new Int32Array(b);
      const targetIds = new Int32Array(b);
      chosen.forEach((u, k) => {
        const full = u.mel();
        const length = Math.min(width, full.frames);
        const start = full.frames > width ? rng.int(full.frames - width + 1) : 0;
        for (let t = 0; t < width; t++) {
          const base = (k * width + t) * mels;
          for (let m = 0; m < mels; m++) {
            const value = t < length ? full.data[(start + t) * mels + m]! : floor;
            mel[base + m] = (value - normalization.mean[m]!) / normalization.std[m]!;
          }
          mask[k * width + t] = t < length ? 1 : 0;
        }
        const track = u.f0Hz();
        const cropped = new Float32Array(width);
        for (let t = 0; t < length; t++) cropped[t] = track[start + t] ?? 0;
        const own = Number.isFinite(u.logF0Mean()) ? u.logF0Mean() : speakerLogF0[u.speakerId]!;
        f0.set(f0Features(cropped, width, config, 0, own), k * width * dims);
        speakerIds[k] = u.speakerId;
        let target = speakers > 1 ? rng.int(speakers - 1) : 0;
        if (speakers > 1 && target >= u.speakerId) target++;
        targetIds[k] = target;
        // The target's mean, plus a random offset so the decoder also learns to render pitches outside a voice's range.
        const offset = config.conversionPitchRange > 0 ? ((2 * rng.uniform() - 1) * config.conversionPitchRange * Math.LN2) / 12 : 0;
        const shift = speakerLogF0[target]! - own + offset;
        targetF0.set(f0Features(cropped, width, config, shift, own), k * width * dims);
      });
      return {
        mel: tf.tensor3d(mel, [b, width, mels]),
        mask: tf.tensor3d(mask, [b, width, 1]),
        f0: tf.tensor3d(f0, [b, width, dims]),
        speakerIds,
        targetIds,
        targetF0: tf.tensor3d(targetF0, [b, width, dims]),
      };
    },
  };
}

/**
 * Training material of corpus utterances: log-mels read lazily through the dataset's cache; F0 estimated from the
 * log-mel itself (`estimateF0FromLogMel`, cached), the same estimator conversion uses on any source.
 */
export function corpusUtterances(dataset: CorpusDataset, utterances: readonly DatasetUtterance[] = dataset.utterances): VaeUtterance[] {
  return utterances.map((u) => {
    let f0: Float32Array | undefined;
    let logF0: number | undefined;
    const f0Hz = (): Float32Array => (f0 ??= estimateF0FromLogMel(dataset.mel(u.voice, u.sentence)));
    return { speakerId: u.speakerId, mel: () => dataset.mel(u.voice, u.sentence), f0Hz, logF0Mean: () => (logF0 ??= meanLogF0(f0Hz())) };
  });
}

/**
 * Mean over utterances of each speaker's utterance log-F0 means (ln Hz), from at most `perSpeaker` utterances each
 * (the first in list order); `fallback` for a speaker without voiced audio.
 */
export function speakerLogF0Means(items: readonly VaeUtterance[], speakers: number, options: { perSpeaker?: number; fallback?: number } = {}): number[] {
  const fallback = options.fallback ?? Math.log(DEFAULT_VAE_CONFIG.f0ReferenceHz);
  const limit = options.perSpeaker ?? Number.POSITIVE_INFINITY;
  const sums = new Float64Array(speakers);
  const counts = new Float64Array(speakers);
  const seen = new Float64Array(speakers);
  for (const u of items) {
    if (seen[u.speakerId]! >= limit) continue;
    seen[u.speakerId] = seen[u.speakerId]! + 1;
    const m = u.logF0Mean();
    if (!Number.isFinite(m)) continue;
    sums[u.speakerId] = sums[u.speakerId]! + m;
    counts[u.speakerId] = counts[u.speakerId]! + 1;
  }
  return Array.from(sums, (s, i) => (counts[i]! > 0 ? s / counts[i]! : fallback));
}
