// Seeded generator of malformed and hostile WAV files for the fuzz suite: every case is a name (what was done to
// the file, so a failure can be reproduced by name) and its bytes. Same seed, same cases.

import { wavHeader } from '../../src/audio/wav.js';
import { Rng } from '../../src/nn/module.js';

/** One fuzz input. */
export interface WavCase {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const FORMATS = [
  { bits: 8, float: false },
  { bits: 16, float: false },
  { bits: 24, float: false },
  { bits: 32, float: false },
  { bits: 32, float: true },
  { bits: 64, float: true },
] as const;

function writeTag(out: Uint8Array, at: number, tag: string): void {
  for (let i = 0; i < 4; i++) out[at + i] = tag.charCodeAt(i);
}

/** A chunk: 4-byte id, u32 size (may lie), body, pad byte when the body is odd. */
function chunk(id: string, body: Uint8Array, declaredSize = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  writeTag(out, 0, id);
  new DataView(out.buffer).setUint32(4, declaredSize >>> 0, true);
  out.set(body, 8);
  return out;
}

function riff(chunks: readonly Uint8Array[], type = 'WAVE', declaredSize?: number): Uint8Array {
  const size = chunks.reduce((n, c) => n + c.length, 4);
  const out = new Uint8Array(8 + size);
  writeTag(out, 0, 'RIFF');
  new DataView(out.buffer).setUint32(4, (declaredSize ?? size) >>> 0, true);
  writeTag(out, 8, type);
  let at = 12;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A 16-byte PCM/float fmt body (or 40-byte WAVE_FORMAT_EXTENSIBLE with `subFormat` and `mask`). */
function fmtBody(o: { channels: number; rate: number; bits: number; float: boolean; blockAlign?: number; formatTag?: number; extensible?: { subFormat: number; mask: number; validBits?: number } }): Uint8Array {
  const size = o.extensible ? 40 : 16;
  const body = new Uint8Array(size);
  const v = new DataView(body.buffer);
  const blockAlign = o.blockAlign ?? (o.channels * o.bits) / 8;
  v.setUint16(0, o.extensible ? 0xfffe : (o.formatTag ?? (o.float ? 3 : 1)), true);
  v.setUint16(2, o.channels & 0xffff, true);
  v.setUint32(4, o.rate >>> 0, true);
  v.setUint32(8, (o.rate * blockAlign) >>> 0, true);
  v.setUint16(12, blockAlign & 0xffff, true);
  v.setUint16(14, o.bits, true);
  if (o.extensible) {
    v.setUint16(16, 22, true);
    v.setUint16(18, o.extensible.validBits ?? o.bits, true);
    v.setUint32(20, o.extensible.mask >>> 0, true);
    v.setUint16(24, o.extensible.subFormat, true);
    // the rest of the KSDATAFORMAT GUID
    body.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return body;
}

/** Interleaved sample bytes of a sine at 220 Hz (`frames` × `channels`), in the given format; `poison` writes NaN/Inf. */
function dataBody(frames: number, channels: number, bits: number, float: boolean, rng: Rng, poison?: 'nan' | 'inf'): Uint8Array {
  const bytesPer = bits / 8;
  const body = new Uint8Array(frames * channels * bytesPer);
  const v = new DataView(body.buffer);
  for (let i = 0, at = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, at += bytesPer) {
      const x = 0.5 * Math.sin((2 * Math.PI * 220 * i) / 16000) + 0.01 * rng.normal();
      if (float) {
        const value = poison !== undefined && rng.uniform() < 0.05 ? (poison === 'nan' ? Number.NaN : Number.POSITIVE_INFINITY) : x;
        if (bits === 32) v.setFloat32(at, value, true);
        else v.setFloat64(at, value, true);
      } else if (bits === 8) v.setUint8(at, Math.round(128 + 127 * x));
      else if (bits === 16) v.setInt16(at, Math.round(32767 * x), true);
      else if (bits === 24) {
        const s = Math.round(8388607 * x);
        v.setUint8(at, s & 0xff);
        v.setUint8(at + 1, (s >> 8) & 0xff);
        v.setUint8(at + 2, (s >> 16) & 0xff);
      } else v.setInt32(at, Math.round(2147483647 * x), true);
    }
  }
  return body;
}

/** A well-formed file: `frames` of a sine at `rate` Hz. */
function validWav(rng: Rng, o: { channels: number; rate: number; bits: number; float: boolean; frames: number }): Uint8Array {
  return riff([chunk('fmt ', fmtBody(o)), chunk('data', dataBody(o.frames, o.channels, o.bits, o.float, rng))]);
}

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng.uniform() * list.length)]!;
}

/** At least `count` cases (about 2 000 by default), deterministic for `seed`. */
export function wavFuzzCases(seed = 20261207, count = 2000): WavCase[] {
  const rng = new Rng(seed);
  const cases: WavCase[] = [];
  const add = (name: string, bytes: Uint8Array): void => void cases.push({ name: `${cases.length}:${name}`, bytes });
  const base = (): { bytes: Uint8Array; desc: string } => {
    const f = pick(rng, FORMATS);
    const channels = pick(rng, [1, 1, 2, 3, 6]);
    const rate = pick(rng, [8000, 16000, 22050, 44100, 48000]);
    const frames = 1 + Math.floor(rng.uniform() * (rng.uniform() < 0.3 ? 24000 : 1600)); // some long enough to convert (≥ 0.25 s)
    return { bytes: validWav(rng, { channels, rate, bits: f.bits, float: f.float, frames }), desc: `${f.bits}-bit ${f.float ? 'float' : 'PCM'} ${channels} ch ${rate} Hz ${frames} frames` };
  };

  // Fixed corner cases first.
  add('empty', new Uint8Array(0));
  add('one byte', new Uint8Array([0x52]));
  add('RIFF only', new TextEncoder().encode('RIFF'));
  add('RIFX', riff([], 'WAVE').map((b, i) => (i === 3 ? 0x58 : b)));
  add('RF64 tag', new TextEncoder().encode('RF64\0\0\0\0WAVEfmt '));
  add('RIFF of AVI', riff([], 'AVI '));
  add('text file', new TextEncoder().encode('hello, this is not audio at all\n'.repeat(10)));
  add('1 sample 16-bit', validWav(rng, { channels: 1, rate: 16000, bits: 16, float: false, frames: 1 }));
  add('0 frames', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('data', new Uint8Array(0))]));
  add('0 channels', riff([chunk('fmt ', fmtBody({ channels: 0, rate: 16000, bits: 16, float: false, blockAlign: 0 })), chunk('data', new Uint8Array(64))]));
  add('65535 channels', riff([chunk('fmt ', fmtBody({ channels: 65535, rate: 16000, bits: 16, float: false, blockAlign: (65535 * 2) & 0xffff })), chunk('data', new Uint8Array(4096))]));
  add('65535 channels, 8-bit, 2 frames', riff([chunk('fmt ', fmtBody({ channels: 65535, rate: 8000, bits: 8, float: false })), chunk('data', new Uint8Array(2 * 65535).fill(128))]));
  for (const rate of [0, 1, 3999, 384001, 4_000_000_000, 0xffffffff]) add(`rate ${rate} Hz`, riff([chunk('fmt ', fmtBody({ channels: 1, rate, bits: 16, float: false })), chunk('data', new Uint8Array(64))]));
  // One hour of 8 kHz 8-bit silence (29 MB): refused by length before anything is decoded.
  add('1 hour of silence', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 8000, bits: 8, float: false })), chunk('data', new Uint8Array(3600 * 8000).fill(128))]));
  add('data claims 4 GiB', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('data', dataBody(100, 1, 16, false, rng), 0xfffffff0)]));
  add('streaming size 0xFFFFFFFF', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('data', dataBody(100, 1, 16, false, rng), 0xffffffff)]));
  add('no fmt', riff([chunk('data', dataBody(100, 1, 16, false, rng))]));
  add('no data', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false }))]));
  add('data before fmt', riff([chunk('data', dataBody(100, 1, 16, false, rng)), chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false }))]));
  add('two fmt chunks', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('fmt ', fmtBody({ channels: 2, rate: 8000, bits: 8, float: false })), chunk('data', dataBody(100, 1, 16, false, rng))]));
  add('two data chunks', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('data', dataBody(100, 1, 16, false, rng)), chunk('data', dataBody(50, 1, 16, false, rng))]));
  add('fmt size 0', riff([chunk('fmt ', new Uint8Array(0)), chunk('data', dataBody(100, 1, 16, false, rng))]));
  add('fmt size 15', riff([chunk('fmt ', new Uint8Array(15)), chunk('data', dataBody(100, 1, 16, false, rng))]));
  add('fmt claims 4 GiB', riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false }), 0xfffffff0)]));
  add('odd LIST chunk before fmt', riff([chunk('LIST', new Uint8Array(7).fill(65)), chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false })), chunk('data', dataBody(101, 1, 16, false, rng))]));

  const families: ((i: number) => void)[] = [
    // valid files of every format: must decode
    () => {
      const b = base();
      add(`valid ${b.desc}`, b.bytes);
    },
    // truncated anywhere
    () => {
      const b = base();
      const at = Math.floor(rng.uniform() * b.bytes.length);
      add(`truncated at ${at}/${b.bytes.length} of ${b.desc}`, b.bytes.slice(0, at));
    },
    // truncated inside the header
    () => {
      const b = base();
      const at = Math.floor(rng.uniform() * 48);
      add(`header truncated at ${at} of ${b.desc}`, b.bytes.slice(0, at));
    },
    // random bit flips
    () => {
      const b = base();
      const bytes = b.bytes.slice();
      const flips = 1 + Math.floor(rng.uniform() * 8);
      for (let k = 0; k < flips; k++) {
        const at = rng.uniform() < 0.7 ? Math.floor(rng.uniform() * Math.min(48, bytes.length)) : Math.floor(rng.uniform() * bytes.length);
        bytes[at]! ^= 1 << Math.floor(rng.uniform() * 8);
      }
      add(`${flips} bit flips in ${b.desc}`, bytes);
    },
    // random 32-bit values over a header field
    () => {
      const b = base();
      const bytes = b.bytes.slice();
      const field = pick(rng, [4, 16, 20, 22, 24, 28, 32, 34, 40]);
      const value = pick(rng, [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, Math.floor(rng.uniform() * 0xffffffff)]);
      if (field + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(field, value >>> 0, true);
      add(`u32 ${value} at byte ${field} of ${b.desc}`, bytes);
    },
    // lying chunk sizes
    () => {
      const f = pick(rng, FORMATS);
      const frames = 1 + Math.floor(rng.uniform() * 400);
      const declared = pick(rng, [0, 1, frames, frames * 3 + 1, 0x7fffffff, 0xfffffff0, Math.floor(rng.uniform() * 0xffffffff)]);
      const riffSize = pick(rng, [undefined, 0, 4, 0xffffffff]);
      add(`data declares ${declared} bytes, riff ${String(riffSize)}, ${f.bits}-bit`, riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: f.bits, float: f.float })), chunk('data', dataBody(frames, 1, f.bits, f.float, rng), declared)], 'WAVE', riffSize));
    },
    // bad channel counts and block aligns
    () => {
      const channels = pick(rng, [0, 1, 2, 7, 255, 256, 4096, 65535]);
      const f = pick(rng, FORMATS);
      const blockAlign = pick(rng, [undefined, 0, 1, 3, 65535]);
      const frames = 1 + Math.floor(rng.uniform() * 8);
      const bytes = Math.min(1 << 20, frames * Math.max(1, channels) * (f.bits / 8));
      add(`${channels} channels, block align ${String(blockAlign)}, ${f.bits}-bit`, riff([chunk('fmt ', fmtBody({ channels, rate: 16000, bits: f.bits, float: f.float, ...(blockAlign !== undefined ? { blockAlign } : {}) })), chunk('data', new Uint8Array(bytes))]));
    },
    // odd bit depths and format tags
    () => {
      const bits = pick(rng, [0, 1, 4, 12, 20, 40, 48, 128]);
      const formatTag = pick(rng, [0, 1, 2, 3, 6, 7, 0x11, 0x55, 0xffff]);
      add(`format 0x${formatTag.toString(16)} ${bits}-bit`, riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits, float: false, formatTag, blockAlign: Math.max(1, bits >> 3) })), chunk('data', new Uint8Array(64))]));
    },
    // NaN / Inf floats
    () => {
      const bits = pick(rng, [32, 64]);
      const poison = pick(rng, ['nan', 'inf'] as const);
      add(`${poison} in ${bits}-bit float`, riff([chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits, float: true })), chunk('data', dataBody(200, 1, bits, true, rng, poison))]));
    },
    // extensible with odd masks and sub-formats
    () => {
      const f = pick(rng, FORMATS);
      const subFormat = pick(rng, [1, 3, 2, 0, 0xffff]);
      const mask = pick(rng, [0, 1, 3, 0x3f, 0xffffffff, 0x80000000]);
      const channels = pick(rng, [1, 2, 6]);
      const validBits = pick(rng, [undefined, 0, 12, f.bits, 255]);
      add(`extensible sub-format ${subFormat} mask 0x${mask.toString(16)} ${channels} ch ${f.bits}-bit`, riff([chunk('fmt ', fmtBody({ channels, rate: 22050, bits: f.bits, float: f.float, extensible: { subFormat, mask, ...(validBits !== undefined ? { validBits } : {}) } })), chunk('data', dataBody(300, channels, f.bits, f.float, rng))]));
    },
    // extensible fmt chunk cut short
    () => {
      const size = pick(rng, [16, 18, 24, 39]);
      const body = fmtBody({ channels: 2, rate: 22050, bits: 16, float: false, extensible: { subFormat: 1, mask: 3 } }).slice(0, size);
      add(`extensible fmt of ${size} bytes`, riff([chunk('fmt ', body), chunk('data', dataBody(100, 2, 16, false, rng))]));
    },
    // chunk soup: duplicated, missing, reordered, junk
    () => {
      const fmt = chunk('fmt ', fmtBody({ channels: 1, rate: 16000, bits: 16, float: false }));
      const data = chunk('data', dataBody(120, 1, 16, false, rng));
      const junk = (): Uint8Array => chunk(pick(rng, ['LIST', 'fact', 'cue ', 'JUNK', 'bext', '\0\0\0\0']), new Uint8Array(Math.floor(rng.uniform() * 33)).fill(7));
      const parts: Uint8Array[] = [];
      const n = 1 + Math.floor(rng.uniform() * 5);
      for (let k = 0; k < n; k++) parts.push(pick(rng, [fmt, data, junk(), junk()]));
      add(`chunks ${parts.map((p) => String.fromCharCode(...p.subarray(0, 4)).trim() || 'nul').join(',')}`, riff(parts));
    },
  ];
  for (let i = 0; cases.length < count; i++) families[i % families.length]!(i);
  return cases;
}
