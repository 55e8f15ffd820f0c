// Speed of the audio hot paths on 60 s of speech, as real-time factors (processing time ÷ audio duration).
// Targets: log-mel RTF ≤ 0.005, Griffin-Lim (32 iterations) RTF ≤ 0.1, YIN F0 under 2 s per minute; one core.

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dtwPath } from '../src/audio/dtw.js';
import { estimateF0 } from '../src/audio/f0.js';
import { griffinLimFromLogMel } from '../src/audio/griffinLim.js';
import { logMelSpectrogram } from '../src/audio/mel.js';
import { MEL_CONFIG } from '../src/audio/melConfig.js';
import { resample } from '../src/audio/resample.js';
import { decodeWav } from '../src/audio/wav.js';

const SR = MEL_CONFIG.sampleRateHz;
const SECONDS = 60;

const SENTENCES = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  "It's easy to tell the depth of a well.",
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
  'The juice of lemons makes fine punch.',
  'The box was thrown beside the parked truck.',
  'Four hours of steady work faced us.',
];
const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-gb-scotland'];

/** 60 s of espeak-ng speech (several voices and sentences, concatenated here), or undefined without espeak-ng. */
function espeakSpeech(): Float32Array | undefined {
  const out = new Float32Array(SR * SECONDS);
  let filled = 0;
  try {
    for (let i = 0; filled < out.length; i++) {
      const bytes = execFileSync('espeak-ng', ['--stdout', '-v', VOICES[i % VOICES.length], SENTENCES[i % SENTENCES.length]], {
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const decoded = decodeWav(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { sourceName: 'espeak-ng' });
      const speech = resample(decoded.samples, decoded.sampleRateHz, SR);
      const take = Math.min(speech.length, out.length - filled);
      out.set(speech.subarray(0, take), filled);
      filled += take + Math.min(Math.round(0.15 * SR), out.length - filled - take); // short pause between sentences
    }
  } catch {
    return undefined;
  }
  return out;
}

/** Fallback: a harmonic glide (90–220 Hz) through two moving formant resonators. */
function syntheticSpeech(): Float32Array {
  const out = new Float32Array(SR * SECONDS);
  let phase = 0;
  const state = [0, 0, 0, 0];
  for (let i = 0; i < out.length; i++) {
    const t = i / SR;
    phase += (155 + 65 * Math.sin(2 * Math.PI * 0.25 * t)) / SR;
    let excitation = 0;
    if (phase >= 1) {
      phase -= 1;
      excitation = 1;
    }
    const formants = [500 + 300 * Math.sin(2 * Math.PI * 1.3 * t), 1500 + 700 * Math.sin(2 * Math.PI * 0.9 * t)];
    let y = 0;
    for (let f = 0; f < 2; f++) {
      const w = (2 * Math.PI * formants[f]) / SR;
      const v = excitation + 2 * 0.97 * Math.cos(w) * state[2 * f] - 0.97 * 0.97 * state[2 * f + 1];
      state[2 * f + 1] = state[2 * f];
      state[2 * f] = v;
      y += v;
    }
    out[i] = 0.02 * y;
  }
  return out;
}

function bestOf<T>(runs: number, fn: () => T): { seconds: number; result: T } {
  let best = Number.POSITIVE_INFINITY;
  let result!: T;
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    result = fn();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return { seconds: best, result };
}

function report(name: string, seconds: number, target: number): boolean {
  const rtf = seconds / SECONDS;
  const ok = rtf <= target;
  console.log(`${name.padEnd(40)} ${seconds.toFixed(3).padStart(7)} s   RTF ${rtf.toFixed(4)}   target ≤ ${+target.toFixed(4)}   ${ok ? 'MET' : 'MISSED'}`);
  return ok;
}

const espeak = espeakSpeech();
const audio = espeak ?? syntheticSpeech();
console.log(`audio: ${SECONDS} s at ${SR} Hz, ${espeak ? 'espeak-ng speech (4 voices, 8 sentences, concatenated)' : 'synthetic harmonic glide with formant filtering (espeak-ng not found)'}`);
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, single thread`);

const mel = bestOf(5, () => logMelSpectrogram(audio));
const results = [report('logMelSpectrogram (best of 5)', mel.seconds, 0.005)];
const gl = bestOf(2, () => griffinLimFromLogMel(mel.result, { iterations: 32 }));
results.push(report('griffinLimFromLogMel 32 it (best of 2)', gl.seconds, 0.1));
const f0 = bestOf(2, () => estimateF0(audio, SR));
results.push(report('estimateF0 (YIN, best of 2)', f0.seconds, 2 / SECONDS));

const at48k = resample(audio, SR, 48000);
const rs = bestOf(2, () => resample(at48k, 48000, SR));
console.log(`${'resample 48000 → 22050 Hz (info)'.padEnd(40)} ${rs.seconds.toFixed(3).padStart(7)} s   RTF ${(rs.seconds / SECONDS).toFixed(4)}`);
const frames = 1000;
const a = mel.result.data.subarray(0, frames * 80);
const b = mel.result.data.subarray(frames * 80, 2 * frames * 80);
const dtw = bestOf(2, () => dtwPath(a, frames, b, frames, 80));
console.log(`${'dtwPath 1000 × 1000 frames, 80 dims'.padEnd(40)} ${dtw.seconds.toFixed(3).padStart(7)} s   (info; target well under 1 s)`);
console.log(results.every(Boolean) ? 'all targets met' : 'some targets missed');
