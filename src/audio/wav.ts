// WAV bytes ⇄ mono Float32Array: decoding with validation that names what is wrong, and encoding for export.
// Takes and returns bytes only (no node:*), so the browser build uses the same code.

import nodeWav from 'node-wav';
import { InvalidArgumentError, InvalidAudioError } from './errors.js';
import { peakDb } from './levels.js';
import { checkFloat32Array, checkInteger, checkNumber } from './validate.js';

/** Decoded WAV, mixed to mono; `warnings` holds non-fatal problems (silence, truncation, clipped floats). */
export interface DecodedAudio {
  samples: Float32Array; // mono, [-1, 1]
  sampleRateHz: number;
  channels: number;
  bitDepth: number;
  sampleFormat: 'pcm' | 'float';
  durationSeconds: number;
  warnings: string[];
}

/** Options of `decodeWav`. */
export interface DecodeWavOptions {
  /** Name used in messages (a path); default "WAV data". */
  sourceName?: string;
  /** Longest accepted duration, seconds; default 600. */
  maxDurationSeconds?: number;
}

/** Options of `encodeWav`: 16-bit PCM unless said otherwise; `float` writes 32-bit IEEE float. */
export interface EncodeWavOptions {
  bitDepth?: 16 | 24 | 32;
  float?: boolean;
}

/** `code`s of the InvalidAudioError thrown by `decodeWav`. */
export const WAV_ERROR_CODES = Object.freeze({
  empty: 'EMPTY_FILE',
  notWav: 'NOT_WAV',
  corruptHeader: 'CORRUPT_HEADER',
  unsupportedFormat: 'UNSUPPORTED_FORMAT',
  emptyData: 'EMPTY_AUDIO',
  nonFinite: 'NON_FINITE_SAMPLES',
  badSampleRate: 'BAD_SAMPLE_RATE',
  tooLong: 'TOO_LONG',
} as const);

/** Lowest accepted sample rate, Hz. */
export const MIN_SAMPLE_RATE_HZ = 4000;
/** Highest accepted sample rate, Hz. */
export const MAX_SAMPLE_RATE_HZ = 384000;
/** Default longest accepted input, seconds. */
export const DEFAULT_MAX_DURATION_SECONDS = 600;
/** Inputs whose peak is below this level, dBFS, get a silence warning. */
export const SILENCE_PEAK_DB = -60;

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MP3',
};

interface WavLayout {
  formatTag: number;
  channels: number;
  sampleRateHz: number;
  blockAlign: number;
  bitDepth: number;
  float: boolean;
  dataOffset: number;
  /** Bytes of whole sample frames actually present. */
  dataBytes: number;
  warnings: string[];
}

/**
 * Decodes a WAV file's bytes (8/16/24/32-bit PCM, 32/64-bit float, any channel count) to mono [-1, 1].
 * PCM scales as node-wav does (negative / 2^(b−1), positive / (2^(b−1) − 1)), so both full-scale codes map to exactly ±1.
 * A data chunk that claims more bytes than present is decoded as far as it goes, with a warning.
 */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): DecodedAudio {
  const name = options.sourceName ?? 'WAV data';
  const maxDurationSeconds = options.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS;
  checkNumber('maxDurationSeconds', maxDurationSeconds, 0);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${name}: WAV input must be a Uint8Array of bytes`);
  const layout = parseLayout(bytes, name);
  const frames = layout.dataBytes / layout.blockAlign;
  const durationSeconds = frames / layout.sampleRateHz;
  if (durationSeconds > maxDurationSeconds) {
    throw new InvalidAudioError(
      `${name}: ${durationSeconds.toFixed(1)} s long, over the ${maxDurationSeconds} s limit (cut it into shorter files)`,
      WAV_ERROR_CODES.tooLong,
    );
  }
  const channelData = decodeChannels(bytes, layout);
  const warnings = layout.warnings;
  const samples = mixToMono(channelData, frames, layout, name, warnings);
  if (peakDb(samples) < SILENCE_PEAK_DB) {
    warnings.push(`${name}: audio is silent or nearly so (peak below ${SILENCE_PEAK_DB} dBFS)`);
  }
  return {
    samples,
    sampleRateHz: layout.sampleRateHz,
    channels: layout.channels,
    bitDepth: layout.bitDepth,
    sampleFormat: layout.float ? 'float' : 'pcm',
    durationSeconds,
    warnings,
  };
}

function parseLayout(bytes: Uint8Array, name: string): WavLayout {
  const C = WAV_ERROR_CODES;
  if (bytes.length === 0) throw new InvalidAudioError(`${name}: empty (0 bytes), not a WAV file`, C.empty);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 12) {
    if (bytes.length >= 4 && tag(0) === 'RIFF') throw new InvalidAudioError(`${name}: truncated WAV header (${bytes.length} bytes)`, C.corruptHeader);
    throw new InvalidAudioError(`${name}: not a WAV file (${bytes.length} bytes, no RIFF header)`, C.notWav);
  }
  const riff = tag(0);
  if (riff === 'RF64' || riff === 'RIFX') {
    throw new InvalidAudioError(`${name}: ${riff} WAV files are not supported (save it as a standard little-endian RIFF WAV)`, C.unsupportedFormat);
  }
  if (riff !== 'RIFF') throw new InvalidAudioError(`${name}: not a WAV file (no RIFF header)`, C.notWav);
  if (tag(8) !== 'WAVE') throw new InvalidAudioError(`${name}: not a WAV file (RIFF type is "${printable(tag(8))}", not WAVE)`, C.notWav);

  const warnings: string[] = [];
  let fmt: { offset: number; size: number } | undefined;
  let data: { offset: number; size: number } | undefined;
  let pos = 12;
  // Chunks may come in any order and are padded to even sizes; unknown chunks (LIST, fact, cue) are skipped.
  while (pos + 8 <= bytes.length) {
    const id = tag(pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ' && fmt === undefined) fmt = { offset: body, size };
    else if (id === 'data' && data === undefined) data = { offset: body, size };
    if (data !== undefined && fmt !== undefined) break;
    pos = body + size + (size & 1);
  }
  if (fmt === undefined) {
    throw new InvalidAudioError(`${name}: corrupt WAV header (no "fmt " chunk${data ? ' before the end of the file' : ''})`, C.corruptHeader);
  }
  if (fmt.size < 16 || fmt.offset + 16 > bytes.length) {
    throw new InvalidAudioError(`${name}: corrupt WAV header ("fmt " chunk is ${Math.min(fmt.size, bytes.length - fmt.offset)} bytes, needs 16)`, C.corruptHeader);
  }
  let formatTag = view.getUint16(fmt.offset, true);
  const channels = view.getUint16(fmt.offset + 2, true);
  const sampleRateHz = view.getUint32(fmt.offset + 4, true);
  const blockAlign = view.getUint16(fmt.offset + 12, true);
  const bitDepth = view.getUint16(fmt.offset + 14, true);
  if (formatTag === FORMAT_EXTENSIBLE) {
    if (fmt.size < 40 || fmt.offset + 40 > bytes.length) {
      throw new InvalidAudioError(`${name}: corrupt WAV header (WAVE_FORMAT_EXTENSIBLE "fmt " chunk shorter than 40 bytes)`, C.corruptHeader);
    }
    formatTag = view.getUint16(fmt.offset + 24, true); // first two bytes of the SubFormat GUID
  }
  if (formatTag !== FORMAT_PCM && formatTag !== FORMAT_FLOAT) {
    const known = FORMAT_NAMES[formatTag];
    throw new InvalidAudioError(
      `${name}: unsupported WAV encoding ${known ?? `format 0x${formatTag.toString(16).padStart(4, '0')}`} (only PCM and IEEE float; convert it to 16-bit PCM WAV)`,
      C.unsupportedFormat,
    );
  }
  const float = formatTag === FORMAT_FLOAT;
  if (channels === 0) throw new InvalidAudioError(`${name}: corrupt WAV header (0 channels)`, C.corruptHeader);
  const supported = float ? bitDepth === 32 || bitDepth === 64 : bitDepth === 8 || bitDepth === 16 || bitDepth === 24 || bitDepth === 32;
  if (!supported) {
    throw new InvalidAudioError(
      `${name}: unsupported WAV sample format ${bitDepth}-bit ${float ? 'float' : 'PCM'} (supported: 8/16/24/32-bit PCM, 32/64-bit float)`,
      C.unsupportedFormat,
    );
  }
  if (blockAlign !== channels * (bitDepth / 8)) {
    throw new InvalidAudioError(
      `${name}: corrupt WAV header (block align ${blockAlign} bytes, expected ${channels} channels × ${bitDepth / 8} bytes = ${channels * (bitDepth / 8)})`,
      C.corruptHeader,
    );
  }
  if (sampleRateHz < MIN_SAMPLE_RATE_HZ || sampleRateHz > MAX_SAMPLE_RATE_HZ) {
    throw new InvalidAudioError(
      `${name}: sample rate ${sampleRateHz} Hz is outside ${MIN_SAMPLE_RATE_HZ}–${MAX_SAMPLE_RATE_HZ} Hz`,
      C.badSampleRate,
    );
  }
  if (data === undefined) throw new InvalidAudioError(`${name}: corrupt WAV file (no "data" chunk)`, C.corruptHeader);
  const present = Math.max(0, bytes.length - data.offset);
  let dataBytes = data.size;
  if (data.size > present) {
    dataBytes = present;
    // Streaming writers (espeak-ng --stdout, sox -) leave 0xFFFFFFFF or similar as the size: not worth a warning.
    if (data.size < 0x7fff0000) {
      warnings.push(`${name}: WAV data chunk claims ${data.size} bytes but only ${present} are present; decoded what is there`);
    }
  }
  const whole = dataBytes - (dataBytes % blockAlign);
  if (whole !== dataBytes && data.size <= present) {
    warnings.push(`${name}: WAV data chunk ends with ${dataBytes - whole} bytes of a partial sample frame; ignored`);
  }
  if (whole === 0) throw new InvalidAudioError(`${name}: WAV file holds no audio (data chunk is empty)`, C.emptyData);
  return { formatTag, channels, sampleRateHz, blockAlign, bitDepth, float, dataOffset: data.offset, dataBytes: whole, warnings };
}

/**
 * Per-channel samples. node-wav converts the data once we hand it a canonical 44-byte header and an aligned copy of
 * the data: on raw files it mis-reads byte offsets of sliced buffers, throws on odd (unaligned) data offsets, knows no
 * WAVE_FORMAT_EXTENSIBLE and reads past a truncated chunk. Its 24-bit decoder maps −8388608 to +1 and its 64-bit
 * float decoder needs an 8-byte aligned data offset that a 44-byte header cannot give, so those two are ours.
 */
function decodeChannels(bytes: Uint8Array, layout: WavLayout): Float32Array[] {
  const frames = layout.dataBytes / layout.blockAlign;
  const data = bytes.subarray(layout.dataOffset, layout.dataOffset + layout.dataBytes);
  if (layout.bitDepth === 24) return decodePcm24(data, layout.channels, frames);
  if (layout.bitDepth === 64) return decodeFloat64(data, layout.channels, frames);
  const canonical = new Uint8Array(44 + layout.dataBytes);
  canonical.set(wavHeader(layout.channels, layout.sampleRateHz, layout.bitDepth, layout.float, layout.dataBytes), 0);
  canonical.set(data, 44);
  return nodeWav.decode(canonical).channelData;
}

function decodePcm24(data: Uint8Array, channels: number, frames: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) out.push(new Float32Array(frames));
  let pos = 0;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const v = (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16)) << 8 >> 8; // sign-extend 24 → 32 bits
      out[c][i] = v < 0 ? v / 8388608 : v / 8388607;
      pos += 3;
    }
  }
  return out;
}

function decodeFloat64(data: Uint8Array, channels: number, frames: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) out.push(new Float32Array(frames));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0, pos = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, pos += 8) out[c][i] = view.getFloat64(pos, true);
  }
  return out;
}

function mixToMono(channelData: Float32Array[], frames: number, layout: WavLayout, name: string, warnings: string[]): Float32Array {
  const channels = channelData.length;
  const out = new Float32Array(frames);
  const scale = 1 / channels;
  let nonFinite = 0;
  let firstBad = -1;
  let clipped = 0;
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += channelData[c][i];
    let v = acc * scale;
    if (!Number.isFinite(v)) {
      if (firstBad < 0) firstBad = i;
      nonFinite++;
      v = 0;
    } else if (v > 1 || v < -1) {
      if (layout.float) clipped++;
      v = v > 1 ? 1 : -1;
    }
    out[i] = v;
  }
  if (nonFinite > 0) {
    throw new InvalidAudioError(
      `${name}: ${nonFinite} samples are NaN or infinite (first at ${(firstBad / layout.sampleRateHz).toFixed(3)} s); the file is corrupt`,
      WAV_ERROR_CODES.nonFinite,
    );
  }
  if (clipped > 0) warnings.push(`${name}: ${clipped} float samples beyond ±1 were clipped to full scale`);
  return out;
}

/** 44-byte canonical RIFF/WAVE header (PCM or IEEE float) for `dataBytes` bytes of interleaved samples. */
export function wavHeader(channels: number, sampleRateHz: number, bitDepth: number, float: boolean, dataBytes: number): Uint8Array {
  const header = new Uint8Array(44);
  const v = new DataView(header.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) header[at + i] = s.charCodeAt(i);
  };
  const blockAlign = channels * (bitDepth / 8);
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes + (dataBytes & 1), true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, float ? FORMAT_FLOAT : FORMAT_PCM, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRateHz, true);
  v.setUint32(28, sampleRateHz * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bitDepth, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return header;
}

/**
 * Mono WAV bytes of `samples` (clamped to [-1, 1], NaN written as 0), 16-bit PCM by default.
 * Hand-written: node-wav's encoder returns a Node Buffer made by the deprecated `Buffer()` call (no browser, DEP0005
 * warning) and truncates instead of rounding.
 */
export function encodeWav(samples: Float32Array, sampleRateHz: number, options: EncodeWavOptions = {}): Uint8Array {
  checkFloat32Array('samples', samples);
  checkInteger('sampleRateHz', sampleRateHz, 1, 0xffffffff);
  const float = options.float ?? false;
  const bitDepth = options.bitDepth ?? (float ? 32 : 16);
  if (float ? bitDepth !== 32 : bitDepth !== 16 && bitDepth !== 24 && bitDepth !== 32) {
    throw new InvalidArgumentError(`bitDepth must be ${float ? '32 for float WAV' : '16, 24 or 32'}, got ${String(bitDepth)}`);
  }
  const bytesPerSample = bitDepth / 8;
  const dataBytes = samples.length * bytesPerSample;
  if (dataBytes + 44 > 0xffffffff) throw new InvalidArgumentError(`audio too long for a WAV file (${dataBytes} bytes of data, limit 4 GiB)`);
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  out.set(wavHeader(1, sampleRateHz, bitDepth, float, dataBytes), 0);
  const view = new DataView(out.buffer, 44);
  // Same asymmetric scale as the decoders (negative × 2^(b−1), positive × (2^(b−1) − 1)), so round trips are exact.
  for (let i = 0; i < samples.length; i++) {
    let x = samples[i];
    x = x > 1 ? 1 : x < -1 ? -1 : x === x ? x : 0;
    const at = i * bytesPerSample;
    if (float) view.setFloat32(at, x, true);
    else if (bitDepth === 16) view.setInt16(at, Math.round(x < 0 ? x * 32768 : x * 32767), true);
    else if (bitDepth === 32) view.setInt32(at, Math.round(x < 0 ? x * 2147483648 : x * 2147483647), true);
    else {
      const v = Math.round(x < 0 ? x * 8388608 : x * 8388607);
      view.setUint8(at, v & 0xff);
      view.setUint8(at + 1, (v >> 8) & 0xff);
      view.setUint8(at + 2, (v >> 16) & 0xff);
    }
  }
  return out;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}
