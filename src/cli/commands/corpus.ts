// `timbre corpus build|real|info`: render the multi-speaker parallel corpus from the installed synthesizers
// into TIMBRE_HOME/corpus, import real speech from Debian packages into TIMBRE_HOME/corpus-real, or describe both.

import { CorpusNotBuiltError } from '../../corpus/errors.js';
import {
  buildCorpusCache,
  describeCorpus,
  describeRealSpeech,
  importRealSpeechCorpus,
  type CorpusBuildProgress,
  type CorpusSummary,
  type RealImportProgress,
  type RealSpeechSummary,
} from '../../engine/corpus.js';
import { UsageError, flagOption, numberOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { createProgressBar, formatDuration, type ProgressBar } from '../progress.js';

const PHASE_LABELS: Record<CorpusBuildProgress['phase'], string> = {
  verify: 'verifying',
  render: 'rendering',
  average: 'averaging',
  stats: 'statistics',
};

const REAL_PHASE_LABELS: Record<RealImportProgress['phase'], string> = {
  scan: 'reading',
  verify: 'verifying',
  import: 'importing',
  stats: 'statistics',
};

const USAGE = [
  'usage: timbre corpus build [--voices a,b,…] [--sentences N] [--jobs N] [--home DIR]',
  '       timbre corpus real [--sources a,b,…] [--home DIR]',
  '       timbre corpus info [--home DIR] [--json]',
  '  build          render every voice × sentence, cache WAV + log-mel + F0 + average-voice targets;',
  '                 resumes an interrupted build, does nothing when up to date',
  '  --voices LIST  comma-separated voice ids (default: every installed corpus voice; "timbre voices" lists them)',
  '  --sentences N  first N Harvard sentences, 1–720 (default 720)',
  '  --jobs N       synthesizer processes at once, 1–16 (default 2)',
  '  real           import the recordings of real people that Debian packages ship (ktuberling-data,',
  '                 klettres-data, asterisk-core-sounds-en-wav) into DIR/corpus-real, processed like the corpus;',
  '                 resumes an interrupted import, does nothing when up to date',
  '  --sources LIST comma-separated: ktuberling, klettres, asterisk-en (default: every installed one)',
  '  --home DIR     data folder (default $TIMBRE_HOME or the OS app-data folder); the cache is DIR/corpus',
].join('\n');

/** Feeds engine progress events into one progress bar per phase. */
function progressPrinter<P extends string>(
  io: CliIo,
  labels: Record<P, string>,
): { onProgress: (event: { phase: P; done: number; total: number; detail?: string }) => void; close: () => void } {
  let bar: ProgressBar | undefined;
  let phase: P | undefined;
  return {
    onProgress(event) {
      if (event.phase !== phase) {
        bar?.finish();
        bar = undefined;
        phase = event.phase;
        // Phases with nothing to do (all verified, nothing to render) print no bar.
        if (event.total === 0) return;
        bar = createProgressBar({ total: event.total, label: labels[event.phase].padEnd(10), write: io.err, interactive: io.interactive });
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
  const printer = progressPrinter(io, PHASE_LABELS);
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

async function real(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('corpus real', argv, { sources: { type: 'string' }, home: { type: 'string' } });
  if (args.positionals.length > 0) throw new UsageError(`timbre corpus real: unexpected argument "${args.positionals[0]}"`);
  const sourcesText = stringOption(args, 'sources');
  const sources = sourcesText === undefined ? undefined : sourcesText.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (sources !== undefined && sources.length === 0) throw new UsageError('option --sources: give at least one source id');
  const controller = new AbortController();
  const onSignal = (): void => {
    io.err('\nstopping after the current file (run the same command again to resume)…\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  const printer = progressPrinter(io, REAL_PHASE_LABELS);
  try {
    const result = await importRealSpeechCorpus({
      home: stringOption(args, 'home'),
      sources,
      onProgress: printer.onProgress,
      onMessage: (text) => io.err(`${/^warning:/.test(text) ? '' : 'note: '}${text}\n`),
      signal: controller.signal,
    });
    printer.close();
    const s = result.splitCounts;
    const lines = [
      result.nothingToDo ? `nothing to do: the real-speech set at ${result.root} is up to date (all ${result.clips} clips verified)` : `real speech: ${result.root}`,
      ...result.sources.map((src) => `source:     ${src.aptPackage} ${src.packageVersion ?? '(version unknown)'}: ${src.clips} clips`),
      `speakers:   ${result.speakers} (held out: ${result.heldOutSpeakers.join(', ') || 'none'})`,
      `audio:      ${(result.audioSeconds / 60).toFixed(1)} min in ${result.clips} clips`,
      `splits:     train ${s.train}, validation ${s.validation}, test ${s.test}, held out ${s.heldout}`,
      `this run:   imported ${result.imported}${result.repaired > 0 ? ` (${result.repaired} repaired)` : ''}, skipped ${result.skipped.length} listed files, took ${formatDuration(result.elapsedSeconds)}`,
      `manifest:   sha256 ${result.manifestHash}`,
    ];
    for (const m of result.missing) lines.push(`missing:    ${m.source} — install with: sudo apt-get install ${m.aptPackage}`);
    io.out(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    printer.close();
    process.removeListener('SIGINT', onSignal);
  }
}

function syntheticLines(summary: CorpusSummary): string[] {
  const s = summary.splitCounts;
  return [
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
}

function realLines(summary: RealSpeechSummary): string[] {
  const s = summary.splitCounts;
  return [
    `real speech: ${summary.root}${summary.complete ? '' : ' (incomplete: run timbre corpus real to finish)'}`,
    ...summary.sources.map((src) => `  source    ${src.aptPackage} ${src.packageVersion ?? ''} (${src.license}): ${src.clips} clips`),
    `  audio     ${(summary.audioSeconds / 60).toFixed(1)} min in ${summary.clips} clips, ${summary.speakers.length} speakers; ${summary.skippedFiles} listed files skipped`,
    `  splits    train ${s.train}, validation ${s.validation}, test ${s.test}, held out ${s.heldout} (languages ${summary.heldOutLanguages.join(', ')})`,
    '  speakers:',
    ...summary.speakers.map(
      (v) =>
        `    ${v.id.padEnd(24)} ${String(v.clips).padStart(4)} clips ${v.seconds.toFixed(0).padStart(5)} s  F0 ${v.f0MedianHz.toFixed(0).padStart(3)} Hz` +
        (v.heldOut ? '  held out' : '') +
        (v.sourceSampleRatesHz[v.sourceSampleRatesHz.length - 1]! <= 8000 ? '  8 kHz source' : '') +
        (v.maybeSeveralSpeakers ? '  may hold several speakers' : ''),
    ),
  ];
}

function info(argv: readonly string[], io: CliIo): number {
  const args = parseCommandArgs('corpus info', argv, { home: { type: 'string' }, json: { type: 'boolean' } });
  if (args.positionals.length > 0) throw new UsageError(`timbre corpus info: unexpected argument "${args.positionals[0]}"`);
  const home = stringOption(args, 'home');
  const realSpeech = describeRealSpeech(home);
  let summary: CorpusSummary | undefined;
  try {
    summary = describeCorpus(home);
  } catch (error) {
    // Either set alone is worth describing; with neither, the corpus error says what to run.
    if (!(error instanceof CorpusNotBuiltError) || realSpeech === null) throw error;
  }
  if (flagOption(args, 'json')) {
    io.out(`${JSON.stringify({ ...(summary ?? {}), ...(realSpeech === null ? {} : { realSpeech }) }, null, 2)}\n`);
    return 0;
  }
  const lines = [...(summary === undefined ? [] : syntheticLines(summary)), ...(realSpeech === null ? [] : realLines(realSpeech))];
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
    if (sub === 'real') return real(rest, io);
    if (sub === 'info') return info(rest, io);
    throw new UsageError(sub === undefined ? 'timbre corpus: missing sub-command (build, real or info)' : `timbre corpus: unknown sub-command "${sub}" (build, real or info)`);
  },
};
