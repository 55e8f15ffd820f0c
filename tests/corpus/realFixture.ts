// A tiny fake system tree for the real-speech import: KTuberling and KLettres index files with a handful of
// recordings. WAV clips are made here (harmonic tones with silence around them, a distinct pitch each, so no two
// files are equal); tests/corpus/fixtures/ holds one Ogg Vorbis and one Ogg Opus file made with
//   sox -n -r 44100 -c 2 -b 16 v.wav synth 0.5 sawtooth 140 vol 0.25 pad 0.15 0.15 && sox v.wav -C 0 vowel-140hz-stereo.ogg
//   sox -n -r 48000 -c 1 -b 16 o.wav synth 0.5 sawtooth 210 vol 0.25 pad 0.15 0.15 && opusenc --bitrate 24 o.wav vowel-210hz.opus

import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../../src/audio/wav.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const VORBIS_FIXTURE = join(FIXTURES, 'vowel-140hz-stereo.ogg');
export const OPUS_FIXTURE = join(FIXTURES, 'vowel-210hz.opus');

/** A vowel-like tone: `seconds` of a harmonic series at `f0Hz`, with 0.2 s of silence before and after. */
export function toneWav(f0Hz: number, seconds = 0.4, sampleRateHz = 16000): Uint8Array {
  const pad = Math.round(0.2 * sampleRateHz);
  const n = Math.round(seconds * sampleRateHz);
  const samples = new Float32Array(n + 2 * pad);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let h = 1; h * f0Hz < sampleRateHz / 2 && h <= 12; h++) v += Math.sin((2 * Math.PI * h * f0Hz * i) / sampleRateHz) / h;
    samples[pad + i] = 0.2 * v * Math.min(1, i / 200, (n - i) / 200);
  }
  return encodeWav(samples, sampleRateHz, { bitDepth: 16 });
}

async function put(root: string, systemPath: string, bytes: Uint8Array | string): Promise<void> {
  const path = join(root, ...systemPath.split('/').filter((p) => p !== ''));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/** What the fixture tree holds. */
export interface RealFixture {
  root: string;
  /** System paths of the recordings, by short name. */
  paths: Record<string, string>;
}

const KT = '/usr/share/ktuberling/sounds';
const KL = '/usr/share/klettres';

/**
 * Writes the tree: ktuberling en (ball, bow: Vorbis; hat: WAV; "gone" listed but absent; "cap" names bow's file
 * again), ktuberling fr (ball: Opus, hat: WAV), ktuberling uk (held-out language: two WAVs), ktuberling sr and
 * sr@latin with identical files (as the package ships them), klettres en (letters A, B as WAV).
 */
export async function writeRealFixture(): Promise<RealFixture> {
  const root = await mkdtemp(join(tmpdir(), 'timbre-real-root-'));
  const paths: Record<string, string> = {};
  const file = async (name: string, systemPath: string, bytes: Uint8Array | Promise<Uint8Array>): Promise<void> => {
    paths[name] = systemPath;
    await put(root, systemPath, await bytes);
  };
  const vorbis = new Uint8Array(await readFile(VORBIS_FIXTURE));
  await file('en-ball', `${KT}/en/ball.ogg`, vorbis);
  // WAV bytes under a .ogg name: the decoder goes by content, not by file name.
  await file('en-bow', `${KT}/en/bow.ogg`, toneWav(120));
  await file('en-hat', `${KT}/en/hat.wav`, toneWav(125, 0.5, 22050));
  await put(
    root,
    `${KT}/en.soundtheme`,
    [
      '<language code="en">',
      '  <!-- <sound name="commented" file="en/commented.ogg" /> -->',
      '  <sound name="ball" file="en/ball.ogg" />',
      '  <sound name="bow" file="en/bow.ogg" />',
      '  <sound name="egypt_hat" file="en/hat.wav" />',
      '  <sound name="gone" file="en/gone.ogg" />',
      '  <sound name="cap" file="en/bow.ogg" />',
      '</language>',
    ].join('\n'),
  );
  await file('fr-ball', `${KT}/fr/balle.opus`, new Uint8Array(await readFile(OPUS_FIXTURE)));
  await file('fr-hat', `${KT}/fr/chapeau.wav`, toneWav(220));
  await put(root, `${KT}/fr.soundtheme`, '<language code="fr">\n<sound name="ball" file="fr/balle.opus"/>\n<sound name="egypt_hat" file="fr/chapeau.wav"/>\n</language>\n');
  await file('uk-ball', `${KT}/uk/ball.wav`, toneWav(230));
  await file('uk-hat', `${KT}/uk/hat.wav`, toneWav(240));
  await put(root, `${KT}/uk.soundtheme`, '<language code="uk">\n<sound name="ball" file="uk/ball.wav"/>\n<sound name="egypt_hat" file="uk/hat.wav"/>\n</language>\n');
  const serbian = toneWav(180);
  await file('sr-ball', `${KT}/sr/lopta.wav`, serbian);
  await file('sr-latin-ball', `${KT}/sr@latin/lopta.wav`, serbian);
  await put(root, `${KT}/sr.soundtheme`, '<language code="sr">\n<sound name="ball" file="sr/lopta.wav"/>\n</language>\n');
  await put(root, `${KT}/sr@latin.soundtheme`, '<language code="sr@latin">\n<sound name="ball" file="sr@latin/lopta.wav"/>\n</language>\n');
  await file('kl-a', `${KL}/en/alpha/A.wav`, toneWav(150));
  await file('kl-b', `${KL}/en/alpha/B.wav`, toneWav(155));
  await put(
    root,
    `${KL}/en/sounds.xml`,
    '<klettres>\n<language code="en">\n<alphabet>\n<sound name="A" file="en/alpha/A.wav" />\n<sound name="B" file="en/alpha/B.wav" />\n</alphabet>\n</language>\n</klettres>\n',
  );
  return { root, paths };
}

/** Path of a fixture recording on disk. */
export function onFixture(fixture: RealFixture, name: string): string {
  return join(fixture.root, ...fixture.paths[name]!.split('/').filter((p) => p !== ''));
}

/** Copies a fixture file over another (to damage or replace it). */
export async function replaceWith(fixture: RealFixture, name: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(onFixture(fixture, name), bytes);
}
