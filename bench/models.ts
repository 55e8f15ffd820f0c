// Conversion speed of the installed models on ~10 s of real speech: mel→mel (the model alone), the full
// `timbre convert` pipeline (WAV → log-mel → model → Griffin-Lim → WAV), and that pipeline ending in the neural vocoder
// when one is installed, as real-time factors and ratios measured in this one run.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CORPUS_VOICES } from '../src/corpus/voices.js';
import { loadInput } from './input.js';
import type { ModelSettings } from '../src/engine/api.js';
import { griffinLimVocoder } from '../src/audio/griffinLim.js';
import { convertLane, prepareSource } from '../src/engine/pipeline.js';
import { timbrePaths } from '../src/io/paths.js';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import type { MelConverter } from '../src/models/converter.js';

/** Targets, real-time factor of mel→mel: seconds of compute per second of audio (diffusion: ML solver, 6 steps). */
const TARGET_RTF: Readonly<Record<Candidate['family'], number>> = { vae: 0.05, cyclegan: 0.1, diffvc: 0.5, cyclediffusion: 0.5 };
/** Target of the VAE and DiffVC runs (one of their corpus voices). */
const VAE_TARGET = 'flite-slt';
/** Griffin-Lim iterations of the default vocoder, as `timbre convert` uses. */
const VOCODER_ITERATIONS = 32;

interface Candidate {
  family: 'vae' | 'cyclegan' | 'diffvc' | 'cyclediffusion';
  /** Model file that `load` reads. */
  path: string;
  target: string;
  load(): Promise<MelConverter>;
}

/** The models `timbre eval` would load: the VAE and DiffVC (user's, else shipped) and every CycleGAN-VC generator cyclegan-<voice>. */
async function candidates(home: string | undefined): Promise<{ found: Candidate[]; skipped: string[] }> {
  const found: Candidate[] = [];
  const skipped: string[] = [];
  const vae = await import('../src/models/vae/convert.js');
  const userVae = join(timbrePaths(home).models, 'vae', 'model.timbre');
  if (existsSync(userVae) || existsSync(vae.shippedVaePath())) {
    found.push({ family: 'vae', path: existsSync(userVae) ? userVae : vae.shippedVaePath(), target: VAE_TARGET, load: () => vae.loadEvalConverter({ home, targetVoices: [VAE_TARGET] }) });
  } else skipped.push(`VAE: skipped, no model file at ${userVae} or ${vae.shippedVaePath()} (train one with: timbre train vae)`);
  const cycleGan = await import('../src/models/cycleGan/convert.js');
  for (const voice of CORPUS_VOICES.map((v) => v.id)) {
    const user = join(timbrePaths(home).models, `cyclegan-${voice}`, 'model.timbre');
    const path = existsSync(user) ? user : cycleGan.shippedCycleGanPath(voice);
    if (!existsSync(path)) continue;
    found.push({ family: 'cyclegan', path, target: voice, load: () => cycleGan.loadEvalConverter({ home, targetVoices: [voice] }) });
  }
  if (!found.some((c) => c.family === 'cyclegan')) {
    skipped.push(`CycleGAN-VC: skipped, no generator in ${timbrePaths(home).models}/cyclegan-<voice> or assets/models/cyclegan-<voice> (train one with: timbre train cyclegan --to VOICE)`);
  }
  const diffVc = await import('../src/models/diffVc/convert.js');
  const userDiffVc = join(timbrePaths(home).models, 'diffvc', 'model.timbre');
  const shippedDiffVc = diffVc.shippedDiffVcPath();
  if (existsSync(userDiffVc) || existsSync(shippedDiffVc)) {
    found.push({ family: 'diffvc', path: existsSync(userDiffVc) ? userDiffVc : shippedDiffVc, target: VAE_TARGET, load: () => diffVc.loadEvalConverter({ home, targetVoices: [VAE_TARGET] }) });
  } else skipped.push(`DiffVC: skipped, no model file at ${userDiffVc} or ${shippedDiffVc} (train one with: timbre train diffvc)`);
  const cycleDiffusion = await import('../src/models/cycleDiffusion/convert.js');
  const userCycleDiffusion = join(timbrePaths(home).models, 'cyclediffusion', 'model.timbre');
  const shippedCycleDiffusion = cycleDiffusion.shippedCycleDiffusionPath();
  if (existsSync(userCycleDiffusion) || existsSync(shippedCycleDiffusion)) {
    found.push({
      family: 'cyclediffusion',
      path: existsSync(userCycleDiffusion) ? userCycleDiffusion : shippedCycleDiffusion,
      target: VAE_TARGET,
      load: () => cycleDiffusion.loadEvalConverter({ home, targetVoices: [VAE_TARGET] }),
    });
  } else skipped.push(`CycleDiffusion: skipped, no model file at ${userCycleDiffusion} or ${shippedCycleDiffusion} (train one with: timbre train cyclediffusion)`);
  return { found, skipped };
}

/** Median seconds of `repeats` runs of `fn` after one warm-up run. */
async function timeMedian(repeats: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await fn();
    times.push((performance.now() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The settings `timbre convert` passes with no pitch options (diffusion: its default 6 ML-solver steps). */
const CONVERT_SETTINGS: ModelSettings = { pitchShiftSemitones: 0, keepSourcePitch: false };

async function main(): Promise<void> {
  const repeats = Number(process.env['BENCH_REPEATS'] ?? 5);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`BENCH_REPEATS must be a whole number ≥ 1, got ${process.env['BENCH_REPEATS']}`);
  const home = process.env['TIMBRE_HOME'];
  const info = await initBackend();
  console.log(describeBackend(info));
  console.log(
    `cores: ${availableParallelism()}; inference runs in this one process on ${info.threads} ${info.name} thread${info.threads === 1 ? '' : 's'}` +
      (info.threads === 1 ? ' (neither the engine nor the pipeline splits a conversion across threads), so the second core is idle' : ''),
  );
  const input = await loadInput(home);
  console.log(`input: ${input.seconds.toFixed(2)} s, ${input.description}`);
  console.log(`each model: 1 warm-up, then median of ${repeats}; RTF = seconds ÷ ${input.seconds.toFixed(2)} s of audio`);
  console.log(`(a) mel→mel = MelConverter.convert on the input's log-mel; (b) full = WAV bytes → prepareSource → convertLane with Griffin-Lim ${VOCODER_ITERATIONS} it (what timbre convert runs)`);

  const source = prepareSource(input.wav, { sourceName: 'bench input', maxDurationSeconds: 600 });
  const vocoder = griffinLimVocoder(VOCODER_ITERATIONS);
  // (c) the same pipeline ending in the neural vocoder, when one is installed or shipped.
  const { loadInstalledVocoder } = await import('../src/models/vocoder/convert.js');
  const neural = await loadInstalledVocoder(home).catch((error: unknown) => {
    console.log(`(c) skipped: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  });
  if (neural !== undefined) console.log(`(c) full with the neural vocoder = (b) ending in ${neural.label}, phase ${neural.phase}, ${neural.refineIterations} Griffin-Lim iteration${neural.refineIterations === 1 ? '' : 's'} after`);
  const { found, skipped } = await candidates(home);
  const verdicts: string[] = [];
  for (const candidate of found) {
    let converter: MelConverter;
    try {
      converter = await candidate.load();
    } catch (error) {
      console.log(`${candidate.family} ${candidate.path}: skipped, cannot load (${(error as Error).message})`);
      continue;
    }
    try {
      const settings = CONVERT_SETTINGS;
      const target = { voiceId: candidate.target };
      // What convertLane hands the model: its pitch settings when it renders F0 (VAE, DiffVC version 3), else none.
      const modelSettings = converter.rendersPitch === true ? { pitch: 'target' as const, semitones: 0 } : {};
      const mel = await timeMedian(repeats, () => converter.convert(source.logMel, target, { settings: modelSettings }));
      const full = await timeMedian(repeats, async () => {
        const prepared = prepareSource(input.wav, { sourceName: 'bench input', maxDurationSeconds: 600 });
        return convertLane(prepared, converter, target, settings, { vocoder });
      });
      const fullNeural =
        neural === undefined
          ? undefined
          : await timeMedian(repeats, async () => {
              const prepared = prepareSource(input.wav, { sourceName: 'bench input', maxDurationSeconds: 600 });
              return convertLane(prepared, converter, target, settings, { vocoder: neural.vocode });
            });
      const melRtf = mel / input.seconds;
      const fullRtf = full / input.seconds;
      console.log(`${converter.label}${candidate.family !== 'cyclegan' ? ` → ${candidate.target}` : ''}  (${candidate.path})`);
      if (candidate.family === 'diffvc' || candidate.family === 'cyclediffusion') console.log('  ML solver, 6 steps, seed 0 (the defaults)');
      console.log(`  (a) mel→mel: ${mel.toFixed(3)} s median, RTF ${melRtf.toFixed(4)}`);
      console.log(`  (b) full pipeline: ${full.toFixed(3)} s median, RTF ${fullRtf.toFixed(4)} (of which analysis + vocoder + measuring ≈ ${(full - mel).toFixed(3)} s)`);
      if (fullNeural !== undefined) {
        console.log(`  (c) full pipeline, neural vocoder: ${fullNeural.toFixed(3)} s median, RTF ${(fullNeural / input.seconds).toFixed(4)}; (c)/(b) = ${(fullNeural / full).toFixed(3)}`);
        if (candidate.family === 'vae') verdicts.push(`target VAE pipeline with the neural vocoder ≤ ½ of its Griffin-Lim pipeline: ${fullNeural <= 0.5 * full ? 'PASS' : 'FAIL'} (${(fullNeural / full).toFixed(3)})`);
      }
      const limit = TARGET_RTF[candidate.family];
      const names = { vae: 'VAE', diffvc: 'DiffVC (ML, 6 steps)', cyclediffusion: 'CycleDiffusion (ML, 6 steps)', cyclegan: `CycleGAN-VC → ${candidate.target}` };
      verdicts.push(`target ${names[candidate.family]} mel→mel RTF ≤ ${limit}: ${melRtf <= limit ? 'PASS' : 'FAIL'} (${melRtf.toFixed(4)})`);
    } finally {
      converter.dispose();
    }
  }
  neural?.dispose();
  for (const line of skipped) console.log(line);
  for (const line of verdicts) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
