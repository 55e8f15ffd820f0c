// The lanes' zip archive, written and read with `fflate` (stored entries: WAV audio barely compresses, so level 0
// keeps exports fast). Entry names are checked here first: fflate writes whatever name it is given.

import { unzipSync, zipSync, type Zippable } from 'fflate';
import { EngineError } from './errors.js';

/** One file of an archive; `name` uses forward slashes, no leading slash or "..". */
export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

/** Largest archive written, bytes: beyond 4 GiB a zip needs Zip64 records. */
const MAX_ZIP_BYTES = 0xffffffff;

/** Builds a zip archive of stored entries; refuses unsafe or duplicate names and archives over 4 GiB. */
export function zipStore(entries: readonly ZipEntry[], date = new Date()): Uint8Array {
  const files: Zippable = {};
  let total = 0;
  for (const entry of entries) {
    if (entry.name === '' || entry.name.startsWith('/') || entry.name.split('/').includes('..') || entry.name.includes('\\')) {
      throw new EngineError('INVALID_ARGUMENT', `zip entry name "${entry.name}" is not a safe relative path`, 'name');
    }
    if (Object.hasOwn(files, entry.name)) throw new EngineError('INVALID_ARGUMENT', `zip entry "${entry.name}" appears twice`, 'name');
    total += 76 + 2 * entry.name.length + entry.bytes.length;
    if (total > MAX_ZIP_BYTES) throw new EngineError('INVALID_ARGUMENT', 'zip archive would exceed 4 GiB; export fewer lanes');
    files[entry.name] = [entry.bytes, { level: 0, mtime: date }];
  }
  return zipSync(files);
}

/** Entries of a zip archive by name. */
export function readZip(bytes: Uint8Array): Map<string, Uint8Array> {
  try {
    return new Map(Object.entries(unzipSync(bytes)));
  } catch (error) {
    throw new EngineError('INVALID_ARGUMENT', `not a readable zip archive: ${(error as Error).message}`);
  }
}
