// Pitch on the log-mel (src/models/pitch.ts): harmonic templates, and F0 estimated from a log-mel by matching them,
// checked against known answers: log-mels of synthetic harmonic tones at known F0.

import { describe, expect, it } from 'vitest';
import { logMelSpectrogram } from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { estimateF0FromLogMel, harmonicTemplates } from '../../src/models/pitch.js';

/** A harmonic tone (1/h amplitudes, 20 harmonics) gliding from `fromHz` to `toHz`, with 0.3 s of silence at the end. */
function tone(fromHz: number, toHz: number, seconds = 1): Float32Array {
  const rate = MEL_CONFIG.sampleRateHz;
  const voiced = Math.round(seconds * rate);
  const out = new Float32Array(voiced + Math.round(0.3 * rate));
  let phase = 0;
  for (let i = 0; i < voiced; i++) {
    const f = fromHz * (toHz / fromHz) ** (i / voiced);
    phase += (2 * Math.PI * f) / rate;
    let v = 0;
    for (let h = 1; h <= 20 && h * f < 8000; h++) v += Math.sin(h * phase) / h;
    out[i] = 0.2 * v;
  }
  return out;
}

const semitones = (a: number, b: number): number => Math.abs(12 * Math.log2(a / b));

describe('pitch on the log-mel', () => {
  it('gives each voiced frame the template of its F0 and zeros to unvoiced frames', () => {
    const t = harmonicTemplates(Float32Array.from([0, 100, 200]));
    expect(t).toHaveLength(3 * 80);
    expect(t.subarray(0, 80).every((v) => v === 0)).toBe(true);
    const low = t.subarray(80, 160);
    const high = t.subarray(160, 240);
    // fine structure: zero-mean-ish ripple whose peaks fall on harmonics, so 100 and 200 Hz differ
    expect(Math.max(...low)).toBeGreaterThan(0.2);
    expect(low.some((v, i) => Math.abs(v - high[i]!) > 0.2)).toBe(true);
  });

  it.each([
    [90, 90],
    [110, 140],
    [180, 220],
    [260, 300],
  ])('tracks a tone gliding %d → %d Hz within half a semitone, and calls silence unvoiced', (from, to) => {
    const mel = logMelSpectrogram(tone(from, to), MEL_CONFIG);
    const f0 = estimateF0FromLogMel(mel);
    const voicedFrames = Math.floor((1 * MEL_CONFIG.sampleRateHz) / MEL_CONFIG.hopSamples);
    let checked = 0;
    for (let t = 5; t < voicedFrames - 5; t++) {
      const expected = from * (to / from) ** ((t * MEL_CONFIG.hopSamples + MEL_CONFIG.hopSamples / 2) / MEL_CONFIG.sampleRateHz);
      expect(f0[t], `frame ${t}`).toBeGreaterThan(0);
      expect(semitones(f0[t]!, expected), `frame ${t}`).toBeLessThan(0.5);
      checked++;
    }
    expect(checked).toBeGreaterThan(70);
    for (let t = voicedFrames + 6; t < mel.frames; t++) expect(f0[t], `silent frame ${t}`).toBe(0);
  });

  it('refuses a search range outside the template table', () => {
    const mel = logMelSpectrogram(tone(100, 100, 0.2), MEL_CONFIG);
    expect(() => estimateF0FromLogMel(mel, { fMinHz: 20 })).toThrow(/range/);
  });
});
