// Phase reconstruction by fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013): the baseline vocoder.
// Momentum update as in librosa.griffinlim: c ← P(c) − α/(1+α)·P(c_prev), then keep only the phase.

import { MEL_CONFIG, type MelConfig } from './melConfig.js';
import { logMelToLinearMagnitude, type LogMel } from './mel.js';
import { reflectPadInto, StftEngine, type StftConfig } from './stft.js';
import { checkFloat32Array, checkInteger, checkNumber } from './validate.js';

/** Options of `griffinLim`. */
export interface GriffinLimOptions {
  /** Iterations; default 32. */
  iterations?: number;
  /** Momentum α of fast Griffin-Lim; default 0.99 (0 = classic Griffin-Lim). */
  momentum?: number;
  /** Output length, samples; default frames·hop. Lengths outside [frames·hop, frames·hop + hop) are zero-padded or cut after reconstruction. */
  lengthSamples?: number;
  /** Seed of the initial random phases; default 0. Same seed, same output. */
  seed?: number;
  /** Framing; default MEL_CONFIG. */
  config?: StftConfig;
  /** Starting phases [frames × bins], radians, instead of random ones (e.g. `phaseFromLogMagnitude`'s); `seed` is then unused. */
  initialPhase?: Float32Array;
}

/** Waveform whose STFT magnitude approximates `magnitudes` [frames × bins], bins = nFft/2 + 1. */
export function griffinLim(magnitudes: Float32Array, frames: number, options: GriffinLimOptions = {}): Float32Array {
  const steps = griffinLimSteps(magnitudes, frames, options);
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/**
 * `griffinLim` one iteration at a time: yields the number of iterations done after each, returns the waveform.
 * A caller can pause (or stop) between iterations; run to the end it gives exactly `griffinLim`'s samples.
 */
export function* griffinLimSteps(magnitudes: Float32Array, frames: number, options: GriffinLimOptions = {}): Generator<number, Float32Array, void> {
  const config = options.config ?? MEL_CONFIG;
  const engine = new StftEngine(config);
  const bins = engine.fft.bins;
  checkInteger('frames', frames, 0);
  checkFloat32Array('magnitudes', magnitudes, frames * bins);
  const iterations = options.iterations ?? 32;
  const momentum = options.momentum ?? 0.99;
  const seed = options.seed ?? 0;
  const hop = config.hopSamples;
  const lengthSamples = options.lengthSamples ?? frames * hop;
  checkInteger('iterations', iterations, 0, 100000);
  checkNumber('momentum', momentum, 0, 10);
  checkInteger('seed', seed, 0, 0xffffffff);
  checkInteger('lengthSamples', lengthSamples, 0);
  // Reconstruct at a length whose STFT has exactly `frames` frames, then pad or cut to the requested length.
  const workLength = Math.min(Math.max(lengthSamples, frames * hop), frames * hop + hop - 1);
  const signal = new Float32Array(workLength);
  if (frames === 0) return new Float32Array(lengthSamples);

  const size = frames * bins;
  const re = new Float32Array(size); // [frames × bins], current estimate S·e^{iφ}
  const im = new Float32Array(size);
  // Previous rebuilt, for the momentum term (a single iteration has none: its previous is zero).
  const prevRe = new Float32Array(iterations > 1 ? size : 0);
  const prevIm = new Float32Array(iterations > 1 ? size : 0);
  const withMomentum = iterations > 1;
  if (options.initialPhase !== undefined) checkFloat32Array('initialPhase', options.initialPhase, size);
  const random = mulberry32(seed);
  for (let i = 0; i < size; i++) {
    const phase = options.initialPhase !== undefined ? options.initialPhase[i]! : 2 * Math.PI * random();
    re[i] = magnitudes[i] * Math.cos(phase);
    im[i] = magnitudes[i] * Math.sin(phase);
  }
  const padded = new Float64Array(workLength + engine.padLeft + engine.padRight);
  const nFft = config.nFft;
  const window = engine.window;
  const frame = new Float64Array(nFft);
  const beta = momentum / (1 + momentum);
  for (let it = 0; it < iterations; it++) {
    engine.synthesise(re, im, frames, signal, workLength);
    reflectPadInto(signal, engine.padLeft, padded);
    // Re-analyse frame by frame and update in place: rebuilt = STFT(iSTFT(current)), never stored whole.
    for (let t = 0; t < frames; t++) {
      const start = t * hop;
      for (let i = 0; i < nFft; i++) frame[i] = padded[start + i] * window[i];
      const rebuilt = engine.fft.forwardRaw(frame); // bin k at [2k], [2k + 1]
      const base = t * bins;
      for (let k = 0; k < bins; k++) {
        const i = base + k;
        const r = rebuilt[2 * k];
        const m = rebuilt[2 * k + 1];
        let ar = r;
        let ai = m;
        if (withMomentum) {
          ar -= beta * prevRe[i]!;
          ai -= beta * prevIm[i]!;
          prevRe[i] = r;
          prevIm[i] = m;
        }
        const norm = Math.sqrt(ar * ar + ai * ai);
        if (norm > 1e-16) {
          const g = magnitudes[i] / norm;
          re[i] = ar * g;
          im[i] = ai * g;
        } else {
          re[i] = magnitudes[i];
          im[i] = 0;
        }
      }
    }
    yield it + 1;
  }
  engine.synthesise(re, im, frames, signal, workLength);
  if (workLength === lengthSamples) return signal;
  const out = new Float32Array(lengthSamples);
  out.set(signal.subarray(0, Math.min(workLength, lengthSamples)));
  return out;
}

/** Griffin-Lim from a log-mel: linear magnitudes via `logMelToLinearMagnitude`, then `griffinLim`. */
export function griffinLimFromLogMel(logMel: LogMel, options: Omit<GriffinLimOptions, 'config'> & { config?: MelConfig } = {}): Float32Array {
  const config = options.config ?? MEL_CONFIG;
  const linear = logMelToLinearMagnitude(logMel, config);
  return griffinLim(linear, logMel.frames, { ...options, config });
}

/** Turns a converted log-mel into samples at 22 050 Hz (the conversion pipeline's last model step). */
export type Vocoder = (logMel: LogMel, options: { lengthSamples: number; signal?: AbortSignal }) => Promise<Float32Array>;

/** The baseline vocoder: Griffin-Lim with `iterations` (default 32) and a fixed phase seed. */
export function griffinLimVocoder(iterations = 32): Vocoder {
  return async (logMel, { lengthSamples }) => griffinLimFromLogMel(logMel, { iterations, lengthSamples, seed: 0 });
}

/** Options of `griffinLimFromLogMelAsync`: those of `griffinLimFromLogMel`, a cancel signal and how often to yield. */
export type GriffinLimAsyncOptions = Omit<GriffinLimOptions, 'config'> & {
  config?: MelConfig;
  /** Aborting it stops the reconstruction between two iterations; the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Longest stretch of work between two returns to the event loop, ms; default 20. */
  yieldEveryMs?: number;
};

/**
 * `griffinLimFromLogMel` that returns to the event loop between iterations (at most every `yieldEveryMs`), so a cancel
 * or a progress event gets through a long reconstruction; same samples as the synchronous version.
 */
export async function griffinLimFromLogMelAsync(logMel: LogMel, options: GriffinLimAsyncOptions = {}): Promise<Float32Array> {
  const { signal, yieldEveryMs = 20, ...rest } = options;
  checkNumber('yieldEveryMs', yieldEveryMs, 0, 60_000);
  signal?.throwIfAborted();
  const config = rest.config ?? MEL_CONFIG;
  const linear = logMelToLinearMagnitude(logMel, config);
  const steps = griffinLimSteps(linear, logMel.frames, { ...rest, config });
  let lastYieldMs = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (performance.now() - lastYieldMs >= yieldEveryMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYieldMs = performance.now();
    }
    signal?.throwIfAborted();
  }
}

/** Small fast seeded PRNG (mulberry32) so results repeat across runs and platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
