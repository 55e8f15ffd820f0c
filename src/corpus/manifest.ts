// The corpus manifest (TIMBRE_HOME/corpus/manifest.json): what was built, from what, with which
// settings, and the sha256 of every cached file. No timestamps or absolute paths: same input → same bytes.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MelConfig } from '../audio/melConfig.js';
import type { ProcessingConfig } from './process.js';
import type { RealSpeechManifest } from './realManifest.js';
import type { SplitFractions, SplitName } from './split.js';
import { MANIFEST_FILE, sha256Hex, writeFileReplacing, type CachedClip, type CachedFile } from './store.js';
import type { CorpusVoice } from './voices.js';

/** Format tag and version of manifest.json; a reader refuses other versions. */
export const MANIFEST_FORMAT = 'timbre-corpus';
export const MANIFEST_VERSION = 1;

/** A corpus voice as recorded in the manifest, with the ids of voices of the same human speaker. */
export interface ManifestVoice extends CorpusVoice {
  /** Speaker id used by models: the voice's index in `voices`. */
  readonly speakerIndex: number;
  readonly sameSpeakerAs: readonly string[];
  /** `<program> --version` of the synthesizer that rendered it. */
  readonly synthesizerVersion: string;
}

/** One rendered utterance (voice × sentence). */
export interface UtteranceEntry extends CachedClip {
  voice: string;
  sentence: string;
  split: SplitName;
  /** sha256 of everything that determines the audio (text, voice, synthesizer version, settings). */
  renderKey: string;
}

/** Average-voice target: all voices' log-mels aligned to `voice`'s timing of `sentence`, averaged. */
export interface AverageEntry {
  voice: string;
  sentence: string;
  /** = frames of the source utterance. */
  frames: number;
  /** sha256 of the voice ids and mel hashes it was computed from; a change recomputes it. */
  inputsHash: string;
  file: CachedFile;
}

/** Per-mel-bin statistics of the train split (all voices), for input normalisation. */
export interface MelStats {
  frames: number;
  mean: number[];
  std: number[];
}

/** The whole manifest. Lists are sorted: voices in catalogue order, sentences in list order. */
export interface CorpusManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  melConfig: MelConfig;
  processing: ProcessingConfig;
  sentenceList: { source: string; count: number; sha256: string };
  split: { salt: string; fractions: SplitFractions; counts: Record<SplitName, number> };
  voices: ManifestVoice[];
  sentences: { id: string; text: string; split: SplitName }[];
  utterances: UtteranceEntry[];
  averages: AverageEntry[];
  melStats: MelStats | null;
  /** False while a build is under way (or was killed); true when every entry and average exists. */
  complete: boolean;
}

/** Per-bin mean and std of `frames` frames from their float64 sums and sums of squares (no frames: means 0, stds 1). */
export function melStatsOfSums(sum: Float64Array, sumSq: Float64Array, frames: number): MelStats {
  const mean: number[] = [];
  const std: number[] = [];
  for (let b = 0; b < sum.length; b++) {
    const m = frames > 0 ? sum[b]! / frames : 0;
    mean.push(m);
    std.push(frames > 0 ? Math.sqrt(Math.max(1e-12, sumSq[b]! / frames - m * m)) : 1);
  }
  return { frames, mean, std };
}

/** A manifest of either corpus: the synthetic one (`CorpusManifest`) or the real-speech import's. */
export type AnyManifest = CorpusManifest | RealSpeechManifest;

/** Serialised manifest bytes: stable key order as built, 1-space indent, trailing newline. */
export function manifestBytes(manifest: AnyManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`);
}

/** sha256 of the serialised manifest: equal for equal builds. */
export function manifestHash(manifest: AnyManifest): string {
  return sha256Hex(manifestBytes(manifest));
}

/** Writes manifest.json atomically. */
export async function writeManifest(corpusRoot: string, manifest: AnyManifest): Promise<void> {
  await writeFileReplacing(join(corpusRoot, MANIFEST_FILE), manifestBytes(manifest));
}

/** Reads manifest.json; null when absent, unreadable or of another format/version (it is then rebuilt). */
export async function readManifest(corpusRoot: string): Promise<CorpusManifest | null> {
  let text: string;
  try {
    text = await readFile(join(corpusRoot, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CorpusManifest>;
    if (parsed.format !== MANIFEST_FORMAT || parsed.version !== MANIFEST_VERSION) return null;
    if (!Array.isArray(parsed.utterances) || !Array.isArray(parsed.averages) || !Array.isArray(parsed.voices)) return null;
    return parsed as CorpusManifest;
  } catch {
    return null;
  }
}
