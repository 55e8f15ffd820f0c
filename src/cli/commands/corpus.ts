// `timbre corpus build|info`: render the multi-speaker parallel corpus from the installed
// synthesizers into TIMBRE_HOME/corpus (resumable), or describe what is built.

import { buildCorpusCache, describeCorpus, type CorpusBuildProgress } from '../../engine/corpus.js';
import { UsageError, flagOption, numberOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { createProgressBar, formatDuration, type ProgressBar } from '../progress.js';

const PHASE_LABELS: Record<CorpusBuildProgress['phase'], string> = {
  verify: 'verifying',
  render: 'rendering',
  average: 'averaging',
  stats: 'statistics',
};

const USAGE = [
  'usage: timbre corpus build [--voices a,b,…] [--sentences N] [--jobs N] [--home DIR]',
  '       timbre corpus info [--home DIR] [--json]',
  '  build          render every voice × sentence, cache WAV + log-mel + F0 + average-voice targets;',
  '                 resumes an interrupted build, does nothing when up to date',
  '  --voices LIST  comma-separated voice ids (default: every installed corpus voice; "timbre voices" lists them)',
  '  --sentences N  first N Harvard sentences, 1–720 (default 720)',
  '  --jobs N       synthesizer processes at once, 1–16 (default 2)',
  '  --home DIR     data folder (default $TIMBRE_HOME or the OS app-data folder); the cache is DIR/corpus',
].join('\n');

/** Feeds engine progress events into one progress bar per phase. */
function progressPrinter(io: CliIo): { onProgress: (event: CorpusBuildProgress) => void; close: () => void } {
  let bar: ProgressBar | undefined;
  let phase: CorpusBuildProgress['phase'] | undefined;
  return {
    onProgress(event) {
      if (event.phase !== phase) {
        bar?.finish();
        bar = undefined;
        phase = event.phase;
        // Phases with nothing to do (all verified, nothing to render) print no bar.
        if (event.total === 0) return;
        bar = createProgressBar({ total: event.total, label: PHASE_LABELS[event.phase].padEnd(10), write: io.err, interactive: io.interactive });
      }
      bar?.update(event.done, event.detail);
    },
    close() {
      bar?.finish();
      bar = undefined;
    },
  };
}

async function build(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('corpus build', argv, {
    voices: { type: 'string' },
    sentences: { type: 'string' },
    jobs: { type: 'string' },
    home: { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`timbre corpus build: unexpected argument "${args.positionals[0]}"`);
  const voicesText = stringOption(args, 'voices');
  const voices = voicesText === undefined ? undefined : voicesText.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (voices !== undefined && voices.length === 0) throw new UsageError('option --voices: give at least one voice id');
  const controller = new AbortController();
  const onSignal = (): void => {
    io.err('\nstopping after the current utterances (run the same command again to resume)…\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  const printer = progressPrinter(io);
  try {
    const result = await buildCorpusCache({
      home: stringOption(args, 'home'),
      voices,
      sentences: numberOption(args, 'sentences', { min: 1, max: 720, integer: true }),
      jobs: numberOption(args, 'jobs', { min: 1, max: 16, integer: true }),
      onProgress: printer.onProgress,
      onMessage: (text) => io.err(`note: ${text}\n`),
      signal: controller.signal,
    });
    printer.close();
    const splits = result.splitCounts;
    const lines = [
      result.nothingToDo ? `nothing to do: the corpus at ${result.corpusRoot} is up to date (all ${result.utterances} utterances verified)` : `corpus: ${result.corpusRoot}`,
      `voices:     ${result.voices.length} (${result.voices.join(', ')})`,
      `audio:      ${result.audioHours.toFixed(2)} h in ${result.utterances} utterances`,
      `sentences:  ${result.sentences} (train ${splits.train}, validation ${splits.validation}, test ${splits.test})`,
      `this run:   rendered ${result.rendered}${result.repaired > 0 ? ` (${result.repaired} repaired)` : ''}, average-voice targets ${result.averagesComputed}, took ${formatDuration(result.elapsedSeconds)}`,
      `manifest:   sha256 ${result.manifestHash}`,
    ];
    for (const m of result.missing) lines.push(`missing:    ${m.voice} — ${m.reason}; install with: sudo apt-get install ${m.aptPackage}`);
    io.out(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    printer.close();
    process.removeListener('SIGINT', onSignal);
  }
}

function info(argv: readonly string[], io: CliIo): number {
  const args = parseCommandArgs('corpus info', argv, { home: { type: 'string' }, json: { type: 'boolean' } });
  if (args.positionals.length > 0) throw new UsageError(`timbre corpus info: unexpected argument "${args.positionals[0]}"`);
  const summary = describeCorpus(stringOption(args, 'home'));
  if (flagOption(args, 'json')) {
    io.out(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  const s = summary.splitCounts;
  const lines = [
    `corpus:     ${summary.corpusRoot}`,
    `audio:      ${summary.audioHours.toFixed(2)} h in ${summary.utterances} utterances`,
    `sentences:  ${summary.sentences} (train ${s.train}, validation ${s.validation}, test ${s.test})`,
    'voices:',
    ...summary.voices.map(
      (v) =>
        `  ${String(v.speakerIndex).padStart(2)}  ${v.id.padEnd(14)} ${String(v.utterances).padStart(4)} utterances  ${(v.hours * 60).toFixed(1).padStart(5)} min` +
        (v.sameSpeakerAs.length > 0 ? `  same speaker as ${v.sameSpeakerAs.join(', ')}` : ''),
    ),
  ];
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

export const command: CliCommand = {
  name: 'corpus',
  summary: 'build or describe the multi-speaker training corpus',
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'build') return build(rest, io);
    if (sub === 'info') return info(rest, io);
    throw new UsageError(sub === undefined ? 'timbre corpus: missing sub-command (build or info)' : `timbre corpus: unknown sub-command "${sub}" (build or info)`);
  },
};
