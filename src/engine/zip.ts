// A minimal zip writer (stored entries, no compression): WAV audio barely compresses, and this keeps
// the engine free of dependencies. Swap for `fflate`'s `zipSync` if compression is ever wanted.

import { EngineError } from './errors.js';
import { crc32 } from '../io/crc32.js';

/** One file of an archive; `name` uses forward slashes, no leading slash or "..". */
export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

/** Builds a zip archive of stored entries; refuses unsafe or duplicate names and archives over 4 GiB. */
export function zipStore(entries: readonly ZipEntry[], date = new Date()): Uint8Array {
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const dosTime = ((date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1)) & 0xffff;
  const dosDate = (((Math.max(1980, date.getFullYear()) - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate()) & 0xffff;
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (entry.name === '' || entry.name.startsWith('/') || entry.name.split('/').includes('..') || entry.name.includes('\\')) {
      throw new EngineError('INVALID_ARGUMENT', `zip entry name "${entry.name}" is not a safe relative path`, 'name');
    }
    if (seen.has(entry.name)) throw new EngineError('INVALID_ARGUMENT', `zip entry "${entry.name}" appears twice`, 'name');
    seen.add(entry.name);
    const name = encoder.encode(entry.name);
    const crc = crc32(entry.bytes);
    const size = entry.bytes.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, 0, true); // stored
    lv.setUint16(10, dosTime, true);
    lv.setUint16(12, dosDate, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, size, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, dosTime, true);
    cv.setUint16(14, dosDate, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, size, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, entry.bytes);
    centrals.push(central);
    offset += local.length + size;
    if (offset > 0xffffffff) throw new EngineError('INVALID_ARGUMENT', 'zip archive would exceed 4 GiB; export fewer lanes');
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + end.length);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Entries of a stored zip (as `zipStore` writes) by name; refuses compressed entries and truncated data. */
export function readZipStore(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  let at = 0;
  while (at + 30 <= bytes.length && view.getUint32(at, true) === 0x04034b50) {
    if (view.getUint16(at + 8, true) !== 0) throw new EngineError('INVALID_ARGUMENT', 'zip entry is compressed; only stored entries are read here');
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const start = at + 30 + nameLength + view.getUint16(at + 28, true);
    if (start + size > bytes.length) throw new EngineError('INVALID_ARGUMENT', 'zip entry runs past the end of the archive');
    out.set(new TextDecoder().decode(bytes.subarray(at + 30, at + 30 + nameLength)), bytes.subarray(start, start + size));
    at = start + size;
  }
  return out;
}
