// The corpus cache on disk: where each file lives under TIMBRE_HOME/corpus, float32 feature files
// (raw little-endian, shape kept in the manifest), sha256 content hashes, and atomic writes.

import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';

/** Writes `bytes` to `path` atomically (src/io/atomicWrite: temp + fsync + rename), replacing any old file; creates the folder. */
export async function writeFileReplacing(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes, { overwrite: true });
}

/** Kinds of per-utterance files in the cache. */
export type CacheKind = 'wav' | 'mel' | 'f0' | 'avg';

const EXTENSIONS: Record<CacheKind, string> = { wav: '.wav', mel: '.f32', f0: '.f32', avg: '.f32' };

/** Path of one cached file relative to the corpus root, with forward slashes (stored in the manifest). */
export function cacheRelativePath(kind: CacheKind, voiceId: string, sentenceId: string): string {
  return `${kind}/${voiceId}/${sentenceId}${EXTENSIONS[kind]}`;
}

/** Absolute path of a manifest-relative path. */
export function resolveCachePath(corpusRoot: string, relativePath: string): string {
  return join(corpusRoot, ...relativePath.split('/'));
}

/** File names of the corpus root. */
export const MANIFEST_FILE = 'manifest.json';

/** sha256 of bytes, hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

if (endianness() !== 'LE') {
  // Feature files are raw Float32Array bytes; every platform Timbre targets is little-endian.
  throw new Error('the Timbre corpus cache needs a little-endian machine');
}

/** Bytes of a Float32Array as stored in a `.f32` file (little-endian, no header). */
export function float32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Float32Array view of `.f32` file bytes; throws when the size is not a multiple of 4 (or not `expectedLength`). */
export function float32FromBytes(bytes: Uint8Array, name: string, expectedLength?: number): Float32Array {
  if (bytes.byteLength % 4 !== 0 || (expectedLength !== undefined && bytes.byteLength !== expectedLength * 4)) {
    throw new Error(`${name}: ${bytes.byteLength} bytes, expected ${expectedLength === undefined ? 'a multiple of 4' : expectedLength * 4}`);
  }
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

/** A cached file: manifest-relative path, sha256 and size in bytes. */
export interface CachedFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** The cached files and measures of one clip, as both manifests (corpus utterances, real-speech clips) record them. */
export interface CachedClip {
  durationSeconds: number;
  /** Mel frames (rows of the [frames × 80] mel file). */
  frames: number;
  /** F0 frames (hop 256; may differ from `frames` by one). */
  f0Frames: number;
  /** Median F0 over voiced frames, Hz (0 if none). */
  f0MedianHz: number;
  wav: CachedFile;
  mel: CachedFile;
  f0: CachedFile;
}

/** Writes `bytes` atomically (temp + rename, replacing any old file) and returns its manifest record. */
export async function writeCachedFile(corpusRoot: string, relativePath: string, bytes: Uint8Array): Promise<CachedFile> {
  await writeFileReplacing(resolveCachePath(corpusRoot, relativePath), bytes);
  return { path: relativePath, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

/** Reads a cached file and checks size and sha256; returns null when missing or different. */
export async function readVerifiedFile(corpusRoot: string, file: CachedFile): Promise<Uint8Array | null> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(resolveCachePath(corpusRoot, file.path)));
  } catch {
    return null;
  }
  if (bytes.byteLength !== file.bytes || sha256Hex(bytes) !== file.sha256) return null;
  return bytes;
}
