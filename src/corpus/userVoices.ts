// Voices a user adds from their own recordings (TIMBRE_HOME/voices/NAME), and one listing of all
// voices, corpus and user: a voice can be a conversion target (reference audio) or fine-tuning data.

import { readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isClipped, clippedFraction } from '../audio/levels.js';
import { activeRms } from '../audio/loudness.js';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { resample } from '../audio/resample.js';
import { decodeWav, encodeWav } from '../audio/wav.js';
import { readWavFile } from '../io/audioFile.js';
import { timbrePaths } from '../io/paths.js';
import { readCorpusManifest } from './dataset.js';
import { InvalidVoiceNameError, UnknownVoiceError, VoiceRecordingError } from './errors.js';
import type { CorpusManifest } from './manifest.js';
import { DEFAULT_PROCESSING, normalizeLoudness, trimSilence } from './process.js';
import { sha256Hex, writeFileReplacing } from './store.js';
import { CORPUS_VOICES } from './voices.js';

/** Requirements on user recordings. */
export const USER_VOICE_LIMITS = Object.freeze({
  /** Total speech after trimming, seconds. */
  minTotalSeconds: 10,
  /** Active-speech RMS below this is too quiet, dBFS. */
  minActiveRmsDb: -45,
  /** Fraction of 20 ms frames that must hold speech (within 35 dB of the loudest and above −55 dBFS). */
  minSpeechFraction: 0.2,
  /** Longest accepted file, seconds. */
  maxFileSeconds: 600,
});

/** What `voice.json` holds. */
export interface UserVoiceFile {
  format: 'timbre-voice';
  version: 1;
  name: string;
  sampleRateHz: number;
  totalSeconds: number;
  clips: { file: string; source: string; sourceSha256: string; durationSeconds: number; sha256: string }[];
  createdAt: string;
}

/** One entry of `listVoices`. */
export interface VoiceSummary {
  /** Corpus voice id or user voice name. */
  name: string;
  kind: 'corpus' | 'user';
  /** Audio available for this voice, seconds (corpus: all built utterances; 0 when not built). */
  durationSeconds: number;
  /** Utterances (corpus) or clips (user). */
  clips: number;
  description: string;
  /** Corpus voices: other voice ids of the same human speaker. */
  sameSpeakerAs: readonly string[];
}

/** Audio of a voice at 22 050 Hz: user clips, or (corpus voices) train-split utterances up to a length. */
export interface VoiceAudio {
  name: string;
  kind: 'corpus' | 'user';
  sampleRateHz: number;
  clips: Float32Array[];
  durationSeconds: number;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Throws unless `name` is 1–64 letters, digits, dashes or underscores (starting with a letter or digit) and not a corpus voice id. */
export function checkVoiceName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidVoiceNameError(`voice name "${name}" is not allowed: use 1–64 letters, digits, "-" or "_", starting with a letter or digit`);
  }
  const clash = CORPUS_VOICES.find((v) => v.id.toLowerCase() === name.toLowerCase());
  if (clash !== undefined) throw new InvalidVoiceNameError(`voice name "${name}" is taken by the corpus voice ${clash.id}; pick another name`);
}

/** Checks one decoded recording and returns it trimmed, at 22 050 Hz and normalised; throws `VoiceRecordingError` naming the file. */
export function prepareRecording(samples: Float32Array, sampleRateHz: number, source: string): Float32Array {
  if (isClipped(samples)) {
    const percent = (clippedFraction(samples) * 100).toFixed(2);
    throw new VoiceRecordingError(`${source} is clipped (${percent} % of samples at full scale); record again with a lower input level`);
  }
  const rate = MEL_CONFIG.sampleRateHz;
  const resampled = sampleRateHz === rate ? samples : resample(samples, sampleRateHz, rate);
  const rms = activeRms(resampled, rate);
  const rmsDb = rms > 0 ? 20 * Math.log10(rms) : Number.NEGATIVE_INFINITY;
  if (rmsDb < USER_VOICE_LIMITS.minActiveRmsDb) {
    throw new VoiceRecordingError(
      `${source} is too quiet (speech at ${Number.isFinite(rmsDb) ? rmsDb.toFixed(1) : '-∞'} dBFS, needs ≥ ${USER_VOICE_LIMITS.minActiveRmsDb} dBFS); move closer to the microphone or raise the input gain`,
    );
  }
  const fraction = speechFraction(resampled, rate);
  if (fraction < USER_VOICE_LIMITS.minSpeechFraction) {
    throw new VoiceRecordingError(
      `${source} is mostly silence (speech in ${(fraction * 100).toFixed(0)} % of it, needs ≥ ${USER_VOICE_LIMITS.minSpeechFraction * 100} %); cut the silence or record more speech`,
    );
  }
  const trimmed = trimSilence(resampled, rate, DEFAULT_PROCESSING.trimThresholdDb, DEFAULT_PROCESSING.trimMarginSeconds);
  return normalizeLoudness(trimmed, rate, DEFAULT_PROCESSING.loudnessDb, DEFAULT_PROCESSING.peakCeilingDb);
}

/**
 * Reads and checks recordings of one speaker as `addVoice` takes them (WAV, not clipped, loud enough, mostly speech),
 * prepared by `prepareRecording`; refuses fewer than `USER_VOICE_LIMITS.minTotalSeconds` of speech in all, naming `what`.
 */
export async function readRecordings(files: readonly string[], what: string): Promise<{ path: string; samples: Float32Array }[]> {
  if (files.length === 0) throw new VoiceRecordingError(`${what}: give at least one WAV file`);
  const out: { path: string; samples: Float32Array }[] = [];
  for (const path of files) {
    const decoded = await readWavFile(path, { maxDurationSeconds: USER_VOICE_LIMITS.maxFileSeconds });
    out.push({ path, samples: prepareRecording(decoded.samples, decoded.sampleRateHz, path) });
  }
  const totalSeconds = out.reduce((sum, r) => sum + r.samples.length, 0) / MEL_CONFIG.sampleRateHz;
  if (totalSeconds < USER_VOICE_LIMITS.minTotalSeconds) {
    throw new VoiceRecordingError(
      `${what}: only ${totalSeconds.toFixed(1)} s of speech in ${files.length} file${files.length === 1 ? '' : 's'}; a voice needs at least ${USER_VOICE_LIMITS.minTotalSeconds} s`,
    );
  }
  return out;
}

/** Log-mels of reference recordings of a voice given as files (`--reference`), checked as `readRecordings` checks them. */
export async function referenceMelsOfFiles(files: readonly string[]): Promise<LogMel[]> {
  return (await readRecordings(files, 'the reference recordings')).map((r) => logMelSpectrogram(r.samples, MEL_CONFIG));
}

/** Fraction of 20 ms frames within 35 dB of the loudest frame and above −55 dBFS. */
export function speechFraction(samples: Float32Array, sampleRateHz: number): number {
  const frame = Math.max(1, Math.round(0.02 * sampleRateHz));
  const energies: number[] = [];
  for (let start = 0; start + frame <= samples.length; start += frame) {
    let sum = 0;
    for (let i = start; i < start + frame; i++) sum += samples[i]! * samples[i]!;
    energies.push(sum / frame);
  }
  if (energies.length === 0) return 0;
  const loudest = Math.max(...energies);
  const threshold = Math.max(loudest * 10 ** (-35 / 10), 10 ** (-55 / 10));
  return energies.filter((e) => e >= threshold).length / energies.length;
}

function voicesRoot(home?: string): string {
  return timbrePaths(home).voices;
}

async function readVoiceFile(folder: string): Promise<UserVoiceFile | null> {
  try {
    const parsed = JSON.parse(await readFile(join(folder, 'voice.json'), 'utf8')) as UserVoiceFile;
    return parsed.format === 'timbre-voice' ? parsed : null;
  } catch {
    return null;
  }
}

/** Options of `addVoice`. */
export interface AddVoiceOptions {
  home?: string;
  /** Replace an existing user voice of the same name. */
  force?: boolean;
}

/**
 * Validates `files` (WAV, not clipped, loud enough, mostly speech, ≥ 10 s of speech in all), normalises them
 * (22 050 Hz, trimmed, −20 dBFS speech level) and stores them as user voice `name`. Returns its voice.json.
 */
export async function addVoice(name: string, files: readonly string[], options: AddVoiceOptions = {}): Promise<UserVoiceFile> {
  checkVoiceName(name);
  if (files.length === 0) throw new VoiceRecordingError(`voice ${name}: give at least one WAV file`);
  const root = voicesRoot(options.home);
  const folder = join(root, name);
  if ((await readVoiceFile(folder)) !== null && options.force !== true) {
    throw new InvalidVoiceNameError(`voice "${name}" already exists; use --force to replace it or "timbre voice remove ${name}"`, 'VOICE_EXISTS');
  }
  const clips: { bytes: Uint8Array; source: string; sourceSha256: string; durationSeconds: number }[] = [];
  const recordings = await readRecordings(files, `voice ${name}`);
  for (const { path, samples } of recordings) {
    const raw = new Uint8Array(await readFile(path));
    clips.push({
      bytes: encodeWav(samples, MEL_CONFIG.sampleRateHz, { bitDepth: 16 }),
      source: basename(path),
      sourceSha256: sha256Hex(raw),
      durationSeconds: samples.length / MEL_CONFIG.sampleRateHz,
    });
  }
  const totalSeconds = clips.reduce((sum, clip) => sum + clip.durationSeconds, 0);
  // Write into a fresh folder, then swap it in, so a crash never leaves a half-written voice.
  const staging = join(root, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(staging, { recursive: true });
  try {
    const voiceFile: UserVoiceFile = {
      format: 'timbre-voice',
      version: 1,
      name,
      sampleRateHz: MEL_CONFIG.sampleRateHz,
      totalSeconds,
      clips: [],
      createdAt: new Date().toISOString(),
    };
    for (let i = 0; i < clips.length; i++) {
      const clip = clips[i]!;
      const file = `clip-${String(i + 1).padStart(2, '0')}.wav`;
      await writeFileReplacing(join(staging, file), clip.bytes);
      voiceFile.clips.push({ file, source: clip.source, sourceSha256: clip.sourceSha256, durationSeconds: clip.durationSeconds, sha256: sha256Hex(clip.bytes) });
    }
    await writeFileReplacing(join(staging, 'voice.json'), new TextEncoder().encode(`${JSON.stringify(voiceFile, null, 2)}\n`));
    const old = join(root, `.${name}.${randomBytes(4).toString('hex')}.old`);
    let moved = false;
    try {
      await rename(folder, old);
      moved = true;
    } catch {
      // no previous voice
    }
    await rename(staging, folder);
    if (moved) await rm(old, { recursive: true, force: true });
    return voiceFile;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Deletes user voice `name`; `UnknownVoiceError` if there is none. */
export async function removeVoice(name: string, options: { home?: string } = {}): Promise<void> {
  if (CORPUS_VOICES.some((v) => v.id === name)) throw new InvalidVoiceNameError(`${name} is a corpus voice and cannot be removed`);
  checkVoiceName(name);
  const folder = join(voicesRoot(options.home), name);
  if ((await readVoiceFile(folder)) === null) throw new UnknownVoiceError(`there is no user voice "${name}"; "timbre voices" lists them`);
  await rm(folder, { recursive: true, force: true });
}

/** User voices (voice.json contents), by name. */
export async function listUserVoices(options: { home?: string } = {}): Promise<UserVoiceFile[]> {
  const root = voicesRoot(options.home);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  } catch {
    return [];
  }
  const voices: UserVoiceFile[] = [];
  for (const name of names.sort()) {
    const voice = await readVoiceFile(join(root, name));
    if (voice !== null) voices.push(voice);
  }
  return voices;
}

function builtManifest(home?: string): CorpusManifest | null {
  try {
    return readCorpusManifest(timbrePaths(home).corpus);
  } catch {
    return null;
  }
}

/** Corpus voices (with their built audio) then user voices. */
export async function listVoices(options: { home?: string } = {}): Promise<VoiceSummary[]> {
  const manifest = builtManifest(options.home);
  const summaries: VoiceSummary[] = CORPUS_VOICES.map((voice) => {
    const utterances = manifest?.utterances.filter((u) => u.voice === voice.id) ?? [];
    const built = manifest?.voices.find((v) => v.id === voice.id);
    return {
      name: voice.id,
      kind: 'corpus',
      durationSeconds: utterances.reduce((sum, u) => sum + u.durationSeconds, 0),
      clips: utterances.length,
      description: voice.description,
      sameSpeakerAs: built?.sameSpeakerAs ?? CORPUS_VOICES.filter((v) => v.id !== voice.id && v.speaker !== null && v.speaker === voice.speaker).map((v) => v.id),
    };
  });
  for (const voice of await listUserVoices(options)) {
    summaries.push({ name: voice.name, kind: 'user', durationSeconds: voice.totalSeconds, clips: voice.clips.length, description: `your recordings (${voice.clips.map((c) => c.source).join(', ')})`, sameSpeakerAs: [] });
  }
  return summaries;
}

/**
 * Audio of voice `name` at 22 050 Hz: a user voice's clips, or a corpus voice's train-split utterances
 * (list order) up to `maxSeconds` (default 30 s).
 */
export async function loadVoiceAudio(name: string, options: { home?: string; maxSeconds?: number } = {}): Promise<VoiceAudio> {
  const rate = MEL_CONFIG.sampleRateHz;
  if (CORPUS_VOICES.some((v) => v.id === name)) {
    const root = timbrePaths(options.home).corpus;
    const manifest = readCorpusManifest(root);
    const maxSeconds = options.maxSeconds ?? 30;
    const clips: Float32Array[] = [];
    let total = 0;
    for (const entry of manifest.utterances) {
      if (entry.voice !== name || entry.split !== 'train' || total >= maxSeconds) continue;
      const bytes = new Uint8Array(await readFile(join(root, ...entry.wav.path.split('/'))));
      clips.push(decodeWav(bytes, { sourceName: entry.wav.path }).samples);
      total += entry.durationSeconds;
    }
    if (clips.length === 0) throw new UnknownVoiceError(`corpus voice ${name} is not built; run: timbre corpus build --voices ${name}`);
    return { name, kind: 'corpus', sampleRateHz: rate, clips, durationSeconds: total };
  }
  checkVoiceName(name);
  const folder = join(voicesRoot(options.home), name);
  const voice = await readVoiceFile(folder);
  if (voice === null) throw new UnknownVoiceError(`there is no voice "${name}"; "timbre voices" lists them`);
  const clips: Float32Array[] = [];
  for (const clip of voice.clips) {
    const path = join(folder, clip.file);
    clips.push(decodeWav(new Uint8Array(await readFile(path)), { sourceName: path }).samples);
  }
  return { name, kind: 'user', sampleRateHz: rate, clips, durationSeconds: voice.totalSeconds };
}

/** Seconds at the end of a user voice's recordings that no adaptation trains on, so each model's reach is scored on unheard speech. */
export const HELD_OUT_SECONDS = 4;
/** A voice this short keeps nothing back (all of it trains). */
const MIN_SECONDS_TO_HOLD_OUT = 15;

/**
 * A voice's log-mels split into what models learn from and a held-out end: the last ≥ `HELD_OUT_SECONDS` of speech
 * (the last clip cut where it is longer than needed), none when the voice has under 15 s.
 */
export function splitHeldOut(mels: readonly LogMel[]): { train: LogMel[]; heldOut: LogMel[] } {
  const framesPerSecond = MEL_CONFIG.sampleRateHz / MEL_CONFIG.hopSamples;
  const total = mels.reduce((n, m) => n + m.frames, 0);
  if (total < MIN_SECONDS_TO_HOLD_OUT * framesPerSecond) return { train: [...mels], heldOut: [] };
  let needed = Math.ceil(HELD_OUT_SECONDS * framesPerSecond);
  const train = [...mels];
  const heldOut: LogMel[] = [];
  while (needed > 0 && train.length > 0) {
    const last = train.pop()!;
    if (last.frames <= needed) {
      heldOut.unshift(last);
      needed -= last.frames;
      continue;
    }
    const keep = last.frames - needed;
    train.push({ frames: keep, mels: last.mels, data: last.data.subarray(0, keep * last.mels) });
    heldOut.unshift({ frames: needed, mels: last.mels, data: last.data.subarray(keep * last.mels, last.frames * last.mels) });
    needed = 0;
  }
  return { train, heldOut };
}

/** Log-mels [frames × 80] of each clip of `loadVoiceAudio(name)`. */
export async function voiceMels(name: string, options: { home?: string; maxSeconds?: number } = {}): Promise<LogMel[]> {
  const audio = await loadVoiceAudio(name, options);
  return audio.clips.map((clip) => logMelSpectrogram(clip, MEL_CONFIG));
}
