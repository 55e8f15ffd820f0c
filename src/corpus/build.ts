// `timbre corpus build`: renders every voice × sentence, caches WAV + log-mel + F0 and the
// average-voice targets under TIMBRE_HOME/corpus, resumable (hash-verified) and deterministic.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import type { LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { timbrePaths } from '../io/paths.js';
import { averageVoiceTargets } from './align.js';
import { CorpusNotBuiltError } from './errors.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  manifestBytes,
  manifestHash,
  melStatsOfSums,
  readManifest,
  writeManifest,
  type AverageEntry,
  type CorpusManifest,
  type ManifestVoice,
  type MelStats,
  type UtteranceEntry,
} from './manifest.js';
import { DEFAULT_PROCESSING, processUtterance } from './process.js';
import { loadSentences, sentenceListHash, type CorpusSentence } from './sentences.js';
import { assignSplits, DEFAULT_SPLIT_FRACTIONS, DEFAULT_SPLIT_SALT, SPLIT_NAMES, type SplitName } from './split.js';
import { cacheRelativePath, float32Bytes, float32FromBytes, readVerifiedFile, sha256Hex, writeCachedFile } from './store.js';
import { renderSentence } from './synth.js';
import { CORPUS_VOICES, detectVoices, requireVoices, sameSpeakerVoices, type CorpusVoice, type SynthEngine } from './voices.js';

/** Bumped when rendering or feature code changes in a way that changes cached bytes. */
export const CORPUS_PIPELINE_VERSION = 'corpus-pipeline-1';

/** Phases of a build, in order. */
export type CorpusBuildPhase = 'verify' | 'render' | 'average' | 'stats';

/** Progress of one phase: `done` of `total` units (utterances or sentences). */
export interface CorpusBuildProgress {
  phase: CorpusBuildPhase;
  done: number;
  total: number;
  detail?: string;
}

/** Options of `buildCorpus`. */
export interface BuildCorpusOptions {
  /** TIMBRE_HOME; the cache is `<home>/corpus`. Default: `timbreHome()`. */
  home?: string;
  /** Voice ids to build; default every corpus voice that is installed. */
  voices?: readonly string[];
  /** Use the first N sentences (list order); default all 720. */
  sentences?: number;
  /** Synthesizer processes run at once; default 2. */
  jobs?: number;
  /** Called as work advances (several times per second at most per unit finished). */
  onProgress?: (event: CorpusBuildProgress) => void;
  /** Notes for the user (missing voices, rebuild reasons). */
  onMessage?: (text: string) => void;
  /** Aborts between utterances; the manifest then records what is done, and a rerun resumes. */
  signal?: AbortSignal;
  /** Environment used to find the synthesizers (PATH); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** What a build did and what the corpus now holds. */
export interface CorpusBuildResult {
  corpusRoot: string;
  /** sha256 of manifest.json; equal inputs give equal hashes. */
  manifestHash: string;
  /** True when nothing was rendered, computed or rewritten. */
  nothingToDo: boolean;
  voices: string[];
  sentences: number;
  utterances: number;
  rendered: number;
  /** Utterances whose cached files failed verification and were rebuilt. */
  repaired: number;
  averagesComputed: number;
  audioHours: number;
  splitCounts: Record<SplitName, number>;
  elapsedSeconds: number;
  /** Voices not built because their synthesizer is missing, with the apt package to install. */
  missing: { voice: string; reason: string; aptPackage: string }[];
}

const programVersionCache = new Map<SynthEngine, string>();

/** First line of `<program> --version` (used in render keys so an upgrade re-renders). */
function synthesizerVersion(engine: SynthEngine): string {
  const cached = programVersionCache.get(engine);
  if (cached !== undefined) return cached;
  const program = engine === 'festival' ? 'festival' : engine;
  // Some programs (flite) exit non-zero after printing their version, so read stdout regardless.
  const run = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const lines = `${run.stdout ?? ''}\n${run.stderr ?? ''}`.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const found = lines.find((line) => /version/i.test(line) && /\d/.test(line)) ?? lines.find((line) => /\d/.test(line)) ?? 'unknown';
  const version = found.replace(/\s+Data at:.*$/, '');
  programVersionCache.set(engine, version);
  return version;
}

function renderKeyOf(voice: CorpusVoice, sentence: CorpusSentence, version: string): string {
  return sha256Hex(
    JSON.stringify([CORPUS_PIPELINE_VERSION, voice.engine, voice.engineVoice, version, sentence.text, DEFAULT_PROCESSING, MEL_CONFIG]),
  );
}

const key = (voice: string, sentence: string): string => `${voice}/${sentence}`;

/** Runs `worker` over `items` with at most `jobs` in flight, in order of start. */
async function pool<T>(items: readonly T[], jobs: number, worker: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length) {
      if (signal?.aborted) return;
      const item = items[next++]!;
      await worker(item);
    }
  });
  await Promise.all(lanes);
}

async function readMel(root: string, entry: UtteranceEntry): Promise<LogMel> {
  const bytes = await readFile(join(root, ...entry.mel.path.split('/')));
  return { frames: entry.frames, mels: MEL_CONFIG.melBins, data: float32FromBytes(new Uint8Array(bytes), entry.mel.path, entry.frames * MEL_CONFIG.melBins) };
}

/** Per-bin mean and std over all frames of the given utterances (float64 sums, in manifest order). */
async function computeMelStats(root: string, entries: readonly UtteranceEntry[]): Promise<MelStats> {
  const bins = MEL_CONFIG.melBins;
  const sum = new Float64Array(bins);
  const sumSq = new Float64Array(bins);
  let frames = 0;
  for (const entry of entries) {
    const mel = await readMel(root, entry);
    for (let f = 0; f < mel.frames; f++) {
      for (let b = 0; b < bins; b++) {
        const v = mel.data[f * bins + b]!;
        sum[b] += v;
        sumSq[b] += v * v;
      }
    }
    frames += mel.frames;
  }
  return melStatsOfSums(sum, sumSq, frames);
}

/** Builds or resumes the corpus cache; see `BuildCorpusOptions`. Returns a summary. */
export async function buildCorpus(options: BuildCorpusOptions = {}): Promise<CorpusBuildResult> {
  const started = performance.now();
  const jobs = options.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new InvalidArgumentError(`jobs must be a whole number in [1, 64], got ${jobs}`);
  const message = options.onMessage ?? (() => {});
  const progress = options.onProgress ?? (() => {});

  const availability = detectVoices(options.env);
  const voices = requireVoices(options.voices, availability);
  const missing = options.voices === undefined ? availability.missing : [];
  for (const m of missing) message(`voice ${m.voice.id} skipped: ${m.reason} (sudo apt-get install ${m.aptPackage})`);
  if (voices.length === 0) throw new CorpusNotBuiltError('no corpus voice is installed; install flite, festival or espeak-ng');

  const allSentences = loadSentences();
  const count = options.sentences ?? allSentences.length;
  if (!Number.isInteger(count) || count < 1 || count > allSentences.length) {
    throw new InvalidArgumentError(`sentences must be a whole number in [1, ${allSentences.length}], got ${count}`);
  }
  const splitOf = assignSplits(allSentences.map((s) => s.id), DEFAULT_SPLIT_FRACTIONS, DEFAULT_SPLIT_SALT);
  const sentences = allSentences.slice(0, count);

  const root = timbrePaths(options.home).corpus;
  const workDir = join(root, 'tmp');
  await mkdir(workDir, { recursive: true });

  const manifestVoices: ManifestVoice[] = voices.map((voice) => ({
    ...voice,
    speakerIndex: CORPUS_VOICES.findIndex((v) => v.id === voice.id),
    sameSpeakerAs: sameSpeakerVoices(voice.id).filter((id) => voices.some((v) => v.id === id)),
    synthesizerVersion: synthesizerVersion(voice.engine),
  }));
  // Speaker indices are positions in the built voice list, so a subset build has ids 0…n−1.
  manifestVoices.forEach((voice, index) => Object.assign(voice, { speakerIndex: index }));

  const old = await readManifest(root);
  const oldBytes = old === null ? null : manifestBytes(old);
  const oldUtterances = new Map((old?.utterances ?? []).map((u) => [key(u.voice, u.sentence), u]));
  const oldAverages = new Map((old?.averages ?? []).map((a) => [key(a.voice, a.sentence), a]));
  if (old !== null && !old.complete) message('resuming an interrupted build');
  const selected = new Set(voices.flatMap((voice) => sentences.map((sentence) => key(voice.id, sentence.id))));
  const dropped = [...oldUtterances.keys()].filter((k) => !selected.has(k)).length;
  if (dropped > 0) {
    message(`the manifest now describes this selection only; ${dropped} utterance${dropped === 1 ? '' : 's'} of the previous build leave it (use --home for subset builds)`);
  }

  // 1. Verify what the cache already holds.
  const done = new Map<string, UtteranceEntry>();
  const todo: { voice: CorpusVoice; sentence: CorpusSentence; renderKey: string }[] = [];
  let repaired = 0;
  const all = voices.flatMap((voice) => sentences.map((sentence) => ({ voice, sentence, renderKey: renderKeyOf(voice, sentence, synthesizerVersion(voice.engine)) })));
  let verified = 0;
  for (const item of all) {
    const previous = oldUtterances.get(key(item.voice.id, item.sentence.id));
    let ok = false;
    if (previous !== undefined && previous.renderKey === item.renderKey) {
      ok =
        (await readVerifiedFile(root, previous.wav)) !== null &&
        (await readVerifiedFile(root, previous.mel)) !== null &&
        (await readVerifiedFile(root, previous.f0)) !== null;
      if (!ok) repaired++;
    }
    if (ok) done.set(key(item.voice.id, item.sentence.id), { ...previous!, split: splitOf.get(item.sentence.id)! });
    else todo.push(item);
    progress({ phase: 'verify', done: ++verified, total: all.length });
  }
  if (repaired > 0) message(`${repaired} cached utterance${repaired === 1 ? '' : 's'} failed verification and will be re-rendered`);

  const averages = new Map<string, AverageEntry>();
  const snapshot = (complete: boolean, melStats: MelStats | null): CorpusManifest => {
    const utterances: UtteranceEntry[] = [];
    const avgs: AverageEntry[] = [];
    for (const voice of voices) {
      for (const sentence of sentences) {
        const u = done.get(key(voice.id, sentence.id));
        if (u !== undefined) utterances.push(u);
        const a = averages.get(key(voice.id, sentence.id)) ?? (complete ? undefined : oldAverages.get(key(voice.id, sentence.id)));
        if (a !== undefined) avgs.push(a);
      }
    }
    const counts = { train: 0, validation: 0, test: 0 } as Record<SplitName, number>;
    for (const s of sentences) counts[splitOf.get(s.id)!]++;
    return {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      melConfig: { ...MEL_CONFIG },
      processing: { ...DEFAULT_PROCESSING },
      sentenceList: { source: 'harvard', count: allSentences.length, sha256: sentenceListHash(allSentences) },
      split: { salt: DEFAULT_SPLIT_SALT, fractions: { ...DEFAULT_SPLIT_FRACTIONS }, counts },
      voices: manifestVoices,
      sentences: sentences.map((s) => ({ id: s.id, text: s.text, split: splitOf.get(s.id)! })),
      utterances,
      averages: avgs,
      melStats,
      complete,
    };
  };

  // 2. Render what is missing, `jobs` synthesizers at a time; checkpoint the manifest every few seconds.
  let rendered = 0;
  let lastCheckpoint = performance.now();
  progress({ phase: 'render', done: 0, total: todo.length });
  await pool(
    todo,
    jobs,
    async ({ voice, sentence, renderKey }) => {
      const speech = await renderSentence(voice, sentence.text, workDir);
      const utterance = processUtterance(speech.samples, speech.sampleRateHz, DEFAULT_PROCESSING);
      const wav = await writeCachedFile(root, cacheRelativePath('wav', voice.id, sentence.id), utterance.wavBytes);
      const mel = await writeCachedFile(root, cacheRelativePath('mel', voice.id, sentence.id), float32Bytes(utterance.logMel.data));
      const f0 = await writeCachedFile(root, cacheRelativePath('f0', voice.id, sentence.id), float32Bytes(utterance.f0Hz));
      const voicedF0 = Array.from(utterance.f0Hz).filter((v) => v > 0).sort((a, b) => a - b);
      done.set(key(voice.id, sentence.id), {
        voice: voice.id,
        sentence: sentence.id,
        split: splitOf.get(sentence.id)!,
        renderKey,
        durationSeconds: utterance.durationSeconds,
        frames: utterance.logMel.frames,
        f0Frames: utterance.f0Hz.length,
        f0MedianHz: voicedF0.length > 0 ? voicedF0[Math.floor(voicedF0.length / 2)]! : 0,
        wav,
        mel,
        f0,
      });
      rendered++;
      progress({ phase: 'render', done: rendered, total: todo.length, detail: `${voice.id} ${sentence.id}` });
      if (performance.now() - lastCheckpoint > 5000) {
        lastCheckpoint = performance.now();
        await writeManifest(root, snapshot(false, null));
      }
    },
    options.signal,
  );
  if (options.signal?.aborted) {
    await writeManifest(root, snapshot(false, null));
    throw new CorpusNotBuiltError(`corpus build stopped after ${rendered} of ${todo.length} renders; run it again to resume`);
  }

  // 3. Average-voice targets, one sentence at a time (all its voices at once share the DTW paths).
  let averagesComputed = 0;
  let sentencesDone = 0;
  progress({ phase: 'average', done: 0, total: sentences.length });
  for (const sentence of sentences) {
    if (options.signal?.aborted) break;
    const entries = voices.map((voice) => done.get(key(voice.id, sentence.id))!);
    const inputsHash = sha256Hex(JSON.stringify(entries.map((e) => [e.voice, e.mel.sha256])));
    let valid = true;
    for (const entry of entries) {
      const previous = oldAverages.get(key(entry.voice, sentence.id));
      if (previous === undefined || previous.inputsHash !== inputsHash || (await readVerifiedFile(root, previous.file)) === null) {
        valid = false;
        break;
      }
    }
    if (valid) {
      for (const entry of entries) averages.set(key(entry.voice, sentence.id), oldAverages.get(key(entry.voice, sentence.id))!);
    } else {
      const mels = await Promise.all(entries.map((entry) => readMel(root, entry)));
      const targets = averageVoiceTargets(mels);
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const file = await writeCachedFile(root, cacheRelativePath('avg', entry.voice, sentence.id), float32Bytes(targets[i]!.data));
        averages.set(key(entry.voice, sentence.id), { voice: entry.voice, sentence: sentence.id, frames: targets[i]!.frames, inputsHash, file });
        averagesComputed++;
      }
    }
    progress({ phase: 'average', done: ++sentencesDone, total: sentences.length, detail: sentence.id });
    if (performance.now() - lastCheckpoint > 5000) {
      lastCheckpoint = performance.now();
      await writeManifest(root, snapshot(false, null));
    }
  }
  if (options.signal?.aborted) {
    await writeManifest(root, snapshot(false, null));
    throw new CorpusNotBuiltError('corpus build stopped while computing average-voice targets; run it again to resume');
  }

  // 4. Mel statistics of the train split, recomputed only when the utterances changed.
  const trainEntries = snapshot(true, null).utterances.filter((u) => u.split === 'train');
  const reuseStats = rendered === 0 && old?.melStats != null && old.complete && sameUtterances(old, trainEntries);
  progress({ phase: 'stats', done: 0, total: 1 });
  const melStats = reuseStats ? old!.melStats! : await computeMelStats(root, trainEntries);
  progress({ phase: 'stats', done: 1, total: 1 });

  const manifest = snapshot(true, melStats);
  const bytes = manifestBytes(manifest);
  const unchanged = oldBytes !== null && Buffer.from(oldBytes).equals(Buffer.from(bytes));
  if (!unchanged) await writeManifest(root, manifest);

  const splitCounts = manifest.split.counts;
  return {
    corpusRoot: root,
    manifestHash: manifestHash(manifest),
    nothingToDo: unchanged && rendered === 0 && averagesComputed === 0,
    voices: voices.map((v) => v.id),
    sentences: sentences.length,
    utterances: manifest.utterances.length,
    rendered,
    repaired,
    averagesComputed,
    audioHours: manifest.utterances.reduce((sum, u) => sum + u.durationSeconds, 0) / 3600,
    splitCounts,
    elapsedSeconds: (performance.now() - started) / 1000,
    missing: missing.map((m) => ({ voice: m.voice.id, reason: m.reason, aptPackage: m.aptPackage })),
  };
}

function sameUtterances(old: CorpusManifest, train: readonly UtteranceEntry[]): boolean {
  const oldTrain = old.utterances.filter((u) => u.split === 'train');
  return oldTrain.length === train.length && oldTrain.every((u, i) => u.mel.sha256 === train[i]!.mel.sha256);
}

export { SPLIT_NAMES };
