// `timbre corpus real`: imports the recordings of real people that Debian packages ship into
// TIMBRE_HOME/corpus-real, processed exactly like the synthetic corpus; resumable, hash-verified, deterministic.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, TimbreInputError } from '../audio/errors.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { timbrePaths } from '../io/paths.js';
import { CorpusNotBuiltError } from './errors.js';
import { manifestBytes, manifestHash, melStatsOfSums, writeManifest, type MelStats } from './manifest.js';
import { DEFAULT_PROCESSING, processUtterance } from './process.js';
import { RecordingDecoder } from './realAudio.js';
import {
  REAL_MANIFEST_FORMAT,
  REAL_MANIFEST_VERSION,
  REAL_SPEECH_FOLDER,
  readRealManifest,
  type RealClipEntry,
  type RealSourceEntry,
  type RealSpeakerEntry,
  type RealSpeechManifest,
  type SkippedFile,
  type SpeakerF0,
} from './realManifest.js';
import { listSourceClips, onRoot, primaryLanguage, REAL_SOURCES, sourcePresent, type RealSpeechSource, type SourceClip } from './realSources.js';
import { HELD_OUT_LANGUAGES, REAL_SPLIT_FRACTIONS, REAL_SPLIT_NAMES, REAL_SPLIT_SALT, realSplitOf, type RealSplitName } from './realSplit.js';
import { cacheRelativePath, float32Bytes, float32FromBytes, readVerifiedFile, resolveCachePath, sha256Hex, writeCachedFile } from './store.js';

/** Bumped when decoding or processing changes in a way that changes cached bytes. */
export const REAL_PIPELINE_VERSION = 'real-speech-1';

/** A source package that is not installed, or installed without its recordings; names what to install. */
export class RealSpeechMissingError extends TimbreInputError {
  readonly aptPackages: string[];
  constructor(message: string, aptPackages: string[]) {
    super('REAL_SPEECH_MISSING', message);
    this.aptPackages = aptPackages;
  }
}

/** Phases of an import, in order. */
export type RealImportPhase = 'scan' | 'verify' | 'import' | 'stats';

/** Progress of one phase: `done` of `total` files. */
export interface RealImportProgress {
  phase: RealImportPhase;
  done: number;
  total: number;
  detail?: string;
}

/** Options of `importRealSpeech`. */
export interface ImportRealSpeechOptions {
  /** TIMBRE_HOME; the set goes to `<home>/corpus-real`. Default: `timbreHome()`. */
  home?: string;
  /** Source ids (`ktuberling`, `klettres`, `asterisk-en`); default every installed one. */
  sources?: readonly string[];
  /** Folder the packages' files are read under, default `/`; tests point it at a fixture tree. */
  systemRoot?: string;
  /** Installed version of an apt package, null if unknown; default asks `dpkg-query -W`. */
  packageVersion?: (aptPackage: string) => string | null;
  onProgress?: (event: RealImportProgress) => void;
  /** Notes and warnings for the user (missing packages, damaged files). */
  onMessage?: (text: string) => void;
  /** Aborts between files; the manifest then records what is done, and a rerun resumes. */
  signal?: AbortSignal;
}

/** What an import did and what the set now holds. */
export interface RealImportResult {
  root: string;
  manifestHash: string;
  /** True when nothing was decoded or written. */
  nothingToDo: boolean;
  sources: { id: string; aptPackage: string; packageVersion: string | null; clips: number }[];
  speakers: number;
  heldOutSpeakers: string[];
  clips: number;
  audioSeconds: number;
  splitCounts: Record<RealSplitName, number>;
  /** Clips decoded and processed by this run. */
  imported: number;
  /** Cached clips that failed verification and were imported again. */
  repaired: number;
  skipped: SkippedFile[];
  elapsedSeconds: number;
  /** Sources not imported because their package is not installed. */
  missing: { source: string; aptPackage: string }[];
}

/** `dpkg-query -W -f '${Version}' <package>`, or null when dpkg does not know it. */
export function dpkgVersion(aptPackage: string): string | null {
  const run = spawnSync('dpkg-query', ['-W', '-f=${Version}', aptPackage], { encoding: 'utf8', timeout: 10_000 });
  const version = (run.stdout ?? '').trim();
  return run.status === 0 && version !== '' ? version : null;
}

/** Which sources to import: the requested ones (each must be installed) or every installed one. */
function chooseSources(requested: readonly string[] | undefined, systemRoot: string): { chosen: RealSpeechSource[]; missing: RealSpeechSource[] } {
  if (requested !== undefined) {
    if (requested.length === 0) throw new InvalidArgumentError('sources: give at least one source id');
    const chosen: RealSpeechSource[] = [];
    for (const id of requested) {
      const source = REAL_SOURCES.find((s) => s.id === id);
      if (source === undefined) throw new InvalidArgumentError(`"${id}" is not a real-speech source; choose from ${REAL_SOURCES.map((s) => s.id).join(', ')}`);
      if (chosen.includes(source)) throw new InvalidArgumentError(`sources: ${requested.join(',')} names ${id} twice`);
      if (!sourcePresent(source, systemRoot)) {
        throw new RealSpeechMissingError(`${source.aptPackage} is not installed (no ${source.dataDir}); install it with: sudo apt-get install ${source.aptPackage}`, [source.aptPackage]);
      }
      chosen.push(source);
    }
    // Catalogue order, whatever order the user gave.
    return { chosen: REAL_SOURCES.filter((s) => chosen.includes(s)), missing: [] };
  }
  const chosen = REAL_SOURCES.filter((s) => sourcePresent(s, systemRoot));
  const missing = REAL_SOURCES.filter((s) => !chosen.includes(s));
  if (chosen.length === 0) {
    const packages = REAL_SOURCES.map((s) => s.aptPackage);
    throw new RealSpeechMissingError(`no package of real speech is installed; install them with: sudo apt-get install ${packages.join(' ')}`, packages);
  }
  return { chosen, missing };
}

const percentile = (sorted: ArrayLike<number>, q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

/** Voiced-frame F0 statistics of one speaker, from its clips' F0 tracks; see `SpeakerF0`. */
export function speakerF0Stats(tracks: readonly Float32Array[]): SpeakerF0 {
  const all: number[] = [];
  const logMedians: number[] = [];
  for (const track of tracks) {
    const voiced = Array.from(track).filter((v) => v > 0).sort((a, b) => a - b);
    for (const v of voiced) all.push(v);
    if (voiced.length > 0) logMedians.push(Math.log2(voiced[Math.floor(voiced.length / 2)]!));
  }
  all.sort((a, b) => a - b);
  logMedians.sort((a, b) => a - b);
  // Two-means on the sorted log medians: the split k minimising the within-group sum of squares.
  const n = logMedians.length;
  const prefix = [0];
  const prefixSq = [0];
  for (const v of logMedians) {
    prefix.push(prefix[prefix.length - 1]! + v);
    prefixSq.push(prefixSq[prefixSq.length - 1]! + v * v);
  }
  const spread = (from: number, to: number): number => prefixSq[to]! - prefixSq[from]! - (prefix[to]! - prefix[from]!) ** 2 / (to - from);
  let split = 0;
  let best = Infinity;
  for (let k = 1; k < n; k++) {
    const within = spread(0, k) + spread(k, n);
    if (within < best - 1e-12) {
      best = within;
      split = k;
    }
  }
  const low = split > 0 ? 2 ** (prefix[split]! / split) : 0;
  const high = split > 0 ? 2 ** ((prefix[n]! - prefix[split]!) / (n - split)) : 0;
  const lowFraction = n > 0 ? split / n : 0;
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    medianHz: round(percentile(all, 0.5)),
    p10Hz: round(percentile(all, 0.1)),
    p90Hz: round(percentile(all, 0.9)),
    lowGroupHz: round(low),
    highGroupHz: round(high),
    lowGroupFraction: Math.round(lowFraction * 1000) / 1000,
    maybeSeveralSpeakers: split > 0 && Math.min(lowFraction, 1 - lowFraction) >= 0.2 && Math.log2(high / low) >= 0.6,
  };
}

/** Per-bin mean and std over the given clips' mel files, float64 sums in manifest order. */
async function melStatsOf(root: string, clips: readonly RealClipEntry[]): Promise<MelStats> {
  const bins = MEL_CONFIG.melBins;
  const sum = new Float64Array(bins);
  const sumSq = new Float64Array(bins);
  let frames = 0;
  for (const clip of clips) {
    const data = float32FromBytes(new Uint8Array(await readFile(resolveCachePath(root, clip.mel.path))), clip.mel.path, clip.frames * bins);
    for (let i = 0; i < data.length; i++) {
      sum[i % bins] += data[i]!;
      sumSq[i % bins] += data[i]! * data[i]!;
    }
    frames += clip.frames;
  }
  return melStatsOfSums(sum, sumSq, frames);
}

interface Planned {
  source: RealSpeechSource;
  clip: SourceClip;
  id: string;
  clipId: string;
  sha256: string;
  bytes: number;
  importKey: string;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Imports or resumes the real-speech set; see `ImportRealSpeechOptions`. */
export async function importRealSpeech(options: ImportRealSpeechOptions = {}): Promise<RealImportResult> {
  const started = performance.now();
  const message = options.onMessage ?? (() => {});
  const progress = options.onProgress ?? (() => {});
  const systemRoot = options.systemRoot ?? '/';
  const versionOf = options.packageVersion ?? dpkgVersion;
  const { chosen, missing } = chooseSources(options.sources, systemRoot);
  for (const m of missing) message(`source ${m.id} skipped: ${m.aptPackage} is not installed (sudo apt-get install ${m.aptPackage})`);

  const root = join(timbrePaths(options.home).root, REAL_SPEECH_FOLDER);
  await mkdir(root, { recursive: true });
  const skipped: SkippedFile[] = [];
  const packageVersions = new Map(chosen.map((s) => [s.id, versionOf(s.aptPackage)]));

  // 1. List every source's clips, read each file once: size, sha256, and duplicates of earlier files.
  const listed: { source: RealSpeechSource; clip: SourceClip }[] = [];
  for (const source of chosen) {
    const listing = listSourceClips(source, systemRoot);
    for (const m of listing.missingFiles) skipped.push({ path: m.sourcePath, reason: `listed as "${m.label}" in the package index but absent` });
    if (listing.missingFiles.length > 0) message(`${source.aptPackage}: ${listing.missingFiles.length} file(s) named in its index are absent; skipped`);
    if (listing.clips.length === 0) {
      throw new RealSpeechMissingError(
        `${source.aptPackage}: no recordings found under ${source.dataDir}; reinstall it with: sudo apt-get install --reinstall ${source.aptPackage}`,
        [source.aptPackage],
      );
    }
    const sorted = [...listing.clips].sort((a, b) => byString(a.speaker, b.speaker) || byString(a.clip, b.clip) || byString(a.sourcePath, b.sourcePath));
    for (const clip of sorted) listed.push({ source, clip });
  }
  const planned: Planned[] = [];
  const seenContent = new Map<string, string>();
  const usedIds = new Set<string>();
  progress({ phase: 'scan', done: 0, total: listed.length });
  for (const [index, { source, clip }] of listed.entries()) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(onRoot(systemRoot, clip.sourcePath)));
    } catch (error) {
      skipped.push({ path: clip.sourcePath, reason: `unreadable: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      message(`skipped ${clip.sourcePath}: unreadable`);
      continue;
    }
    const sha256 = sha256Hex(bytes);
    let clipId = clip.clip;
    for (let n = 2; usedIds.has(`${clip.speaker}/${clipId}`); n++) clipId = `${clip.clip}_${n}`;
    const id = `${clip.speaker}/${clipId}`;
    const earlier = seenContent.get(sha256);
    progress({ phase: 'scan', done: index + 1, total: listed.length, detail: clip.sourcePath });
    if (earlier !== undefined) {
      // Packages ship some recordings twice (KTuberling's four Serbian themes share their files; uk/bow = uk/tux-bow).
      skipped.push({ path: clip.sourcePath, reason: `same audio as ${earlier}` });
      continue;
    }
    seenContent.set(sha256, id);
    usedIds.add(id);
    const importKey = sha256Hex(JSON.stringify([REAL_PIPELINE_VERSION, sha256, DEFAULT_PROCESSING, MEL_CONFIG]));
    planned.push({ source, clip, id, clipId, sha256, bytes: bytes.byteLength, importKey });
  }

  const failed: SkippedFile[] = [];
  type Features = Pick<RealClipEntry, 'source' | 'durationSeconds' | 'frames' | 'f0Frames' | 'f0MedianHz' | 'wav' | 'mel' | 'f0'>;
  // Fixed key order, so a reused entry serialises exactly like a fresh one.
  const entryOf = (plan: Planned, f: Features): RealClipEntry => ({
    id: plan.id,
    speaker: plan.clip.speaker,
    clip: plan.clipId,
    language: primaryLanguage(plan.clip.languageTag),
    label: plan.clip.label,
    aliases: [...plan.clip.aliases],
    text: plan.clip.text,
    split: realSplitOf(plan.clip.languageTag, `${plan.source.id}:${plan.clip.label}`),
    importKey: plan.importKey,
    source: {
      aptPackage: f.source.aptPackage,
      packageVersion: f.source.packageVersion,
      path: f.source.path,
      sha256: f.source.sha256,
      bytes: f.source.bytes,
      format: f.source.format,
      sampleRateHz: f.source.sampleRateHz,
      channels: f.source.channels,
    },
    durationSeconds: f.durationSeconds,
    frames: f.frames,
    f0Frames: f.f0Frames,
    f0MedianHz: f.f0MedianHz,
    wav: { path: f.wav.path, sha256: f.wav.sha256, bytes: f.wav.bytes },
    mel: { path: f.mel.path, sha256: f.mel.sha256, bytes: f.mel.bytes },
    f0: { path: f.f0.path, sha256: f.f0.sha256, bytes: f.f0.bytes },
  });

  // 2. Reuse what a previous run imported from the same bytes with the same settings, if its files verify.
  const old = readRealManifest(root);
  const oldBytes = old === null ? null : manifestBytes(old);
  const oldClips = new Map((old?.clips ?? []).map((c) => [c.id, c]));
  const done = new Map<string, RealClipEntry>();
  const todo: Planned[] = [];
  let repaired = 0;
  progress({ phase: 'verify', done: 0, total: planned.length });
  for (const [index, plan] of planned.entries()) {
    const previous = oldClips.get(plan.id);
    if (previous !== undefined && previous.importKey === plan.importKey) {
      const ok = (await readVerifiedFile(root, previous.wav)) !== null && (await readVerifiedFile(root, previous.mel)) !== null && (await readVerifiedFile(root, previous.f0)) !== null;
      // Labels, split and package version come from this run; only the decoded features are reused.
      if (ok) done.set(plan.id, entryOf(plan, { ...previous, source: { ...previous.source, packageVersion: packageVersions.get(plan.source.id) ?? null, path: plan.clip.sourcePath } }));
      else {
        repaired++;
        todo.push(plan);
      }
    } else todo.push(plan);
    progress({ phase: 'verify', done: index + 1, total: planned.length });
  }
  if (repaired > 0) message(`${repaired} cached clip${repaired === 1 ? '' : 's'} failed verification and will be imported again`);

  const snapshot = async (complete: boolean, melStats: MelStats | null): Promise<RealSpeechManifest> => {
    const clips = planned
      .map((p) => done.get(p.id))
      .filter((c): c is RealClipEntry => c !== undefined)
      .sort((a, b) => byString(a.speaker, b.speaker) || byString(a.clip, b.clip));
    const counts = Object.fromEntries(REAL_SPLIT_NAMES.map((s) => [s, 0])) as Record<RealSplitName, number>;
    for (const c of clips) counts[c.split]++;
    const speakerIds = [...new Set(clips.map((c) => c.speaker))].sort(byString);
    const speakers: RealSpeakerEntry[] = [];
    for (const [speakerIndex, speaker] of speakerIds.entries()) {
      const own = clips.filter((c) => c.speaker === speaker);
      const plan = planned.find((p) => p.clip.speaker === speaker)!;
      const tracks = complete
        ? await Promise.all(own.map(async (c) => float32FromBytes(new Uint8Array(await readFile(resolveCachePath(root, c.f0.path))), c.f0.path, c.f0Frames)))
        : [];
      speakers.push({
        id: speaker,
        speakerIndex,
        source: plan.source.id,
        languageTag: plan.clip.languageTag,
        language: primaryLanguage(plan.clip.languageTag),
        heldOut: own[0]!.split === 'heldout',
        clips: own.length,
        durationSeconds: Math.round(own.reduce((sum, c) => sum + c.durationSeconds, 0) * 1000) / 1000,
        sourceSampleRatesHz: [...new Set(own.map((c) => c.source.sampleRateHz))].sort((a, b) => a - b),
        f0: speakerF0Stats(tracks),
      });
    }
    const sources: RealSourceEntry[] = chosen.map((s) => ({
      id: s.id,
      aptPackage: s.aptPackage,
      packageVersion: packageVersions.get(s.id) ?? null,
      license: s.license,
      copyright: s.copyright,
      description: s.description,
      dataDir: s.dataDir,
      clips: clips.filter((c) => c.source.aptPackage === s.aptPackage).length,
    }));
    const allSkipped = [...skipped, ...failed].sort((a, b) => byString(a.path, b.path));
    return {
      format: REAL_MANIFEST_FORMAT,
      version: REAL_MANIFEST_VERSION,
      pipeline: REAL_PIPELINE_VERSION,
      melConfig: { ...MEL_CONFIG },
      processing: { ...DEFAULT_PROCESSING },
      split: { salt: REAL_SPLIT_SALT, fractions: { ...REAL_SPLIT_FRACTIONS }, heldOutLanguages: [...HELD_OUT_LANGUAGES], counts },
      sources,
      speakers,
      clips,
      skipped: allSkipped,
      melStats,
      complete,
    };
  };

  // 3. Decode, process like the synthetic corpus (resample, trim, loudness, 16-bit, log-mel, F0), cache.
  let imported = 0;
  const noEndOfStream: string[] = [];
  let lastCheckpoint = performance.now();
  const decoder = new RecordingDecoder();
  progress({ phase: 'import', done: 0, total: todo.length });
  try {
    for (const [index, plan] of todo.entries()) {
      if (options.signal?.aborted) break;
      const bytes = new Uint8Array(await readFile(onRoot(systemRoot, plan.clip.sourcePath)));
      try {
        if (sha256Hex(bytes) !== plan.sha256) throw new Error('the file changed while importing; run the import again');
        const recording = await decoder.decode(bytes, plan.clip.sourcePath);
        if (recording.warnings.length > 0) noEndOfStream.push(plan.clip.sourcePath);
        const utterance = processUtterance(recording.samples, recording.sampleRateHz, DEFAULT_PROCESSING);
        if (utterance.logMel.frames === 0) throw new Error('no speech above the trim threshold');
        const wav = await writeCachedFile(root, cacheRelativePath('wav', plan.clip.speaker, plan.clipId), utterance.wavBytes);
        const mel = await writeCachedFile(root, cacheRelativePath('mel', plan.clip.speaker, plan.clipId), float32Bytes(utterance.logMel.data));
        const f0 = await writeCachedFile(root, cacheRelativePath('f0', plan.clip.speaker, plan.clipId), float32Bytes(utterance.f0Hz));
        const voiced = Array.from(utterance.f0Hz).filter((v) => v > 0).sort((a, b) => a - b);
        done.set(
          plan.id,
          entryOf(plan, {
            source: {
              aptPackage: plan.source.aptPackage,
              packageVersion: packageVersions.get(plan.source.id) ?? null,
              path: plan.clip.sourcePath,
              sha256: plan.sha256,
              bytes: plan.bytes,
              format: recording.format,
              sampleRateHz: recording.sampleRateHz,
              channels: recording.channels,
            },
            durationSeconds: utterance.durationSeconds,
            frames: utterance.logMel.frames,
            f0Frames: utterance.f0Hz.length,
            f0MedianHz: voiced.length > 0 ? voiced[Math.floor(voiced.length / 2)]! : 0,
            wav,
            mel,
            f0,
          }),
        );
        imported++;
      } catch (error) {
        const reason = error instanceof Error ? error.message.replace(`${plan.clip.sourcePath}: `, '') : String(error);
        failed.push({ path: plan.clip.sourcePath, reason: `not imported: ${reason}` });
        message(`warning: skipped ${plan.clip.sourcePath}: ${reason}`);
      }
      progress({ phase: 'import', done: index + 1, total: todo.length, detail: plan.id });
      if (performance.now() - lastCheckpoint > 5000) {
        lastCheckpoint = performance.now();
        await writeManifest(root, await snapshot(false, null));
      }
    }
  } finally {
    decoder.dispose();
  }
  if (noEndOfStream.length > 0) {
    message(`${noEndOfStream.length} Ogg file(s) have no end-of-stream page (${noEndOfStream[0]}${noEndOfStream.length > 1 ? ', …' : ''}); imported their whole pages`);
  }
  if (options.signal?.aborted) {
    await writeManifest(root, await snapshot(false, null));
    throw new CorpusNotBuiltError(`real-speech import stopped after ${imported} of ${todo.length} files; run it again to resume`);
  }
  if (done.size === 0) throw new RealSpeechMissingError('no recording could be imported (every file was damaged or silent); see the warnings above', chosen.map((s) => s.aptPackage));

  // 4. Mel statistics of the train split, recomputed only when its clips changed.
  const provisional = await snapshot(false, null);
  const train = provisional.clips.filter((c) => c.split === 'train');
  const oldTrain = old?.clips.filter((c) => c.split === 'train') ?? [];
  const reuse = imported === 0 && old?.complete === true && old.melStats !== null && oldTrain.length === train.length && oldTrain.every((c, i) => c.mel.sha256 === train[i]!.mel.sha256);
  progress({ phase: 'stats', done: 0, total: 1 });
  const melStats = reuse ? old!.melStats : await melStatsOf(root, train);
  progress({ phase: 'stats', done: 1, total: 1 });

  const manifest = await snapshot(true, melStats);
  const bytes = manifestBytes(manifest);
  const unchanged = oldBytes !== null && Buffer.from(oldBytes).equals(Buffer.from(bytes));
  if (!unchanged) await writeManifest(root, manifest);
  return {
    root,
    manifestHash: manifestHash(manifest),
    nothingToDo: unchanged && imported === 0,
    sources: manifest.sources.map((s) => ({ id: s.id, aptPackage: s.aptPackage, packageVersion: s.packageVersion, clips: s.clips })),
    speakers: manifest.speakers.length,
    heldOutSpeakers: manifest.speakers.filter((s) => s.heldOut).map((s) => s.id),
    clips: manifest.clips.length,
    audioSeconds: manifest.clips.reduce((sum, c) => sum + c.durationSeconds, 0),
    splitCounts: manifest.split.counts,
    imported,
    repaired,
    skipped: manifest.skipped,
    elapsedSeconds: (performance.now() - started) / 1000,
    missing: missing.map((m) => ({ source: m.id, aptPackage: m.aptPackage })),
  };
}
