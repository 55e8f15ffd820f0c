// `timbre voice add NAME FILES… [--force]` and `timbre voice remove NAME`: manage the user's own
// voices, made from their recordings (validated, normalised, stored under TIMBRE_HOME/voices).

import { addVoice, removeVoice } from '../../engine/voices.js';
import { formatVoiceReach, measureUserVoiceReach } from '../../eval/reach.js';
import { describeBackend, initBackend } from '../../nn/backend.js';
import { UsageError, flagOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { lazyProgressBar } from '../progress.js';

/**
 * Prints how well each installed model reaches user voice `voice` (`formatVoiceReach`): its own VAE and CycleGAN-VC
 * pair, and DiffVC and CycleDiffusion by reference, scored on the held-out end of its recordings.
 */
export async function printVoiceReach(home: string | undefined, voice: string, io: CliIo): Promise<void> {
  const progress = lazyProgressBar('converting', io);
  const report = await measureUserVoiceReach({ home, voice, log: (line) => io.out(`${line}\n`), onProgress: progress.onProgress });
  progress.finish();
  io.out(`${'unscorable' in report ? report.unscorable : formatVoiceReach(report)}\n`);
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
