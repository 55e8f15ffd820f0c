// The engine in Electron's utility process: receives validated calls from main over `parentPort`,
// runs them on one engine, and posts results and job events back. The window never blocks on compute.

import type { ConversionJobEvents, JobEventMessage, TrainingEventMessage, TrainingJobEvents } from '../src/engine/api.js';
import { createEngine } from '../src/engine/engine.js';
import { toErrorInfo } from '../src/engine/errors.js';
import { parseEngineCall, type EngineCall, type EngineReply } from './ipc.js';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: EngineReply): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort === undefined) {
  console.error('electron/engineHost.js runs inside Electron\'s utilityProcess; start the app with "npm start".');
  process.exit(2);
}

const engine = createEngine({ allowPaths: false });
const EVENT_NAMES: readonly (keyof ConversionJobEvents)[] = ['source', 'progress', 'lane', 'laneError', 'done', 'error'];
const TRAINING_EVENTS: readonly (keyof TrainingJobEvents)[] = ['start', 'progress', 'validation', 'checkpoint', 'done', 'cancelled', 'error'];

async function dispatch(call: EngineCall): Promise<unknown> {
  const [a] = call.args;
  switch (call.method) {
    case 'info':
      return engine.info();
    case 'listVoices':
      return engine.listVoices();
    case 'voicePreview':
      return engine.voicePreview(a as string);
    case 'listModels':
      return engine.listModels();
    case 'cancel':
      return engine.cancel(a as string);
    case 'exportLanes':
      return engine.exportLanes(a as never);
    case 'listTrainers':
      return engine.listTrainers();
    case 'addVoice':
      return engine.addVoice(a as never);
    case 'removeVoice':
      return engine.removeVoice(a as string);
    case 'voiceReach':
      return engine.voiceReach(a as string);
    case 'train': {
      const job = await engine.train(a as never);
      for (const name of TRAINING_EVENTS) {
        job.on(name, (...args) => parentPort!.postMessage({ kind: 'trainingEvent', message: { jobId: job.id, name, args } as TrainingEventMessage }));
      }
      void job.finished.catch(() => undefined).finally(() => job.destroy());
      return { jobId: job.id };
    }
    case 'convert': {
      const job = await engine.convert(a as never);
      for (const name of EVENT_NAMES) {
        job.on(name, (...args) => parentPort!.postMessage({ kind: 'event', message: { jobId: job.id, name, args } as JobEventMessage }));
      }
      void job.finished.catch(() => undefined).finally(() => job.destroy());
      return { jobId: job.id };
    }
  }
}

parentPort.on('message', ({ data }) => {
  let call: EngineCall;
  try {
    call = parseEngineCall(data);
  } catch {
    return; // not from main: drop
  }
  dispatch(call).then(
    (value) => parentPort.postMessage({ kind: 'result', id: call.id, ok: true, value }),
    (error: unknown) => parentPort.postMessage({ kind: 'result', id: call.id, ok: false, error: toErrorInfo(error) }),
  );
});
