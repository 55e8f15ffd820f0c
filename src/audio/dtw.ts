// Dynamic time warping between two feature sequences, and warping one sequence onto another's timing.
// The corpus builds average-voice targets with `alignToReference`; MCD and LSD align with `dtwPath`.

import { InvalidArgumentError } from './errors.js';
import { checkFloat32Array, checkInteger } from './validate.js';

/** A monotone warping path from (0, 0) to (aFrames − 1, bFrames − 1); `cost` sums the frame distances on it. */
export interface DtwPath {
  pathA: Int32Array; // [path length], frame indices into a
  pathB: Int32Array; // [path length], frame indices into b
  cost: number;
}

/** Options of `dtwPath`. */
export interface DtwOptions {
  /** Sakoe-Chiba band half-width, frames, around the straight line from corner to corner; default unlimited. */
  band?: number;
}

/**
 * DTW with Euclidean frame distance and steps (1,0), (0,1), (1,1), all of weight 1; a [aFrames × dims] and
 * b [bFrames × dims] row-major. Ties prefer the diagonal. Memory: one Float32Array of aFrames·bFrames.
 */
export function dtwPath(a: Float32Array, aFrames: number, b: Float32Array, bFrames: number, dims: number, options: DtwOptions = {}): DtwPath {
  checkInteger('dims', dims, 1);
  checkInteger('aFrames', aFrames, 1);
  checkInteger('bFrames', bFrames, 1);
  checkFloat32Array('a', a, aFrames * dims);
  checkFloat32Array('b', b, bFrames * dims);
  const band = options.band ?? Number.POSITIVE_INFINITY;
  if (!(band >= 1)) throw new InvalidArgumentError(`band must be ≥ 1 frame, got ${String(band)}`);
  if (aFrames * bFrames > 50_000_000) {
    throw new InvalidArgumentError(`DTW of ${aFrames} × ${bFrames} frames needs too much memory (limit 50 million cells); cut the audio shorter or compare in pieces`);
  }
  const n = aFrames;
  const m = bFrames;
  const acc = new Float32Array(n * m).fill(Number.POSITIVE_INFINITY); // [n × m] accumulated cost
  const slope = n > 1 ? (m - 1) / (n - 1) : 0;
  for (let i = 0; i < n; i++) {
    const [jLo, jHi] = bandRange(i, slope, band, m);
    const rowA = i * dims;
    for (let j = jLo; j <= jHi; j++) {
      let d = 0;
      const rowB = j * dims;
      for (let k = 0; k < dims; k++) {
        const diff = a[rowA + k] - b[rowB + k];
        d += diff * diff;
      }
      d = Math.sqrt(d);
      let prev: number;
      if (i === 0 && j === 0) prev = 0;
      else {
        const diag = i > 0 && j > 0 ? acc[(i - 1) * m + j - 1] : Number.POSITIVE_INFINITY;
        const up = i > 0 ? acc[(i - 1) * m + j] : Number.POSITIVE_INFINITY;
        const left = j > 0 ? acc[i * m + j - 1] : Number.POSITIVE_INFINITY;
        prev = diag <= up && diag <= left ? diag : up <= left ? up : left;
      }
      acc[i * m + j] = prev + d;
    }
  }
  const total = acc[n * m - 1];
  if (!Number.isFinite(total)) {
    throw new InvalidArgumentError(`no DTW path within band ${band} for ${n} × ${m} frames; widen the band`);
  }
  // Backtrack from the end, preferring the diagonal on ties as in the forward pass.
  const pa: number[] = [];
  const pb: number[] = [];
  let i = n - 1;
  let j = m - 1;
  while (true) {
    pa.push(i);
    pb.push(j);
    if (i === 0 && j === 0) break;
    if (i === 0) j--;
    else if (j === 0) i--;
    else {
      const diag = acc[(i - 1) * m + j - 1];
      const up = acc[(i - 1) * m + j];
      const left = acc[i * m + j - 1];
      if (diag <= up && diag <= left) {
        i--;
        j--;
      } else if (up <= left) i--;
      else j--;
    }
  }
  pa.reverse();
  pb.reverse();
  return { pathA: Int32Array.from(pa), pathB: Int32Array.from(pb), cost: total };
}

function bandRange(i: number, slope: number, band: number, m: number): [number, number] {
  if (!Number.isFinite(band)) return [0, m - 1];
  const centre = i * slope;
  return [Math.max(0, Math.ceil(centre - band)), Math.min(m - 1, Math.floor(centre + band))];
}

/**
 * `other` [otherFrames × dims] warped to the timing of `reference` [referenceFrames × dims]: for each reference
 * frame, the mean of the other's frames that DTW maps to it. Returns [referenceFrames × dims].
 */
export function alignToReference(
  reference: Float32Array,
  referenceFrames: number,
  other: Float32Array,
  otherFrames: number,
  dims: number,
  options: DtwOptions = {},
): Float32Array {
  const { pathA, pathB } = dtwPath(reference, referenceFrames, other, otherFrames, dims, options);
  const out = new Float32Array(referenceFrames * dims); // [referenceFrames × dims]
  const counts = new Int32Array(referenceFrames);
  for (let p = 0; p < pathA.length; p++) {
    const r = pathA[p];
    const o = pathB[p];
    counts[r]++;
    for (let k = 0; k < dims; k++) out[r * dims + k] += other[o * dims + k];
  }
  for (let r = 0; r < referenceFrames; r++) {
    const inv = 1 / counts[r]; // every reference frame is on the path (steps move at most one frame)
    for (let k = 0; k < dims; k++) out[r * dims + k] *= inv;
  }
  return out;
}
