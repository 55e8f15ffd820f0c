// Converting one input with every installed family through the engine, lanes one after another on one core against
// lanes side by side on a lane worker (a second core), measured in one run and printed as seconds and their ratio.
// Target (issue "neural vocoder"): side by side ≥ 1.6× faster. Run it with nothing else on the machine, under
// --single-threaded-gc as `timbre compare` runs (src/cli/relaunch.ts; `npm run bench:lanes` passes it):
//
//   TIMBRE_HOME=… node --single-threaded-gc --import tsx bench/lanes.ts [--vocoder neural (default)|griffin-lim] [--target VOICE]

import { availableParallelism } from 'node:os';
import { createEngine, type Engine } from '../src/engine/engine.js';
import { loadInput } from './input.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);
const TARGET_SPEEDUP = 1.6;

async function timeJob(engine: Engine, bytes: Uint8Array, target: string, vocoder: 'griffin-lim' | 'neural'): Promise<{ seconds: number; lanes: string[] }> {
  const started = performance.now();
  const job = await engine.convert({ input: { kind: 'wav-bytes', bytes, name: 'bench input' }, targetVoiceId: target, vocoder });
  const result = await job.finished;
  if (result.failures.length > 0) throw new Error(`lanes failed: ${result.failures.map((f) => `${f.modelId}: ${f.error.message}`).join('; ')}`);
  return { seconds: (performance.now() - started) / 1000, lanes: result.lanes.map((l) => l.modelId) };
}

async function measure(laneWorkers: number, bytes: Uint8Array, target: string, vocoder: 'griffin-lim' | 'neural'): Promise<{ median: number; cold: number; lanes: string[] }> {
  const engine = createEngine({ ...(process.env['TIMBRE_HOME'] ? { home: process.env['TIMBRE_HOME'] } : {}), laneWorkers, speakerSimilarity: false });
  try {
    const cold = await timeJob(engine, bytes, target, vocoder); // loads the models (in each thread)
    const times: number[] = [];
    let lanes: string[] = cold.lanes;
    for (let i = 0; i < REPEATS; i++) {
      const run = await timeJob(engine, bytes, target, vocoder);
      times.push(run.seconds);
      lanes = run.lanes;
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)]!, cold: cold.seconds, lanes };
  } finally {
    await engine.destroy();
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`BENCH_REPEATS must be a whole number ≥ 1, got ${process.env['BENCH_REPEATS']}`);
  const vocoder = (option('--vocoder') ?? 'neural') as 'griffin-lim' | 'neural'; // the app's default
  if (vocoder !== 'griffin-lim' && vocoder !== 'neural') throw new Error(`--vocoder must be griffin-lim or neural, got ${String(vocoder)}`);
  const target = option('--target') ?? 'flite-slt';
  const input = await loadInput(process.env['TIMBRE_HOME']);
  console.log(`cores: ${availableParallelism()}; input ${input.seconds.toFixed(2)} s (${input.description}); target ${target}; vocoder ${vocoder}; speaker similarity off`);
  console.log(`each setting: one cold job (loads the models), then the median of ${REPEATS} warm jobs`);
  const one = await measure(0, input.wav, target, vocoder);
  console.log(`one core (lanes in turn): ${one.lanes.length} lanes (${one.lanes.join(', ')}): ${one.median.toFixed(2)} s warm, ${one.cold.toFixed(2)} s cold`);
  const two = await measure(1, input.wav, target, vocoder);
  console.log(`two cores (one lane worker): ${two.lanes.length} lanes: ${two.median.toFixed(2)} s warm, ${two.cold.toFixed(2)} s cold`);
  const speedup = one.median / two.median;
  console.log(`speed-up (warm): ${speedup.toFixed(2)}×; cold: ${(one.cold / two.cold).toFixed(2)}×`);
  console.log(`target every family side by side ≥ ${TARGET_SPEEDUP}× faster than on one core: ${speedup >= TARGET_SPEEDUP ? 'PASS' : 'FAIL'} (${speedup.toFixed(2)}×)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
