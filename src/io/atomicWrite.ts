// Atomic file writes: a reader sees either the old file or the complete new one, never a half-written file.
// Writes a temp file in the same folder, fsyncs it, then renames (or hard-links, to refuse overwriting) into place.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, TimbreInputError } from '../audio/errors.js';

/** Options of `writeFileAtomic`. */
export interface AtomicWriteOptions {
  /** Replace an existing file; default false (then an existing target is an error with code FILE_EXISTS). */
  overwrite?: boolean;
}

/** Codes of the TimbreInputError thrown here. */
export const ATOMIC_WRITE_ERROR_CODES = Object.freeze({
  exists: 'FILE_EXISTS',
  noFolder: 'NO_SUCH_FOLDER',
  isFolder: 'IS_A_FOLDER',
  permission: 'PERMISSION_DENIED',
  diskFull: 'DISK_FULL',
} as const);

const C = ATOMIC_WRITE_ERROR_CODES;

/** Errors from link() meaning "this file system cannot hard-link", not "the target exists". */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Writes `data` to `path` atomically: temp file `.name.<pid>.<random>.tmp` in the same folder, fsync, rename.
 * The folder must exist (NO_SUCH_FOLDER otherwise); without `overwrite`, an existing target is FILE_EXISTS, checked
 * atomically via link(). The temp file is removed on any failure.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  checkData(path, data);
  const overwrite = options.overwrite ?? false;
  const folder = dirname(resolve(path));
  try {
    checkFolderStats(path, folder, await stat(folder).catch(missing));
    checkTargetStats(path, overwrite, await stat(path).catch(missing));
  } catch (error) {
    throw mapError(error, path, folder);
  }
  const temp = tempPath(folder, path);
  try {
    const handle = await open(temp, 'wx', 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) await rename(temp, path);
    else await linkNoClobber(path, temp);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw mapError(error, path, folder);
  }
  if (!overwrite) await unlink(temp).catch(() => undefined);
  await syncFolder(folder);
}

/** Synchronous `writeFileAtomic`, same contract. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  checkData(path, data);
  const overwrite = options.overwrite ?? false;
  const folder = dirname(resolve(path));
  try {
    checkFolderStats(path, folder, statOrUndefined(folder));
    checkTargetStats(path, overwrite, statOrUndefined(path));
  } catch (error) {
    throw mapError(error, path, folder);
  }
  const temp = tempPath(folder, path);
  try {
    const fd = openSync(temp, 'wx', 0o666);
    try {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (overwrite) renameSync(temp, path);
    else {
      try {
        linkSync(temp, path);
      } catch (error) {
        if (!NO_LINK.has(codeOf(error))) throw error;
        checkTargetStats(path, false, statOrUndefined(path));
        renameSync(temp, path);
      }
    }
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone (renamed, or never created)
    }
    throw mapError(error, path, folder);
  }
  if (!overwrite) {
    try {
      unlinkSync(temp);
    } catch {
      // renamed by the fallback path
    }
  }
}

async function linkNoClobber(path: string, temp: string): Promise<void> {
  try {
    await link(temp, path); // fails with EEXIST if the target appeared meanwhile: no silent clobbering
  } catch (error) {
    if (!NO_LINK.has(codeOf(error))) throw error;
    // File systems without hard links (FAT, some network shares): check, then rename. Not race-free, but close.
    checkTargetStats(path, false, await stat(path).catch(missing));
    await rename(temp, path);
  }
}

function checkData(path: string, data: unknown): void {
  if (!(data instanceof Uint8Array) && typeof data !== 'string') {
    throw new InvalidArgumentError(`${path}: data to write must be a Uint8Array or a string`);
  }
}

function tempPath(folder: string, path: string): string {
  return join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function checkFolderStats(path: string, folder: string, stats: Stats | undefined): void {
  if (stats === undefined) throw new TimbreInputError(C.noFolder, `${path}: folder ${folder} does not exist (create it first)`);
  if (!stats.isDirectory()) throw new TimbreInputError(C.noFolder, `${path}: ${folder} is not a folder`);
}

function checkTargetStats(path: string, overwrite: boolean, stats: Stats | undefined): void {
  if (stats === undefined) return;
  if (stats.isDirectory()) throw new TimbreInputError(C.isFolder, `${path}: is a folder, cannot write a file there`);
  if (!overwrite) throw new TimbreInputError(C.exists, `${path}: already exists (use --force to overwrite)`);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    return missing(error);
  }
}

/** undefined for a missing path, rethrows anything else. */
function missing(error: unknown): undefined {
  if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return undefined;
  throw error;
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
}

function mapError(error: unknown, path: string, folder: string): unknown {
  if (error instanceof TimbreInputError) return error;
  switch (codeOf(error)) {
    case 'EEXIST':
      return new TimbreInputError(C.exists, `${path}: already exists (use --force to overwrite)`);
    case 'EISDIR':
      return new TimbreInputError(C.isFolder, `${path}: is a folder, cannot write a file there`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new TimbreInputError(C.permission, `${path}: permission denied (cannot write in ${folder})`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new TimbreInputError(C.diskFull, `${path}: no space left on the disk`);
    case 'ENOENT':
      return new TimbreInputError(C.noFolder, `${path}: folder ${folder} disappeared while writing`);
    default:
      return error;
  }
}

/** fsync the folder so the rename itself survives a crash; not possible everywhere (Windows), so best effort. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
