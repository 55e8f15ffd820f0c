// `timbre`: the command-line face of the engine. Exit codes: 0 success, 2 bad input or usage
// (stderr line starting "error:"), 1 internal failure.

import { TimbreInputError } from '../audio/errors.js';
import type { CliCommand, CliIo } from './command.js';

/** Sub-commands, loaded on demand so `timbre info` never pays for TensorFlow start-up. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  info: { summary: 'describe a WAV file: duration, rate, levels, F0', load: async () => (await import('./commands/info.js')).command },
  resynth: { summary: 'WAV → log-mel → vocoder → WAV round trip', load: async () => (await import('./commands/resynth.js')).command },
  corpus: { summary: 'build or describe the multi-speaker training corpus', load: async () => (await import('./commands/corpus.js')).command },
  voices: { summary: 'list corpus and user voices with their duration', load: async () => (await import('./commands/voices.js')).command },
  voice: { summary: 'add or remove a user voice made from your recordings', load: async () => (await import('./commands/voice.js')).command },
  train: { summary: 'train a model on the corpus (resumable; Ctrl-C checkpoints)', load: async () => (await import('./commands/train.js')).command },
  eval: { summary: 'evaluate conversion models and baselines on the corpus test split', load: async () => (await import('./commands/eval.js')).command },
  compare: { summary: 'convert one WAV with every available model and write report.html', load: async () => (await import('./commands/compare.js')).command },
  web: { summary: 'serve the app on 127.0.0.1 (web mode) and print its URL', load: async () => (await import('./commands/web.js')).command },
  convert: { summary: 'convert a recording to another voice with a trained model', load: async () => (await import('./commands/convert.js')).command },
  // more commands are registered here, one line each
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return ['usage: timbre <command> [options]', '', 'commands:', ...lines, '', 'Run "timbre <command> --help" for its options.'].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out('timbre 0.1.0\n');
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.err(`error: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  try {
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.usage}\n`);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof TimbreInputError) {
      io.err(`error: ${error.message}\n`);
      return 2;
    }
    const detail = error instanceof Error ? (process.env.TIMBRE_DEBUG ? error.stack ?? error.message : error.message) : String(error);
    io.err(`internal error: ${detail}\n(set TIMBRE_DEBUG=1 for a stack trace)\n`);
    return 1;
  }
}
