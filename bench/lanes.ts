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

const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 6);
const TARGET_SPEEDUP = 1.6;

async function timeJob(engine: Engine, bytes: Uint8Array, target: string, vocoder: 'griffin-lim' | 'neural'): Promise<{ seconds: number; lanes: string[] }> {
  const started = performance.now();
  const job = await engine.convert({ input: { kind: 'wav-bytes', bytes, name: 'bench input' }, targetVoiceId: target, vocoder });
  const result = await job.finished;
  if (result.failures.length > 0) throw new Error(`lanes failed: ${result.failures.map((f) => `${f.modelId}: ${f.error.message}`).join('; ')}`);
  return { seconds: (performance.now() - started) / 1000, lanes: result.lanes.map((l) => l.modelId) };
}

interface Setting {
  readonly name: string;
  readonly engine: Engine;
  cold: number;
  readonly warm: number[];
  lanes: string[];
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`BENCH_REPEATS must be a whole number ≥ 1, got ${process.env['BENCH_REPEATS']}`);
  const vocoder = (option('--vocoder') ?? 'neural') as 'griffin-lim' | 'neural'; // the app's default
  if (vocoder !== 'griffin-lim' && vocoder !== 'neural') throw new Error(`--vocoder must be griffin-lim or neural, got ${String(vocoder)}`);
  const target = option('--target') ?? 'flite-slt';
  const input = await loadInput(process.env['TIMBRE_HOME']);
  console.log(`cores: ${availableParallelism()}; input ${input.seconds.toFixed(2)} s (${input.description}); target ${target}; vocoder ${vocoder}; speaker similarity off`);
  console.log(`each setting: one cold job (loads the models) and one more unmeasured, then ${REPEATS} warm jobs, the two settings taking turns (ABBA order) so that the machine's drift reaches both alike`);
  const home = process.env['TIMBRE_HOME'] ? { home: process.env['TIMBRE_HOME'] } : {};
  const settings: Setting[] = [0, 1].map((laneWorkers) => ({
    name: laneWorkers === 0 ? 'one core (lanes in turn)' : 'two cores (one lane worker)',
    engine: createEngine({ ...home, laneWorkers, speakerSimilarity: false }),
    cold: 0,
    warm: [],
    lanes: [],
  }));
  const [one, two] = settings as [Setting, Setting];
  try {
    for (const s of settings) {
      const cold = await timeJob(s.engine, input.wav, target, vocoder); // loads the models (in each thread)
      s.cold = cold.seconds;
      s.lanes = cold.lanes;
      // Which thread converts or renders which lane depends on which is free first: one more job, unmeasured, so that
      // each thread has loaded what it may be given.
      await timeJob(s.engine, input.wav, target, vocoder);
    }
    const ratios: number[] = [];
    for (let round = 0; round < REPEATS; round++) {
      const order = round % 2 === 0 ? [one, two] : [two, one];
      for (const s of order) s.warm.push((await timeJob(s.engine, input.wav, target, vocoder)).seconds);
      ratios.push(one.warm[round]! / two.warm[round]!);
    }
    for (const s of settings) {
      console.log(`${s.name}: ${s.lanes.length} lanes (${s.lanes.join(', ')}): warm ${s.warm.map((x) => x.toFixed(2)).join(' / ')} s (median ${median(s.warm).toFixed(2)}), cold ${s.cold.toFixed(2)} s`);
    }
    const speedup = median(ratios);
    console.log(`speed-up per round (one core ÷ two cores, same minutes): ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}`);
    console.log(`speed-up (warm, median of rounds): ${speedup.toFixed(2)}×; cold: ${(one.cold / two.cold).toFixed(2)}×`);
    console.log(`target every family side by side ≥ ${TARGET_SPEEDUP}× faster than on one core: ${speedup >= TARGET_SPEEDUP ? 'PASS' : 'FAIL'} (${speedup.toFixed(2)}×)`);
  } finally {
    for (const s of settings) await s.engine.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
