// WAV files on disk ⇄ audio: clear errors for missing, empty or huge files, then src/audio/wav.ts does the bytes.
// Writing goes through writeFileAtomic, so an export never leaves a half-written WAV behind.

import { readFile, stat } from 'node:fs/promises';
import { InvalidAudioError, TimbreInputError } from '../audio/errors.js';
import { prepareSpeech, type SpeechAudio } from '../audio/speech.js';
import { decodeWav, encodeWav, type DecodedAudio, type EncodeWavOptions } from '../audio/wav.js';
import { writeFileAtomic } from './atomicWrite.js';

/** Options of `readWavFile` and `loadSpeech`. */
export interface ReadWavOptions {
  /** Longest accepted duration, seconds; default 600. */
  maxDurationSeconds?: number;
  /** Largest accepted file, bytes; default 2 GiB − 1 (Node's readFile limit). */
  maxBytes?: number;
}

/** Options of `writeWavFile`: encoding (16-bit PCM by default) and whether to replace an existing file. */
export interface WriteWavOptions extends EncodeWavOptions {
  overwrite?: boolean;
}

const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/** Reads and decodes a WAV file; codes FILE_NOT_FOUND, NOT_A_FILE, PERMISSION_DENIED, EMPTY_FILE, FILE_TOO_LARGE, then decodeWav's. */
export async function readWavFile(path: string, options: ReadWavOptions = {}): Promise<DecodedAudio> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new TimbreInputError('NOT_A_FILE', `${path}: is a ${stats.isDirectory() ? 'folder' : 'special file'}, not a WAV file`);
    size = stats.size;
  } catch (error) {
    throw mapReadError(error, path);
  }
  if (size === 0) throw new InvalidAudioError(`${path}: empty file (0 bytes)`, 'EMPTY_FILE');
  if (size > maxBytes) {
    throw new InvalidAudioError(`${path}: ${(size / 2 ** 30).toFixed(2)} GiB is over the ${(maxBytes / 2 ** 30).toFixed(2)} GiB limit (cut it into shorter files)`, 'FILE_TOO_LARGE');
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw mapReadError(error, path);
  }
  return decodeWav(bytes, { sourceName: path, maxDurationSeconds: options.maxDurationSeconds });
}

/** Reads a WAV file as speech: mono at MEL_CONFIG.sampleRateHz (22 050 Hz), with the original format and warnings. */
export async function loadSpeech(path: string, options: ReadWavOptions = {}): Promise<SpeechAudio> {
  return prepareSpeech(await readWavFile(path, options));
}

/** Encodes mono samples as WAV (16-bit PCM by default) and writes them atomically; refuses to overwrite unless asked. */
export async function writeWavFile(path: string, samples: Float32Array, sampleRateHz: number, options: WriteWavOptions = {}): Promise<void> {
  const { overwrite, ...encoding } = options;
  await writeFileAtomic(path, encodeWav(samples, sampleRateHz, encoding), { overwrite: overwrite ?? false });
}

function mapReadError(error: unknown, path: string): unknown {
  if (error instanceof TimbreInputError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new TimbreInputError('FILE_NOT_FOUND', `${path}: no such file`);
    case 'EISDIR':
      return new TimbreInputError('NOT_A_FILE', `${path}: is a folder, not a WAV file`);
    case 'EACCES':
    case 'EPERM':
      return new TimbreInputError('PERMISSION_DENIED', `${path}: permission denied`);
    default:
      return error;
  }
}
