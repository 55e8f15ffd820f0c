// Worker thread of lanePool.ts: its own TensorFlow.js backend, model registry and vocoder, so a conversion lane runs
// on a second core. It converts one lane at a time and posts progress, the lane's audio (buffers moved, not copied)
// or the lane's error.

import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../nn/backend.js';
import type { Vocoder } from '../audio/griffinLim.js';
import { loadInstalledVocoder } from '../models/vocoder/convert.js';
import { CancelledError, toErrorInfo } from './errors.js';
import { homeModelRegistry } from './modelRegistry.js';
import { cancellableGriffinLimVocoder, convertLane } from './pipeline.js';
import type { FromLaneWorker, LaneWorkerInit, ToLaneWorker } from './lanePool.js';

const init = workerData as LaneWorkerInit;
const port = parentPort!;
const registry = homeModelRegistry(init.home ?? undefined);
const running = new Map<number, AbortController>();
let neural: Promise<Vocoder> | undefined;

const post = (message: FromLaneWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function runLane(message: Extract<ToLaneWorker, { type: 'lane' }>): Promise<void> {
  const controller = new AbortController();
  running.set(message.id, controller);
  try {
    const converter = await registry.converter(message.modelId);
    const vocoder =
      message.vocoder.kind === 'neural' ? await (neural ??= loadInstalledVocoder(init.home ?? undefined).then((v) => v.vocode)) : cancellableGriffinLimVocoder(message.vocoder.iterations);
    const audio = await convertLane(message.source, converter, message.target, message.settings, {
      vocoder,
      signal: controller.signal,
      onProgress: (stage, fraction) => post({ type: 'progress', id: message.id, stage, fraction }),
    });
    post({ type: 'done', id: message.id, audio }, [audio.samples.buffer as ArrayBuffer, audio.wav.buffer as ArrayBuffer, audio.logMel.data.buffer as ArrayBuffer]);
  } catch (error) {
    if (message.vocoder.kind === 'neural') neural = undefined; // a vocoder that failed to load is tried again next time
    post({ type: 'failed', id: message.id, cancelled: error instanceof CancelledError || controller.signal.aborted, error: toErrorInfo(error) });
  } finally {
    running.delete(message.id);
  }
}

async function main(): Promise<void> {
  const backend = await initBackend();
  post({ type: 'ready', backend: backend.name });
  port.on('message', (message: ToLaneWorker) => {
    if (message.type === 'lane') void runLane(message);
    else if (message.type === 'cancel') running.get(message.id)?.abort();
    else if (message.type === 'reload') {
      registry.unload(message.modelId);
      registry.rescan();
    } else if (message.type === 'close') {
      for (const controller of running.values()) controller.abort();
      void registry.dispose().finally(() => port.close());
    }
  });
}

main().catch((error: unknown) => post({ type: 'failed', id: 0, cancelled: false, error: toErrorInfo(error) }));
