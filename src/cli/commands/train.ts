// `timbre train <model>`: a training run of the engine (its planner checks the options, picks folders and resumes)
// — one progress line per log interval, a checkpoint every N steps, resume after a crash, Ctrl-C = checkpoint and
// stop — then its model file. `timbre train vae --add-voice NAME` fine-tunes a VAE with one user voice (models/vae-NAME).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeBackend, initBackend } from '../../nn/backend.js';
import { formatDuration } from '../../nn/trainRun.js';
import { createEngine } from '../../engine/engine.js';
import { TRAINERS } from '../../engine/trainers.js';
import { CORPUS_VOICES } from '../../corpus/voices.js';
import { UsageError, flagOption, numberOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { printVoiceReach } from './voice.js';

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
  `                       default ${String(TRAINERS.vocoder.converterFineTuneSteps)} steps, run folder vocoder-fine-tune; --force to replace the vocoder file`,
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
  if (flagOption(args, 'fresh') && flagOption(args, 'resume')) throw new UsageError('timbre train: --fresh and --resume contradict each other');
  const home = stringOption(args, 'home');
  const intervals = { min: 0, max: 1_000_000, integer: true };
  const out = stringOption(args, 'out');
  const checkpointDir = stringOption(args, 'checkpoint-dir');
  const to = stringOption(args, 'to');
  const from = stringOption(args, 'from');
  const addVoice = stringOption(args, 'add-voice');
  const log = (line: string): void => io.out(`${line}\n`);
  const options = {
    trainer: name,
    to,
    from,
    addVoice,
    base: stringOption(args, 'base'),
    init: stringOption(args, 'init'),
    fineTune: flagOption(args, 'fine-tune'),
    steps: numberOption(args, 'steps', { min: 1, max: 10_000_000, integer: true }),
    batchSize: numberOption(args, 'batch-size', { min: 1, max: 4096, integer: true }),
    seed: numberOption(args, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }),
    workers: numberOption(args, 'workers', { min: 1, max: 2, integer: true }),
    fresh: flagOption(args, 'fresh'),
    overwrite: flagOption(args, 'force'),
    outPath: out !== undefined ? resolve(out) : undefined,
    runDir: checkpointDir !== undefined ? resolve(checkpointDir) : undefined,
    config: readConfigFile(stringOption(args, 'config')),
    logEvery: numberOption(args, 'log-every', intervals),
    validateEvery: numberOption(args, 'validate-every', intervals),
    checkpointEvery: numberOption(args, 'checkpoint-every', intervals),
    log,
    command: `timbre ${['train', ...argv].join(' ')}`,
    naming: 'flags' as const,
  };

  io.out(`${describeBackend(await initBackend())}\n`);
  // The engine's planner and trainer host, without lane workers or the speaker judge (a run needs neither).
  const engine = createEngine({ ...(home !== undefined ? { home } : {}), laneWorkers: 0, speakerSimilarity: false });
  const started = performance.now();
  try {
    const job = await engine.trainRun(options);
    const onSignal = (): void => {
      io.err('\nstopping after this step and writing a checkpoint (Ctrl-C again to abort at once) …\n');
      job.cancel();
    };
    process.once('SIGINT', onSignal);
    let outcome;
    try {
      outcome = await job.finished;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
    if (outcome.kind === 'cancelled') {
      const { step, totalSteps } = outcome.cancelled;
      log(`cancelled at step ${step}/${totalSteps}; checkpoint saved; run the same command to resume`);
      return 130;
    }
    const { done } = outcome;
    log(`trained ${done.steps} steps (this session ${formatDuration(done.seconds)})`);
    for (const line of done.notes) log(line);
    log(`wrote ${done.modelPath} (${formatDuration((performance.now() - started) / 1000)} in all this session)`);
    // A model of a user voice, where the voice's lanes are looked for: say how well every model now reaches the voice.
    const userVoice = addVoice ?? (name === 'cyclegan' ? userVoiceTarget(to, from) : undefined);
    if (userVoice !== undefined && done.modelId.startsWith('user/')) {
      try {
        await printVoiceReach(home, userVoice, io);
      } catch (err) {
        log(`could not score how the models reach ${userVoice}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    return 0;
  } finally {
    await engine.destroy();
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
