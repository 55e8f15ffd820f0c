// `timbre voices`: every voice Timbre can convert to: the corpus voices (with built audio)
// and the user's own voices, with total duration.

import { listVoices } from '../../engine/voices.js';
import { UsageError, flagOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'voices',
  summary: 'list corpus and user voices with their duration',
  usage: 'usage: timbre voices [--home DIR] [--json]\n  Lists shipped corpus voices and your own voices ("timbre voice add") with total audio duration.',
  async run(argv, io) {
    const args = parseCommandArgs('voices', argv, { home: { type: 'string' }, json: { type: 'boolean' } });
    if (args.positionals.length > 0) throw new UsageError(`timbre voices: unexpected argument "${args.positionals[0]}"`);
    const voices = await listVoices({ home: stringOption(args, 'home') });
    if (flagOption(args, 'json')) {
      io.out(`${JSON.stringify(voices, null, 2)}\n`);
      return 0;
    }
    const width = Math.max(...voices.map((v) => v.name.length), 4);
    const lines = [`${'name'.padEnd(width)}  kind    duration  clips  description`];
    for (const v of voices) {
      const duration = v.durationSeconds >= 60 ? `${(v.durationSeconds / 60).toFixed(1)} min` : `${v.durationSeconds.toFixed(1)} s`;
      const same = v.sameSpeakerAs.length > 0 ? ` (same speaker as ${v.sameSpeakerAs.join(', ')})` : '';
      lines.push(`${v.name.padEnd(width)}  ${v.kind.padEnd(6)}  ${(v.clips === 0 && v.kind === 'corpus' ? 'not built' : duration).padStart(8)}  ${String(v.clips).padStart(5)}  ${v.description}${same}`);
    }
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
