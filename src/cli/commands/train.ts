// `timbre train <model>`: trains one model family on the corpus with the shared Trainer — one progress line
// per log interval, a checkpoint every N steps, resume after a crash, Ctrl-C = checkpoint and stop — then writes its model file.
// `timbre train vae --add-voice NAME` instead fine-tunes a VAE with one user voice (models/vae-NAME).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describeBackend, initBackend } from '../../nn/backend.js';
import { attachProgressPrinter, formatDuration } from '../../nn/trainRun.js';
import { readModelFile } from '../../nn/modelFile.js';
import { timbrePaths } from '../../io/paths.js';
import { TRAINERS, trainerEntry, type TrainerDefaults, type TrainRunSettings } from '../../engine/trainers.js';
import { listUserVoices } from '../../corpus/userVoices.js';
import { CORPUS_VOICES } from '../../corpus/voices.js';
import { UsageError, flagOption, numberOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { printVoiceReach } from './voice.js';
import { VOCODER_FINE_TUNE_STEPS } from '../../models/vocoder/fineTune.js';

const USAGE = [
  'usage: timbre train <model> [--steps N] [--batch-size N] [--seed N] [--out FILE] [--force]',
  '                            [--fresh] [--workers 1|2] [--checkpoint-dir DIR] [--config FILE.json] [--home DIR]',
  '       timbre train vae --add-voice NAME [--base FILE] [--steps N] [--batch-size N] [--out FILE] [--force] [--home DIR]',
  '       timbre train vocoder --fine-tune [--init FILE] [--steps N] [--workers 1|2] [--force] [--home DIR]',
  '  models:',
  ...Object.entries(TRAINERS).map(([name, e]) => `    ${name.padEnd(18)}${e.summary}`),
  '  --steps N            optimisation steps (default per model; speaker-encoder 600)',
  '  --batch-size N       items per step (default per model; speaker-encoder 32)',
  '  --seed N             seed of initialisation and data order (default 0)',
  '  --out FILE           model file to write (default TIMBRE_HOME/models/<model>/model.timbre); refuses to overwrite without --force',
  '  --fresh              ignore and delete an existing checkpoint (default: resume from it)',
  '  --workers 1|2        data-parallel worker threads (default 1)',
  '  --checkpoint-dir DIR run folder with checkpoint.timbre and losses.csv (default TIMBRE_HOME/checkpoints/<model>)',
  '  --config FILE.json   model config overrides (a preset naming only what differs)',
  '  --log-every N, --validate-every N, --checkpoint-every N   intervals in steps',
  '  --to VOICE, --from NAME|any   pair of cyclegan (output models/cyclegan-[NAME-]VOICE)',
  '  --add-voice NAME     vae only: add user voice NAME to a trained VAE (a decoder of its own is fine-tuned on the',
  '                       recordings, the other voices stay as they were; output and run folder vae-NAME)',
  '  --base FILE          with --add-voice: the VAE to extend (default TIMBRE_HOME/models/vae/model.timbre if',
  '                       trained, else the shipped VAE)',
  '  --init FILE          warm start, same architecture and corpus, run folder <model>-warm: vae: this VAE model file;',
  '                       cyclegan: the nets of this pair model file or training checkpoint; cyclediffusion: the DiffVC',
  '                       model file to fine-tune (default yours, else the shipped one); vocoder: this vocoder file',
  '  --fine-tune          vocoder only: continue the installed vocoder (or --init) on the installed converters\' outputs',
  `                       of train-split utterances (rendered once into TIMBRE_HOME/checkpoints/vocoder-fine-tune-mels);`,
  `                       default ${VOCODER_FINE_TUNE_STEPS} steps, run folder vocoder-fine-tune; --force to replace the vocoder file`,
  '  Ctrl-C stops after the current step and writes a checkpoint; run the same command again to resume.',
].join('\n');

function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (path === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`option --config: cannot read ${path} as JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`option --config: ${path} must hold a JSON object of config overrides`);
  return parsed as Record<string, unknown>;
}

/** The checked `--add-voice`/`--base` of a run, with the VAE to extend. */
interface AddVoicePlan {
  readonly voice: string;
  readonly base: string;
  readonly defaults: TrainerDefaults;
}

/**
 * Checks `--add-voice NAME [--base FILE]` before anything loads: vae only, NAME an existing user voice, the base an
 * existing VAE file without that voice. Default base as the engine picks it: the user's own VAE, else the shipped one.
 */
async function planAddVoice(model: string, voice: string | undefined, basePath: string | undefined, home: string | undefined): Promise<AddVoicePlan | undefined> {
  if (voice === undefined) {
    if (basePath !== undefined) throw new UsageError('timbre train: --base FILE goes with --add-voice NAME (the VAE that the voice is added to)');
    return undefined;
  }
  if (model !== 'vae') throw new UsageError(`timbre train: --add-voice works only with the vae model (timbre train vae --add-voice ${voice}), not with ${model}`);
  if (CORPUS_VOICES.some((v) => v.id === voice)) throw new UsageError(`timbre train: --add-voice ${voice}: that is a corpus voice, which the VAE trains on already; name a user voice (timbre voice add NAME FILE.wav makes one)`);
  const users = (await listUserVoices(home !== undefined ? { home } : {})).map((v) => v.name);
  if (!users.includes(voice)) {
    throw new UsageError(`timbre train: --add-voice ${voice}: there is no user voice "${voice}"; user voices: ${users.join(', ') || 'none'} (timbre voice add NAME FILE.wav makes one)`);
  }
  const { VAE_KIND } = await import('../../models/vae/model.js');
  const { shippedVaePath } = await import('../../models/vae/convert.js');
  const { ADD_VOICE_DEFAULTS } = await import('../../models/vae/adapt.js');
  let base: string;
  if (basePath !== undefined) {
    base = resolve(basePath);
    if (!existsSync(base)) throw new UsageError(`option --base: ${base} does not exist`);
  } else {
    const own = join(timbrePaths(home).models, 'vae', 'model.timbre');
    base = existsSync(own) ? own : shippedVaePath();
    if (!existsSync(base)) throw new UsageError(`timbre train: there is no VAE to add voice "${voice}" to (looked for ${own} and ${base}); train one first (timbre train vae) or pass --base FILE`);
  }
  let header;
  try {
    ({ header } = await readModelFile(base));
  } catch (err) {
    throw new UsageError(`option --base: ${base} is not a readable model file (${(err as Error).message.split('\n')[0]})`);
  }
  if (header.kind !== VAE_KIND) throw new UsageError(`option --base: ${base} is a "${header.kind}" model file, not a VAE`);
  if (header.speakers.includes(voice)) throw new UsageError(`timbre train: the VAE at ${base} already has voice "${voice}"; pass another --base, or add the recordings under another name`);
  const entry = TRAINERS.vae;
  return { voice, base, defaults: { ...entry.defaults, steps: ADD_VOICE_DEFAULTS.steps, batchSize: ADD_VOICE_DEFAULTS.batchSize, validateEvery: 0 } };
}

/** Announces the checkpoint a run resumes from, or refuses one whose shared settings differ (naming them). */
async function describeCheckpoint(runDir: string, settings: TrainRunSettings): Promise<void> {
  const path = join(runDir, 'checkpoint.timbre');
  if (!existsSync(path)) return;
  const { header } = await readModelFile(path);
  const saved = header.hyperparameters as { batchSize?: number; totalSteps?: number; seed?: number };
  const step = (header.extra as { step?: number } | undefined)?.step ?? 0;
  const differences = [
    saved.totalSteps !== settings.steps ? `--steps ${String(saved.totalSteps)} (now ${settings.steps})` : '',
    saved.batchSize !== settings.batchSize ? `--batch-size ${String(saved.batchSize)} (now ${settings.batchSize})` : '',
    saved.seed !== settings.seed ? `--seed ${String(saved.seed)} (now ${settings.seed})` : '',
  ].filter((d) => d !== '');
  if (differences.length > 0) {
    throw new UsageError(`the checkpoint ${path} (step ${step}) was made with ${differences.join(', ')}; rerun with those settings to resume, or pass --fresh to start over`);
  }
  settings.log(`resuming from ${path} at step ${step}/${settings.steps}`);
}

/** `--init FILE` (VAE, CycleGAN-VC, CycleDiffusion's DiffVC or a vocoder; not with --add-voice): the file a new run starts from, resolved; undefined without it. */
function planWarmStart(model: string, init: string | undefined, addingVoice: boolean): string | undefined {
  if (init === undefined) return undefined;
  if (model !== 'vae' && model !== 'cyclegan' && model !== 'cyclediffusion' && model !== 'vocoder') throw new UsageError(`timbre train: --init warm-starts a vae, cyclegan, cyclediffusion or vocoder run; "${model}" does not take it`);
  if (addingVoice) throw new UsageError('timbre train: --add-voice already starts from --base; leave out --init');
  const path = resolve(init);
  if (!existsSync(path)) throw new UsageError(`option --init: no model file at ${path}`);
  return path;
}

async function train(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('train', argv, {
    steps: { type: 'string' },
    'batch-size': { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
    fresh: { type: 'boolean' },
    resume: { type: 'boolean' },
    workers: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    config: { type: 'string' },
    home: { type: 'string' },
    'log-every': { type: 'string' },
    'validate-every': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    'add-voice': { type: 'string' },
    base: { type: 'string' },
    init: { type: 'string' },
    'fine-tune': { type: 'boolean' },
  });
  const [name, ...extra] = args.positionals;
  if (name === undefined) throw new UsageError(`timbre train: missing <model>; one of ${Object.keys(TRAINERS).join(', ')}`);
  if (extra.length > 0) throw new UsageError(`timbre train: unexpected argument "${extra[0]}"`);
  const entry = trainerEntry(name);
  if (entry === undefined) throw new UsageError(`timbre train: unknown model "${name}"; trainable models are ${Object.keys(TRAINERS).join(', ')}`);
  if (flagOption(args, 'fresh') && flagOption(args, 'resume')) throw new UsageError('timbre train: --fresh and --resume contradict each other');

  const home = stringOption(args, 'home');
  const paths = timbrePaths(home);
  const addVoice = await planAddVoice(name, stringOption(args, 'add-voice'), stringOption(args, 'base'), home);
  if (addVoice !== undefined && (numberOption(args, 'workers', { min: 1, max: 2, integer: true }) ?? 1) > 1) {
    throw new UsageError('timbre train: --add-voice trains one speaker row on one thread; leave out --workers');
  }
  const init = planWarmStart(name, stringOption(args, 'init'), addVoice !== undefined);
  const fineTune = flagOption(args, 'fine-tune');
  if (fineTune && name !== 'vocoder') throw new UsageError(`timbre train: --fine-tune continues the vocoder on the converters' outputs; "${name}" does not take it`);
  const defaults = fineTune ? { ...entry.defaults, steps: VOCODER_FINE_TUNE_STEPS } : (addVoice?.defaults ?? entry.defaults);
  // Same folder as the engine's add-voice jobs, so the app and the CLI resume each other's runs.
  const folder = addVoice !== undefined ? `vae-${addVoice.voice}` : (entry.folder?.(stringOption(args, 'to'), stringOption(args, 'from')) ?? name);
  const outPath = resolve(stringOption(args, 'out') ?? join(paths.models, folder, 'model.timbre'));
  const overwrite = flagOption(args, 'force');
  // Refuse before hours of training, not after.
  if (existsSync(outPath) && !overwrite) throw new UsageError(`${outPath} already exists; pass --force to overwrite it or --out to write elsewhere`);
  // A warm-started run keeps its own run folder, so it never resumes (or clobbers) the run it starts from.
  // (CycleDiffusion always starts from a DiffVC file; its --init names that file, so its folder stays the same.)
  const runDir = resolve(stringOption(args, 'checkpoint-dir') ?? join(paths.checkpoints, fineTune ? `${folder}-fine-tune` : init !== undefined && name !== 'cyclediffusion' ? `${folder}-warm` : folder));
  const fresh = flagOption(args, 'fresh');
  const intervals = { min: 0, max: 1_000_000, integer: true };
  const settings: TrainRunSettings = {
    home,
    steps: numberOption(args, 'steps', { min: 1, max: 10_000_000, integer: true }) ?? defaults.steps,
    batchSize: numberOption(args, 'batch-size', { min: 1, max: 4096, integer: true }) ?? defaults.batchSize,
    seed: numberOption(args, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }) ?? 0,
    workers: numberOption(args, 'workers', { min: 1, max: 2, integer: true }) ?? 1,
    runDir,
    resume: !fresh,
    logEvery: Math.max(1, numberOption(args, 'log-every', intervals) ?? defaults.logEvery),
    validateEvery: numberOption(args, 'validate-every', intervals) ?? defaults.validateEvery,
    checkpointEvery: numberOption(args, 'checkpoint-every', intervals) ?? defaults.checkpointEvery,
    config: readConfigFile(stringOption(args, 'config')),
    to: stringOption(args, 'to'),
    from: stringOption(args, 'from'),
    ...(addVoice !== undefined ? { addVoice: addVoice.voice, base: addVoice.base } : {}),
    ...(init !== undefined ? { init } : {}),
    ...(fineTune ? { fineTuneOnConverters: true } : {}),
    log: (line) => io.out(`${line}\n`),
  };

  io.out(`${describeBackend(await initBackend())}\n`);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(dirname(outPath), { recursive: true });
  if (fresh) {
    await rm(join(runDir, 'checkpoint.timbre'), { force: true });
    await rm(join(runDir, 'losses.csv'), { force: true });
  }
  settings.log(`training ${addVoice !== undefined ? folder : name}: ${settings.steps} steps, batch ${settings.batchSize}, seed ${settings.seed}, ${settings.workers} worker${settings.workers > 1 ? 's' : ''}; run folder ${runDir}`);
  if (!fresh) await describeCheckpoint(runDir, settings);
  const run = await entry.prepare(settings);
  const offPrinter = attachProgressPrinter(run.trainer, settings.log);
  const onSignal = (): void => {
    io.err('\nstopping after this step and writing a checkpoint (Ctrl-C again to abort at once) …\n');
    run.trainer.cancel();
  };
  process.once('SIGINT', onSignal);
  const started = performance.now();
  try {
    const result = await run.trainer.run();
    const seconds = (performance.now() - started) / 1000;
    if (result.cancelled) {
      settings.log(`cancelled at step ${result.step}/${result.totalSteps}; checkpoint in ${runDir}; run the same command to resume`);
      return 130;
    }
    settings.log(`trained ${result.totalSteps} steps (this session ${formatDuration(seconds)})`);
    const lines = await run.finish(result, outPath, { overwrite, command: `timbre ${['train', ...argv].join(' ')}`, trainingSeconds: seconds });
    for (const line of lines) settings.log(line);
    settings.log(`wrote ${outPath} (${formatDuration((performance.now() - started) / 1000)} in all this session)`);
    // A model of a user voice, where the voice's lanes are looked for: say how well every model now reaches the voice.
    const userVoice = addVoice?.voice ?? (name === 'cyclegan' ? userVoiceTarget(stringOption(args, 'to'), stringOption(args, 'from')) : undefined);
    if (userVoice !== undefined && outPath === join(timbrePaths(home).models, folder, 'model.timbre')) {
      try {
        await printVoiceReach(home, userVoice, io);
      } catch (err) {
        settings.log(`could not score how the models reach ${userVoice}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    offPrinter();
    await run.dispose();
  }
}

/** The user voice a cyclegan run targets (`--to NAME` from any corpus voice), or undefined for a corpus-voice target. */
function userVoiceTarget(to: string | undefined, from: string | undefined): string | undefined {
  if (to === undefined || CORPUS_VOICES.some((v) => v.id === to) || (from !== undefined && from !== 'any')) return undefined;
  return to;
}

export const command: CliCommand = {
  name: 'train',
  summary: 'train a model on the corpus (resumable)',
  usage: USAGE,
  run: train,
};
