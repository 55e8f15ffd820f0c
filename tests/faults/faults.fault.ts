// Fault injection (`npm run test:faults`): child processes killed with SIGKILL in the middle of an export, a
// `timbre voice add`, a `timbre corpus build` and a training, then run again. No partial file is ever visible under
// its final name, the training resumes from its last checkpoint, and nothing the user had is lost. A full disk
// (a 2 MiB tmpfs, when this process may mount one) gives a clear error and leaves the previous file intact.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/atomicWrite.js';
import { readModelFile } from '../../src/nn/modelFile.js';

const ROOT = resolve(import.meta.dirname, '../..');
// `node --import tsx`, one process: the tsx launcher would run the script in a child that SIGKILL of it does not reach.
const NODE_TSX = ['--import', 'tsx'];
const dir = mkdtempSync(join(tmpdir(), 'timbre-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `timbre …` as a child process with TIMBRE_HOME=home. */
function startTimbre(home: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [...NODE_TSX, 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, TIMBRE_HOME: home, TIMBRE_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `timbre …` to the end; its exit code and output. */
function runTimbre(home: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = startTimbre(home, args);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

/** Kills `child` with SIGKILL once `ready()` holds (polled every 20 ms) plus `delayMs`; resolves when it is gone. */
function killWhen(child: ChildProcess, ready: () => boolean, delayMs: number): Promise<void> {
  return new Promise((done) => {
    const timer = setInterval(() => {
      if (!ready()) return;
      clearInterval(timer);
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }, 20);
    child.on('close', () => {
      clearInterval(timer);
      done();
    });
  });
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('kill -9 in the middle of writes', () => {
  it('an export written atomically is, after any kill, absent or one complete version — never a torn file', async () => {
    const target = join(dir, 'export.bin');
    // Each version: 32 bytes of sha-256 over the rest, then 8 MB of its own random bytes.
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'src/io/atomicWrite.ts'))};
      import { createHash, randomBytes } from 'node:crypto';
      for (let i = 0; ; i++) {
        const body = randomBytes(8_000_000);
        const file = Buffer.concat([createHash('sha256').update(body).digest(), body]);
        await writeFileAtomic(${JSON.stringify(target)}, file, { overwrite: true });
        process.stdout.write('w');
      }`;
    writeFileSync(join(dir, 'writer.mts'), script);
    for (const delay of [0, 7, 23, 61, 140, 333]) {
      const child = spawn(process.execPath, [...NODE_TSX, join(dir, 'writer.mts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let writes = 0;
      child.stdout!.on('data', (d: Buffer) => (writes += d.length));
      await killWhen(child, () => writes >= 1, delay);
      const bytes = new Uint8Array(readFileSync(target));
      expect(bytes.length).toBe(8_000_032);
      expect(Buffer.from(bytes.subarray(0, 32)).toString('hex')).toBe(sha(bytes.subarray(32)));
    }
  }, 120_000);

  it('a model file saved atomically next to an old one: the old one stays loadable until the new one is complete', async () => {
    const path = join(dir, 'kept.timbre');
    writeFileSync(join(dir, 'save.mts'), `
      import { writeTinyVae } from ${JSON.stringify(join(ROOT, 'tests/models/vaeFixtures.ts'))};
      for (let seed = 1; ; seed++) { await writeTinyVae(${JSON.stringify(path)}); process.stdout.write('s'); }`);
    for (const delay of [0, 5, 31, 90]) {
      const child = spawn(process.execPath, [...NODE_TSX, join(dir, 'save.mts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let saves = 0;
      child.stdout!.on('data', (d: Buffer) => (saves += d.length));
      await killWhen(child, () => saves >= 1, delay);
      await expect(readModelFile(path)).resolves.toMatchObject({ header: { kind: 'vae' } });
    }
  }, 120_000);

  it('timbre voice add killed at any point leaves no half voice; the next add works and keeps the recording', async () => {
    const home = join(dir, 'voice-home');
    const wav = join(dir, 'me.wav');
    spawnSync('espeak-ng', ['-w', wav, 'A large size in stockings is hard to sell. The boy was there when the sun rose. Rice is often served in round bowls. The juice of lemons makes fine punch. The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage.']);
    const original = sha(new Uint8Array(readFileSync(wav)));
    for (const delay of [300, 900, 1500, 2200]) {
      const child = startTimbre(home, ['voice', 'add', 'anna', wav, '--force']);
      await killWhen(child, () => true, delay);
      const voices = join(home, 'voices');
      // Only whole voices under their names: a folder named "anna" always holds a readable voice.json.
      if (existsSync(join(voices, 'anna'))) expect(() => JSON.parse(readFileSync(join(voices, 'anna', 'voice.json'), 'utf8')) as unknown).not.toThrow();
      for (const name of existsSync(voices) ? readdirSync(voices) : []) expect(name === 'anna' || name.startsWith('.')).toBe(true);
    }
    const again = await runTimbre(home, ['voice', 'add', 'anna', wav, '--force']);
    expect(again.code, again.out).toBe(0);
    const listed = await runTimbre(home, ['voices']);
    expect(listed.out).toContain('anna');
    expect(sha(new Uint8Array(readFileSync(wav)))).toBe(original); // the user's own file is never touched
  }, 180_000);

  it('timbre corpus build killed mid-way resumes to the same manifest as an uninterrupted build', async () => {
    const args = ['corpus', 'build', '--voices', 'flite-slt,espeak-f2', '--sentences', '4'];
    const clean = join(dir, 'corpus-clean');
    expect((await runTimbre(clean, args)).code).toBe(0);
    const home = join(dir, 'corpus-killed');
    for (const delay of [1500, 2500]) {
      const child = startTimbre(home, args);
      await killWhen(child, () => true, delay);
    }
    const resumed = await runTimbre(home, args);
    expect(resumed.code, resumed.out).toBe(0);
    const a = JSON.parse(readFileSync(join(clean, 'corpus', 'manifest.json'), 'utf8')) as { utterances: { wav: { sha256: string } }[] };
    const b = JSON.parse(readFileSync(join(home, 'corpus', 'manifest.json'), 'utf8')) as { utterances: { wav: { sha256: string } }[] };
    expect(b.utterances.map((u) => u.wav.sha256)).toEqual(a.utterances.map((u) => u.wav.sha256));
  }, 240_000);

  it('a training killed after a checkpoint resumes from it and finishes', async () => {
    const home = join(dir, 'corpus-clean'); // built above
    const config = join(dir, 'tiny-speaker-encoder.json');
    writeFileSync(config, JSON.stringify({ channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8, minCropFrames: 32, maxCropFrames: 64, validationCropFrames: 48, chunkFrames: 64, centroidUtterances: 2, warmupSteps: 2 }));
    const args = ['train', 'speaker-encoder', '--steps', '400', '--batch-size', '4', '--checkpoint-every', '5', '--config', config, '--out', join(dir, 'se.timbre')];
    const checkpoint = join(home, 'checkpoints', 'speaker-encoder', 'checkpoint.timbre');
    const child = startTimbre(home, args);
    await killWhen(child, () => existsSync(checkpoint), 200);
    expect(existsSync(join(dir, 'se.timbre'))).toBe(false);
    const { header } = await readModelFile(checkpoint); // a complete checkpoint under its name
    const step = (header.extra as { step: number }).step;
    expect(step).toBeGreaterThanOrEqual(5);
    const resumed = await runTimbre(home, args);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`resuming from .*checkpoint\\.timbre at step ${step}/400`));
    await expect(readModelFile(join(dir, 'se.timbre'))).resolves.toMatchObject({ header: { kind: expect.any(String) } });
  }, 240_000);
});

describe('a full disk', () => {
  const mount = join(dir, 'small');
  mkdirSync(mount, { recursive: true });
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [mount]);
  });

  it.skipIf(!mounted)('refuses a write that does not fit with DISK_FULL and keeps the previous file', async () => {
    const path = join(mount, 'export.wav');
    await writeFileAtomic(path, new Uint8Array(1_000_000).fill(1), { overwrite: false });
    const error = await writeFileAtomic(path, new Uint8Array(1_500_000).fill(2), { overwrite: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DISK_FULL' });
    expect((error as Error).message).toContain(path);
    const kept = new Uint8Array(readFileSync(path));
    expect(kept.length).toBe(1_000_000);
    expect(kept.every((b) => b === 1)).toBe(true);
    expect(readdirSync(mount)).toEqual(['export.wav']); // the temp file is gone
  });
});
