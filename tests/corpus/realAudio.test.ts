// Decoding the packages' recordings: Ogg Vorbis, Ogg Opus and WAV by content, the Ogg integrity check that
// catches truncated and altered files, and (when ktuberling-data is installed) one of its real recordings.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidAudioError } from '../../src/audio/errors.js';
import { checkOggStream, DAMAGED_AUDIO, RecordingDecoder, sniffAudioFormat } from '../../src/corpus/realAudio.js';
import { OPUS_FIXTURE, toneWav, VORBIS_FIXTURE } from './realFixture.js';

const vorbis = new Uint8Array(readFileSync(VORBIS_FIXTURE));
const opus = new Uint8Array(readFileSync(OPUS_FIXTURE));

async function damaged(bytes: Uint8Array): Promise<InvalidAudioError> {
  const decoder = new RecordingDecoder();
  try {
    const error = await decoder.decode(bytes, 'x.ogg').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidAudioError);
    expect((error as InvalidAudioError).code).toBe(DAMAGED_AUDIO);
    return error as InvalidAudioError;
  } finally {
    decoder.dispose();
  }
}

describe('recording decoder', () => {
  it('tells the formats apart by their first bytes', () => {
    expect(sniffAudioFormat(vorbis, 'a')).toBe('vorbis');
    expect(sniffAudioFormat(opus, 'b')).toBe('opus');
    expect(sniffAudioFormat(toneWav(100), 'c')).toBe('wav');
    expect(() => sniffAudioFormat(new TextEncoder().encode('ID3 not audio we read'), 'song.mp3')).toThrow(/song\.mp3: not an Ogg Vorbis, Ogg Opus or WAV file/);
  });

  it('decodes Vorbis (stereo, mixed to mono) and Opus to their rate and length', async () => {
    const decoder = new RecordingDecoder();
    try {
      const v = await decoder.decode(vorbis, 'v.ogg');
      expect(v).toMatchObject({ format: 'vorbis', sampleRateHz: 44100, channels: 2 });
      expect(v.samples.length / 44100).toBeCloseTo(0.8, 2);
      const o = await decoder.decode(opus, 'o.opus');
      expect(o).toMatchObject({ format: 'opus', sampleRateHz: 48000, channels: 1 });
      expect(o.samples.length / 48000).toBeCloseTo(0.8, 1);
      // Same bytes, same samples: the decoder keeps no state between files.
      const again = await decoder.decode(vorbis, 'v.ogg');
      expect(Buffer.from(again.samples.buffer).equals(Buffer.from(v.samples.buffer))).toBe(true);
      let peak = 0;
      for (const s of v.samples) peak = Math.max(peak, Math.abs(s));
      expect(peak).toBeGreaterThan(0.15);
      expect(peak).toBeLessThanOrEqual(1);
    } finally {
      decoder.dispose();
    }
  });

  it('accepts whole Ogg streams and rejects truncated, altered and padded ones', async () => {
    expect(checkOggStream(vorbis, 'v.ogg')).toMatchObject({ endOfStream: true });
    expect(checkOggStream(opus, 'o.opus')).toMatchObject({ endOfStream: true });
    expect((await damaged(vorbis.subarray(0, vorbis.length - 100))).message).toMatch(/x\.ogg: .*truncated/);
    // Cut exactly at a page boundary: every page is whole and decodes, and the missing end is reported.
    let boundary = 0;
    for (let i = 1; i < vorbis.length - 4; i++) if (vorbis[i] === 0x4f && vorbis[i + 1] === 0x67 && vorbis[i + 2] === 0x67 && vorbis[i + 3] === 0x53) boundary = i;
    expect(checkOggStream(vorbis.subarray(0, boundary), 'cut.ogg')).toMatchObject({ endOfStream: false });
    const decoder = new RecordingDecoder();
    try {
      const cut = await decoder.decode(vorbis.subarray(0, boundary), 'cut.ogg');
      expect(cut.warnings).toEqual([expect.stringMatching(/cut\.ogg: Ogg stream has no end-of-stream page/)]);
      expect(cut.samples.length).toBeGreaterThan(0);
    } finally {
      decoder.dispose();
    }
    const flipped = vorbis.slice();
    flipped[flipped.length - 50] ^= 0x01;
    expect((await damaged(flipped)).message).toMatch(/checksum mismatch/);
    const padded = new Uint8Array(vorbis.length + 10);
    padded.set(vorbis);
    expect((await damaged(padded)).message).toMatch(/no page header/);
    expect((await damaged(new Uint8Array(0))).message).toMatch(/not an Ogg Vorbis/);
  });

  it('rejects a truncated WAV instead of importing half of it', async () => {
    const wav = toneWav(200);
    expect((await damaged(wav.subarray(0, wav.length - 1000))).message).toMatch(/claims/);
    expect((await damaged(new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '))).code).toBe(DAMAGED_AUDIO);
  });

  const ball = '/usr/share/ktuberling/sounds/en/ball.ogg';
  it.skipIf(!existsSync(ball))('decodes a real KTuberling recording (skipped when ktuberling-data is not installed)', async () => {
    const decoder = new RecordingDecoder();
    try {
      const bytes = new Uint8Array(readFileSync(ball));
      checkOggStream(bytes, ball);
      const recording = await decoder.decode(bytes, ball);
      expect(recording.format).toBe('vorbis');
      expect(recording.sampleRateHz).toBe(44100);
      expect(recording.samples.length / recording.sampleRateHz).toBeGreaterThan(0.5);
    } finally {
      decoder.dispose();
    }
  });
});
