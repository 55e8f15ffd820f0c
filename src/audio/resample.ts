// Sample-rate conversion by a Kaiser-windowed sinc, polyphase: every incoming WAV is brought to 22 050 Hz here.
// Hand-written because no maintained pure-JS resampler runs both in Node and the browser without WASM.

import { checkFloat32Array, checkInteger } from './validate.js';

/** Stopband attenuation of the anti-aliasing filter, dB. */
const STOPBAND_DB = 80;
/** Passband edge as a fraction of the lower Nyquist frequency; the stopband starts at that Nyquist. */
const PASSBAND_FRACTION = 0.85;
/** Above this many exact phases, phases are tabulated on a grid and interpolated linearly. */
const MAX_EXACT_PHASES = 4096;

/** Resampled copy of `samples` from `fromHz` to `toHz` (integers); output length round(n·toHz/fromHz), a copy when equal. */
export function resample(samples: Float32Array, fromHz: number, toHz: number): Float32Array {
  checkFloat32Array('samples', samples);
  checkInteger('fromHz', fromHz, 1, 10_000_000);
  checkInteger('toHz', toHz, 1, 10_000_000);
  if (fromHz === toHz) return Float32Array.from(samples);
  const n = samples.length;
  const outLength = Math.round((n * toHz) / fromHz);
  const out = new Float32Array(outLength);
  if (n === 0 || outLength === 0) return out;

  const g = gcd(fromHz, toHz);
  const up = toHz / g; // output time step is down/up input samples
  const down = fromHz / g;
  const kernel = designKernel(fromHz, toHz);
  const phases = up <= MAX_EXACT_PHASES ? up : MAX_EXACT_PHASES;
  const table = phaseTable(kernel, phases); // [(phases + 1) × taps]
  const taps = kernel.taps;
  const half = kernel.halfTaps;
  const exact = phases === up;
  const row = new Float64Array(taps);

  for (let k = 0; k < outLength; k++) {
    // Exact integer arithmetic for the position k·down/up: base sample and fractional numerator.
    const num = k * down;
    const base = Math.floor(num / up);
    const fracNum = num - base * up;
    let coeffs: Float64Array;
    let offset: number;
    if (exact) {
      coeffs = table;
      offset = fracNum * taps;
    } else {
      const pos = (fracNum / up) * phases;
      const p = Math.floor(pos);
      const mix = pos - p;
      const a = p * taps;
      const b = a + taps;
      for (let j = 0; j < taps; j++) row[j] = table[a + j] + mix * (table[b + j] - table[a + j]);
      coeffs = row;
      offset = 0;
    }
    // y[k] = Σ_j x[base + j − half] · h(frac − (j − half)); coefficients are stored in that order.
    const first = base - half;
    let acc = 0;
    if (first >= 0 && first + taps <= n) {
      for (let j = 0; j < taps; j++) acc += samples[first + j] * coeffs[offset + j];
    } else {
      const jStart = Math.max(0, -first);
      const jEnd = Math.min(taps, n - first);
      for (let j = jStart; j < jEnd; j++) acc += samples[first + j] * coeffs[offset + j];
    }
    out[k] = acc;
  }
  return out;
}

interface Kernel {
  /** Cut-off, cycles per input sample. */
  cutoff: number;
  /** Kaiser half-width, input samples. */
  halfWidth: number;
  beta: number;
  halfTaps: number;
  taps: number;
}

function designKernel(fromHz: number, toHz: number): Kernel {
  const nyquistHz = Math.min(fromHz, toHz) / 2;
  const transitionHz = (1 - PASSBAND_FRACTION) * nyquistHz;
  const cutoffHz = nyquistHz - transitionHz / 2;
  // Kaiser's design formulas: length from attenuation and transition width, β from attenuation.
  const deltaOmega = (2 * Math.PI * transitionHz) / fromHz;
  const length = (STOPBAND_DB - 8) / (2.285 * deltaOmega);
  const halfWidth = length / 2;
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const halfTaps = Math.ceil(halfWidth) + 1;
  return { cutoff: cutoffHz / fromHz, halfWidth, beta, halfTaps, taps: 2 * halfTaps + 1 };
}

const tableCache = new Map<string, Float64Array>();

/** Coefficients for fractional positions p/phases, p = 0..phases, each row normalised to unit DC gain. */
function phaseTable(k: Kernel, phases: number): Float64Array {
  const key = `${k.cutoff}/${k.halfWidth}/${phases}`;
  const cached = tableCache.get(key);
  if (cached !== undefined) return cached;
  const table = new Float64Array((phases + 1) * k.taps);
  const i0Beta = besselI0(k.beta);
  for (let p = 0; p <= phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let j = 0; j < k.taps; j++) {
      const u = frac - (j - k.halfTaps); // distance, input samples, from the output instant to tap j
      let h = 0;
      if (Math.abs(u) < k.halfWidth) {
        const r = u / k.halfWidth;
        const win = besselI0(k.beta * Math.sqrt(1 - r * r)) / i0Beta;
        const x = 2 * k.cutoff * u;
        h = 2 * k.cutoff * (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)) * win;
      }
      table[p * k.taps + j] = h;
      sum += h;
    }
    for (let j = 0; j < k.taps; j++) table[p * k.taps + j] /= sum;
  }
  if (tableCache.size > 8) tableCache.clear();
  tableCache.set(key, table);
  return table;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
