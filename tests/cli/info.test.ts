import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { timbre } from './helpers.js';
import { saveVocoderModel } from '../../src/models/vocoder/convert.js';
import { shippedVocoderPath } from '../../src/models/vocoder/files.js';
import { VocoderNet } from '../../src/models/vocoder/model.js';
import { Rng } from '../../src/nn/module.js';
import { useWasm } from '../nn/helpers.js';
import { TINY } from '../models/vocoderFixtures.js';

let dir: string;
let speechPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'timbre-cli-'));
  speechPath = join(dir, 'fox.wav');
  execFileSync('espeak-ng', ['-w', speechPath, 'The quick brown fox jumps over the lazy dog']);
});

describe('timbre info', () => {
  it('describes a speech file: duration, rate, channels, levels, F0', async () => {
    const run = await timbre('info', speechPath, '--json');
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout) as Record<string, number>;
    expect(info.sampleRateHz).toBe(22050);
    expect(info.channels).toBe(1);
    expect(info.durationSeconds).toBeGreaterThan(1.5);
    expect(info.peakDb).toBeLessThanOrEqual(0);
    expect(info.rmsDb).toBeLessThan(info.peakDb);
    // espeak-ng's default voice speaks around 100–200 Hz
    expect(info.f0MedianHz).toBeGreaterThan(70);
    expect(info.f0MedianHz).toBeLessThan(250);
    expect(info.f0MinHz).toBeLessThanOrEqual(info.f0MedianHz);
    expect(info.f0MaxHz).toBeGreaterThanOrEqual(info.f0MedianHz);
  });

  it('exits 2 naming the file when given a text file', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'this is not audio at all\n');
    const run = await timbre('info', path);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain(path);
    expect(run.stderr.toLowerCase()).toContain('wav');
  });

  it('exits 2 on an empty file', async () => {
    const path = join(dir, 'empty.wav');
    writeFileSync(path, new Uint8Array(0));
    const run = await timbre('info', path);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*empty/i);
  });

  it('exits 2 on a WAV truncated inside its header', async () => {
    const path = join(dir, 'truncated.wav');
    writeFileSync(path, readFileSync(speechPath).subarray(0, 30));
    const run = await timbre('info', path);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain(path);
  });

  it('exits 2 on a missing file and on a missing argument', async () => {
    const missing = await timbre('info', join(dir, 'nope.wav'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.wav');
    const noArgument = await timbre('info');
    expect(noArgument.code).toBe(2);
    expect(noArgument.stderr).toContain('IN.wav');
  });
});

/** The written resynthesis: a 22 050 Hz WAV as long as the input to within one hop. */
function resynthesized(outPath: string): ReturnType<typeof decodeWav> {
  const input = decodeWav(readFileSync(speechPath));
  const output = decodeWav(readFileSync(outPath));
  expect(output.sampleRateHz).toBe(22050);
  expect(Math.abs(output.samples.length - input.samples.length)).toBeLessThanOrEqual(256);
  return output;
}

describe('timbre resynth', () => {
  it('writes a 22 050 Hz WAV of the same duration (±1 hop) that correlates with the input spectrum', async () => {
    const outPath = join(dir, 'fox-resynth.wav');
    const run = await timbre('resynth', speechPath, '-o', outPath, '--iterations', '16');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = resynthesized(outPath);
    const peak = output.samples.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
    expect(peak).toBeGreaterThan(0.05);
    expect(peak).toBeLessThan(1);
  });

  it('refuses to overwrite an existing output without --force', async () => {
    const outPath = join(dir, 'exists.wav');
    writeFileSync(outPath, encodeWav(new Float32Array(2205), 22050));
    const before = readFileSync(outPath);
    const run = await timbre('resynth', speechPath, '-o', outPath);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('exists');
    expect(readFileSync(outPath).equals(before)).toBe(true);
  });

  it('--vocoder neural runs the vocoder under TIMBRE_HOME/models/vocoder, and says how to get one when there is none', async () => {
    const home = mkdtempSync(join(tmpdir(), 'timbre-resynth-neural-'));
    // With no vocoder of the user's and none shipped, the command says how to get one (a shipped one is always found).
    if (!existsSync(shippedVocoderPath())) {
      const none = await timbre('resynth', speechPath, '-o', join(dir, 'none.wav'), '--vocoder', 'neural', '--home', home);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no neural vocoder .*timbre train vocoder/);
    }
    await useWasm();
    const net = new VocoderNet(new Rng(1), TINY, { mean: new Float32Array(80).fill(-5), std: new Float32Array(80).fill(2) });
    mkdirSync(join(home, 'models', 'vocoder'), { recursive: true });
    await saveVocoderModel(join(home, 'models', 'vocoder', 'model.timbre'), net, { trainingDataHash: 'test' });
    net.dispose();
    const outPath = join(dir, 'fox-neural.wav');
    const run = await timbre('resynth', speechPath, '-o', outPath, '--vocoder', 'neural', '--home', home);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = resynthesized(outPath);
    expect(output.samples.every((v) => Math.abs(v) <= 1)).toBe(true);
    const iterations = await timbre('resynth', speechPath, '-o', join(dir, 'z.wav'), '--vocoder', 'neural', '--home', home, '--force');
    expect(iterations.code).toBe(0);
  });

  it('rejects an unknown vocoder and a bad iteration count with exit 2', async () => {
    const badVocoder = await timbre('resynth', speechPath, '-o', join(dir, 'x.wav'), '--vocoder', 'wavenet');
    expect(badVocoder.code).toBe(2);
    expect(badVocoder.stderr).toContain('--vocoder');
    const badIterations = await timbre('resynth', speechPath, '-o', join(dir, 'y.wav'), '--iterations', '0');
    expect(badIterations.code).toBe(2);
    expect(badIterations.stderr).toContain('--iterations');
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await timbre('transmogrify')).code).toBe(2);
    const run = await timbre('info', speechPath, '--bogus');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--bogus');
  });
});
