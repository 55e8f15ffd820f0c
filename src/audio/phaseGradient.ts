// Phase from STFT magnitude alone by phase-gradient heap integration (PGHI; Průša, Balazs & Søndergaard 2017, in the
// frame-by-frame form of Průša & Holighaus 2017): the log-magnitude's slopes give the phase's time and frequency
// derivatives (exactly for a Gaussian window, closely for Hann), and the phase is integrated along them from the
// strongest bins outwards. One pass, no iterations: harmonics come out with coherent phase from frame to frame.
// Hand-written: no maintained JavaScript package implements PGHI.

import { InvalidArgumentError } from './errors.js';
import { mulberry32 } from './griffinLim.js';
import type { StftConfig } from './stft.js';
import { checkStftConfig } from './stft.js';

/** Options of `PhaseGradientReconstruction`. */
export interface PhaseGradientOptions {
  /** Bins more than this many nepers below the strongest of the current and previous frame get a random phase (default ln 1e-5, 100 dB). */
  readonly toleranceNepers?: number;
  /** Seed of the random phases of the weak bins (default 0). */
  readonly seed?: number;
}

/** γ of the Gaussian that best matches a Hann window of L samples: 0.25645·L² (Průša et al.). */
const HANN_GAMMA_PER_SQUARED_LENGTH = 0.25645;

/**
 * Streaming PGHI in the framing of src/audio/stft.ts (each frame's FFT starts at the frame's first sample, so a phase
 * here is the window-centred phase minus π·bin). Feed frames in order with `phases`; it keeps the last frame's phase.
 */
export class PhaseGradientReconstruction {
  readonly bins: number;
  private readonly hop: number;
  private readonly nFft: number;
  private readonly gamma: number;
  private readonly tolerance: number;
  private readonly random: () => number;
  private previousLog: Float32Array | null = null; // [bins] ln|S| of the last frame phased
  private previousPhase: Float32Array | null = null; // [bins]
  private previousTime: Float32Array | null = null; // [bins] its phase time-derivative, rad per hop
  // Work buffers of one frame.
  private readonly timeDerivative: Float32Array;
  private readonly frequencyDerivative: Float32Array;
  private readonly done: Uint8Array;
  private readonly heapKey: Float32Array;
  private readonly heapItem: Int32Array;
  private heapSize = 0;
  // The previous frame's bins, strongest last: ln|S| as float64 with the bin in the low mantissa bits (below float32
  // precision, so the order of distinct keys is kept), sorted natively — cheaper than passing them through the heap.
  private readonly previousOrder: Float64Array;
  private readonly previousOrderBits: Uint32Array;

  constructor(config: StftConfig, options: PhaseGradientOptions = {}) {
    checkStftConfig(config);
    this.nFft = config.nFft;
    this.hop = config.hopSamples;
    this.bins = config.nFft / 2 + 1;
    this.gamma = HANN_GAMMA_PER_SQUARED_LENGTH * config.windowSamples * config.windowSamples;
    this.tolerance = options.toleranceNepers ?? Math.log(1e-5);
    if (!(Number.isFinite(this.tolerance) && this.tolerance < 0)) throw new InvalidArgumentError(`toleranceNepers must be a negative number, received ${String(options.toleranceNepers)}`);
    this.random = mulberry32(options.seed ?? 0);
    this.timeDerivative = new Float32Array(this.bins);
    this.frequencyDerivative = new Float32Array(this.bins);
    this.done = new Uint8Array(this.bins);
    this.heapKey = new Float32Array(this.bins);
    this.heapItem = new Int32Array(this.bins);
    this.previousOrder = new Float64Array(this.bins);
    this.previousOrderBits = new Uint32Array(this.previousOrder.buffer);
    if (this.bins > 1 << 20) throw new InvalidArgumentError(`PhaseGradientReconstruction: at most ${1 << 20} bins, received ${this.bins}`);
  }

  /**
   * Phases [count × bins] of the next `count` frames, given their ln|S| [count × bins] (row-major) and the ln|S| of the
   * frame after them (`lookahead`, null at the end of the signal) for the time slope of the last one.
   */
  phases(logMagnitude: Float32Array, count: number, lookahead: Float32Array | null): Float32Array {
    const bins = this.bins;
    if (!(Number.isInteger(count) && count >= 0) || logMagnitude.length < count * bins) {
      throw new InvalidArgumentError(`PhaseGradientReconstruction: ${count} frames need ${count * bins} log-magnitudes, received ${logMagnitude.length}`);
    }
    if (lookahead !== null && lookahead.length < bins) throw new InvalidArgumentError(`PhaseGradientReconstruction: lookahead holds ${lookahead.length} values, a frame has ${bins}`);
    const out = new Float32Array(count * bins);
    for (let n = 0; n < count; n++) {
      const current = logMagnitude.subarray(n * bins, (n + 1) * bins);
      const before = n > 0 ? logMagnitude.subarray((n - 1) * bins, n * bins) : this.previousLog;
      const after = n + 1 < count ? logMagnitude.subarray((n + 1) * bins, (n + 2) * bins) : lookahead;
      const phase = out.subarray(n * bins, (n + 1) * bins);
      this.frame(current, before, after, phase);
      (this.previousLog ??= new Float32Array(bins)).set(current);
      (this.previousPhase ??= new Float32Array(bins)).set(phase);
      (this.previousTime ??= new Float32Array(bins)).set(this.timeDerivative);
    }
    return out;
  }

  /** Adds `item` with priority `key` to the max-heap. */
  private push(item: number, key: number): void {
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heapKey[parent]! >= key) break;
      this.heapKey[i] = this.heapKey[parent]!;
      this.heapItem[i] = this.heapItem[parent]!;
      i = parent;
    }
    this.heapKey[i] = key;
    this.heapItem[i] = item;
  }

  /** Removes and returns the item of the largest key. */
  private pop(): number {
    const top = this.heapItem[0]!;
    this.heapSize--;
    this.heapKey[0] = this.heapKey[this.heapSize]!;
    this.heapItem[0] = this.heapItem[this.heapSize]!;
    this.siftDown(0, this.heapSize);
    return top;
  }

  /** Restores the max-heap order below `i` in a heap of `size` items. */
  private siftDown(i: number, size: number): void {
    const key = this.heapKey[i]!;
    const item = this.heapItem[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.heapKey[child + 1]! > this.heapKey[child]!) child++;
      if (this.heapKey[child]! <= key) break;
      this.heapKey[i] = this.heapKey[child]!;
      this.heapItem[i] = this.heapItem[child]!;
      i = child;
    }
    this.heapKey[i] = key;
    this.heapItem[i] = item;
  }

  /** One frame: derivatives from the slopes, then heap integration from the previous frame and along frequency. */
  private frame(current: Float32Array, before: Float32Array | null, after: Float32Array | null, phase: Float32Array): void {
    const bins = this.bins;
    const { hop, nFft, gamma } = this;
    const timeScale = (hop * nFft) / gamma; // rad per hop per neper-per-bin
    const frequencyScale = -gamma / (hop * nFft); // rad per bin per neper-per-hop
    let strongest = -Infinity;
    for (let m = 0; m < bins; m++) {
      const slopeFrequency = m === 0 ? current[1]! - current[0]! : m === bins - 1 ? current[m]! - current[m - 1]! : (current[m + 1]! - current[m - 1]!) / 2;
      this.timeDerivative[m] = timeScale * slopeFrequency + (2 * Math.PI * hop * m) / nFft;
      const slopeTime = before !== null && after !== null ? (after[m]! - before[m]!) / 2 : after !== null ? after[m]! - current[m]! : before !== null ? current[m]! - before[m]! : 0;
      // −π per bin: these frames start at the window's first sample, not its centre.
      this.frequencyDerivative[m] = frequencyScale * slopeTime - Math.PI;
      if (current[m]! > strongest) strongest = current[m]!;
    }
    const previousPhase = this.previousPhase;
    const previousLog = this.previousLog;
    const previousTime = this.previousTime;
    if (previousLog !== null) for (let m = 0; m < bins; m++) if (previousLog[m]! > strongest) strongest = previousLog[m]!;
    const floor = strongest + this.tolerance;
    // Items: the heap holds bins of this frame once phased; the previous frame's bins (phase known) come from
    // `previousOrder`, strongest first; the stronger of the two is taken next.
    const done = this.done;
    done.fill(0);
    this.heapSize = 0;
    let remaining = 0;
    for (let m = 0; m < bins; m++) {
      if (current[m]! < floor) {
        phase[m] = 2 * Math.PI * this.random();
        done[m] = 1;
      } else remaining++;
    }
    const order = this.previousOrder;
    const bits = this.previousOrderBits;
    let previousLeft = 0;
    if (previousPhase !== null && previousLog !== null) {
      for (let m = 0; m < bins; m++) {
        if (previousLog[m]! >= floor) {
          order[previousLeft] = previousLog[m]!;
          bits[2 * previousLeft] = (bits[2 * previousLeft]! & ~0xfffff) | m; // little-endian: low word first
          previousLeft++;
        }
      }
      order.subarray(0, previousLeft).sort();
    }
    while (remaining > 0) {
      if (this.heapSize === 0 && previousLeft === 0) {
        // Nothing known reaches the rest: start again from its strongest bin.
        let best = -1;
        for (let m = 0; m < bins; m++) if (done[m] === 0 && (best < 0 || current[m]! > current[best]!)) best = m;
        phase[best] = 0;
        done[best] = 1;
        remaining--;
        this.push(best, current[best]!);
        continue;
      }
      if (previousLeft > 0 && (this.heapSize === 0 || order[previousLeft - 1]! >= this.heapKey[0]!)) {
        previousLeft--;
        const m = bits[2 * previousLeft]! & 0xfffff;
        if (done[m] === 0) {
          phase[m] = previousPhase![m]! + (previousTime![m]! + this.timeDerivative[m]!) / 2;
          done[m] = 1;
          remaining--;
          this.push(m, current[m]!);
        }
        continue;
      }
      const m = this.pop();
      if (m + 1 < bins && done[m + 1] === 0) {
        phase[m + 1] = phase[m]! + (this.frequencyDerivative[m]! + this.frequencyDerivative[m + 1]!) / 2;
        done[m + 1] = 1;
        remaining--;
        this.push(m + 1, current[m + 1]!);
      }
      if (m > 0 && done[m - 1] === 0) {
        phase[m - 1] = phase[m]! - (this.frequencyDerivative[m]! + this.frequencyDerivative[m - 1]!) / 2;
        done[m - 1] = 1;
        remaining--;
        this.push(m - 1, current[m - 1]!);
      }
    }
    for (let m = 0; m < bins; m++) phase[m] = phase[m]! % (2 * Math.PI);
  }
}

/** PGHI phases [frames × bins] of a whole ln|S| spectrogram [frames × bins] in the framing of `config`. */
export function phaseFromLogMagnitude(logMagnitude: Float32Array, frames: number, config: StftConfig, options: PhaseGradientOptions = {}): Float32Array {
  return new PhaseGradientReconstruction(config, options).phases(logMagnitude, frames, null);
}
