// `timbre convert` with a tiny VAE model file: the output WAV, pitch options, and every user error exiting 2.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { saveModelFile } from '../../src/nn/modelFile.js';
import { CycleGanGenerator } from '../../src/models/cycleGan/model.js';
import { saveCycleGanModel } from '../../src/models/cycleGan/convert.js';
import { identityNormalization } from '../../src/models/melNormalization.js';
import { Rng } from '../../src/nn/module.js';
import { createVae } from '../../src/models/vae/model.js';
import { TINY_VAE_CONFIG, writeTinyVae } from '../models/vaeFixtures.js';
import { writeTinyDiffVc } from '../models/diffVcFixtures.js';
import { timbre } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'timbre-convert-'));
const speech = join(dir, 'fox.wav');
const model = join(dir, 'tiny.timbre');
const previousHome = process.env.TIMBRE_HOME;

beforeAll(async () => {
  process.env.TIMBRE_HOME = join(dir, 'home');
  execFileSync('espeak-ng', ['-w', speech, 'The quick brown fox jumps over the lazy dog']);
  await writeTinyVae(model);
});
afterAll(() => {
  if (previousHome === undefined) delete process.env.TIMBRE_HOME;
  else process.env.TIMBRE_HOME = previousHome;
  rmSync(dir, { recursive: true, force: true });
});

describe('timbre convert', () => {
  it('writes a 22 050 Hz WAV of the input length, loudness matched and never clipped', async () => {
    const out = join(dir, 'out.wav');
    const run = await timbre('convert', speech, '--to', 'voice-b', '--model', model, '-o', out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^backend: /);
    expect(run.stdout).toContain(`wrote ${out}`);
    const input = decodeWav(readFileSync(speech));
    const output = decodeWav(readFileSync(out));
    expect(output.sampleRateHz).toBe(MEL_CONFIG.sampleRateHz);
    expect(Math.abs(output.samples.length - input.samples.length)).toBeLessThanOrEqual(MEL_CONFIG.hopSamples);
    const peak = output.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.01);
    expect(peak).toBeLessThan(0.95);
  });

  it('accepts --keep-pitch and --semitones, and refuses to overwrite without --force', async () => {
    const out = join(dir, 'pitch.wav');
    const first = await timbre('convert', speech, '--to', 'voice-a', '--model', model, '-o', out, '--keep-pitch', '--semitones', '-2');
    expect(first.code).toBe(0);
    const again = await timbre('convert', speech, '--to', 'voice-a', '--model', model, '-o', out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: .*already exists.*--force/);
    const forced = await timbre('convert', speech, '--to', 'voice-a', '--model', model, '-o', out, '--force');
    expect(forced.code).toBe(0);
  });

  it('converts with a CycleGAN-VC model file named by path, to its target and back to its source domain (--to any)', async () => {
    const config = { mels: MEL_CONFIG.melBins, genChannels: [4, 4, 4], genEdgeKernel: [3, 3], genSampleKernel: 3, residualChannels: 8, residualBlocks: 1, residualKernel: 3, discChannels: [4, 4], discKernel: 3 };
    const path = join(dir, 'pair.timbre');
    const [forward, inverse] = [new CycleGanGenerator(new Rng(1), config), new CycleGanGenerator(new Rng(2), config)];
    const normalization = identityNormalization(MEL_CONFIG.melBins);
    await saveCycleGanModel(path, forward, { config, sourceDomain: 'any', sourceVoices: ['voice-a'], targetVoice: 'voice-b', normalization, trainingDataHash: 'synthetic' }, { inverse });
    forward.dispose();
    inverse.dispose();
    const there = await timbre('convert', speech, '--to', 'voice-b', '--model', path, '-o', join(dir, 'there.wav'));
    expect(there.stderr).toBe('');
    expect(there.code).toBe(0);
    const back = await timbre('convert', speech, '--to', 'any', '--model', path, '-o', join(dir, 'back.wav'));
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/as any \(model .*pair\.timbre\)/);
    expect(readFileSync(join(dir, 'there.wav')).equals(readFileSync(join(dir, 'back.wav')))).toBe(false);
    const neither = await timbre('convert', speech, '--to', 'voice-c', '--model', path, '-o', join(dir, 'neither.wav'));
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/has no voice "voice-c"; known voices: voice-b, any/);
  });

  it('finds models by family or registry id: the one of the family that has the voice', async () => {
    mkdirSync(join(dir, 'home', 'models', 'vae-tiny'), { recursive: true });
    await writeTinyVae(join(dir, 'home', 'models', 'vae-tiny', 'model.timbre'));
    const byFamily = await timbre('convert', speech, '--to', 'voice-c', '-o', join(dir, 'family.wav'));
    expect(byFamily.stderr).toBe('');
    expect(byFamily.stdout).toContain('(model user/vae-tiny)');
    const byId = await timbre('convert', speech, '--to', 'voice-a', '--model', 'user/vae-tiny', '-o', join(dir, 'id.wav'));
    expect(byId.code).toBe(0);
    const unknown = await timbre('convert', speech, '--to', 'voice-a', '--model', 'wavenet', '-o', join(dir, 'u.wav'));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('user/vae-tiny');
  });

  it('exits 2 on an unknown voice, listing the known ones', async () => {
    const run = await timbre('convert', speech, '--to', 'darth', '--model', model, '-o', join(dir, 'x.wav'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*"darth"/);
    expect(run.stderr).toContain('voice-a, voice-b, voice-c');
  });

  it('exits 2 on a model file that converts nothing, one whose header does not fit its kind, or another feature config', async () => {
    const vae = createVae(TINY_VAE_CONFIG, { speakers: 3 });
    const cyclegan = join(dir, 'cyclegan.timbre');
    const base = { hyperparameters: { config: { ...TINY_VAE_CONFIG } }, speakers: ['a', 'b', 'c'], normalization: null, trainingDataHash: '', validationMetrics: {} };
    await saveModelFile(cyclegan, { ...base, kind: 'cyclegan', kindVersion: 1, melConfig: MEL_CONFIG }, vae.getWeights());
    const encoder = join(dir, 'encoder.timbre');
    await saveModelFile(encoder, { ...base, kind: 'speaker-encoder', kindVersion: 1, melConfig: MEL_CONFIG }, vae.getWeights());
    const otherMel = join(dir, 'othermel.timbre');
    await saveModelFile(otherMel, { ...base, kind: 'vae', kindVersion: 1, melConfig: { ...MEL_CONFIG, melBins: 100 } }, vae.getWeights());
    vae.dispose();
    const wrongKind = await timbre('convert', speech, '--to', 'a', '--model', encoder, '-o', join(dir, 'y.wav'));
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toMatch(/^error: .*encoder\.timbre: kind is "speaker-encoder", which converts no voice/);
    // A "cyclegan" header over VAE weights goes to the CycleGAN-VC loader, which refuses it by what is missing.
    const misfit = await timbre('convert', speech, '--to', 'a', '--model', cyclegan, '-o', join(dir, 'y.wav'));
    expect(misfit.code).toBe(2);
    expect(misfit.stderr).toMatch(/^error: .*cyclegan\.timbre: CycleGAN-VC config lacks /);
    const wrongMel = await timbre('convert', speech, '--to', 'a', '--model', otherMel, '-o', join(dir, 'z.wav'));
    expect(wrongMel.code).toBe(2);
    expect(wrongMel.stderr).toMatch(/^error: .*feature config differs: melBins 100 \(expected 80\)/);
  });

  it('exits 2 on a 0.1 s input, a missing input and a missing model file', async () => {
    const short = join(dir, 'short.wav');
    const samples = new Float32Array(2205).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 150 * i) / 22050));
    writeFileSync(short, encodeWav(samples, 22050));
    const run = await timbre('convert', short, '--to', 'voice-a', '--model', model, '-o', join(dir, 'short-out.wav'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*short\.wav is 0\.100 s long; give at least 0\.25 s/);
    const missing = await timbre('convert', join(dir, 'nope.wav'), '--to', 'voice-a', '--model', model);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.wav');
    const noModel = await timbre('convert', speech, '--to', 'voice-a', '--model', join(dir, 'absent.timbre'), '-o', join(dir, 'w.wav'));
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('absent.timbre');
  });

  it('exits 2 on usage errors: no --to, a bad --semitones, an unknown vocoder', async () => {
    expect((await timbre('convert', speech, '--model', model)).stderr).toMatch(/missing --to VOICE/);
    const semitones = await timbre('convert', speech, '--to', 'voice-a', '--model', model, '--semitones', '40');
    expect(semitones.code).toBe(2);
    expect(semitones.stderr).toContain('--semitones');
    const vocoder = await timbre('convert', speech, '--to', 'voice-a', '--model', model, '--vocoder', 'wavenet');
    expect(vocoder.code).toBe(2);
    expect(vocoder.stderr).toContain('--vocoder');
  });

  it('converts with a DiffVC to the speaker of --reference recordings, with --steps, --solver and --seed', async () => {
    const diffvc = join(dir, 'diffvc.timbre');
    await writeTinyDiffVc(diffvc, 1, 128); // d-vectors of the shipped speaker encoder's size
    const reference = join(dir, 'reference.wav');
    execFileSync('espeak-ng', ['-v', 'en+m3', '-w', reference, 'A large size in stockings is hard to sell. The boy was there when the sun rose. Rice is often served in round bowls. The juice of lemons makes fine punch. The box was thrown beside the parked truck.']);
    const out = join(dir, 'referenced.wav');
    const run = await timbre('convert', speech, '--reference', reference, '--model', diffvc, '-o', out, '--steps', '2', '--solver', 'euler', '--seed', '7');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('as reference (model');
    const own = await timbre('convert', speech, '--to', 'voice-a', '--model', diffvc, '-o', join(dir, 'own.wav'), '--steps', '1');
    expect(own.code).toBe(0);
    const short = await timbre('convert', speech, '--reference', speech, '--model', diffvc, '-o', join(dir, 'short-reference.out.wav'));
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/reference recordings: only \d\.\d s of speech.*at least 10 s/);
    const notAnyVoice = await timbre('convert', speech, '--reference', reference, '--model', model, '-o', join(dir, 'vae.wav'));
    expect(notAnyVoice.code).toBe(2);
    expect(notAnyVoice.stderr).toMatch(/--reference needs a model that converts to any voice/);
    const steps = await timbre('convert', speech, '--to', 'voice-a', '--model', diffvc, '--steps', '0');
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--steps');
  }, 60_000);
});
