// Griffin-Lim refinement of a known phase, streamed in segments of bounded memory: frames arrive in order (magnitude
// and starting phase, e.g. PGHI's), and each segment is refined together with `margin` frames of its neighbours on
// both sides, of which only the centre is kept. One Griffin-Lim iteration reaches 2·(nFft/hop) frames further (an
// inverse STFT and a re-analysis), the last synthesis nFft/hop more, so with the margin set from the iterations
// (`refinementMargin`) every kept sample equals a single pass over the whole signal up to float rounding.

import { griffinLim } from './griffinLim.js';
import { MEL_CONFIG } from './melConfig.js';
import type { StftConfig } from './stft.js';
import { checkInteger } from './validate.js';
import { InvalidArgumentError } from './errors.js';

/** Frames each side of a segment that its `iterations` can reach, plus one frame of slack. */
export function refinementMargin(iterations: number, config: StftConfig = MEL_CONFIG): number {
  const reach = Math.ceil(config.nFft / config.hopSamples);
  return reach * (2 * iterations + 1) + 1;
}

export interface SegmentedGriffinLimOptions {
  /** Griffin-Lim iterations from the given phase (≥ 1). */
  readonly iterations: number;
  /** Frames kept per segment (default 2048). */
  readonly segmentFrames?: number;
  /** Momentum of fast Griffin-Lim (default that of `griffinLim`). */
  readonly momentum?: number;
  /** Framing (default MEL_CONFIG). */
  readonly config?: StftConfig;
}

/** Streams |S| and starting phases in, samples out; `push` frames in order, then `finish` once. */
export class SegmentedGriffinLim {
  private readonly bins: number;
  private readonly hop: number;
  private readonly margin: number;
  private readonly segmentFrames: number;
  private readonly options: SegmentedGriffinLimOptions;
  /** Buffered frames start at this global frame. */
  private bufferStart = 0;
  private magnitude: Float32Array = new Float32Array(0);
  private phase: Float32Array = new Float32Array(0);
  private buffered = 0;
  /** Frames whose samples are out. */
  private emitted = 0;
  private readonly pieces: Float32Array[] = [];
  private finished = false;

  constructor(options: SegmentedGriffinLimOptions) {
    const config = options.config ?? MEL_CONFIG;
    checkInteger('iterations', options.iterations, 1, 1000);
    this.segmentFrames = options.segmentFrames ?? 2048;
    checkInteger('segmentFrames', this.segmentFrames, 1);
    this.options = options;
    this.bins = config.nFft / 2 + 1;
    this.hop = config.hopSamples;
    this.margin = refinementMargin(options.iterations, config);
  }

  /** Adds `frames` frames of |S| and phase [frames × bins] (radians); the arrays may be kept without a copy, so leave them unchanged. */
  push(magnitude: Float32Array, phase: Float32Array, frames: number): void {
    if (this.finished) throw new InvalidArgumentError('SegmentedGriffinLim: push after finish');
    const size = frames * this.bins;
    if (magnitude.length < size || phase.length < size) throw new InvalidArgumentError(`SegmentedGriffinLim: ${frames} frames need ${size} magnitudes and phases`);
    this.magnitude = append(this.magnitude, this.buffered * this.bins, magnitude.subarray(0, size));
    this.phase = append(this.phase, this.buffered * this.bins, phase.subarray(0, size));
    this.buffered += frames;
    while (this.bufferStart + this.buffered >= this.emitted + this.segmentFrames + this.margin) this.refine(this.emitted + this.segmentFrames, null);
  }

  /** The remaining samples; all samples are `lengthSamples` long in all (cut or zero-padded). */
  finish(lengthSamples: number): Float32Array {
    checkInteger('lengthSamples', lengthSamples, 0);
    if (this.finished) throw new InvalidArgumentError('SegmentedGriffinLim: finish called twice');
    const total = this.bufferStart + this.buffered;
    if (total > this.emitted) this.refine(total, lengthSamples);
    this.finished = true;
    const out = new Float32Array(lengthSamples);
    let at = 0;
    for (const piece of this.pieces) {
      if (at >= lengthSamples) break;
      out.set(piece.subarray(0, Math.min(piece.length, lengthSamples - at)), at);
      at += piece.length;
    }
    return out;
  }

  /** Refines the frames [emitted, end) with their margins, emits their samples, drops frames no longer needed. */
  private refine(end: number, lengthSamples: number | null): void {
    const { bins, hop } = this;
    const total = this.bufferStart + this.buffered;
    const from = Math.max(this.bufferStart, this.emitted - this.margin);
    const to = Math.min(total, end + this.margin);
    const frames = to - from;
    const local = (from - this.bufferStart) * bins;
    const last = lengthSamples !== null;
    const localLength = last ? Math.max(0, lengthSamples - from * hop) : frames * hop;
    const samples = griffinLim(this.magnitude.subarray(local, local + frames * bins), frames, {
      iterations: this.options.iterations,
      initialPhase: this.phase.subarray(local, local + frames * bins),
      lengthSamples: localLength,
      ...(this.options.momentum !== undefined ? { momentum: this.options.momentum } : {}),
      ...(this.options.config !== undefined ? { config: this.options.config } : {}),
    });
    const keepFrom = (this.emitted - from) * hop;
    const keepTo = last ? samples.length : (end - from) * hop;
    const kept = samples.subarray(Math.min(keepFrom, samples.length), Math.min(keepTo, samples.length));
    this.pieces.push(kept.length === samples.length ? samples : kept.slice());
    this.emitted = end;
    // Keep what the next segment's left margin needs.
    const dropTo = Math.max(this.bufferStart, Math.min(total, end - this.margin));
    const drop = dropTo - this.bufferStart;
    if (drop > 0) {
      this.magnitude = this.magnitude.slice(drop * bins, this.buffered * bins);
      this.phase = this.phase.slice(drop * bins, this.buffered * bins);
      this.buffered -= drop;
      this.bufferStart = dropTo;
    }
  }
}

/** `buffer` with its first `used` values kept and `extra` after them (grown when needed). */
function append(buffer: Float32Array, used: number, extra: Float32Array): Float32Array {
  if (used === 0) return extra; // nothing buffered: keep the caller's array as it is
  const out = used + extra.length <= buffer.length ? buffer : new Float32Array(Math.max(used + extra.length, 2 * buffer.length));
  if (out !== buffer) out.set(buffer.subarray(0, used));
  out.set(extra, used);
  return out;
}
