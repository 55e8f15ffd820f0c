// The evaluation harness: converts the corpus TEST split for source → target pairs with each system, vocodes,
// and scores MCD (DTW), log-F0 error, two speaker judges (d-vector and cepstral), character error rate and real-time factor.

import { estimateF0 } from '../audio/f0.js';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { melCepstralDistortion } from '../audio/distances.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { openCorpusDataset, type CorpusDataset } from '../corpus/dataset.js';
import { manifestHash } from '../corpus/manifest.js';
import { griffinLimVocoder, type Vocoder } from '../audio/griffinLim.js';
import { readWavFile } from '../io/audioFile.js';
import type { ConversionSettings, ConversionTarget, MelConverter } from '../models/converter.js';
import { cosineSimilarity, type SpeakerEncoder, type SpeakerJudge } from '../models/speakerEncoder/model.js';
import type { SpeechRecognizer } from './asr.js';
import { buildCepstralJudge, type CepstralJudge } from './cepstralJudge.js';
import { EvalSetupError } from './errors.js';
import { DEFAULT_EVAL_PAIRS, DEFAULT_EVAL_VOICES, selectPairs, type VoicePair } from './pairs.js';
import { logF0ErrorSemitones } from './pitch.js';
import type { EvalSystem } from './registry.js';
import { characterErrors } from './text.js';

/** F0 search range of the evaluation, as the corpus's own F0 tracks (60–400 Hz). */
const F0_RANGE = { fMinHz: 60, fMaxHz: 400 } as const;
/** Seconds of the target's train-split speech given to any-to-any models as reference. */
const REFERENCE_SECONDS = 10;

/** Options of `runEvaluation`. */
export interface EvaluationOptions {
  readonly systems: readonly EvalSystem[];
  readonly encoder: SpeakerEncoder;
  readonly judge: SpeakerJudge;
  /** The second, model-independent judge; default fitted at start on the train split of every corpus voice. */
  readonly cepstralJudge?: CepstralJudge;
  /** Settings of every model conversion (steps, solver, seed); default `{ seed: 0 }`. */
  readonly settings?: ConversionSettings;
  /** Speech recogniser for CER; null skips intelligibility. */
  readonly recognizer: SpeechRecognizer | null;
  readonly home?: string;
  /** Voices the pairs are drawn from; default `DEFAULT_EVAL_VOICES`. */
  readonly voices?: readonly string[];
  /** Number of pairs; default `DEFAULT_EVAL_PAIRS`. */
  readonly pairs?: number;
  /** Use only the first N test sentences (list order); default all. */
  readonly sentences?: number;
  /** Mel → samples; default Griffin-Lim (32 iterations), as the app's baseline vocoder. */
  readonly vocoder?: Vocoder;
  readonly vocoderName?: string;
  /** Split to score; always `test` in the CLI (tests may use another on a tiny corpus). */
  readonly split?: 'test' | 'validation' | 'train';
  /** Called after each scored utterance. */
  readonly onProgress?: (done: number, total: number, detail: string) => void;
}

/** Metrics of one system, averaged over its utterances (NaN where nothing could be measured). */
export interface SystemMetrics {
  /** Mean MCD (DTW-aligned) to the target's parallel recording, dB. */
  readonly mcdDb: number;
  /** Mean |Δ mean log2 F0| × 12 against the target, semitones (utterances where both are voiced). */
  readonly logF0ErrorSemitones: number;
  /** Fraction of outputs the d-vector judge classifies as the target voice among all its voices. */
  readonly judgeAccuracy: number;
  /** Fraction of outputs the cepstral judge (`cepstralJudge.ts`, no model in common) classifies as the target voice. */
  readonly cepstralJudgeAccuracy: number;
  /** Mean cosine of the output's embedding to the target voice's centroid. */
  readonly targetCosine: number;
  /** Character error rate: total edits ÷ total reference characters; NaN without a recogniser. */
  readonly cer: number;
  /** Processing seconds (conversion + vocoder) ÷ seconds of audio produced; 0 for the unconverted source. */
  readonly realTimeFactor: number;
  readonly utterances: number;
}

/** One system's scores, overall and per pair. */
export interface SystemReport {
  readonly name: string;
  readonly label: string;
  readonly metrics: SystemMetrics;
  readonly perPair: readonly (VoicePair & { readonly metrics: SystemMetrics })[];
  /** A model's training corpus (manifest sha256, '' when its file does not say); absent for the baselines. */
  readonly trainingDataHash?: string;
}

/** Everything `timbre eval` reports (also its --json). */
export interface EvaluationReport {
  readonly corpus: { readonly root: string; readonly manifestHash: string; readonly split: string; readonly sentences: readonly string[] };
  readonly pairs: readonly VoicePair[];
  readonly judgeVoices: readonly string[];
  /** The cepstral judge: its voices and the train-split utterances it was fitted on. */
  readonly cepstralJudge: { readonly voices: readonly string[]; readonly trainUtterances: number; readonly method: string };
  /** Conversion settings given to every model. */
  readonly settings: ConversionSettings;
  readonly vocoder: string;
  readonly recognizer: string | null;
  readonly systems: readonly SystemReport[];
  readonly elapsedSeconds: number;
}

interface UtteranceScore {
  mcdDb: number;
  logF0Error: number;
  judgedTarget: boolean;
  cepstralJudgedTarget: boolean;
  targetCosine: number;
  edits: number;
  referenceChars: number;
  seconds: number;
  durationSeconds: number;
}

function mean(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

function summarise(scores: readonly UtteranceScore[], withAsr: boolean): SystemMetrics {
  const chars = scores.reduce((n, s) => n + s.referenceChars, 0);
  const audio = scores.reduce((n, s) => n + s.durationSeconds, 0);
  return {
    mcdDb: mean(scores.map((s) => s.mcdDb)),
    logF0ErrorSemitones: mean(scores.map((s) => s.logF0Error)),
    judgeAccuracy: scores.length > 0 ? scores.filter((s) => s.judgedTarget).length / scores.length : Number.NaN,
    cepstralJudgeAccuracy: scores.length > 0 ? scores.filter((s) => s.cepstralJudgedTarget).length / scores.length : Number.NaN,
    targetCosine: mean(scores.map((s) => s.targetCosine)),
    cer: withAsr && chars > 0 ? scores.reduce((n, s) => n + s.edits, 0) / chars : Number.NaN,
    realTimeFactor: audio > 0 ? scores.reduce((n, s) => n + s.seconds, 0) / audio : Number.NaN,
    utterances: scores.length,
  };
}

/** The test sentences to score and the voices' checks against corpus and judges. */
function planEvaluation(dataset: CorpusDataset, judge: SpeakerJudge, cepstralJudge: CepstralJudge | undefined, voices: readonly string[], sentences: number | undefined): string[] {
  const corpusVoices = new Set(dataset.manifest.voices.map((v) => v.id));
  for (const voice of voices) {
    if (!corpusVoices.has(voice)) throw new EvalSetupError(`voice "${voice}" is not in the corpus at ${dataset.corpusRoot}; it has ${[...corpusVoices].join(', ')}`);
    if (!judge.voices.includes(voice)) throw new EvalSetupError(`the speaker judge has no centroid for voice "${voice}"; retrain it with: timbre train speaker-encoder`);
    if (cepstralJudge !== undefined && !cepstralJudge.voices.includes(voice)) throw new EvalSetupError(`the cepstral judge was not fitted on voice "${voice}"; it knows ${cepstralJudge.voices.join(', ')}`);
  }
  const ids = dataset.sentenceIds().filter((id) => voices.every((v) => dataset.sentenceUtterances(id).some((u) => u.voice === v)));
  if (ids.length === 0) throw new EvalSetupError(`the corpus at ${dataset.corpusRoot} has no ${dataset.splits.join('/')} sentence read by all of ${voices.join(', ')}`);
  if (sentences !== undefined && (!Number.isInteger(sentences) || sentences < 1)) throw new EvalSetupError(`--sentences must be a whole number ≥ 1, received ${sentences}`);
  return sentences === undefined ? ids : ids.slice(0, sentences);
}

/** Runs every system over every pair × sentence and averages the metrics. */
export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationReport> {
  const started = performance.now();
  const split = options.split ?? 'test';
  const voices = options.voices ?? DEFAULT_EVAL_VOICES;
  const pairs = selectPairs(voices, options.pairs ?? DEFAULT_EVAL_PAIRS);
  const dataset = openCorpusDataset({ ...(options.home !== undefined ? { home: options.home } : {}), split, voices: [...voices] });
  const sentences = planEvaluation(dataset, options.judge, options.cepstralJudge, voices, options.sentences);
  const texts = new Map(dataset.manifest.sentences.map((s) => [s.id, s.text]));
  const vocoder = options.vocoder ?? griffinLimVocoder();
  const { encoder, judge, recognizer } = options;
  const targetVoices = [...new Set(pairs.map((p) => p.target))];
  const settings: ConversionSettings = { seed: 0, ...options.settings };
  // Fitted here from the train split (about a second) so it can never drift from the corpus it scores.
  const cepstralJudge = options.cepstralJudge ?? buildCepstralJudge(openCorpusDataset({ ...(options.home !== undefined ? { home: options.home } : {}), split: 'train' }));

  // Models load once; any-to-any models get the target's embedding from ~10 s of its train-split speech.
  const converters = new Map<string, MelConverter>();
  const targets = new Map<string, ConversionTarget>();
  try {
    for (const system of options.systems) {
      if (system.kind === 'model') converters.set(system.name, await system.entry.load({ home: options.home, targetVoices }));
    }
    if (converters.size > 0) {
      const references = openCorpusDataset({ ...(options.home !== undefined ? { home: options.home } : {}), split: 'train', voices: targetVoices });
      for (const voice of targetVoices) {
        const mels: LogMel[] = [];
        let seconds = 0;
        for (const u of references.utterances.filter((x) => x.voice === voice)) {
          if (seconds >= REFERENCE_SECONDS) break;
          mels.push(references.mel(voice, u.sentence));
          seconds += u.durationSeconds;
        }
        targets.set(voice, { voiceId: voice, speakerEmbedding: encoder.embedReference(mels), referenceMels: mels });
      }
    }

    // Transcripts and embeddings of audio that does not depend on the pair (baselines) are computed once.
    const asrCache = new Map<string, string>();
    const embeddingCache = new Map<string, Float32Array>();
    const scoreAudio = async (samples: Float32Array, cacheKey: string | null, target: string, sentence: string, seconds: number): Promise<UtteranceScore> => {
      const targetMel = dataset.mel(target, sentence);
      const mel = logMelSpectrogram(samples, MEL_CONFIG);
      const f0 = estimateF0(samples, MEL_CONFIG.sampleRateHz, F0_RANGE).f0Hz;
      let embedding = cacheKey !== null ? embeddingCache.get(cacheKey) : undefined;
      if (embedding === undefined) {
        embedding = encoder.embed(mel);
        if (cacheKey !== null) embeddingCache.set(cacheKey, embedding);
      }
      let errors = { edits: 0, referenceChars: 0 };
      if (recognizer !== null) {
        let hypothesis = cacheKey !== null ? asrCache.get(cacheKey) : undefined;
        if (hypothesis === undefined) {
          hypothesis = await recognizer.transcribe(samples, MEL_CONFIG.sampleRateHz);
          if (cacheKey !== null) asrCache.set(cacheKey, hypothesis);
        }
        errors = characterErrors(texts.get(sentence) ?? '', hypothesis);
      }
      return {
        mcdDb: melCepstralDistortion(mel, targetMel),
        logF0Error: logF0ErrorSemitones(f0, dataset.f0(target, sentence)),
        judgedTarget: judge.classify(embedding).voice === target,
        cepstralJudgedTarget: cepstralJudge.classify(mel)?.voice === target,
        targetCosine: cosineSimilarity(embedding, judge.centroid(target)),
        ...errors,
        seconds,
        durationSeconds: samples.length / MEL_CONFIG.sampleRateHz,
      };
    };

    const scores = new Map<string, UtteranceScore[][]>(options.systems.map((s) => [s.name, pairs.map(() => [])]));
    const total = options.systems.length * pairs.length * sentences.length;
    let done = 0;
    for (const [p, pair] of pairs.entries()) {
      for (const sentence of sentences) {
        const source = await readWavFile(dataset.wavPath(pair.source, sentence));
        const targetWav = await readWavFile(dataset.wavPath(pair.target, sentence));
        for (const system of options.systems) {
          let samples: Float32Array;
          let seconds = 0;
          let cacheKey: string | null = null;
          const t0 = performance.now();
          if (system.kind === 'baseline' && system.name === 'identity') {
            samples = source.samples;
            cacheKey = `identity:${pair.source}/${sentence}`;
          } else if (system.kind === 'baseline') {
            samples = await vocoder(dataset.mel(pair.target, sentence), { lengthSamples: targetWav.samples.length });
            seconds = (performance.now() - t0) / 1000;
            cacheKey = `vocoded-target:${pair.target}/${sentence}`;
          } else {
            const converter = converters.get(system.name)!;
            const sourceMel = dataset.mel(pair.source, sentence);
            const converted = await converter.convert(sourceMel, targets.get(pair.target)!, { settings });
            samples = await vocoder(converted, { lengthSamples: source.samples.length });
            seconds = (performance.now() - t0) / 1000;
          }
          scores.get(system.name)![p]!.push(await scoreAudio(samples, cacheKey, pair.target, sentence, seconds));
          options.onProgress?.(++done, total, `${system.name} ${pair.source}→${pair.target} ${sentence}`);
        }
      }
    }

    const withAsr = recognizer !== null;
    return {
      corpus: { root: dataset.corpusRoot, manifestHash: manifestHash(dataset.manifest), split, sentences },
      pairs,
      judgeVoices: judge.voices,
      cepstralJudge: { voices: cepstralJudge.voices, trainUtterances: cepstralJudge.trainUtterances, method: cepstralJudge.describe() },
      settings,
      vocoder: options.vocoderName ?? 'griffin-lim (32 iterations)',
      recognizer: recognizer?.name ?? null,
      systems: options.systems.map((system) => {
        const perPair = scores.get(system.name)!;
        const trainingDataHash = converters.get(system.name)?.trainingDataHash;
        return {
          name: system.name,
          label: system.label,
          metrics: summarise(perPair.flat(), withAsr),
          perPair: pairs.map((pair, i) => ({ ...pair, metrics: summarise(perPair[i]!, withAsr) })),
          ...(system.kind === 'model' ? { trainingDataHash: trainingDataHash ?? '' } : {}),
        };
      }),
      elapsedSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const converter of converters.values()) converter.dispose();
  }
}

const fmt = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** The report as a table: one row per system, one column per metric. */
export function formatEvaluationTable(report: EvaluationReport): string {
  const header = ['system', 'MCD dB', 'logF0 err st', 'd-vector judge', 'cepstral judge', 'cos(target)', 'CER', 'RTF', 'n'];
  const percent = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');
  const rows = report.systems.map((s) => [
    s.name,
    fmt(s.metrics.mcdDb, 2),
    fmt(s.metrics.logF0ErrorSemitones, 2),
    percent(s.metrics.judgeAccuracy),
    percent(s.metrics.cepstralJudgeAccuracy),
    fmt(s.metrics.targetCosine, 3),
    percent(s.metrics.cer),
    fmt(s.metrics.realTimeFactor, 3),
    String(s.metrics.utterances),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `pairs: ${report.pairs.map((p) => `${p.source}→${p.target}`).join(', ')}`,
    `${report.corpus.split} sentences: ${report.corpus.sentences.length} per pair; d-vector judge over ${report.judgeVoices.length} voices, cepstral judge over ${report.cepstralJudge.voices.length} (fitted on ${report.cepstralJudge.trainUtterances} train utterances); vocoder ${report.vocoder}; ASR ${report.recognizer ?? 'skipped'}`,
    `conversion settings: ${Object.entries(report.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`,
    ...corpusMismatchLines(report),
  ].join('\n');
}

/**
 * A warning per model trained on another build of the corpus than the one scored: the synthesizers' output may differ
 * between machines (docs/CORPUS.md), so its test split is not exactly the recordings the model's data came from.
 */
export function corpusMismatchLines(report: Pick<EvaluationReport, 'corpus' | 'systems'>): string[] {
  const here = report.corpus.manifestHash;
  return report.systems
    .filter((s) => s.trainingDataHash !== undefined && s.trainingDataHash !== here)
    .map((s) =>
      s.trainingDataHash === ''
        ? `note: ${s.name}'s model file does not name its training corpus; scored on corpus ${here.slice(0, 12)}…`
        : `warning: ${s.name} was trained on corpus ${s.trainingDataHash!.slice(0, 12)}…, this corpus is ${here.slice(0, 12)}…, another build (its manifest lists the synthesizer versions)`,
    );
}
