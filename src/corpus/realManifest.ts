// The real-speech manifest (TIMBRE_HOME/corpus-real/manifest.json): sources with package versions, speakers and
// their splits, every clip with its origin and cached files. No timestamps or absolute paths: same input → same bytes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MelConfig } from '../audio/melConfig.js';
import type { MelStats } from './manifest.js';
import type { ProcessingConfig } from './process.js';
import type { RealAudioFormat } from './realAudio.js';
import type { RealSourceId } from './realSources.js';
import type { RealSplitName } from './realSplit.js';
import type { SplitFractions } from './split.js';
import { MANIFEST_FILE, type CachedClip } from './store.js';

/** Format tag and version of the real-speech manifest; a reader refuses others. */
export const REAL_MANIFEST_FORMAT = 'timbre-real-speech';
export const REAL_MANIFEST_VERSION = 1;

/** Name of the folder beside `corpus/` under TIMBRE_HOME. */
export const REAL_SPEECH_FOLDER = 'corpus-real';

/** A source package as imported. */
export interface RealSourceEntry {
  id: RealSourceId;
  aptPackage: string;
  /** `dpkg-query -W` version of the package; null where dpkg does not know it (a test root). */
  packageVersion: string | null;
  license: string;
  copyright: string;
  description: string;
  dataDir: string;
  /** Clips imported from it. */
  clips: number;
}

/** F0 of a speaker over all voiced frames of its clips, and a hint when the folder may hold several people. */
export interface SpeakerF0 {
  /** Median, 10th and 90th percentile of voiced-frame F0, Hz. */
  medianHz: number;
  p10Hz: number;
  p90Hz: number;
  /**
   * The clips' median F0s split in two groups at the threshold that minimises the spread of log F0 within each
   * (two-means in octaves): the groups' geometric means, Hz, and the share of clips in the lower group.
   */
  lowGroupHz: number;
  highGroupHz: number;
  lowGroupFraction: number;
  /**
   * True when each group holds at least 20 % of the clips and their means lie 0.6 octave or more apart: a folder
   * that may mix a lower and a higher voice (measured: KTuberling's da, ru, ca and en themes, whose scenes were
   * recorded by different people). A heuristic, not proof: an expressive single reader can trip it.
   */
  maybeSeveralSpeakers: boolean;
}

/** One speaker: a folder of one source package (one volunteer per language, by the packages' own account). */
export interface RealSpeakerEntry {
  id: string;
  /** Index in `speakers` (stable for a given set of installed packages). */
  speakerIndex: number;
  source: RealSourceId;
  /** Folder language tag as the package writes it (`pt_BR`, `sr@latin`). */
  languageTag: string;
  /** Primary language subtag (`pt`, `sr`). */
  language: string;
  heldOut: boolean;
  clips: number;
  durationSeconds: number;
  /** Sample rates of its source files, Hz, ascending (8000 = telephone band: nothing above 4 kHz). */
  sourceSampleRatesHz: number[];
  f0: SpeakerF0;
}

/** The origin of a clip: package, system path and the file's bytes as read. */
export interface RealClipSource {
  aptPackage: string;
  packageVersion: string | null;
  /** System path (`/usr/share/…`). */
  path: string;
  sha256: string;
  bytes: number;
  format: RealAudioFormat;
  sampleRateHz: number;
  channels: number;
}

/** One imported clip. */
export interface RealClipEntry extends CachedClip {
  /** `<speaker>/<clip>`. */
  id: string;
  speaker: string;
  clip: string;
  language: string;
  /** Name the package's index gives it (KTuberling: the English concept). */
  label: string;
  /** Other names the index gives the same file. */
  aliases: string[];
  /** What is said, when the package says so; else null. */
  text: string | null;
  split: RealSplitName;
  /** sha256 of what determines the cached bytes (source bytes, pipeline version, processing and mel settings). */
  importKey: string;
  source: RealClipSource;
}

/** A listed file that was not imported, and why (damaged, same audio as another clip, missing). */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** The whole manifest; lists are sorted (sources in catalogue order, speakers by id, clips by speaker then clip). */
export interface RealSpeechManifest {
  format: typeof REAL_MANIFEST_FORMAT;
  version: typeof REAL_MANIFEST_VERSION;
  pipeline: string;
  melConfig: MelConfig;
  processing: ProcessingConfig;
  split: { salt: string; fractions: SplitFractions; heldOutLanguages: string[]; counts: Record<RealSplitName, number> };
  sources: RealSourceEntry[];
  speakers: RealSpeakerEntry[];
  clips: RealClipEntry[];
  skipped: SkippedFile[];
  /** Per-mel-bin mean and std over the train split (null while an import is under way). */
  melStats: MelStats | null;
  complete: boolean;
}

// Serialised, hashed and written by manifest.ts (manifestBytes, manifestHash, writeManifest), as the synthetic corpus's is.

/** Reads manifest.json; null when absent, unreadable or of another format/version. */
export function readRealManifest(root: string): RealSpeechManifest | null {
  let text: string;
  try {
    text = readFileSync(join(root, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<RealSpeechManifest>;
    if (parsed.format !== REAL_MANIFEST_FORMAT || parsed.version !== REAL_MANIFEST_VERSION) return null;
    if (!Array.isArray(parsed.clips) || !Array.isArray(parsed.speakers) || !Array.isArray(parsed.sources)) return null;
    return parsed as RealSpeechManifest;
  } catch {
    return null;
  }
}
