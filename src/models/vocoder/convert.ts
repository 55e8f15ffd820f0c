// The trained vocoder at conversion time: log-mel → samples in overlapping chunks (spectra stitched before one
// overlap-add, so chunk seams are exact), DC removed, clamped to [−1, 1]; and its `.timbre` model file (kind 'vocoder').

import { griffinLimVocoder, type Vocoder } from '../../audio/griffinLim.js';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../audio/errors.js';
import { checkLogMel } from '../../audio/mel.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import { RealFft } from '../../audio/realFft.js';
import { SegmentedGriffinLim } from '../../audio/segmentedGriffinLim.js';
import { PhaseGradientReconstruction } from '../../audio/phaseGradient.js';
import { hannWindow } from '../../audio/stft.js';
import { InvalidModelFileError, ModelMismatchError } from '../../nn/errors.js';
import { normalizationFromJson, normalizationToJson, type MelNormalization } from '../melNormalization.js';
import { loadModelFile, saveModelFile, type JsonValue, type WeightStorage } from '../../nn/modelFile.js';
import { Rng, type WeightMap } from '../../nn/module.js';
import { installedVocoderPath, shippedVocoderPath, userVocoderPath } from './files.js';
import { checkVocoderConfig, DEFAULT_VOCODER_CONFIG, VOCODER_BINS, VocoderNet, vocoderContextFrames, vocoderGflopsPerSecond, type VocoderConfig } from './model.js';

/** Model-file kind of the neural vocoder. */
export const VOCODER_KIND = 'vocoder';

/** Architecture version; a file of another version is refused. */
export const VOCODER_KIND_VERSION = 1;
/**
 * Frames per network pass at conversion (≈ 24 s; its largest activation is 2048 × 1539 floats, 12 MB); longer inputs go
 * in overlapping chunks so memory stays bounded. Each chunk recomputes 2 × `vocoderContextFrames` (54) frames: 2.6 %.
 */
export const DEFAULT_CHUNK_FRAMES = 2048;

/** Mel → samples, as every vocoder of the pipeline (`src/audio/griffinLim.ts`'s `Vocoder`). */
export type VocoderFunction = Vocoder;

/** What a vocoder model file holds besides the weights. */
export interface VocoderModelInfo {
  readonly config: VocoderConfig;
  /** Per-mel-bin statistics the network normalises its input with (the corpus train split's). */
  readonly normalization: MelNormalization;
  readonly trainingDataHash: string;
  readonly validationMetrics?: { readonly [key: string]: number };
  /** Free-form training facts (steps, seconds, command, fine-tune set). */
  readonly training?: { readonly [key: string]: JsonValue };
}

/**
 * Windowed overlap-add of inverse real FFTs, normalised by the summed squared window: src/audio/stft.ts's `istft`, fed a
 * few frames at a time so a long input never holds its whole spectrogram (10 min would be 212 MB of re/im).
 */
export class OverlapAdd {
  readonly frames: number;
  private readonly fft = new RealFft(MEL_CONFIG.nFft);
  private readonly window = hannWindow(MEL_CONFIG.windowSamples, MEL_CONFIG.nFft);
  private readonly acc: Float64Array; // [(frames − 1)·hop + nFft], padded positions
  private added = 0;

  constructor(frames: number) {
    if (!(Number.isInteger(frames) && frames >= 0)) throw new InvalidArgumentError(`OverlapAdd: frames must be a whole number, received ${frames}`);
    this.frames = frames;
    this.acc = new Float64Array(frames > 0 ? (frames - 1) * MEL_CONFIG.hopSamples + MEL_CONFIG.nFft : 0);
  }

  /** Adds the next `count` frames, re/im [count × bins] row-major. */
  add(re: Float32Array, im: Float32Array, count: number): void {
    if (this.added + count > this.frames || re.length < count * VOCODER_BINS || im.length < count * VOCODER_BINS) {
      throw new InvalidArgumentError(`OverlapAdd: ${count} more frames after ${this.added} of ${this.frames}, or re/im shorter than ${count} × ${VOCODER_BINS}`);
    }
    for (let t = 0; t < count; t++) this.fft.inverseAddWindowed(re, im, t * VOCODER_BINS, this.window, this.acc, (this.added + t) * MEL_CONFIG.hopSamples);
    this.added += count;
  }

  /** `lengthSamples` samples of the unpadded signal (zeros where no frame reaches), once every frame was added. */
  finish(lengthSamples: number): Float32Array {
    if (this.added !== this.frames) throw new InvalidArgumentError(`OverlapAdd: ${this.added} of ${this.frames} frames added`);
    const { nFft, hopSamples: hop } = MEL_CONFIG;
    const wsum = new Float64Array(this.acc.length);
    for (let t = 0; t < this.frames; t++) for (let i = 0; i < nFft; i++) wsum[t * hop + i] += this.window[i]! * this.window[i]!;
    const padLeft = Math.floor((nFft - hop) / 2);
    const out = new Float32Array(lengthSamples);
    const reach = Math.max(0, Math.min(lengthSamples, this.acc.length - padLeft));
    for (let i = 0; i < reach; i++) out[i] = wsum[i + padLeft]! > 1e-8 ? this.acc[i + padLeft]! / wsum[i + padLeft]! : 0;
    return out;
  }
}

/** Subtracts the mean, then clamps to [−1, 1], in place; returns `samples`. */
export function removeDcAndClamp(samples: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  const mean = samples.length > 0 ? sum / samples.length : 0;
  for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-1, Math.min(1, samples[i]! - mean));
  return samples;
}

/**
 * Where the output's phase comes from: 'gradient' (default) integrates it from the network's log-magnitude by
 * src/audio/phaseGradient.ts, so harmonics stay coherent from frame to frame (a frame-rate convolutional network cannot
 * carry an absolute phase across a long steady vowel); 'network' takes the phase head's own prediction.
 */
export type VocoderPhaseSource = 'gradient' | 'network';
export const VOCODER_PHASE_SOURCES: readonly VocoderPhaseSource[] = Object.freeze(['gradient', 'network']);

/** Options of a loaded vocoder. */
export interface NeuralVocoderOptions {
  /** Frames per network pass (default `DEFAULT_CHUNK_FRAMES`). */
  readonly chunkFrames?: number;
  /** Phase of the output (default 'gradient'). */
  readonly phase?: VocoderPhaseSource;
  /**
   * Griffin-Lim iterations run from the phase-gradient phase (default `DEFAULT_REFINE_ITERATIONS`; 0 = none; 'gradient'
   * phase only). PGHI alone leaves the spectrum inconsistent (no signal has exactly that STFT); one iteration makes it
   * consistent, which the card's validation-split figures show matters most to a speech recogniser.
   */
  readonly refineIterations?: number;
}

/** Griffin-Lim iterations after the phase-gradient phase (chosen on the validation split; see the card). */
export const DEFAULT_REFINE_ITERATIONS = 1;

/** A loaded vocoder network; `vocode` is the engine's `Vocoder`. */
export class NeuralVocoder {
  readonly info: VocoderModelInfo;
  readonly label: string;
  /** Frames per network pass (each plus `vocoderContextFrames` of context per side). */
  readonly chunkFrames: number;
  readonly phase: VocoderPhaseSource;
  readonly refineIterations: number;
  private net: VocoderNet | null;

  constructor(net: VocoderNet, info: VocoderModelInfo, options: NeuralVocoderOptions = {}) {
    const chunkFrames = options.chunkFrames ?? DEFAULT_CHUNK_FRAMES;
    const context = vocoderContextFrames(net.config);
    if (!(Number.isInteger(chunkFrames) && chunkFrames > 2 * context)) {
      throw new InvalidArgumentError(`chunkFrames must be a whole number above twice the context (${2 * context}), received ${chunkFrames}`);
    }
    const phase = options.phase ?? 'gradient';
    if (!VOCODER_PHASE_SOURCES.includes(phase)) throw new InvalidArgumentError(`vocoder phase must be one of ${VOCODER_PHASE_SOURCES.join(', ')}, received ${String(phase)}`);
    const refineIterations = options.refineIterations ?? DEFAULT_REFINE_ITERATIONS;
    if (!(Number.isInteger(refineIterations) && refineIterations >= 0 && refineIterations <= 100)) throw new InvalidArgumentError(`refineIterations must be a whole number 0–100, received ${String(refineIterations)}`);
    this.refineIterations = phase === 'gradient' ? refineIterations : 0;
    this.net = net;
    this.info = info;
    this.chunkFrames = chunkFrames;
    this.phase = phase;
    this.label = vocoderLabel(net.config);
  }

  /**
   * Log-mel [frames × 80] (natural log, unnormalised) → `lengthSamples` samples at 22 050 Hz. Chunks keep their centre
   * frames only, with `vocoderContextFrames` of context each side — the network's whole receptive field — so the stitched
   * spectrogram equals one pass over the whole input; the phase integration runs on through the chunks. Bin 0 is zeroed
   * and the mean removed (no DC), then [−1, 1] clamped.
   */
  readonly vocode: VocoderFunction = async (logMel, options) => {
    const net = this.net;
    if (net === null) throw new ModelMismatchError(`${this.label} was disposed; load the model again`);
    checkLogMel(logMel, net.config.mels);
    const { lengthSamples, signal } = options;
    if (!(Number.isInteger(lengthSamples) && lengthSamples >= 0)) throw new InvalidArgumentError(`lengthSamples must be a whole number ≥ 0, received ${lengthSamples}`);
    const throwIfAborted = () => {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('vocoding cancelled');
    };
    throwIfAborted();
    const { frames, mels } = logMel;
    if (frames === 0) return new Float32Array(lengthSamples);
    const context = vocoderContextFrames(net.config);
    const core = this.chunkFrames - 2 * context;
    const ola = new OverlapAdd(frames);
    const gradient = this.phase === 'gradient' ? new PhaseGradientReconstruction(MEL_CONFIG) : null;
    const refinement = this.refineIterations > 0 ? new SegmentedGriffinLim({ iterations: this.refineIterations, segmentFrames: this.chunkFrames }) : null;
    const bins = VOCODER_BINS;
    for (let keepStart = 0; keepStart < frames; keepStart += frames <= this.chunkFrames ? frames : core) {
      const keepEnd = frames <= this.chunkFrames ? frames : Math.min(frames, keepStart + core);
      const from = Math.max(0, keepStart - context);
      const to = Math.min(frames, keepEnd + context);
      const kept = keepEnd - keepStart;
      let re: Float32Array;
      let im: Float32Array;
      if (gradient !== null) {
        // One frame past the kept ones (within the context) gives the last kept frame its time slope.
        const withNext = Math.min(kept + 1, to - keepStart);
        const logMagnitude = tf.tidy(() => tf.slice(net.forwardLogMagnitude(tf.tensor3d(logMel.data.subarray(from * mels, to * mels), [1, to - from, mels])), [0, keepStart - from, 0], [1, withNext, bins]));
        const log = (await logMagnitude.data()) as Float32Array;
        logMagnitude.dispose();
        const phase = gradient.phases(log, kept, withNext > kept ? log.subarray(kept * bins) : null);
        if (refinement !== null) {
          const magnitude = log.subarray(0, kept * bins); // |S| in place of ln|S|, which the phase no longer needs
          for (let i = 0; i < kept * bins; i++) magnitude[i] = Math.exp(log[i]!);
          for (let t = 0; t < kept; t++) magnitude[t * bins] = 0; // no DC: speech has none
          refinement.push(magnitude, phase, kept);
          throwIfAborted();
          continue;
        }
        re = new Float32Array(kept * bins);
        im = new Float32Array(kept * bins);
        for (let i = 0; i < kept * bins; i++) {
          const magnitude = Math.exp(log[i]!);
          re[i] = magnitude * Math.cos(phase[i]!);
          im[i] = magnitude * Math.sin(phase[i]!);
        }
      } else {
        const [reTensor, imTensor] = tf.tidy(() => {
          const spectrum = net.forward(tf.tensor3d(logMel.data.subarray(from * mels, to * mels), [1, to - from, mels])); // [1, T, bins]
          const keep = (x: tf.Tensor3D) => tf.slice(x, [0, keepStart - from, 0], [1, kept, bins]);
          return [keep(spectrum.re), keep(spectrum.im)];
        });
        [re, im] = (await Promise.all([reTensor.data(), imTensor.data()])) as [Float32Array, Float32Array];
        tf.dispose([reTensor, imTensor]);
      }
      for (let t = 0; t < kept; t++) re[t * bins] = im[t * bins] = 0; // no DC: speech has none
      ola.add(re, im, kept);
      throwIfAborted();
    }
    return removeDcAndClamp(refinement !== null ? refinement.finish(lengthSamples) : ola.finish(lengthSamples));
  };

  /** The network's weights as host arrays (to start a fine-tune from). */
  weights(): WeightMap {
    if (this.net === null) throw new ModelMismatchError(`${this.label} was disposed; load the model again`);
    return this.net.getWeights();
  }

  /** Frees the network's weights. */
  dispose(): void {
    this.net?.dispose();
    this.net = null;
  }
}

/** "Neural vocoder (ConvNeXt 256 × 8, 0.64 GFLOP/s)". */
export function vocoderLabel(config: VocoderConfig): string {
  return `Neural vocoder (ConvNeXt ${config.width} × ${config.blocks}, ${vocoderGflopsPerSecond(config).toFixed(2)} GFLOP/s)`;
}

/** Writes the network with its config, normalisation and training-data hash as a `.timbre` file (float16 by default). */
export async function saveVocoderModel(
  path: string,
  net: VocoderNet,
  info: Omit<VocoderModelInfo, 'config' | 'normalization'>,
  options: { overwrite?: boolean; storage?: WeightStorage } = {},
): Promise<void> {
  await saveModelFile(
    path,
    {
      kind: VOCODER_KIND,
      kindVersion: VOCODER_KIND_VERSION,
      melConfig: MEL_CONFIG,
      hyperparameters: { ...net.config } as unknown as { [key: string]: JsonValue },
      speakers: [],
      normalization: normalizationToJson(net.normalization),
      trainingDataHash: info.trainingDataHash,
      validationMetrics: info.validationMetrics ?? {},
      extra: { label: vocoderLabel(net.config), training: info.training ?? {} },
    },
    net.getWeights(),
    { overwrite: options.overwrite ?? false, storage: options.storage ?? 'float16' },
  );
}

function configFromHeader(header: { readonly [key: string]: JsonValue }, path: string): VocoderConfig {
  let h = header;
  const keys = Object.keys(DEFAULT_VOCODER_CONFIG) as (keyof VocoderConfig)[];
  // Files written before `correctionFromHz` existed corrected every bin.
  if (h['correctionFromHz'] === undefined) h = { ...h, correctionFromHz: 0 };
  const missing = keys.filter((k) => typeof h[k] !== 'number');
  if (missing.length > 0) throw new ModelMismatchError(`model file ${path}: the vocoder config lacks ${missing.join(', ')}; re-train it`);
  const config = Object.fromEntries(keys.map((k) => [k, h[k]])) as unknown as VocoderConfig;
  try {
    checkVocoderConfig(config);
  } catch (err) {
    throw new ModelMismatchError(`model file ${path}: ${(err as Error).message}; re-train it`);
  }
  return config;
}

/** Reads a vocoder model file, refusing other kinds, versions, feature configs and weights that do not fit its config. */
export async function loadVocoderModel(path: string, options: NeuralVocoderOptions = {}): Promise<NeuralVocoder> {
  const { header, weights } = await loadModelFile(path, { kind: VOCODER_KIND, kindVersion: VOCODER_KIND_VERSION, melConfig: MEL_CONFIG });
  const config = configFromHeader(header.hyperparameters, path);
  const normalization = normalizationFromJson(header.normalization, config.mels);
  if (normalization === null) throw new ModelMismatchError(`model file ${path}: normalisation must hold ${config.mels} means and positive stds; re-train it`);
  const net = new VocoderNet(new Rng(0), config, normalization);
  try {
    net.setWeights(weights, path);
  } catch (err) {
    net.dispose();
    throw new ModelMismatchError(`${(err as Error).message}; re-train it`);
  }
  const extra = (header.extra ?? {}) as { training?: { [key: string]: JsonValue } };
  return new NeuralVocoder(
    net,
    { config, normalization, trainingDataHash: header.trainingDataHash, validationMetrics: header.validationMetrics, training: extra.training ?? {} },
    options,
  );
}

/** Loads the installed vocoder; refuses with a message that says how to get one when there is none. */
export async function loadInstalledVocoder(home: string | undefined, options: NeuralVocoderOptions = {}): Promise<NeuralVocoder> {
  const path = installedVocoderPath(home);
  if (path === undefined) {
    throw new InvalidModelFileError(
      `no neural vocoder at ${userVocoderPath(home)} or ${shippedVocoderPath()}; train one with: timbre train vocoder (or use --vocoder griffin-lim)`,
    );
  }
  return loadVocoderModel(path, options);
}

/** What `--vocoder` (and the app's vocoder choice) accepts. */
export const VOCODER_CHOICES = ['griffin-lim', 'neural'] as const;
export type VocoderChoice = (typeof VOCODER_CHOICES)[number];

/** A vocoder ready to run, its name for reports, and how to free it. */
export interface ChosenVocoder {
  readonly vocode: Vocoder;
  readonly name: string;
  dispose(): void;
}

/**
 * The vocoder of a choice: Griffin-Lim with `iterations` (default 32; or the caller's `griffinLim`, e.g. a
 * cancellable one), or the installed neural vocoder (TIMBRE_HOME/models/vocoder, else the shipped one; refused with
 * how to get one when there is none) with its `phase` source (default 'gradient').
 */
export async function chooseVocoder(
  choice: VocoderChoice,
  options: { home?: string | undefined; iterations?: number; griffinLim?: (iterations: number) => Vocoder; phase?: VocoderPhaseSource } = {},
): Promise<ChosenVocoder> {
  if (choice === 'griffin-lim') {
    const iterations = options.iterations ?? 32;
    return { vocode: (options.griffinLim ?? griffinLimVocoder)(iterations), name: `griffin-lim (${iterations} iterations)`, dispose: () => {} };
  }
  if (choice !== 'neural') throw new InvalidArgumentError(`vocoder "${String(choice)}" is not one of ${VOCODER_CHOICES.join(', ')}`);
  const neural = await loadInstalledVocoder(options.home, options.phase !== undefined ? { phase: options.phase } : {});
  return { vocode: neural.vocode, name: `neural${neural.phase === 'network' ? ', network phase' : ''} (${neural.label})`, dispose: () => neural.dispose() };
}
