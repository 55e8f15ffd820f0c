// DFT-basis STFT and inverse STFT as plain matMuls, in-graph and differentiable: tfjs-wasm has no FFT kernels, and
// matMul gradients work on every backend. Framing and window as src/audio/stft.ts; the vocoder's head and losses use them.

import * as tf from '@tensorflow/tfjs';
import { hannWindow } from '../../audio/stft.js';
import { ShapeMismatchError } from '../../nn/errors.js';

/** x [N, K] · w [K, M] with a constant w: the gradient reaches x only, as a plain matMul with the precomputed wT [M, K]. */
export function fixedMatMul(x: tf.Tensor2D, w: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((xi, save) => {
    (save as tf.GradSaveFunc)([]);
    return { value: tf.matMul(xi as tf.Tensor2D, w), gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, wT)] };
  });
  return f(x) as tf.Tensor2D;
}

/** A constant matrix and its transpose, for `fixedMatMul`. */
export interface FixedMatrix {
  readonly w: tf.Tensor2D;
  readonly wT: tf.Tensor2D;
}

/** Uploads a row-major [rows × cols] matrix and its transpose, kept beyond any enclosing tidy. */
export function fixedMatrix(values: Float32Array, rows: number, cols: number): FixedMatrix {
  return tf.tidy(() => {
    const w = tf.tensor2d(values, [rows, cols]);
    return { w: tf.keep(w), wT: tf.keep(tf.transpose(w) as tf.Tensor2D) };
  });
}

/**
 * DFT-basis STFT and inverse STFT of one FFT size (hop = size / 4 by default) as plain matMuls, the window folded into
 * the bases: tfjs-wasm has no FFT kernels, and matMul gradients work everywhere. Constants are made once; `dispose()`.
 */
export class DftStft {
  readonly nFft: number;
  readonly hop: number;
  readonly bins: number;
  private readonly window: Float64Array;
  private analysis: FixedMatrix | undefined;
  private synthesis: FixedMatrix | undefined;
  private readonly windowSums = new Map<number, tf.Tensor2D>();

  constructor(nFft: number, hop = nFft / 4) {
    if (!(Number.isInteger(nFft) && nFft >= 8 && Number.isInteger(hop) && hop >= 1 && nFft % hop === 0)) {
      throw new ShapeMismatchError(`DftStft: nFft must be a multiple of hop, received nFft ${nFft}, hop ${hop}`);
    }
    this.nFft = nFft;
    this.hop = hop;
    this.bins = nFft / 2 + 1;
    this.window = hannWindow(nFft, nFft);
  }

  /** [nFft, 2·bins]: windowed cos | −sin, so frames · basis = [re | im] of the DFT with e^{−iωn}, as src/audio/realFft.ts. */
  private analysisBasis(): FixedMatrix {
    if (!this.analysis) {
      const { nFft, bins } = this;
      const a = new Float32Array(nFft * 2 * bins);
      for (let n = 0; n < nFft; n++) {
        for (let k = 0; k < bins; k++) {
          const angle = (2 * Math.PI * ((k * n) % nFft)) / nFft; // exact reduction keeps large k·n accurate
          a[n * 2 * bins + k] = this.window[n]! * Math.cos(angle);
          a[n * 2 * bins + bins + k] = -this.window[n]! * Math.sin(angle);
        }
      }
      this.analysis = fixedMatrix(a, nFft, 2 * bins);
    }
    return this.analysis;
  }

  /** [2·bins, nFft]: one frame's windowed inverse real DFT (bins 1 … nFft/2 − 1 twice; im of bins 0 and nFft/2 unused, as irfft). */
  private synthesisBasis(): FixedMatrix {
    if (!this.synthesis) {
      const { nFft, bins } = this;
      const s = new Float32Array(2 * bins * nFft);
      for (let k = 0; k < bins; k++) {
        const c = (k === 0 || k === bins - 1 ? 1 : 2) / nFft;
        for (let n = 0; n < nFft; n++) {
          const angle = (2 * Math.PI * ((k * n) % nFft)) / nFft;
          s[k * nFft + n] = c * Math.cos(angle) * this.window[n]!;
          s[(bins + k) * nFft + n] = k === 0 || k === bins - 1 ? 0 : -c * Math.sin(angle) * this.window[n]!;
        }
      }
      this.synthesis = fixedMatrix(s, 2 * bins, nFft);
    }
    return this.synthesis;
  }

  /** Frames of `samples` samples analysed from `offset` without padding: floor((samples − offset − nFft) / hop) + 1. */
  framesOf(samples: number, offset = 0): number {
    return Math.floor((samples - offset - this.nFft) / this.hop) + 1;
  }

  /** y [B, L] → re, im [B, frames, bins]; frame j covers y[offset + j·hop, offset + j·hop + nFft). */
  stft(y: tf.Tensor2D, offset = 0): { re: tf.Tensor3D; im: tf.Tensor3D } {
    const [batch, length] = y.shape;
    const frames = this.framesOf(length, offset);
    if (frames < 1) throw new ShapeMismatchError(`DftStft.stft: ${length} samples from offset ${offset} hold no frame of ${this.nFft}`);
    const r = this.nFft / this.hop;
    const chunks = tf.slice(y, [0, offset], [batch, (frames + r - 1) * this.hop]).reshape([batch, frames + r - 1, this.hop]); // [B, F+r−1, hop]
    const taps = Array.from({ length: r }, (_, j) => tf.slice(chunks, [0, j, 0], [batch, frames, this.hop]));
    const framed = (r === 1 ? taps[0]! : tf.concat(taps, 2)).reshape([batch * frames, this.nFft]) as tf.Tensor2D; // [B·F, nFft]
    const { w, wT } = this.analysisBasis();
    const spec = fixedMatMul(framed, w, wT); // [B·F, 2·bins]
    const re = tf.slice(spec, [0, 0], [batch * frames, this.bins]).reshape([batch, frames, this.bins]) as tf.Tensor3D;
    const im = tf.slice(spec, [0, this.bins], [batch * frames, this.bins]).reshape([batch, frames, this.bins]) as tf.Tensor3D;
    return { re, im };
  }

  /** 1 / Σ_t w²(i − t·hop) over the overlap-added length (T + r − 1)·hop, 0 where no window reaches; [1, length]. */
  private inverseWindowSum(frames: number): tf.Tensor2D {
    let cached = this.windowSums.get(frames);
    if (!cached) {
      const length = (frames - 1) * this.hop + this.nFft;
      const sum = new Float64Array(length);
      for (let t = 0; t < frames; t++) for (let i = 0; i < this.nFft; i++) sum[t * this.hop + i] += this.window[i]! ** 2;
      cached = tf.keep(tf.tensor2d(Float32Array.from(sum, (v) => (v > 1e-8 ? 1 / v : 0)), [1, length])); // survives the caller's tidy
      if (this.windowSums.size > 8) this.disposeWindowSums();
      this.windowSums.set(frames, cached);
    }
    return cached;
  }

  /**
   * Inverse STFT framed as src/audio/stft.ts: re, im [B, T, bins] → [B, T·hop], frame t centred on sample t·hop + hop/2
   * (its (nFft − hop)/2 reflect padding trimmed), windowed overlap-add divided by the summed squared window.
   */
  istft(re: tf.Tensor3D, im: tf.Tensor3D): tf.Tensor2D {
    const [batch, frames, bins] = re.shape;
    if (bins !== this.bins || im.shape[1] !== frames || im.shape[2] !== bins) {
      throw new ShapeMismatchError(`DftStft.istft: expected re, im [batch, frames, ${this.bins}], received [${re.shape.join(', ')}] and [${im.shape.join(', ')}]`);
    }
    const r = this.nFft / this.hop;
    const { w, wT } = this.synthesisBasis();
    const spec = tf.concat([re, im], 2).reshape([batch * frames, 2 * bins]) as tf.Tensor2D; // [B·T, 2·bins]
    const framed = fixedMatMul(spec, w, wT).reshape([batch, frames, r, this.hop]); // [B, T, r, hop]
    // Overlap-add: chunk j of frame t lands on output chunk t + j.
    const parts = Array.from({ length: r }, (_, j) => {
      const part = tf.slice(framed, [0, 0, j, 0], [batch, frames, 1, this.hop]).reshape([batch, frames, this.hop]);
      return tf.pad(part, [[0, 0], [j, r - 1 - j], [0, 0]]) as tf.Tensor3D; // [B, T+r−1, hop]
    });
    const summed = (r === 1 ? parts[0]! : tf.addN(parts)).reshape([batch, (frames + r - 1) * this.hop]);
    const normalised = tf.mul(summed, this.inverseWindowSum(frames)) as tf.Tensor2D;
    const padLeft = Math.floor((this.nFft - this.hop) / 2);
    return tf.slice(normalised, [0, padLeft], [batch, frames * this.hop]);
  }

  private disposeWindowSums(): void {
    for (const t of this.windowSums.values()) t.dispose();
    this.windowSums.clear();
  }

  /** Frees the bases and window sums. */
  dispose(): void {
    for (const m of [this.analysis, this.synthesis]) if (m) tf.dispose([m.w, m.wT]);
    this.analysis = undefined;
    this.synthesis = undefined;
    this.disposeWindowSums();
  }
}
