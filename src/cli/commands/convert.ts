// `timbre convert IN.wav --to VOICE --model vae [-o OUT.wav]`: one recording converted to one voice with one model,
// through the engine's pipeline (decode → log-mel → model → vocoder → loudness match), written as a 22 050 Hz WAV.

import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { InvalidAudioError, TimbreInputError } from '../../audio/errors.js';
import { MEL_CONFIG } from '../../audio/melConfig.js';
import type { ModelSettings } from '../../engine/api.js';
import { EngineError } from '../../engine/errors.js';
import { loadConverterFile, ModelRegistry } from '../../engine/modelRegistry.js';
import { chooseVocoder, VOCODER_CHOICES, type ChosenVocoder } from '../../models/vocoder/convert.js';
import { convertLane, prepareSource } from '../../engine/pipeline.js';
import { writeWavFile } from '../../io/audioFile.js';
import { describeBackend, initBackend } from '../../nn/backend.js';
import type { ConversionTarget, MelConverter } from '../../models/converter.js';
import type { LogMel } from '../../audio/mel.js';
import { listVoices, referenceMelsOfFiles, voiceMels } from '../../engine/voices.js';
import { UsageError, choiceOption, conversionSettingsOptions, flagOption, numberOption, parseCommandArgs, requirePositionals, stringOption } from '../args.js';
import type { CliCommand } from '../command.js';

/** Shortest input converted, seconds: below this there is no syllable to convert. */
export const MIN_CONVERT_SECONDS = 0.25;
/** Longest input converted, seconds. */
export const MAX_CONVERT_SECONDS = 600;
/** Vocoders `--vocoder` accepts. */
export const CONVERT_VOCODERS = VOCODER_CHOICES;

/** A `.timbre` file (or any existing file) is loaded directly; anything else is a registry id or family. */
const isModelPath = (value: string): boolean => value.endsWith('.timbre') || existsSync(value);

/** Loads the converter `--model` names: a `.timbre` file, a registry id (e.g. "user/vae-anna"), or a family ("vae"). */
async function resolveConverter(model: string, voice: string): Promise<{ converter: MelConverter; id: string; registry?: ModelRegistry }> {
  if (isModelPath(model)) {
    if (!existsSync(model)) throw new TimbreInputError('FILE_NOT_FOUND', `${model}: no such model file`);
    // The header's kind picks the family's loader; a file that converts nothing, or another feature config, is refused.
    return { converter: await loadConverterFile(model), id: model };
  }
  const registry = new ModelRegistry();
  const models = await registry.list();
  const family = models.filter((m) => m.family === model);
  // A family name picks the first of its models (shipped, then the user's) that has the voice; an id picks that model.
  const exact = models.find((m) => m.id === model && m.available);
  if (family.length === 0 && exact !== undefined) return { converter: await registry.converter(exact.id), id: exact.id, registry };
  if (family.length === 0) {
    const known = models.filter((m) => m.available).map((m) => m.id);
    throw new UsageError(`--model "${model}" is neither a model file, a model id nor a model family; available models: ${known.join(', ') || 'none'}`);
  }
  const rank = (origin: string): number => (origin === 'shipped' ? 0 : origin === 'user' ? 1 : 2);
  const available = family.filter((m) => m.available).sort((a, b) => rank(a.origin) - rank(b.origin));
  if (available.length === 0) throw new EngineError('MODEL_UNAVAILABLE', `no ${model} model can be used: ${family[0]!.unavailableReason ?? 'unavailable'}`, 'model');
  const chosen = available.find((m) => m.targetVoices.includes(voice) || m.targetVoices.includes('*'));
  if (chosen === undefined) {
    const voices = [...new Set(available.flatMap((m) => m.targetVoices))];
    throw new EngineError('VOICE_NOT_FOUND', `no ${model} model has voice "${voice}"; known voices: ${voices.join(', ')}`, 'to');
  }
  return { converter: await registry.converter(chosen.id), id: chosen.id, registry };
}

/** `--semitones -2` → `--semitones=-2`: node's parser reads a dash-led value as an option, a negative shift is not one. */
function joinNegativeValues(argv: readonly string[], options: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (options.includes(argv[i]!) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

/**
 * The target of an any-voice model: the reference recordings (`--reference`) or the user voice's clips, embedded by
 * the speaker encoder (the user's, else the shipped one).
 */
async function anyVoiceTarget(voice: string, referenceMels: LogMel[] | undefined): Promise<ConversionTarget> {
  const mels = referenceMels ?? (await userVoiceMels(voice));
  const { defaultSpeakerEncoderPath, loadSpeakerEncoder } = await import('../../models/speakerEncoder/convert.js');
  const { encoder } = await loadSpeakerEncoder(defaultSpeakerEncoderPath());
  try {
    return { voiceId: voice, referenceMels: mels, speakerEmbedding: encoder.embedReference(mels) };
  } finally {
    encoder.dispose();
  }
}

/** Up to 30 s of a user voice's clips as log-mels; a voice that is not one → VOICE_NOT_FOUND listing the voices. */
async function userVoiceMels(voice: string): Promise<LogMel[]> {
  const voices = await listVoices();
  if (!voices.some((v) => v.name === voice && v.kind === 'user')) {
    throw new EngineError('VOICE_NOT_FOUND', `voice "${voice}" is neither one of the model's voices nor a user voice (timbre voice add); voices: ${voices.map((v) => v.name).join(', ')}`, 'to');
  }
  return voiceMels(voice, { maxSeconds: 30 });
}

const formatHz = (hz: number | null): string => (hz === null || !Number.isFinite(hz) ? 'n/a' : `${hz.toFixed(0)} Hz`);

export const command: CliCommand = {
  name: 'convert',
  summary: 'convert a recording to another voice',
  usage: [
    'usage: timbre convert IN.wav --to VOICE [--model vae|cyclegan|diffvc|cyclediffusion|ID|FILE] [-o OUT.wav] [--vocoder griffin-lim|neural]',
    '                      [--keep-pitch] [--semitones N] [--steps N] [--solver ml|euler] [--seed N] [--reference REF.wav[,REF.wav…]] [--force]',
    '  --to VOICE       target voice: a corpus or user voice (an unknown name lists them); with --reference, a name for it',
    '  --model M        model family (vae, default; cyclegan, diffvc, cyclediffusion), model id (e.g. cyclegan-flite-slt, user/vae-NAME)',
    '                   or a .timbre model file of any family. A CycleGAN-VC model also converts back: --to any',
    '  --reference F    any-voice models (DiffVC, CycleDiffusion): the target is the speaker of these WAV files (≥ 10 s of speech)',
    '  --steps N        diffusion reverse steps, 1–100 (default 6)',
    '  --solver NAME    diffusion solver: ml (maximum likelihood, default) or euler (Euler–Maruyama)',
    '  --seed N         seed of the diffusion noise, 0–2147483647 (default 0)',
    '  -o, --output F   output WAV (default IN.VOICE.wav next to the input); refuses to overwrite without --force',
    '  --vocoder NAME   griffin-lim (default, 32 iterations) or neural (TIMBRE_HOME/models/vocoder, else the shipped one)',
    '  --keep-pitch     keep the source pitch (default: move it to the target voice\'s range)',
    '  --semitones N    shift the converted pitch by N semitones, -12..12 (after --keep-pitch or the target range)',
    '  --force          overwrite OUT.wav if it exists',
  ].join('\n'),
  async run(argv, io) {
    const args = parseCommandArgs('convert', joinNegativeValues(argv, ['--semitones']), {
      to: { type: 'string' },
      model: { type: 'string' },
      output: { type: 'string', short: 'o' },
      vocoder: { type: 'string' },
      'keep-pitch': { type: 'boolean' },
      semitones: { type: 'string' },
      steps: { type: 'string' },
      solver: { type: 'string' },
      seed: { type: 'string' },
      reference: { type: 'string' },
      force: { type: 'boolean' },
    });
    const [input] = requirePositionals('convert', args, ['IN.wav']);
    const referenceFiles = stringOption(args, 'reference')?.split(',').map((f) => f.trim()).filter((f) => f !== '');
    if (referenceFiles !== undefined && referenceFiles.length === 0) throw new UsageError('option --reference: give at least one WAV file');
    const voice = stringOption(args, 'to') ?? (referenceFiles !== undefined ? 'reference' : undefined);
    if (voice === undefined || voice === '') throw new UsageError('timbre convert: missing --to VOICE');
    const modelName = stringOption(args, 'model') ?? (referenceFiles !== undefined ? 'diffvc' : 'vae');
    const diffusion = conversionSettingsOptions(args);
    const vocoderChoice = choiceOption(args, 'vocoder', CONVERT_VOCODERS) ?? 'griffin-lim';
    const keepPitch = flagOption(args, 'keep-pitch');
    const semitones = numberOption(args, 'semitones', { min: -12, max: 12 }) ?? 0;
    const overwrite = flagOption(args, 'force');
    const output = stringOption(args, 'output') ?? join(dirname(input!), `${basename(input!, extname(input!))}.${voice}.wav`);
    if (!overwrite && existsSync(output)) throw new TimbreInputError('OUTPUT_EXISTS', `${output} already exists; pass --force to overwrite it`);

    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(input!));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EISDIR') throw new TimbreInputError('FILE_NOT_FOUND', `${input}: no such file`);
      throw error;
    }
    const source = prepareSource(bytes, { sourceName: input!, maxDurationSeconds: MAX_CONVERT_SECONDS });
    if (source.durationSeconds < MIN_CONVERT_SECONDS) {
      throw new InvalidAudioError(`${input} is ${source.durationSeconds.toFixed(3)} s long; give at least ${MIN_CONVERT_SECONDS} s of speech to convert`, 'TOO_SHORT');
    }
    for (const warning of source.warnings) io.err(`warning: ${warning}\n`);

    const referenceMels = referenceFiles !== undefined ? await referenceMelsOfFiles(referenceFiles) : undefined;

    io.out(`${describeBackend(await initBackend())}\n`);
    const { converter, id, registry } = await resolveConverter(modelName, referenceFiles !== undefined ? '*' : voice);
    let vocoder: ChosenVocoder | undefined;
    try {
      vocoder = await chooseVocoder(vocoderChoice);
      const ownVoice = converter.targetVoices.includes(voice) && referenceFiles === undefined;
      if (!ownVoice && !converter.targetVoices.includes('*')) {
        const why = referenceFiles !== undefined ? '--reference needs a model that converts to any voice (DiffVC, CycleDiffusion)' : `known voices: ${converter.targetVoices.join(', ')}`;
        throw new EngineError('VOICE_NOT_FOUND', `model ${id} has no voice "${voice}"; ${why}`, 'to');
      }
      const target = ownVoice ? { voiceId: voice } : await anyVoiceTarget(voice, referenceMels);
      // Models that render F0 (VAE, DiffVC) take the source's own track, moved to the target's mean unless --keep-pitch;
      // other models' output is warped to the source's median F0 for --keep-pitch, then by --semitones.
      const settings: ModelSettings = { pitchShiftSemitones: semitones, keepSourcePitch: keepPitch, ...diffusion };
      const lane = await convertLane(source, converter, target, settings, { vocoder: vocoder.vocode });
      await writeWavFile(output, lane.samples, MEL_CONFIG.sampleRateHz, { overwrite });
      const peak = lane.samples.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
      io.out(
        `wrote ${output}: ${lane.durationSeconds.toFixed(2)} s as ${voice} (model ${id}) with vocoder ${vocoder.name}, F0 median ${formatHz(source.f0MedianHz)} → ${formatHz(lane.f0MedianHz)}, ` +
          `peak ${(20 * Math.log10(Math.max(peak, 1e-9))).toFixed(1)} dBFS, ${lane.processingSeconds.toFixed(2)} s (real-time factor ${lane.realTimeFactor.toFixed(2)})\n`,
      );
      return 0;
    } finally {
      vocoder?.dispose();
      if (registry) await registry.dispose();
      else converter.dispose();
    }
  },
};
