// A second speaker judge for `timbre eval` that shares nothing with any model (the d-vector judge's encoder also
// conditions DiffVC): linear discriminant analysis on mel-cepstral statistics, fitted on the corpus train split.

import { InvalidArgumentError } from '../audio/errors.js';
import { melCepstrum } from '../audio/distances.js';
import { checkLogMel, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { checkInteger, checkNumber } from '../audio/validate.js';
import { evenlySpaced, type CorpusDataset } from '../corpus/dataset.js';

/** Settings of the cepstral judge, every one defaulted in `DEFAULT_CEPSTRAL_JUDGE_CONFIG`. */
export interface CepstralJudgeConfig {
  /** Mel-cepstral coefficients c1..c_order per frame (c0, the energy, is left out); default 24. */
  readonly order: number;
  /** Also the standard deviation of the frame-to-frame deltas of c1..c_order; default true. */
  readonly deltas: boolean;
  /** A frame is silence when its loudest bin is within this many nepers of ln(logFloor); default 3. */
  readonly silenceNepers: number;
  /** Shrinkage of the pooled within-voice covariance toward its diagonal, in [0, 1]; default 0.1. */
  readonly shrinkage: number;
  /** Train-split utterances per voice, evenly spaced in list order (`buildCepstralJudge`); default 60. */
  readonly utterancesPerVoice: number;
}

export const DEFAULT_CEPSTRAL_JUDGE_CONFIG: CepstralJudgeConfig = Object.freeze({
  order: 24,
  deltas: true,
  silenceNepers: 3,
  shrinkage: 0.1,
  utterancesPerVoice: 60,
});

/** Fewest speech frames an utterance needs for a standard deviation. */
const MIN_SPEECH_FRAMES = 2;

/** Length of the utterance vector: mean and std of each coefficient, plus the deltas' std. */
export function cepstralFeatureDims(config: CepstralJudgeConfig = DEFAULT_CEPSTRAL_JUDGE_CONFIG): number {
  return config.order * (config.deltas ? 3 : 2);
}

function checkConfig(config: CepstralJudgeConfig): void {
  checkInteger('cepstral judge order', config.order, 1, MEL_CONFIG.melBins - 1);
  checkNumber('cepstral judge silenceNepers', config.silenceNepers, 0);
  checkNumber('cepstral judge shrinkage', config.shrinkage, 0, 1);
  checkInteger('cepstral judge utterancesPerVoice', config.utterancesPerVoice, 1);
}

function checkMel(mel: LogMel, what: string): void {
  checkLogMel(mel);
  if (mel.mels !== MEL_CONFIG.melBins) throw new InvalidArgumentError(`cepstral judge: ${what} has ${mel.mels} mel bins, expected ${MEL_CONFIG.melBins}`);
}

/**
 * The utterance vector of a log-mel [frames × 80]: per-coefficient mean and std of c1..c_order over speech frames,
 * then (with `deltas`) the std of c_{t+1} − c_t over pairs of adjacent speech frames. Null when fewer than 2
 * frames are speech (a silent or empty output cannot be judged).
 */
export function cepstralFeatures(mel: LogMel, config: CepstralJudgeConfig = DEFAULT_CEPSTRAL_JUDGE_CONFIG): Float64Array | null {
  checkMel(mel, 'the log-mel');
  const { order } = config;
  const threshold = Math.log(MEL_CONFIG.logFloor) + config.silenceNepers;
  const speech = new Uint8Array(mel.frames);
  let speechFrames = 0;
  for (let t = 0; t < mel.frames; t++) {
    let loudest = -Infinity;
    for (let m = 0; m < mel.mels; m++) loudest = Math.max(loudest, mel.data[t * mel.mels + m]!);
    if (loudest >= threshold) {
      speech[t] = 1;
      speechFrames++;
    }
  }
  if (speechFrames < MIN_SPEECH_FRAMES) return null;
  const cepstrum = melCepstrum(mel, order); // [frames × order]
  const out = new Float64Array(cepstralFeatureDims(config));
  const sum = new Float64Array(order);
  const sumSq = new Float64Array(order);
  const deltaSum = new Float64Array(order);
  const deltaSumSq = new Float64Array(order);
  let deltaPairs = 0;
  for (let t = 0; t < mel.frames; t++) {
    if (speech[t] === 0) continue;
    const next = t + 1 < mel.frames && speech[t + 1] === 1;
    if (next) deltaPairs++;
    for (let k = 0; k < order; k++) {
      const c = cepstrum[t * order + k]!;
      sum[k]! += c;
      sumSq[k]! += c * c;
      if (next) {
        const d = cepstrum[(t + 1) * order + k]! - c;
        deltaSum[k]! += d;
        deltaSumSq[k]! += d * d;
      }
    }
  }
  for (let k = 0; k < order; k++) {
    const mean = sum[k]! / speechFrames;
    out[k] = mean;
    out[order + k] = Math.sqrt(Math.max(0, sumSq[k]! / speechFrames - mean * mean));
    if (config.deltas && deltaPairs > 0) {
      const deltaMean = deltaSum[k]! / deltaPairs;
      out[2 * order + k] = Math.sqrt(Math.max(0, deltaSumSq[k]! / deltaPairs - deltaMean * deltaMean));
    }
  }
  return out;
}

/** A voice's discriminant score: log-likelihood under its Gaussian, up to a constant shared by all voices. */
export interface CepstralVoiceScore {
  readonly voice: string;
  readonly score: number;
}

/** The cepstral judge's verdict: the best voice and every voice's score, best first. */
export interface CepstralVerdict {
  readonly voice: string;
  readonly scores: readonly CepstralVoiceScore[];
}

/**
 * Linear discriminant classifier: features standardised with the training statistics, one Gaussian per voice
 * with a shared (pooled, shrunk) full covariance and equal priors, so each voice's score is linear in the features.
 */
export class CepstralJudge {
  /** Voice ids, score order. */
  readonly voices: readonly string[];
  readonly config: CepstralJudgeConfig;
  /** Utterances the judge was fitted on, all voices. */
  readonly trainUtterances: number;
  private readonly featureMean: Float64Array; // [dims]
  private readonly featureStd: Float64Array; // [dims]
  private readonly weights: Float64Array; // [voices × dims]
  private readonly biases: Float64Array; // [voices]

  private constructor(voices: readonly string[], config: CepstralJudgeConfig, trainUtterances: number, featureMean: Float64Array, featureStd: Float64Array, weights: Float64Array, biases: Float64Array) {
    this.voices = [...voices];
    this.config = config;
    this.trainUtterances = trainUtterances;
    this.featureMean = featureMean;
    this.featureStd = featureStd;
    this.weights = weights;
    this.biases = biases;
  }

  /**
   * Fits the judge on log-mels [frames × 80] grouped by voice (map order is the voices' order). Deterministic.
   * Refuses fewer than two voices, a voice without utterances or whose utterances are all silent, and mels of
   * another bin count.
   */
  static fit(byVoice: ReadonlyMap<string, readonly LogMel[]>, config: CepstralJudgeConfig = DEFAULT_CEPSTRAL_JUDGE_CONFIG): CepstralJudge {
    checkConfig(config);
    const voices = [...byVoice.keys()];
    if (voices.length < 2) throw new InvalidArgumentError(`the cepstral judge needs at least 2 voices to tell apart, received ${voices.length}`);
    const dims = cepstralFeatureDims(config);
    const rows: Float64Array[] = [];
    const labels: number[] = [];
    voices.forEach((voice, v) => {
      const mels = byVoice.get(voice)!;
      if (mels.length === 0) throw new InvalidArgumentError(`the cepstral judge has no utterances of voice "${voice}"; give at least one`);
      let usable = 0;
      mels.forEach((mel, i) => {
        checkMel(mel, `utterance ${i} of voice "${voice}"`);
        const features = cepstralFeatures(mel, config);
        if (features === null) return;
        rows.push(features);
        labels.push(v);
        usable++;
      });
      if (usable === 0) throw new InvalidArgumentError(`every utterance of voice "${voice}" given to the cepstral judge is silence (fewer than ${MIN_SPEECH_FRAMES} speech frames)`);
    });
    const n = rows.length;

    // Standardise with the statistics of all training utterances; a constant feature keeps scale 1 (it adds nothing).
    const featureMean = new Float64Array(dims);
    const featureStd = new Float64Array(dims);
    for (const row of rows) for (let j = 0; j < dims; j++) featureMean[j]! += row[j]! / n;
    for (const row of rows) for (let j = 0; j < dims; j++) featureStd[j]! += (row[j]! - featureMean[j]!) ** 2 / n;
    for (let j = 0; j < dims; j++) featureStd[j] = featureStd[j]! > 1e-20 ? Math.sqrt(featureStd[j]!) : 1;
    const z = rows.map((row) => row.map((x, j) => (x - featureMean[j]!) / featureStd[j]!));

    const classMeans = new Float64Array(voices.length * dims); // [voices × dims]
    const counts = new Float64Array(voices.length);
    z.forEach((row, i) => {
      counts[labels[i]!]!++;
      for (let j = 0; j < dims; j++) classMeans[labels[i]! * dims + j]! += row[j]!;
    });
    for (let v = 0; v < voices.length; v++) for (let j = 0; j < dims; j++) classMeans[v * dims + j]! /= counts[v]!;

    // Pooled within-voice covariance, shrunk toward its diagonal, plus a small ridge so it is always invertible.
    const covariance = new Float64Array(dims * dims); // [dims × dims]
    const centred = new Float64Array(dims);
    z.forEach((row, i) => {
      for (let j = 0; j < dims; j++) centred[j] = row[j]! - classMeans[labels[i]! * dims + j]!;
      for (let a = 0; a < dims; a++) for (let b = 0; b <= a; b++) covariance[a * dims + b]! += centred[a]! * centred[b]!;
    });
    const dof = Math.max(1, n - voices.length);
    for (let a = 0; a < dims; a++) {
      for (let b = 0; b <= a; b++) {
        const value = (covariance[a * dims + b]! / dof) * (a === b ? 1 : 1 - config.shrinkage);
        covariance[a * dims + b] = value;
        covariance[b * dims + a] = value;
      }
      covariance[a * dims + a]! += 1e-6;
    }
    const lower = choleskyFactor(covariance, dims);

    // score_v(z) = m_vᵀ Σ⁻¹ z − ½ m_vᵀ Σ⁻¹ m_v
    const weights = new Float64Array(voices.length * dims);
    const biases = new Float64Array(voices.length);
    for (let v = 0; v < voices.length; v++) {
      const m = classMeans.subarray(v * dims, (v + 1) * dims);
      const w = choleskySolve(lower, dims, m);
      weights.set(w, v * dims);
      let quad = 0;
      for (let j = 0; j < dims; j++) quad += m[j]! * w[j]!;
      biases[v] = -0.5 * quad;
    }
    return new CepstralJudge(voices, config, n, featureMean, featureStd, weights, biases);
  }

  /** One line on what the judge is, for reports. */
  describe(): string {
    const { order, deltas, shrinkage } = this.config;
    return `LDA (shrinkage ${shrinkage}) on mean/std of mel-cepstrum c1-c${order}${deltas ? ' and std of its deltas' : ''} over speech frames, ${this.voices.length} voices, ${this.trainUtterances} train utterances`;
  }

  /** Scores of a feature vector (`cepstralFeatures`), best first. */
  classifyFeatures(features: Float64Array): CepstralVerdict {
    const dims = this.featureMean.length;
    if (features.length !== dims) throw new InvalidArgumentError(`cepstral judge: feature vector has ${features.length} values, expected ${dims}`);
    const scores = this.voices.map((voice, v) => {
      let score = this.biases[v]!;
      for (let j = 0; j < dims; j++) score += this.weights[v * dims + j]! * ((features[j]! - this.featureMean[j]!) / this.featureStd[j]!);
      return { voice, score };
    });
    scores.sort((a, b) => b.score - a.score);
    return { voice: scores[0]!.voice, scores };
  }

  /** The voice of a log-mel [frames × 80], or null when it has fewer than 2 speech frames. */
  classify(mel: LogMel): CepstralVerdict | null {
    const features = cepstralFeatures(mel, this.config);
    return features === null ? null : this.classifyFeatures(features);
  }
}

/** Lower-triangular L with L·Lᵀ = a (a symmetric positive definite, [n × n] row-major). */
function choleskyFactor(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new InvalidArgumentError('cepstral judge: the pooled covariance is not positive definite (are the features finite?)');
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  return l;
}

/** x with L·Lᵀ·x = b. */
function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/** Fits the judge on `dataset` (normally the train split of every corpus voice): `utterancesPerVoice` per voice. */
export function buildCepstralJudge(dataset: CorpusDataset, config: CepstralJudgeConfig = DEFAULT_CEPSTRAL_JUDGE_CONFIG): CepstralJudge {
  checkConfig(config);
  const byVoice = new Map<string, LogMel[]>(dataset.voices.map((v) => [v.id, []]));
  for (const voice of dataset.voices) {
    const list = dataset.utterances.filter((u) => u.voice === voice.id);
    byVoice.set(voice.id, evenlySpaced(list, config.utterancesPerVoice).map((u) => dataset.mel(u.voice, u.sentence)));
  }
  return CepstralJudge.fit(byVoice, config);
}

/** Accuracy and confusion matrix over a dataset (rows: true voice, columns: judged), as the d-vector judge reports. */
export interface CepstralJudgeReport {
  readonly voices: readonly string[];
  /** [true voice][judged voice] counts, `voices` order; a silent utterance is counted in no column. */
  readonly confusion: readonly (readonly number[])[];
  readonly accuracy: number;
  readonly utterances: number;
}

/** Classifies every utterance of `dataset` (normally the test split); a silent one counts as wrong. */
export function evaluateCepstralJudge(judge: CepstralJudge, dataset: CorpusDataset, onProgress?: (done: number, total: number) => void): CepstralJudgeReport {
  const voices = judge.voices;
  const confusion = voices.map(() => voices.map(() => 0));
  let correct = 0;
  let done = 0;
  for (const u of dataset.utterances) {
    const row = voices.indexOf(u.voice);
    if (row < 0) throw new InvalidArgumentError(`the cepstral judge does not know voice "${u.voice}" of the dataset; it knows ${voices.join(', ')}`);
    const verdict = judge.classify(dataset.mel(u.voice, u.sentence));
    if (verdict !== null) {
      confusion[row]![voices.indexOf(verdict.voice)]!++;
      if (verdict.voice === u.voice) correct++;
    }
    onProgress?.(++done, dataset.utterances.length);
  }
  return { voices, confusion, accuracy: dataset.utterances.length > 0 ? correct / dataset.utterances.length : Number.NaN, utterances: dataset.utterances.length };
}
