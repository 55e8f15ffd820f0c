// How well the speaker encoder tells apart real people it never heard (part of `timbre eval --judge`): each held-out
// speaker of the real-speech set is enrolled from the first ≥ 10 s of its clips (the hash order `--real-voices` uses),
// then every other clip is identified among the held-out speakers by nearest centroid, and the cosine scores of all
// (clip, speaker) trials give an equal-error rate.

import type { RealSpeechSet } from '../corpus/realSpeech.js';
import { cosineSimilarity, type SpeakerEncoder } from '../models/speakerEncoder/model.js';
import { EvalSetupError } from './errors.js';
import { REAL_REFERENCE_SECONDS, shuffledClips } from './realVoices.js';

/** Identification and verification of held-out real speakers by the speaker encoder. */
export interface RealJudgeReport {
  readonly speakers: readonly { readonly id: string; readonly enrollSeconds: number; readonly clips: number; readonly accuracy: number }[];
  /** Fraction of all test clips whose nearest centroid is their speaker. */
  readonly accuracy: number;
  /** Equal-error rate of cosine(clip, speaker centroid) over genuine and impostor trials. */
  readonly equalErrorRate: number;
  readonly trials: { readonly genuine: number; readonly impostor: number };
}

/**
 * Equal-error rate of a verifier from its genuine (same-speaker) and impostor scores (higher = more alike): the
 * error where the false-accept and false-reject rates cross, over every threshold at a score.
 */
export function equalErrorRate(genuine: readonly number[], impostor: readonly number[]): number {
  if (genuine.length === 0 || impostor.length === 0) return Number.NaN;
  const trials = [...genuine.map((s) => ({ s, genuine: true })), ...impostor.map((s) => ({ s, genuine: false }))].sort((a, b) => b.s - a.s);
  // Accept every trial scoring ≥ the threshold; walk thresholds from the top.
  let accepted = { genuine: 0, impostor: 0 };
  let best = { gap: Number.POSITIVE_INFINITY, rate: Number.NaN };
  const consider = (): void => {
    const falseReject = 1 - accepted.genuine / genuine.length;
    const falseAccept = accepted.impostor / impostor.length;
    const gap = Math.abs(falseReject - falseAccept);
    if (gap < best.gap) best = { gap, rate: (falseReject + falseAccept) / 2 };
  };
  consider();
  for (let i = 0; i < trials.length; i++) {
    accepted = trials[i]!.genuine ? { ...accepted, genuine: accepted.genuine + 1 } : { ...accepted, impostor: accepted.impostor + 1 };
    if (i + 1 < trials.length && trials[i + 1]!.s === trials[i]!.s) continue;
    consider();
  }
  return best.rate;
}

/** Enrols each of `speakers` (default: the set's held-out speakers) and scores their other clips. */
export function evaluateRealSpeakerJudge(encoder: SpeakerEncoder, real: RealSpeechSet, speakers: readonly string[] = real.heldOutSpeakers): RealJudgeReport {
  if (speakers.length < 2) throw new EvalSetupError(`the real-speech judge needs at least 2 speakers, the set has ${speakers.length} held out`);
  const enrolled = speakers.map((id) => {
    const clips = shuffledClips(real.clips({ speakers: [id] }));
    let seconds = 0;
    let n = 0;
    while (n < clips.length && seconds < REAL_REFERENCE_SECONDS) seconds += clips[n++]!.durationSeconds;
    if (n >= clips.length) throw new EvalSetupError(`real speaker ${id} has no clips left after ${REAL_REFERENCE_SECONDS} s of enrolment`);
    return { id, seconds, centroid: encoder.embedReference(clips.slice(0, n).map((c) => real.mel(c.id))), tests: clips.slice(n) };
  });
  const genuine: number[] = [];
  const impostor: number[] = [];
  let correct = 0;
  let total = 0;
  const perSpeaker = enrolled.map((speaker) => {
    let right = 0;
    for (const clip of speaker.tests) {
      const embedding = encoder.embed(real.mel(clip.id));
      let best = '';
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const other of enrolled) {
        const score = cosineSimilarity(embedding, other.centroid);
        (other.id === speaker.id ? genuine : impostor).push(score);
        if (score > bestScore) [best, bestScore] = [other.id, score];
      }
      if (best === speaker.id) right++;
    }
    correct += right;
    total += speaker.tests.length;
    return { id: speaker.id, enrollSeconds: speaker.seconds, clips: speaker.tests.length, accuracy: right / speaker.tests.length };
  });
  return { speakers: perSpeaker, accuracy: correct / total, equalErrorRate: equalErrorRate(genuine, impostor), trials: { genuine: genuine.length, impostor: impostor.length } };
}

/** The report as lines: overall accuracy and EER, then one line per speaker. */
export function formatRealJudge(report: RealJudgeReport): string {
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  return [
    `held-out real speakers: identification ${pct(report.accuracy)} among ${report.speakers.length}, equal-error rate ${pct(report.equalErrorRate)} (${report.trials.genuine} genuine, ${report.trials.impostor} impostor trials)`,
    ...report.speakers.map((s) => `  ${s.id}: ${pct(s.accuracy)} of ${s.clips} clips (enrolled on ${s.enrollSeconds.toFixed(1)} s)`),
  ].join('\n');
}
