// Intelligibility by speech recognition: Debian's pocketsphinx (US English model) on 16 kHz mono 16-bit WAV.
// Finds whichever CLI the installed version has: `pocketsphinx single FILE` (5.x, JSON) or `pocketsphinx_continuous -infile FILE` (0.8).

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resample } from '../audio/resample.js';
import { encodeWav } from '../audio/wav.js';
import { findProgram } from '../corpus/voices.js';
import { AsrUnavailableError } from './errors.js';

/** A speech recogniser: mono samples at any rate → transcript text. */
export interface SpeechRecognizer {
  /** e.g. "pocketsphinx_continuous (pocketsphinx 0.8)". */
  readonly name: string;
  transcribe(samples: Float32Array, sampleRateHz: number): Promise<string>;
  /** Removes its temp folder. */
  dispose(): Promise<void>;
}

/** Which pocketsphinx CLI is installed, or null. */
export interface PocketsphinxCli {
  readonly program: string;
  readonly style: 'single' | 'continuous';
}

/** Finds pocketsphinx on PATH: the 5.x `pocketsphinx` (sub-command `single`) first, else 0.8's `pocketsphinx_continuous`. */
export function detectPocketsphinx(env: NodeJS.ProcessEnv = process.env): PocketsphinxCli | null {
  const modern = findProgram('pocketsphinx', env);
  if (modern !== null) return { program: modern, style: 'single' };
  const legacy = findProgram('pocketsphinx_continuous', env);
  if (legacy !== null) return { program: legacy, style: 'continuous' };
  return null;
}

/** The recogniser's sample rate (the en-us acoustic model is 16 kHz). */
export const ASR_SAMPLE_RATE_HZ = 16_000;

function run(program: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new AsrUnavailableError(`${program} failed: ${(stderr || error.message).trim().split('\n').slice(-2).join(' ')}`));
      else resolve(stdout);
    });
  });
}

/** Text of `pocketsphinx single` output: one JSON object per utterance with the hypothesis in `t`. */
export function parseSingleOutput(stdout: string): string {
  const words: string[] = [];
  for (const line of stdout.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    const parsed = JSON.parse(trimmed) as { t?: unknown };
    if (typeof parsed.t === 'string' && parsed.t.trim() !== '') words.push(parsed.t.trim());
  }
  return words.join(' ');
}

/** Text of `pocketsphinx_continuous -infile` output: hypothesis lines on stdout (logs go to -logfn). */
export function parseContinuousOutput(stdout: string): string {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(INFO|ERROR|WARN|FATAL)/.test(l))
    .join(' ');
}

/** Starts a pocketsphinx recogniser; `AsrUnavailableError` (naming the apt packages) when none is installed. */
export async function createPocketsphinx(env: NodeJS.ProcessEnv = process.env): Promise<SpeechRecognizer> {
  const cli = detectPocketsphinx(env);
  if (cli === null) {
    throw new AsrUnavailableError('pocketsphinx is not installed (needed for the intelligibility metric); install it with: sudo apt-get install pocketsphinx pocketsphinx-en-us, or pass --skip-asr');
  }
  const folder = await mkdtemp(join(tmpdir(), 'timbre-asr-'));
  let counter = 0;
  return {
    name: cli.style === 'single' ? 'pocketsphinx single (5.x)' : 'pocketsphinx_continuous (0.8)',
    async transcribe(samples, sampleRateHz) {
      const wav = encodeWav(resample(samples, sampleRateHz, ASR_SAMPLE_RATE_HZ), ASR_SAMPLE_RATE_HZ, { bitDepth: 16 });
      const path = join(folder, `u${counter++}.wav`);
      await writeFile(path, wav);
      try {
        if (cli.style === 'single') return parseSingleOutput(await run(cli.program, ['single', path]));
        return parseContinuousOutput(await run(cli.program, ['-infile', path, '-logfn', '/dev/null']));
      } finally {
        await rm(path, { force: true });
      }
    },
    async dispose() {
      await rm(folder, { recursive: true, force: true });
    },
  };
}
