import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomicWrite.js';
import { codeOf } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timbre-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

for (const [name, write] of [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (...args: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...args)],
] as const) {
  describe(name, () => {
    it('writes bytes and strings, leaving no temp file', async () => {
      await write(join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
      await write(join(dir, 'b.txt'), 'héllo');
      expect([...readFileSync(join(dir, 'a.bin'))]).toEqual([1, 2, 3]);
      expect(readFileSync(join(dir, 'b.txt'), 'utf8')).toBe('héllo');
      expect(readdirSync(dir).sort()).toEqual(['a.bin', 'b.txt']);
    });

    it('refuses to overwrite without the flag, keeping the old content and leaving no temp file', async () => {
      const target = join(dir, 'out.wav');
      writeFileSync(target, 'old');
      const code = await codeOf(Promise.resolve().then(() => write(target, 'new')));
      expect(code).toBe('FILE_EXISTS');
      await expect(Promise.resolve().then(() => write(target, 'new'))).rejects.toThrow(`${target}: already exists (use --force to overwrite)`);
      expect(readFileSync(target, 'utf8')).toBe('old');
      expect(readdirSync(dir)).toEqual(['out.wav']);
    });

    it('overwrites with the flag', async () => {
      const target = join(dir, 'out.wav');
      writeFileSync(target, 'old');
      await write(target, 'new', { overwrite: true });
      expect(readFileSync(target, 'utf8')).toBe('new');
      expect(readdirSync(dir)).toEqual(['out.wav']);
    });

    it('refuses a missing folder with NO_SUCH_FOLDER and creates nothing', async () => {
      const code = await codeOf(Promise.resolve().then(() => write(join(dir, 'nope', 'x.wav'), 'x')));
      expect(code).toBe('NO_SUCH_FOLDER');
      expect(readdirSync(dir)).toEqual([]);
    });

    it('refuses to replace a folder with IS_A_FOLDER, even with overwrite', async () => {
      const target = join(dir, 'taken');
      mkdirSync(target);
      const code = await codeOf(Promise.resolve().then(() => write(target, 'data', { overwrite: true })));
      expect(code).toBe('IS_A_FOLDER');
      expect(readdirSync(dir)).toEqual(['taken']);
    });

    it('rejects data that is neither bytes nor a string before creating anything', async () => {
      const bad = { not: 'bytes' } as unknown as Uint8Array;
      await expect(Promise.resolve().then(() => write(join(dir, 'x.bin'), bad))).rejects.toThrow(/must be a Uint8Array or a string/);
      expect(readdirSync(dir)).toEqual([]);
    });
  });
}
