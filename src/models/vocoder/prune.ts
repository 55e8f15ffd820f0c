// Structured pruning of the vocoder's ConvNeXt MLPs: each block keeps the `inner` hidden units that carry the most
// (mean |activation| on sample mels × the norm of the unit's scaled output row), and the units it drops give their
// mean output to pw2's bias, so the pruned network starts close to the full one. A short fine-tune then recovers the
// rest (the shipped vocoder: see its card). Fewer hidden units is what makes the network cheaper: the MLPs are ≈ 90 %
// of its multiply-adds.

import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../audio/errors.js';
import type { WeightMap } from '../../nn/module.js';
import { Rng } from '../../nn/module.js';
import { VocoderNet } from './model.js';

/** Per block: the kept hidden units (ascending) and the mean activation of every unit. */
export interface BlockPruning {
  readonly keep: Int32Array;
  readonly meanActivation: Float32Array;
}

/**
 * Which hidden units each block keeps, from activations on `sampleMels` (log-mels [frames × mels], recorded speech).
 * Importance of unit j: mean_t |a_j(t)| · ‖scale ⊙ W2[j, :]‖.
 */
export function chooseHiddenUnits(net: VocoderNet, sampleMels: readonly { data: Float32Array; frames: number }[], inner: number): BlockPruning[] {
  const { inner: full, mels } = net.config;
  if (!(Number.isInteger(inner) && inner >= 1 && inner < full)) throw new InvalidArgumentError(`inner must be a whole number in 1..${full - 1} (the network has ${full}), received ${inner}`);
  if (sampleMels.length === 0) throw new InvalidArgumentError('chooseHiddenUnits: give at least one sample mel');
  const sums = net.blocks.map(() => ({ abs: new Float64Array(full), mean: new Float64Array(full) }));
  let frames = 0;
  for (const mel of sampleMels) {
    tf.tidy(() => {
      let h = net.embed(tf.tensor3d(mel.data, [1, mel.frames, mels]));
      for (const [b, block] of net.blocks.entries()) {
        const a = block.hidden(h).reshape([mel.frames, full]);
        const abs = tf.sum(tf.abs(a), 0).dataSync();
        const sum = tf.sum(a, 0).dataSync();
        for (let j = 0; j < full; j++) {
          sums[b]!.abs[j] += abs[j]!;
          sums[b]!.mean[j] += sum[j]!;
        }
        h = block.forward(h);
      }
    });
    frames += mel.frames;
  }
  return net.blocks.map((block, b) => {
    const w2 = block.pw2.weight.dataSync(); // [inner × width]
    const scale = block.scale.dataSync();
    const width = scale.length;
    const importance = Array.from({ length: full }, (_, j) => {
      let norm = 0;
      for (let c = 0; c < width; c++) norm += (scale[c]! * w2[j * width + c]!) ** 2;
      return { j, score: (sums[b]!.abs[j]! / frames) * Math.sqrt(norm) };
    });
    importance.sort((x, y) => y.score - x.score || x.j - y.j);
    const keep = Int32Array.from(importance.slice(0, inner).map((x) => x.j)).sort();
    return { keep, meanActivation: Float32Array.from(sums[b]!.mean, (s) => s / frames) };
  });
}

/** A network of `inner` hidden units per block from `net` and `chooseHiddenUnits`' choice (dropped units' mean output folded into pw2's bias). */
export function pruneHiddenUnits(net: VocoderNet, pruning: readonly BlockPruning[]): VocoderNet {
  const inner = pruning[0]?.keep.length ?? 0;
  if (pruning.length !== net.blocks.length || pruning.some((p) => p.keep.length !== inner)) throw new InvalidArgumentError('pruneHiddenUnits: one choice of equal size per block expected');
  const { width, inner: full } = net.config;
  const weights: WeightMap = net.getWeights();
  for (const [b, { keep, meanActivation }] of pruning.entries()) {
    const prefix = `blocks.${b}`;
    const w1 = weights.get(`${prefix}.pw1.weight`)!.data; // [width × full]
    const b1 = weights.get(`${prefix}.pw1.bias`)!.data; // [full]
    const w2 = weights.get(`${prefix}.pw2.weight`)!.data; // [full × width]
    const b2 = Float32Array.from(weights.get(`${prefix}.pw2.bias`)!.data); // [width]
    const kept = new Uint8Array(full);
    for (const j of keep) kept[j] = 1;
    for (let j = 0; j < full; j++) if (kept[j] === 0) for (let c = 0; c < width; c++) b2[c] += meanActivation[j]! * w2[j * width + c]!;
    const newW1 = new Float32Array(width * inner);
    for (let r = 0; r < width; r++) for (let i = 0; i < inner; i++) newW1[r * inner + i] = w1[r * full + keep[i]!]!;
    const newW2 = new Float32Array(inner * width);
    for (let i = 0; i < inner; i++) newW2.set(w2.subarray(keep[i]! * width, (keep[i]! + 1) * width), i * width);
    weights.set(`${prefix}.pw1.weight`, { data: newW1, shape: [width, inner] });
    weights.set(`${prefix}.pw1.bias`, { data: Float32Array.from(keep, (j) => b1[j]!), shape: [inner] });
    weights.set(`${prefix}.pw2.weight`, { data: newW2, shape: [inner, width] });
    weights.set(`${prefix}.pw2.bias`, { data: b2, shape: [width] });
  }
  const pruned = new VocoderNet(new Rng(0), { ...net.config, inner }, net.normalization);
  pruned.setWeights(weights, 'the pruned weights');
  return pruned;
}
