// Generated test audio for engine, server and e2e tests: a harmonic "vowel" with a known F0.

import { encodeWav } from '../../src/audio/wav.js';

/** A voiced tone: `f0Hz` fundamental + 12 harmonics with 1/k amplitudes, a 30 ms fade in/out, as 16-bit WAV bytes. */
export function harmonicToneWav(options: { f0Hz?: number; seconds?: number; sampleRateHz?: number } = {}): Uint8Array {
  const f0Hz = options.f0Hz ?? 150;
  const seconds = options.seconds ?? 1;
  const rate = options.sampleRateHz ?? 16000;
  const n = Math.round(seconds * rate);
  const samples = new Float32Array(n);
  const fade = Math.round(0.03 * rate);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 1; k <= 12; k++) if (k * f0Hz < rate / 2) v += Math.sin((2 * Math.PI * k * f0Hz * i) / rate) / k;
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    samples[i] = 0.25 * v * env;
  }
  return encodeWav(samples, rate);
}
