// Speed of the neural vocoder against the Griffin-Lim baseline (32 iterations, as `timbre convert`) on ~10 s of corpus
// speech, measured in one run and printed as real-time factors and their ratio. Target: neural RTF ≤ 0.05 on one core.
//
//   npm run bench:vocoder -- [--model FILE.timbre] [--wav FILE.wav] [--write-wav FILE.wav]
// Without --model the installed vocoder is used, else an untrained default-config network (its speed is the same).
// Without --wav the corpus test split (TIMBRE_HOME) gives the speech; --write-wav saves that speech for a later --wav.

import { cpus } from 'node:os';
import { logMelSpectrogram } from '../src/audio/mel.js';
import { MEL_CONFIG } from '../src/audio/melConfig.js';
import { openCorpusDataset } from '../src/corpus/dataset.js';
import { griffinLimVocoder } from '../src/audio/griffinLim.js';
import { loadSpeech, writeWavFile } from '../src/io/audioFile.js';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import { loadVocoderModel, NeuralVocoder } from '../src/models/vocoder/convert.js';
import { installedVocoderPath } from '../src/models/vocoder/files.js';
import { createVocoder, DEFAULT_VOCODER_CONFIG, vocoderGflopsPerSecond } from '../src/models/vocoder/model.js';

const SR = MEL_CONFIG.sampleRateHz;
const SECONDS = 10;
const REPEATS = 3;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** ≥ 10 s of test-split speech, one utterance per voice in turn (so every kind of voice is in it). */
function corpusSpeech(): { samples: Float32Array; description: string } {
  const dataset = openCorpusDataset({ split: 'test' });
  const byVoice = dataset.voices.map((v) => dataset.utterances.filter((u) => u.voice === v.id));
  const parts: Float32Array[] = [];
  let total = 0;
  for (let round = 0; total < SECONDS * SR; round++) {
    const before = total;
    for (const list of byVoice) {
      const u = list[round];
      if (u === undefined || total >= SECONDS * SR) continue;
      const samples = dataset.samples(u.voice, u.sentence);
      parts.push(samples);
      total += samples.length;
    }
    if (total === before) break;
  }
  const samples = new Float32Array(Math.min(total, SECONDS * SR));
  let offset = 0;
  for (const p of parts) {
    const take = Math.min(p.length, samples.length - offset);
    samples.set(p.subarray(0, take), offset);
    offset += take;
  }
  return { samples, description: `${parts.length} test-split utterances of ${Math.min(parts.length, byVoice.length)} corpus voices, concatenated` };
}

/**
 * Median wall-clock and CPU seconds (user + system of this process) of `fn`. On a machine busy with other work the
 * CPU time is the better measure: both computations are single-threaded, so it is what the wall time would be on a
 * free core (GC helper threads add a little to it).
 */
async function median(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up: kernels, bases, caches
  const runs: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(cpu);
    runs.push({ wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 });
  }
  const mid = <K extends 'wall' | 'cpu'>(key: K) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  return { wall: mid('wall'), cpu: mid('cpu') };
}

const backend = await initBackend({ threads: 1 });
const wavPath = option('--wav');
const speech = wavPath ? { samples: (await loadSpeech(wavPath)).samples, description: wavPath } : corpusSpeech();
const writePath = option('--write-wav');
if (writePath) await writeWavFile(writePath, speech.samples, SR, { overwrite: true });
const seconds = speech.samples.length / SR;
const mel = logMelSpectrogram(speech.samples);

const modelPath = option('--model') ?? installedVocoderPath(undefined);
const untrained = { mean: new Float32Array(MEL_CONFIG.melBins).fill(-6), std: new Float32Array(MEL_CONFIG.melBins).fill(2) };
const vocoder = modelPath
  ? await loadVocoderModel(modelPath)
  : new NeuralVocoder(createVocoder(DEFAULT_VOCODER_CONFIG, untrained), { config: DEFAULT_VOCODER_CONFIG, normalization: untrained, trainingDataHash: '' });
const config = vocoder.info.config;
const gflops = vocoderGflopsPerSecond(config);

console.log(`audio: ${seconds.toFixed(2)} s at ${SR} Hz, ${speech.description}`);
console.log(`${describeBackend(backend)}; node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
console.log(
  `vocoder: ${modelPath ?? 'untrained default config (speed only)'}; width ${config.width} × ${config.blocks} blocks, inner ${config.inner}, ` +
    `${gflops.toFixed(3)} GFLOP per second of audio; chunks of ${vocoder.chunkFrames} frames; phase ${vocoder.phase}, ${vocoder.refineIterations} Griffin-Lim iteration${vocoder.refineIterations === 1 ? '' : 's'} after`,
);
console.log(`each: 1 warm-up, then median of ${REPEATS}; RTF = seconds ÷ ${seconds.toFixed(2)} s of audio`);

const griffinLim = griffinLimVocoder(32);
const lengthSamples = speech.samples.length;
const gl = await median(() => griffinLim(mel, { lengthSamples }));
const neural = await median(() => vocoder.vocode(mel, { lengthSamples }));
const line = (name: string, t: { wall: number; cpu: number }) =>
  `${name.padEnd(28)} wall ${t.wall.toFixed(3).padStart(7)} s (RTF ${(t.wall / seconds).toFixed(4)})   cpu ${t.cpu.toFixed(3).padStart(7)} s (RTF ${(t.cpu / seconds).toFixed(4)})`;
console.log(line('griffin-lim 32 iterations', gl));
console.log(`${line('neural vocoder', neural)}   ${((gflops * seconds) / neural.cpu).toFixed(1)} GFLOP per cpu-second`);
if (modelPath && vocoder.refineIterations > 0) {
  const pghiOnly = await loadVocoderModel(modelPath, { refineIterations: 0 });
  console.log(line('neural, phase gradient only', await median(() => pghiOnly.vocode(mel, { lengthSamples }))));
  pghiOnly.dispose();
}
console.log(`ratio neural / griffin-lim 32: wall ${(neural.wall / gl.wall).toFixed(3)}, cpu ${(neural.cpu / gl.cpu).toFixed(3)} (neural ${(gl.cpu / neural.cpu).toFixed(1)}× faster by cpu time)`);
const rtf = neural.cpu / seconds;
console.log(`target neural RTF ≤ 0.05 (cpu time): ${rtf <= 0.05 ? 'MET' : 'MISSED'} (${rtf.toFixed(4)})`);
vocoder.dispose();
