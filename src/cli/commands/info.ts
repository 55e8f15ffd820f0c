// `timbre info IN.wav`: duration, sample rate, channels, levels and F0 of a WAV file.

import { inspectAudioFile } from '../../engine/audioTools.js';
import { flagOption, parseCommandArgs, requirePositionals } from '../args.js';
import type { CliCommand } from '../command.js';

const formatHz = (hz: number): string => (Number.isFinite(hz) ? `${hz.toFixed(1)} Hz` : 'n/a (no voiced frames)');

export const command: CliCommand = {
  name: 'info',
  summary: 'describe a WAV file',
  usage: 'usage: timbre info IN.wav [--json]\n  Prints duration, sample rate, channels, peak/RMS level and F0 median and range.',
  async run(argv, io) {
    const args = parseCommandArgs('info', argv, { json: { type: 'boolean' } });
    const [path] = requirePositionals('info', args, ['IN.wav']);
    const info = await inspectAudioFile(path!);
    if (flagOption(args, 'json')) {
      io.out(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    for (const warning of info.warnings) io.err(`warning: ${warning}\n`);
    io.out(
      [
        `file:        ${info.path}`,
        `duration:    ${info.durationSeconds.toFixed(3)} s`,
        `sample rate: ${info.sampleRateHz} Hz`,
        `channels:    ${info.channels}`,
        `format:      ${info.bitDepth}-bit ${info.sampleFormat === 'float' ? 'float' : 'PCM'}`,
        `peak level:  ${info.peakDb.toFixed(1)} dBFS`,
        `RMS level:   ${info.rmsDb.toFixed(1)} dBFS`,
        `F0 median:   ${formatHz(info.f0MedianHz)}`,
        `F0 range:    ${Number.isFinite(info.f0MinHz) ? `${info.f0MinHz.toFixed(1)}–${info.f0MaxHz.toFixed(1)} Hz (5th–95th percentile)` : 'n/a'}`,
        `voiced:      ${(info.voicedFraction * 100).toFixed(0)}% of frames`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
