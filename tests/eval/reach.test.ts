// How well each model reaches a user's voice, on a 3-voice × 6-sentence corpus: a lane that returns the source is
// heard as the source voice, a lane that returns the user's held-out speech is heard as the user, by both judges.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogMel } from '../../src/audio/mel.js';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import { splitHeldOut } from '../../src/corpus/userVoices.js';
import { formatVoiceReach, measureVoiceReach } from '../../src/eval/reach.js';
import type { MelConverter } from '../../src/models/converter.js';
import { createSpeakerEncoder, DEFAULT_SPEAKER_ENCODER_CONFIG, SpeakerJudge } from '../../src/models/speakerEncoder/model.js';
import { TEST_VOICES } from '../corpus/render.js';
import { useWasm } from '../nn/helpers.js';

let home: string;
beforeAll(async () => {
  await useWasm();
  home = await mkdtemp(join(tmpdir(), 'timbre-reach-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 6 });
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A voice no corpus voice has: flite-slt's mels with the spectrum moved up 6 bins (a shorter vocal tract). */
function shifted(mel: LogMel): LogMel {
  const data = new Float32Array(mel.data.length);
  for (let t = 0; t < mel.frames; t++) for (let m = 0; m < mel.mels; m++) data[t * mel.mels + m] = mel.data[t * mel.mels + Math.max(0, m - 6)]! + 0.5;
  return { frames: mel.frames, mels: mel.mels, data };
}

/** A lane that answers every source with `make(source)`. */
const lane = (label: string, make: (source: LogMel) => LogMel): MelConverter => ({ family: 'vae', label, targetVoices: ['anna'], convert: async (source) => make(source), dispose: () => {} });

describe('measureVoiceReach', () => {
  it('hears a lane that returns the source as the source voice, and one that returns the user\'s held-out speech as the user', async () => {
    const train = openCorpusDataset({ home, split: 'train' });
    const test = openCorpusDataset({ home, split: 'test' });
    const anna = train.utterances.filter((u) => u.voice === 'flite-slt').map((u) => shifted(train.mel(u.voice, u.sentence)));
    // Five sentences are ~15 s: hold out the end as a user voice would, and the split leaves most for training.
    const tripled = [...anna, ...anna, ...anna];
    const { train: recordings, heldOut } = splitHeldOut(tripled);
    expect(heldOut.length).toBeGreaterThan(0);
    expect(recordings.reduce((n, m) => n + m.frames, 0) + heldOut.reduce((n, m) => n + m.frames, 0)).toBe(tripled.reduce((n, m) => n + m.frames, 0));
    const encoder = createSpeakerEncoder({ ...DEFAULT_SPEAKER_ENCODER_CONFIG, channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8 }, { seed: 3 });
    const judge = SpeakerJudge.fromEmbeddings(new Map(TEST_VOICES.map((v) => [v, train.utterances.filter((u) => u.voice === v).map((u) => encoder.embed(train.mel(u.voice, u.sentence)))])));
    const heldOutMel = heldOut[heldOut.length - 1]!;
    const oracle = (source: LogMel): LogMel => {
      const data = new Float32Array(source.frames * source.mels);
      for (let t = 0; t < source.frames; t++) data.set(heldOutMel.data.subarray((t % heldOutMel.frames) * source.mels, ((t % heldOutMel.frames) + 1) * source.mels), t * source.mels);
      return { frames: source.frames, mels: source.mels, data };
    };
    const report = await measureVoiceReach({
      voice: 'anna',
      heldOut,
      recordings,
      lanes: [
        { model: 'pass-through', converter: lane('pass-through', (s) => s), target: { voiceId: 'anna' } },
        { model: 'oracle', converter: lane('oracle', oracle), target: { voiceId: 'anna' } },
      ],
      encoder,
      judge,
      train,
      test,
    });
    expect(report.sources).toEqual(['flite-slt', 'festival-ked', 'espeak-f2']);
    expect(report.sentences).toEqual(['h01-06']);
    const [passThrough, reached] = report.lanes;
    expect(passThrough!.cepstralIdentification).toBe(0);
    expect(passThrough!.mostlyHeardAs).toBe('flite-slt');
    expect(reached!.cepstralIdentification).toBe(1);
    expect(reached!.mostlyHeardAs).toBe('anna');
    expect(reached!.targetCosine).toBeGreaterThan(passThrough!.targetCosine);
    const table = formatVoiceReach(report);
    expect(table).toMatch(/pass-through .*heard as flite-slt/);
    expect(table).toMatch(/oracle .*(reaches it|partly)/);
    encoder.dispose();
  });

  it('refuses a voice with nothing held out', async () => {
    const train = openCorpusDataset({ home, split: 'train' });
    const encoder = createSpeakerEncoder({ ...DEFAULT_SPEAKER_ENCODER_CONFIG, channels: [8], strides: [1], normGroups: 4, hiddenDims: 8, embeddingDims: 4 });
    const judge = new SpeakerJudge(['flite-slt'], new Float32Array(4).fill(0.5));
    await expect(measureVoiceReach({ voice: 'anna', heldOut: [], recordings: [], lanes: [], encoder, judge, train, test: train })).rejects.toThrow(/no held-out recordings/);
    encoder.dispose();
  });
});
