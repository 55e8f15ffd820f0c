// `timbre train speaker-encoder` end to end on a 3-voice × 3-sentence corpus with a tiny config preset:
// SIGKILL mid-run then the same command resumes from the checkpoint and writes the model file; no silent overwrite.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { loadSpeakerEncoder } from '../../src/models/speakerEncoder/convert.js';
import { initBackend } from '../../src/nn/backend.js';
import { TEST_VOICES } from '../corpus/render.js';
import { timbre } from '../cli/helpers.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TINY = { channels: [8, 16], strides: [1, 2], normGroups: 4, hiddenDims: 16, embeddingDims: 8, minCropFrames: 32, maxCropFrames: 64, validationCropFrames: 48, chunkFrames: 64, centroidUtterances: 2, warmupSteps: 2 };

let home: string;
let preset: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'timbre-train-cli-test-'));
  await buildCorpus({ home, voices: [...TEST_VOICES], sentences: 3 });
  preset = join(home, 'tiny.json');
  await writeFile(preset, JSON.stringify(TINY));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Runs `timbre train …` in a child; `killAtStep` sends SIGKILL as soon as that step's log line appears. */
function train(args: string[], killAtStep?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'train', 'speaker-encoder', ...args], { env: { ...process.env, TIMBRE_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killAtStep !== undefined && new RegExp(`^step ${killAtStep}/`, 'm').test(stdout)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('timbre train speaker-encoder', () => {
  it('resumes from its checkpoint after kill -9 and writes the model file', async () => {
    const out = join(home, 'out', 'se.timbre');
    const args = ['--home', home, '--steps', '60', '--batch-size', '4', '--log-every', '1', '--checkpoint-every', '1', '--config', preset, '--out', out];
    const killed = await train(args, 4);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(home, 'checkpoints', 'speaker-encoder', 'checkpoint.timbre'))).toBe(true);

    const resumed = await train(args);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const at = Number(/resuming from .*checkpoint\.timbre at step (\d+)\/60/.exec(resumed.stdout)?.[1]);
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(60);
    expect(Number(/^step (\d+)\/60/m.exec(resumed.stdout)?.[1])).toBe(at + 1);
    expect(resumed.stdout).toMatch(/^backend: wasm/);
    expect(resumed.stdout).toContain(`wrote ${out}`);
    await initBackend({ force: 'wasm' });
    const loaded = await loadSpeakerEncoder(out);
    expect(loaded.judge.voices).toEqual([...TEST_VOICES]);
    expect(loaded.encoder.config.embeddingDims).toBe(8);
    loaded.encoder.dispose();

    const again = await timbre('train', 'speaker-encoder', ...args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
  });

  it('rejects an unknown model and a checkpoint of other settings with exit 2', async () => {
    const unknown = await timbre('train', 'nope', '--home', home);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown model "nope"; trainable models are speaker-encoder/);
    const other = await timbre('train', 'speaker-encoder', '--home', home, '--steps', '61', '--batch-size', '4', '--config', preset, '--out', join(home, 'x.timbre'));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/made with --steps 60 \(now 61\).*--fresh/);
  });
});
