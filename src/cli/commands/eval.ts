// `timbre eval --model NAME`: scores conversion models and the two baselines on the corpus test split
// (MCD, log-F0 error, d-vector and cepstral speaker judges, CER, real-time factor); `--judge` scores the judges themselves.

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openCorpusDataset } from '../../corpus/dataset.js';
import { openRealSpeech, type RealSpeechSet } from '../../corpus/realSpeech.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { describeBackend, initBackend } from '../../nn/backend.js';
import { createPocketsphinx, type SpeechRecognizer } from '../../eval/asr.js';
import { buildCepstralJudge, evaluateCepstralJudge } from '../../eval/cepstralJudge.js';
import { formatEvaluationTable, runEvaluation } from '../../eval/evaluate.js';
import { evaluateRealSpeakerJudge, formatRealJudge, type RealJudgeReport } from '../../eval/realJudge.js';
import { DEFAULT_RESYNTHESIS_SENTENCES, formatResynthesisTable, runResynthesisEvaluation, type NamedVocoder } from '../../eval/resynthesis.js';
import { formatRealVoiceTable, REAL_RECORDING_SECONDS, REAL_REFERENCE_SECONDS, runRealVoiceEvaluation } from '../../eval/realVoices.js';
import type { ConversionSettings } from '../../models/converter.js';
import { chooseVocoder, VOCODER_CHOICES, type ChosenVocoder } from '../../models/vocoder/convert.js';
import { DEFAULT_EVAL_PAIRS, DEFAULT_EVAL_VOICES } from '../../eval/pairs.js';
import { evalSystemNames, resolveEvalSystems } from '../../eval/registry.js';
import { defaultSpeakerEncoderPath, loadSpeakerEncoder } from '../../models/speakerEncoder/convert.js';
import { evaluateSpeakerJudge, formatConfusion } from '../../models/speakerEncoder/train.js';
import { UsageError, choiceOption, conversionSettingsOptions, flagOption, numberOption, parseCommandArgs, stringOption } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { createProgressBar, lazyProgressBar } from '../progress.js';

const USAGE = [
  'usage: timbre eval --model NAME[,NAME…] [--pairs N] [--voices a,b,…] [--sentences N] [--json FILE] [--skip-asr]',
  '                   [--steps N] [--solver ml|euler] [--seed N] [--vocoder griffin-lim|neural]',
  '       timbre eval --model NAME[,NAME…] --real-voices [--speakers a,b,…] [--voices a,b,…] [--sentences N] [--recordings S]',
  '                   [--json FILE] [--skip-asr]',
  '       timbre eval --judge [--json FILE]',
  '       timbre eval --resynthesis [--voices a,b,…] [--sentences N] [--json FILE] [--skip-asr]',
  `  --model NAMES       systems to score: ${evalSystemNames().join(', ')}; a model brings both baselines along`,
  `  --pairs N           source → target pairs, chosen deterministically (default ${DEFAULT_EVAL_PAIRS})`,
  `  --voices LIST       voices the pairs are drawn from (default ${DEFAULT_EVAL_VOICES.join(',')})`,
  '  --sentences N       only the first N test sentences (default all)',
  '  --json FILE         also write the full report (per pair) as JSON',
  '  --skip-asr          no pocketsphinx, no CER',
  '  --vocoder NAME      griffin-lim (default, 32 iterations) or neural (TIMBRE_HOME/models/vocoder, else the shipped one)',
  '  --steps N           diffusion reverse steps of the models, 1–100 (default: each family\'s own, 6)',
  '  --solver ml|euler   diffusion solver of the models (default ml)',
  '  --seed N            seed of the models\' sampling noise, 0–2147483647 (default 0)',
  '  --speaker-encoder F speaker encoder model file (default TIMBRE_HOME/models/speaker-encoder, else the shipped one)',
  '  --real-voices       instead: convert to real people of the imported real-speech set (timbre corpus real) that no model',
  '                      was trained on, each given as 30 s of its clips (its "recordings"): any-voice models get the first',
  '                      10 s as reference, the VAE is adapted on all 30 s as `timbre train vae --add-voice` would; scored',
  '                      on the other clips (d-vector cosine gain over the source, identification by d-vector and by a',
  '                      cepstral judge, CER); models that can do neither are listed as skipped',
  `  --recordings S      --real-voices: seconds of each speaker's clips that stand for its recordings (default ${REAL_RECORDING_SECONDS})`,
  '  --speakers LIST     --real-voices: the real speakers (default: every held-out-language speaker)',
  '  --judge             instead: both speaker judges on every test utterance of every corpus voice (confusion matrices),',
  '                      and the speaker encoder on the held-out real speakers (identification, equal-error rate)',
  '  --resynthesis       instead: every vocoder (Griffin-Lim 32 and 100 iterations, the neural one when installed) turns',
  "                      each test recording's own log-mel back into sound, scored per voice against the recording",
  `                      (multi-resolution STFT, log-spectral distance, F0 error in cents, V/UV error, CER; default ${DEFAULT_RESYNTHESIS_SENTENCES} sentences)`,
  '  --home DIR          data folder (default $TIMBRE_HOME)',
].join('\n');

function listOption(value: string | undefined, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (items.length === 0) throw new UsageError(`option --${name}: give at least one name`);
  return items;
}

async function writeJson(path: string | undefined, value: unknown, io: CliIo): Promise<void> {
  if (path === undefined) return;
  const target = resolve(path);
  mkdirSync(dirname(target), { recursive: true });
  await writeFileAtomic(target, `${JSON.stringify(value, null, 1)}\n`, { overwrite: true });
  io.out(`wrote ${target}\n`);
}

async function realVoiceReport(request: {
  systems: ReturnType<typeof resolveEvalSystems>;
  home: string | undefined;
  encoderPath: string;
  json: string | undefined;
  settings: ConversionSettings;
  io: CliIo;
  speakers: string[] | undefined;
  voices: string[] | undefined;
  sentences: number | undefined;
  recordingSeconds: number | undefined;
  skipAsr: boolean;
  vocoder: ChosenVocoder;
}): Promise<number> {
  const { io } = request;
  const { encoder } = await loadSpeakerEncoder(request.encoderPath);
  let recognizer: SpeechRecognizer | null = null;
  try {
    recognizer = request.skipAsr ? null : await createPocketsphinx();
    const progress = lazyProgressBar('evaluating', io);
    const report = await runRealVoiceEvaluation({
      recognizer,
      vocoder: request.vocoder.vocode,
      ...(request.recordingSeconds !== undefined ? { recordingSeconds: request.recordingSeconds } : {}),
      log: (line) => io.err(`${line}\n`),
      systems: request.systems,
      encoder,
      ...(request.home !== undefined ? { home: request.home } : {}),
      ...(request.speakers !== undefined ? { speakers: request.speakers } : {}),
      ...(request.voices !== undefined ? { sources: request.voices } : {}),
      ...(request.sentences !== undefined ? { sentences: request.sentences } : {}),
      settings: request.settings,
      onProgress: progress.onProgress,
    });
    progress.finish();
    io.out(`${formatRealVoiceTable(report)}\n`);
    io.out(`speaker encoder: ${request.encoderPath}; real-speech set ${report.realSet.root}; ${report.elapsedSeconds.toFixed(0)} s\n`);
    await writeJson(request.json, report, io);
    return 0;
  } finally {
    encoder.dispose();
    await recognizer?.dispose();
  }
}

/** Griffin-Lim 32 and 100 and, when one is installed or shipped, the neural vocoder, resynthesising the test split. */
async function resynthesisReport(request: { home: string | undefined; voices: string[] | undefined; sentences: number | undefined; json: string | undefined; skipAsr: boolean; io: CliIo }): Promise<number> {
  const { io } = request;
  const chosen: ChosenVocoder[] = [await chooseVocoder('griffin-lim', { iterations: 32 }), await chooseVocoder('griffin-lim', { iterations: 100 })];
  let recognizer: SpeechRecognizer | null = null;
  try {
    try {
      chosen.push(await chooseVocoder('neural', { home: request.home }));
    } catch (err) {
      io.out(`no neural vocoder in the table: ${(err as Error).message.split('\n')[0]}\n`);
    }
    recognizer = request.skipAsr ? null : await createPocketsphinx();
    const progress = lazyProgressBar('resynthesising', io);
    const report = await runResynthesisEvaluation({
      vocoders: chosen.map((c): NamedVocoder => ({ name: c.name, vocode: c.vocode })),
      recognizer,
      ...(request.home !== undefined ? { home: request.home } : {}),
      ...(request.voices !== undefined ? { voices: request.voices } : {}),
      ...(request.sentences !== undefined ? { sentences: request.sentences } : {}),
      onProgress: progress.onProgress,
    });
    progress.finish();
    io.out(`${formatResynthesisTable(report)}\n`);
    io.out(`corpus ${report.corpus.manifestHash.slice(0, 12)}…; ${report.elapsedSeconds.toFixed(0)} s\n`);
    await writeJson(request.json, report, io);
    return 0;
  } finally {
    for (const c of chosen) c.dispose();
    await recognizer?.dispose();
  }
}

async function judgeReport(home: string | undefined, encoderPath: string, json: string | undefined, io: CliIo): Promise<number> {
  const { encoder, judge, trainingDataHash } = await loadSpeakerEncoder(encoderPath);
  try {
    const dataset = openCorpusDataset({ ...(home !== undefined ? { home } : {}), split: 'test', voices: [...judge.voices] });
    const bar = createProgressBar({ total: dataset.utterances.length, label: 'judging', write: io.err, interactive: io.interactive });
    const report = evaluateSpeakerJudge(encoder, judge, dataset, (done) => bar.update(done));
    bar.finish();
    io.out(`speaker encoder ${encoderPath} (trained on corpus ${trainingDataHash.slice(0, 12)}…), test split of ${dataset.corpusRoot}\n`);
    io.out(`${formatConfusion(report)}\n`);
    // The cepstral judge, fitted as `timbre eval` fits it, on the same test utterances.
    const cepstralJudge = buildCepstralJudge(openCorpusDataset({ ...(home !== undefined ? { home } : {}), split: 'train', voices: [...judge.voices] }));
    const cepstralBar = createProgressBar({ total: dataset.utterances.length, label: 'judging (cepstral)', write: io.err, interactive: io.interactive });
    const cepstral = evaluateCepstralJudge(cepstralJudge, dataset, (done) => cepstralBar.update(done));
    cepstralBar.finish();
    io.out(`cepstral judge: ${cepstralJudge.describe()}; same test split\n`);
    io.out(`${formatConfusion(cepstral)}\n`);
    // Real people the encoder never heard, when the real-speech set is imported.
    let realSpeakers: RealJudgeReport | null = null;
    let real: RealSpeechSet | null = null;
    try {
      real = openRealSpeech(home !== undefined ? { home } : {});
    } catch (err) {
      io.out(`no real-speech judge: ${(err as Error).message.split('\n')[0]}\n`);
    }
    if (real !== null) {
      realSpeakers = evaluateRealSpeakerJudge(encoder, real);
      io.out(`${formatRealJudge(realSpeakers)}\n`);
    }
    await writeJson(json, { encoder: encoderPath, trainingDataHash, ...report, cepstralJudge: { method: cepstralJudge.describe(), trainUtterances: cepstralJudge.trainUtterances, ...cepstral }, realSpeakers }, io);
    return 0;
  } finally {
    encoder.dispose();
  }
}

export const command: CliCommand = {
  name: 'eval',
  summary: 'evaluate conversion models and baselines on the corpus test split',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandArgs('eval', argv, {
      model: { type: 'string', multiple: true },
      pairs: { type: 'string' },
      voices: { type: 'string' },
      sentences: { type: 'string' },
      json: { type: 'string' },
      'skip-asr': { type: 'boolean' },
      'speaker-encoder': { type: 'string' },
      judge: { type: 'boolean' },
      'real-voices': { type: 'boolean' },
      resynthesis: { type: 'boolean' },
      speakers: { type: 'string' },
      recordings: { type: 'string' },
      vocoder: { type: 'string' },
      steps: { type: 'string' },
      solver: { type: 'string' },
      seed: { type: 'string' },
      home: { type: 'string' },
    });
    if (args.positionals.length > 0) throw new UsageError(`timbre eval: unexpected argument "${args.positionals[0]}"`);
    const home = stringOption(args, 'home');
    const json = stringOption(args, 'json');
    const modelValues = (args.values['model'] as string[] | undefined) ?? [];
    const judge = flagOption(args, 'judge');
    if (judge && modelValues.length > 0) throw new UsageError('timbre eval: --judge and --model are separate modes; give one');
    const resynthesis = flagOption(args, 'resynthesis');
    if (resynthesis) {
      const others = ['model', 'judge', 'real-voices', 'pairs', 'speakers', 'recordings', 'vocoder', 'steps', 'solver', 'seed', 'speaker-encoder'].filter((k) => args.values[k] !== undefined);
      if (others.length > 0) throw new UsageError(`timbre eval: --resynthesis scores the vocoders alone; drop --${others.join(', --')}`);
      const voices = listOption(stringOption(args, 'voices'), 'voices');
      const sentences = numberOption(args, 'sentences', { min: 1, max: 10_000, integer: true });
      io.out(`${describeBackend(await initBackend())}\n`);
      return resynthesisReport({ home, voices, sentences, json, skipAsr: flagOption(args, 'skip-asr'), io });
    }
    // Names are checked before anything heavy loads, so a typo fails at once.
    const systems = judge ? [] : resolveEvalSystems(modelValues.flatMap((v) => listOption(v, 'model')!));
    const voices = listOption(stringOption(args, 'voices'), 'voices');
    const pairs = numberOption(args, 'pairs', { min: 1, max: 10_000, integer: true });
    const sentences = numberOption(args, 'sentences', { min: 1, max: 10_000, integer: true });
    const settings = conversionSettingsOptions(args);
    const realVoices = flagOption(args, 'real-voices');
    if (realVoices && judge) throw new UsageError('timbre eval: --real-voices converts with --model; --judge converts nothing');
    if (!realVoices && stringOption(args, 'speakers') !== undefined) throw new UsageError('timbre eval: --speakers chooses the real speakers of --real-voices');
    if (realVoices && pairs !== undefined) throw new UsageError('timbre eval: --pairs is for corpus pairs; --real-voices converts to each real speaker from --voices in turn');
    if (judge && Object.keys(settings).length > 0) throw new UsageError('timbre eval: --steps, --solver and --seed set conversions; --judge converts nothing');
    const encoderPath = resolve(stringOption(args, 'speaker-encoder') ?? defaultSpeakerEncoderPath(home));

    io.out(`${describeBackend(await initBackend())}\n`);
    const vocoderChoice = choiceOption(args, 'vocoder', VOCODER_CHOICES);
    if (judge && vocoderChoice !== undefined) throw new UsageError('timbre eval: --vocoder sets conversions; --judge converts nothing');
    if (judge) return judgeReport(home, encoderPath, json, io);
    const vocoder = await chooseVocoder(vocoderChoice ?? 'griffin-lim', { home });
    try {
      const recordingSeconds = numberOption(args, 'recordings', { min: REAL_REFERENCE_SECONDS, max: 3600 });
      if (!realVoices && recordingSeconds !== undefined) throw new UsageError('timbre eval: --recordings sets the seconds per real speaker of --real-voices');
      if (realVoices) {
        const speakers = listOption(stringOption(args, 'speakers'), 'speakers');
        return realVoiceReport({ systems, home, encoderPath, json, settings, io, speakers, voices, sentences, recordingSeconds, skipAsr: flagOption(args, 'skip-asr'), vocoder });
      }

      const { encoder, judge: speakerJudge, trainingDataHash: encoderCorpus } = await loadSpeakerEncoder(encoderPath);
      let recognizer: SpeechRecognizer | null = null;
      try {
        recognizer = flagOption(args, 'skip-asr') ? null : await createPocketsphinx();
        const progress = lazyProgressBar('evaluating', io);
        const report = await runEvaluation({
          systems,
          encoder,
          judge: speakerJudge,
          recognizer,
          vocoder: vocoder.vocode,
          vocoderName: vocoder.name,
          ...(home !== undefined ? { home } : {}),
          ...(voices !== undefined ? { voices } : {}),
          ...(pairs !== undefined ? { pairs } : {}),
          ...(sentences !== undefined ? { sentences } : {}),
          settings,
          onProgress: progress.onProgress,
        });
        progress.finish();
        io.out(`${formatEvaluationTable(report)}\n`);
        io.out(`speaker encoder: ${encoderPath}; corpus ${report.corpus.manifestHash.slice(0, 12)}…; ${report.elapsedSeconds.toFixed(0)} s\n`);
        if (encoderCorpus !== report.corpus.manifestHash) io.out(`warning: the speaker encoder (the d-vector judge) was trained on corpus ${encoderCorpus.slice(0, 12) || 'unnamed'}…, another build than this one\n`);
        await writeJson(json, report, io);
        return 0;
      } finally {
        encoder.dispose();
        await recognizer?.dispose();
      }
    } finally {
      vocoder.dispose();
    }
  },
};
