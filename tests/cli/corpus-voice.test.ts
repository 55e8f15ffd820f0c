// `timbre voice add/remove`, `timbre voices` and `timbre corpus` through runCli: exit codes and messages.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { loadSentences } from '../../src/corpus/sentences.js';
import { renderSentence } from '../../src/corpus/synth.js';
import { corpusVoice } from '../../src/corpus/voices.js';
import { loadVoiceAudio, voiceMels } from '../../src/engine/voices.js';
import { timbre } from './helpers.js';

let dir: string;
let home: string;
const speechFiles: string[] = [];

/** A speech-like test signal: a 150 Hz buzz with 4 Hz syllable-rate amplitude modulation. */
function buzz(seconds: number, rateHz: number, gain: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * rateHz));
  for (let i = 0; i < out.length; i++) {
    const t = i / rateHz;
    const envelope = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    let x = 0;
    for (let h = 1; h <= 8; h++) x += Math.sin(2 * Math.PI * 150 * h * t) / h;
    out[i] = gain * envelope * x;
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'timbre-voice-test-'));
  home = join(dir, 'home');
  // Real speech: five sentences by flite's awb voice (16 kHz), about 12 s in all.
  for (const sentence of loadSentences().slice(0, 5)) {
    const speech = await renderSentence(corpusVoice('flite-awb'), sentence.text);
    const path = join(dir, `${sentence.id}.wav`);
    await writeFile(path, encodeWav(speech.samples, speech.sampleRateHz, { bitDepth: 16 }));
    speechFiles.push(path);
  }
  await writeFile(join(dir, 'short.wav'), encodeWav(buzz(2, 22050, 0.2), 22050, { bitDepth: 16 }));
  const clipped = buzz(12, 22050, 1.5).map((x) => Math.max(-1, Math.min(1, x)));
  await writeFile(join(dir, 'clipped.wav'), encodeWav(clipped, 22050, { bitDepth: 16 }));
  await writeFile(join(dir, 'notes.wav'), 'these are my notes, not audio\n');
  await writeFile(join(dir, 'quiet.wav'), encodeWav(buzz(12, 22050, 0.001), 22050, { bitDepth: 16 }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('timbre voice add', () => {
  it('rejects a 2 s recording with exit code 2, saying how much speech is needed', async () => {
    const run = await timbre('voice', 'add', 'shorty', join(dir, 'short.wav'), '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: voice shorty: only 2\.\d s of speech .* at least 10 s/);
  });

  it('rejects a clipped recording, naming the file', async () => {
    const run = await timbre('voice', 'add', 'loud', join(dir, 'clipped.wav'), '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*clipped\.wav is clipped \(.* %.*lower input level/);
  });

  it('rejects a file that is not a WAV, naming the file', async () => {
    const run = await timbre('voice', 'add', 'notes', join(dir, 'notes.wav'), '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*notes\.wav/);
  });

  it('rejects a recording that is too quiet', async () => {
    const run = await timbre('voice', 'add', 'whisper', join(dir, 'quiet.wav'), '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/too quiet/);
  });

  it('rejects bad names and corpus voice ids', async () => {
    expect((await timbre('voice', 'add', 'my voice', ...speechFiles, '--home', home)).stderr).toMatch(/not allowed/);
    const clash = await timbre('voice', 'add', 'flite-slt', ...speechFiles, '--home', home);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/taken by the corpus voice flite-slt/);
  });

  it('adds, lists, refuses to overwrite without --force, loads and removes a voice', async () => {
    const added = await timbre('voice', 'add', 'alan', ...speechFiles, '--home', home);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/added voice alan: 5 clips, \d+\.\d s of speech at 22050 Hz/);
    const voiceJson = JSON.parse(await readFile(join(home, 'voices', 'alan', 'voice.json'), 'utf8')) as { totalSeconds: number };
    expect(voiceJson.totalSeconds).toBeGreaterThanOrEqual(10);

    const listed = await timbre('voices', '--home', home);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^alan\s+user\s+\d+\.\d s\s+5/m);
    expect(listed.stdout).toMatch(/^flite-slt\s+corpus\s+not built/m);

    const again = await timbre('voice', 'add', 'alan', ...speechFiles, '--home', home);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; use --force/);
    expect((await timbre('voice', 'add', 'alan', ...speechFiles.slice(0, 5), '--force', '--home', home)).code).toBe(0);

    const audio = await loadVoiceAudio('alan', { home });
    expect(audio.sampleRateHz).toBe(22050);
    expect(audio.clips).toHaveLength(5);
    const mels = await voiceMels('alan', { home });
    expect(mels[0]!.mels).toBe(80);

    expect((await timbre('voice', 'remove', 'alan', '--home', home)).code).toBe(0);
    const gone = await timbre('voice', 'remove', 'alan', '--home', home);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/no user voice "alan"/);
  });
});

describe('timbre corpus', () => {
  it('builds a tiny corpus, then reports nothing to do', async () => {
    const first = await timbre('corpus', 'build', '--voices', 'flite-kal,festival-kal', '--sentences', '2', '--home', home);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/voices:\s+2 \(flite-kal, festival-kal\)/);
    expect(first.stdout).toMatch(/sentences:\s+2 \(train \d, validation \d, test \d\)/);
    const second = await timbre('corpus', 'build', '--voices', 'flite-kal,festival-kal', '--sentences', '2', '--home', home);
    expect(second.stdout).toMatch(/^nothing to do/);
    const info = await timbre('corpus', 'info', '--home', home);
    expect(info.stdout).toMatch(/flite-kal .* same speaker as festival-kal/);
  });

  it('rejects an unknown voice and a bad option with exit code 2', async () => {
    const unknown = await timbre('corpus', 'build', '--voices', 'flite-nobody', '--home', home);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/"flite-nobody" is not a corpus voice/);
    expect((await timbre('corpus', 'build', '--jobs', '0', '--home', home)).code).toBe(2);
    expect((await timbre('corpus', 'frobnicate')).code).toBe(2);
  });
});
