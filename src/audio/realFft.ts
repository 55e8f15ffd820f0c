// Real-input FFT of one size on top of fft.js, with a fast real inverse (fft.js has none).
// Shared by the STFT, the log-mel hot loop, Griffin-Lim and YIN; buffers are reused between calls.

import FFT from 'fft.js';
import { InvalidArgumentError } from './errors.js';
import { isPowerOfTwo } from './validate.js';

/** Forward and inverse real FFT of a fixed power-of-two size; not re-entrant (owns scratch buffers). */
export class RealFft {
  /** Transform size, samples. */
  readonly size: number;
  /** Number of non-redundant bins, size/2 + 1. */
  readonly bins: number;
  private readonly full: FFT;
  private readonly half: FFT;
  private readonly spectrum: Float64Array; // [size complex], interleaved re/im; fft.js fills bins 0..size/2
  private readonly halfIn: Float64Array; // [size/2 complex], interleaved
  private readonly halfOut: Float64Array; // [size/2 complex], interleaved
  private readonly twiddleCos: Float64Array; // cos(2πk/size), k < size/2
  private readonly twiddleSin: Float64Array;

  constructor(size: number) {
    if (!isPowerOfTwo(size) || size < 4) {
      throw new InvalidArgumentError(`FFT size must be a power of two ≥ 4, got ${String(size)}`);
    }
    this.size = size;
    this.bins = size / 2 + 1;
    this.full = new FFT(size);
    this.half = new FFT(size / 2);
    this.spectrum = new Float64Array(2 * size);
    this.halfIn = new Float64Array(size);
    this.halfOut = new Float64Array(size);
    const m = size / 2;
    this.twiddleCos = new Float64Array(m);
    this.twiddleSin = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      this.twiddleCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.twiddleSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** DFT (e^{-iωn}, unscaled) of `input` [size]; writes bins 0..size/2 to re/im starting at `offset`. */
  forward(input: Float64Array, re: Float32Array | Float64Array, im: Float32Array | Float64Array, offset = 0): void {
    const out = this.spectrum;
    this.full.realTransform(out, input);
    for (let k = 0, j = 0; k < this.bins; k++, j += 2) {
      re[offset + k] = out[j];
      im[offset + k] = out[j + 1];
    }
  }

  /** |DFT| of `input` [size] for bins 0..count−1 into `out` (count ≤ size/2 + 1). */
  forwardMagnitudes(input: Float64Array, out: Float64Array, count: number): void {
    const spec = this.spectrum;
    this.full.realTransform(spec, input);
    for (let k = 0, j = 0; k < count; k++, j += 2) {
      const re = spec[j];
      const im = spec[j + 1];
      out[k] = Math.sqrt(re * re + im * im);
    }
  }

  /** DFT of `input` [size] into an internal buffer, returned: bin k at [2k] (re) and [2k+1] (im), k ≤ size/2; valid until the next call. */
  forwardRaw(input: Float64Array): Float64Array {
    this.full.realTransform(this.spectrum, input);
    return this.spectrum;
  }

  /**
   * Inverse DFT (scaled by 1/size) of the Hermitian spectrum in re/im[offset .. offset+size/2] into `out` [size].
   * Imaginary parts of the DC and Nyquist bins are ignored, as numpy's irfft does.
   */
  inverse(re: Float32Array | Float64Array, im: Float32Array | Float64Array, offset: number, out: Float64Array): void {
    const z = this.inverseHalf(re, im, offset);
    const m = this.size / 2;
    const scale = 1 / m;
    for (let n = 0; n < m; n++) {
      out[2 * n] = z[2 * n] * scale;
      out[2 * n + 1] = -z[2 * n + 1] * scale;
    }
  }

  /** Adds window[i]·x[i] to acc[accOffset + i], x = inverse DFT as in `inverse` (overlap-add without a frame copy). */
  inverseAddWindowed(
    re: Float32Array | Float64Array,
    im: Float32Array | Float64Array,
    offset: number,
    window: Float64Array,
    acc: Float64Array,
    accOffset: number,
  ): void {
    const z = this.inverseHalf(re, im, offset);
    const m = this.size / 2;
    const scale = 1 / m;
    for (let n = 0, i = accOffset; n < m; n++, i += 2) {
      acc[i] += z[2 * n] * scale * window[2 * n];
      acc[i + 1] -= z[2 * n + 1] * scale * window[2 * n + 1];
    }
  }

  /** Half-size transform behind the inverse; x[2n] = out[2n]/m, x[2n+1] = −out[2n+1]/m. */
  private inverseHalf(re: Float32Array | Float64Array, im: Float32Array | Float64Array, offset: number): Float64Array {
    // Packs the even/odd samples into one complex half-size transform: z[n] = x[2n] + i·x[2n+1].
    const m = this.size / 2;
    const zIn = this.halfIn;
    const c = this.twiddleCos;
    const s = this.twiddleSin;
    {
      const a = re[offset];
      const b = re[offset + m];
      zIn[0] = (a + b) * 0.5;
      zIn[1] = -(a - b) * 0.5; // conj(Z[0]) where Z[0] = E + i·O
    }
    for (let k = 1; k < m; k++) {
      const ar = re[offset + k];
      const ai = im[offset + k];
      const br = re[offset + m - k];
      const bi = im[offset + m - k];
      const er = (ar + br) * 0.5;
      const ei = (ai - bi) * 0.5;
      const dr = (ar - br) * 0.5;
      const di = (ai + bi) * 0.5;
      const orr = dr * c[k] - di * s[k];
      const oi = dr * s[k] + di * c[k];
      // conj(Z[k]), Z = E + i·O; the inverse is computed as conj(DFT(conj(Z))) / m.
      zIn[2 * k] = er - oi;
      zIn[2 * k + 1] = -(ei + orr);
    }
    this.half.transform(this.halfOut, zIn);
    return this.halfOut;
  }
}
