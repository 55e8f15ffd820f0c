import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { InvalidAudioError, TimbreInputError } from '../../src/audio/errors.js';

/** Independent WAV writer for fixtures: integer or float sample values, interleaved, written byte by byte. */
function makeWav(opts: {
  format?: number;
  channels?: number;
  rateHz?: number;
  bits: number;
  values: number[]; // interleaved raw sample values (ints for PCM, floats for float)
  extensible?: boolean;
  claimDataBytes?: number;
  extraChunk?: boolean;
}): Uint8Array {
  const channels = opts.channels ?? 1;
  const rateHz = opts.rateHz ?? 8000;
  const format = opts.format ?? 1;
  const bytesPer = opts.bits / 8;
  const data: number[] = [];
  const dv = new DataView(new ArrayBuffer(8));
  for (const v of opts.values) {
    if (format === 3 && opts.bits === 32) {
      dv.setFloat32(0, v, true);
      for (let i = 0; i < 4; i++) data.push(dv.getUint8(i));
    } else if (format === 3 && opts.bits === 64) {
      dv.setFloat64(0, v, true);
      for (let i = 0; i < 8; i++) data.push(dv.getUint8(i));
    } else if (opts.bits === 8) data.push(v + 128);
    else for (let i = 0; i < bytesPer; i++) data.push((v >> (8 * i)) & 0xff);
  }
  const u32 = (x: number) => [x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, (x >>> 24) & 0xff];
  const u16 = (x: number) => [x & 0xff, (x >> 8) & 0xff];
  const str = (s: string) => [...s].map((c) => c.charCodeAt(0));
  const fmtBody = [
    ...u16(opts.extensible ? 0xfffe : format),
    ...u16(channels),
    ...u32(rateHz),
    ...u32(rateHz * channels * bytesPer),
    ...u16(channels * bytesPer),
    ...u16(opts.bits),
  ];
  if (opts.extensible) {
    fmtBody.push(...u16(22), ...u16(opts.bits), ...u32(0), ...u16(format), 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71);
  }
  const chunks = [...str('fmt '), ...u32(fmtBody.length), ...fmtBody];
  if (opts.extraChunk) chunks.push(...str('LIST'), ...u32(3), 1, 2, 3, 0); // odd size + pad byte
  chunks.push(...str('data'), ...u32(opts.claimDataBytes ?? data.length), ...data);
  return Uint8Array.from([...str('RIFF'), ...u32(4 + chunks.length), ...str('WAVE'), ...chunks]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidAudioError);
    expect(e).toBeInstanceOf(TimbreInputError);
    return (e as InvalidAudioError).code;
  }
  throw new Error('expected an InvalidAudioError');
}

describe('decodeWav', () => {
  it('decodes 8-bit unsigned PCM', () => {
    const out = decodeWav(makeWav({ bits: 8, values: [0, 127, -128, 64] }));
    expect(out.bitDepth).toBe(8);
    expect(Array.from(out.samples)).toEqual([0, 1, -1, 64 / 127].map(Math.fround));
  });

  it('decodes 16-bit PCM with full-scale extremes', () => {
    const out = decodeWav(makeWav({ bits: 16, values: [0, 32767, -32768, 16384] }));
    expect(out.samples[1]).toBe(1);
    expect(out.samples[2]).toBe(-1);
    expect(out.samples[3]).toBeCloseTo(0.5, 4);
    expect(out).toMatchObject({ sampleRateHz: 8000, channels: 1, sampleFormat: 'pcm', durationSeconds: 4 / 8000 });
  });

  it('decodes 24-bit PCM including negative full scale (node-wav maps it to +1)', () => {
    const out = decodeWav(makeWav({ bits: 24, values: [8388607, -8388608, -4194304, 1] }));
    expect(out.samples[0]).toBe(1);
    expect(out.samples[1]).toBe(-1);
    expect(out.samples[2]).toBe(-0.5);
    expect(out.samples[3]).toBeCloseTo(1 / 8388607, 10);
  });

  it('decodes 32-bit PCM', () => {
    const out = decodeWav(makeWav({ bits: 32, values: [2147483647, -2147483648, -1073741824] }));
    expect(Array.from(out.samples)).toEqual([1, -1, -0.5]);
  });

  it('decodes 32-bit and 64-bit float', () => {
    expect(Array.from(decodeWav(makeWav({ format: 3, bits: 32, values: [0.25, -0.75] })).samples)).toEqual([0.25, -0.75]);
    const f64 = decodeWav(makeWav({ format: 3, bits: 64, values: [0.125, -0.5] }));
    expect(f64.sampleFormat).toBe('float');
    expect(Array.from(f64.samples)).toEqual([0.125, -0.5]);
  });

  it('mixes stereo to mono by averaging the channels', () => {
    const out = decodeWav(makeWav({ bits: 16, channels: 2, values: [16384, -16384, 32767, 32767, 0, 16384] }));
    expect(out.channels).toBe(2);
    expect(out.samples.length).toBe(3);
    expect(out.samples[0]).toBeCloseTo(0, 4); // ±16384 scale by 32767 and 32768 respectively
    expect(out.samples[1]).toBeCloseTo(1, 6);
    expect(out.samples[2]).toBeCloseTo(0.25, 4);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE files and skips odd-sized unknown chunks', () => {
    const out = decodeWav(makeWav({ bits: 16, values: [32767, -32768], extensible: true, extraChunk: true }));
    expect(Array.from(out.samples)).toEqual([1, -1]);
  });

  it('decodes bytes that are a view at an odd offset into a larger buffer', () => {
    const wav = makeWav({ bits: 16, values: [32767, -32768, 0] });
    const big = new Uint8Array(wav.length + 3);
    big.set(wav, 1);
    expect(Array.from(decodeWav(big.subarray(1, 1 + wav.length)).samples)).toEqual([1, -1, 0]);
  });

  it('decodes what is present, with a warning, when the data chunk claims more bytes than the file holds', () => {
    const out = decodeWav(makeWav({ bits: 16, values: [32767, 0, -32768], claimDataBytes: 1000 }), { sourceName: 'cut.wav' });
    expect(out.samples.length).toBe(3);
    expect(out.warnings.some((w) => w.includes('cut.wav') && w.includes('claims 1000 bytes'))).toBe(true);
  });

  it('accepts the streaming placeholder size 0xFFFFFFFF without a warning', () => {
    const out = decodeWav(makeWav({ bits: 16, values: [32767, 0, -32768], claimDataBytes: 0xffffffff }));
    expect(out.samples.length).toBe(3);
    expect(out.warnings).toEqual([]);
  });

  it('warns, and does not refuse, when the audio is silent', () => {
    const out = decodeWav(makeWav({ bits: 16, values: [0, 1, -1, 0] }), { sourceName: 'quiet.wav' });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/quiet\.wav: .*silent/);
  });

  it('clips float samples beyond ±1 with a warning', () => {
    const out = decodeWav(makeWav({ format: 3, bits: 32, values: [1.5, -2, 0.5] }));
    expect(Array.from(out.samples)).toEqual([1, -1, 0.5]);
    expect(out.warnings.some((w) => w.includes('2 float samples'))).toBe(true);
  });

  it('refuses empty bytes', () => {
    expect(codeOf(() => decodeWav(new Uint8Array(0)))).toBe('EMPTY_FILE');
  });

  it('refuses a text file, naming the source', () => {
    const text = new TextEncoder().encode('hello, this is not audio at all');
    expect(() => decodeWav(text, { sourceName: '/tmp/x.wav' })).toThrow('/tmp/x.wav: not a WAV file (no RIFF header)');
    expect(codeOf(() => decodeWav(text))).toBe('NOT_WAV');
  });

  it('refuses a RIFF file that is not WAVE', () => {
    const avi = makeWav({ bits: 16, values: [0] });
    avi.set([65, 86, 73, 32], 8); // "AVI "
    expect(codeOf(() => decodeWav(avi))).toBe('NOT_WAV');
  });

  it('refuses a truncated header', () => {
    const wav = makeWav({ bits: 16, values: [1, 2, 3] });
    expect(codeOf(() => decodeWav(wav.subarray(0, 10)))).toBe('CORRUPT_HEADER');
    expect(codeOf(() => decodeWav(wav.subarray(0, 30)))).toBe('CORRUPT_HEADER');
  });

  it('refuses a header whose block align contradicts its channels and bit depth', () => {
    const wav = makeWav({ bits: 16, values: [1, 2, 3] });
    wav[32] = 3;
    expect(codeOf(() => decodeWav(wav))).toBe('CORRUPT_HEADER');
  });

  it('refuses compressed and unusual encodings as unsupported', () => {
    expect(() => decodeWav(makeWav({ format: 7, bits: 8, values: [1, 2] }))).toThrow(/µ-law/);
    expect(codeOf(() => decodeWav(makeWav({ format: 7, bits: 8, values: [1, 2] })))).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf(() => decodeWav(makeWav({ format: 3, bits: 16, values: [1, 2] })))).toBe('UNSUPPORTED_FORMAT');
  });

  it('refuses a zero-length data chunk', () => {
    expect(codeOf(() => decodeWav(makeWav({ bits: 16, values: [] })))).toBe('EMPTY_AUDIO');
  });

  it('refuses NaN and infinite float samples', () => {
    expect(codeOf(() => decodeWav(makeWav({ format: 3, bits: 32, values: [0.1, Number.NaN, 0.2] })))).toBe('NON_FINITE_SAMPLES');
    expect(codeOf(() => decodeWav(makeWav({ format: 3, bits: 32, values: [Number.POSITIVE_INFINITY] })))).toBe('NON_FINITE_SAMPLES');
  });

  it('refuses absurd sample rates', () => {
    expect(codeOf(() => decodeWav(makeWav({ bits: 16, rateHz: 1000, values: [1] })))).toBe('BAD_SAMPLE_RATE');
    expect(codeOf(() => decodeWav(makeWav({ bits: 16, rateHz: 500000, values: [1] })))).toBe('BAD_SAMPLE_RATE');
  });

  it('refuses audio longer than the limit, before decoding it', () => {
    const wav = makeWav({ bits: 16, rateHz: 8000, values: new Array(8000 * 3).fill(100) });
    expect(codeOf(() => decodeWav(wav, { maxDurationSeconds: 2 }))).toBe('TOO_LONG');
    expect(decodeWav(wav, { maxDurationSeconds: 3 }).durationSeconds).toBe(3);
  });
});

describe('encodeWav', () => {
  const ramp = Float32Array.from({ length: 101 }, (_, i) => -1 + i / 50);

  for (const [bitDepth, tolerance] of [
    [16, 1 / 32767],
    [24, 1 / 8388607],
    [32, 1e-7],
  ] as const) {
    it(`round-trips ${bitDepth}-bit PCM within half a step`, () => {
      const bytes = encodeWav(ramp, 22050, { bitDepth });
      expect(bytes.length).toBe(44 + ramp.length * (bitDepth / 8) + ((ramp.length * (bitDepth / 8)) & 1));
      const back = decodeWav(bytes);
      expect(back).toMatchObject({ bitDepth, sampleRateHz: 22050, sampleFormat: 'pcm', channels: 1 });
      for (let i = 0; i < ramp.length; i++) expect(Math.abs(back.samples[i] - ramp[i])).toBeLessThanOrEqual(tolerance);
    });
  }

  it('round-trips 32-bit float exactly', () => {
    const back = decodeWav(encodeWav(ramp, 44100, { float: true }));
    expect(back.sampleFormat).toBe('float');
    expect(Array.from(back.samples)).toEqual(Array.from(ramp));
  });

  it('writes 16-bit PCM by default with a standard 44-byte header', () => {
    const bytes = encodeWav(new Float32Array([0, 1, -1]), 16000);
    const v = new DataView(bytes.buffer);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('RIFF');
    expect(v.getUint16(34, true)).toBe(16);
    expect(v.getUint32(24, true)).toBe(16000);
    expect([v.getInt16(44, true), v.getInt16(46, true), v.getInt16(48, true)]).toEqual([0, 32767, -32768]);
  });

  it('clamps out-of-range samples and writes NaN as 0', () => {
    const back = decodeWav(encodeWav(new Float32Array([2, -3, Number.NaN, 0.5]), 8000));
    expect(back.samples[0]).toBe(1);
    expect(back.samples[1]).toBe(-1);
    expect(back.samples[2]).toBe(0);
  });

  it('does not modify its input', () => {
    const input = new Float32Array([2, -3, 0.5]);
    encodeWav(input, 8000);
    expect(Array.from(input)).toEqual([2, -3, 0.5]);
  });

  it('rejects an unsupported bit depth', () => {
    expect(() => encodeWav(ramp, 8000, { bitDepth: 8 as 16 })).toThrow(/bitDepth/);
  });
});
