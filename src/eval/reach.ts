// How well each model reaches a user's voice (`timbre voice reach NAME`, also printed after the voice is added to a
// model): corpus test sentences read by other voices are converted to the voice by every model that can, and each
// output is identified by the d-vector judge and by the cepstral judge among the corpus voices and the user's voice,
// whose centroid and cepstral class come from the held-out end of the user's recordings (speech no model trained on).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logMelSpectrogram, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { griffinLimVocoder, type Vocoder } from '../audio/griffinLim.js';
import type { CorpusDataset } from '../corpus/dataset.js';
import { timbrePaths } from '../io/paths.js';
import type { ConversionTarget, MelConverter } from '../models/converter.js';
import { FAMILY_ENTRIES } from '../models/registry.js';
import { cosineSimilarity, SpeakerJudge, type SpeakerEncoder } from '../models/speakerEncoder/model.js';
import { CepstralJudge } from './cepstralJudge.js';
import { EvalSetupError } from './errors.js';

/** Corpus voices that read the sources, taken in turn (none of them is a user's voice). */
export const REACH_SOURCE_VOICES = Object.freeze(['flite-slt', 'festival-ked', 'espeak-f2']);
/** Source sentences converted per model. */
export const REACH_SENTENCES = 3;
/** Train-split utterances per corpus voice the cepstral judge is fitted on. */
const JUDGE_UTTERANCES = 30;

/** One model's reach of the voice. */
export interface LaneReach {
  readonly model: string;
  readonly label: string;
  /** Fraction of outputs the d-vector judge assigns to the user's voice. */
  readonly dVectorIdentification: number;
  /** Fraction the cepstral judge assigns to the user's voice. */
  readonly cepstralIdentification: number;
  /** What the cepstral judge heard most often (the voice's name when it was reached). */
  readonly mostlyHeardAs: string;
  /** Mean cosine of the outputs' d-vectors to the held-out centroid, and the same of the unconverted sources. */
  readonly targetCosine: number;
  readonly sourceCosine: number;
  readonly outputs: number;
}

/** The whole report. */
export interface VoiceReachReport {
  readonly voice: string;
  readonly heldOutSeconds: number;
  readonly sentences: readonly string[];
  readonly sources: readonly string[];
  readonly lanes: readonly LaneReach[];
}

/** A model to score and how it is asked for the voice. */
export interface ReachLane {
  readonly model: string;
  readonly converter: MelConverter;
  readonly target: ConversionTarget;
}

/** Options of `measureVoiceReach`. */
export interface VoiceReachOptions {
  readonly voice: string;
  /** The held-out end of the voice's recordings (scores only). */
  readonly heldOut: readonly LogMel[];
  /** The recordings models learnt from (fit the cepstral judge's class of the voice together with `heldOut`). */
  readonly recordings: readonly LogMel[];
  readonly lanes: readonly ReachLane[];
  readonly encoder: SpeakerEncoder;
  /** Corpus-voice centroids (the shipped judge). */
  readonly judge: SpeakerJudge;
  /** Corpus train split (cepstral judge) and test split (sources). */
  readonly train: CorpusDataset;
  readonly test: CorpusDataset;
  readonly vocoder?: Vocoder;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Converts the sources with every lane and scores the outputs (see the file comment). */
export async function measureVoiceReach(options: VoiceReachOptions): Promise<VoiceReachReport> {
  const { encoder, judge, voice, test } = options;
  if (options.heldOut.length === 0) throw new EvalSetupError(`voice "${voice}" has no held-out recordings to score on (it needs at least 15 s of speech)`);
  const sources = REACH_SOURCE_VOICES.filter((v) => test.voices.some((x) => x.id === v));
  if (sources.length === 0) throw new EvalSetupError(`the corpus test split has none of the source voices ${REACH_SOURCE_VOICES.join(', ')}`);
  const sentences = test.sentenceIds().filter((id) => sources.every((v) => test.sentenceUtterances(id).some((u) => u.voice === v))).slice(0, REACH_SENTENCES);
  if (sentences.length === 0) throw new EvalSetupError(`the corpus has no test sentence read by all of ${sources.join(', ')}`);
  const vocoder = options.vocoder ?? griffinLimVocoder();
  const centroid = encoder.embedReference(options.heldOut);
  const centroids = new Map<string, Float32Array>(judge.voices.map((v, i) => [v, judge.centroids.slice(i * judge.dims, (i + 1) * judge.dims)]));
  centroids.set(voice, centroid);
  const centroidJudge = SpeakerJudge.fromCentroids(centroids);
  const nearest = (embedding: Float32Array): string => centroidJudge.classify(embedding).voice;
  const byVoice = new Map<string, readonly LogMel[]>(
    options.train.voices.map((v) => {
      const list = options.train.utterances.filter((u) => u.voice === v.id);
      const step = Math.max(1, Math.floor(list.length / JUDGE_UTTERANCES));
      return [v.id, list.filter((_, i) => i % step === 0).slice(0, JUDGE_UTTERANCES).map((u) => options.train.mel(u.voice, u.sentence))] as const;
    }),
  );
  byVoice.set(voice, [...options.recordings, ...options.heldOut]);
  const cepstralJudge = CepstralJudge.fit(byVoice);
  const inputs = sentences.map((sentence, i) => ({ sentence, source: sources[i % sources.length]!, mel: test.mel(sources[i % sources.length]!, sentence) }));
  const sourceCosine = inputs.reduce((n, x) => n + cosineSimilarity(encoder.embed(x.mel), centroid), 0) / inputs.length;
  const total = options.lanes.length * inputs.length;
  let done = 0;
  const lanes: LaneReach[] = [];
  for (const lane of options.lanes) {
    let dVector = 0;
    let cepstral = 0;
    let cosine = 0;
    const heard = new Map<string, number>();
    for (const input of inputs) {
      const converted = await lane.converter.convert(input.mel, lane.target, { settings: { seed: 0 } });
      const samples = await vocoder(converted, { lengthSamples: input.mel.frames * MEL_CONFIG.hopSamples });
      const mel = logMelSpectrogram(samples, MEL_CONFIG);
      const embedding = encoder.embed(mel);
      if (nearest(embedding) === voice) dVector++;
      const verdict = cepstralJudge.classify(mel)?.voice ?? 'silence';
      if (verdict === voice) cepstral++;
      heard.set(verdict, (heard.get(verdict) ?? 0) + 1);
      cosine += cosineSimilarity(embedding, centroid);
      options.onProgress?.(++done, total);
    }
    const mostly = [...heard].sort((a, b) => b[1] - a[1])[0]![0];
    lanes.push({
      model: lane.model,
      label: lane.converter.label,
      dVectorIdentification: dVector / inputs.length,
      cepstralIdentification: cepstral / inputs.length,
      mostlyHeardAs: mostly,
      targetCosine: cosine / inputs.length,
      sourceCosine,
      outputs: inputs.length,
    });
  }
  const heldOutSeconds = (options.heldOut.reduce((n, m) => n + m.frames, 0) * MEL_CONFIG.hopSamples) / MEL_CONFIG.sampleRateHz;
  return { voice, heldOutSeconds, sentences, sources, lanes };
}

/** A model's verdict: both judges hear the voice in ≥ ⅔ of its outputs, either hears it sometimes, or neither does. */
export function reachVerdict(lane: Pick<LaneReach, 'dVectorIdentification' | 'cepstralIdentification'>): 'reaches' | 'partly' | 'other' {
  if (lane.cepstralIdentification >= 2 / 3 && lane.dVectorIdentification >= 2 / 3) return 'reaches';
  return lane.cepstralIdentification > 0 || lane.dVectorIdentification > 0 ? 'partly' : 'other';
}

/** The report as a table, with a verdict per model: reaches the voice, partly, or is heard as another voice. */
export function formatVoiceReach(report: VoiceReachReport): string {
  const pct = (v: number): string => `${Math.round(100 * v)}%`;
  const verdict = (l: LaneReach): string => ({ reaches: 'reaches it', partly: 'partly', other: `heard as ${l.mostlyHeardAs}` })[reachVerdict(l)];
  const header = ['model', 'd-vector judge', 'cepstral judge', 'cos(voice)', 'cos(source)', 'verdict'];
  const rows = report.lanes.map((l) => [l.model, pct(l.dVectorIdentification), pct(l.cepstralIdentification), l.targetCosine.toFixed(2), l.sourceCosine.toFixed(2), verdict(l)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `how each model reaches ${report.voice}: ${report.sentences.length} test sentences read by ${report.sources.join(', ')}, converted and judged among the corpus voices and ${report.voice} (its last ${report.heldOutSeconds.toFixed(1)} s of recordings, which no model trained on)`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

/**
 * Every model that can convert to user voice `voice`: its own VAE (TIMBRE_HOME/models/vae-NAME) and CycleGAN-VC pair
 * (models/cyclegan-NAME), and the any-voice models (DiffVC, CycleDiffusion: the user's or the shipped) given the
 * recordings as reference. Models that are not installed are left out; the caller disposes the converters.
 */
export async function loadReachLanes(options: { home: string | undefined; voice: string; recordings: readonly LogMel[]; encoder: SpeakerEncoder; log?: (line: string) => void }): Promise<ReachLane[]> {
  const models = timbrePaths(options.home).models;
  const lanes: ReachLane[] = [];
  const own: Record<string, string> = { vae: `vae-${options.voice}`, cyclegan: `cyclegan-${options.voice}` };
  const referenceTarget: ConversionTarget = { voiceId: options.voice, referenceMels: [...options.recordings], speakerEmbedding: options.encoder.embedReference(options.recordings) };
  for (const entry of FAMILY_ENTRIES) {
    if (entry.convert === undefined || entry.family === null) continue;
    const module = await entry.convert();
    const folder = own[entry.name];
    if (folder !== undefined) {
      const path = join(models, folder, 'model.timbre');
      if (existsSync(path)) lanes.push({ model: folder, converter: await module.loadMelConverter(path), target: { voiceId: options.voice } });
      continue;
    }
    try {
      const converter = await module.loadEvalConverter({ home: options.home, targetVoices: [] });
      if (converter.targetVoices.includes('*')) lanes.push({ model: entry.name, converter, target: referenceTarget });
      else converter.dispose();
    } catch (err) {
      options.log?.(`${entry.name}: not scored (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return lanes;
}

/** Why a user voice's reach cannot be scored (instead of a report). */
export interface UnscorableReach {
  readonly voice: string;
  readonly unscorable: string;
}

/**
 * How well each installed model reaches user voice `voice` (what `timbre voice reach` prints and the app shows): its
 * own VAE and CycleGAN-VC pair, and DiffVC and CycleDiffusion by reference, scored on the held-out end of its recordings.
 */
export async function measureUserVoiceReach(options: {
  readonly home: string | undefined;
  readonly voice: string;
  readonly log?: (line: string) => void;
  readonly onProgress?: (done: number, total: number) => void;
}): Promise<VoiceReachReport | UnscorableReach> {
  const { home, voice } = options;
  const where = home !== undefined ? { home } : {};
  const { splitHeldOut, voiceMels } = await import('../corpus/userVoices.js');
  const { train, heldOut } = splitHeldOut(await voiceMels(voice, where));
  if (heldOut.length === 0) return { voice, unscorable: `voice ${voice} has under 15 s of speech, so none is held out of training: its reach cannot be scored` };
  const { defaultSpeakerEncoderPath, loadSpeakerEncoder } = await import('../models/speakerEncoder/convert.js');
  const { openCorpusDataset } = await import('../corpus/dataset.js');
  const { encoder, judge } = await loadSpeakerEncoder(defaultSpeakerEncoderPath(home));
  let lanes: ReachLane[] = [];
  try {
    lanes = await loadReachLanes({ home, voice, recordings: train, encoder, ...(options.log !== undefined ? { log: options.log } : {}) });
    if (lanes.length === 0) return { voice, unscorable: `no installed model converts to ${voice} yet (timbre train vae --add-voice ${voice}, or DiffVC by reference)` };
    return await measureVoiceReach({
      voice,
      heldOut,
      recordings: train,
      lanes,
      encoder,
      judge,
      train: openCorpusDataset({ ...where, split: 'train' }),
      test: openCorpusDataset({ ...where, split: 'test' }),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    for (const lane of lanes) lane.converter.dispose();
    encoder.dispose();
  }
}
