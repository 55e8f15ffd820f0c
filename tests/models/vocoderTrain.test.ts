// Vocoder training on a tiny built corpus: crops whose mel frames, STFT targets and waveform samples line up; a run of
// the shared Trainer that checkpoints, resumes and writes a model file; fine-tune mels from a converter, and the
// fine-tune on the shipped converters' outputs from a given vocoder file.

import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearToLogMel, type LogMel } from '../../src/audio/mel.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { buildCorpus } from '../../src/corpus/build.js';
import { openCorpusDataset } from '../../src/corpus/dataset.js';
import type { MelConverter } from '../../src/models/converter.js';
import { CheckpointMismatchError } from '../../src/nn/errors.js';
import { loadVocoderModel } from '../../src/models/vocoder/convert.js';
import { familyEntry } from '../../src/models/registry.js';
import { ALIGNED_FIRST_FRAME, DEFAULT_VOCODER_LOSS, VOCODER_BINS } from '../../src/models/vocoder/model.js';
import {
  DEFAULT_VOCODER_TRAIN_CONFIG,
  openFineTuneSet,
  prepareVocoderTraining,
  vocoderBatchSource,
  vocoderItem,
  writeFineTuneMels,
  type VocoderTrainingSettings,
} from '../../src/models/vocoder/train.js';
import { prepareVocoderFineTuning } from '../../src/models/vocoder/fineTune.js';
import { useWasm } from '../nn/helpers.js';

/** The trainer `timbre train vocoder` runs (the one registry's entry). */
const VOCODER_TRAINER_ENTRY = familyEntry('vocoder')!.trainer;

const home = mkdtempSync(join(tmpdir(), 'timbre-vocoder-train-'));
const VOICES = ['flite-slt', 'espeak-f2'];

function settings(runDir: string, overrides: Partial<VocoderTrainingSettings> = {}): VocoderTrainingSettings {
  return {
    home,
    steps: 2,
    batchSize: 2,
    seed: 0,
    workers: 1,
    runDir: join(home, runDir),
    resume: true,
    logEvery: 1,
    validateEvery: 0,
    checkpointEvery: 1,
    config: { ...VOCODER_TRAINER_ENTRY.tinyConfig },
    log: () => undefined,
    ...overrides,
  };
}

/** A converter that smooths log-mels over 5 frames: a stand-in for the smoother outputs of the real converters. */
const smoother: MelConverter = {
  family: 'vae',
  label: 'smoothing test converter',
  targetVoices: VOICES,
  async convert(source: LogMel) {
    const { frames, mels } = source;
    const data = new Float32Array(source.data.length);
    for (let t = 0; t < frames; t++) {
      for (let k = 0; k < mels; k++) {
        let s = 0;
        let n = 0;
        for (let d = -2; d <= 2; d++) if (t + d >= 0 && t + d < frames) (s += source.data[(t + d) * mels + k]!), n++;
        data[t * mels + k] = s / n;
      }
    }
    return { frames, mels, data };
  },
  dispose() {},
};

beforeAll(async () => {
  await useWasm();
  await buildCorpus({ home, voices: VOICES, sentences: 3, jobs: 1 });
}, 60_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('vocoder crops', () => {
  it('line up: the cached mel is the mel of the crop’s STFT target, and the aligned loss analysis is model frame j + 2', () => {
    const dataset = openCorpusDataset({ home, split: ['train', 'validation', 'test'] });
    const u = dataset.utterances[0]!;
    const samples = dataset.samples(u.voice, u.sentence);
    const mel = dataset.mel(u.voice, u.sentence);
    const frames = 16;
    const start = Math.floor((u.frames - frames) / 2);
    const item = vocoderItem(samples, mel, start, frames, DEFAULT_VOCODER_LOSS);
    const melError = (shift: number) => {
      const ours = linearToLogMel(item.logMagnitude.map(Math.exp), frames).data;
      let worst = 0;
      for (let t = 0; t < frames; t++) {
        for (let k = 0; k < 80; k++) {
          const cached = mel.data[(start + shift + t) * 80 + k]!;
          if (cached > Math.log(1e-3)) worst = Math.max(worst, Math.abs(ours[t * 80 + k]! - cached));
        }
      }
      return worst;
    };
    expect(melError(0)).toBeLessThan(1e-3);
    expect(melError(1)).toBeGreaterThan(0.05); // one frame off is seen
    expect([...item.targetMel]).toEqual([...mel.data.subarray(start * 80, (start + frames) * 80)]);
    const aligned = item.stftMagnitudes[DEFAULT_VOCODER_LOSS.stftSizes.indexOf(MEL_CONFIG.nFft)]!;
    expect(aligned.length).toBe((frames - 4) * VOCODER_BINS);
    let worst = 0;
    for (let j = 0; j < frames - 4; j++) {
      for (let k = 0; k < VOCODER_BINS; k++) {
        const a = aligned[j * VOCODER_BINS + k]!;
        const b = Math.exp(item.logMagnitude[(j + ALIGNED_FIRST_FRAME) * VOCODER_BINS + k]!);
        worst = Math.max(worst, Math.abs(a - b) / (1e-2 + b));
      }
    }
    expect(worst).toBeLessThan(1e-3);
    expect(() => vocoderItem(samples, mel, u.frames - 3, frames, DEFAULT_VOCODER_LOSS)).toThrow(/outside/);
  });
});

describe('vocoder training run', () => {
  it('trains, checkpoints, resumes from its checkpoint, writes a model file that vocodes, refuses another config', async () => {
    const run = await prepareVocoderTraining(settings('run-1'));
    const first = await run.trainer.run();
    expect(first.history).toHaveLength(2);
    // The default magnitude objective: its three terms (no phase terms).
    for (const row of first.history) for (const k of ['total', 'mel', 'stft', 'amp']) expect(Number.isFinite(row[k])).toBe(true);
    expect(first.history[0]!['ip']).toBeUndefined();
    await run.dispose();
    const resumed = await prepareVocoderTraining(settings('run-1', { steps: 3 }));
    // A different total is a different run; resuming needs the same settings, so only steps grow via a new run folder.
    await expect(resumed.trainer.run()).rejects.toThrow(CheckpointMismatchError);
    await resumed.dispose();
    const again = await prepareVocoderTraining(settings('run-1'));
    const second = await again.trainer.run();
    expect(second.step).toBe(2); // nothing left to do: resumed at step 2 of 2
    expect(readFileSync(join(home, 'run-1', 'losses.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    const out = join(home, 'vocoder.timbre');
    await again.finish(second, out, { overwrite: false, command: 'test', trainingSeconds: 1 });
    await again.dispose();
    const vocoder = await loadVocoderModel(out);
    expect(vocoder.info.config.width).toBe(8);
    const dataset = openCorpusDataset({ home, split: 'train' });
    const u = dataset.utterances[0]!;
    const samples = await vocoder.vocode(dataset.mel(u.voice, u.sentence), { lengthSamples: dataset.samples(u.voice, u.sentence).length });
    expect(samples.length).toBe(dataset.samples(u.voice, u.sentence).length);
    vocoder.dispose();
    const other = await prepareVocoderTraining(settings('run-1', { config: { ...VOCODER_TRAINER_ENTRY.tinyConfig, width: 12 } }));
    await expect(other.trainer.run()).rejects.toThrow(/settings/);
    await other.dispose();
  }, 60_000);

  it('runs data-parallel over two workers', async () => {
    const run = await prepareVocoderTraining(settings('run-2', { workers: 2, steps: 1, checkpointEvery: 0 }));
    const result = await run.trainer.run();
    expect(result.history).toHaveLength(1);
    expect(Number.isFinite(result.history[0]!['total'])).toBe(true);
    await run.dispose();
  }, 60_000);

  it('refuses unknown preset keys and crops shorter than its STFTs', async () => {
    await expect(prepareVocoderTraining(settings('run-x', { config: { widht: 8 } }))).rejects.toThrow(/"widht" is not a vocoder setting/);
    await expect(prepareVocoderTraining(settings('run-x', { config: { ...VOCODER_TRAINER_ENTRY.tinyConfig, cropFrames: 4 } }))).rejects.toThrow(/cropFrames must be/);
  });
});

describe('vocoder fine-tune set', () => {
  it('holds converter outputs aligned to the recordings; crops then take them as input and keep the recording as target', async () => {
    const dataset = openCorpusDataset({ home, split: 'train' });
    const utterances = dataset.utterances.slice(0, 2);
    const dir = join(home, 'finetune');
    const set = await writeFineTuneMels(dir, dataset, [smoother], { utterances });
    expect(set.entries).toHaveLength(2);
    expect(existsSync(join(dir, 'index.json'))).toBe(true);
    expect(openFineTuneSet(dir).hash).toBe(set.hash);
    const u = utterances[0]!;
    const smoothed = set.mel(set.of(u.voice, u.sentence)[0]!);
    expect([...smoothed.data]).toEqual([...(await smoother.convert(dataset.mel(u.voice, u.sentence), { voiceId: u.voice })).data]);
    const trainConfig = { ...DEFAULT_VOCODER_TRAIN_CONFIG, cropFrames: 12, fineTuneShare: 1 };
    const source = vocoderBatchSource(dataset, utterances, { trainConfig, salt: 3, fineTune: set });
    const batch = await source.getBatch([0]);
    const [input, target] = [batch.mel.dataSync(), batch.targetMel.dataSync()];
    const plain = dataset.mel(u.voice, u.sentence).data;
    // Find the crop's start from the target rows, then check the input is the smoothed mel at the same rows.
    let start = -1;
    for (let s = 0; s + 12 <= u.frames && start < 0; s++) if (plain.subarray(s * 80, (s + 12) * 80).every((v, i) => v === target[i])) start = s;
    expect(start).toBeGreaterThanOrEqual(0);
    expect([...input]).toEqual([...smoothed.data.subarray(start * 80, (start + 12) * 80)]);
    expect([...input]).not.toEqual([...target]);
    tf.dispose(batch as unknown as tf.TensorContainer);
    const run = await prepareVocoderTraining(settings('run-ft', { steps: 1, fineTune: dir, config: { ...VOCODER_TRAINER_ENTRY.tinyConfig, fineTuneShare: 0.5 } }));
    const result = await run.trainer.run();
    expect(Number.isFinite(result.history[0]!['total'])).toBe(true);
    await run.dispose();
  }, 60_000);
});

describe('vocoder fine-tune on the installed converters', () => {
  it('renders the shipped converters\' mels once, starts from the given vocoder file and reuses the set next time', async () => {
    // A tiny vocoder file to start from (2 steps), as `timbre train vocoder` would have left.
    const base = await prepareVocoderTraining(settings('run-base'));
    const trained = await base.trainer.run();
    const start = join(home, 'start.timbre');
    await base.finish(trained, start, { overwrite: false, command: 'test', trainingSeconds: 1 });
    await base.dispose();
    const lines: string[] = [];
    const run = await prepareVocoderFineTuning({ ...settings('run-fine-tune', { steps: 1, checkpointEvery: 0 }), init: start, log: (l) => lines.push(l) });
    // Before any step the network holds the start file's weights exactly.
    const startVocoder = await loadVocoderModel(start);
    const startWeights = startVocoder.weights();
    startVocoder.dispose();
    for (const [name, value] of run.setup.model.getWeights()) expect([...value.data], name).toEqual([...startWeights.get(name)!.data]);
    expect(run.setup.fineTune!.entries.length).toBeGreaterThan(0);
    expect(new Set(run.setup.fineTune!.entries.map((e) => e.family))).toEqual(new Set(['vae', 'cyclegan', 'diffvc']));
    const result = await run.trainer.run();
    expect(Number.isFinite(result.history[0]!['total'])).toBe(true);
    await run.dispose();
    expect(lines.some((l) => /rendering \d+ train-split utterances/.test(l))).toBe(true);
    const again: string[] = [];
    const second = await prepareVocoderFineTuning({ ...settings('run-fine-tune-2', { steps: 1 }), init: start, log: (l) => again.push(l) });
    await second.dispose();
    expect(again.some((l) => /reusing \d+ converter mels/.test(l))).toBe(true);
    // Another config than the start file's is refused before training.
    await expect(prepareVocoderFineTuning({ ...settings('run-fine-tune-3', { config: { ...VOCODER_TRAINER_ENTRY.tinyConfig, width: 12 } }), init: start })).rejects.toThrow(/width differ from this run's config/);
  }, 120_000);
});

