// The cepstral judge on synthetic log-mels: four "voices" with different spectral envelopes (one differs from
// another only in how much its formants move), random loudness and silent edges; held-out items must be told apart.

import { describe, expect, it } from 'vitest';
import type { LogMel } from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { CepstralJudge, cepstralFeatureDims, cepstralFeatures, DEFAULT_CEPSTRAL_JUDGE_CONFIG } from '../../src/eval/cepstralJudge.js';
import { createRng, type Rng } from '../../src/corpus/rng.js';

const MELS = MEL_CONFIG.melBins;
const FLOOR = Math.log(MEL_CONFIG.logFloor);

interface SyntheticVoice {
  /** Formant centres, mel bins. */
  formants: number[];
  /** Spectral tilt, nepers per bin. */
  tilt: number;
  /** Frame-to-frame standard deviation of the formant centres, bins. */
  jitter: number;
}

const VOICES: Record<string, SyntheticVoice> = {
  a: { formants: [10, 30, 50], tilt: -0.04, jitter: 1 },
  b: { formants: [13, 33, 52], tilt: -0.04, jitter: 1 },
  c: { formants: [10, 30, 50], tilt: -0.07, jitter: 1 },
  // Formants where "a" has them, moving three times as much.
  d: { formants: [10, 30, 50], tilt: -0.04, jitter: 3 },
};

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** One utterance: 10 silent frames each side, 60–100 speech frames, a random gain of ±2 nepers. */
function utterance(voice: SyntheticVoice, rng: Rng): LogMel {
  const speechFrames = 60 + rng.int(41);
  const frames = speechFrames + 20;
  const data = new Float32Array(frames * MELS).fill(FLOOR);
  const gain = 4 * rng.next() - 2;
  const offsets = voice.formants.map(() => 0);
  for (let t = 10; t < 10 + speechFrames; t++) {
    for (let f = 0; f < offsets.length; f++) offsets[f] = 0.7 * offsets[f]! + 0.7 * voice.jitter * gaussian(rng);
    for (let m = 0; m < MELS; m++) {
      let value = -3 + gain + voice.tilt * m + 0.2 * gaussian(rng);
      voice.formants.forEach((centre, f) => {
        value += 1.5 * Math.exp(-(((m - centre - offsets[f]!) / 3) ** 2));
      });
      data[t * MELS + m] = value;
    }
  }
  return { frames, mels: MELS, data };
}

function corpus(perVoice: number, seed: number): Map<string, LogMel[]> {
  const rng = createRng(seed);
  return new Map(Object.entries(VOICES).map(([id, voice]) => [id, Array.from({ length: perVoice }, () => utterance(voice, rng))]));
}

describe('cepstralFeatures', () => {
  it('gives mean, std and delta std of c1..c24 (72 values), ignoring loudness and silent frames', () => {
    const mel = utterance(VOICES['a']!, createRng(1));
    const features = cepstralFeatures(mel)!;
    expect(features).toHaveLength(72);
    expect(cepstralFeatureDims({ ...DEFAULT_CEPSTRAL_JUDGE_CONFIG, deltas: false })).toBe(48);
    // A constant added to every bin only moves c0, which is left out.
    const louder = { ...mel, data: mel.data.map((v) => (v > FLOOR ? v + 1.5 : v)) };
    const shifted = cepstralFeatures(louder)!;
    for (let i = 0; i < 72; i++) expect(shifted[i]).toBeCloseTo(features[i]!, 4);
    // Only the speech frames count: dropping the silent edges changes nothing.
    const speechOnly = { frames: mel.frames - 20, mels: MELS, data: mel.data.slice(10 * MELS, (mel.frames - 10) * MELS) };
    const trimmed = cepstralFeatures(speechOnly)!;
    for (let i = 0; i < 72; i++) expect(trimmed[i]).toBeCloseTo(features[i]!, 6);
    // The std features are not zero (the formants move), and grow with the movement.
    const jittery = cepstralFeatures(utterance(VOICES['d']!, createRng(1)))!;
    const stdSum = (f: Float64Array): number => f.slice(24, 48).reduce((a, b) => a + b, 0);
    expect(stdSum(features)).toBeGreaterThan(0);
    expect(stdSum(jittery)).toBeGreaterThan(1.5 * stdSum(features));
  });

  it('is null for silence and counts a frame 3 nepers above the floor as speech', () => {
    const silent = { frames: 50, mels: MELS, data: new Float32Array(50 * MELS).fill(FLOOR + 2.9) };
    expect(cepstralFeatures(silent)).toBeNull();
    expect(cepstralFeatures({ frames: 0, mels: MELS, data: new Float32Array(0) })).toBeNull();
    const quiet = { frames: 50, mels: MELS, data: new Float32Array(50 * MELS).fill(FLOOR + 3.1) };
    expect(cepstralFeatures(quiet)).not.toBeNull();
  });
});

describe('CepstralJudge', () => {
  it('identifies every held-out utterance of four synthetic voices, deterministically', () => {
    const judge = CepstralJudge.fit(corpus(20, 11));
    expect(judge.voices).toEqual(['a', 'b', 'c', 'd']);
    expect(judge.trainUtterances).toBe(80);
    expect(judge.describe()).toBe('LDA (shrinkage 0.1) on mean/std of mel-cepstrum c1-c24 and std of its deltas over speech frames, 4 voices, 80 train utterances');
    const heldOut = corpus(15, 99);
    let correct = 0;
    let total = 0;
    for (const [voice, mels] of heldOut) {
      for (const mel of mels) {
        const verdict = judge.classify(mel)!;
        expect(verdict.scores.map((s) => s.voice).sort()).toEqual(['a', 'b', 'c', 'd']);
        expect(verdict.scores[0]!.score).toBeGreaterThanOrEqual(verdict.scores[1]!.score);
        if (verdict.voice === voice) correct++;
        total++;
      }
    }
    expect(correct / total).toBe(1);
    const again = CepstralJudge.fit(corpus(20, 11));
    const probe = heldOut.get('b')![0]!;
    expect(again.classify(probe)!.scores).toEqual(judge.classify(probe)!.scores);
    expect(judge.classify({ frames: 5, mels: MELS, data: new Float32Array(5 * MELS).fill(FLOOR) })).toBeNull();
  });

  it('tells apart voices whose formants sit at the same places and differ only in how much they move, with or without deltas', () => {
    const train = corpus(20, 5);
    const onlyAd = new Map([['a', train.get('a')!], ['d', train.get('d')!]]);
    const heldOut = corpus(10, 6);
    for (const deltas of [true, false]) {
      const judge = CepstralJudge.fit(onlyAd, { ...DEFAULT_CEPSTRAL_JUDGE_CONFIG, deltas });
      for (const voice of ['a', 'd']) for (const mel of heldOut.get(voice)!) expect(judge.classify(mel)!.voice).toBe(voice);
    }
  });

  it('refuses too few voices, a voice without utterances or with only silence, and mels of another size', () => {
    const mels = corpus(3, 2);
    expect(() => CepstralJudge.fit(new Map())).toThrow(/at least 2 voices.*received 0/);
    expect(() => CepstralJudge.fit(new Map([['a', mels.get('a')!]]))).toThrow(/at least 2 voices.*received 1/);
    expect(() => CepstralJudge.fit(new Map([['a', mels.get('a')!], ['b', []]]))).toThrow(/no utterances of voice "b"/);
    const silence = { frames: 20, mels: MELS, data: new Float32Array(20 * MELS).fill(FLOOR) };
    expect(() => CepstralJudge.fit(new Map([['a', mels.get('a')!], ['quiet', [silence]]]))).toThrow(/every utterance of voice "quiet".*silence/);
    const narrow = { frames: 20, mels: 40, data: new Float32Array(20 * 40) };
    expect(() => CepstralJudge.fit(new Map([['a', mels.get('a')!], ['b', [...mels.get('b')!, narrow]]]))).toThrow(/utterance 3 of voice "b" has 40 mel bins, expected 80/);
    const judge = CepstralJudge.fit(mels);
    expect(() => judge.classify(narrow)).toThrow(/has 40 mel bins, expected 80/);
    expect(() => judge.classifyFeatures(new Float64Array(48))).toThrow(/48 values, expected 72/);
    expect(() => CepstralJudge.fit(mels, { ...DEFAULT_CEPSTRAL_JUDGE_CONFIG, shrinkage: 2 })).toThrow(/shrinkage/);
  });
});
