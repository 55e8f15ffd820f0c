// Worker thread of lanePool.ts: its own TensorFlow.js backend, model registry and vocoder, so conversion lanes run on
// a second core. It runs one lane step at a time (a conversion or a rendering) and posts progress, the step's result
// (buffers moved, not copied) or its error.

import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../nn/backend.js';
import type { Vocoder } from '../audio/griffinLim.js';
import { loadInstalledVocoder } from '../models/vocoder/convert.js';
import { CancelledError, toErrorInfo } from './errors.js';
import { homeModelRegistry } from './modelRegistry.js';
import { cancellableGriffinLimVocoder, convertLaneMel, renderLane, type LaneStage } from './pipeline.js';
import type { FromLaneWorker, LaneWorkerInit, ToLaneWorker } from './lanePool.js';

const init = workerData as LaneWorkerInit;
const port = parentPort!;
const registry = homeModelRegistry(init.home ?? undefined);
const running = new Map<number, AbortController>();
let neural: Promise<Vocoder> | undefined;

const post = (message: FromLaneWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function runStep(message: Extract<ToLaneWorker, { type: 'convert' | 'render' }>): Promise<void> {
  const controller = new AbortController();
  running.set(message.id, controller);
  const onProgress = (stage: LaneStage, fraction: number): void => post({ type: 'progress', id: message.id, stage, fraction });
  try {
    if (message.type === 'convert') {
      const converter = await registry.converter(message.modelId);
      const converted = await convertLaneMel(message.source, converter, message.target, message.settings, { signal: controller.signal, onProgress });
      post({ type: 'converted', id: message.id, converted }, [converted.logMel.data.buffer as ArrayBuffer]);
    } else {
      const vocoder =
        message.vocoder.kind === 'neural' ? await (neural ??= loadInstalledVocoder(init.home ?? undefined).then((v) => v.vocode)) : cancellableGriffinLimVocoder(message.vocoder.iterations);
      const audio = await renderLane(message.converted, message.sourceSpeech, { vocoder, signal: controller.signal, onProgress });
      post({ type: 'rendered', id: message.id, audio }, [audio.samples.buffer as ArrayBuffer, audio.wav.buffer as ArrayBuffer, audio.logMel.data.buffer as ArrayBuffer]);
    }
  } catch (error) {
    if (message.type === 'render' && message.vocoder.kind === 'neural') neural = undefined; // a vocoder that failed to load is tried again next time
    post({ type: 'failed', id: message.id, cancelled: error instanceof CancelledError || controller.signal.aborted, error: toErrorInfo(error) });
  } finally {
    running.delete(message.id);
  }
}

async function main(): Promise<void> {
  const backend = await initBackend();
  post({ type: 'ready', backend: backend.name });
  port.on('message', (message: ToLaneWorker) => {
    if (message.type === 'convert' || message.type === 'render') void runStep(message);
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
