// The corpus build on a 2 × 2 subset in temp homes: determinism, resume, repair, nothing-to-do, missing synthesizers.

import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from '../../src/corpus/build.js';
import { SynthesizerMissingError } from '../../src/corpus/errors.js';
import { readManifest } from '../../src/corpus/manifest.js';
import { readVerifiedFile, sha256Hex } from '../../src/corpus/store.js';
import { trimSilence } from '../../src/corpus/process.js';

const VOICES = ['flite-slt', 'espeak-m3'];
const homes: string[] = [];
const newHome = async (): Promise<string> => {
  const home = await mkdtemp(join(tmpdir(), 'timbre-corpus-test-'));
  homes.push(home);
  return home;
};
let home: string;
let firstHash: string;

beforeAll(async () => {
  home = await newHome();
  firstHash = (await buildCorpus({ home, voices: VOICES, sentences: 2, jobs: 2 })).manifestHash;
});
afterAll(async () => {
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});

describe('corpus build', () => {
  it('writes a complete manifest whose files all verify', async () => {
    const manifest = (await readManifest(join(home, 'corpus')))!;
    expect(manifest.complete).toBe(true);
    expect(manifest.voices.map((v) => v.id)).toEqual(VOICES);
    expect(manifest.utterances).toHaveLength(4);
    expect(manifest.averages).toHaveLength(4);
    expect(manifest.melStats?.mean).toHaveLength(80);
    for (const u of manifest.utterances) {
      for (const file of [u.wav, u.mel, u.f0]) expect(await readVerifiedFile(join(home, 'corpus'), file)).not.toBeNull();
      expect(u.mel.bytes).toBe(u.frames * 80 * 4);
    }
    expect(sha256Hex(await readFile(join(home, 'corpus', 'manifest.json')))).toBe(firstHash);
  });

  it('is deterministic: a second home gives the same manifest hash', async () => {
    const other = await buildCorpus({ home: await newHome(), voices: VOICES, sentences: 2, jobs: 1 });
    expect(other.manifestHash).toBe(firstHash);
  });

  it('does nothing on a second run and says so', async () => {
    const again = await buildCorpus({ home, voices: VOICES, sentences: 2 });
    expect(again.nothingToDo).toBe(true);
    expect(again.rendered).toBe(0);
    expect(again.manifestHash).toBe(firstHash);
  });

  it('rebuilds a deleted and a corrupted cached file, ending with the same hashes', async () => {
    const manifest = (await readManifest(join(home, 'corpus')))!;
    const [first, second] = manifest.utterances;
    await unlink(join(home, 'corpus', first!.wav.path));
    const melPath = join(home, 'corpus', second!.mel.path);
    const bytes = await readFile(melPath);
    bytes[100] = bytes[100]! ^ 0xff; // same size, different content
    await writeFile(melPath, bytes);
    const repaired = await buildCorpus({ home, voices: VOICES, sentences: 2 });
    expect(repaired.repaired).toBe(2);
    expect(repaired.rendered).toBe(2);
    expect(repaired.manifestHash).toBe(firstHash);
  });

  it('resumes an interrupted build to the same result', async () => {
    const resumedHome = await newHome();
    const controller = new AbortController();
    await expect(
      buildCorpus({
        home: resumedHome,
        voices: VOICES,
        sentences: 2,
        jobs: 1,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.phase === 'render' && event.done === 1) controller.abort();
        },
      }),
    ).rejects.toThrow(/run it again to resume/);
    const partial = (await readManifest(join(resumedHome, 'corpus')))!;
    expect(partial.complete).toBe(false);
    expect(partial.utterances).toHaveLength(1);
    const resumed = await buildCorpus({ home: resumedHome, voices: VOICES, sentences: 2 });
    expect(resumed.rendered).toBe(3);
    expect(resumed.manifestHash).toBe(firstHash);
  });

  it('names the apt package when a synthesizer is missing', async () => {
    const build = buildCorpus({ home: await newHome(), voices: ['festival-ked'], sentences: 1, env: { PATH: '/nonexistent' } });
    await expect(build).rejects.toBeInstanceOf(SynthesizerMissingError);
    await expect(build).rejects.toThrow(/apt-get install festival/);
  });

  it('pads the silence margin where a synthesizer starts speaking at once', () => {
    const rate = 1000;
    const speech = new Float32Array(500).fill(0.5); // speech from sample 0, no leading silence
    const trimmed = trimSilence(speech, rate, -40, 0.05);
    expect(trimmed.length).toBe(600);
    expect(trimmed[0]).toBe(0);
    expect(trimmed[49]).toBe(0);
    expect(trimmed[50]).toBe(0.5);
  });
});
