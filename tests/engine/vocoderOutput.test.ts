// What every vocoder gives a listener, through the lane pipeline with the shipped VAE and with the source's own mel:
// no sample outside [−1, 1], DC offset under 0.01, and silent stretches of the input no more than 6 dB louder in the
// output than the input's noise floor there. Griffin-Lim and the shipped neural vocoder, with the shipped VAE: an empty
// TIMBRE_HOME, so models trained on this machine do not stand in for what ships.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, beforeAll } from 'vitest';
import { griffinLimVocoder, mulberry32, type Vocoder } from '../../src/audio/griffinLim.js';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { encodeWav } from '../../src/audio/wav.js';
import type { MelConverter } from '../../src/models/converter.js';
import { loadEvalConverter } from '../../src/models/vae/convert.js';
import { loadInstalledVocoder } from '../../src/models/vocoder/convert.js';
import { convertLane, prepareSource } from '../../src/engine/pipeline.js';
import { useWasm } from '../nn/helpers.js';
import { harmonicGlide } from '../audio/signals.js';

const SR = MEL_CONFIG.sampleRateHz;
/** Speech-like glide 1 s, 0.8 s of noise at −60 dBFS RMS, glide 1 s; the noise runs under all of it. */
function inputWithPause(): { samples: Float32Array; pause: [number, number] } {
  const speech = harmonicGlide(120, 180, SR, SR);
  const pause = Math.round(0.8 * SR);
  const samples = new Float32Array(2 * SR + pause);
  const random = mulberry32(9);
  const noiseRms = 10 ** (-60 / 20);
  for (let i = 0; i < samples.length; i++) samples[i] = noiseRms * Math.sqrt(3) * (2 * random() - 1);
  samples.set(speech.map((v, i) => v + samples[i]!), 0);
  samples.set(speech.map((v, i) => v + samples[SR + pause + i]!), SR + pause);
  return { samples, pause: [SR, SR + pause] };
}

const rms = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
const db = (x: number): number => 20 * Math.log10(Math.max(x, 1e-12));

const identity: MelConverter = { family: 'vae', label: 'the source mel', targetVoices: ['*'], convert: async (mel) => mel, dispose: () => {} };

describe('vocoder output in the pipeline', () => {
  const vocoders: [string, Vocoder][] = [['griffin-lim 32', griffinLimVocoder(32)]];
  let vae: MelConverter;
  let home: string;
  beforeAll(async () => {
    await useWasm();
    home = await mkdtemp(join(tmpdir(), 'timbre-vocoder-output-'));
    vae = await loadEvalConverter({ home, targetVoices: ['flite-slt'] });
    vocoders.push(['neural', (await loadInstalledVocoder(home)).vocode]);
  });
  afterAll(async () => {
    vae?.dispose();
    await rm(home, { recursive: true, force: true });
  });

  it('stays in [−1, 1] with no DC, and keeps pauses within 6 dB of the input noise floor', async () => {
    const { samples, pause } = inputWithPause();
    const source = prepareSource(encodeWav(samples, SR), { maxDurationSeconds: 60 });
    // Judged away from the edges, where the speech's own decay and the vocoder's window reach in.
    const margin = Math.round(0.15 * SR);
    const floorDb = db(rms(source.speech.subarray(pause[0] + margin, pause[1] - margin)));
    for (const [name, vocoder] of vocoders) {
      for (const converter of [identity, vae]) {
        const lane = await convertLane(source, converter, { voiceId: 'flite-slt' }, {}, { vocoder });
        const out = lane.samples;
        const peak = out.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const dc = Math.abs(out.reduce((s, v) => s + v, 0) / out.length);
        const pauseDb = db(rms(out.subarray(pause[0] + margin, pause[1] - margin)));
        const where = `${name}, ${converter.label}`;
        expect(peak, where).toBeLessThanOrEqual(1);
        expect(dc, where).toBeLessThan(0.01);
        expect(pauseDb - floorDb, `${where}: pause ${pauseDb.toFixed(1)} dBFS, input floor ${floorDb.toFixed(1)} dBFS`).toBeLessThanOrEqual(6);
      }
    }
  });
});
