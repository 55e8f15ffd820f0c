// `timbre resynth IN.wav -o OUT.wav`: the front end and back end alone (no model), to hear the vocoder.

import { RESYNTH_VOCODERS, resynthesizeFile } from '../../engine/audioTools.js';
import { UsageError, choiceOption, flagOption, numberOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand } from '../command.js';
import { describeBackend, initBackend } from '../../nn/backend.js';

export const command: CliCommand = {
  name: 'resynth',
  summary: 'WAV → log-mel → vocoder → WAV round trip',
  usage: [
    'usage: timbre resynth IN.wav -o OUT.wav [--vocoder griffin-lim|neural] [--iterations N] [--force] [--home DIR]',
    '  -o, --output FILE   where to write the 22 050 Hz WAV (refuses to overwrite without --force)',
    '  --vocoder NAME      neural (default when installed: TIMBRE_HOME/models/vocoder, else the shipped one) or griffin-lim (32 it.)',
    '  --iterations N      Griffin-Lim iterations, 1–1000 (default 32)',
    '  --force             overwrite OUT.wav if it exists',
  ].join('\n'),
  async run(argv, io) {
    const args = parseCommandArgs('resynth', argv, {
      output: { type: 'string', short: 'o' },
      vocoder: { type: 'string' },
      iterations: { type: 'string' },
      force: { type: 'boolean' },
      home: { type: 'string' },
    });
    const [input] = requirePositionals('resynth', args, ['IN.wav']);
    const output = stringOption(args, 'output');
    if (output === undefined) throw new UsageError('timbre resynth: missing -o OUT.wav');
    const vocoder = choiceOption(args, 'vocoder', RESYNTH_VOCODERS);
    if (vocoder === 'neural') io.out(`${describeBackend(await initBackend())}\n`);
    const home = stringOption(args, 'home');
    const result = await resynthesizeFile(input!, output, {
      vocoder,
      ...(home !== undefined ? { home } : {}),
      iterations: numberOption(args, 'iterations', { min: 1, max: 1000, integer: true }),
      overwrite: flagOption(args, 'force'),
    });
    for (const warning of result.warnings) io.err(`warning: ${warning}\n`);
    io.out(
      `wrote ${result.outputPath}: ${result.durationSeconds.toFixed(3)} s at 22050 Hz, ${result.frames} frames, ` +
        `${result.processingSeconds.toFixed(2)} s (real-time factor ${result.realTimeFactor.toFixed(3)})\n`,
    );
    return 0;
  },
};
