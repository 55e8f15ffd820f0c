// `timbre voice add NAME FILES… [--force]` and `timbre voice remove NAME`: manage the user's own
// voices, made from their recordings (validated, normalised, stored under TIMBRE_HOME/voices).

import { openCorpusDataset } from '../../corpus/dataset.js';
import { splitHeldOut, voiceMels } from '../../corpus/userVoices.js';
import { addVoice, removeVoice } from '../../engine/voices.js';
import { formatVoiceReach, loadReachLanes, measureVoiceReach } from '../../eval/reach.js';
import { describeBackend, initBackend } from '../../nn/backend.js';
import { defaultSpeakerEncoderPath, loadSpeakerEncoder } from '../../models/speakerEncoder/convert.js';
import { UsageError, flagOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { lazyProgressBar } from '../progress.js';

/**
 * Prints how well each installed model reaches user voice `voice` (`formatVoiceReach`): its own VAE and CycleGAN-VC
 * pair, and DiffVC and CycleDiffusion by reference, scored on the held-out end of its recordings.
 */
export async function printVoiceReach(home: string | undefined, voice: string, io: CliIo): Promise<void> {
  const where = home !== undefined ? { home } : {};
  const { train, heldOut } = splitHeldOut(await voiceMels(voice, where));
  if (heldOut.length === 0) {
    io.out(`voice ${voice} has under 15 s of speech, so none is held out of training: its reach cannot be scored\n`);
    return;
  }
  const { encoder, judge } = await loadSpeakerEncoder(defaultSpeakerEncoderPath(home));
  const lanes = await loadReachLanes({ home, voice, recordings: train, encoder, log: (line) => io.out(`${line}\n`) });
  try {
    if (lanes.length === 0) {
      io.out(`no installed model converts to ${voice} yet (timbre train vae --add-voice ${voice}, or DiffVC by reference)\n`);
      return;
    }
    const progress = lazyProgressBar('converting', io);
    const report = await measureVoiceReach({
      voice,
      heldOut,
      recordings: train,
      lanes,
      encoder,
      judge,
      train: openCorpusDataset({ ...where, split: 'train' }),
      test: openCorpusDataset({ ...where, split: 'test' }),
      onProgress: progress.onProgress,
    });
    progress.finish();
    io.out(`${formatVoiceReach(report)}\n`);
  } finally {
    for (const lane of lanes) lane.converter.dispose();
    encoder.dispose();
  }
}

export const command: CliCommand = {
  name: 'voice',
  summary: 'add or remove a user voice made from your recordings; see how well each model reaches it',
  usage: [
    'usage: timbre voice add NAME FILE.wav… [--force] [--home DIR]',
    '       timbre voice remove NAME [--home DIR]',
    '       timbre voice reach NAME [--home DIR]',
    '  add      checks the recordings (WAV, ≥ 10 s of speech in all, not clipped, not too quiet, mostly speech),',
    '           resamples to 22 050 Hz, trims silence, normalises loudness and stores them as voice NAME',
    '  NAME     letters, digits, "-" and "_" (not a corpus voice id)',
    '  --force  replace an existing voice NAME',
    '  reach    how well each installed model reaches voice NAME: corpus test sentences converted to it by the VAE',
    '           (after timbre train vae --add-voice NAME), its CycleGAN-VC pair (timbre train cyclegan --to NAME), and',
    '           DiffVC and CycleDiffusion by reference; judged on the last 4 s of its recordings, which no model trains on',
  ].join('\n'),
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'add') {
      const args = parseCommandArgs('voice add', rest, { force: { type: 'boolean' }, home: { type: 'string' } });
      if (args.positionals.length < 2) throw new UsageError(`timbre voice add: missing ${args.positionals.length === 0 ? 'NAME and ' : ''}FILE.wav`);
      const [name, ...files] = args.positionals;
      const voice = await addVoice(name!, files, { force: flagOption(args, 'force'), home: stringOption(args, 'home') });
      io.out(`added voice ${voice.name}: ${voice.clips.length} clip${voice.clips.length === 1 ? '' : 's'}, ${voice.totalSeconds.toFixed(1)} s of speech at ${voice.sampleRateHz} Hz\n`);
      return 0;
    }
    if (sub === 'remove') {
      const args = parseCommandArgs('voice remove', rest, { home: { type: 'string' } });
      const [name] = requirePositionals('voice remove', args, ['NAME']);
      await removeVoice(name!, { home: stringOption(args, 'home') });
      io.out(`removed voice ${name}\n`);
      return 0;
    }
    if (sub === 'reach') {
      const args = parseCommandArgs('voice reach', rest, { home: { type: 'string' } });
      const [name] = requirePositionals('voice reach', args, ['NAME']);
      io.out(`${describeBackend(await initBackend())}\n`);
      await printVoiceReach(stringOption(args, 'home'), name!, io);
      return 0;
    }
    throw new UsageError(sub === undefined ? 'timbre voice: missing sub-command (add, remove or reach)' : `timbre voice: unknown sub-command "${sub}" (add, remove or reach)`);
  },
};
