// Trainer behaviour: bit-exact resume after a checkpoint, no tensor leaks, events, the loss log, AdamW maths.
// Runs on wasm with a two-conv model so each test takes well under a second.

import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdamW, warmupCosineSchedule } from '../../src/nn/optimizer.js';
import { Trainer, type TrainerOptions } from '../../src/nn/train.js';
import { attachProgressPrinter, formatProgressLine } from '../../src/nn/trainRun.js';
import { CheckpointMismatchError } from '../../src/nn/errors.js';
import { createTinySetup, type TinyBatch } from './fixtures/tinySetup.js';
import { useWasm } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'timbre-train-'));
  dirs.push(d);
  return d;
};

beforeAll(useWasm);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function makeTrainer(runDir: string | undefined, overrides: Partial<TrainerOptions<TinyBatch>> = {}): Trainer<TinyBatch> {
  return new Trainer<TinyBatch>({
    ...createTinySetup({ seed: 3 }),
    batchSize: 4,
    totalSteps: 6,
    seed: 42,
    logEvery: 1,
    checkpointEvery: 2,
    optimizer: { learningRate: warmupCosineSchedule({ peak: 1e-2, warmupSteps: 2, totalSteps: 6 }), clipNorm: 1 },
    ...(runDir ? { runDir } : {}),
    ...overrides,
  });
}

async function collectLosses(trainer: Trainer<TinyBatch>, cancelAt?: number): Promise<number[]> {
  const losses: number[] = [];
  trainer.on('step', (e) => {
    losses.push(e.losses['total']!);
    if (e.step === cancelAt) trainer.cancel();
  });
  await trainer.run();
  return losses;
}

describe('Trainer', () => {
  it('resumes from a checkpoint and reproduces the uninterrupted loss curve', async () => {
    const straight = makeTrainer(tempDir());
    const expected = await collectLosses(straight);
    straight.options.model.dispose();
    await straight.dispose();

    const dir = tempDir();
    const first = makeTrainer(dir);
    let cancelled = false;
    first.on('cancelled', () => (cancelled = true));
    const firstLosses = await collectLosses(first, 3);
    expect(cancelled).toBe(true);
    expect(first.step).toBe(3);
    first.options.model.dispose();
    await first.dispose();

    const second = makeTrainer(dir); // fresh model, optimizer and Rng: everything comes from the checkpoint
    const secondLosses = await collectLosses(second);
    expect(second.step).toBe(6);
    second.options.model.dispose();
    await second.dispose();

    const resumed = [...firstLosses, ...secondLosses];
    expect(resumed).toHaveLength(6);
    resumed.forEach((l, i) => expect(Math.abs(l - expected[i]!)).toBeLessThan(1e-6));

    const csv = readFileSync(join(dir, 'losses.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,total,l1,l2,learning_rate');
    expect(csv.slice(1).map((r) => Number(r.split(',')[0]))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('drops log rows written after the last checkpoint when resuming (as after SIGKILL)', async () => {
    const dir = tempDir();
    const b = makeTrainer(dir);
    await collectLosses(b, 5); // checkpoints at 2, 4 and (cancel) 5
    b.options.model.dispose();
    await b.dispose();
    // rows up to 5 exist; now pretend the process died after logging row 6 but before checkpointing it
    const path = join(dir, 'losses.csv');
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path, '6,1,1,1,0.001\n');
    const c = makeTrainer(dir);
    await collectLosses(c);
    c.options.model.dispose();
    await c.dispose();
    const steps = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((r) => Number(r.split(',')[0]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a checkpoint written with other settings', async () => {
    const dir = tempDir();
    const a = makeTrainer(dir, { totalSteps: 2 });
    await a.run();
    a.options.model.dispose();
    await a.dispose();
    const b = makeTrainer(dir, { totalSteps: 2, batchSize: 2 });
    await expect(b.run()).rejects.toBeInstanceOf(CheckpointMismatchError);
    b.options.model.dispose();
    await b.dispose();
  });

  it('leaks no tensors between step 2 and step 10 (with validation and checkpoints)', async () => {
    const trainer = makeTrainer(tempDir(), { totalSteps: 12, validateEvery: 3, checkpointEvery: 4 });
    const counts = new Map<number, number>();
    trainer.on('step', (e) => counts.set(e.step, tf.memory().numTensors));
    await trainer.run();
    expect(counts.get(10)).toBe(counts.get(2));
    trainer.options.model.dispose();
    await trainer.dispose();
  });

  it('emits typed events, unsubscribes, cancels and prints one line per log interval', async () => {
    const trainer = makeTrainer(undefined, { totalSteps: 8, logEvery: 4, validateEvery: 4 });
    const lines: string[] = [];
    const stopPrinting = attachProgressPrinter(trainer, (l) => lines.push(l));
    const seen: string[] = [];
    const offs = [trainer.on('step', () => seen.push('step')), trainer.on('validation', () => seen.push('validation')), trainer.on('done', () => seen.push('done'))];
    const result = await trainer.run();
    expect(result.cancelled).toBe(false);
    expect(seen.filter((s) => s === 'step')).toHaveLength(8);
    expect(seen.filter((s) => s === 'validation')).toHaveLength(2);
    expect(seen[seen.length - 1]).toBe('done');
    expect(lines.filter((l) => l.startsWith('step '))).toHaveLength(2);
    expect(lines[0]).toMatch(/^step 4\/8 \| total [\d.]+ l1 [\d.]+ l2 [\d.]+ \| lr .* steps\/s \| ETA /);
    offs.forEach((off) => off());
    stopPrinting();
    expect(trainer.listenerCount()).toBe(0);
    trainer.options.model.dispose();
    await trainer.dispose();
  });

  it('draws the same batch order for the same seed and covers each epoch', () => {
    const a = makeTrainer(undefined);
    const b = makeTrainer(undefined);
    const epoch = [1, 2, 3, 4].flatMap((s) => a.batchIndices(s));
    expect([...epoch].sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect([1, 2, 3, 4, 5].map((s) => b.batchIndices(s))).toEqual([1, 2, 3, 4, 5].map((s) => a.batchIndices(s)));
    expect(a.batchIndices(5)).not.toEqual(a.batchIndices(1));
    for (const t of [a, b]) {
      t.options.model.dispose();
      void t.dispose();
    }
  });

  it('formats ETA and losses in the progress line', () => {
    expect(formatProgressLine({ step: 3, totalSteps: 10, losses: { total: 0.5 }, learningRate: 0.001, gradNorm: 1, stepsPerSecond: 2, etaSeconds: 125 })).toBe(
      'step 3/10 | total 0.5000 | lr 1.00e-3 | 2.00 steps/s | ETA 2m05s',
    );
  });
});

describe('AdamW', () => {
  it('matches the AdamW formula with decoupled weight decay and clipping', () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new AdamW(new Map([['w', w], ['b', b]]), { learningRate: 0.1, weightDecay: 0.1, clipNorm: 1 });
    const g = { w: [3, 4], b: [0] }; // global norm 5 → scaled by 1/5
    const info = opt.apply(new Map([['w', tf.tensor2d([g.w])], ['b', tf.tensor1d(g.b)]]) as Map<string, tf.Tensor>);
    expect(info.gradNorm.dataSync()[0]).toBeCloseTo(5, 5);
    const expectW = [1, -2].map((p, i) => {
      const gi = g.w[i]! / 5;
      const m = 0.1 * gi;
      const v = 0.001 * gi * gi;
      return p * (1 - 0.1 * 0.1) - (0.1 * (m / 0.1)) / (Math.sqrt(v / 0.001) + 1e-8);
    });
    const got = w.dataSync();
    expect(got[0]).toBeCloseTo(expectW[0]!, 5);
    expect(got[1]).toBeCloseTo(expectW[1]!, 5);
    expect(b.dataSync()[0]).toBeCloseTo(0.5, 6); // rank-1: no decay, zero gradient
    info.gradNorm.dispose();
    opt.dispose();
    tf.dispose([w, b]);
  });

  it('applyToArrays (data-parallel path) matches the tensor path', () => {
    const make = () => new Map([['w', tf.variable(tf.tensor2d([[0.3, -0.7], [1.2, 0.1]]))], ['b', tf.variable(tf.tensor1d([0.5, -0.5]))]]);
    const [pa, pb] = [make(), make()];
    const options = { learningRate: 0.05, weightDecay: 0.1, clipNorm: 0.5 };
    const [oa, ob] = [new AdamW(pa, options), new AdamW(pb, options)];
    const host = new Map([...pb].map(([n, v]) => [n, v.dataSync() as Float32Array] as const));
    for (let step = 0; step < 3; step++) {
      const g = { w: [0.2 * step - 0.1, 0.4, -0.3, 0.05 * step], b: [0.1, -0.2 * step] };
      const info = oa.apply(new Map<string, tf.Tensor>([['w', tf.tensor2d(g.w, [2, 2])], ['b', tf.tensor1d(g.b)]]));
      const hostInfo = ob.applyToArrays(host, new Map([['w', Float32Array.from(g.w)], ['b', Float32Array.from(g.b)]]));
      expect(hostInfo.gradNorm).toBeCloseTo(info.gradNorm.dataSync()[0]!, 5);
      info.gradNorm.dispose();
    }
    for (const name of ['w', 'b']) {
      const a = pa.get(name)!.dataSync();
      host.get(name)!.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5));
    }
    expect(ob.getState().m.get('w')!.shape).toEqual([2, 2]);
    [oa, ob].forEach((o) => o.dispose());
    tf.dispose([...pa.values(), ...pb.values()]);
  });

  it('warmupCosineSchedule warms up linearly then decays to the minimum', () => {
    const s = warmupCosineSchedule({ peak: 1, warmupSteps: 10, totalSteps: 110, minimum: 0 });
    expect(s(5)).toBeCloseTo(0.5);
    expect(s(10)).toBeCloseTo(1);
    expect(s(60)).toBeCloseTo(0.5);
    expect(s(110)).toBeCloseTo(0);
  });
});

describe('checkpoint file', () => {
  it('is written atomically into the run folder', async () => {
    const dir = tempDir();
    const t = makeTrainer(dir, { totalSteps: 2 });
    await t.run();
    expect(existsSync(join(dir, 'checkpoint.timbre'))).toBe(true);
    t.options.model.dispose();
    await t.dispose();
  });
});
