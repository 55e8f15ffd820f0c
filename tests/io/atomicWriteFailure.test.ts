// Failure injection: the final rename/link fails after the temp file was written; nothing may be left behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

function ioError(): Error {
  return Object.assign(new Error('EIO: i/o error (injected)'), { code: 'EIO' });
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, rename: vi.fn(async () => Promise.reject(ioError())), link: vi.fn(async () => Promise.reject(ioError())) };
});
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fail = (): never => {
    throw ioError();
  };
  return { ...real, renameSync: vi.fn(fail), linkSync: vi.fn(fail) };
});

const { writeFileAtomic, writeFileAtomicSync } = await import('../../src/io/atomicWrite.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timbre-atomic-fail-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic write failures', () => {
  for (const overwrite of [false, true]) {
    it(`removes the temp file and keeps the old file when the final step fails (overwrite ${overwrite})`, async () => {
      const target = join(dir, 'out.wav');
      if (overwrite) writeFileSync(target, 'old');
      await expect(writeFileAtomic(target, 'new', { overwrite })).rejects.toThrow(/injected/);
      expect(() => writeFileAtomicSync(target, 'new', { overwrite })).toThrow(/injected/);
      expect(readdirSync(dir)).toEqual(overwrite ? ['out.wav'] : []);
      if (overwrite) expect(readFileSync(target, 'utf8')).toBe('old');
    });
  }
});
