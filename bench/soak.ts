// Load and leaks (`npm run bench:soak`): 200 consecutive conversions through the engine with the shipped VAE keep
// the tensor count flat and resident memory growth under 50 MB; 20 concurrent conversion requests to the web server
// are queued and all answered; a cancelled conversion frees every tensor. Prints the figures; exits 1 on a miss.
// Run alone (nothing else on the cores): `npm run bench:soak` (SOAK_CONVERSIONS=N to change the count).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEngine } from '../src/engine/engine.js';
import { ModelRegistry } from '../src/engine/modelRegistry.js';
import { startServer } from '../src/server/server.js';
import { shippedModelsDir } from '../src/io/paths.js';
import { describeBackend, initBackend } from '../src/nn/backend.js';

const CONVERSIONS = Number(process.env['SOAK_CONVERSIONS'] ?? 200);
const CONCURRENT = 20;
const RSS_LIMIT_MB = 50;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  console.log(describeBackend(await initBackend()));
  const dir = mkdtempSync(join(tmpdir(), 'timbre-soak-'));
  const wavPath = join(dir, 'in.wav');
  execFileSync('espeak-ng', ['-w', wavPath, 'The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.']);
  const bytes = new Uint8Array(readFileSync(wavPath));
  const registry = new ModelRegistry({ searchDirs: [{ dir: shippedModelsDir(), origin: 'shipped' }] });
  const engine = createEngine({ registry, speakerSimilarity: false, home: join(dir, 'home') });
  const misses: string[] = [];
  try {
    const convert = async (): Promise<void> => {
      const job = await engine.convert({ input: { kind: 'wav-bytes', bytes, name: 'in.wav' }, targetVoiceId: 'flite-slt', models: [{ modelId: 'vae' }] });
      const result = await job.finished;
      if (result.failures.length > 0) throw new Error(`conversion failed: ${result.failures[0]!.error.message}`);
    };
    // Warm-up: the model loads, the backend allocates its pools.
    for (let i = 0; i < 3; i++) await convert();
    gc();
    const tensors0 = tf.memory().numTensors;
    const rss0 = process.memoryUsage().rss;
    const started = performance.now();
    let rssPeak = rss0;
    for (let i = 0; i < CONVERSIONS; i++) {
      await convert();
      if (i % 20 === 19) {
        gc();
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    }
    gc();
    const tensors1 = tf.memory().numTensors;
    const growthMb = (process.memoryUsage().rss - rss0) / 1e6;
    console.log(
      `${CONVERSIONS} conversions (VAE → flite-slt, 3.9 s input) in ${((performance.now() - started) / 1000).toFixed(1)} s: tensors ${tensors0} → ${tensors1}, ` +
        `resident memory ${(rss0 / 1e6).toFixed(0)} → ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (growth ${growthMb.toFixed(1)} MB, peak ${(rssPeak / 1e6).toFixed(0)} MB)`,
    );
    if (tensors1 !== tensors0) misses.push(`tensor count moved ${tensors0} → ${tensors1}`);
    if (growthMb > RSS_LIMIT_MB) misses.push(`resident memory grew ${growthMb.toFixed(1)} MB (limit ${RSS_LIMIT_MB})`);

    // Concurrent requests through the web server: all queued and answered.
    const server = await startServer({ engine, uiDir: join(dir, 'no-ui') });
    try {
      const headers = { 'X-Timbre-Token': server.token };
      const t0 = performance.now();
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, async () => {
          const upload = await fetch(`${server.origin}/api/inputs`, { method: 'POST', headers: { ...headers, 'Content-Type': 'audio/wav' }, body: bytes });
          const { inputId } = (await upload.json()) as { inputId: string };
          const job = await fetch(`${server.origin}/api/jobs`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ inputId, targetVoiceId: 'flite-slt', models: [{ modelId: 'vae' }] }) });
          const { jobId } = (await job.json()) as { jobId: string };
          const events = await (await fetch(`${server.origin}/api/jobs/${jobId}/events`, { headers })).text();
          return { status: job.status, finished: /event: (done|finished|result)/.test(events), lane: events.includes('event: lane') };
        }),
      );
      const answered = answers.filter((a) => a.status < 300 && a.lane).length;
      console.log(`${CONCURRENT} concurrent web requests: ${answered} answered with a converted lane in ${((performance.now() - t0) / 1000).toFixed(1)} s (queued one job at a time)`);
      if (answered !== CONCURRENT) misses.push(`${CONCURRENT - answered} of ${CONCURRENT} concurrent requests got no lane`);
    } finally {
      await server.close();
    }

    // Cancel mid-conversion: every tensor freed.
    gc();
    const before = tf.memory().numTensors;
    const job = await engine.convert({ input: { kind: 'wav-bytes', bytes, name: 'in.wav' }, targetVoiceId: 'flite-slt', models: [{ modelId: 'vae' }] });
    job.on('progress', (p) => {
      if (p.stage === 'vocoding') job.cancel();
    });
    const result = await job.finished;
    gc();
    const after = tf.memory().numTensors;
    console.log(`cancelled mid-conversion: cancelled ${result.cancelled}, tensors ${before} → ${after}`);
    if (!result.cancelled) misses.push('the job was not cancelled');
    if (after !== before) misses.push(`cancel left ${after - before} tensors`);
  } finally {
    await engine.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(misses.length === 0 ? 'soak: PASS' : `soak: FAIL — ${misses.join('; ')}`);
  if (misses.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
