// The real-speech import on a fake system tree (tests/corpus/realFixture.ts): what it records, determinism,
// resuming after an abort, repair, nothing-to-do, damaged and missing input, and the reader API over the result.

import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorpusNotBuiltError } from '../../src/corpus/errors.js';
import { importRealSpeech, RealSpeechMissingError, speakerF0Stats, type ImportRealSpeechOptions } from '../../src/corpus/realImport.js';
import { readRealManifest, REAL_SPEECH_FOLDER, type RealSpeechManifest } from '../../src/corpus/realManifest.js';
import { openRealSpeech } from '../../src/corpus/realSpeech.js';
import { clipSplit } from '../../src/corpus/realSplit.js';
import { readVerifiedFile, sha256Hex } from '../../src/corpus/store.js';
import { command as corpusCommand } from '../../src/cli/commands/corpus.js';
import { onFixture, replaceWith, writeRealFixture, type RealFixture } from './realFixture.js';

const temps: string[] = [];
const newHome = async (): Promise<string> => {
  const home = await mkdtemp(join(tmpdir(), 'timbre-real-test-'));
  temps.push(home);
  return home;
};
let fixture: RealFixture;
let home: string;
let firstHash: string;
let manifest: RealSpeechManifest;
const run = (extra: Partial<ImportRealSpeechOptions> = {}) =>
  importRealSpeech({ systemRoot: fixture.root, packageVersion: (p) => `1.0-${p}`, ...extra });

beforeAll(async () => {
  fixture = await writeRealFixture();
  temps.push(fixture.root);
  home = await newHome();
  firstHash = (await run({ home })).manifestHash;
  manifest = readRealManifest(join(home, REAL_SPEECH_FOLDER))!;
});
afterAll(async () => {
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

describe('real-speech import', () => {
  it('imports every listed recording once, with speaker, language, label, text, package and path', () => {
    expect(manifest.complete).toBe(true);
    expect(manifest.speakers.map((s) => s.id)).toEqual(['klettres-en', 'ktuberling-en', 'ktuberling-fr', 'ktuberling-sr', 'ktuberling-uk']);
    expect(manifest.clips.map((c) => c.id)).toEqual([
      'klettres-en/alpha-A',
      'klettres-en/alpha-B',
      'ktuberling-en/ball',
      'ktuberling-en/bow',
      'ktuberling-en/hat',
      'ktuberling-fr/balle',
      'ktuberling-fr/chapeau',
      'ktuberling-sr/lopta',
      'ktuberling-uk/ball',
      'ktuberling-uk/hat',
    ]);
    const ball = manifest.clips.find((c) => c.id === 'ktuberling-en/ball')!;
    expect(ball).toMatchObject({ speaker: 'ktuberling-en', language: 'en', label: 'ball', text: 'ball' });
    expect(ball.source).toMatchObject({ aptPackage: 'ktuberling-data', packageVersion: '1.0-ktuberling-data', path: '/usr/share/ktuberling/sounds/en/ball.ogg', format: 'vorbis', sampleRateHz: 44100, channels: 2 });
    expect(manifest.clips.find((c) => c.id === 'ktuberling-en/hat')).toMatchObject({ label: 'egypt_hat', text: 'hat' });
    expect(manifest.clips.find((c) => c.id === 'ktuberling-en/bow')).toMatchObject({ aliases: ['cap'], source: { format: 'wav' } });
    expect(manifest.clips.find((c) => c.id === 'ktuberling-fr/balle')).toMatchObject({ label: 'ball', text: null, source: { format: 'opus', sampleRateHz: 48000 } });
    expect(manifest.clips.find((c) => c.id === 'klettres-en/alpha-A')).toMatchObject({ label: 'letter A', text: 'A', source: { aptPackage: 'klettres-data' } });
    expect(manifest.sources.map((s) => [s.id, s.clips, s.license])).toEqual([
      ['ktuberling', 8, 'GPL-2+'],
      ['klettres', 2, 'GPL-2+'],
    ]);
  });

  it('processes clips like the corpus: 22 050 Hz 16-bit WAV, log-mel and F0 that verify, durations about the tone', async () => {
    const root = join(home, REAL_SPEECH_FOLDER);
    for (const clip of manifest.clips) {
      for (const file of [clip.wav, clip.mel, clip.f0]) expect(await readVerifiedFile(root, file)).not.toBeNull();
      expect(clip.mel.bytes).toBe(clip.frames * 80 * 4);
      // Tones of 0.4–0.5 s, trimmed to speech with 50 ms either side.
      expect(clip.durationSeconds).toBeGreaterThan(0.4);
      expect(clip.durationSeconds).toBeLessThan(0.75);
    }
    const set = openRealSpeech({ home });
    expect(set.audio('ktuberling-fr/chapeau').sampleRateHz).toBe(22050);
    // The F0 tracker finds the tone's pitch (220 Hz) in the cached track.
    expect(set.manifest.clips.find((c) => c.id === 'ktuberling-fr/chapeau')!.f0MedianHz).toBeCloseTo(220, -1);
    expect(set.manifest.clips.find((c) => c.id === 'ktuberling-en/ball')!.f0MedianHz).toBeCloseTo(140, -1);
    expect(set.manifest.clips.find((c) => c.id === 'ktuberling-fr/balle')!.f0MedianHz).toBeCloseTo(210, -1);
  });

  it('records skipped files: listed but absent, and the same audio shipped twice', () => {
    expect(manifest.skipped).toEqual([
      { path: '/usr/share/ktuberling/sounds/en/gone.ogg', reason: 'listed as "gone" in the package index but absent' },
      { path: '/usr/share/ktuberling/sounds/sr@latin/lopta.wav', reason: 'same audio as ktuberling-sr/lopta' },
    ]);
  });

  it('holds out whole languages and splits the other clips by a hash of the word, the same for every speaker', () => {
    const uk = manifest.clips.filter((c) => c.speaker === 'ktuberling-uk');
    expect(uk.every((c) => c.split === 'heldout')).toBe(true);
    expect(manifest.speakers.find((s) => s.id === 'ktuberling-uk')!.heldOut).toBe(true);
    expect(manifest.clips.filter((c) => c.split === 'heldout').map((c) => c.speaker)).toEqual(['ktuberling-uk', 'ktuberling-uk']);
    for (const label of ['ball', 'egypt_hat']) {
      const splits = manifest.clips.filter((c) => c.label === label && c.speaker.startsWith('ktuberling-') && c.speaker !== 'ktuberling-uk').map((c) => c.split);
      expect(new Set(splits)).toEqual(new Set([clipSplit(`ktuberling:${label}`)]));
    }
    const counts = { train: 0, validation: 0, test: 0, heldout: 0 };
    for (const c of manifest.clips) counts[c.split]++;
    expect(manifest.split.counts).toEqual(counts);
    const set = openRealSpeech({ home });
    expect(set.heldOutSpeakers).toEqual(['ktuberling-uk']);
    expect(set.clips({ split: ['train', 'validation', 'test'] }).some((c) => c.speaker === 'ktuberling-uk')).toBe(false);
  });

  it('is deterministic: a second home gives a byte-identical manifest', async () => {
    const other = await newHome();
    const result = await run({ home: other });
    expect(result.manifestHash).toBe(firstHash);
    expect(sha256Hex(await readFile(join(other, REAL_SPEECH_FOLDER, 'manifest.json')))).toBe(firstHash);
  });

  it('does nothing on a second run and says so', async () => {
    const again = await run({ home });
    expect(again).toMatchObject({ nothingToDo: true, imported: 0, repaired: 0, manifestHash: firstHash });
  });

  it('resumes an aborted import and ends with the same manifest as a clean one', async () => {
    const resumed = await newHome();
    const controller = new AbortController();
    await expect(
      run({
        home: resumed,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'import' && e.done === 4) controller.abort();
        },
      }),
    ).rejects.toThrow(CorpusNotBuiltError);
    const partial = readRealManifest(join(resumed, REAL_SPEECH_FOLDER))!;
    expect(partial.complete).toBe(false);
    expect(partial.clips).toHaveLength(4);
    expect(() => openRealSpeech({ home: resumed })).toThrow(/incomplete/);
    const finished = await run({ home: resumed });
    expect(finished.imported).toBe(6);
    expect(finished.manifestHash).toBe(firstHash);
  });

  it('re-imports a deleted or corrupted cached file, ending with the same hash', async () => {
    const repairHome = await newHome();
    await run({ home: repairHome });
    const root = join(repairHome, REAL_SPEECH_FOLDER);
    const [first, second] = manifest.clips;
    await unlink(join(root, ...first!.mel.path.split('/')));
    await writeFile(join(root, ...second!.wav.path.split('/')), 'not a wav');
    const repaired = await run({ home: repairHome });
    expect(repaired).toMatchObject({ imported: 2, repaired: 2, manifestHash: firstHash });
  });

  it('opens the set for training: clips by split, speaker and language, mels, F0 and statistics', () => {
    const set = openRealSpeech({ home });
    expect(set.speakers.map((s) => s.speakerIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(set.trainingSpeakers).toEqual(['klettres-en', 'ktuberling-en', 'ktuberling-fr', 'ktuberling-sr']);
    expect(set.clips({ languages: ['fr'] }).map((c) => c.id)).toEqual(['ktuberling-fr/balle', 'ktuberling-fr/chapeau']);
    expect(set.clips({ sources: ['klettres'] })).toHaveLength(2);
    expect(set.clips({ minSourceSampleRateHz: 44100 }).map((c) => c.id)).toEqual(['ktuberling-en/ball', 'ktuberling-fr/balle']);
    const mel = set.mel('ktuberling-en/ball');
    expect(mel.mels).toBe(80);
    expect(mel.data).toHaveLength(mel.frames * 80);
    expect(set.f0('ktuberling-en/ball')).toHaveLength(set.clip('ktuberling-en/ball').f0Frames);
    const stats = set.melStats();
    expect(stats.mean).toHaveLength(80);
    expect(stats.frames).toBe(set.clips({ split: 'train' }).reduce((n, c) => n + c.frames, 0));
    expect(() => set.clip('ktuberling-en/nope')).toThrow(/no real-speech clip "ktuberling-en\/nope"/);
    expect(() => set.clips({ speakers: ['ktuberling-xx'] })).toThrow(/not a speaker/);
  });

  it('is described by timbre corpus info, beside or without the synthetic corpus', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, interactive: false };
    expect(await corpusCommand.run(['info', '--home', home], io)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/real speech: .*corpus-real/);
    expect(text).toMatch(/ktuberling-uk\s+2 clips .* held out/);
    expect(text).toMatch(/ktuberling-data 1\.0-ktuberling-data \(GPL-2\+\): 8 clips/);
    out.length = 0;
    expect(await corpusCommand.run(['info', '--home', home, '--json'], io)).toBe(0);
    expect(JSON.parse(out.join('')).realSpeech.clips).toBe(10);
  });
});

describe('real-speech import: bad input', () => {
  it('names the packages to install when none is installed', async () => {
    const empty = await newHome();
    const error = await importRealSpeech({ home: await newHome(), systemRoot: empty }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealSpeechMissingError);
    expect((error as Error).message).toMatch(/sudo apt-get install ktuberling-data klettres-data asterisk-core-sounds-en-wav/);
  });

  it('names the package of a requested source that is missing, and rejects unknown sources', async () => {
    await expect(run({ home: await newHome(), sources: ['asterisk-en'] })).rejects.toThrow(/asterisk-core-sounds-en-wav is not installed .*sudo apt-get install asterisk-core-sounds-en-wav/);
    await expect(run({ home: await newHome(), sources: ['festival'] })).rejects.toThrow(/"festival" is not a real-speech source/);
  });

  it('says to reinstall a package whose index lists no recording that exists', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'timbre-real-root-'));
    temps.push(bare);
    await mkdir(join(bare, 'usr/share/klettres/en'), { recursive: true });
    await writeFile(join(bare, 'usr/share/klettres/en/sounds.xml'), '<klettres><sound name="A" file="en/alpha/A.ogg"/></klettres>');
    await expect(importRealSpeech({ home: await newHome(), systemRoot: bare, sources: ['klettres'] })).rejects.toThrow(/klettres-data: no recordings found .*--reinstall klettres-data/);
  });

  it('skips damaged files with a warning naming each, and imports the rest', async () => {
    const damaged = await writeRealFixture();
    temps.push(damaged.root);
    const vorbis = new Uint8Array(await readFile(onFixture(damaged, 'en-ball')));
    await replaceWith(damaged, 'en-ball', vorbis.subarray(0, Math.floor(vorbis.length * 0.6))); // truncated
    const flipped = new Uint8Array(await readFile(onFixture(damaged, 'fr-ball')));
    flipped[Math.floor(flipped.length / 2)] ^= 0xff; // one byte altered: Ogg checksum fails
    await replaceWith(damaged, 'fr-ball', flipped);
    await replaceWith(damaged, 'kl-a', 'RIFF....WAVEjunk'); // header only
    const warnings: string[] = [];
    const result = await importRealSpeech({ home: await newHome(), systemRoot: damaged.root, packageVersion: () => null, onMessage: (t) => warnings.push(t) });
    expect(result.clips).toBe(7);
    const reasons = new Map(result.skipped.map((s) => [s.path, s.reason]));
    expect(reasons.get('/usr/share/ktuberling/sounds/en/ball.ogg')).toMatch(/^not imported: .*truncated/);
    expect(reasons.get('/usr/share/ktuberling/sounds/fr/balle.opus')).toMatch(/^not imported: .*checksum mismatch/);
    expect(reasons.get('/usr/share/klettres/en/alpha/A.wav')).toMatch(/^not imported: /);
    for (const path of ['/usr/share/ktuberling/sounds/en/ball.ogg', '/usr/share/ktuberling/sounds/fr/balle.opus', '/usr/share/klettres/en/alpha/A.wav']) {
      expect(warnings.some((w) => w.startsWith(`warning: skipped ${path}`))).toBe(true);
    }
  });
});

describe('speaker F0 statistics', () => {
  const track = (hz: number, frames = 20): Float32Array => Float32Array.from({ length: frames }, (_, i) => (i % 5 === 0 ? 0 : hz * (1 + 0.01 * (i % 3))));

  it('flags a folder whose clips fall into a low and a high voice an octave apart', () => {
    const tracks = [...Array.from({ length: 6 }, (_, i) => track(118 + i)), ...Array.from({ length: 4 }, (_, i) => track(236 + 2 * i))];
    const stats = speakerF0Stats(tracks);
    expect(stats.maybeSeveralSpeakers).toBe(true);
    expect(stats.lowGroupFraction).toBe(0.6);
    expect(stats.lowGroupHz).toBeCloseTo(121, -1);
    expect(stats.highGroupHz).toBeCloseTo(241, -1);
  });

  it('does not flag one voice, nor a few outlying clips', () => {
    expect(speakerF0Stats(Array.from({ length: 10 }, (_, i) => track(200 + 3 * i))).maybeSeveralSpeakers).toBe(false);
    // One clip in ten an octave down (a creaky or mistracked word) is under the 20 % needed.
    expect(speakerF0Stats([track(60), ...Array.from({ length: 9 }, (_, i) => track(124 + i))]).maybeSeveralSpeakers).toBe(false);
    expect(speakerF0Stats([new Float32Array(10)])).toMatchObject({ medianHz: 0, maybeSeveralSpeakers: false });
  });
});
