// Writes a vocoder with fewer hidden units per ConvNeXt MLP (src/models/vocoder/prune.ts), chosen on train-split
// recordings of every corpus voice; fine-tune it afterwards (the vocoder card gives the commands):
//   tsx scripts/pruneVocoder.ts --model FILE --inner N --out FILE [--per-voice N] [--home DIR]

import { parseArgs } from 'node:util';
import { openCorpusDataset } from '../src/corpus/dataset.js';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import { loadVocoderModel, saveVocoderModel } from '../src/models/vocoder/convert.js';
import { VocoderNet } from '../src/models/vocoder/model.js';
import { spacedPerVoice } from '../src/models/vocoder/fineTune.js';
import { chooseHiddenUnits, pruneHiddenUnits } from '../src/models/vocoder/prune.js';
import { Rng } from '../src/nn/module.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, inner: { type: 'string' }, out: { type: 'string' }, 'per-voice': { type: 'string' }, home: { type: 'string' } } });
if (values.model === undefined || values.inner === undefined || values.out === undefined) throw new Error('usage: tsx scripts/pruneVocoder.ts --model FILE --inner N --out FILE [--per-voice N] [--home DIR]');
const inner = Number(values.inner);
const perVoice = Number(values['per-voice'] ?? 3);
console.log(describeBackend(await initBackend()));
const loaded = await loadVocoderModel(values.model);
const net = new VocoderNet(new Rng(0), loaded.info.config, loaded.info.normalization);
net.setWeights(loaded.weights(), values.model);
const dataset = openCorpusDataset({ ...(values.home !== undefined ? { home: values.home } : {}), split: 'train' });
const sample = spacedPerVoice(dataset.utterances, perVoice).map((u) => dataset.mel(u.voice, u.sentence));
const pruning = chooseHiddenUnits(net, sample, inner);
const pruned = pruneHiddenUnits(net, pruning);
await saveVocoderModel(
  values.out,
  pruned,
  {
    trainingDataHash: loaded.info.trainingDataHash,
    training: { ...(loaded.info.training ?? {}), prunedFrom: values.model, prunedInner: `${loaded.info.config.inner} → ${inner}`, pruningUtterances: sample.length },
  },
  { overwrite: false },
);
console.log(`wrote ${values.out}: inner ${loaded.info.config.inner} → ${inner}, units chosen on ${sample.length} train-split recordings`);
