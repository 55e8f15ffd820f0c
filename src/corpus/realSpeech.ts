// Reading the imported real-speech set (TIMBRE_HOME/corpus-real) for training and evaluation: speakers,
// clips filtered by split, speaker or language, and each clip's cached log-mel, F0 and audio.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import type { LogMel } from '../audio/mel.js';
import { MEL_CONFIG, sameMelConfig } from '../audio/melConfig.js';
import { decodeWav } from '../audio/wav.js';
import { timbrePaths } from '../io/paths.js';
import { CorpusNotBuiltError, UnknownVoiceError } from './errors.js';
import { readRealManifest, REAL_SPEECH_FOLDER, type RealClipEntry, type RealSourceEntry, type RealSpeakerEntry, type RealSpeechManifest } from './realManifest.js';
import { REAL_SPLIT_NAMES, type RealSplitName } from './realSplit.js';
import { float32FromBytes, resolveCachePath } from './store.js';

export type { RealClipEntry, RealSourceEntry, RealSpeakerEntry, RealSpeechManifest } from './realManifest.js';
export type { RealSplitName } from './realSplit.js';

/** Options of `openRealSpeech`. */
export interface OpenRealSpeechOptions {
  /** TIMBRE_HOME (set at `<home>/corpus-real`); default `timbreHome()`. Ignored when `root` is given. */
  home?: string;
  /** The set's folder itself. */
  root?: string;
}

/** Which clips `RealSpeechSet.clips` returns; every given filter must match. */
export interface RealClipFilter {
  /** Split(s); default all. Training uses `train` (and `validation`); never `heldout`. */
  split?: RealSplitName | readonly RealSplitName[];
  /** Speaker ids. */
  speakers?: readonly string[];
  /** Primary language subtags (`en`, `fr`). */
  languages?: readonly string[];
  /** Source ids (`ktuberling`, `klettres`, `asterisk-en`). */
  sources?: readonly string[];
  /** Lowest source sample rate, Hz: 16000 leaves out the 8 kHz telephone prompts. */
  minSourceSampleRateHz?: number;
}

/** The imported real-speech set; reads files on demand (synchronously), nothing is held beyond the manifest. */
export interface RealSpeechSet {
  readonly root: string;
  readonly manifest: Readonly<RealSpeechManifest>;
  /** Speakers in `speakerIndex` order. */
  readonly speakers: readonly RealSpeakerEntry[];
  readonly sources: readonly RealSourceEntry[];
  /** Speaker ids never used in training (whole held-out languages). */
  readonly heldOutSpeakers: readonly string[];
  /** Speaker ids whose clips are split train / validation / test. */
  readonly trainingSpeakers: readonly string[];
  /** Clips matching `filter`, in manifest order (speaker, then clip id). */
  clips(filter?: RealClipFilter): RealClipEntry[];
  /** One clip by id (`ktuberling-en/ball`). */
  clip(id: string): RealClipEntry;
  /** Cached log-mel of a clip: [frames × 80], MEL_CONFIG. */
  mel(id: string): LogMel;
  /** Cached F0 per 256-sample hop, Hz, 0 = unvoiced: [f0Frames]. */
  f0(id: string): Float32Array;
  /** Cached audio: 22 050 Hz mono, trimmed and at −20 dBFS active RMS. */
  audio(id: string): { samples: Float32Array; sampleRateHz: number };
  /** Per-bin mean and std of the train split's log-mels. */
  melStats(): { mean: Float32Array; std: Float32Array; frames: number };
}

/** Opens the set; throws `CorpusNotBuiltError` when it is missing, incomplete or built with other mel settings. */
export function openRealSpeech(options: OpenRealSpeechOptions = {}): RealSpeechSet {
  const root = options.root ?? join(timbrePaths(options.home).root, REAL_SPEECH_FOLDER);
  const manifest = readRealManifest(root);
  if (manifest === null) throw new CorpusNotBuiltError(`no real-speech set at ${root}; import it with: timbre corpus real`);
  if (!manifest.complete || manifest.melStats === null) throw new CorpusNotBuiltError(`the real-speech import at ${root} is incomplete; run timbre corpus real again to finish it`);
  if (!sameMelConfig(manifest.melConfig, MEL_CONFIG)) {
    throw new CorpusNotBuiltError(`the real-speech set at ${root} was built with other mel settings; run timbre corpus real to rebuild it`);
  }
  const byId = new Map(manifest.clips.map((c) => [c.id, c]));
  const speakerIds = new Set(manifest.speakers.map((s) => s.id));
  const get = (id: string): RealClipEntry => {
    const clip = byId.get(id);
    if (clip === undefined) throw new UnknownVoiceError(`no real-speech clip "${id}" in ${root} (ids are <speaker>/<clip>, e.g. ${manifest.clips[0]?.id ?? 'ktuberling-en/ball'})`);
    return clip;
  };
  const read = (path: string): Uint8Array => new Uint8Array(readFileSync(resolveCachePath(root, path)));
  const stats = manifest.melStats;
  return {
    root,
    manifest,
    speakers: manifest.speakers,
    sources: manifest.sources,
    heldOutSpeakers: manifest.speakers.filter((s) => s.heldOut).map((s) => s.id),
    trainingSpeakers: manifest.speakers.filter((s) => !s.heldOut).map((s) => s.id),
    clips(filter = {}) {
      const splits = filter.split === undefined ? undefined : typeof filter.split === 'string' ? [filter.split] : filter.split;
      for (const s of splits ?? []) {
        if (!(REAL_SPLIT_NAMES as readonly string[]).includes(s)) throw new InvalidArgumentError(`split "${s}" is not one of ${REAL_SPLIT_NAMES.join(', ')}`);
      }
      for (const s of filter.speakers ?? []) if (!speakerIds.has(s)) throw new UnknownVoiceError(`"${s}" is not a speaker of the real-speech set (see timbre corpus info)`);
      const speakerSource = new Map(manifest.speakers.map((s) => [s.id, s.source]));
      return manifest.clips.filter(
        (c) =>
          (splits === undefined || splits.includes(c.split)) &&
          (filter.speakers === undefined || filter.speakers.includes(c.speaker)) &&
          (filter.languages === undefined || filter.languages.includes(c.language)) &&
          (filter.sources === undefined || filter.sources.includes(speakerSource.get(c.speaker)!)) &&
          (filter.minSourceSampleRateHz === undefined || c.source.sampleRateHz >= filter.minSourceSampleRateHz),
      );
    },
    clip: get,
    mel(id) {
      const clip = get(id);
      return { frames: clip.frames, mels: MEL_CONFIG.melBins, data: float32FromBytes(read(clip.mel.path), clip.mel.path, clip.frames * MEL_CONFIG.melBins) };
    },
    f0(id) {
      const clip = get(id);
      return float32FromBytes(read(clip.f0.path), clip.f0.path, clip.f0Frames);
    },
    audio(id) {
      const clip = get(id);
      const wav = decodeWav(read(clip.wav.path), { sourceName: clip.wav.path });
      return { samples: wav.samples, sampleRateHz: wav.sampleRateHz };
    },
    melStats() {
      return { mean: Float32Array.from(stats.mean), std: Float32Array.from(stats.std), frames: stats.frames };
    },
  };
}
