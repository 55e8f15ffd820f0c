// `timbre train vocoder --fine-tune`: converted mels are smoother than recorded ones, so the vocoder continues on the
// installed converters' outputs of train-split utterances (VAE, CycleGAN-VC pairs, DiffVC), each rendered in its own
// voice so it lines up with the recording that stays the target. The set is written once per set of model files and
// reused while those files are unchanged.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../audio/errors.js';
import { evenlySpaced, openCorpusDataset, type DatasetUtterance } from '../../corpus/dataset.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { timbrePaths } from '../../io/paths.js';
import type { MelConverter } from '../converter.js';
import { installedVocoderPath } from './files.js';
import { FINE_TUNE_INDEX, openFineTuneSet, prepareVocoderTraining, writeFineTuneMels, type FineTuneSet, type VocoderTrainingRun, type VocoderTrainingSettings } from './train.js';

/** Train-split utterances per voice each converter renders (about 14 × 24 per family: a few minutes on one core). */
export const FINE_TUNE_UTTERANCES_PER_VOICE = 24;

/** Where the set lives: TIMBRE_HOME/checkpoints/vocoder-fine-tune-mels (a cache: deleting it only costs its rebuild). */
export function fineTuneSetDir(home: string | undefined): string {
  return join(timbrePaths(home).checkpoints, 'vocoder-fine-tune-mels');
}

/** `count` utterances of each voice, evenly spaced through its list (fixed for a corpus). */
export function spacedPerVoice(utterances: readonly DatasetUtterance[], count: number): DatasetUtterance[] {
  const byVoice = new Map<string, DatasetUtterance[]>();
  for (const u of utterances) byVoice.set(u.voice, [...(byVoice.get(u.voice) ?? []), u]);
  return [...byVoice.values()].flatMap((list) => evenlySpaced(list, count));
}

/** What the set was made from: each converter's label, family and training corpus, one line each. */
function sourcesOf(converters: readonly MelConverter[]): string[] {
  return converters.map((c) => `${c.family}: ${c.label} (corpus ${c.trainingDataHash ?? ''})`);
}

/**
 * The fine-tune set of the installed VAE, CycleGAN-VC pairs and DiffVC on the corpus of `home`; reused when a set of the
 * same sources exists, written anew otherwise. Families with no model installed are left out (with a line in `log`).
 */
export async function prepareVocoderFineTuneSet(home: string | undefined, log: (line: string) => void, signal?: AbortSignal): Promise<FineTuneSet> {
  const where = home !== undefined ? { home } : {};
  const dataset = openCorpusDataset({ ...where, split: 'train' });
  const voices = dataset.voices.map((v) => v.id);
  const context = { home, targetVoices: voices };
  const converters: MelConverter[] = [];
  try {
    const loaders: [string, () => Promise<MelConverter>][] = [
      ['VAE', async () => (await import('../vae/convert.js')).loadEvalConverter(context)],
      // Only the voices that have a pair.
      ['CycleGAN-VC', async () => {
        const cycleGan = await import('../cycleGan/convert.js');
        return cycleGan.loadEvalConverter({ home, targetVoices: voices.filter((v) => existsSync(cycleGan.cycleGanPathOf(home, v))) });
      }],
      ['DiffVC', async () => (await import('../diffVc/convert.js')).loadEvalConverter(context)],
    ];
    for (const [name, load] of loaders) {
      try {
        converters.push(await load());
      } catch (err) {
        log(`vocoder fine-tune: no ${name} outputs (${(err as Error).message.split('\n')[0]})`);
      }
    }
    if (converters.length === 0) throw new InvalidArgumentError('vocoder fine-tune: no converter is installed; train or install one first');
    const dir = fineTuneSetDir(home);
    const sources = sourcesOf(converters);
    const sourcesPath = join(dir, 'sources.json');
    if (existsSync(join(dir, FINE_TUNE_INDEX)) && existsSync(sourcesPath) && readFileSync(sourcesPath, 'utf8') === `${JSON.stringify(sources)}\n` && statSync(join(dir, FINE_TUNE_INDEX)).size > 0) {
      const set = openFineTuneSet(dir);
      log(`vocoder fine-tune: reusing ${set.entries.length} converter mels in ${dir}`);
      return set;
    }
    const utterances = spacedPerVoice(dataset.utterances, FINE_TUNE_UTTERANCES_PER_VOICE);
    log(`vocoder fine-tune: rendering ${utterances.length} train-split utterances with ${converters.map((c) => c.label).join(', ')} into ${dir}`);
    const set = await writeFineTuneMels(dir, dataset, converters, { utterances, log, ...(signal ? { signal } : {}) });
    await writeFileAtomic(sourcesPath, `${JSON.stringify(sources)}\n`, { overwrite: true });
    return set;
  } finally {
    for (const c of converters) c.dispose();
  }
}

/**
 * Prepares the fine-tune run: the converters' set (written or reused), then a vocoder run from `init` (default the
 * installed vocoder) with those mels mixed in at the config's `fineTuneShare`.
 */
export async function prepareVocoderFineTuning(settings: Omit<VocoderTrainingSettings, 'fineTune'>): Promise<VocoderTrainingRun> {
  const init = settings.init ?? installedVocoderPath(settings.home);
  if (init === undefined) throw new InvalidArgumentError('timbre train vocoder --fine-tune continues a trained vocoder; train one first with: timbre train vocoder (or give --init FILE)');
  settings.log(`vocoder fine-tune: from ${init}`);
  const set = await prepareVocoderFineTuneSet(settings.home, settings.log);
  return prepareVocoderTraining({ ...settings, init, fineTune: set.dir });
}
