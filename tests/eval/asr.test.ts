// The pocketsphinx wrapper: output parsing of both CLI generations, detection on PATH, and one real transcription.

import { describe, expect, it } from 'vitest';
import { createPocketsphinx, detectPocketsphinx, parseContinuousOutput, parseSingleOutput } from '../../src/eval/asr.js';
import { AsrUnavailableError } from '../../src/eval/errors.js';

describe('pocketsphinx output', () => {
  it('reads the hypothesis of `pocketsphinx single` JSON lines and of pocketsphinx_continuous', () => {
    expect(parseSingleOutput('{"b":0.0,"d":1.2,"p":1,"t":"the birch canoe","w":[]}\n{"b":1.5,"d":0.4,"p":1,"t":"slid","w":[]}\n')).toBe('the birch canoe slid');
    expect(parseSingleOutput('')).toBe('');
    expect(parseContinuousOutput('the bird can use\nlight on this\n\n')).toBe('the bird can use light on this');
  });

  it('names the apt packages when pocketsphinx is missing', async () => {
    expect(detectPocketsphinx({ PATH: '/nonexistent' })).toBeNull();
    await expect(createPocketsphinx({ PATH: '/nonexistent' })).rejects.toThrow(AsrUnavailableError);
    await expect(createPocketsphinx({ PATH: '/nonexistent' })).rejects.toThrow(/apt-get install pocketsphinx pocketsphinx-en-us/);
  });

  it.runIf(detectPocketsphinx() !== null)('transcribes silence at 22 050 Hz to (almost) nothing', async () => {
    const asr = await createPocketsphinx();
    try {
      const text = await asr.transcribe(new Float32Array(22050), 22050);
      expect(typeof text).toBe('string');
      expect(text.length).toBeLessThan(20);
    } finally {
      await asr.dispose();
    }
  });
});
