// `timbre compare IN.wav --to VOICE -o DIR`: every available model's conversion of one input, written to
// DIR with the source, metrics.json and a self-contained report.html (waveforms, spectrograms, metrics).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConversionResult, ModelSelection } from '../../engine/api.js';
import { createEngine, type Engine } from '../../engine/engine.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { UsageError, choiceOption, flagOption, numberOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { readZip } from '../../engine/zip.js';

const fmt = (value: number | null | undefined, digits: number, unit = ''): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}${unit}`;

/** Runs the command on `engine` (injected by tests; the CLI makes a fresh one). */
export async function runCompare(argv: readonly string[], io: CliIo, engine: Engine): Promise<number> {
  const args = parseCommandArgs('compare', argv, {
    to: { type: 'string' },
    output: { type: 'string', short: 'o' },
    models: { type: 'string' },
    iterations: { type: 'string' },
    vocoder: { type: 'string' },
    force: { type: 'boolean' },
  });
  const [input] = requirePositionals('compare', args, ['IN.wav']);
  const voice = stringOption(args, 'to');
  if (voice === undefined) throw new UsageError('timbre compare: missing --to VOICE (list voices with "timbre voices")');
  const outputDir = stringOption(args, 'output');
  if (outputDir === undefined) throw new UsageError('timbre compare: missing -o DIR');
  const modelList = stringOption(args, 'models');
  const models: ModelSelection[] | undefined = modelList?.split(',').map((m) => m.trim()).filter(Boolean).map((modelId) => ({ modelId }));
  if (models !== undefined && models.length === 0) throw new UsageError('timbre compare: --models needs at least one model id');
  const iterations = numberOption(args, 'iterations', { min: 1, max: 200, integer: true });
  const overwrite = flagOption(args, 'force');
  const vocoder = choiceOption(args, 'vocoder', ['griffin-lim', 'neural'] as const);
  if (vocoder === 'neural' && iterations !== undefined) throw new UsageError('timbre compare: --iterations sets Griffin-Lim; the neural vocoder takes none');

  const request = {
    input: { kind: 'path' as const, path: input! },
    targetVoiceId: voice,
    ...(iterations === undefined ? {} : { griffinLimIterations: iterations }),
    ...(vocoder === undefined ? {} : { vocoder }),
  };
  const job = models === undefined ? await engine.compare(request) : await engine.convert({ ...request, models });
  let lastLine = '';
  job.on('progress', (p) => {
    const line = `${p.modelId ?? 'source'}: ${p.stage}`;
    if (line === lastLine) return;
    lastLine = line;
    io.err(`[${(p.overallFraction * 100).toFixed(0).padStart(3)}%] ${line}\n`);
  });
  job.on('laneError', (f) => io.err(`warning: ${f.modelId} failed: ${f.error.message}\n`));
  const result: ConversionResult = await job.finished;
  for (const warning of result.source.warnings) io.err(`warning: ${warning}\n`);

  await mkdir(outputDir, { recursive: true });
  const zip = await engine.exportLanes({ jobId: job.id, format: 'zip', includeSource: true });
  const files = readZip(zip.bytes);
  const report = await engine.exportLanes({ jobId: job.id, format: 'report' });
  files.set('report.html', report.bytes);
  for (const [name, bytes] of files) await writeFileAtomic(join(outputDir, name), bytes, { overwrite });

  const rows = result.lanes.map((l) => `  ${l.label.padEnd(36)} ${fmt(l.processingSeconds, 2, ' s').padStart(8)}  RTF ${fmt(l.realTimeFactor, 3).padStart(6)}  F0 ${fmt(l.f0MedianHz, 0, ' Hz').padStart(7)}`);
  io.out(
    [
      `compared ${result.lanes.length} model${result.lanes.length === 1 ? '' : 's'} → ${voice} on ${input} (${fmt(result.source.durationSeconds, 2, ' s')}, source F0 ${fmt(result.source.f0MedianHz, 0, ' Hz')}):`,
      ...rows,
      ...result.failures.map((f) => `  ${f.modelId.padEnd(36)} failed: ${f.error.message}`),
      `wrote ${files.size} files to ${outputDir} (open report.html)`,
    ].join('\n') + '\n',
  );
  return result.failures.length > 0 && result.lanes.length === 0 ? 1 : 0;
}

export const command: CliCommand = {
  name: 'compare',
  summary: 'convert one WAV with every available model and write report.html',
  usage: [
    'usage: timbre compare IN.wav --to VOICE -o DIR [--models ID,ID] [--iterations N] [--vocoder griffin-lim|neural] [--force]',
    '  --to VOICE          target voice id (see "timbre voices")',
    '  -o, --output DIR    folder for the WAVs, metrics.json and report.html (created if missing)',
    '  --models ID,ID      models to run (default: every available model that can produce VOICE)',
    '  --iterations N      Griffin-Lim iterations, 1–200 (default 32)',
    '  --vocoder NAME      neural (default when installed: TIMBRE_HOME/models/vocoder, else the shipped one) or griffin-lim (32 it.)',
    '  --force             overwrite files already in DIR',
  ].join('\n'),
  async run(argv, io) {
    const engine = createEngine();
    try {
      return await runCompare(argv, io, engine);
    } finally {
      await engine.destroy();
    }
  },
};
