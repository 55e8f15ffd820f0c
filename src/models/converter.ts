// The plug point between the engine and every model family: a `MelConverter` maps a source
// log-mel to a target voice's log-mel. VAE, CycleGAN-VC, DiffVC and CycleDiffusion each provide one.

import type { LogMel } from '../audio/mel.js';

/** Model families the app compares side by side. */
export const MODEL_FAMILIES = ['vae', 'cyclegan', 'diffvc', 'cyclediffusion'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** Reverse-SDE solvers of the diffusion models. */
export type DiffusionSolver = 'ml' | 'euler';

/** Per-conversion settings; each family reads the ones it understands and validates them. */
export interface ConversionSettings {
  /** Diffusion reverse steps (DiffVC, CycleDiffusion); default 6. */
  steps?: number;
  /** Diffusion solver; default 'ml' (maximum-likelihood). */
  solver?: DiffusionSolver;
  /** Seed of any sampling noise; default 0, so conversions are repeatable. */
  seed?: number;
  /** Vocal-tract length normalisation of the source toward the target (VAE, CycleGAN-VC); default true. */
  vocalTractNormalization?: boolean;
  /** Models that render F0 (`rendersPitch`): 'target' moves the source's mean log-F0 to the target voice's (default), 'source' keeps it. */
  pitch?: PitchMode;
  /** Models that render F0: extra shift of the converted F0, semitones in [−24, 24]; default 0. */
  semitones?: number;
}

/** How a model that renders F0 sets the converted pitch. */
export type PitchMode = 'target' | 'source';

/** Who to sound like: a voice id plus, for any-to-any models, its reference material. */
export interface ConversionTarget {
  /** Corpus voice id (e.g. "flite-slt") or user voice name. */
  voiceId: string;
  /** Unit speaker embedding (d-vector) of the target, when a speaker encoder computed one. */
  speakerEmbedding?: Float32Array;
  /** Reference mels of the target (user voices: their recordings). */
  referenceMels?: readonly LogMel[];
}

/** Progress callback: fraction in [0, 1] of this conversion. */
export type ConversionProgress = (fraction: number) => void;

/** A loaded model of one family, ready to convert. `dispose()` frees its tensors. */
export interface MelConverter {
  readonly family: ModelFamily;
  /** Human label, e.g. "CycleGAN-VC (any → flite-slt)". */
  readonly label: string;
  /**
   * Target voice ids this model can produce; a '*' among them: also any other voice given its speaker embedding and
   * reference mels (≥ 10 s).
   */
  readonly targetVoices: readonly string[];
  /** True when the model sets F0 itself from `settings.pitch` and `settings.semitones` (no log-mel warp after it). */
  readonly rendersPitch?: boolean;
  /** Manifest sha256 of the corpus the model was trained on ('' when unknown), so an evaluation can tell another corpus. */
  readonly trainingDataHash?: string;
  /** Maps a source log-mel `[frames × 80]` to the target's log-mel of the same frame count. */
  convert(
    source: LogMel,
    target: ConversionTarget,
    options?: { settings?: ConversionSettings; onProgress?: ConversionProgress; signal?: AbortSignal },
  ): Promise<LogMel>;
  dispose(): void;
}
