// Renders one sentence with one corpus voice by running its synthesizer as a child process
// (text in a temp file, WAV out to a temp file), and returns the decoded samples.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { SynthesizerMissingError } from './errors.js';
import type { CorpusVoice } from './voices.js';

/** Raw synthesizer output: mono samples at the synthesizer's own rate. */
export interface RenderedSpeech {
  samples: Float32Array;
  sampleRateHz: number;
}

/** Longest a synthesizer may take for one sentence before it is killed, ms. */
const RENDER_TIMEOUT_MS = 60_000;

/** Program and arguments that read `textPath` and write a WAV to `wavPath`. */
export function synthCommand(voice: CorpusVoice, textPath: string, wavPath: string): { program: string; args: string[] } {
  switch (voice.engine) {
    case 'flite':
      return { program: 'flite', args: ['-voice', voice.engineVoice, '-f', textPath, '-o', wavPath] };
    case 'festival':
      return { program: 'text2wave', args: ['-eval', `(voice_${voice.engineVoice})`, '-o', wavPath, textPath] };
    case 'espeak-ng':
      return { program: 'espeak-ng', args: ['-v', voice.engineVoice, '-w', wavPath, '-f', textPath] };
  }
}

function runProgram(program: string, args: string[], aptPackage: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RENDER_TIMEOUT_MS);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new SynthesizerMissingError(`${program}`, aptPackage) : error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-500)}`));
    });
  });
}

/** Synthesizes `text` with `voice`; the program's temp files live in a fresh folder under `workDir`. */
export async function renderSentence(voice: CorpusVoice, text: string, workDir: string = tmpdir()): Promise<RenderedSpeech> {
  const dir = await mkdtemp(join(workDir, 'render-'));
  try {
    const textPath = join(dir, 'text.txt');
    const wavPath = join(dir, 'out.wav');
    await writeFile(textPath, `${text}\n`, 'utf8');
    const { program, args } = synthCommand(voice, textPath, wavPath);
    const aptPackage = voice.engine === 'festival' ? 'festival' : voice.aptPackage;
    await runProgram(program, args, aptPackage);
    const decoded = decodeWav(new Uint8Array(await readFile(wavPath)), { sourceName: `${voice.id} output` });
    return { samples: decoded.samples, sampleRateHz: decoded.sampleRateHz };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
