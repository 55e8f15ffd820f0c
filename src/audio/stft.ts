// Short-time Fourier transform and its inverse, framed exactly as HiFi-GAN and DiffVC frame audio.
// Reflect-pad (nFft − hop)/2 samples each side, no further centering: frames = floor(n / hop), frame t centred on t·hop + hop/2.

import { MEL_CONFIG } from './melConfig.js';
import { InvalidArgumentError } from './errors.js';
import { RealFft } from './realFft.js';
import { checkFloat32Array, checkInteger, isPowerOfTwo } from './validate.js';

/** Framing settings of an STFT; `MelConfig` satisfies it. */
export interface StftConfig {
  /** FFT size, samples (power of two). */
  readonly nFft: number;
  /** Hann window length, samples (≤ nFft; centred and zero-padded to nFft). */
  readonly windowSamples: number;
  /** Hop between frames, samples (≤ nFft). */
  readonly hopSamples: number;
}

/** Complex spectrogram, bins = nFft/2 + 1. */
export interface Spectrogram {
  frames: number;
  bins: number;
  real: Float32Array; // [frames × bins], row-major
  imag: Float32Array; // [frames × bins], row-major
}

/** Checks an STFT config and returns its left and right padding, samples. */
export function checkStftConfig(config: StftConfig): { padLeft: number; padRight: number } {
  if (!isPowerOfTwo(config.nFft) || config.nFft < 4) {
    throw new InvalidArgumentError(`nFft must be a power of two ≥ 4, got ${String(config.nFft)}`);
  }
  checkInteger('hopSamples', config.hopSamples, 1, config.nFft);
  checkInteger('windowSamples', config.windowSamples, 1, config.nFft);
  const total = config.nFft - config.hopSamples;
  const padLeft = Math.floor(total / 2);
  return { padLeft, padRight: total - padLeft };
}

/** Number of STFT frames for `lengthSamples` samples: floor(lengthSamples / hopSamples). */
export function stftFrameCount(lengthSamples: number, config: StftConfig = MEL_CONFIG): number {
  return Math.floor(lengthSamples / config.hopSamples);
}

const windowCache = new Map<string, Float64Array>();

/** Periodic Hann window of `windowSamples` (as torch.hann_window), centred and zero-padded to `nFft` samples. */
export function hannWindow(windowSamples: number, nFft: number): Float64Array {
  return Float64Array.from(cachedHannWindow(windowSamples, nFft));
}

function cachedHannWindow(windowSamples: number, nFft: number): Float64Array {
  const key = `${windowSamples}/${nFft}`;
  let w = windowCache.get(key);
  if (w === undefined) {
    w = new Float64Array(nFft);
    const offset = Math.floor((nFft - windowSamples) / 2);
    for (let i = 0; i < windowSamples; i++) w[offset + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / windowSamples);
    windowCache.set(key, w);
  }
  return w;
}

/** Reflect-pads `samples` by padLeft/padRight (mirror without repeating the edge, folded again for very short input). */
export function reflectPad(samples: Float32Array | Float64Array, padLeft: number, padRight: number): Float64Array {
  const out = new Float64Array(samples.length + padLeft + padRight);
  reflectPadInto(samples, padLeft, out);
  return out;
}

/** `reflectPad` into a preallocated `out` of length n + padLeft + padRight. */
export function reflectPadInto(samples: Float32Array | Float64Array, padLeft: number, out: Float64Array): void {
  const n = samples.length;
  if (n === 0) {
    out.fill(0);
    return;
  }
  out.set(samples, padLeft);
  const period = 2 * (n - 1);
  for (let i = 0; i < out.length; i++) {
    if (i === padLeft) i = padLeft + n; // the middle is a plain copy
    if (i >= out.length) break;
    let j = i - padLeft;
    if (period === 0) j = 0;
    else {
      j = ((j % period) + period) % period;
      if (j >= n) j = period - j;
    }
    out[i] = samples[j];
  }
}

/** Per-config state reused across frames: FFT, window, frame buffer. */
export class StftEngine {
  readonly config: StftConfig;
  readonly fft: RealFft;
  readonly window: Float64Array; // [nFft], shared: do not modify
  readonly padLeft: number;
  readonly padRight: number;
  private readonly frame: Float64Array; // [nFft]
  private acc = new Float64Array(0); // [(frames − 1)·hop + nFft], overlap-add buffer reused between calls
  private wsumInverse = new Float64Array(0); // same shape: 1 / Σ_t w²(i − t·hop), 0 where no frame reaches
  private wsumFrames = -1;

  constructor(config: StftConfig) {
    const { padLeft, padRight } = checkStftConfig(config);
    this.config = config;
    this.padLeft = padLeft;
    this.padRight = padRight;
    this.fft = new RealFft(config.nFft);
    this.window = cachedHannWindow(config.windowSamples, config.nFft);
    this.frame = new Float64Array(config.nFft);
  }

  /** STFT of an already padded signal into re/im [frames × bins]. */
  analysePadded(padded: Float64Array, frames: number, re: Float32Array, im: Float32Array): void {
    const { nFft, hopSamples } = this.config;
    const bins = this.fft.bins;
    const w = this.window;
    const frame = this.frame;
    for (let t = 0; t < frames; t++) {
      const start = t * hopSamples;
      for (let i = 0; i < nFft; i++) frame[i] = padded[start + i] * w[i];
      this.fft.forward(frame, re, im, t * bins);
    }
  }

  /**
   * Windowed overlap-add of the inverse FFT of re/im [frames × bins], divided by the summed squared window,
   * written to out[0 .. lengthSamples) in unpadded sample positions (zero where no frame reaches).
   */
  synthesise(re: Float32Array, im: Float32Array, frames: number, out: Float32Array | Float64Array, lengthSamples: number): void {
    const { nFft, hopSamples } = this.config;
    const bins = this.fft.bins;
    const w = this.window;
    const paddedLength = frames > 0 ? (frames - 1) * hopSamples + nFft : 0;
    if (this.wsumFrames !== frames) {
      this.acc = new Float64Array(paddedLength);
      const wsum = new Float64Array(paddedLength);
      for (let t = 0; t < frames; t++) {
        const start = t * hopSamples;
        for (let i = 0; i < nFft; i++) wsum[start + i] += w[i] * w[i];
      }
      for (let i = 0; i < paddedLength; i++) wsum[i] = wsum[i] > 1e-8 ? 1 / wsum[i] : 0;
      this.wsumInverse = wsum;
      this.wsumFrames = frames;
    } else {
      this.acc.fill(0);
    }
    const acc = this.acc;
    const wsumInverse = this.wsumInverse;
    for (let t = 0; t < frames; t++) this.fft.inverseAddWindowed(re, im, t * bins, w, acc, t * hopSamples);
    const reach = Math.max(0, Math.min(lengthSamples, paddedLength - this.padLeft));
    for (let i = 0; i < reach; i++) out[i] = acc[i + this.padLeft] * wsumInverse[i + this.padLeft];
    for (let i = reach; i < lengthSamples; i++) out[i] = 0;
  }
}

/** STFT of mono samples: reflect-pad (nFft − hop)/2 each side, Hann window, frames = floor(n / hop). */
export function stft(samples: Float32Array, config: StftConfig = MEL_CONFIG): Spectrogram {
  checkFloat32Array('samples', samples);
  const engine = new StftEngine(config);
  const frames = stftFrameCount(samples.length, config);
  const bins = engine.fft.bins;
  const real = new Float32Array(frames * bins);
  const imag = new Float32Array(frames * bins);
  if (frames > 0) engine.analysePadded(reflectPad(samples, engine.padLeft, engine.padRight), frames, real, imag);
  return { frames, bins, real, imag };
}

/** Inverse STFT by windowed overlap-add with window-sum normalisation; returns `lengthSamples` samples. */
export function istft(spec: Spectrogram, lengthSamples: number, config: StftConfig = MEL_CONFIG): Float32Array {
  checkSpectrogram(spec, config);
  checkInteger('lengthSamples', lengthSamples, 0);
  const engine = new StftEngine(config);
  const out = new Float32Array(lengthSamples);
  engine.synthesise(spec.real, spec.imag, spec.frames, out, lengthSamples);
  return out;
}

/** |X| of each bin. */
export function magnitudes(spec: Spectrogram): Float32Array {
  const n = spec.real.length;
  const out = new Float32Array(n); // [frames × bins]
  for (let i = 0; i < n; i++) {
    const re = spec.real[i];
    const im = spec.imag[i];
    out[i] = Math.sqrt(re * re + im * im);
  }
  return out;
}

function checkSpectrogram(spec: Spectrogram, config: StftConfig): void {
  checkStftConfig(config);
  const bins = config.nFft / 2 + 1;
  if (spec.bins !== bins) {
    throw new InvalidArgumentError(`spectrogram has ${spec.bins} bins, expected nFft/2 + 1 = ${bins}`);
  }
  checkInteger('spectrogram frames', spec.frames, 0);
  checkFloat32Array('spectrogram real', spec.real, spec.frames * bins);
  checkFloat32Array('spectrogram imag', spec.imag, spec.frames * bins);
}
