// Decoding of the recordings Debian's games ship (Ogg Vorbis, Ogg Opus, PCM WAV) to mono Float32Array,
// with an Ogg integrity check so a truncated or altered file is reported, not half-imported. Bytes in, no node:*.

// Decoders: the @wasm-audio-decoders family (libvorbis and libopus compiled to WebAssembly, MIT, maintained,
// installed from npm with no native build). Chosen over sox because Debian's sox has Vorbis but no Opus handler
// (ktuberling's nn/ and klettres' nn/ are Opus), because the same code runs in the browser, and because it adds no
// apt dependency to the project; decoding is plain WebAssembly arithmetic, so the samples are the same on every run.
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { InvalidAudioError } from '../audio/errors.js';
import { decodeWav } from '../audio/wav.js';

/** Container/codec of a source recording, found from its first bytes. */
export type RealAudioFormat = 'vorbis' | 'opus' | 'wav';

/** `code` of the InvalidAudioError thrown for a file that cannot be decoded. */
export const DAMAGED_AUDIO = 'DAMAGED_AUDIO';

/** A decoded recording, mixed to mono. */
export interface DecodedRecording {
  samples: Float32Array; // [samples], mono, [-1, 1]
  sampleRateHz: number;
  /** Channels in the file before mixing. */
  channels: number;
  format: RealAudioFormat;
  /** Non-fatal findings (an Ogg stream without its end-of-stream page). */
  warnings: string[];
}

const ascii = (bytes: Uint8Array, from: number, length: number): string => String.fromCharCode(...bytes.subarray(from, from + length));

/** The format of `bytes` by magic numbers; throws `InvalidAudioError` (DAMAGED_AUDIO) for anything else. */
export function sniffAudioFormat(bytes: Uint8Array, name: string): RealAudioFormat {
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return 'wav';
  if (bytes.length >= 28 && ascii(bytes, 0, 4) === 'OggS') {
    const body = 27 + bytes[26]!;
    if (ascii(bytes, body, 7) === '\x01vorbis') return 'vorbis';
    if (ascii(bytes, body, 8) === 'OpusHead') return 'opus';
    throw new InvalidAudioError(`${name}: an Ogg stream that is neither Vorbis nor Opus`, DAMAGED_AUDIO);
  }
  throw new InvalidAudioError(`${name}: not an Ogg Vorbis, Ogg Opus or WAV file`, DAMAGED_AUDIO);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, initial value 0, no final xor (RFC 3533). */
function oggCrc(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let r = i << 24;
      for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
      crcTable[i] = r >>> 0;
    }
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/** What `checkOggStream` found in a stream that passed. */
export interface OggStreamCheck {
  pages: number;
  /** False when a logical stream has no end-of-stream page (cut at a page boundary, or written so). */
  endOfStream: boolean;
}

/**
 * Checks that `bytes` is an intact Ogg stream: pages back to back from the first byte to the last, each whole and
 * with a valid CRC. Libvorbis and libopus decode a truncated or altered file without complaint, so this is what
 * tells a damaged recording from a short one. A stream without its end-of-stream page passes, reported in the
 * result: KLettres' Arabic letters are all written that way, and their audio is whole (it ends in silence).
 */
export function checkOggStream(bytes: Uint8Array, name: string): OggStreamCheck {
  const open = new Set<number>();
  let offset = 0;
  let pages = 0;
  while (offset < bytes.length) {
    const where = `${name}: Ogg page ${pages + 1} at byte ${offset}`;
    if (offset + 27 > bytes.length || ascii(bytes, offset, 4) !== 'OggS') throw new InvalidAudioError(`${where}: no page header (damaged or truncated file)`, DAMAGED_AUDIO);
    const segments = bytes[offset + 26]!;
    if (offset + 27 + segments > bytes.length) throw new InvalidAudioError(`${where}: truncated page header`, DAMAGED_AUDIO);
    let bodyBytes = 0;
    for (let s = 0; s < segments; s++) bodyBytes += bytes[offset + 27 + s]!;
    const end = offset + 27 + segments + bodyBytes;
    if (end > bytes.length) throw new InvalidAudioError(`${where}: truncated (${end - bytes.length} bytes missing)`, DAMAGED_AUDIO);
    const page = bytes.slice(offset, end);
    const view = new DataView(page.buffer);
    const stored = view.getUint32(22, true);
    view.setUint32(22, 0, true);
    if (oggCrc(page) !== stored) throw new InvalidAudioError(`${where}: checksum mismatch (damaged file)`, DAMAGED_AUDIO);
    const flags = page[5]!;
    const serial = view.getUint32(14, true);
    if (flags & 0x02) open.add(serial);
    if (flags & 0x04) open.delete(serial);
    offset = end;
    pages++;
  }
  if (pages === 0) throw new InvalidAudioError(`${name}: empty Ogg stream`, DAMAGED_AUDIO);
  return { pages, endOfStream: open.size === 0 };
}

/** Mean of the channels; throws on non-finite samples. */
function mixChannels(channelData: readonly Float32Array[], length: number, name: string): Float32Array {
  const out = new Float32Array(length);
  const scale = 1 / channelData.length;
  for (let i = 0; i < length; i++) {
    let acc = 0;
    for (const channel of channelData) acc += channel[i]!;
    const v = acc * scale;
    if (!Number.isFinite(v)) throw new InvalidAudioError(`${name}: decoded to non-finite samples`, DAMAGED_AUDIO);
    out[i] = Math.max(-1, Math.min(1, v));
  }
  return out;
}

/**
 * Decodes Ogg Vorbis, Ogg Opus and WAV recordings. Holds one WebAssembly decoder per codec, created on first use;
 * call `dispose()` when done. Every failure is an `InvalidAudioError` with code DAMAGED_AUDIO naming the file.
 */
export class RecordingDecoder {
  private vorbis: OggVorbisDecoder | undefined;
  private opus: OggOpusDecoder | undefined;

  /** Decodes one file's bytes; `name` (its path) is used in messages. */
  async decode(bytes: Uint8Array, name: string): Promise<DecodedRecording> {
    const format = sniffAudioFormat(bytes, name);
    if (format === 'wav') {
      let wav;
      try {
        wav = decodeWav(bytes, { sourceName: name });
      } catch (error) {
        throw new InvalidAudioError(error instanceof Error ? error.message : String(error), DAMAGED_AUDIO);
      }
      const truncated = wav.warnings.find((w) => /truncat|claims/i.test(w));
      if (truncated !== undefined) throw new InvalidAudioError(truncated, DAMAGED_AUDIO);
      return { samples: wav.samples, sampleRateHz: wav.sampleRateHz, channels: wav.channels, format, warnings: [] };
    }
    const check = checkOggStream(bytes, name);
    let decoded: { channelData: Float32Array[]; samplesDecoded: number; sampleRate: number; errors: unknown[] };
    try {
      if (format === 'vorbis') {
        this.vorbis ??= new OggVorbisDecoder();
        await this.vorbis.ready;
        await this.vorbis.reset();
        decoded = await this.vorbis.decodeFile(bytes);
      } else {
        this.opus ??= new OggOpusDecoder();
        await this.opus.ready;
        await this.opus.reset();
        decoded = await this.opus.decodeFile(bytes);
      }
    } catch (error) {
      throw new InvalidAudioError(`${name}: ${format} decoder failed: ${error instanceof Error ? error.message : String(error)}`, DAMAGED_AUDIO);
    }
    if (decoded.errors.length > 0) throw new InvalidAudioError(`${name}: ${decoded.errors.length} ${format} decoding error(s)`, DAMAGED_AUDIO);
    if (decoded.samplesDecoded === 0 || decoded.channelData.length === 0) throw new InvalidAudioError(`${name}: no audio in the ${format} stream`, DAMAGED_AUDIO);
    return {
      samples: mixChannels(decoded.channelData, decoded.samplesDecoded, name),
      sampleRateHz: decoded.sampleRate,
      channels: decoded.channelData.length,
      format,
      warnings: check.endOfStream ? [] : [`${name}: Ogg stream has no end-of-stream page; decoded its ${check.pages} whole pages`],
    };
  }

  /** Frees the WebAssembly decoders. */
  dispose(): void {
    this.vorbis?.free();
    this.opus?.free();
    this.vorbis = undefined;
    this.opus = undefined;
  }
}
