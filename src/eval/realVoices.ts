// Conversion to real people the models never heard (`timbre eval --real-voices`): each target is a speaker of the
// imported real-speech set, given as ≥ 30 s of clips that stand for a user's recordings: any-voice models get their
// first ≥ 10 s as the reference, models that learn voices (the VAE) are adapted on all of them. Scored on the
// speaker's OTHER clips by the speaker encoder (cosine gain over the unconverted source, nearest-centroid
// identification), by a cepstral LDA judge fitted here on those clips and the source voices, which shares nothing
// with any model, and by the recogniser's CER on the English source sentences.

import { createHash } from 'node:crypto';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { openCorpusDataset } from '../corpus/dataset.js';
import { openRealSpeech, type RealClipEntry } from '../corpus/realSpeech.js';
import { griffinLimVocoder, type Vocoder } from '../audio/griffinLim.js';
import type { ConversionSettings, ConversionTarget, MelConverter } from '../models/converter.js';
import { cosineSimilarity, SpeakerJudge, type SpeakerEncoder } from '../models/speakerEncoder/model.js';
import type { SpeechRecognizer } from './asr.js';
import { CepstralJudge } from './cepstralJudge.js';
import { characterErrors } from './text.js';
import { EvalSetupError } from './errors.js';
import { DEFAULT_EVAL_VOICES } from './pairs.js';
import type { EvalSystem } from './registry.js';

/** Seconds of a real speaker's clips given to an any-voice model as its reference. */
export const REAL_REFERENCE_SECONDS = 10;
/**
 * Seconds of a speaker's clips that stand for the user's recordings: a model that learns voices (the VAE's add-voice)
 * adapts on them, and the reference is their start; the clips after them score every system.
 */
export const REAL_RECORDING_SECONDS = 30;
/** Fewest seconds of other clips a target must keep for scoring. */
const MIN_SCORING_SECONDS = 10;
/** Train-split utterances per source voice the cepstral judge is fitted on. */
const SOURCE_JUDGE_UTTERANCES = 40;

/** Options of `runRealVoiceEvaluation`. */
export interface RealVoiceEvaluationOptions {
  /** Models to score (baselines are ignored; the unconverted source is always scored). */
  readonly systems: readonly EvalSystem[];
  readonly encoder: SpeakerEncoder;
  readonly home?: string;
  /** Real speakers to convert to; default every held-out-language speaker not flagged as possibly several people. */
  readonly speakers?: readonly string[];
  /** Corpus voices that read the sources (test split), taken in turn; default `DEFAULT_EVAL_VOICES`. */
  readonly sources?: readonly string[];
  /** Source sentences per target speaker; default 8. */
  readonly sentences?: number;
  readonly settings?: ConversionSettings;
  readonly vocoder?: Vocoder;
  /** Speech recogniser for CER on the (English) source sentences; null or absent skips it. */
  readonly recognizer?: SpeechRecognizer | null;
  /** Seconds of recordings per speaker (default `REAL_RECORDING_SECONDS`). */
  readonly recordingSeconds?: number;
  readonly onProgress?: (done: number, total: number, detail: string) => void;
  /** Notes (adaptation runs). */
  readonly log?: (line: string) => void;
}

/** Scores of one system toward one real speaker (or all of them). */
export interface RealVoiceMetrics {
  /** Mean cosine of the output's d-vector to the speaker's scoring-clip centroid. */
  readonly targetCosine: number;
  /** The same for the unconverted source. */
  readonly sourceCosine: number;
  /** Fraction of outputs whose nearest d-vector centroid (targets + source voices) is the target. */
  readonly dVectorIdentification: number;
  /** Fraction the cepstral judge (targets + source voices) assigns to the target. */
  readonly cepstralIdentification: number;
  /** Fraction the cepstral judge assigns to the voice that read the source (the conversion did not leave it). */
  readonly cepstralAsSource: number;
  /** Character error rate of the recogniser on the output against the sentence (NaN without a recogniser). */
  readonly cer: number;
  readonly utterances: number;
}

/** What `runRealVoiceEvaluation` returns (also `--json`). */
export interface RealVoiceReport {
  readonly realSet: { readonly root: string; readonly manifestHash: string };
  readonly speakers: readonly {
    readonly id: string;
    readonly language: string;
    readonly recordingClips: number;
    readonly recordingSeconds: number;
    readonly referenceClips: number;
    readonly referenceSeconds: number;
    readonly scoringClips: number;
    readonly scoringSeconds: number;
  }[];
  readonly sources: readonly string[];
  readonly sentences: readonly string[];
  readonly settings: ConversionSettings;
  /** Systems that cannot convert to an unseen voice, with the reason. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** How each system reached the speakers: by reference audio, or adapted on the recordings (with the seconds that took). */
  readonly reach: readonly { readonly name: string; readonly how: 'reference' | 'adapted'; readonly adaptationSeconds: readonly number[] }[];
  readonly recognizer: string | null;
  readonly systems: readonly { readonly name: string; readonly label: string; readonly metrics: RealVoiceMetrics; readonly perSpeaker: readonly { readonly speaker: string; readonly metrics: RealVoiceMetrics }[] }[];
  readonly cepstralJudge: string;
  readonly elapsedSeconds: number;
}

/** Clips of a speaker in a fixed pseudo-random order (sha-256 of the clip id), so the reference is no chosen subset. */
export function shuffledClips(clips: readonly RealClipEntry[]): RealClipEntry[] {
  const key = (c: RealClipEntry): string => createHash('sha256').update(`real-voice-reference:${c.id}`).digest('hex');
  return [...clips].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

interface Score {
  targetCosine: number;
  sourceCosine: number;
  dVector: boolean;
  cepstral: boolean;
  cepstralSource: boolean;
  edits: number;
  referenceChars: number;
}

function summarise(scores: readonly Score[]): RealVoiceMetrics {
  const mean = (f: (s: Score) => number): number => (scores.length > 0 ? scores.reduce((n, s) => n + f(s), 0) / scores.length : Number.NaN);
  return {
    targetCosine: mean((s) => s.targetCosine),
    sourceCosine: mean((s) => s.sourceCosine),
    dVectorIdentification: mean((s) => (s.dVector ? 1 : 0)),
    cepstralIdentification: mean((s) => (s.cepstral ? 1 : 0)),
    cepstralAsSource: mean((s) => (s.cepstralSource ? 1 : 0)),
    cer: scores.some((s) => s.referenceChars > 0) ? scores.reduce((n, s) => n + s.edits, 0) / scores.reduce((n, s) => n + s.referenceChars, 0) : Number.NaN,
    utterances: scores.length,
  };
}

/** Converts corpus test sentences to each real speaker with every any-voice system and scores them. */
export async function runRealVoiceEvaluation(options: RealVoiceEvaluationOptions): Promise<RealVoiceReport> {
  const started = performance.now();
  const where = options.home !== undefined ? { home: options.home } : {};
  const real = openRealSpeech(where);
  const speakers =
    options.speakers ?? real.speakers.filter((s) => s.heldOut && !s.f0.maybeSeveralSpeakers).map((s) => s.id);
  if (speakers.length === 0) throw new EvalSetupError(`the real-speech set at ${real.root} has no held-out speaker; give --speakers`);
  const sources = options.sources ?? DEFAULT_EVAL_VOICES;
  const perTarget = options.sentences ?? 8;
  if (!Number.isInteger(perTarget) || perTarget < 1) throw new EvalSetupError(`--sentences must be a whole number ≥ 1, received ${perTarget}`);
  const test = openCorpusDataset({ ...where, split: 'test', voices: [...sources] });
  const sentences = test.sentenceIds().filter((id) => sources.every((v) => test.sentenceUtterances(id).some((u) => u.voice === v))).slice(0, perTarget);
  if (sentences.length === 0) throw new EvalSetupError(`the corpus has no test sentence read by all of ${sources.join(', ')}`);
  const { encoder } = options;
  const vocoder = options.vocoder ?? griffinLimVocoder();
  const settings: ConversionSettings = { seed: 0, ...options.settings };

  const recordingSeconds = options.recordingSeconds ?? REAL_RECORDING_SECONDS;
  if (!(recordingSeconds >= REAL_REFERENCE_SECONDS)) throw new EvalSetupError(`the recordings per speaker must be at least the ${REAL_REFERENCE_SECONDS} s reference, received ${recordingSeconds} s`);
  const texts = new Map(test.manifest.sentences.map((s) => [s.id, s.text]));
  const recognizer = options.recognizer ?? null;
  const log = options.log ?? (() => {});

  // Each speaker's clips in hash order: the first ≥ 30 s are "the user's recordings" (the first ≥ 10 s of them the
  // reference of any-voice models), the others score.
  const firstSeconds = (clips: readonly RealClipEntry[], seconds: number): RealClipEntry[] => {
    const out: RealClipEntry[] = [];
    let total = 0;
    for (const clip of clips) {
      if (total >= seconds) break;
      out.push(clip);
      total += clip.durationSeconds;
    }
    return out;
  };
  const duration = (clips: readonly RealClipEntry[]): number => clips.reduce((n, c) => n + c.durationSeconds, 0);
  const plan = speakers.map((id) => {
    const clips = shuffledClips(real.clips({ speakers: [id] }));
    const recordings = firstSeconds(clips, recordingSeconds);
    const reference = firstSeconds(recordings, REAL_REFERENCE_SECONDS);
    const seconds = duration(reference);
    const scoring = clips.slice(recordings.length);
    const scoringSeconds = duration(scoring);
    if (duration(recordings) < recordingSeconds || scoringSeconds < MIN_SCORING_SECONDS) {
      throw new EvalSetupError(`real speaker ${id} has ${duration(clips).toFixed(1)} s of clips; it needs ${recordingSeconds} s of recordings and ${MIN_SCORING_SECONDS} s more to score`);
    }
    const referenceMels = reference.map((c) => real.mel(c.id));
    const scoringMels = scoring.map((c) => real.mel(c.id));
    return {
      id,
      language: real.speakers.find((s) => s.id === id)!.language,
      recordings,
      recordingMels: recordings.map((c) => real.mel(c.id)),
      reference,
      scoring,
      seconds,
      scoringSeconds,
      target: { voiceId: id, referenceMels, speakerEmbedding: encoder.embedReference(referenceMels) } satisfies ConversionTarget,
      centroid: encoder.embedReference(scoringMels),
      scoringMels,
    };
  });

  // The identification sets: every target speaker (scoring clips) and every source voice (train split).
  const train = openCorpusDataset({ ...where, split: 'train', voices: [...sources] });
  const sourceMels = new Map(
    sources.map((v) => {
      const list = train.utterances.filter((u) => u.voice === v);
      const step = Math.max(1, Math.floor(list.length / SOURCE_JUDGE_UTTERANCES));
      return [v, list.filter((_, i) => i % step === 0).slice(0, SOURCE_JUDGE_UTTERANCES).map((u) => train.mel(u.voice, u.sentence))];
    }),
  );
  const centroids = new Map<string, Float32Array>([...plan.map((p) => [p.id, p.centroid] as const), ...[...sourceMels].map(([v, mels]) => [v, encoder.embedReference(mels)] as const)]);
  const cepstralJudge = CepstralJudge.fit(new Map<string, readonly LogMel[]>([...plan.map((p) => [p.id, p.scoringMels] as const), ...sourceMels]));
  const centroidJudge = SpeakerJudge.fromCentroids(centroids);
  const nearest = (embedding: Float32Array): string => centroidJudge.classify(embedding).voice;

  const skipped: { name: string; reason: string }[] = [];
  const reach: { name: string; how: 'reference' | 'adapted'; adaptationSeconds: number[] }[] = [];
  const lanes: { system: Extract<EvalSystem, { kind: 'model' }>; converter: MelConverter | null }[] = [];
  const context = { home: options.home, targetVoices: [] };
  try {
    for (const system of options.systems) {
      if (system.kind !== 'model') continue;
      const converter = await system.entry.load(context);
      if (converter.targetVoices.includes('*')) {
        lanes.push({ system, converter });
        reach.push({ name: system.name, how: 'reference', adaptationSeconds: [] });
        continue;
      }
      converter.dispose();
      if (system.entry.adapt !== undefined) {
        lanes.push({ system, converter: null });
        reach.push({ name: system.name, how: 'adapted', adaptationSeconds: [] });
      } else {
        skipped.push({ name: system.name, reason: `${converter.label} converts only to the voices it was trained on` });
      }
    }
    const total = plan.length * sentences.length * lanes.length;
    let done = 0;
    const results = new Map<string, Score[][]>(lanes.map(({ system }) => [system.name, plan.map(() => [])]));
    const sourceScores: Score[][] = plan.map(() => []);
    const sourceOf = (t: number, i: number): string => sources[(i + t) % sources.length]!;
    const score = async (t: number, i: number, mel: LogMel, samples: Float32Array | null): Promise<Score> => {
      const target = plan[t]!;
      const sourceVoice = sourceOf(t, i);
      const sentence = sentences[i]!;
      const embedding = encoder.embed(mel);
      const sourceCosine = cosineSimilarity(encoder.embed(test.mel(sourceVoice, sentence)), target.centroid);
      const cepstral = cepstralJudge.classify(mel)?.voice;
      const errors = recognizer !== null && samples !== null ? characterErrors(texts.get(sentence) ?? '', await recognizer.transcribe(samples, MEL_CONFIG.sampleRateHz)) : { edits: 0, referenceChars: 0 };
      return { targetCosine: cosineSimilarity(embedding, target.centroid), sourceCosine, dVector: nearest(embedding) === target.id, cepstral: cepstral === target.id, cepstralSource: cepstral === sourceVoice, ...errors };
    };
    for (const [t] of plan.entries()) for (const [i, sentence] of sentences.entries()) sourceScores[t]!.push(await score(t, i, test.mel(sourceOf(t, i), sentence), null));
    for (const [index, lane] of lanes.entries()) {
      for (const [t, target] of plan.entries()) {
        let converter = lane.converter;
        if (converter === null) {
          const started = performance.now();
          converter = await lane.system.entry.adapt!(context, { name: target.id, mels: target.recordingMels }, log);
          reach[index]!.adaptationSeconds.push((performance.now() - started) / 1000);
        }
        try {
          for (const [i, sentence] of sentences.entries()) {
            const sourceMel = test.mel(sourceOf(t, i), sentence);
            const converted = await converter.convert(sourceMel, target.target, { settings });
            const samples = await vocoder(converted, { lengthSamples: sourceMel.frames * MEL_CONFIG.hopSamples });
            results.get(lane.system.name)![t]!.push(await score(t, i, logMelSpectrogram(samples, MEL_CONFIG), samples));
            options.onProgress?.(++done, total, `${lane.system.name} ${sourceOf(t, i)}→${target.id} ${sentence}`);
          }
        } finally {
          if (lane.converter === null) converter.dispose();
        }
      }
    }
    const row = (name: string, label: string, perSpeaker: Score[][]) => ({
      name,
      label,
      metrics: summarise(perSpeaker.flat()),
      perSpeaker: plan.map((p, i) => ({ speaker: p.id, metrics: summarise(perSpeaker[i]!) })),
    });
    return {
      realSet: { root: real.root, manifestHash: createHash('sha256').update(JSON.stringify(real.manifest.clips.map((c) => c.importKey))).digest('hex') },
      speakers: plan.map((p) => ({
        id: p.id,
        language: p.language,
        recordingClips: p.recordings.length,
        recordingSeconds: duration(p.recordings),
        referenceClips: p.reference.length,
        referenceSeconds: p.seconds,
        scoringClips: p.scoring.length,
        scoringSeconds: p.scoringSeconds,
      })),
      sources: [...sources],
      sentences,
      settings,
      skipped,
      reach,
      recognizer: recognizer?.name ?? null,
      systems: [row('identity', 'identity (unconverted source)', sourceScores), ...lanes.map(({ system }) => row(system.name, system.label, results.get(system.name)!))],
      cepstralJudge: `${cepstralJudge.describe()} (targets' scoring clips + source voices' train utterances)`,
      elapsedSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const { converter } of lanes) converter?.dispose();
  }
}

/** The report as a table: one row per system, then one per system × speaker. */
export function formatRealVoiceTable(report: RealVoiceReport): string {
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
  const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');
  const header = ['system', 'target', 'cos(target)', 'cos(source→target)', 'gain', 'd-vector ident', 'cepstral ident', 'cepstral: source', 'CER', 'n'];
  const rows: string[][] = [];
  for (const s of report.systems) {
    const cells = (target: string, m: RealVoiceMetrics): string[] => [s.name, target, fmt(m.targetCosine), fmt(m.sourceCosine), fmt(m.targetCosine - m.sourceCosine), pct(m.dVectorIdentification), pct(m.cepstralIdentification), pct(m.cepstralAsSource), pct(m.cer), String(m.utterances)];
    rows.push(cells('all', s.metrics));
    for (const p of s.perSpeaker) rows.push(cells(p.speaker, p.metrics));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `targets: ${report.speakers.map((s) => `${s.id} (${s.language}; recordings ${s.recordingSeconds.toFixed(1)} s in ${s.recordingClips} clips, the first ${s.referenceSeconds.toFixed(1)} s of them the reference; scored on ${s.scoringClips} other clips, ${s.scoringSeconds.toFixed(0)} s)`).join('; ')}`,
    ...report.reach.map((r) =>
      r.how === 'reference'
        ? `${r.name}: reaches each speaker from the reference alone (no training)`
        : `${r.name}: adapted to each speaker on its recordings (${r.adaptationSeconds.map((x) => `${x.toFixed(0)} s`).join(', ')} of training)`,
    ),
    `sources: ${report.sentences.length} test sentences per target, read in turn by ${report.sources.join(', ')}; identification among ${report.speakers.length} targets + ${report.sources.length} source voices`,
    `cepstral judge: ${report.cepstralJudge}`,
    ...report.skipped.map((s) => `skipped ${s.name}: ${s.reason}`),
    `conversion settings: ${Object.entries(report.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}; ASR ${report.recognizer ?? 'skipped'}`,
  ].join('\n');
}
