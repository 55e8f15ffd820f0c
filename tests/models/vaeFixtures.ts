// Tiny VAE fixtures shared by the VAE model and convert CLI tests: the smallest config, synthetic utterances
// whose spectra depend on the speaker, and a tiny model file written to a temp folder.

import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import type { LogMel } from '../../src/audio/mel.js';
import { Rng } from '../../src/nn/module.js';
import { createVae, resolveVaeConfig, type VaeConfig } from '../../src/models/vae/model.js';
import { saveVae } from '../../src/models/vae/convert.js';
import type { VaeUtterance } from '../../src/models/vae/data.js';

/** The smallest sensible config: sub-second steps. */
export const TINY_VAE_CONFIG: VaeConfig = resolveVaeConfig({
  channels: 8,
  latentDims: 4,
  speakerDims: 4,
  kernelSize: 3,
  encoderBlocks: 1,
  decoderBlocks: 1,
  classifierChannels: 8,
  cropFrames: 16,
  klAnnealSteps: 10,
  warmupSteps: 2,
  learningRate: 1e-2,
});

/** Voices of the tiny models. */
export const TINY_VOICES = ['voice-a', 'voice-b', 'voice-c'] as const;
/** Their mean F0, Hz. */
export const TINY_F0_HZ = [100, 150, 220] as const;

/** A synthetic utterance: a speaker-dependent spectral tilt plus a moving formant-like bump, F0 around the speaker's. */
export function syntheticUtterance(speakerId: number, seed: number, frames = 40): { mel: LogMel; f0Hz: Float32Array } {
  const rng = new Rng(seed * 31 + speakerId);
  const mels = MEL_CONFIG.melBins;
  const data = new Float32Array(frames * mels);
  const f0Hz = new Float32Array(frames);
  const phase = rng.uniform() * 6;
  for (let t = 0; t < frames; t++) {
    const centre = 20 + 15 * Math.sin(phase + t / 6);
    for (let m = 0; m < mels; m++) {
      data[t * mels + m] = -2 - (m / mels) * (2 + speakerId) + 3 * Math.exp(-(((m - centre) / 6) ** 2)) + 0.1 * rng.normal();
    }
    f0Hz[t] = t % 10 < 7 ? TINY_F0_HZ[speakerId % TINY_F0_HZ.length]! * (1 + 0.05 * Math.sin(t / 4)) : 0;
  }
  return { mel: { frames, mels, data }, f0Hz };
}

/** `perSpeaker` synthetic utterances for each of `speakers` speakers, as training material. */
export function syntheticItems(speakers: number, perSpeaker: number): VaeUtterance[] {
  const items: VaeUtterance[] = [];
  for (let s = 0; s < speakers; s++) {
    for (let i = 0; i < perSpeaker; i++) {
      const { mel, f0Hz } = syntheticUtterance(s, i);
      let sum = 0;
      let n = 0;
      for (const f of f0Hz) if (f > 0) (sum += Math.log(f)), n++;
      items.push({ speakerId: s, mel: () => mel, f0Hz: () => f0Hz, logF0Mean: () => sum / n });
    }
  }
  return items;
}

/** Writes a tiny, untrained VAE with `TINY_VOICES` to `path`. */
export async function writeTinyVae(path: string, seed = 1): Promise<void> {
  const model = createVae(TINY_VAE_CONFIG, { speakers: TINY_VOICES.length, seed });
  try {
    await saveVae(path, { model, voices: [...TINY_VOICES], speakerLogF0: TINY_F0_HZ.map((f) => Math.log(f)), trainingDataHash: 'synthetic' }, { overwrite: true });
  } finally {
    model.dispose();
  }
}
