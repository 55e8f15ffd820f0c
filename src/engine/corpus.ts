// Engine calls about the training corpus: build/resume it, describe it, open it as a dataset.
// Arguments from the CLI, server and app are validated here before reaching src/corpus.

import { join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import { timbrePaths } from '../io/paths.js';
import { buildCorpus, type BuildCorpusOptions, type CorpusBuildResult } from '../corpus/build.js';
import { openCorpusDataset, readCorpusManifest, type CorpusDataset, type OpenDatasetOptions } from '../corpus/dataset.js';
import type { SplitName } from '../corpus/split.js';
import { corpusVoice, CORPUS_VOICES, detectVoices, type VoiceAvailability } from '../corpus/voices.js';
import { importRealSpeech, type ImportRealSpeechOptions, type RealImportResult } from '../corpus/realImport.js';
import { readRealManifest, REAL_SPEECH_FOLDER } from '../corpus/realManifest.js';
import type { RealSplitName } from '../corpus/realSplit.js';

export type { CorpusBuildProgress, CorpusBuildResult } from '../corpus/build.js';
export type { CorpusDataset, MelBatch, BatchOptions, DatasetUtterance } from '../corpus/dataset.js';
export { createRng } from '../corpus/rng.js';
export type { RealImportProgress, RealImportResult } from '../corpus/realImport.js';
export { openRealSpeech, type RealSpeechSet, type RealClipFilter } from '../corpus/realSpeech.js';

/** Options of `buildCorpusCache`, as a user gives them: the build's options but the synthesizers' environment. */
export type CorpusBuildRequest = Omit<BuildCorpusOptions, 'env'>;

/** Validates the request (voice ids, counts) and builds or resumes the corpus cache. */
export async function buildCorpusCache(request: CorpusBuildRequest = {}): Promise<CorpusBuildResult> {
  if (request.voices !== undefined) {
    if (request.voices.length === 0) throw new InvalidArgumentError('voices: give at least one voice id');
    for (const id of request.voices) corpusVoice(id);
    if (new Set(request.voices).size !== request.voices.length) throw new InvalidArgumentError(`voices: ${request.voices.join(',')} names a voice twice`);
  }
  if (request.sentences !== undefined && (!Number.isInteger(request.sentences) || request.sentences < 1)) {
    throw new InvalidArgumentError(`sentences must be a whole number ≥ 1, got ${request.sentences}`);
  }
  return buildCorpus({ ...request });
}

/** What the built corpus holds (for `timbre corpus info` and the UI). */
export interface CorpusSummary {
  corpusRoot: string;
  voices: { id: string; speakerIndex: number; utterances: number; hours: number; sameSpeakerAs: readonly string[] }[];
  sentences: number;
  splitCounts: Record<SplitName, number>;
  utterances: number;
  audioHours: number;
}

/** Summary of the built corpus under `home`; throws `CorpusNotBuiltError` when there is none. */
export function describeCorpus(home?: string): CorpusSummary {
  const corpusRoot = timbrePaths(home).corpus;
  const manifest = readCorpusManifest(corpusRoot);
  return {
    corpusRoot,
    voices: manifest.voices.map((voice) => {
      const own = manifest.utterances.filter((u) => u.voice === voice.id);
      return {
        id: voice.id,
        speakerIndex: voice.speakerIndex,
        utterances: own.length,
        hours: own.reduce((sum, u) => sum + u.durationSeconds, 0) / 3600,
        sameSpeakerAs: voice.sameSpeakerAs,
      };
    }),
    sentences: manifest.sentences.length,
    splitCounts: manifest.split.counts,
    utterances: manifest.utterances.length,
    audioHours: manifest.utterances.reduce((sum, u) => sum + u.durationSeconds, 0) / 3600,
  };
}

/** Which corpus voices can be rendered on this machine. */
export function corpusVoiceAvailability(): VoiceAvailability {
  return detectVoices();
}

/** Opens the built corpus as training data (default: train split, all voices). */
export function openCorpus(options: OpenDatasetOptions = {}): CorpusDataset {
  return openCorpusDataset(options);
}

/** Ids of all corpus voices in speaker order. */
export const CORPUS_VOICE_IDS: readonly string[] = CORPUS_VOICES.map((v) => v.id);

/** Options of `importRealSpeechCorpus`, as a user gives them: the import's options but the test hooks (file root, package versions). */
export type RealSpeechImportRequest = Omit<ImportRealSpeechOptions, 'systemRoot' | 'packageVersion'>;

/** Imports (or resumes, or verifies) the real speech of Debian packages into `<home>/corpus-real`. */
export async function importRealSpeechCorpus(request: RealSpeechImportRequest = {}): Promise<RealImportResult> {
  if (request.sources !== undefined && new Set(request.sources).size !== request.sources.length) {
    throw new InvalidArgumentError(`sources: ${request.sources.join(',')} names a source twice`);
  }
  return importRealSpeech({ ...request });
}

/** What the imported real-speech set holds (for `timbre corpus info`). */
export interface RealSpeechSummary {
  root: string;
  complete: boolean;
  sources: { id: string; aptPackage: string; packageVersion: string | null; license: string; clips: number }[];
  speakers: {
    id: string;
    language: string;
    heldOut: boolean;
    clips: number;
    seconds: number;
    f0MedianHz: number;
    maybeSeveralSpeakers: boolean;
    sourceSampleRatesHz: number[];
  }[];
  heldOutLanguages: string[];
  splitCounts: Record<RealSplitName, number>;
  clips: number;
  audioSeconds: number;
  skippedFiles: number;
}

/** Summary of the real-speech set under `home`, or null when none was imported. */
export function describeRealSpeech(home?: string): RealSpeechSummary | null {
  const root = join(timbrePaths(home).root, REAL_SPEECH_FOLDER);
  const manifest = readRealManifest(root);
  if (manifest === null) return null;
  return {
    root,
    complete: manifest.complete,
    sources: manifest.sources.map((s) => ({ id: s.id, aptPackage: s.aptPackage, packageVersion: s.packageVersion, license: s.license, clips: s.clips })),
    speakers: manifest.speakers.map((s) => ({
      id: s.id,
      language: s.language,
      heldOut: s.heldOut,
      clips: s.clips,
      seconds: s.durationSeconds,
      f0MedianHz: s.f0.medianHz,
      maybeSeveralSpeakers: s.f0.maybeSeveralSpeakers,
      sourceSampleRatesHz: s.sourceSampleRatesHz,
    })),
    heldOutLanguages: manifest.split.heldOutLanguages,
    splitCounts: manifest.split.counts,
    clips: manifest.clips.length,
    audioSeconds: manifest.clips.reduce((sum, c) => sum + c.durationSeconds, 0),
    skippedFiles: manifest.skipped.length,
  };
}
