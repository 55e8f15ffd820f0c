// Adding a user voice to a VAE: the speaker table grows by one row and the voice gets a decoder of its own (fine-tuned
// from the shared one), the other voices convert bit-identically, and the new model file lands under TIMBRE_HOME/models.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVoice } from '../../src/corpus/userVoices.js';
import { addVoiceToVae } from '../../src/models/vae/train.js';
import { loadMelConverter } from '../../src/models/vae/convert.js';
import { useWasm } from '../nn/helpers.js';
import { syntheticUtterance, TINY_VOICES, writeTinyVae } from './vaeFixtures.js';
import { addReadingVoice } from '../fixtures/reading.js';

const home = mkdtempSync(join(tmpdir(), 'timbre-vae-add-'));
const base = join(home, 'base.timbre');

beforeAll(async () => {
  await useWasm();
  await writeTinyVae(base, 5);
  await addReadingVoice(home, 'anna', { voice: 'en-us' });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('addVoiceToVae', () => {
  it('adds a user voice as a new target and leaves every other voice unchanged', async () => {
    const result = await addVoiceToVae({ voice: 'anna', home, base, steps: 8, batchSize: 4, logEvery: 4 });
    const expected = join(home, 'models', 'vae-anna', 'model.timbre');
    expect(result.modelPath).toBe(expected);
    expect(existsSync(expected)).toBe(true);
    expect(result.lines.join('\n')).toContain('voice anna added');

    const before = await loadMelConverter(base);
    const after = await loadMelConverter(expected);
    expect(after.targetVoices).toEqual([...TINY_VOICES, 'anna']);
    const annaF0Hz = Math.exp(after.speakerLogF0[3]!); // espeak-ng's default male voice
    expect(annaF0Hz).toBeGreaterThan(70);
    expect(annaF0Hz).toBeLessThan(200);
    const { mel, f0Hz } = syntheticUtterance(2, 1, 32);
    for (const voiceId of TINY_VOICES) {
      const a = await before.convert(mel, { voiceId }, { settings: { sourceF0Hz: f0Hz } });
      const b = await after.convert(mel, { voiceId }, { settings: { sourceF0Hz: f0Hz } });
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
    const anna = await after.convert(mel, { voiceId: 'anna' }, { settings: { sourceF0Hz: f0Hz } });
    expect(anna.frames).toBe(32);
    // The voice decodes with its own decoder, which moved away from the shared one; the shared one did not move.
    expect(after.model.adaptedSpeakers).toEqual([3]);
    const own = after.model.voiceDecoders.get(3)!.getWeights();
    const shared = after.model.decoder.getWeights();
    const baseShared = before.model.decoder.getWeights();
    expect([...own.keys()]).toEqual([...shared.keys()]);
    expect([...own].some(([name, w]) => w.data.some((v, i) => v !== shared.get(name)!.data[i]))).toBe(true);
    expect([...shared].every(([name, w]) => w.data.every((v, i) => v === baseShared.get(name)!.data[i]))).toBe(true);
    before.dispose();
    after.dispose();
  });

  it('adds a second voice to the extended model: both keep their own decoders, the first converts as before', async () => {
    const wav = join(home, 'reading2.wav');
    execFileSync('espeak-ng', ['-v', 'en-us+f3', '-s', '160', '-w', wav, 'A large size in stockings is hard to sell. The boy was there when the sun rose. A rod is used to catch pink salmon. The source of the huge river is the clear spring.']);
    await addVoice('bea', [wav], { home });
    const first = join(home, 'models', 'vae-anna', 'model.timbre');
    const result = await addVoiceToVae({ voice: 'bea', home, base: first, steps: 4, batchSize: 4, logEvery: 4, config: { decoderLearningRate: 1e-3 } });
    const before = await loadMelConverter(first);
    const after = await loadMelConverter(result.modelPath!);
    expect(after.targetVoices).toEqual([...TINY_VOICES, 'anna', 'bea']);
    expect(after.model.adaptedSpeakers).toEqual([3, 4]);
    const { mel, f0Hz } = syntheticUtterance(3, 2, 32);
    const a = await before.convert(mel, { voiceId: 'anna' }, { settings: { sourceF0Hz: f0Hz } });
    const b = await after.convert(mel, { voiceId: 'anna' }, { settings: { sourceF0Hz: f0Hz } });
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    before.dispose();
    after.dispose();
  });

  it('trains the speaker row alone when decoderLearningRate is 0 (no decoder of its own)', async () => {
    const output = join(home, 'row-only.timbre');
    const result = await addVoiceToVae({ voice: 'anna', home, base, steps: 4, batchSize: 4, logEvery: 4, output, runDir: join(home, 'row-only-run'), config: { decoderLearningRate: 0 } });
    const after = await loadMelConverter(result.modelPath!);
    expect(after.model.adaptedSpeakers).toEqual([]);
    expect(after.targetVoices).toEqual([...TINY_VOICES, 'anna']);
    after.dispose();
    await expect(addVoiceToVae({ voice: 'anna', home, base, steps: 1, output: join(home, 'x.timbre'), config: { rehearsal: 1 } })).rejects.toThrow(/takes only learningRate, decoderLearningRate, rehearsalWeight/);
  });

  it('refuses to overwrite the new model without overwrite, and an unknown user voice', async () => {
    await expect(addVoiceToVae({ voice: 'anna', home, base, steps: 1 })).rejects.toThrow(/already exists/);
    await expect(addVoiceToVae({ voice: 'nobody', home, base, steps: 1 })).rejects.toThrow(/no voice "nobody"/);
  });
});
