// `timbre eval --resynthesis`: each vocoder turns the recording's own log-mel back into sound, scored against the
// recording per corpus voice on the test split: multi-resolution STFT distance, log-spectral distance, F0 error (cents)
// and voiced/unvoiced error, and CER of a speech recogniser on the result.

import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { multiResolutionStftDistance, waveformLogSpectralDistance } from '../audio/distances.js';
import { estimateF0 } from '../audio/f0.js';
import type { Vocoder } from '../audio/griffinLim.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { openCorpusDataset } from '../corpus/dataset.js';
import { manifestHash } from '../corpus/manifest.js';
import type { SpeechRecognizer } from './asr.js';
import { pairedRateDifference, type RateDifference } from './bootstrap.js';
import { f0Agreement } from './pitch.js';
import { characterErrors, normalizeTranscript } from './text.js';

/** F0 search range of the comparison (both tracks estimated alike). */
const F0_RANGE = { fMinHz: 60, fMaxHz: 400 } as const;
/** Test sentences per voice by default. */
export const DEFAULT_RESYNTHESIS_SENTENCES = 8;

/** A vocoder under test. */
export interface NamedVocoder {
  readonly name: string;
  readonly vocode: Vocoder;
}

/** Means over a set of resyntheses (CER pooled over characters; NaN without a recogniser). */
export interface ResynthesisMetrics {
  readonly multiResolutionStft: number;
  readonly logSpectralDistanceDb: number;
  readonly f0ErrorCents: number;
  readonly voicingError: number;
  readonly cer: number;
  /** Vocoder seconds per second of audio. */
  readonly realTimeFactor: number;
  readonly utterances: number;
}

export interface ResynthesisReport {
  readonly corpus: { readonly root: string; readonly manifestHash: string; readonly split: 'test' | 'validation'; readonly sentences: readonly string[] };
  readonly vocoders: readonly string[];
  readonly recognizer: string | null;
  /**
   * Per voice, per vocoder (in `vocoders` order), and the voice's CER differences as in `cerDifferences` (on that
   * voice's utterances alone, so with wider intervals).
   */
  readonly voices: readonly {
    readonly voice: string;
    readonly metrics: readonly ResynthesisMetrics[];
    readonly cerDifferences: readonly (RateDifference & { readonly vocoder: string; readonly baseline: string })[];
  }[];
  /** Over every voice, per vocoder. */
  readonly overall: readonly ResynthesisMetrics[];
  /** CER of the recordings themselves (the recogniser's floor on these sentences). */
  readonly recordingCer: number;
  /**
   * CER of each vocoder after the first minus that of the first, on the same utterances, with a 95 % paired bootstrap
   * interval over utterances (empty without a recogniser): whether a CER difference is larger than the luck of the draw.
   */
  readonly cerDifferences: readonly (RateDifference & { readonly vocoder: string; readonly baseline: string })[];
  /** Every utterance's recogniser errors (empty without a recogniser): for analyses beyond the tables. */
  readonly utterances: readonly UtteranceErrors[];
  readonly elapsedSeconds: number;
}

/** One utterance's character errors: of the recording itself and of each vocoder (in `vocoders` order). */
export interface UtteranceErrors {
  readonly voice: string;
  readonly sentence: string;
  readonly referenceChars: number;
  readonly recordingEdits: number;
  readonly edits: readonly number[];
}

export interface ResynthesisOptions {
  readonly vocoders: readonly NamedVocoder[];
  readonly recognizer: SpeechRecognizer | null;
  readonly home?: string;
  /** Corpus voices (default every voice of the corpus). */
  readonly voices?: readonly string[];
  /** First N sentences of the split (default `DEFAULT_RESYNTHESIS_SENTENCES`). */
  readonly sentences?: number;
  /** 'test' (default; what reports show) or 'validation' (for choosing settings without touching the test split). */
  readonly split?: 'test' | 'validation';
  /** Recogniser calls at a time beside the vocoders (default one per core); the figures do not depend on it. */
  readonly asrJobs?: number;
  readonly onProgress?: (done: number, total: number, detail: string) => void;
}

interface Sums {
  stft: number;
  lsd: number;
  cents: number;
  centsCount: number;
  voicing: number;
  vocoderSeconds: number;
  audioSeconds: number;
  utterances: number;
}

const emptySums = (): Sums => ({ stft: 0, lsd: 0, cents: 0, centsCount: 0, voicing: 0, vocoderSeconds: 0, audioSeconds: 0, utterances: 0 });

function addSums(into: Sums, from: Sums): void {
  for (const key of Object.keys(into) as (keyof Sums)[]) into[key] += from[key];
}

/** The means of `s`, with `cer` (pooled over characters, from the utterances' records). */
function metricsOf(s: Sums, cer: number): ResynthesisMetrics {
  return {
    multiResolutionStft: s.stft / s.utterances,
    logSpectralDistanceDb: s.lsd / s.utterances,
    f0ErrorCents: s.centsCount > 0 ? s.cents / s.centsCount : Number.NaN,
    voicingError: s.voicing / s.utterances,
    cer,
    realTimeFactor: s.vocoderSeconds / s.audioSeconds,
    utterances: s.utterances,
  };
}

/** Edits over reference characters of `records` (NaN without characters): `editsOf` picks the recording's or a vocoder's. */
function pooledRate(records: readonly UtteranceErrors[], editsOf: (r: UtteranceErrors) => number): number {
  let edits = 0;
  let chars = 0;
  for (const r of records) {
    edits += editsOf(r);
    chars += r.referenceChars;
  }
  return chars > 0 ? edits / chars : Number.NaN;
}

/** Resynthesises the first `sentences` test sentences of every voice with every vocoder and scores them. */
export async function runResynthesisEvaluation(options: ResynthesisOptions): Promise<ResynthesisReport> {
  const started = performance.now();
  const split = options.split ?? 'test';
  const dataset = openCorpusDataset({ ...(options.home !== undefined ? { home: options.home } : {}), split, ...(options.voices !== undefined ? { voices: options.voices } : {}) });
  const sentences = dataset.sentenceIds().slice(0, options.sentences ?? DEFAULT_RESYNTHESIS_SENTENCES);
  const texts = new Map(dataset.manifest.sentences.map((s) => [s.id, s.text]));
  const voices = [...new Set(dataset.utterances.map((u) => u.voice))];
  const { recognizer } = options;
  const perVoice = voices.map(() => options.vocoders.map(emptySums));
  // Every utterance's recogniser errors (filled in as the recogniser answers): the CER figures are pooled from them.
  const records: { voice: string; sentence: string; referenceChars: number; recordingEdits: number; edits: number[] }[] = [];
  const total = voices.length * sentences.length;
  // The recogniser (a child process per call) runs beside the vocoders, `asrJobs` calls at a time; the next utterance
  // waits while more than that many are queued, so the audio held for recognition stays bounded.
  const asrJobs = options.asrJobs ?? availableParallelism();
  if (!(Number.isInteger(asrJobs) && asrJobs >= 1)) throw new RangeError(`asrJobs must be a whole number ≥ 1, got ${asrJobs}`);
  const limit = pLimit(asrJobs);
  const unsettled = new Set<Promise<void>>();
  let recognitionError: unknown;
  const recognize = (text: string, samples: Float32Array, store: (edits: number) => void): void => {
    if (recognizer === null) return;
    const call: Promise<void> = limit(() => recognizer.transcribe(samples, MEL_CONFIG.sampleRateHz))
      .then((hypothesis) => store(characterErrors(text, hypothesis).edits))
      .catch((error: unknown) => {
        recognitionError ??= error;
      })
      .finally(() => unsettled.delete(call));
    unsettled.add(call);
  };
  const recognitionsSettled = async (atMost: number): Promise<void> => {
    while (unsettled.size > atMost) await Promise.race(unsettled);
    if (recognitionError !== undefined) throw recognitionError;
  };
  let done = 0;
  for (const [v, voice] of voices.entries()) {
    for (const sentence of sentences) {
      if (!dataset.utterances.some((u) => u.voice === voice && u.sentence === sentence)) continue;
      await recognitionsSettled(2 * asrJobs); // at most about one utterance's calls waiting beside those running
      const reference = dataset.samples(voice, sentence);
      const mel = dataset.mel(voice, sentence);
      const referenceF0 = estimateF0(reference, MEL_CONFIG.sampleRateHz, F0_RANGE).f0Hz;
      const text = texts.get(sentence) ?? '';
      const record = { voice, sentence, referenceChars: normalizeTranscript(text).length, recordingEdits: 0, edits: options.vocoders.map(() => 0) };
      records.push(record);
      recognize(text, reference, (edits) => (record.recordingEdits = edits));
      for (const [k, vocoder] of options.vocoders.entries()) {
        const t0 = performance.now();
        const samples = await vocoder.vocode(mel, { lengthSamples: reference.length });
        const seconds = (performance.now() - t0) / 1000;
        const sums = perVoice[v]![k]!;
        sums.stft += multiResolutionStftDistance(reference, samples);
        sums.lsd += waveformLogSpectralDistance(reference, samples);
        const pitch = f0Agreement(referenceF0, estimateF0(samples, MEL_CONFIG.sampleRateHz, F0_RANGE).f0Hz);
        if (Number.isFinite(pitch.centsError)) {
          sums.cents += pitch.centsError;
          sums.centsCount++;
        }
        sums.voicing += pitch.voicingError;
        recognize(text, samples, (edits) => (record.edits[k] = edits));
        sums.vocoderSeconds += seconds;
        sums.audioSeconds += reference.length / MEL_CONFIG.sampleRateHz;
        sums.utterances++;
      }
      options.onProgress?.(++done, total, `${voice} ${sentence}`);
    }
  }
  await recognitionsSettled(0);
  const withAsr = recognizer !== null;
  const utterances = withAsr ? records : [];
  const cerOf = (of: readonly UtteranceErrors[], k: number): number => pooledRate(of, (r) => r.edits[k]!);
  const overall = options.vocoders.map((_, k) => {
    const s = emptySums();
    for (const row of perVoice) addSums(s, row[k]!);
    return metricsOf(s, cerOf(utterances, k));
  });
  // CER of each vocoder after the first minus the first's, on the utterances `of`.
  const differences = (of: readonly UtteranceErrors[]): ResynthesisReport['cerDifferences'] =>
    withAsr
      ? options.vocoders.slice(1).map((vocoder, k) => ({
          vocoder: vocoder.name,
          baseline: options.vocoders[0]!.name,
          ...pairedRateDifference(
            of.map((r) => r.edits[k + 1]!),
            of.map((r) => r.edits[0]!),
            of.map((r) => r.referenceChars),
          ),
        }))
      : [];
  return {
    corpus: { root: dataset.corpusRoot, manifestHash: manifestHash(dataset.manifest), split, sentences },
    vocoders: options.vocoders.map((x) => x.name),
    recognizer: recognizer?.name ?? null,
    voices: voices.map((voice, v) => {
      const own = utterances.filter((r) => r.voice === voice);
      return { voice, metrics: perVoice[v]!.map((s, k) => metricsOf(s, cerOf(own, k))), cerDifferences: differences(own) };
    }),
    overall,
    recordingCer: pooledRate(utterances, (r) => r.recordingEdits),
    cerDifferences: differences(utterances),
    utterances,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}

const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const percent = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');

/** Markdown table: one row per voice and vocoder, then the overall rows. */
export function formatResynthesisTable(report: ResynthesisReport): string {
  const header = '| voice | vocoder | MR-STFT | LSD dB | F0 error cents | V/UV error | CER | RTF |';
  const rule = '|---|---|---:|---:|---:|---:|---:|---:|';
  const row = (voice: string, vocoder: string, m: ResynthesisMetrics): string =>
    `| ${voice} | ${vocoder} | ${fixed(m.multiResolutionStft, 3)} | ${fixed(m.logSpectralDistanceDb, 2)} | ${fixed(m.f0ErrorCents, 1)} | ${percent(m.voicingError)} | ${percent(m.cer)} | ${fixed(m.realTimeFactor, 3)} |`;
  const lines = [header, rule];
  for (const { voice, metrics } of report.voices) metrics.forEach((m, k) => lines.push(row(voice, report.vocoders[k]!, m)));
  report.overall.forEach((m, k) => lines.push(row('**all**', report.vocoders[k]!, m)));
  lines.push('');
  lines.push(
    `${report.corpus.split} split, ${report.corpus.sentences.length} sentences per voice, ${report.voices.length} voices; distances against the recording; ` +
      `ASR ${report.recognizer ?? 'skipped'}${Number.isFinite(report.recordingCer) ? ` (CER of the recordings themselves ${percent(report.recordingCer)})` : ''}`,
  );
  const points = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
  for (const [k, d] of report.cerDifferences.entries()) {
    lines.push(`CER ${d.vocoder} − ${d.baseline}: ${points(d.difference)} points (${Math.round(100 * d.level)} % paired bootstrap interval over utterances ${points(d.low)} … ${points(d.high)})`);
    const perVoice = report.voices.map(({ voice, cerDifferences }) => {
      const v = cerDifferences[k]!;
      return `${voice} ${points(v.difference)} (${points(v.low)} … ${points(v.high)})`;
    });
    lines.push(`  per voice: ${perVoice.join('; ')}`);
  }
  return lines.join('\n');
}
