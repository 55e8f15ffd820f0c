// `timbre voice add NAME FILES… [--force]` and `timbre voice remove NAME`: manage the user's own
// voices, made from their recordings (validated, normalised, stored under TIMBRE_HOME/voices).

import { addVoice, removeVoice } from '../../engine/voices.js';
import { UsageError, flagOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'voice',
  summary: 'add or remove a user voice made from your recordings',
  usage: [
    'usage: timbre voice add NAME FILE.wav… [--force] [--home DIR]',
    '       timbre voice remove NAME [--home DIR]',
    '  add      checks the recordings (WAV, ≥ 10 s of speech in all, not clipped, not too quiet, mostly speech),',
    '           resamples to 22 050 Hz, trims silence, normalises loudness and stores them as voice NAME',
    '  NAME     letters, digits, "-" and "_" (not a corpus voice id)',
    '  --force  replace an existing voice NAME',
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
    throw new UsageError(sub === undefined ? 'timbre voice: missing sub-command (add or remove)' : `timbre voice: unknown sub-command "${sub}" (add or remove)`);
  },
};
