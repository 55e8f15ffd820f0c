// Writes the shipped neural vocoder (float16) from a finished vocoder model file, optionally with another
// `correctionFromHz` (the lowest frequency its network corrects; chosen on the validation split, see the card):
//   tsx scripts/shipVocoder.ts --model TIMBRE_HOME/models/vocoder/model.timbre [--correction-from-hz HZ] [--out FILE]
// Output: assets/models/vocoder/model.timbre (replaced atomically), or --out FILE.

import { parseArgs } from 'node:util';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import { loadVocoderModel, saveVocoderModel } from '../src/models/vocoder/convert.js';
import { shippedVocoderPath } from '../src/models/vocoder/files.js';
import { VocoderNet } from '../src/models/vocoder/model.js';
import { Rng } from '../src/nn/module.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, 'correction-from-hz': { type: 'string' }, out: { type: 'string' } } });
if (values.model === undefined) throw new Error('--model FILE: the trained vocoder to ship');
const out = values.out ?? shippedVocoderPath();
console.log(describeBackend(await initBackend()));
const loaded = await loadVocoderModel(values.model);
const given = values['correction-from-hz'];
const correctionFromHz = given !== undefined ? Number(given) : loaded.info.config.correctionFromHz;
const net = new VocoderNet(new Rng(0), { ...loaded.info.config, correctionFromHz }, loaded.info.normalization);
net.setWeights(loaded.weights(), values.model);
await saveVocoderModel(
  out,
  net,
  {
    trainingDataHash: loaded.info.trainingDataHash,
    ...(loaded.info.validationMetrics !== undefined ? { validationMetrics: loaded.info.validationMetrics } : {}),
    training: { ...(loaded.info.training ?? {}), shippedFrom: values.model, ...(given !== undefined ? { correctionFromHzSetAtShipping: correctionFromHz } : {}) },
  },
  { overwrite: true, storage: 'float16' },
);
loaded.dispose();
net.dispose();
console.log(`wrote ${out} (float16, correctionFromHz ${correctionFromHz}) from ${values.model}`);
