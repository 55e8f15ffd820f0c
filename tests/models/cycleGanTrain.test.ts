// `timbre train cyclegan --to VOICE [--from NAME|any]` on a 3-voice × 3-sentence corpus with a tiny preset:
// the pooled "any" domain, the pair's own folders, resume after a cancel-like stop, and the model file it writes.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { loadCycleGanModel, loadEvalConverter } from '../../src/models/cycleGan/convert.js';
import { createCycleGanTrainingSetup, prepareCycleGanTraining } from '../../src/models/cycleGan/train.js';
import { readModelFile } from '../../src/nn/modelFile.js';
import { TEST_VOICES } from '../corpus/render.js';
import { timbre } from '../cli/helpers.js';
import { useWasm } from '../nn/helpers.js';
import { addReadingVoice } from '../fixtures/reading.js';

const TINY = {
  genChannels: [4, 4, 4],
  genEdgeKernel: [3, 3],
  residualChannels: 8,
  residualBlocks: 1,
  discChannels: [4, 4],
  cropFrames: 16,
  maxMaskFrames: 6,
};

let home: string;
let preset: string;
beforeAll(async () => {
  await useWasm();
  home = await mkdtemp(join(tmpdir(), 'timbre-cyclegan-cli-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
  preset = join(home, 'tiny.json');
  await writeFile(preset, JSON.stringify(TINY));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A preset of the smallest speaker encoder (its registry tiny config). */
async function tinyEncoderPreset(): Promise<string> {
  const { familyEntry } = await import('../../src/models/registry.js');
  const path = join(home, 'tiny-encoder.json');
  await writeFile(path, JSON.stringify(familyEntry('speaker-encoder')!.trainer.tinyConfig));
  return path;
}

describe('timbre train cyclegan', () => {
  it('pools every other corpus voice as the "any" source domain, or takes one corpus voice with --from', async () => {
    const pooled = await createCycleGanTrainingSetup({ home, target: 'espeak-f2', train: { cropFrames: 16 }, config: { genChannels: [4, 4, 4], residualChannels: 8, residualBlocks: 1, discChannels: [4, 4] } });
    expect(pooled.domainA.name).toBe('any');
    expect(pooled.domainA.voices).toEqual(['flite-slt', 'festival-ked']);
    expect(pooled.domainB.voices).toEqual(['espeak-f2']);
    expect(pooled.domainA.seconds).toBeGreaterThan(0);
    pooled.model.dispose();
    const single = await createCycleGanTrainingSetup({ home, target: 'espeak-f2', source: 'flite-slt', config: { genChannels: [4, 4, 4], residualChannels: 8, residualBlocks: 1, discChannels: [4, 4] } });
    expect(single.domainA.voices).toEqual(['flite-slt']);
    single.model.dispose();
    await expect(createCycleGanTrainingSetup({ home, target: 'espeak-f2', source: 'espeak-f2' })).rejects.toThrow(/two different voices/);
    await expect(createCycleGanTrainingSetup({ home, target: 'espeak-f2', config: { genChannel: 3 } as never })).rejects.toThrow(/unknown setting "genChannel"/);
  });

  it('trains into models/cyclegan-VOICE with its own run folder, resumes or refuses its checkpoint, and the model loads for eval', async () => {
    const args = ['train', 'cyclegan', '--to', 'espeak-f2', '--home', home, '--config', preset, '--batch-size', '1', '--log-every', '1', '--checkpoint-every', '1'];
    const short = await timbre(...args, '--steps', '2', '--out', join(home, 'short.timbre'));
    expect(short.stderr).toBe('');
    expect(short.code).toBe(0);
    expect(short.stdout).toMatch(/cyclegan any → espeak-f2: generator \d+ parameters/);
    expect(short.stdout).toMatch(/^step 2\/2 \| total /m);
    const runDir = join(home, 'checkpoints', 'cyclegan-espeak-f2');
    expect(existsSync(join(runDir, 'checkpoint.timbre'))).toBe(true);
    expect((await readFile(join(runDir, 'losses.csv'), 'utf8')).split('\n')[0]).toMatch(/^step,total,.*cycle.*,learning_rate$/);

    const resumed = await timbre(...args, '--steps', '2', '--out', join(home, 'short-again.timbre'));
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resuming from .*cyclegan-espeak-f2.*checkpoint\.timbre at step 2\/2/);
    expect(existsSync(join(home, 'short-again.timbre'))).toBe(true);

    // Same run folder, other --steps: refused with the settings named (the CLI's own check reads our checkpoint).
    const other = await timbre(...args, '--steps', '3');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/made with --steps 2 \(now 3\)/);

    const full = await timbre(...args, '--steps', '3', '--fresh');
    expect(full.code).toBe(0);
    const out = join(home, 'models', 'cyclegan-espeak-f2', 'model.timbre');
    expect(full.stdout).toContain(`wrote ${out}`);
    const { generator, info } = await loadCycleGanModel(out);
    expect(info.targetVoice).toBe('espeak-f2');
    expect(info.sourceDomain).toBe('any');
    expect(info.sourceVoices).toEqual(['flite-slt', 'festival-ked']);
    expect(info.training?.['steps']).toBe(3);
    // The target's mean F0 (what conversion normalises the source's vocal tract toward), in the range of a voice.
    expect(Math.exp(info.targetLogF0!)).toBeGreaterThan(60);
    expect(Math.exp(info.targetLogF0!)).toBeLessThan(400);
    expect(info.trainingDataHash).toMatch(/^[0-9a-f]{64}$/);
    generator.dispose();

    const evalConverter = await loadEvalConverter({ home, targetVoices: ['espeak-f2'] });
    expect(evalConverter.targetVoices).toEqual(['espeak-f2']);
    evalConverter.dispose();
    await expect(loadEvalConverter({ home, targetVoices: ['espeak-f2', 'flite-awb'] })).rejects.toThrow(/no CycleGAN-VC generator for flite-awb/);

    // --init: a new run in its own folder starts from the checkpoint's nets (all four), not from fresh weights.
    const checkpoint = join(runDir, 'checkpoint.timbre');
    const warmSettings = {
      home, steps: 1, batchSize: 1, seed: 0, workers: 1, runDir: join(home, 'warm-direct'), resume: false, logEvery: 1, validateEvery: 0,
      checkpointEvery: 0, config: TINY, to: 'espeak-f2', log: () => {},
    };
    const warmRun = await prepareCycleGanTraining({ ...warmSettings, init: checkpoint });
    const { weights } = await readModelFile(checkpoint);
    const started = new Map(warmRun.setup.model.getWeights());
    expect(started.size).toBeGreaterThan(4);
    for (const [name, w] of started) expect(Array.from(w.data)).toEqual(Array.from(weights.get(`param:${name}`)!.data));
    await warmRun.dispose();
    const coldRun = await prepareCycleGanTraining(warmSettings);
    const [name, cold] = [...coldRun.setup.model.getWeights()].find(([, w]) => w.data.length > 8)!;
    expect(Array.from(cold.data)).not.toEqual(Array.from(weights.get(`param:${name}`)!.data));
    await coldRun.dispose();

    const warm = await timbre(...args, '--steps', '1', '--init', checkpoint, '--out', join(home, 'warm.timbre'));
    expect(warm.stderr).toBe('');
    expect(warm.code).toBe(0);
    expect(warm.stdout).toContain(`starting from the nets of checkpoint ${checkpoint}`);
    expect(existsSync(join(home, 'checkpoints', 'cyclegan-espeak-f2-warm', 'checkpoint.timbre'))).toBe(true);
    const warmModel = await loadCycleGanModel(join(home, 'warm.timbre'));
    expect(warmModel.info.training?.['init']).toBe(checkpoint);
    warmModel.generator.dispose();
    // A model file gives its generators (discriminators fresh); another kind of file is refused; another pair's
    // checkpoint is refused naming the pair; other families refuse --init.
    const fromModel = await timbre(...args, '--steps', '1', '--fresh', '--init', out, '--out', join(home, 'warm2.timbre'));
    expect(fromModel.code).toBe(0);
    expect(fromModel.stdout).toContain(`starting from the generators of model file ${out}`);
    const speakerEncoderFile = join(home, 'encoder.timbre');
    expect((await timbre('train', 'speaker-encoder', '--home', home, '--steps', '1', '--config', await tinyEncoderPreset(), '--out', speakerEncoderFile)).code).toBe(0);
    const notCheckpoint = await timbre(...args, '--steps', '1', '--fresh', '--init', speakerEncoderFile, '--out', join(home, 'warm4.timbre'));
    expect(notCheckpoint.code).toBe(2);
    expect(notCheckpoint.stderr).toMatch(/not a CycleGAN-VC training checkpoint/);
    const otherPair = await timbre('train', 'cyclegan', '--to', 'flite-slt', '--home', home, '--config', preset, '--steps', '1', '--init', checkpoint, '--out', join(home, 'warm3.timbre'));
    expect(otherPair.code).toBe(2);
    expect(otherPair.stderr).toMatch(/target espeak-f2 \(this run flite-slt\)/);
    const encoder = await timbre('train', 'speaker-encoder', '--home', home, '--steps', '1', '--init', checkpoint);
    expect(encoder.code).toBe(2);
    expect(encoder.stderr).toMatch(/--init warm-starts a vae, cyclegan, cyclediffusion or vocoder run/);
  });

  it('trains a pair to a user voice from a trained pair\'s generators (--init FILE), and without --init from the shipped pair nearest in pitch', async () => {
    await addReadingVoice(home, 'anna', { voice: 'en-us+f3' });
    const base = join(home, 'models', 'cyclegan-espeak-f2', 'model.timbre'); // written by the test above
    const run = await timbre('train', 'cyclegan', '--to', 'anna', '--init', base, '--home', home, '--config', preset, '--batch-size', '1', '--steps', '2');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`starting from the generators of model file ${base}`);
    const made = await loadCycleGanModel(join(home, 'models', 'cyclegan-anna', 'model.timbre'));
    expect(made.info.targetVoice).toBe('anna');
    expect(made.info.sourceDomain).toBe('any');
    expect([...made.info.sourceVoices].sort()).toEqual([...TEST_VOICES].sort());
    expect(made.inverse).not.toBeNull();
    made.generator.dispose();
    made.inverse?.dispose();
    // The shipped pairs have the full-size architecture, so the tiny preset cannot start from them: a clear refusal.
    const auto = await timbre('train', 'cyclegan', '--to', 'anna', '--home', home, '--config', preset, '--batch-size', '1', '--steps', '1', '--out', join(home, 'auto.timbre'));
    expect(auto.code).toBe(2);
    expect(auto.stderr).toMatch(/assets\/models\/cyclegan-(flite-slt|festival-ked|espeak-f2)\/model\.timbre: its network config differs/);
  }, 240_000);

  it('names a dedicated pair folder after --from, and refuses a missing or unknown --to with exit 2', async () => {
    const pair = await timbre('train', 'cyclegan', '--to', 'flite-slt', '--from', 'festival-ked', '--home', home, '--config', preset, '--batch-size', '1', '--steps', '1');
    expect(pair.code).toBe(0);
    expect(existsSync(join(home, 'models', 'cyclegan-festival-ked-flite-slt', 'model.timbre'))).toBe(true);
    const missing = await timbre('train', 'cyclegan', '--home', home, '--config', preset, '--steps', '1');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--to VOICE/);
    const unknown = await timbre('train', 'cyclegan', '--to', 'nobody', '--home', home, '--config', preset, '--steps', '1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nobody/);
  });
});
