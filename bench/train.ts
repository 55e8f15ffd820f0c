// Training-speed benchmark of the model layer: matMul peak, the reference conv net on one core, two-way
// data-parallel (main thread + one worker), and PyTorch CPU on the same net when available. Prints ratios measured in this one run.

import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describeBackend, initBackend } from '../src/nn/backend.js';
import { Conv1d, leakyRelu } from '../src/nn/layers.js';
import { Module, Rng } from '../src/nn/module.js';
import { createGradientPool } from '../src/nn/parallel.js';
import { Trainer, type BatchSource, type TrainingSetup } from '../src/nn/train.js';
import type { GradientProvider } from '../src/nn/trainingLoop.js';

const MELS = 80;
const FRAMES = 128;
const HIDDEN = 256;
const KERNEL = 5;
const BATCH = 8;
const BLOCKS = 4;

/** Forward FLOPs of the reference net: 2·B·T·k·Cin·Cout per conv. */
export function referenceForwardFlops(batch = BATCH): number {
  const convs = [[MELS, HIDDEN], ...Array.from({ length: BLOCKS }, () => [HIDDEN, HIDDEN]), [HIDDEN, MELS]] as [number, number][];
  return convs.reduce((sum, [cin, cout]) => sum + 2 * batch * FRAMES * KERNEL * cin * cout, 0);
}

/** The reference net: Conv1d 80→256 k5, four residual Conv1d 256→256 k5 blocks (leaky ReLU), Conv1d 256→80 k5. */
class ReferenceNet extends Module {
  readonly input: Conv1d;
  readonly blocks: Conv1d[];
  readonly output: Conv1d;
  constructor(rng: Rng) {
    super();
    this.input = this.child('input', new Conv1d(rng, { inChannels: MELS, outChannels: HIDDEN, kernelSize: KERNEL, init: 'he' }));
    this.blocks = Array.from({ length: BLOCKS }, (_, i) => this.child(`blocks.${i}`, new Conv1d(rng, { inChannels: HIDDEN, outChannels: HIDDEN, kernelSize: KERNEL, init: 'he' })));
    this.output = this.child('output', new Conv1d(rng, { inChannels: HIDDEN, outChannels: MELS, kernelSize: KERNEL }));
  }
  /** x: [batch, frames, 80] → [batch, frames, 80]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    let h = leakyRelu(this.input.forward(x));
    for (const block of this.blocks) h = tf.add(h, leakyRelu(block.forward(h)));
    return this.output.forward(h);
  }
}

interface BenchBatch {
  x: tf.Tensor3D;
  y: tf.Tensor3D;
}

/** Factory of the benchmark's training setup (also imported by the parallel workers). */
export function createBenchSetup(): TrainingSetup<BenchBatch> {
  const model = new ReferenceNet(new Rng(1));
  const rng = new Rng(2);
  const items = 32;
  const size = FRAMES * MELS;
  const xs = Array.from({ length: items }, () => Float32Array.from({ length: size }, () => rng.normal()));
  const ys = Array.from({ length: items }, () => Float32Array.from({ length: size }, () => rng.normal()));
  const pack = (arrays: Float32Array[], indices: readonly number[]) => {
    const out = new Float32Array(indices.length * size);
    indices.forEach((i, k) => out.set(arrays[i]!, k * size));
    return tf.tensor3d(out, [indices.length, FRAMES, MELS]); // [batch, frames, mels]
  };
  const train: BatchSource<BenchBatch> = { size: items, getBatch: (indices) => ({ x: pack(xs, indices), y: pack(ys, indices) }) };
  return {
    model,
    train,
    lossFn: (batch) => {
      const l1 = tf.mean(tf.abs(tf.sub(model.forward(batch.x), batch.y))) as tf.Scalar;
      return { total: l1, parts: {} };
    },
  };
}

async function matMulPeak(): Promise<number> {
  const n = 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    best = Math.min(best, performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

/** Runs `steps` training steps and returns the per-step seconds after `warmup` steps (median and best). */
async function timeTrainer(trainer: Trainer<BenchBatch>, warmup: number): Promise<{ median: number; best: number }> {
  const times: number[] = [];
  let last = performance.now();
  trainer.on('step', (e) => {
    const now = performance.now();
    if (e.step > warmup) times.push((now - last) / 1000);
    last = now;
  });
  await trainer.run();
  times.sort((p, q) => p - q);
  return { median: times[Math.floor(times.length / 2)]!, best: times[0]! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function torchReference(steps: number): { seconds?: number; skipped?: string } {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return { skipped: `${python} not runnable (${probe.error.message})` };
  if (probe.status !== 0) return { skipped: `torch not importable: ${(probe.stderr.trim().split('\n').pop() ?? '').trim()} (apt install python3-torch)` };
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_reference.py');
  const run = spawnSync(python, [script, '--batch', String(BATCH), '--frames', String(FRAMES), '--steps', String(steps)], { encoding: 'utf8' });
  if (run.status !== 0) return { skipped: `torch_reference.py failed: ${run.stderr.trim().split('\n').pop()}` };
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { median_step_seconds: number };
  return { seconds: result.median_step_seconds };
}

/** Median one-thread step (seconds) measured in a child Node started without --single-threaded-gc, or the reason it failed. */
function oneThreadWithoutGcFlag(): { seconds?: number; skipped?: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one-thread-only'], { encoding: 'utf8', env: process.env });
  if (run.status !== 0) return { skipped: (run.stderr.trim().split('\n').pop() ?? '').trim() || `exit code ${String(run.status)}` };
  return { seconds: (JSON.parse(run.stdout.trim().split('\n').pop()!) as { median: number }).median };
}

/** `--one-thread-only`: the child of `oneThreadWithoutGcFlag`, printing one JSON line. */
async function oneThreadOnly(): Promise<void> {
  await initBackend();
  const steps = Number(process.env['BENCH_STEPS'] ?? 14);
  let best = Infinity;
  for (let round = 0; round < Number(process.env['BENCH_ROUNDS'] ?? 3); round++) {
    const setup = createBenchSetup();
    const single = new Trainer<BenchBatch>({ ...setup, batchSize: BATCH, totalSteps: steps, seed: 1, optimizer: { learningRate: 1e-3, weightDecay: 0 } });
    best = Math.min(best, (await timeTrainer(single, 4)).median);
    setup.model.dispose();
    await single.dispose();
  }
  console.log(JSON.stringify({ median: best }));
}

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(describeBackend(info));
  const gcFlag = process.execArgv.includes('--single-threaded-gc');
  console.log(`V8 garbage collector: ${gcFlag ? 'single-threaded (--single-threaded-gc, as data-parallel `timbre train` runs)' : 'default (parallel helper threads)'}`);
  // Steady state, as in a real run of thousands of steps: a fresh worker thread's code needs a few steps to warm up.
  const steps = Number(process.env['BENCH_STEPS'] ?? 14);
  const warmup = 4;
  const flops = 3 * referenceForwardFlops();
  console.log(`reference net: B=${BATCH}, ${MELS} mels, T=${FRAMES}, Conv1d ${MELS}→${HIDDEN} k${KERNEL}, ${BLOCKS} residual ${HIDDEN}→${HIDDEN} k${KERNEL}, ${HIDDEN}→${MELS} k${KERNEL}; L1, Adam`);
  console.log(`FLOPs per training step (3 × forward): ${(flops / 1e9).toFixed(3)} GFLOP (forward ${(referenceForwardFlops() / 1e9).toFixed(3)})`);

  const peak = await matMulPeak();
  console.log(`(a) matMul 1024×1024×1024 peak: ${peak.toFixed(1)} GFLOP/s`);

  // Rounds alternate one thread and two-way so that load from other processes hits both alike; best round wins.
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  let one = { median: Infinity, best: Infinity };
  let half = { median: Infinity, best: Infinity };
  let two = { median: Infinity, best: Infinity, shard: Number.NaN, mainShard: Number.NaN, workerShard: Number.NaN };
  let parallelError: string | undefined;
  for (let round = 0; round < rounds; round++) {
    const setup = createBenchSetup();
    const single = new Trainer<BenchBatch>({ ...setup, batchSize: BATCH, totalSteps: steps, seed: 1, optimizer: { learningRate: 1e-3, weightDecay: 0 } });
    const r1 = await timeTrainer(single, warmup);
    setup.model.dispose();
    await single.dispose();
    if (r1.median < one.median) one = r1;
    // A two-way step cannot beat one thread doing half the batch alone: this bounds the speed-up before any overhead.
    const halfSetup = createBenchSetup();
    const halfTrainer = new Trainer<BenchBatch>({ ...halfSetup, batchSize: BATCH / 2, totalSteps: steps, seed: 1, optimizer: { learningRate: 1e-3, weightDecay: 0 } });
    const rHalf = await timeTrainer(halfTrainer, warmup);
    halfSetup.model.dispose();
    await halfTrainer.dispose();
    if (rHalf.median < half.median) half = rHalf;
    let roundTwo = 'failed';
    try {
      // The main thread's replica is the Trainer's own model; one worker thread holds the other.
      const mainSetup = createBenchSetup();
      const pool = await createGradientPool({ module: fileURLToPath(import.meta.url), factory: 'createBenchSetup', workers: 2, local: mainSetup });
      const shardTimes: number[][] = [];
      const gradients: GradientProvider = {
        compute: async (request) => {
          const res = await pool.compute(request);
          if (request.step > warmup) shardTimes.push(res.workerSeconds ?? [Number.NaN]);
          return res;
        },
        dispose: () => pool.dispose(),
      };
      const parallel = new Trainer<BenchBatch>({ ...mainSetup, gradients, batchSize: BATCH, totalSteps: steps, seed: 1, optimizer: { learningRate: 1e-3, weightDecay: 0 } });
      const r2 = await timeTrainer(parallel, warmup);
      mainSetup.model.dispose();
      await parallel.dispose();
      const shard = median(shardTimes.map((t) => Math.max(...t)));
      const mainShard = median(shardTimes.map((t) => t[0]!));
      const workerShard = median(shardTimes.map((t) => t[1] ?? Number.NaN));
      if (r2.median < two.median) two = { ...r2, shard, mainShard, workerShard };
      roundTwo = `${(r2.median * 1000).toFixed(0)} ms/step (shards: main ${(mainShard * 1000).toFixed(0)} ms, worker ${(workerShard * 1000).toFixed(0)} ms; overhead beyond the slower ${((r2.median - shard) * 1000).toFixed(0)} ms)`;
    } catch (err) {
      parallelError = (err as Error).message;
    }
    console.log(`  round ${round + 1}/${rounds}: one thread ${(r1.median * 1000).toFixed(0)} ms/step (half batch ${(rHalf.median * 1000).toFixed(0)} ms), two-way ${roundTwo}`);
  }
  // The speed-up is against the faster one-thread run: this process's, or one in a Node without the GC flag.
  if (gcFlag) {
    const plain = oneThreadWithoutGcFlag();
    if (plain.seconds !== undefined) {
      console.log(`  one thread in a Node with the default collector: ${(plain.seconds * 1000).toFixed(0)} ms/step (this process: ${(one.median * 1000).toFixed(0)} ms/step); the faster is the baseline`);
      if (plain.seconds < one.median) one = { median: plain.seconds, best: Math.min(one.best, plain.seconds) };
    } else console.log(`  one thread with the default collector: not measured (${plain.skipped})`);
  }
  const gflops = flops / one.median / 1e9;
  console.log(`(b) one thread: ${(one.median * 1000).toFixed(0)} ms/step median (best step ${(one.best * 1000).toFixed(0)} ms) = ${gflops.toFixed(1)} GFLOP/s effective, ${((100 * gflops) / peak).toFixed(0)}% of matMul peak`);
  const speedup = one.median / two.median;
  if (parallelError && !Number.isFinite(two.median)) console.log(`(c) two-way: failed: ${parallelError}`);
  else {
    console.log(
      `(c) two-way, main thread + 1 worker (${BATCH / 2} items each, same batch of ${BATCH}): ${(two.median * 1000).toFixed(0)} ms/step median (best step ${(two.best * 1000).toFixed(0)} ms); ` +
        `shards: main ${(two.mainShard * 1000).toFixed(0)} ms, worker ${(two.workerShard * 1000).toFixed(0)} ms; overhead beyond the slower shard ${((two.median - two.shard) * 1000).toFixed(0)} ms/step`,
    );
    console.log(`speed-up: one thread ${(one.median * 1000).toFixed(0)} ms/step ÷ two-way ${(two.median * 1000).toFixed(0)} ms/step = ${speedup.toFixed(2)}x`);
    console.log(
      `bound: one thread on half the batch (${BATCH / 2} items) alone ${(half.median * 1000).toFixed(0)} ms/step, so two-way ≤ ${(one.median / half.median).toFixed(2)}x before overhead and two busy cores; ` +
        `two-way reaches ${((100 * half.median) / two.median).toFixed(0)}% of that`,
    );
  }

  const torch = torchReference(steps);
  let torchRatio = Number.NaN;
  if (torch.seconds !== undefined) {
    torchRatio = torch.seconds / one.median;
    console.log(`(d) PyTorch CPU, 1 thread: ${(torch.seconds * 1000).toFixed(0)} ms/step = ${(flops / torch.seconds / 1e9).toFixed(1)} GFLOP/s; tfjs ÷ torch speed = ${torchRatio.toFixed(2)}`);
  } else {
    console.log(`(d) PyTorch comparison skipped: ${torch.skipped}`);
  }

  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  console.log(`target ≥ 10 GFLOP/s on one core: ${verdict(gflops >= 10)} (${gflops.toFixed(1)})`);
  console.log(`target ≥ 40% of matMul peak: ${verdict(gflops >= 0.4 * peak)} (${((100 * gflops) / peak).toFixed(0)}%)`);
  console.log(`target two-way ≥ 1.6x: ${verdict(speedup >= 1.6)} (${speedup.toFixed(2)}x)`);
  console.log(`aim tfjs/torch ≥ 0.5: ${Number.isNaN(torchRatio) ? 'not measured' : `${verdict(torchRatio >= 0.5)} (${torchRatio.toFixed(2)})`}`);
}

// Run only as the entry script: parallel workers and the parallel trainer import this file for its factory.
function isEntryScript(): boolean {
  if (!isMainThread || !process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isEntryScript()) {
  (process.argv.includes('--one-thread-only') ? oneThreadOnly() : main()).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
