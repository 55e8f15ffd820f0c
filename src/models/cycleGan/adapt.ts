// A CycleGAN-VC pair to a voice given only as recordings (a user's, or a real speaker under evaluation) in a few
// hundred steps: the generators of the trained pair whose target is nearest in pitch start the run "any corpus voice →
// the new voice", discriminators fresh, as `timbre train cyclegan --to NAME --init PAIR.timbre` does from the CLI.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogMel } from '../../audio/mel.js';
import { openCorpusDataset } from '../../corpus/dataset.js';
import { manifestHash } from '../../corpus/manifest.js';
import { meanLogF0OfMels } from '../pitch.js';
import { CycleGanConverter, nearestPairByPitch } from './convert.js';
import { ANY_VOICE, DEFAULT_CYCLE_GAN_CONFIG } from './model.js';
import { corpusCropDomain, createCycleGanSetupFromDomains, CycleGanTrainer, DEFAULT_CYCLE_GAN_TRAIN_CONFIG, melListCropDomain, transferGenerators } from './train.js';

/** Steps and batch of a transferred pair (≈ a quarter of a pair trained from scratch). */
export const CYCLE_GAN_TRANSFER_DEFAULTS = Object.freeze({ steps: 400, batchSize: 2 });

/** Options of `adaptCycleGanToRecordings`. */
export interface CycleGanTransferOptions {
  readonly name: string;
  readonly mels: readonly LogMel[];
  /** TIMBRE_HOME with the corpus (the pooled source domain). */
  readonly home: string | undefined;
  /** Pair files to start from (default the shipped any → voice pairs); the one whose target's mean F0 is nearest is taken. */
  readonly candidates?: readonly string[];
  readonly steps?: number;
  readonly seed?: number;
  readonly log: (line: string) => void;
}

/** Trains "any corpus voice → `name`" from the nearest-pitch pair's generators, in a temporary run folder. */
export async function adaptCycleGanToRecordings(options: CycleGanTransferOptions): Promise<CycleGanConverter> {
  const logF0 = meanLogF0OfMels(options.mels);
  const start = { path: await nearestPairByPitch(logF0, options.candidates) };
  const where = options.home !== undefined ? { home: options.home } : {};
  const corpusTrain = openCorpusDataset({ ...where, split: 'train' });
  const stats = corpusTrain.melStats();
  const normalization = { mean: stats.mean, std: stats.std };
  const domainA = corpusCropDomain(ANY_VOICE, corpusTrain);
  const domainB = melListCropDomain(options.name, options.mels, normalization);
  const steps = options.steps ?? CYCLE_GAN_TRANSFER_DEFAULTS.steps;
  const setup = createCycleGanSetupFromDomains(domainA, domainB, normalization, {
    config: DEFAULT_CYCLE_GAN_CONFIG,
    trainConfig: DEFAULT_CYCLE_GAN_TRAIN_CONFIG,
    seed: options.seed ?? 0,
    steps,
    corpusHash: manifestHash(corpusTrain.manifest),
  });
  const runDir = mkdtempSync(join(tmpdir(), 'timbre-cyclegan-transfer-'));
  try {
    await transferGenerators(setup, start.path);
    options.log(`cyclegan: any → ${options.name} (${domainB.seconds.toFixed(1)} s of recordings, mean F0 ${Math.exp(logF0).toFixed(0)} Hz) from the generators of ${start.path}, ${steps} steps`);
    const trainer = new CycleGanTrainer({ setup, batchSize: CYCLE_GAN_TRANSFER_DEFAULTS.batchSize, totalSteps: steps, seed: options.seed ?? 0, logEvery: Math.max(1, Math.floor(steps / 4)), checkpointEvery: steps + 1, runDir, resume: false });
    try {
      await trainer.run();
    } finally {
      await trainer.dispose();
    }
    const { genAB, genBA } = setup.model;
    const info = {
      config: setup.config,
      sourceDomain: ANY_VOICE,
      sourceVoices: domainA.voices,
      targetVoice: options.name,
      targetLogF0: domainB.meanLogF0(),
      normalization,
      trainingDataHash: setup.corpusHash,
      validationMetrics: {},
      training: { transferredFrom: start.path, steps },
    };
    // The converter owns the generators from here; the discriminators go with the rest of the setup.
    const converter = new CycleGanConverter(genAB, info, genBA);
    for (const d of [setup.model.discA, setup.model.discB, setup.model.disc2A, setup.model.disc2B]) d?.dispose();
    return converter;
  } catch (err) {
    setup.model.dispose();
    throw err;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}
