// `timbre convert IN.wav --to VOICE --model vae [-o OUT.wav]`: one recording converted to one voice with one model,
// through the engine as the app's Convert runs it (decode → log-mel → model → vocoder → loudness match), written as a
// 22 050 Hz WAV. The command resolves what the engine does not know by itself: a model named by family or by file, and
// a target given as reference recordings.

import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { TimbreInputError } from '../../audio/errors.js';
import type { LogMel } from '../../audio/mel.js';
import { decodeWav } from '../../audio/wav.js';
import type { LaneResult, ModelInfo, ModelSettings, VoiceInfo } from '../../engine/api.js';
import { createEngine, type Engine } from '../../engine/engine.js';
import { EngineError } from '../../engine/errors.js';
import { loadConverterFile, ModelRegistry } from '../../engine/modelRegistry.js';
import { createVoiceSource, type VoiceSource } from '../../engine/voiceSource.js';
import { referenceMelsOfFiles } from '../../engine/voices.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import type { MelConverter } from '../../models/converter.js';
import { VOCODER_CHOICES } from '../../models/vocoder/convert.js';
import { describeBackend, initBackend } from '../../nn/backend.js';
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

/**
 * The model `--model` names, as the engine will run it: its info, the registry the engine runs it from (the one
 * scanned to find it), and the converter when the command loaded a file.
 */
interface ChosenModel {
  readonly info: Pick<ModelInfo, 'id' | 'targetVoices'>;
  /** The id the engine knows it by (the same as `info.id`, but for a file). */
  readonly engineId?: string;
  readonly registry: ModelRegistry;
  readonly fileConverter?: MelConverter;
}

/**
 * The model `--model` names: a `.timbre` file (loaded here, so a file that converts nothing, or of another feature
 * config, is refused by name), a registry id (e.g. "user/vae-anna"), or a family ("vae": the first of its models,
 * shipped then the user's, that has the voice).
 */
async function chooseModel(model: string, voice: string): Promise<ChosenModel> {
  if (isModelPath(model)) {
    if (!existsSync(model)) throw new TimbreInputError('FILE_NOT_FOUND', `${model}: no such model file`);
    const converter = await loadConverterFile(model);
    // The engine's id of the file (ids are plain names, not paths); messages name the file itself.
    const engineId = `file:${basename(model).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}`;
    return {
      info: { id: model, targetVoices: [...converter.targetVoices] },
      engineId,
      registry: new ModelRegistry({ registered: [{ id: engineId, converter, origin: 'user' }] }),
      fileConverter: converter,
    };
  }
  const registry = new ModelRegistry();
  const models = await registry.list();
  const family = models.filter((m) => m.family === model);
  const exact = models.find((m) => m.id === model && m.available);
  if (family.length === 0 && exact !== undefined) return { info: exact, registry };
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
  return { info: chosen, registry };
}

/**
 * The engine's voices plus what this command's target needs: a voice of the model's own that no voice list has (a
 * model file's, or "any", a CycleGAN-VC pair's way back), and the voice of `--reference` with those recordings.
 */
function commandVoiceSource(base: VoiceSource, listed: readonly VoiceInfo[], voice: string, reference: LogMel[] | undefined): VoiceSource {
  const added: VoiceInfo | undefined =
    reference !== undefined
      ? { id: voice, label: voice, kind: 'user', hasPreview: false, description: 'the speaker of --reference' }
      : listed.some((v) => v.id === voice)
        ? undefined
        : { id: voice, label: voice, kind: 'test', hasPreview: false };
  const voices = added === undefined ? [...listed] : [...listed.filter((v) => v.id !== voice), added];
  return {
    list: async () => voices.map((v) => ({ ...v })),
    preview: (voiceId) => base.preview(voiceId),
    referenceMels: async (voiceId) => (voiceId === voice && reference !== undefined ? reference : base.referenceMels(voiceId)),
  };
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
    '  --vocoder NAME   neural (default when installed: TIMBRE_HOME/models/vocoder, else the shipped one) or griffin-lim (32 it.)',
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
    const vocoderChoice = choiceOption(args, 'vocoder', CONVERT_VOCODERS); // unset: the engine's default
    const keepPitch = flagOption(args, 'keep-pitch');
    const semitones = numberOption(args, 'semitones', { min: -12, max: 12 }) ?? 0;
    const overwrite = flagOption(args, 'force');
    const output = stringOption(args, 'output') ?? join(dirname(input!), `${basename(input!, extname(input!))}.${voice}.wav`);
    if (!overwrite && existsSync(output)) throw new TimbreInputError('OUTPUT_EXISTS', `${output} already exists; pass --force to overwrite it`);

    const referenceMels = referenceFiles !== undefined ? await referenceMelsOfFiles(referenceFiles) : undefined;
    if (!existsSync(input!)) throw new TimbreInputError('FILE_NOT_FOUND', `${input}: no such file`);

    io.out(`${describeBackend(await initBackend())}\n`);
    const chosen = await chooseModel(modelName, referenceFiles !== undefined ? '*' : voice);
    let engine: Engine | undefined;
    try {
      const { id, targetVoices } = chosen.info;
      const engineId = chosen.engineId ?? id;
      const ownVoice = targetVoices.includes(voice) && referenceFiles === undefined;
      if (!ownVoice && !targetVoices.includes('*')) {
        const why = referenceFiles !== undefined ? '--reference needs a model that converts to any voice (DiffVC, CycleDiffusion)' : `known voices: ${targetVoices.join(', ')}`;
        throw new EngineError('VOICE_NOT_FOUND', `model ${id} has no voice "${voice}"; ${why}`, 'to');
      }
      const base = createVoiceSource();
      const listed = await base.list();
      // An any-voice model hears a voice that is not its own through that voice's recordings: a user voice.
      if (!ownVoice && referenceMels === undefined && !listed.some((v) => v.id === voice && v.kind === 'user')) {
        throw new EngineError('VOICE_NOT_FOUND', `voice "${voice}" is neither one of the model's voices nor a user voice (timbre voice add); voices: ${listed.map((v) => v.id).join(', ')}`, 'to');
      }
      // One lane, on this thread: with a given registry the engine starts no lane worker.
      engine = createEngine({
        voiceSource: commandVoiceSource(base, listed, voice, referenceMels),
        registry: chosen.registry,
        speakerSimilarity: false,
        minInputSeconds: MIN_CONVERT_SECONDS,
        maxInputSeconds: MAX_CONVERT_SECONDS,
      });
      // Models that render F0 (VAE, DiffVC) take the source's own track, moved to the target's mean unless --keep-pitch;
      // other models' output is warped to the source's median F0 for --keep-pitch, then by --semitones.
      const settings: ModelSettings = { pitchShiftSemitones: semitones, keepSourcePitch: keepPitch, ...diffusion };
      const job = await engine.convert({ input: { kind: 'path', path: input! }, targetVoiceId: voice, models: [{ modelId: engineId, settings }], ...(vocoderChoice !== undefined ? { vocoder: vocoderChoice } : {}) });
      const result = await job.finished;
      job.destroy();
      for (const warning of result.source.warnings) io.err(`warning: ${warning}\n`);
      const failure = result.failures[0];
      if (failure !== undefined) {
        if (failure.error.code === 'INTERNAL') throw new Error(failure.error.message);
        throw new EngineError(failure.error.code, failure.error.message, failure.error.field);
      }
      const lane: LaneResult = result.lanes[0]!;
      await writeFileAtomic(output, lane.wav, { overwrite });
      const samples = decodeWav(lane.wav).samples;
      const peak = samples.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
      const vocoderName = lane.vocoder === 'neural' ? 'neural' : 'griffin-lim (32 iterations)';
      io.out(
        `wrote ${output}: ${lane.durationSeconds.toFixed(2)} s as ${voice} (model ${id}) with vocoder ${vocoderName}, F0 median ${formatHz(result.source.f0MedianHz)} → ${formatHz(lane.f0MedianHz)}, ` +
          `peak ${(20 * Math.log10(Math.max(peak, 1e-9))).toFixed(1)} dBFS, ${lane.processingSeconds.toFixed(2)} s (real-time factor ${lane.realTimeFactor.toFixed(2)})\n`,
      );
      return 0;
    } finally {
      // The engine disposes the registry (and what it loaded); a registered file converter is the command's own.
      if (engine !== undefined) await engine.destroy();
      else await chosen.registry.dispose();
      chosen.fileConverter?.dispose();
    }
  },
};
