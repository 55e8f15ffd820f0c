// Writes the shipped DiffVC or CycleDiffusion file (float16) from a finished model file, or from the newest
// checkpoint of a DiffVC run still in progress (its step is recorded in the file and must be said in the card):
//   tsx scripts/shipDiffusion.ts --model TIMBRE_HOME/models/diffvc/model.timbre [--family diffvc|cyclediffusion]
//   tsx scripts/shipDiffusion.ts --checkpoint TIMBRE_HOME/checkpoints/diffvc --config assets/models/diffvc/train.json
// Output: assets/models/<family>/model.timbre (replaced atomically), or --out FILE.

import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, describeBackend } from '../src/nn/backend.js';
import { loadDiffVc, saveDiffVc, shippedDiffVcPath, type DiffusionFamily } from '../src/models/diffVc/convert.js';
import { resolveDiffVcConfig } from '../src/models/diffVc/model.js';
import { corpusSpeakerVectors, createDiffVcTrainingSetup, diffVcConfigOverrides, diffVcFileContents, encoderStepsOf } from '../src/models/diffVc/train.js';
import { readModelFile } from '../src/nn/modelFile.js';
import type { WeightArray } from '../src/nn/module.js';
import { defaultSpeakerEncoderPath } from '../src/models/speakerEncoder/convert.js';
import { openCorpusDataset } from '../src/corpus/dataset.js';
import { shippedModelPath } from '../src/io/paths.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, checkpoint: { type: 'string' }, config: { type: 'string' }, family: { type: 'string' }, out: { type: 'string' }, home: { type: 'string' } },
});
const family = (values.family ?? 'diffvc') as DiffusionFamily;
if (family !== 'diffvc' && family !== 'cyclediffusion') throw new Error(`--family must be diffvc or cyclediffusion, got ${family}`);
const out = values.out ?? (family === 'diffvc' ? shippedDiffVcPath() : shippedModelPath('cyclediffusion'));
console.log(describeBackend(await initBackend()));

if (values.model !== undefined) {
  const loaded = await loadDiffVc(values.model, family);
  await saveDiffVc(
    out,
    { model: loaded.model, voices: loaded.voices, speakerVectors: loaded.speakerVectors, voiceTables: loaded.voiceTables, trainingDataHash: loaded.trainingDataHash, validationMetrics: loaded.validationMetrics, extra: { ...loaded.extra, storedAs: 'float16' } },
    { overwrite: true, family, storage: 'float16' },
  );
  loaded.model.dispose();
  console.log(`wrote ${out} (float16) from ${values.model}`);
} else if (values.checkpoint !== undefined) {
  if (family !== 'diffvc') throw new Error('--checkpoint exports DiffVC runs only');
  if (values.config === undefined) throw new Error('--checkpoint needs the run\'s --config (e.g. assets/models/diffvc/train.json)');
  const home = values.home ?? process.env['TIMBRE_HOME'];
  // A copy, so the running training may replace its checkpoint meanwhile.
  const scratch = mkdtempSync(join(tmpdir(), 'timbre-ship-'));
  const copy = join(scratch, 'checkpoint.timbre');
  copyFileSync(join(values.checkpoint, 'checkpoint.timbre'), copy);
  const { header, weights } = await readModelFile(copy);
  rmSync(scratch, { recursive: true, force: true });
  const step = (header.extra as { step: number }).step;
  const totalSteps = (header.hyperparameters as { totalSteps: number }).totalSteps;
  const overrides = diffVcConfigOverrides(JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown>);
  const where = home !== undefined ? { home } : {};
  const speakers = await corpusSpeakerVectors(defaultSpeakerEncoderPath(home), openCorpusDataset({ ...where, split: 'train' }), console.log);
  const config = resolveDiffVcConfig({ ...overrides, speakerDims: speakers.dims });
  const setup = createDiffVcTrainingSetup({ ...where, config: { ...overrides, speakerDims: speakers.dims }, speakerVectors: speakers.vectors, encoderSteps: encoderStepsOf(config, totalSteps), seed: 0 });
  const params = new Map<string, WeightArray>();
  for (const [name, w] of weights) if (name.startsWith('param:')) params.set(name.slice('param:'.length), w);
  setup.model.setWeights(params, copy);
  await saveDiffVc(
    out,
    {
      ...diffVcFileContents(setup, speakers.vectors),
      extra: { fromCheckpoint: { step, totalSteps }, storedAs: 'float16' },
    },
    { overwrite: true, storage: 'float16' },
  );
  setup.model.dispose();
  setup.objective.dispose();
  console.log(`wrote ${out} (float16) from the checkpoint at step ${step}/${totalSteps} of ${values.checkpoint}`);
} else {
  throw new Error('give --model FILE or --checkpoint RUN_FOLDER');
}
