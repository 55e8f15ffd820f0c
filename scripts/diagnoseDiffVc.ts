// DiffVC diagnosis on the corpus validation split (`npm run diagnose:diffvc -- [MODEL.timbre] [--items N]`):
// 1. how close the encoder's μ is to the average-voice targets (MSE, normalised units, against the source itself);
// 2. how much of the source voice μ still carries (the speaker judge on de-normalised μ: share heard as the source);
// 3. whether the decoder's output moves with the target's condition (the same source converted to two voices:
//    their distance over the distance of those voices' own aligned recordings);
// 4. where pitch goes: mean log-F0 of outputs against the target's and the source's, semitones.

import { existsSync } from 'node:fs';
import type { LogMel } from '../src/audio/mel.js';
import { openCorpusDataset } from '../src/corpus/dataset.js';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import { loadDiffVc, loadMelConverter, shippedDiffVcPath } from '../src/models/diffVc/convert.js';
import { Rng } from '../src/nn/module.js';
import { estimateF0FromLogMel, meanLogF0 } from '../src/models/pitch.js';
import { defaultSpeakerEncoderPath, loadSpeakerEncoder } from '../src/models/speakerEncoder/convert.js';
import * as tf from '@tensorflow/tfjs';

const args = process.argv.slice(2);
const itemsAt = args.indexOf('--items');
const items = itemsAt >= 0 ? Number(args[itemsAt + 1]) : 24;
const modelPath = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--items') ?? shippedDiffVcPath();
if (!existsSync(modelPath)) throw new Error(`no model at ${modelPath}`);
if (!Number.isInteger(items) || items < 2) throw new Error('--items must be a whole number ≥ 2');

const backend = await initBackend({});
console.log(`${describeBackend(backend)}; model ${modelPath}`);
const loaded = await loadDiffVc(modelPath);
const { model } = loaded;
const { mean: nMean, std: nStd } = model.normalization;
const validation = openCorpusDataset({ split: 'validation' });
const { encoder, judge } = await loadSpeakerEncoder(defaultSpeakerEncoderPath());
const converter = await loadMelConverter(modelPath);
const rng = new Rng(11);
const chosen = rng.shuffleInPlace([...validation.utterances]).slice(0, items);

const normalise = (mel: LogMel): Float32Array => mel.data.map((v, i) => (v - nMean[i % mel.mels]!) / nStd[i % mel.mels]!);
const mse = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
const semitones = (nepers: number): number => (12 * nepers) / Math.LN2;

let muToAverage = 0;
let sourceToAverage = 0;
let muHeardAsSource = 0;
let sourceHeardAsSource = 0;
const outputRatio: number[] = [];
const pitchToTarget: number[] = [];
const pitchToSource: number[] = [];
const targetGap: number[] = [];
for (const [k, u] of chosen.entries()) {
  const mel = validation.mel(u.voice, u.sentence);
  const average = validation.averageMel(u.voice, u.sentence);
  const frames = Math.min(mel.frames, average.frames) - (Math.min(mel.frames, average.frames) % 4);
  const x = normalise({ ...mel, frames, data: mel.data.subarray(0, frames * 80) });
  const a = normalise({ ...average, frames, data: average.data.subarray(0, frames * 80) });
  const mu = tf.tidy(() => model.encode(tf.tensor3d(x, [1, frames, 80])).dataSync() as Float32Array);
  muToAverage += mse(mu, a) / chosen.length;
  sourceToAverage += mse(x, a) / chosen.length;
  const muMel: LogMel = { frames, mels: 80, data: mu.map((v, i) => v * nStd[i % 80]! + nMean[i % 80]!) };
  if (judge.classify(encoder.embed(muMel)).voice === u.voice) muHeardAsSource++;
  if (judge.classify(encoder.embed(mel)).voice === u.voice) sourceHeardAsSource++;
  // Two targets other than the source, one after the other in the model's list.
  const others = loaded.voices.filter((v) => v !== u.voice);
  const [v1, v2] = [others[k % others.length]!, others[(k + 5) % others.length]!];
  const out1 = await converter.convert(mel, { voiceId: v1 });
  const out2 = await converter.convert(mel, { voiceId: v2 });
  const real1 = validation.alignedMel(u.voice, v1, u.sentence);
  const real2 = validation.alignedMel(u.voice, v2, u.sentence);
  outputRatio.push(Math.sqrt(mse(out1.data, out2.data) / mse(real1.data, real2.data)));
  const sourceLogF0 = meanLogF0(estimateF0FromLogMel(mel));
  for (const [out, v] of [[out1, v1], [out2, v2]] as const) {
    const outLogF0 = meanLogF0(estimateF0FromLogMel(out));
    const target = validation.utterances.find((w) => w.voice === v && w.sentence === u.sentence)!;
    const targetLogF0 = meanLogF0(estimateF0FromLogMel(validation.mel(target.voice, target.sentence)));
    if ([outLogF0, targetLogF0, sourceLogF0].every(Number.isFinite)) {
      pitchToTarget.push(semitones(outLogF0 - targetLogF0));
      pitchToSource.push(semitones(outLogF0 - sourceLogF0));
      targetGap.push(semitones(targetLogF0 - sourceLogF0));
    }
  }
}
const meanOf = (v: number[]): number => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
const meanAbs = (v: number[]): number => meanOf(v.map(Math.abs));
console.log(`items: ${chosen.length} validation utterances (seed 11), two targets each, ML solver 6 steps, seed 0`);
console.log(`1. μ → average-voice target MSE ${muToAverage.toFixed(3)} (the source itself: ${sourceToAverage.toFixed(3)}; normalised units)`);
console.log(`2. the speaker judge hears the source voice in μ: ${muHeardAsSource}/${chosen.length} (in the source: ${sourceHeardAsSource}/${chosen.length}; chance 1/${judge.voices.length})`);
console.log(`3. two targets, same source: output distance ÷ the targets' own aligned distance = ${meanOf(outputRatio).toFixed(3)} (1 = moves as far as the voices differ)`);
console.log(
  `4. mean log-F0 of outputs: ${meanAbs(pitchToTarget).toFixed(2)} st from the target (signed mean ${meanOf(pitchToTarget).toFixed(2)}), ` +
    `${meanAbs(pitchToSource).toFixed(2)} st from the source; targets lie ${meanAbs(targetGap).toFixed(2)} st from the sources`,
);
converter.dispose();
model.dispose();
encoder.dispose();
