// Fine-tuning a VAE with a user voice: the speaker table grows by one row, only that row trains, the other
// voices convert bit-identically, and the new model file lands under TIMBRE_HOME/models.

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

const home = mkdtempSync(join(tmpdir(), 'timbre-vae-add-'));
const base = join(home, 'base.timbre');

beforeAll(async () => {
  await useWasm();
  await writeTinyVae(base, 5);
  const wav = join(home, 'reading.wav');
  const text =
    'The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy to tell the depth of a well. ' +
    'These days a chicken leg is a rare dish. Rice is often served in round bowls. The juice of lemons makes fine punch.';
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', wav, text]);
  await addVoice('anna', [wav], { home });
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
    before.dispose();
    after.dispose();
  });

  it('refuses to overwrite the new model without overwrite, and an unknown user voice', async () => {
    await expect(addVoiceToVae({ voice: 'anna', home, base, steps: 1 })).rejects.toThrow(/already exists/);
    await expect(addVoiceToVae({ voice: 'nobody', home, base, steps: 1 })).rejects.toThrow(/no voice "nobody"/);
  });
});
