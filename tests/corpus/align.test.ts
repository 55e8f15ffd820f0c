// Alignment of parallel utterances and average-voice targets, on real synthesizer output (3 voices × 3 sentences).

import { beforeAll, describe, expect, it } from 'vitest';
import { melCepstralDistortion } from '../../src/audio/distances.js';
import type { LogMel } from '../../src/audio/mel.js';
import { alignMels, alignMelToReference, averageVoiceTargets } from '../../src/corpus/align.js';
import type { ProcessedUtterance } from '../../src/corpus/process.js';
import { renderSubset, TEST_VOICES } from './render.js';

let utterances: ProcessedUtterance[][]; // [voice][sentence]
const mel = (v: number, s: number): LogMel => utterances[v]![s]!.logMel;

beforeAll(async () => {
  utterances = await renderSubset(TEST_VOICES, 3);
});

describe('alignment', () => {
  it('aligned MCD between two voices reading the same sentence is lower than unaligned', () => {
    for (let s = 0; s < 3; s++) {
      for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
        const aligned = melCepstralDistortion(mel(a, s), alignMelToReference(mel(a, s), mel(b, s)), { align: false });
        const unaligned = melCepstralDistortion(mel(a, s), mel(b, s), { align: false });
        expect(aligned).toBeLessThan(unaligned);
      }
    }
  });

  it('aligns a voice to itself along the diagonal', () => {
    const path = alignMels(mel(0, 0), mel(0, 0));
    expect(path.pathA.length).toBe(mel(0, 0).frames);
    expect(Array.from(path.pathA)).toEqual(Array.from(path.pathB));
    expect(path.cost).toBe(0);
  });

  it('warps another voice onto the reference timing (same frame count)', () => {
    const warped = alignMelToReference(mel(0, 1), mel(2, 1));
    expect(warped.frames).toBe(mel(0, 1).frames);
    expect(warped.mels).toBe(80);
    expect(warped.data.every(Number.isFinite)).toBe(true);
  });
});

describe('average voice', () => {
  it('has each source voice’s timing', () => {
    const targets = averageVoiceTargets([mel(0, 0), mel(1, 0), mel(2, 0)]);
    targets.forEach((t, v) => expect(t.frames).toBe(mel(v, 0).frames));
  });

  it('is closer (MCD) to every voice than the voices are to each other on average', () => {
    for (let s = 0; s < 3; s++) {
      const mels = [mel(0, s), mel(1, s), mel(2, s)];
      const targets = averageVoiceTargets(mels);
      const pairwise: number[] = [];
      for (let a = 0; a < 3; a++) for (let b = a + 1; b < 3; b++) pairwise.push(melCepstralDistortion(mels[a]!, mels[b]!));
      const meanPairwise = pairwise.reduce((x, y) => x + y, 0) / pairwise.length;
      for (let v = 0; v < 3; v++) {
        const toAverage = melCepstralDistortion(mels[v]!, targets[v]!, { align: false });
        expect(toAverage).toBeLessThan(meanPairwise);
      }
    }
  });

  it('of a single voice is that voice', () => {
    const [only] = averageVoiceTargets([mel(1, 2)]);
    expect(Array.from(only!.data)).toEqual(Array.from(mel(1, 2).data));
  });
});

describe('processing', () => {
  it('gives 22 050 Hz audio trimmed to speech, at one loudness, with F0 per mel frame', () => {
    for (const row of utterances) {
      for (const u of row) {
        expect(u.sampleRateHz).toBe(22050);
        expect(u.durationSeconds).toBeGreaterThan(1);
        expect(Math.abs(u.f0Hz.length - u.logMel.frames)).toBeLessThanOrEqual(1);
        // trimmed: the first and last 20 ms hold the margin, quieter than the middle
        const edge = Math.round(0.02 * 22050);
        const rms = (a: Float32Array): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
        expect(rms(u.samples.subarray(0, edge))).toBeLessThan(rms(u.samples));
      }
    }
    // female voices have higher median F0 than the male one
    const median = (f0: Float32Array): number => {
      const v = Array.from(f0).filter((x) => x > 0).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    expect(median(utterances[0]![0]!.f0Hz)).toBeGreaterThan(median(utterances[1]![0]!.f0Hz) * 1.3);
  });
});
