// Tiny DiffVC fixtures: the smallest config, synthetic normalised batches whose average voice is a fixed function of
// the source, and a tiny untrained model file written to a temp folder.

import * as tf from '@tensorflow/tfjs';
import { createDiffVc, pitchDims, referenceDims, resolveDiffVcConfig, type DiffVcBatch, type DiffVcCondition, type DiffVcConfig } from '../../src/models/diffVc/model.js';
import { saveDiffVc, type DiffVcVoiceTables } from '../../src/models/diffVc/convert.js';
import { Rng } from '../../src/nn/module.js';

/** The smallest sensible config: sub-second steps (the trainer table's `tinyConfig` says the same). */
export const TINY_DIFFVC_CONFIG: DiffVcConfig = resolveDiffVcConfig({
  encoderChannels: 8,
  encoderBlocks: 1,
  decoderChannels: 8,
  decoderMults: [1, 2],
  decoderBlocks: 1,
  normGroups: 2,
  timeDims: 8,
  condDims: 8,
  speakerDims: 4,
  cropFrames: 16,
  warmupSteps: 2,
  encoderLearningRate: 1e-2,
  learningRate: 1e-2,
});

/** Voices of the tiny model files. */
export const TINY_DIFFVC_VOICES = ['voice-a', 'voice-b'] as const;

/** Unit d-vectors of `TINY_DIFFVC_VOICES` [2 × 4]. */
export const TINY_SPEAKER_VECTORS = new Float32Array([1, 0, 0, 0, 0, 0.6, 0.8, 0]);

/** A synthetic batch: random mels, their "average voice" a smoothed, shifted copy, voice d-vectors alternating. */
export function syntheticBatch(batch: number, frames: number, seed: number, config: DiffVcConfig = TINY_DIFFVC_CONFIG): DiffVcBatch {
  const rng = new Rng(seed);
  const mels = config.mels;
  const mel = new Float32Array(batch * frames * mels);
  for (let i = 0; i < mel.length; i++) mel[i] = rng.normal();
  const average = new Float32Array(mel.length);
  for (let i = 0; i < mel.length; i++) average[i] = 0.5 * mel[i]! + 0.3;
  const speaker = new Float32Array(batch * config.speakerDims);
  for (let b = 0; b < batch; b++) speaker.set(TINY_SPEAKER_VECTORS.subarray((b % 2) * 4, (b % 2) * 4 + 4), b * config.speakerDims);
  return {
    mel: tf.tensor3d(mel, [batch, frames, mels]),
    meanSource: tf.tensor3d(mel, [batch, frames, mels]),
    average: tf.tensor3d(average, [batch, frames, mels]),
    mask: tf.ones([batch, frames, 1]) as tf.Tensor3D,
    ...tinyCondition(batch, frames, speaker, config, seed),
  };
}

/** A condition for `batch` items of `frames` frames: the given d-vectors, random pitch features and reference statistics as the config asks. */
export function tinyCondition(batch: number, frames: number, speaker: Float32Array, config: DiffVcConfig = TINY_DIFFVC_CONFIG, seed = 9): DiffVcCondition {
  const rng = new Rng(seed);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  return {
    speaker: tf.tensor2d(speaker, [batch, config.speakerDims]),
    ...(config.referenceInput ? { reference: tf.tensor2d(random(batch * referenceDims(config)), [batch, referenceDims(config)]) } : {}),
    ...(config.pitchInput ? { pitch: tf.tensor3d(random(batch * frames * pitchDims(config)), [batch, frames, pitchDims(config)]) } : {}),
  };
}

/** Per-voice tables of the tiny model files: mean F0 120 and 220 Hz, reference statistics 0 ± 1 and 0.5 ± 0.8. */
export const TINY_VOICE_TABLES: DiffVcVoiceTables = {
  logF0: new Float32Array([Math.log(120), Math.log(220)]),
  reference: Float32Array.from({ length: 2 * 160 }, (_, i) => (i < 160 ? (i < 80 ? 0 : 1) : i < 240 ? 0.5 : 0.8)),
};

/**
 * Writes a tiny, untrained DiffVC with `TINY_DIFFVC_VOICES` to `path`; `speakerDims` other than 4 (e.g. the shipped
 * speaker encoder's 128) gives the voices one-hot d-vectors of that size.
 */
export async function writeTinyDiffVc(path: string, seed = 1, speakerDims = TINY_DIFFVC_CONFIG.speakerDims): Promise<void> {
  const model = createDiffVc({ ...TINY_DIFFVC_CONFIG, speakerDims }, { seed });
  const speakerVectors = speakerDims === TINY_DIFFVC_CONFIG.speakerDims ? TINY_SPEAKER_VECTORS : Float32Array.from({ length: 2 * speakerDims }, (_, i) => (i === 0 || i === speakerDims + 1 ? 1 : 0));
  try {
    await saveDiffVc(path, { model, voices: [...TINY_DIFFVC_VOICES], speakerVectors, voiceTables: TINY_VOICE_TABLES, trainingDataHash: 'synthetic' }, { overwrite: true });
  } finally {
    model.dispose();
  }
}
