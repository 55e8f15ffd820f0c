import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpeech, readWavFile, writeWavFile } from '../../src/io/audioFile.js';
import { codeOf } from './helpers.js';
import { encodeWav } from '../../src/audio/wav.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timbre-audiofile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tone = Float32Array.from({ length: 4410 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 441 * i) / 44100));

describe('readWavFile', () => {
  it('reads a WAV file and names it in warnings', async () => {
    const path = join(dir, 'quiet.wav');
    writeFileSync(path, encodeWav(new Float32Array(100), 16000));
    const audio = await readWavFile(path);
    expect(audio.sampleRateHz).toBe(16000);
    expect(audio.warnings[0]).toContain(path);
  });

  it('refuses a missing file, a folder, an empty file and an over-large file with distinct codes', async () => {
    expect(await codeOf(readWavFile(join(dir, 'missing.wav')))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(readWavFile(dir))).toBe('NOT_A_FILE');
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, '');
    expect(await codeOf(readWavFile(empty))).toBe('EMPTY_FILE');
    await expect(readWavFile(empty)).rejects.toThrow(`${empty}: empty file (0 bytes)`);
    const big = join(dir, 'big.wav');
    writeFileSync(big, encodeWav(tone, 44100));
    expect(await codeOf(readWavFile(big, { maxBytes: 1000 }))).toBe('FILE_TOO_LARGE');
  });

  it('passes decoding errors through with the path in the message', async () => {
    const path = join(dir, 'notes.wav');
    writeFileSync(path, 'just some text');
    await expect(readWavFile(path)).rejects.toThrow(`${path}: not a WAV file (no RIFF header)`);
  });
});

describe('loadSpeech', () => {
  it('resamples to 22 050 Hz and keeps the original format', async () => {
    const path = join(dir, 'tone.wav');
    writeFileSync(path, encodeWav(tone, 44100, { bitDepth: 24 }));
    const speech = await loadSpeech(path);
    expect(speech.sampleRateHz).toBe(22050);
    expect(speech.samples.length).toBe(2205);
    expect(speech.original).toMatchObject({ sampleRateHz: 44100, bitDepth: 24, channels: 1, sampleFormat: 'pcm' });
    expect(speech.warnings).toEqual([]);
  });
});

describe('writeWavFile', () => {
  it('writes atomically, refuses to overwrite without the flag, and round-trips', async () => {
    const path = join(dir, 'out.wav');
    await writeWavFile(path, tone, 44100, { float: true });
    expect(Array.from((await readWavFile(path)).samples)).toEqual(Array.from(tone));
    expect(await codeOf(writeWavFile(path, tone, 44100))).toBe('FILE_EXISTS');
    await writeWavFile(path, tone, 44100, { overwrite: true });
    expect((await readWavFile(path)).bitDepth).toBe(16);
    expect(readdirSync(dir)).toEqual(['out.wav']);
  });
});
