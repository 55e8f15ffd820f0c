// Training data from the corpus cache: utterance lists filtered by split and voice, cached log-mels,
// normalisation statistics, and seeded batches of random crops (optionally paired and with average-voice targets).

import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../audio/errors.js';
import type { LogMel } from '../audio/mel.js';
import { decodeWav } from '../audio/wav.js';
import { MEL_CONFIG, sameMelConfig } from '../audio/melConfig.js';
import { timbrePaths } from '../io/paths.js';
import { alignMelToReference } from './align.js';
import { CorpusNotBuiltError, UnknownVoiceError } from './errors.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type CorpusManifest, type ManifestVoice, type UtteranceEntry } from './manifest.js';
import { createRng, type Rng } from './rng.js';
import { SPLIT_NAMES, type SplitName } from './split.js';
import { float32FromBytes, MANIFEST_FILE, resolveCachePath } from './store.js';

/** Options of `openCorpusDataset`. */
export interface OpenDatasetOptions {
  /** TIMBRE_HOME (cache at `<home>/corpus`); default `timbreHome()`. Ignored when `corpusRoot` is given. */
  home?: string;
  /** The corpus folder itself. */
  corpusRoot?: string;
  /** Splits to include; default `train`. Evaluation must use `test` only. */
  split?: SplitName | readonly SplitName[];
  /** Voice ids to include; default every voice in the manifest. */
  voices?: readonly string[];
  /** Upper bound of cached features in memory, bytes; default 1.5 GiB (the whole corpus fits). */
  cacheBytes?: number;
}

/** One utterance available to training. `speakerId` is the voice's index in the manifest (stable per corpus). */
export interface DatasetUtterance {
  voice: string;
  speakerId: number;
  sentence: string;
  split: SplitName;
  frames: number;
  durationSeconds: number;
}

/** Per-mel-bin statistics of the train split, all voices. */
export interface MelNormalization {
  mean: Float32Array; // [mels]
  std: Float32Array; // [mels]
}

/** Options of `CorpusDataset.batch`. */
export interface BatchOptions {
  /** Items per batch. */
  batchSize: number;
  /** Frames per crop; shorter utterances are padded with silence (the log floor) and `lengths` says so. */
  frames: number;
  /** Normalise with the corpus statistics (x − mean) / std; default true. */
  normalize?: boolean;
  /** Also return the same sentence by another voice, DTW-aligned to the source crop; default false. */
  pairs?: boolean;
  /** Also return the source's average-voice target for the same crop; default false. */
  averages?: boolean;
}

/** A batch of crops; every [batch, frames, mels] array is row-major Float32. */
export interface MelBatch {
  batchSize: number;
  frames: number;
  mels: number;
  /** [batch, frames, mels] source crops. */
  mel: Float32Array;
  /** [batch] valid frames of each crop (the rest is padding). */
  lengths: Int32Array;
  /** [batch] speaker id of each source crop. */
  speakerIds: Int32Array;
  voices: string[];
  sentences: string[];
  /** [batch, frames, mels] with `pairs`: another voice's rendering of the sentence, aligned to the source. */
  pairedMel?: Float32Array;
  /** [batch] with `pairs`. */
  pairedSpeakerIds?: Int32Array;
  pairedVoices?: string[];
  /** [batch, frames, mels] with `averages`: the average voice in the source's timing. */
  averageMel?: Float32Array;
}

const LOG_FLOOR = Math.log(MEL_CONFIG.logFloor);

/** Reads and checks `<corpusRoot>/manifest.json`; throws `CorpusNotBuiltError` if absent, incomplete or of another config. */
export function readCorpusManifest(corpusRoot: string): CorpusManifest {
  let manifest: CorpusManifest;
  try {
    manifest = JSON.parse(readFileSync(resolveCachePath(corpusRoot, MANIFEST_FILE), 'utf8')) as CorpusManifest;
  } catch {
    throw new CorpusNotBuiltError(`no corpus at ${corpusRoot}; build it with: timbre corpus build`);
  }
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== MANIFEST_VERSION) {
    throw new CorpusNotBuiltError(`corpus at ${corpusRoot} has format ${String(manifest.format)} v${String(manifest.version)}; rebuild it with: timbre corpus build`);
  }
  if (!manifest.complete) throw new CorpusNotBuiltError(`corpus at ${corpusRoot} is incomplete (interrupted build); finish it with: timbre corpus build`);
  if (!sameMelConfig(manifest.melConfig, MEL_CONFIG)) {
    throw new CorpusNotBuiltError(`corpus at ${corpusRoot} was built with other mel settings; rebuild it with: timbre corpus build`);
  }
  return manifest;
}

/** The corpus as training data; features are read from the cache on first use and kept in memory. */
export class CorpusDataset {
  readonly corpusRoot: string;
  readonly manifest: CorpusManifest;
  /** Voices in this dataset (filtered), manifest order. */
  readonly voices: readonly ManifestVoice[];
  /** Utterances in this dataset (filtered by split and voice), voice-major in manifest order. */
  readonly utterances: readonly DatasetUtterance[];
  readonly splits: readonly SplitName[];
  private readonly entries = new Map<string, UtteranceEntry>();
  private readonly averageFiles = new Map<string, { path: string; frames: number }>();
  private readonly bySentence = new Map<string, DatasetUtterance[]>();
  private readonly cache = new Map<string, Float32Array>();
  private cachedBytes = 0;
  private readonly cacheLimit: number;
  private stats: MelNormalization | undefined;

  constructor(corpusRoot: string, manifest: CorpusManifest, options: OpenDatasetOptions = {}) {
    this.corpusRoot = corpusRoot;
    this.manifest = manifest;
    this.cacheLimit = options.cacheBytes ?? 1.5 * 2 ** 30;
    const splits = options.split === undefined ? ['train' as const] : typeof options.split === 'string' ? [options.split] : [...options.split];
    for (const split of splits) {
      if (!(SPLIT_NAMES as readonly string[]).includes(split)) throw new InvalidArgumentError(`split "${split}" is not one of ${SPLIT_NAMES.join(', ')}`);
    }
    this.splits = splits;
    const known = new Set(manifest.voices.map((v) => v.id));
    for (const id of options.voices ?? []) {
      if (!known.has(id)) throw new UnknownVoiceError(`voice "${id}" is not in the corpus at ${corpusRoot}; it has ${[...known].join(', ')}`);
    }
    this.voices = manifest.voices.filter((v) => options.voices === undefined || options.voices.includes(v.id));
    const speakerOf = new Map(manifest.voices.map((v) => [v.id, v.speakerIndex]));
    const wanted = new Set(this.voices.map((v) => v.id));
    const utterances: DatasetUtterance[] = [];
    for (const entry of manifest.utterances) {
      this.entries.set(`${entry.voice}/${entry.sentence}`, entry);
      if (!wanted.has(entry.voice) || !splits.includes(entry.split)) continue;
      const utterance = {
        voice: entry.voice,
        speakerId: speakerOf.get(entry.voice)!,
        sentence: entry.sentence,
        split: entry.split,
        frames: entry.frames,
        durationSeconds: entry.durationSeconds,
      };
      utterances.push(utterance);
      const list = this.bySentence.get(entry.sentence) ?? [];
      list.push(utterance);
      this.bySentence.set(entry.sentence, list);
    }
    for (const average of manifest.averages) this.averageFiles.set(`${average.voice}/${average.sentence}`, { path: average.file.path, frames: average.frames });
    this.utterances = utterances;
  }

  /** Number of mel bins (80). */
  get mels(): number {
    return this.manifest.melConfig.melBins;
  }

  /** Ids of the sentences in this dataset, list order. */
  sentenceIds(): string[] {
    return this.manifest.sentences.filter((s) => this.bySentence.has(s.id)).map((s) => s.id);
  }

  /** Utterances of one sentence in this dataset (one per voice). */
  sentenceUtterances(sentence: string): readonly DatasetUtterance[] {
    return this.bySentence.get(sentence) ?? [];
  }

  /** Per-bin mean/std of the train split (all voices of the corpus), from the manifest. */
  melStats(): MelNormalization {
    if (this.stats === undefined) {
      const stats = this.manifest.melStats;
      if (stats === null) throw new CorpusNotBuiltError(`corpus at ${this.corpusRoot} has no mel statistics; rebuild it with: timbre corpus build`);
      this.stats = { mean: Float32Array.from(stats.mean), std: Float32Array.from(stats.std) };
    }
    return this.stats;
  }

  /** (x − mean) / std per bin; returns a new log-mel. */
  normalize(mel: LogMel): LogMel {
    const { mean, std } = this.melStats();
    const data = new Float32Array(mel.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (mel.data[i]! - mean[i % mel.mels]!) / std[i % mel.mels]!;
    return { frames: mel.frames, mels: mel.mels, data };
  }

  /** Inverse of `normalize`. */
  denormalize(mel: LogMel): LogMel {
    const { mean, std } = this.melStats();
    const data = new Float32Array(mel.data.length);
    for (let i = 0; i < data.length; i++) data[i] = mel.data[i]! * std[i % mel.mels]! + mean[i % mel.mels]!;
    return { frames: mel.frames, mels: mel.mels, data };
  }

  private entry(voice: string, sentence: string): UtteranceEntry {
    const entry = this.entries.get(`${voice}/${sentence}`);
    if (entry === undefined) throw new UnknownVoiceError(`the corpus has no utterance of sentence ${sentence} by ${voice}`);
    return entry;
  }

  private load(cacheKey: string, relativePath: string, length: number): Float32Array {
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) {
      this.cache.delete(cacheKey); // re-insert: Map order is the LRU order
      this.cache.set(cacheKey, hit);
      return hit;
    }
    const data = float32FromBytes(new Uint8Array(readFileSync(resolveCachePath(this.corpusRoot, relativePath))), relativePath, length);
    this.remember(cacheKey, data);
    return data;
  }

  /** Keeps `data` in the LRU cache, evicting the oldest entries beyond `cacheBytes`. */
  private remember(cacheKey: string, data: Float32Array): void {
    this.cache.set(cacheKey, data);
    this.cachedBytes += data.byteLength;
    while (this.cachedBytes > this.cacheLimit && this.cache.size > 1) {
      const [oldest, value] = this.cache.entries().next().value as [string, Float32Array];
      this.cache.delete(oldest);
      this.cachedBytes -= value.byteLength;
    }
  }

  /** Log-mel [frames × 80] of `voice` reading `sentence` (not normalised). */
  mel(voice: string, sentence: string): LogMel {
    const entry = this.entry(voice, sentence);
    return { frames: entry.frames, mels: this.mels, data: this.load(`mel:${voice}/${sentence}`, entry.mel.path, entry.frames * this.mels) };
  }

  /** F0 per 256-sample hop, Hz, 0 when unvoiced. */
  f0(voice: string, sentence: string): Float32Array {
    const entry = this.entry(voice, sentence);
    return this.load(`f0:${voice}/${sentence}`, entry.f0.path, entry.f0Frames);
  }

  /** Average-voice target in `voice`'s timing of `sentence` [frames × 80] (not normalised). */
  averageMel(voice: string, sentence: string): LogMel {
    const file = this.averageFiles.get(`${voice}/${sentence}`);
    if (file === undefined) throw new CorpusNotBuiltError(`no average-voice target for ${voice}/${sentence}; rebuild with: timbre corpus build`);
    return { frames: file.frames, mels: this.mels, data: this.load(`avg:${voice}/${sentence}`, file.path, file.frames * this.mels) };
  }

  /** Absolute path of the cached 22 050 Hz WAV. */
  wavPath(voice: string, sentence: string): string {
    return resolveCachePath(this.corpusRoot, this.entry(voice, sentence).wav.path);
  }

  /** The cached 22 050 Hz recording (not kept in the cache), checked against its log-mel's frame count. */
  samples(voice: string, sentence: string): Float32Array {
    const path = this.wavPath(voice, sentence);
    const decoded = decodeWav(new Uint8Array(readFileSync(path)), { sourceName: path });
    const frames = Math.floor(decoded.samples.length / MEL_CONFIG.hopSamples);
    const expected = this.entry(voice, sentence).frames;
    if (decoded.sampleRateHz !== MEL_CONFIG.sampleRateHz || frames !== expected) {
      throw new CorpusNotBuiltError(`${path}: ${decoded.sampleRateHz} Hz, ${frames} frames; the corpus expects ${MEL_CONFIG.sampleRateHz} Hz and ${expected} frames; rebuild it with: timbre corpus build`);
    }
    return decoded.samples;
  }

  /** `other`'s log-mel of `sentence` DTW-aligned to `reference`'s timing [reference frames × 80]; cached. */
  alignedMel(reference: string, other: string, sentence: string): LogMel {
    const cacheKey = `align:${other}>${reference}/${sentence}`;
    const frames = this.entry(reference, sentence).frames;
    let data = this.cache.get(cacheKey);
    if (data === undefined) {
      data = alignMelToReference(this.mel(reference, sentence), this.mel(other, sentence)).data;
      this.remember(cacheKey, data);
    }
    return { frames, mels: this.mels, data };
  }

  /** One batch of random crops drawn with `rng` (see `BatchOptions`). */
  batch(rng: Rng, options: BatchOptions): MelBatch {
    const { batchSize, frames } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be a whole number ≥ 1, got ${batchSize}`);
    if (!Number.isInteger(frames) || frames < 1) throw new InvalidArgumentError(`frames must be a whole number ≥ 1, got ${frames}`);
    if (this.utterances.length === 0) throw new CorpusNotBuiltError(`the dataset is empty (splits ${this.splits.join(', ')}, voices ${this.voices.map((v) => v.id).join(', ')})`);
    if (options.pairs === true && this.voices.length < 2) throw new InvalidArgumentError('pairs need at least two voices in the dataset');
    const mels = this.mels;
    const normalize = options.normalize ?? true;
    const stats = normalize ? this.melStats() : undefined;
    const size = batchSize * frames * mels;
    const out: MelBatch = {
      batchSize,
      frames,
      mels,
      mel: new Float32Array(size),
      lengths: new Int32Array(batchSize),
      speakerIds: new Int32Array(batchSize),
      voices: [],
      sentences: [],
    };
    if (options.pairs === true) {
      out.pairedMel = new Float32Array(size);
      out.pairedSpeakerIds = new Int32Array(batchSize);
      out.pairedVoices = [];
    }
    if (options.averages === true) out.averageMel = new Float32Array(size);
    // Copies rows [start, start + length) of a [frames' × mels] array into item b, padding with silence.
    const copyCrop = (target: Float32Array, b: number, source: Float32Array, start: number, length: number): void => {
      const base = b * frames * mels;
      for (let t = 0; t < frames; t++) {
        for (let k = 0; k < mels; k++) {
          const value = t < length ? source[(start + t) * mels + k]! : LOG_FLOOR;
          target[base + t * mels + k] = stats === undefined ? value : (value - stats.mean[k]!) / stats.std[k]!;
        }
      }
    };
    for (let b = 0; b < batchSize; b++) {
      const utterance = this.utterances[rng.int(this.utterances.length)]!;
      const length = Math.min(frames, utterance.frames);
      const start = utterance.frames > frames ? rng.int(utterance.frames - frames + 1) : 0;
      copyCrop(out.mel, b, this.mel(utterance.voice, utterance.sentence).data, start, length);
      out.lengths[b] = length;
      out.speakerIds[b] = utterance.speakerId;
      out.voices.push(utterance.voice);
      out.sentences.push(utterance.sentence);
      if (options.pairs === true) {
        const others = this.sentenceUtterances(utterance.sentence).filter((u) => u.voice !== utterance.voice);
        if (others.length === 0) throw new InvalidArgumentError(`sentence ${utterance.sentence} has no second voice in this dataset`);
        const other = others[rng.int(others.length)]!;
        copyCrop(out.pairedMel!, b, this.alignedMel(utterance.voice, other.voice, utterance.sentence).data, start, length);
        out.pairedSpeakerIds![b] = other.speakerId;
        out.pairedVoices!.push(other.voice);
      }
      if (options.averages === true) copyCrop(out.averageMel!, b, this.averageMel(utterance.voice, utterance.sentence).data, start, length);
    }
    return out;
  }

  /** An endless stream of batches reproducible from `seed`. */
  *batches(seed: number, options: BatchOptions): Generator<MelBatch, never, void> {
    const rng = createRng(seed);
    while (true) yield this.batch(rng, options);
  }
}

/** `count` items evenly spaced in list order (all of them when there are fewer): a fixed choice for a fixed list. */
export function evenlySpaced<T>(list: readonly T[], count: number): T[] {
  if (list.length <= count) return [...list];
  return Array.from({ length: count }, (_, i) => list[Math.floor((i * list.length) / count)]!);
}

/** Opens the built corpus for training or evaluation (see `OpenDatasetOptions`). */
export function openCorpusDataset(options: OpenDatasetOptions = {}): CorpusDataset {
  const corpusRoot = options.corpusRoot ?? timbrePaths(options.home).corpus;
  return new CorpusDataset(corpusRoot, readCorpusManifest(corpusRoot), options);
}
