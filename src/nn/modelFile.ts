// The one file format of every Timbre model and training checkpoint (`*.timbre`): a preamble, a JSON
// header and 64-byte-aligned little-endian float32 (or, where the writer asks, float16) blobs, with a CRC32 so
// truncation and bit flips are refused.

import { readFile } from 'node:fs/promises';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { MEL_CONFIG, sameMelConfig, type MelConfig } from '../audio/melConfig.js';
import { InvalidModelFileError, ModelMismatchError } from './errors.js';
import type { WeightArray, WeightMap } from './module.js';
import { crc32 } from '../io/crc32.js';

/** Version of the container layout (preamble + header + blobs); bumped only when readers must change. */
export const MODEL_FILE_FORMAT_VERSION = 1;
const MAGIC = 'TIMBREMF';
const PREAMBLE_BYTES = 32; // magic 8 + formatVersion u32 + headerBytes u32 + dataBytes u64 + crc32 u32 + reserved u32
const ALIGN = 64;

/** How a file stores its weights: float32 (exact; checkpoints) or float16 (half the bytes; for shipped inference weights). */
export type WeightStorage = 'float32' | 'float16';

/** One tensor's entry in the header: byte offset from the start of the data section. */
export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightStorage;
  readonly offset: number;
}

/** Largest magnitude float16 holds. */
const FLOAT16_MAX = 65504;
const BYTES_PER_VALUE: Readonly<Record<WeightStorage, number>> = { float32: 4, float16: 2 };

/** JSON-safe values for free-form header fields. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Everything a model file says about itself besides the tensors. */
export interface ModelFileMetadata {
  /** Model family, e.g. 'vae', 'cycleGan', 'diffVc', 'vocoder', or 'checkpoint:vae' for training checkpoints. */
  readonly kind: string;
  /** Version of that family's architecture/config; a different version is refused on load. */
  readonly kindVersion: number;
  readonly melConfig: MelConfig;
  readonly hyperparameters: { readonly [key: string]: JsonValue };
  readonly speakers: readonly string[];
  /** Feature normalisation statistics (e.g. per-mel mean/std), model-defined. */
  readonly normalization: JsonValue;
  readonly trainingDataHash: string;
  readonly validationMetrics: { readonly [key: string]: number };
  /** ISO-8601 time of writing; filled in by `saveModelFile` when absent. */
  readonly createdAt?: string;
  /** Anything else a writer needs (training checkpoints keep step, RNG and optimizer state here). */
  readonly extra?: { readonly [key: string]: JsonValue };
}

/** The header as stored: metadata plus container fields and the tensor table. */
export interface ModelFileHeader extends ModelFileMetadata {
  readonly format: 'timbre-model';
  readonly formatVersion: number;
  readonly createdAt: string;
  readonly tensors: readonly TensorEntry[];
}

/** What `loadModelFile` checks before using a file. */
export interface ExpectedModel {
  readonly kind: string;
  readonly kindVersion: number;
  /** Earlier kind versions the code still reads (their header's `kindVersion` tells the loader which). */
  readonly olderKindVersions?: readonly number[];
  readonly melConfig?: MelConfig;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Serialises a model file to bytes (the browser-safe half of `saveModelFile`). `storage` 'float16' rounds every
 * weight to half precision (refusing a value beyond ±65504 or not finite, naming its tensor); reading gives float32.
 */
export function encodeModelFile(metadata: ModelFileMetadata, weights: ReadonlyMap<string, WeightArray>, options: { storage?: WeightStorage } = {}): Uint8Array {
  const dtype = options.storage ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new InvalidModelFileError(`weight storage must be float32 or float16, got ${String(dtype)}`);
  const tensors: TensorEntry[] = [];
  let dataBytes = 0;
  for (const [name, w] of weights) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (count !== w.data.length) throw new InvalidModelFileError(`tensor "${name}" has shape [${w.shape.join(', ')}] but ${w.data.length} values`);
    if (dtype === 'float16' && !w.data.every((v) => Math.abs(v) <= FLOAT16_MAX)) {
      throw new InvalidModelFileError(`tensor "${name}" holds a value float16 cannot store (beyond ±${FLOAT16_MAX} or not finite); save it as float32`);
    }
    tensors.push({ name, shape: [...w.shape], dtype, offset: dataBytes });
    dataBytes = alignUp(dataBytes + count * BYTES_PER_VALUE[dtype]);
  }
  const header: ModelFileHeader = {
    format: 'timbre-model',
    formatVersion: MODEL_FILE_FORMAT_VERSION,
    ...metadata,
    createdAt: metadata.createdAt ?? new Date().toISOString(),
    tensors,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = alignUp(PREAMBLE_BYTES + headerBytes.length);
  const out = new Uint8Array(dataStart + dataBytes);
  out.set(headerBytes, PREAMBLE_BYTES);
  const view = new DataView(out.buffer);
  let i = 0;
  for (const w of weights.values()) {
    const offset = dataStart + tensors[i++]!.offset;
    if (dtype === 'float16') for (let j = 0; j < w.data.length; j++) setFloat16(view, offset + 2 * j, w.data[j]!, true);
    else if (LITTLE_ENDIAN) out.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    else for (let j = 0; j < w.data.length; j++) view.setFloat32(offset + 4 * j, w.data[j]!, true);
  }
  for (let j = 0; j < MAGIC.length; j++) out[j] = MAGIC.charCodeAt(j);
  view.setUint32(8, MODEL_FILE_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  view.setBigUint64(16, BigInt(dataBytes), true);
  view.setUint32(24, crc32(out.subarray(PREAMBLE_BYTES)), true);
  return out;
}

/** Parses bytes written by `encodeModelFile`; `source` names the file in errors. */
export function decodeModelFile(bytes: Uint8Array, source = 'model file'): { header: ModelFileHeader; weights: WeightMap } {
  const bad = (why: string): InvalidModelFileError =>
    new InvalidModelFileError(`${source} is not a valid Timbre model file: ${why}; re-export or re-train it`);
  if (bytes.length < PREAMBLE_BYTES) throw bad(`only ${bytes.length} bytes (truncated)`);
  for (let j = 0; j < MAGIC.length; j++) if (bytes[j] !== MAGIC.charCodeAt(j)) throw bad('wrong magic bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const formatVersion = view.getUint32(8, true);
  if (formatVersion !== MODEL_FILE_FORMAT_VERSION) {
    throw bad(`container format version ${formatVersion}, this build reads version ${MODEL_FILE_FORMAT_VERSION}`);
  }
  const headerLength = view.getUint32(12, true);
  const dataBytes = Number(view.getBigUint64(16, true));
  const dataStart = alignUp(PREAMBLE_BYTES + headerLength);
  if (bytes.length !== dataStart + dataBytes) throw bad(`${bytes.length} bytes, the preamble promises ${dataStart + dataBytes} (truncated or padded)`);
  if (crc32(bytes.subarray(PREAMBLE_BYTES)) !== view.getUint32(24, true)) throw bad('checksum mismatch (corrupt bytes)');
  let header: ModelFileHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength))) as ModelFileHeader;
  } catch (err) {
    throw bad(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not a JSON object');
  if (header.format !== 'timbre-model' || !Array.isArray(header.tensors)) throw bad('header lacks format "timbre-model" or its tensor table');
  checkHeaderFields(header, bad);
  const weights: WeightMap = new Map();
  for (const [i, t] of (header.tensors as readonly unknown[]).entries()) {
    if (typeof t !== 'object' || t === null) throw bad(`tensor entry ${i} is not an object`);
    const { name, shape, dtype, offset } = t as Partial<TensorEntry>;
    if (typeof name !== 'string' || name === '') throw bad(`tensor entry ${i} has no name`);
    if (weights.has(name)) throw bad(`tensor "${name}" is listed twice`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor "${name}" has shape ${JSON.stringify(shape)}, not a list of whole numbers ≥ 0`);
    if (dtype !== 'float32' && dtype !== 'float16') throw bad(`tensor "${name}" has dtype ${String(dtype)}; this build reads float32 and float16`);
    if (!Number.isSafeInteger(offset) || offset! < 0) throw bad(`tensor "${name}" has offset ${JSON.stringify(offset)}, not a whole number ≥ 0`);
    // Checked against the data section before anything is allocated: a declared size the file does not hold is refused.
    const count = shape.reduce((a, b) => a * b, 1);
    const size = BYTES_PER_VALUE[dtype];
    if (offset! % size !== 0 || offset! + count * size > dataBytes) throw bad(`tensor "${name}" (${shape.join('×')} ${dtype}) lies outside the ${dataBytes}-byte data section`);
    const base = dataStart + offset!;
    let data: Float32Array;
    if (dtype === 'float16') {
      data = new Float32Array(count);
      for (let j = 0; j < count; j++) data[j] = getFloat16(view, base + 2 * j, true);
    } else if (LITTLE_ENDIAN && (bytes.byteOffset + base) % 4 === 0) {
      data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + base, bytes.byteOffset + base + count * 4));
    } else {
      data = new Float32Array(count);
      for (let j = 0; j < count; j++) data[j] = view.getFloat32(base + 4 * j, true);
    }
    weights.set(name, { data, shape });
  }
  return { header, weights };
}

/** The header fields every reader relies on have their types (values are the loaders' business). */
function checkHeaderFields(header: ModelFileHeader, bad: (why: string) => InvalidModelFileError): void {
  const h = header as unknown as Record<string, unknown>;
  if (typeof h['kind'] !== 'string') throw bad(`header field "kind" is ${JSON.stringify(h['kind'])}, not a string`);
  if (!Number.isSafeInteger(h['kindVersion'])) throw bad(`header field "kindVersion" is ${JSON.stringify(h['kindVersion'])}, not a whole number`);
  const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const field of ['melConfig', 'hyperparameters', 'validationMetrics'] as const) {
    if (!isObject(h[field])) throw bad(`header field "${field}" is ${JSON.stringify(h[field])?.slice(0, 40)}, not an object`);
  }
  if (h['extra'] !== undefined && !isObject(h['extra'])) throw bad('header field "extra" is not an object');
  if (!Array.isArray(h['speakers']) || !h['speakers'].every((s) => typeof s === 'string')) throw bad('header field "speakers" is not a list of names');
  if (typeof h['trainingDataHash'] !== 'string') throw bad('header field "trainingDataHash" is not a string');
}

/** Writes any file atomically via src/io (temp file in the same folder, fsync, rename); shared by model files, checkpoints and the loss log. */
export async function writeAtomic(path: string, data: Uint8Array | string, options: { overwrite: boolean }): Promise<void> {
  await writeFileAtomic(path, data, options);
}

/** Saves weights + metadata as one `.timbre` file, atomically (float32 unless `storage` says float16). */
export async function saveModelFile(
  path: string,
  metadata: ModelFileMetadata,
  weights: ReadonlyMap<string, WeightArray>,
  options: { overwrite: boolean; storage?: WeightStorage } = { overwrite: false },
): Promise<void> {
  await writeAtomic(path, encodeModelFile(metadata, weights, options.storage !== undefined ? { storage: options.storage } : {}), { overwrite: options.overwrite });
}

/** Reads a `.timbre` file without checking its kind (for listings and tools). */
export async function readModelFile(path: string): Promise<{ header: ModelFileHeader; weights: WeightMap }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InvalidModelFileError(`cannot read model file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  return decodeModelFile(bytes, path);
}

/** Loads a `.timbre` file, refusing one of another kind, kind version or feature config (`ModelMismatchError`). */
export async function loadModelFile(path: string, expected: ExpectedModel): Promise<{ header: ModelFileHeader; weights: WeightMap }> {
  const file = await readModelFile(path);
  checkModelHeader(file.header, expected, path);
  return file;
}

/** Throws `ModelMismatchError` naming `source` and every difference between a header and what the code expects. */
export function checkModelHeader(header: ModelFileHeader, expected: ExpectedModel, source: string): void {
  const problems: string[] = [];
  if (header.kind !== expected.kind) problems.push(`kind is "${header.kind}", expected "${expected.kind}"`);
  else if (header.kindVersion !== expected.kindVersion && !(expected.olderKindVersions ?? []).includes(header.kindVersion)) {
    const older = expected.olderKindVersions?.length ? ` (or ${expected.olderKindVersions.join(', ')})` : '';
    problems.push(`${header.kind} version is ${header.kindVersion}, expected ${expected.kindVersion}${older}`);
  }
  const want = expected.melConfig ?? MEL_CONFIG;
  const have = header.melConfig as MelConfig | undefined;
  if (!have || !sameMelConfig(have, want)) {
    const diffs = have
      ? (Object.keys(want) as (keyof MelConfig)[]).filter((k) => have[k] !== want[k]).map((k) => `${k} ${String(have[k])} (expected ${String(want[k])})`)
      : ['missing'];
    problems.push(`feature config differs: ${diffs.join(', ')}`);
  }
  if (problems.length > 0) throw new ModelMismatchError(`model file ${source} does not fit this model: ${problems.join('; ')}`);
}
